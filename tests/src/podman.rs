//! Where Podman differs from Docker, and the tests accept it: names it lists images under,
//! prunes that trip over concurrent removals, operations it does not implement.

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

/// Runs a call that looks up every container or image (a prune, data usage), asked again while
/// Podman trips over an object removed meanwhile. Podman 4.3 fails such a call when another test
/// removes an object between its listing and its lookup ("... does not exist in database",
/// "image not known"); asked again once the removal is done, it answers. The tests beside it
/// remove dozens of objects in bursts, so it is asked again for up to a minute, pausing between
/// attempts, and the last failure is returned with how often it was asked. Docker's answer is
/// returned as it comes.
pub async fn despite_concurrent_removals<T, F, Fut>(prune: F) -> docker_engine_runtime::Result<T>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = docker_engine_runtime::Result<T>>,
{
    const PATIENCE: std::time::Duration = std::time::Duration::from_secs(60);
    const PAUSE: std::time::Duration = std::time::Duration::from_millis(250);
    let started = std::time::Instant::now();
    let mut attempts = 1;
    let mut report = prune().await;
    while let Err(error) = &report {
        if server() != Server::Podman {
            break;
        }
        let said = error.to_string();
        assert!(
            said.contains("does not exist in database") || said.contains("image not known"),
            "{said}"
        );
        if started.elapsed() > PATIENCE {
            eprintln!("Podman still tripped over concurrent removals after {attempts} attempts in {PATIENCE:?}");
            break;
        }
        tokio::time::sleep(PAUSE).await;
        attempts += 1;
        report = prune().await;
    }
    report
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
