//! How tests reach the servers the test script starts: the test daemon and the kind of server
//! it is, the peer daemon, companion variables, and clients that record what they send.

use docker_engine_runtime::{Endpoint, Environment};
use docker_engine_v1_41::Docker;

use crate::coverage::coverage_recorder;

/// The test daemon from `DOCKER_TEST_HOST` (as `DOCKER_HOST` is written). Without it the test
/// is skipped, except under `CI=true`, where a missing daemon is a failure.
pub fn daemon() -> Option<Endpoint> {
    match std::env::var("DOCKER_TEST_HOST") {
        Ok(host) if !host.is_empty() => {
            let environment = Environment {
                docker_host: Some(host),
                ..Environment::from_process()
            };
            Some(
                environment
                    .endpoint()
                    .expect("DOCKER_TEST_HOST is a valid DOCKER_HOST value"),
            )
        }
        _ if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("CI=true but DOCKER_TEST_HOST is not set: the daemon tests need a daemon (run .ci/run)")
        }
        _ => {
            eprintln!("skipped: set DOCKER_TEST_HOST (or run scripts/test-with-daemon.sh) to run daemon tests");
            None
        }
    }
}

/// The kind of server behind `DOCKER_TEST_HOST`, as `DOCKER_TEST_SERVER` says (`docker` when
/// unset). Where the servers differ on purpose, tests check each one's own behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    Docker,
    Podman,
}

pub fn server() -> Server {
    match std::env::var("DOCKER_TEST_SERVER").as_deref() {
        Ok("podman") => Server::Podman,
        Ok("docker") | Err(_) => Server::Docker,
        Ok(other) => panic!("DOCKER_TEST_SERVER is {other:?}; expected docker or podman"),
    }
}

/// A variable the test script sets beside `DOCKER_TEST_HOST`; required once a daemon is there.
pub fn companion_variable(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("DOCKER_TEST_HOST is set but {name} is not (see scripts/test-with-daemon.sh)"))
}

/// A v1.41 client for `endpoint` that records the operations it sends.
pub fn docker_at(endpoint: Endpoint) -> Result<Docker, docker_engine_runtime::Error> {
    let options = docker_engine_runtime::Options {
        observer: coverage_recorder(),
        ..Default::default()
    };
    let client = docker_engine_runtime::Client::with_options(endpoint, docker_engine_v1_41::API_VERSION, options)?;
    Ok(Docker::with_client(client))
}

pub fn docker() -> Option<Docker> {
    Some(docker_at(daemon()?).expect("client"))
}

/// The test daemon's client, where a daemon is known to be there (in guards).
pub fn test_docker() -> Docker {
    docker().expect("guards exist only with a daemon")
}

/// The second daemon the test script starts in a network namespace of its own
/// (`DOCKER_TEST_PEER_HOST`), for the swarm tests to join.
pub fn peer_docker() -> Docker {
    let environment = Environment {
        docker_host: Some(companion_variable("DOCKER_TEST_PEER_HOST")),
        ..Environment::from_process()
    };
    docker_at(
        environment
            .endpoint()
            .expect("DOCKER_TEST_PEER_HOST is a valid DOCKER_HOST value"),
    )
    .expect("client")
}

/// Held by each test that puts the test daemon in a swarm: a daemon is in one swarm at a time.
pub static ONE_SWARM: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The addresses the test daemon (the manager) and its peer reach each other at.
pub fn swarm_addresses() -> (String, String) {
    (
        companion_variable("DOCKER_TEST_MANAGER_ADDRESS"),
        companion_variable("DOCKER_TEST_PEER_ADDRESS"),
    )
}
