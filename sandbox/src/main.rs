//! `sandbox`: runs the sandbox cluster until Ctrl-C, for the demo and dev tooling.
//! Usage: sandbox [--port N] [--kubeconfig FILE] [--token T] [--crds PATH]... [--manifest FILE]...
//!        [--user TOKEN:NAME]... [--anonymous-as NAME] [--demo] [--fleet]
//! `--demo` seeds the demo tenants' Flux objects and runs the simulated Flux controllers;
//! `--fleet` seeds the benchmark's fleet (20,000 Flux objects, 1,000 Helm releases);
//! `--user` adds a user whose requests RBAC decides (from the `--manifest` objects);
//! `--anonymous-as` names whom requests without credentials act as (client-go sends none
//! over plain HTTP).

use sandbox::{Sandbox, SandboxOptions};
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let mut options = SandboxOptions::default();
    let (mut demo, mut fleet) = (false, false);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--demo" || arg == "--fleet" {
            demo |= arg == "--demo";
            fleet |= arg == "--fleet";
            continue;
        }
        let value = args.next();
        match (arg.as_str(), value) {
            ("--port", Some(v)) if v.parse::<u16>().is_ok() => {
                options.port = v.parse().unwrap_or_default()
            }
            ("--kubeconfig", Some(v)) => options.kubeconfig = Some(v.into()),
            ("--token", Some(v)) => options.token = Some(v),
            ("--crds", Some(v)) => options.crds.push(v.into()),
            ("--manifest", Some(v)) => options.manifests.push(v.into()),
            ("--anonymous-as", Some(v)) => options.anonymous = Some(v),
            ("--user", Some(v)) if v.contains(':') => {
                let (token, name) = v.split_once(':').unwrap_or_default();
                options.users.push(sandbox::SandboxUser {
                    token: token.to_owned(),
                    name: name.to_owned(),
                    groups: Vec::new(),
                });
            }
            _ => {
                eprintln!(
                    "usage: sandbox [--port N] [--kubeconfig FILE] [--token T] [--crds PATH]... [--manifest FILE]... [--user TOKEN:NAME]... [--anonymous-as NAME] [--demo] [--fleet]"
                );
                return ExitCode::from(2);
            }
        }
    }
    match Sandbox::start(options).await {
        Ok(sandbox) => {
            if demo {
                if let Err(error) = sandbox::demo::seed(sandbox.store()) {
                    eprintln!(
                        "sandbox: cannot seed the demo (are the Flux CRDs loaded with --crds?): {error}"
                    );
                    return ExitCode::FAILURE;
                }
                sandbox::flux::spawn(sandbox.store().clone(), std::time::Duration::from_secs(1));
            }
            if fleet && let Err(error) = sandbox::fleet::seed(sandbox.store(), Default::default()) {
                eprintln!("sandbox: cannot seed the fleet: {error}");
                return ExitCode::FAILURE;
            }
            eprintln!(
                "sandbox cluster (simulated, not a real Kubernetes) at {}",
                sandbox.url()
            );
            let _ = tokio::signal::ctrl_c().await;
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("sandbox: {error}");
            ExitCode::FAILURE
        }
    }
}
