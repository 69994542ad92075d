//! Endpoints beside the daemon's socket: Docker contexts laid out as the CLI writes them, and
//! the test sshd.

use docker_engine_runtime::{Endpoint, Environment};

use crate::busybox::unique_name;
use crate::servers::companion_variable;

/// A fresh Docker configuration folder holding one context, `name`, for the test daemon's
/// mutual-TLS endpoint, laid out as `docker context create` does: the meta file under the
/// SHA-256 of the name, the TLS files beside it. Nothing selects it yet.
pub fn tls_context_config(name: &str) -> std::path::PathBuf {
    let config_dir = context_config(name, &companion_variable("DOCKER_TEST_TLS_HOST"));
    let tls_dir = config_dir.join("contexts/tls").join(sha256_hex(name)).join("docker");
    std::fs::create_dir_all(&tls_dir).unwrap();
    let cert_dir = std::path::PathBuf::from(companion_variable("DOCKER_TEST_CERT_PATH"));
    for file in ["ca.pem", "cert.pem", "key.pem"] {
        std::fs::copy(cert_dir.join(file), tls_dir.join(file)).unwrap();
    }
    config_dir
}

/// A new Docker configuration folder holding the context `name`, whose docker endpoint is
/// `host`, laid out as `docker context create` writes it.
pub fn context_config(name: &str, host: &str) -> std::path::PathBuf {
    let config_dir = std::env::temp_dir().join(unique_name("docker-config"));
    let meta_dir = config_dir.join("contexts/meta").join(sha256_hex(name));
    std::fs::create_dir_all(&meta_dir).unwrap();
    let meta = serde_json::json!({
        "Name": name,
        "Metadata": {},
        "Endpoints": {"docker": {"Host": host, "SkipTLSVerify": false}},
    });
    std::fs::write(meta_dir.join("meta.json"), meta.to_string()).unwrap();
    config_dir
}

/// The digest with the system's `sha256sum`, so the harness needs no hashing crate.
fn sha256_hex(text: &str) -> String {
    use std::io::Write;
    let output = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            child.stdin.take().unwrap().write_all(text.as_bytes())?;
            child.wait_with_output()
        })
        .expect("sha256sum (coreutils)");
    String::from_utf8(output.stdout).unwrap()[..64].to_owned()
}

/// The run's ssh files: client configuration, known_hosts and keys.
pub fn ssh_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(companion_variable("DOCKER_TEST_SSH_DIR"))
}

/// `DOCKER_TEST_SSH_HOST` as `DOCKER_HOST` would give it.
pub fn ssh_target() -> docker_engine_runtime::SshTarget {
    let environment = Environment {
        docker_host: Some(companion_variable("DOCKER_TEST_SSH_HOST")),
        ..Default::default()
    };
    match environment.endpoint().unwrap() {
        Endpoint::Ssh(target) => target,
        other => panic!("DOCKER_TEST_SSH_HOST should be ssh://user@host:port, got {other}"),
    }
}

/// The test sshd with the run's configuration and the key `key` (whose sessions get the
/// environment of one case, see the test script), plus `extra` ssh arguments.
pub fn ssh_endpoint(key: &str, extra: &[&str]) -> Endpoint {
    let mut target = ssh_target();
    let dir = ssh_dir();
    target.options = [
        "-F",
        &dir.join("ssh_config").to_string_lossy(),
        "-i",
        &dir.join(key).to_string_lossy(),
    ]
    .into_iter()
    .chain(extra.iter().copied())
    .map(String::from)
    .collect();
    Endpoint::Ssh(target)
}
