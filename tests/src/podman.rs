//! Where Podman differs from Docker, and the tests accept it: names it lists images under,
//! operations it does not implement. (Its lists and prunes fail when another client removes an
//! object meanwhile; the test script runs its pass one test at a time.)

use crate::servers::{server, Server};

/// The name the server lists an image under: Podman qualifies a name given without a registry
/// as Docker does only in what it sends to registries, with `docker.io/`, and `library/` for a
/// name of one component.
pub fn listed_name(image: &str) -> String {
    match server() {
        Server::Docker => image.to_owned(),
        Server::Podman if image.contains('/') => format!("docker.io/{image}"),
        Server::Podman => format!("docker.io/library/{image}"),
    }
}

/// The `until` of a request for events already past, as Unix seconds: one second ahead for
/// dockerd, which ends the stream at that moment; three for Podman 4.3, which sends nothing for an
/// `until` already past when it reads the request, as one second ahead (in whole seconds, so as
/// little as none) can be on a loaded machine.
pub fn events_until() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs();
    let ahead = match server() {
        Server::Docker => 1,
        Server::Podman => 3,
    };
    (now + ahead).to_string()
}

/// Whether `error` is how Podman refuses an operation it does not implement: a route it does
/// not have (read by the runtime as an operation not offered), 404 "... is not supported"
/// (plugins), or 503 "Podman does not support ..." (swarm).
pub fn podman_does_not_implement(error: &docker_engine_runtime::Error) -> bool {
    use docker_engine_runtime::Error;
    match error {
        Error::UnsupportedVersion { .. } => true,
        Error::Daemon {
            status: 404, message, ..
        } => message.ends_with("is not supported"),
        Error::Daemon {
            status: 503, message, ..
        } => message.starts_with("Podman does not support"),
        _ => false,
    }
}

/// On Podman, checks that `result` is its refusal of an operation it does not implement and
/// answers true, so the test stops there; on Docker, answers false.
pub fn unimplemented_on_podman<T: std::fmt::Debug>(result: &docker_engine_runtime::Result<T>) -> bool {
    if server() != Server::Podman {
        return false;
    }
    match result {
        Err(error) => assert!(podman_does_not_implement(error), "{error:?}"),
        Ok(value) => panic!("Podman answered an operation it does not implement: {value:?}"),
    }
    true
}
