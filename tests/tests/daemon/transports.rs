//! The same smoke scenario over every transport, and TLS misuse refused with a clear error.

use daemon_test_macros::daemon_test;
use std::path::PathBuf;

use daemon_tests::{companion_variable, daemon, docker_at, tls_context_config, transport_smoke};
use docker_engine_runtime::{Endpoint, Environment, Error, TlsFiles};

fn cert_dir() -> PathBuf {
    PathBuf::from(companion_variable("DOCKER_TEST_CERT_PATH"))
}

/// Host and port of the `tcp://` address in the variable `name`.
fn tcp_address(name: &str) -> (String, u16) {
    let environment = Environment {
        docker_host: Some(companion_variable(name)),
        ..Default::default()
    };
    match environment.endpoint().unwrap() {
        Endpoint::Tcp { host, port } => (host, port),
        other => panic!("{name} should be tcp://host:port, got {other}"),
    }
}

fn tls_host() -> (String, u16) {
    tcp_address("DOCKER_TEST_TLS_HOST")
}

#[daemon_test]
async fn smoke_over_unix_socket() {
    let endpoint = daemon();
    assert!(
        matches!(endpoint, Endpoint::Unix(_)),
        "DOCKER_TEST_HOST should be the Unix socket"
    );
    transport_smoke(&docker_at(endpoint).unwrap()).await;
}

#[daemon_test]
async fn smoke_over_plain_tcp() {
    let (host, port) = tcp_address("DOCKER_TEST_TCP_HOST");
    transport_smoke(&docker_at(Endpoint::Tcp { host, port }).unwrap()).await;
}

#[daemon_test]
async fn smoke_over_mutual_tls_from_the_environment() {
    let environment = Environment {
        docker_host: Some(companion_variable("DOCKER_TEST_TLS_HOST")),
        tls_verify: Some("1".into()),
        cert_path: Some(cert_dir()),
        ..Default::default()
    };
    transport_smoke(&docker_at(environment.endpoint().unwrap()).unwrap()).await;
}

/// A context selected by `currentContext`, its TLS files beside it.
#[daemon_test]
async fn smoke_over_mutual_tls_from_a_docker_context() {
    let config_dir = tls_context_config("ci-tls");
    std::fs::write(config_dir.join("config.json"), r#"{"currentContext":"ci-tls"}"#).unwrap();
    let environment = Environment {
        docker_config: Some(config_dir.clone()),
        ..Default::default()
    };
    let endpoint = environment.endpoint().unwrap();
    assert!(matches!(endpoint, Endpoint::Tls { .. }), "{endpoint}");
    transport_smoke(&docker_at(endpoint).unwrap()).await;
    std::fs::remove_dir_all(config_dir).unwrap();
}

async fn ping_error(endpoint: Endpoint) -> Error {
    let docker = docker_at(endpoint).unwrap();
    docker
        .system()
        .ping()
        .send()
        .await
        .expect_err("the daemon must refuse this")
}

#[daemon_test]
async fn tls_without_client_certificate_is_refused_with_advice() {
    let (host, port) = tls_host();
    let ca = std::fs::read(cert_dir().join("ca.pem")).unwrap();
    let error = ping_error(Endpoint::Tls {
        host,
        port,
        tls: TlsFiles {
            ca,
            client_cert: None,
            client_key: None,
        },
    })
    .await;
    assert!(matches!(error, Error::Tls { .. }), "{error:?}");
    assert!(error.to_string().contains("cert.pem and key.pem"), "{error}");
}

#[daemon_test]
async fn tls_with_the_wrong_ca_is_refused_with_advice() {
    let (host, port) = tls_host();
    let mut tls = TlsFiles::from_dir(&cert_dir()).unwrap();
    tls.ca = std::fs::read(cert_dir().join("other-ca.pem")).unwrap();
    let error = ping_error(Endpoint::Tls { host, port, tls }).await;
    assert!(matches!(error, Error::Tls { .. }), "{error:?}");
    assert!(error.to_string().contains("not signed by the given CA"), "{error}");
}

#[daemon_test]
async fn plaintext_client_on_the_tls_port_is_told_to_use_tls() {
    let (host, port) = tls_host();
    let error = ping_error(Endpoint::Tcp { host, port }).await;
    assert!(matches!(error, Error::Tls { .. }), "{error:?}");
    assert!(error.to_string().contains("DOCKER_TLS_VERIFY"), "{error}");
}

#[daemon_test]
async fn tls_client_on_a_plain_port_is_told_the_server_does_not_speak_tls() {
    let (host, port) = tcp_address("DOCKER_TEST_TCP_HOST");
    let error = ping_error(Endpoint::Tls {
        host,
        port,
        tls: TlsFiles::from_dir(&cert_dir()).unwrap(),
    })
    .await;
    assert!(matches!(error, Error::Tls { .. }), "{error:?}");
    assert!(error.to_string().contains("did not answer with TLS"), "{error}");
}

#[daemon_test]
async fn unreachable_daemon_is_a_connect_error_naming_the_endpoint() {
    let error = ping_error(Endpoint::Unix("/nonexistent/docker.sock".into())).await;
    assert!(matches!(error, Error::Connect { .. }), "{error:?}");
    assert!(error.to_string().contains("unix:///nonexistent/docker.sock"), "{error}");
}
