//! How tests reach the servers the test script starts: the test daemon and the kind of server
//! it is, the peer daemon, companion variables, and clients that record what they send.

use docker_engine_runtime::{Endpoint, Environment};
use docker_engine_v1_41::Docker;

use crate::coverage::coverage_recorder;

/// The test daemon: within a `#[daemon_test]` that records or replays (see [`crate::replay`]),
/// the recorder or the replaying fake daemon in its place; otherwise the daemon of
/// `DOCKER_TEST_HOST`.
pub fn daemon() -> Endpoint {
    match crate::replay::session_host() {
        Some(host) => endpoint_of(host, "the session's host"),
        None => live_daemon(),
    }
}

/// `host` written as `DOCKER_HOST` is, as an endpoint; `what` names it if it is not valid.
fn endpoint_of(host: String, what: &str) -> Endpoint {
    Environment {
        docker_host: Some(host),
        ..Environment::from_process()
    }
    .endpoint()
    .unwrap_or_else(|e| panic!("{what} is not a valid DOCKER_HOST value: {e}"))
}

/// The daemon of `DOCKER_TEST_HOST` (as `DOCKER_HOST` is written). The tests that call it are
/// `#[daemon_test]`s, which a build without that variable marks ignored unless they have a
/// recording; one run without it anyway (a binary built with it) fails here, saying what to set.
pub(crate) fn live_daemon() -> Endpoint {
    let host = std::env::var("DOCKER_TEST_HOST").unwrap_or_default();
    if host.is_empty() {
        panic!(
            "DOCKER_TEST_HOST is not set: the daemon tests and the benchmark need the servers \
             scripts/test-with-daemon.sh starts (run them through it; a test build without the variable \
             marks the daemon tests ignored)"
        );
    }
    endpoint_of(host, "DOCKER_TEST_HOST")
}

/// The kind of server behind `DOCKER_TEST_HOST`. Where the servers differ on purpose, tests check
/// each one's own behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    Docker,
    Podman,
}

/// What the test daemon says it is (`GET /version`, unversioned, asked once per test process);
/// what the suite expects follows it rather than one daemon's version.
#[derive(Debug, Clone)]
pub struct DaemonFacts {
    pub server: Server,
    /// The server's own version: `20.10.24`, `29.5.3`, `4.3.1`.
    pub version: String,
    /// The newest API version it speaks, and the oldest it accepts.
    pub api_version: String,
    pub min_api_version: String,
}

impl DaemonFacts {
    /// The major version of the server (`29` of `29.5.3`).
    pub fn major(&self) -> u32 {
        self.version
            .split('.')
            .next()
            .and_then(|major| major.parse().ok())
            .unwrap_or(0)
    }

    /// Whether the daemon accepts requests at API `version`.
    pub fn accepts(&self, version: &str) -> bool {
        docker_engine_runtime::compare_versions(version, &self.min_api_version) != std::cmp::Ordering::Less
    }

    /// The version a client of API `version` negotiates with the daemon: the older of the two.
    pub fn negotiated(&self, version: &str) -> String {
        match docker_engine_runtime::compare_versions(version, &self.api_version) {
            std::cmp::Ordering::Greater => self.api_version.clone(),
            _ => version.to_owned(),
        }
    }
}

/// The test daemon's facts; only called where a daemon is known to be there.
pub fn facts() -> &'static DaemonFacts {
    static FACTS: std::sync::OnceLock<DaemonFacts> = std::sync::OnceLock::new();
    FACTS.get_or_init(|| {
        if let crate::replay::Mode::Replaying(_) = crate::replay::mode() {
            let version = serde_json::from_slice(&crate::replay::recorded_version()).expect("a /version answer");
            return facts_of(version);
        }
        // Tests run inside a runtime, which cannot block on another: ask from a thread of its own.
        std::thread::spawn(|| {
            let endpoint = daemon();
            let options = docker_engine_runtime::Options {
                version: docker_engine_runtime::VersionPolicy::Unversioned,
                // Every test's first question: a daemon that never answers fails it, not hangs it.
                request_timeout: Some(std::time::Duration::from_secs(60)),
                ..Default::default()
            };
            let client =
                docker_engine_runtime::Client::with_options(endpoint, docker_engine_v1_41::API_VERSION, options)
                    .expect("client");
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let version = runtime
                .block_on(Docker::with_client(client).system().version().send())
                .expect("the test daemon answers /version");
            facts_of(version)
        })
        .join()
        .expect("asking the daemon's version")
    })
}

fn facts_of(version: docker_engine_v1_41::models::SystemVersion) -> DaemonFacts {
    let podman = version
        .components
        .iter()
        .flatten()
        .any(|component| component.name.contains("Podman"));
    let field = |value: Option<String>, name: &str| value.unwrap_or_else(|| panic!("/version has no {name}"));
    DaemonFacts {
        server: if podman { Server::Podman } else { Server::Docker },
        version: field(version.version, "Version"),
        api_version: field(version.api_version, "ApiVersion"),
        min_api_version: field(version.min_api_version, "MinAPIVersion"),
    }
}

/// The kind of server the test daemon is.
pub fn server() -> Server {
    facts().server
}

/// A variable the test script sets beside `DOCKER_TEST_HOST`; required once a daemon is there.
pub fn companion_variable(name: &str) -> String {
    if name == "DOCKER_TEST_HOST" {
        if let Some(host) = crate::replay::session_host() {
            return host;
        }
    }
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

/// A client of the test daemon.
pub fn docker() -> Docker {
    docker_at(daemon()).expect("client")
}

/// The second daemon the test script starts in a network namespace of its own
/// (`DOCKER_TEST_PEER_HOST`), for the swarm tests to join.
pub fn peer_docker() -> Docker {
    docker_at(endpoint_of(
        companion_variable("DOCKER_TEST_PEER_HOST"),
        "DOCKER_TEST_PEER_HOST",
    ))
    .expect("client")
}

/// Held by each test that puts the test daemon in a swarm: a daemon is in one swarm at a time.
pub static ONE_SWARM: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Held while asking for data usage: dockerd refuses a second one while it computes one ("a disk
/// usage operation is already running"), and tests run two at a time.
pub static ONE_DATA_USAGE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The addresses the test daemon (the manager) and its peer reach each other at.
pub fn swarm_addresses() -> (String, String) {
    (
        companion_variable("DOCKER_TEST_MANAGER_ADDRESS"),
        companion_variable("DOCKER_TEST_PEER_ADDRESS"),
    )
}
