//! Whether the Flux controllers run locked down for multi-tenancy: the flags Flux's guide adds
//! to their Deployments, read from the container arguments. Pilothouse's own writes hold the
//! lockdown either way; these flags decide what happens to Flux objects Pilothouse never
//! sees (with nested Flux allowed for a tenant, or planted by anyone else who may write them).

use k8s_openapi::api::apps::v1::Deployment;
use kube::Client;
use kube::api::Api;
use model::lockdown::{ControllerLockdown, FluxLockdown, LockdownFlag};

const NO_CROSS_NAMESPACE_REFS: &str = "--no-cross-namespace-refs";
const NO_REMOTE_BASES: &str = "--no-remote-bases";
const DEFAULT_SERVICE_ACCOUNT: &str = "--default-service-account";

/// The controllers the guide locks down, with the flags each needs.
const GUIDE: [(&str, &[&str]); 5] = [
    (
        "kustomize-controller",
        &[
            NO_CROSS_NAMESPACE_REFS,
            NO_REMOTE_BASES,
            DEFAULT_SERVICE_ACCOUNT,
        ],
    ),
    (
        "helm-controller",
        &[NO_CROSS_NAMESPACE_REFS, DEFAULT_SERVICE_ACCOUNT],
    ),
    ("notification-controller", &[NO_CROSS_NAMESPACE_REFS]),
    ("image-reflector-controller", &[NO_CROSS_NAMESPACE_REFS]),
    ("image-automation-controller", &[NO_CROSS_NAMESPACE_REFS]),
];

/// Reads the controllers' Deployments in `namespace` and reports their lockdown. A read that
/// fails is reported in the answer, never as an error: the report is advice beside health.
pub async fn lockdown(client: &Client, namespace: &str) -> FluxLockdown {
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    let mut controllers = Vec::new();
    for (name, flags) in GUIDE {
        match deployments.get_opt(name).await {
            Ok(found) => controllers.push(assess(name, flags, found.as_ref())),
            Err(error) => {
                return FluxLockdown {
                    namespace: namespace.to_owned(),
                    summary: format!(
                        "the Flux controllers' Deployments in {namespace} could not be read, so their lockdown is unknown"
                    ),
                    error: Some(control_core::adapters::cluster_error(error).to_string()),
                    ..FluxLockdown::default()
                };
            }
        }
    }
    report(namespace, controllers)
}

/// The report for controllers already assessed.
fn report(namespace: &str, controllers: Vec<ControllerLockdown>) -> FluxLockdown {
    let appliers_found = controllers.iter().any(|c| {
        c.installed
            && matches!(
                c.controller.as_str(),
                "kustomize-controller" | "helm-controller"
            )
    });
    let mut report = FluxLockdown {
        namespace: namespace.to_owned(),
        controllers,
        ..FluxLockdown::default()
    };
    let missing = report.missing();
    report.locked_down = appliers_found && missing.is_empty();
    report.summary = if !appliers_found {
        format!(
            "neither kustomize-controller nor helm-controller was found in {namespace}, so their lockdown cannot be checked (set flux.namespace to where Flux runs)"
        )
    } else if missing.is_empty() {
        "the Flux controllers run locked down: objects that name no service account run as the default one, and sources are not referenced across namespaces".to_owned()
    } else {
        format!(
            "the Flux controllers are not locked down ({}): a Kustomization or HelmRelease that names no service account is applied with the controller's own rights, cluster-admin in a stock install",
            missing.join("; ")
        )
    };
    report
}

/// One controller's flags as its Deployment sets them.
fn assess(name: &str, flags: &[&str], deployment: Option<&Deployment>) -> ControllerLockdown {
    let args: Vec<&str> = deployment
        .and_then(|d| d.spec.template.spec.as_ref())
        .map(|pod| {
            pod.containers
                .iter()
                .flat_map(|c| c.command.iter().flatten().chain(c.args.iter().flatten()))
                .map(String::as_str)
                .collect()
        })
        .unwrap_or_default();
    ControllerLockdown {
        controller: name.to_owned(),
        installed: deployment.is_some(),
        flags: flags.iter().map(|flag| check(flag, &args)).collect(),
    }
}

/// The flag's value in `args` (Go's flag package: `--flag=value`, `--flag value`, or a bare
/// boolean `--flag`; the last one wins), judged against what the lockdown needs.
fn check(flag: &str, args: &[&str]) -> LockdownFlag {
    let single = flag.trim_start_matches('-');
    let mut actual = None;
    let mut iter = args.iter().peekable();
    while let Some(arg) = iter.next() {
        let Some(rest) = arg
            .strip_prefix("--")
            .or_else(|| arg.strip_prefix('-'))
            .and_then(|a| a.strip_prefix(single))
        else {
            continue;
        };
        if let Some(value) = rest.strip_prefix('=') {
            actual = Some(value.to_owned());
        } else if rest.is_empty() {
            let boolean = flag != DEFAULT_SERVICE_ACCOUNT;
            actual = match iter.peek() {
                Some(next) if !boolean && !next.starts_with('-') => {
                    iter.next().map(|v| (*v).to_owned())
                }
                _ if boolean => Some("true".to_owned()),
                _ => Some(String::new()),
            };
        }
    }
    let (expected, ok) = if flag == DEFAULT_SERVICE_ACCOUNT {
        (
            "any account",
            actual.as_deref().is_some_and(|a| !a.is_empty()),
        )
    } else {
        (
            "true",
            actual
                .as_deref()
                .is_some_and(|a| a.eq_ignore_ascii_case("true") || a == "1"),
        )
    };
    LockdownFlag {
        flag: flag.to_owned(),
        expected: expected.to_owned(),
        actual,
        ok,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_read_as_go_parses_them() {
        let args = [
            "--watch-all-namespaces=true",
            "--no-cross-namespace-refs",
            "--default-service-account",
            "default",
            "--no-remote-bases=false",
        ];
        assert_eq!(
            check(NO_CROSS_NAMESPACE_REFS, &args).actual.as_deref(),
            Some("true")
        );
        assert!(check(NO_CROSS_NAMESPACE_REFS, &args).ok);
        let account = check(DEFAULT_SERVICE_ACCOUNT, &args);
        assert_eq!(account.actual.as_deref(), Some("default"));
        assert!(account.ok);
        let bases = check(NO_REMOTE_BASES, &args);
        assert_eq!(bases.actual.as_deref(), Some("false"));
        assert!(!bases.ok);
        let absent = check(DEFAULT_SERVICE_ACCOUNT, &["--log-level=info"]);
        assert_eq!(absent.actual, None);
        assert!(!absent.ok);
        assert!(!check(DEFAULT_SERVICE_ACCOUNT, &["--default-service-account="]).ok);
    }

    #[test]
    fn the_report_needs_an_applier_and_every_flag_of_every_installed_controller() {
        let locked = ControllerLockdown {
            controller: "kustomize-controller".into(),
            installed: true,
            flags: vec![check(
                NO_CROSS_NAMESPACE_REFS,
                &["--no-cross-namespace-refs=true"],
            )],
        };
        let absent = ControllerLockdown {
            controller: "notification-controller".into(),
            installed: false,
            flags: vec![check(NO_CROSS_NAMESPACE_REFS, &[])],
        };
        let good = report("flux-system", vec![locked.clone(), absent.clone()]);
        assert!(good.locked_down, "{good:?}");
        let open = ControllerLockdown {
            controller: "helm-controller".into(),
            installed: true,
            flags: vec![check(DEFAULT_SERVICE_ACCOUNT, &[])],
        };
        let bad = report("flux-system", vec![locked, open, absent.clone()]);
        assert!(!bad.locked_down);
        assert!(
            bad.summary
                .contains("helm-controller: --default-service-account"),
            "{}",
            bad.summary
        );
        let none = report("flux-system", vec![absent]);
        assert!(!none.locked_down);
        assert!(
            none.summary.contains("cannot be checked"),
            "{}",
            none.summary
        );
    }
}
