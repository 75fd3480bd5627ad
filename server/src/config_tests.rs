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
    let cli = Cli::try_parse_from([
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
    let mut config = Config::from_yaml(
        "plugins:\n  dms:\n    - name: helm-deployer\n      type: helm\n      default: true\n      config:\n        namespace: deployments\n    - name: flux-main\n      type: flux\n      config: {}\n",
    )
    .unwrap();
    config.apply(&Cli {
        kubeconfig: Some("/k".into()),
        ..Cli::default()
    });
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
