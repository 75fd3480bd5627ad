//! The configuration's file, environment and flag merging.

use super::*;

#[test]
fn defaults_need_no_file() {
    let config = Config::load(&Cli::default()).unwrap();
    assert_eq!(config.server.listen, "127.0.0.1:3000".parse().unwrap());
    assert_eq!(config.server.site_root, PathBuf::from("target/site"));
    assert_eq!(config.database.max_connections, 10);
    assert_eq!(config.log.format, LogFormat::Pretty);
    assert!(config.database.url.is_none());
}

#[test]
fn yaml_sets_nested_options_in_camel_case() {
    let config = Config::from_yaml(
        "server:\n  listen: 0.0.0.0:8080\ndatabase:\n  url: postgres://db/ph\n  maxConnections: 4\nlog:\n  format: json\naccess:\n  bootstrapAdminGroup: ops\naudit:\n  retentionDays: 90\n",
    )
    .unwrap();
    assert_eq!(config.server.listen, "0.0.0.0:8080".parse().unwrap());
    assert_eq!(config.server.site_root, PathBuf::from("target/site"));
    assert_eq!(config.database.url.as_deref(), Some("postgres://db/ph"));
    assert_eq!(config.database.max_connections, 4);
    assert_eq!(config.log.format, LogFormat::Json);
    assert_eq!(config.access.bootstrap_admin_group.as_deref(), Some("ops"));
    assert_eq!(config.audit.retention_days, Some(90));
}

#[test]
fn unknown_keys_are_rejected_with_their_name() {
    let error = Config::from_yaml("database:\n  uri: postgres://x\n").unwrap_err();
    assert!(error.to_string().contains("unknown field `uri`"), "{error}");
}

/// A configuration file with `text`, in a directory of its own.
fn written(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pilothouse-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("config.yaml");
    std::fs::write(&file, text).unwrap();
    file
}

#[test]
fn the_docs_show_the_settings_table() {
    let doc = include_str!("../../docs/configuration.md");
    assert!(
        doc.contains(&settings::markdown_table()),
        "docs/configuration.md's table is out of date; paste this:\n{}",
        settings::markdown_table()
    );
}

#[test]
fn every_setting_is_a_key_the_configuration_reads() {
    // All samples in one file: deny_unknown_fields refuses a key the configuration lacks.
    let mut root = serde_yaml::Value::Mapping(Default::default());
    for setting in settings::SETTINGS {
        let sample: serde_yaml::Value = serde_yaml::from_str(setting.sample).unwrap();
        settings::set(&mut root, setting.key, sample);
    }
    let config: Config = serde_yaml::from_value(root).expect("every key is read");
    assert_eq!(config.server.listen, "127.0.0.1:3001".parse().unwrap());
    assert_eq!(config.tokens.max_live_per_user, 5);
    assert!(config.server.tls.is_some_and(|tls| tls.require_client_cert));
}

#[test]
fn every_key_the_configuration_reads_is_a_setting() {
    // serde names the fields it expects when it meets an unknown one.
    let expected = |path: &str| -> Vec<String> {
        let mut root = serde_yaml::Value::Mapping(Default::default());
        let probe = if path.is_empty() {
            "zzProbe".to_owned()
        } else {
            format!("{path}.zzProbe")
        };
        if path == "server.tls" {
            settings::set(&mut root, "server.tls.cert", "/c".into());
            settings::set(&mut root, "server.tls.key", "/k".into());
        }
        settings::set(&mut root, &probe, 1.into());
        let error = serde_yaml::from_value::<Config>(root)
            .unwrap_err()
            .to_string();
        // "expected `a`", "expected `a` or `b`", "expected one of `a`, `b`, `c`".
        let list = error.split("expected ").nth(1).unwrap_or_default();
        list.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect()
    };
    let documented = |key: &str| {
        settings::SETTINGS
            .iter()
            .any(|s| s.key == key || s.key.starts_with(&format!("{key}.")))
    };
    let sections = expected("");
    assert!(sections.contains(&"server".to_owned()), "{sections:?}");
    let mut missing: Vec<String> = Vec::new();
    for section in sections {
        let fields = expected(&section);
        assert!(!fields.is_empty(), "{section} names its fields");
        for field in fields {
            let key = format!("{section}.{field}");
            if key == "server.tls" {
                let tls = expected("server.tls").into_iter();
                missing.extend(
                    tls.map(|f| format!("server.tls.{f}"))
                        .filter(|k| !documented(k)),
                );
                continue;
            }
            if !documented(&key) {
                missing.push(key);
            }
        }
    }
    assert!(
        missing.is_empty(),
        "read but not in settings::SETTINGS: {missing:?}"
    );
}

#[test]
fn flags_override_the_file() {
    let dir = std::env::temp_dir().join(format!("pilothouse-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("config.yaml");
    std::fs::write(
        &file,
        "server:\n  listen: 127.0.0.1:4000\nlog:\n  filter: debug\n",
    )
    .unwrap();
    let cli = Cli::try_from_args([
        "pilothouse",
        "--config",
        file.to_str().unwrap(),
        "--listen",
        "127.0.0.1:5000",
    ])
    .unwrap();
    let config = Config::load(&cli).unwrap();
    assert_eq!(config.server.listen, "127.0.0.1:5000".parse().unwrap());
    assert_eq!(config.log.filter, "debug");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_missing_file_is_named_in_the_error() {
    let error = Config::from_file(Path::new("/nonexistent/pilothouse.yaml")).unwrap_err();
    assert!(format!("{error:#}").contains("/nonexistent/pilothouse.yaml"));
}

#[test]
fn passwords_are_redacted_from_urls() {
    assert_eq!(
        redacted_url("postgres://ph:s3cret@db:5432/ph?sslmode=require"),
        "postgres://ph:***@db:5432/ph?sslmode=require"
    );
    assert_eq!(redacted_url("postgres://db/ph"), "postgres://db/ph");
    assert_eq!(redacted_url("postgres://ph@db/ph"), "postgres://ph@db/ph");
    assert_eq!(redacted_url("not a url"), "<unparsable URL>");
}

#[test]
fn plugins_dms_in_the_references_shape_replaces_the_shorthand() {
    let file = written(
        "plugins-dms",
        "plugins:\n  dms:\n    - name: helm-deployer\n      type: helm\n      default: true\n      config:\n        namespace: deployments\n    - name: flux-main\n      type: flux\n      config: {}\n",
    );
    let cli = Cli::try_from_args([
        "pilothouse",
        "-c",
        file.to_str().unwrap(),
        "--kubeconfig",
        "/k",
    ])
    .unwrap();
    let config = Config::load(&cli).unwrap();
    let plugins = config.plugins().unwrap();
    assert_eq!(plugins.len(), 2);
    assert_eq!(plugins[0].name, "helm-deployer");
    assert!(plugins[0].default);
    assert!(
        plugins
            .iter()
            .all(|p| p.settings.kubeconfig() == Some(&PathBuf::from("/k"))),
        "--kubeconfig reaches every adapter"
    );
    assert_eq!(
        config.flux,
        Default::default(),
        "the shorthand is left alone"
    );
}

#[test]
fn without_plugins_the_flux_and_helm_sections_are_two_adapters() {
    let config = Config::from_yaml("flux:\n  namespace: gitops\n").unwrap();
    let plugins = config.plugins().unwrap();
    assert_eq!(
        plugins.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
        ["flux", "helm"]
    );
}

#[test]
fn plugins_and_the_shorthand_together_are_refused() {
    let config = Config::from_yaml(
        "flux:\n  namespace: gitops\nplugins:\n  dms:\n    - name: a\n      type: flux\n      config: {}\n",
    )
    .unwrap();
    let error = config.plugins().unwrap_err().to_string();
    assert!(error.contains("both set"), "{error}");
}

#[test]
fn the_package_limit_can_be_lowered_not_raised() {
    let lowered = Config::from_yaml("helm:\n  maxPackageBytes: 1024\n").unwrap();
    assert_eq!(lowered.package_limits().archive_bytes, 1024);
    let raised = Config::from_yaml("helm:\n  maxPackageBytes: 99999999\n").unwrap();
    assert_eq!(raised.package_limits().archive_bytes, 10 * 1024 * 1024);
    assert_eq!(
        Config::default().package_limits().archive_bytes,
        10 * 1024 * 1024
    );
}

#[test]
fn environment_and_flags_reach_their_keys() {
    let cli = Cli::try_from_args([
        "pilothouse",
        "--database-max-connections",
        "7",
        "--insecure-cookie",
        "--public-url",
        "https://ph.example/",
        "--log-format",
        "json",
    ])
    .unwrap();
    let config = Config::load(&cli).unwrap();
    assert_eq!(config.database.max_connections, 7);
    assert!(config.session.insecure_cookie);
    assert_eq!(config.server.public_url, "https://ph.example");
    assert_eq!(config.log.format, LogFormat::Json);
    let wrong = Cli::try_from_args(["pilothouse", "--database-max-connections", "many"]).unwrap();
    let error = format!("{:#}", Config::load(&wrong).unwrap_err());
    assert!(
        error.contains("--database-max-connections / PILOTHOUSE_DATABASE_MAX_CONNECTIONS"),
        "{error}"
    );
    for setting in settings::SETTINGS.iter().filter(|s| s.flag.is_some()) {
        let env = setting.env().unwrap_or_default();
        let arg = Cli::command_with_settings()
            .get_arguments()
            .find(|a| a.get_long() == setting.flag)
            .map(|a| a.get_env().map(|e| e.to_string_lossy().into_owned()));
        assert_eq!(arg, Some(Some(env)), "{}", setting.key);
    }
}

#[test]
fn deep_link_templates_are_checked_when_read() {
    let good = Config::from_yaml(
        "ui:\n  links:\n    - title: Logs\n      url: https://logs.example/?q={{namespace}}\n      kinds: [HelmRelease]\n",
    )
    .expect("valid");
    assert_eq!(good.ui.links.len(), 1);
    let error =
        Config::from_yaml("ui:\n  links:\n    - title: X\n      url: javascript:alert(1)\n")
            .unwrap_err()
            .to_string();
    assert!(error.contains("https:// or http://"), "{error}");
    let error = Config::from_yaml(
        "ui:\n  links:\n    - title: X\n      url: https://x.example/{{token}}\n",
    )
    .unwrap_err()
    .to_string();
    assert!(error.contains("{{token}} is not one of"), "{error}");
}
