//! Installing Debian packages, for the pieces that come from Debian on these machines.

use anyhow::{Context, bail};
use std::process::Command;

/// Installs `packages` with apt-get (after one `apt-get update`), or explains how to.
pub fn install(packages: &[&str], why: &str) -> anyhow::Result<()> {
    if packages.is_empty() {
        return Ok(());
    }
    let list = packages.join(" ");
    if !testkit::process::running_as_root() {
        bail!(
            "{why} is missing: install the Debian packages `{list}` (sudo apt-get install {list}) and run again"
        );
    }
    crate::step(&format!("installing Debian packages for {why}: {list}"));
    let update = Command::new("apt-get").args(["update", "-qq"]).status();
    if !update.is_ok_and(|s| s.success()) {
        eprintln!("xtask: apt-get update failed; trying the install with the cached lists");
    }
    let status = Command::new("apt-get")
        .args(["install", "-y", "-qq"])
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .context("cannot run apt-get")?;
    if !status.success() {
        bail!(
            "{why}: `apt-get install {list}` failed ({status}); install those packages by hand and run again"
        );
    }
    Ok(())
}
