//! A kubeconfig that points kube clients, kubectl and helm at the sandbox.

use std::path::Path;

/// The kubeconfig text for a sandbox at `server` (http://127.0.0.1:PORT), with a token if set.
pub fn render(server: &str, token: Option<&str>) -> String {
    let user = match token {
        Some(token) => format!("    token: {token}\n"),
        None => "    username: sandbox\n".to_owned(),
    };
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: sandbox\n  cluster:\n    server: {server}\n\
         contexts:\n- name: sandbox\n  context:\n    cluster: sandbox\n    user: sandbox\n    namespace: default\n\
         current-context: sandbox\nusers:\n- name: sandbox\n  user:\n{user}"
    )
}

/// Writes the kubeconfig to `path` (readable by its owner only, as it may hold a token).
pub fn write(path: &Path, server: &str, token: Option<&str>) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(render(server, token).as_bytes())
}
