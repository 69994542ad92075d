//! `DOCKER_HOST` parsing, with and without TLS, and the context store: `config.json` and a
//! context's `meta.json` with arbitrary content. Credential helpers are never run: a fuzzed
//! configuration must not start programs.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use docker_engine_runtime::{DockerConfig, Environment};
use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};

const CONTEXT: &str = "fuzzed";

/// A configuration folder of this process, with the meta folder of the context `fuzzed`.
fn config_dir() -> &'static (PathBuf, PathBuf) {
    static DIR: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("docker-host-fuzz-{}", std::process::id()));
        let digest: String = Sha256::digest(CONTEXT).iter().map(|b| format!("{b:02x}")).collect();
        let meta = dir.join("contexts/meta").join(digest);
        std::fs::create_dir_all(&meta).expect("temporary folder");
        (dir, meta.join("meta.json"))
    })
}

fuzz_target!(|input: &[u8]| {
    let text = String::from_utf8_lossy(input);
    let mut parts = text.splitn(3, '\n');
    let host = parts.next().unwrap_or_default().to_owned();
    for tls_verify in [None, Some("1".to_owned())] {
        let environment = Environment {
            docker_host: Some(host.clone()),
            tls_verify,
            cert_path: Some(PathBuf::from("/nonexistent/certs")),
            ..Default::default()
        };
        let _ = environment.endpoint();
    }

    let (dir, meta_path) = config_dir();
    std::fs::write(dir.join("config.json"), parts.next().unwrap_or_default()).expect("write config.json");
    std::fs::write(meta_path, parts.next().unwrap_or_default()).expect("write meta.json");
    if let Ok(config) = DockerConfig::load(dir) {
        let _ = config.current_context();
        let _ = config.context_endpoint(CONTEXT);
    }
    let environment = Environment {
        docker_context: Some(CONTEXT.to_owned()),
        docker_config: Some(dir.clone()),
        ..Default::default()
    };
    let _ = environment.endpoint();
});
