//! Every generated crate against the same daemon: crates the daemon accepts, up to its API
//! version, run a smoke scenario at their own version, and crates older than its minimum are
//! refused with an error naming both versions; newer crates negotiate down to the daemon's
//! version, and an operation that version lacks fails with a clear error.

use daemon_test_macros::daemon_test;
use daemon_tests::daemon;
use docker_engine_runtime::{Client, Error};

/// Ping, version, info, and listing and inspecting containers and images, with `$krate`.
macro_rules! smoke_tests {
    ($($name:ident => $krate:ident),* $(,)?) => {$(
        #[daemon_test]
        async fn $name() {
            let endpoint = daemon();
            let client = Client::new(endpoint, $krate::API_VERSION).unwrap();
            let docker = $krate::Docker::with_client(client);
            assert_eq!(docker.client().api_version().await.unwrap(), $krate::API_VERSION);
            let facts = daemon_tests::facts();
            if !facts.accepts($krate::API_VERSION) {
                let refused = docker.system().info().send().await.unwrap_err();
                assert_too_old(&refused, $krate::API_VERSION);
                return;
            }
            assert_eq!(docker.system().ping().send().await.unwrap(), "OK");
            let version = docker.system().version().send().await.unwrap();
            assert_eq!(version.api_version.as_deref(), Some(facts.api_version.as_str()));
            let info = docker.system().info().send().await.unwrap();
            assert!(info.id.is_some(), "{info:?}");
            let image = daemon_tests::busybox_image(&daemon_tests::docker()).await;
            let images = docker.images().list().send().await.unwrap();
            assert!(!images.is_empty());
            docker.images().inspect(image).send().await.unwrap();
            docker.containers().list().all(true).send().await.unwrap();
            // A running container on the bridge, with an exec: ports, networks and exec ids set.
            let current = daemon_tests::docker();
            let container = running_container_with_an_entrypoint(&current).await;
            let exec = docker_engine_v1_41::models::ExecConfig {
                cmd: Some(vec!["true".into()]),
                ..Default::default()
            };
            current.exec().create(&container.id, exec).send().await.unwrap();
            let inspected = docker.containers().inspect(&container.id).send().await.unwrap();
            assert_eq!(inspected.id.as_deref(), Some(container.id.as_str()));
            assert_eq!(inspected.exec_ids.map(|ids| ids.len()), Some(1));
            let config = inspected.config.expect("an inspected container has its config");
            assert_eq!(config.entrypoint, Some(vec!["sh".to_owned(), "-c".to_owned()]));
            assert_eq!(config.cmd, Some(vec!["sleep 30".to_owned()]));
        }
    )*};
}

/// `error` is the refusal of a request at API `version`, older than the daemon's minimum: it
/// names both versions.
fn assert_too_old(error: &Error, version: &str) {
    let minimum = &daemon_tests::facts().min_api_version;
    match error {
        Error::VersionTooOld {
            version: used,
            minimum: stated,
            ..
        } => assert_eq!((used.as_str(), stated.as_str()), (version, minimum.as_str())),
        other => panic!("expected VersionTooOld for {version} (the daemon's minimum is {minimum}), got {other:?}"),
    }
    let message = error.to_string();
    assert!(
        message.contains(version) && message.contains(minimum.as_str()),
        "{message}"
    );
}

/// A started busybox container whose entrypoint and command are both set, so that inspecting
/// it shows how the daemon sends each (an array of strings, whatever older specs say).
async fn running_container_with_an_entrypoint(docker: &docker_engine_v1_41::Docker) -> daemon_tests::ContainerGuard {
    daemon_tests::TestContainer::new("entrypoint", "")
        .with(|body| {
            body.entrypoint = Some(vec!["sh".into(), "-c".into()]);
            body.cmd = Some(vec!["sleep 30".into()]);
        })
        .start(docker)
        .await
}

smoke_tests! {
    smoke_v1_25 => docker_engine_v1_25, smoke_v1_26 => docker_engine_v1_26, smoke_v1_27 => docker_engine_v1_27,
    smoke_v1_28 => docker_engine_v1_28, smoke_v1_29 => docker_engine_v1_29, smoke_v1_30 => docker_engine_v1_30,
    smoke_v1_31 => docker_engine_v1_31, smoke_v1_32 => docker_engine_v1_32, smoke_v1_33 => docker_engine_v1_33,
    smoke_v1_34 => docker_engine_v1_34, smoke_v1_35 => docker_engine_v1_35, smoke_v1_36 => docker_engine_v1_36,
    smoke_v1_37 => docker_engine_v1_37, smoke_v1_38 => docker_engine_v1_38, smoke_v1_39 => docker_engine_v1_39,
    smoke_v1_40 => docker_engine_v1_40, smoke_v1_41 => docker_engine_v1_41,
}

/// Newer crates negotiate down to the daemon's version (and crates the daemon is newer than
/// keep their own) and still work; where the daemon is older than 1.42, the operation 1.42
/// added fails before anything is sent.
macro_rules! negotiation_tests {
    ($($name:ident => $krate:ident),* $(,)?) => {$(
        #[daemon_test]
        async fn $name() {
            let endpoint = daemon();
            let docker = $krate::Docker::with_client(Client::new(endpoint, $krate::API_VERSION).unwrap());
            let negotiated = daemon_tests::facts().negotiated($krate::API_VERSION);
            assert_eq!(docker.client().api_version().await.unwrap(), negotiated);
            docker.system().info().send().await.unwrap();
            docker.containers().list().all(true).send().await.unwrap();
            if docker_engine_runtime::compare_versions(&negotiated, "1.42") != std::cmp::Ordering::Less {
                return;
            }
            let missing = docker.volumes().update("any-volume", 0).send().await.unwrap_err();
            match &missing {
                Error::UnsupportedVersion { operation, version, .. } => {
                    assert_eq!((*operation, version.as_str()), ("VolumeUpdate", negotiated.as_str()));
                }
                other => panic!("expected UnsupportedVersion, got {other:?}"),
            }
            let expected = format!("not available in API version {negotiated}");
            assert!(missing.to_string().contains(&expected), "{missing}");
        }
    )*};
}

negotiation_tests! {
    negotiate_v1_42 => docker_engine_v1_42, negotiate_v1_43 => docker_engine_v1_43,
    negotiate_v1_44 => docker_engine_v1_44, negotiate_v1_45 => docker_engine_v1_45,
    negotiate_v1_46 => docker_engine_v1_46, negotiate_v1_47 => docker_engine_v1_47,
    negotiate_v1_48 => docker_engine_v1_48, negotiate_v1_49 => docker_engine_v1_49,
    negotiate_v1_50 => docker_engine_v1_50, negotiate_v1_51 => docker_engine_v1_51,
    negotiate_v1_52 => docker_engine_v1_52, negotiate_v1_53 => docker_engine_v1_53,
    negotiate_v1_54 => docker_engine_v1_54,
}

/// A pinned version is sent as is: one the daemon accepts answers, one below its minimum is
/// refused naming both. The minimum each server states: Docker before 25 accepts 1.12, Docker
/// 25 to 28 and Podman 1.24, Docker 29 1.40.
#[daemon_test]
async fn a_pinned_older_version_is_used_as_is() {
    let endpoint = daemon();
    let facts = daemon_tests::facts();
    let pinned = |version: &str| {
        let options = docker_engine_runtime::Options {
            version: docker_engine_runtime::VersionPolicy::Pinned(version.into()),
            ..Default::default()
        };
        let client = Client::with_options(endpoint.clone(), docker_engine_v1_41::API_VERSION, options).unwrap();
        docker_engine_v1_41::Docker::with_client(client)
    };
    let minimum = match (facts.server, facts.major()) {
        (daemon_tests::Server::Podman, _) => "1.24",
        (daemon_tests::Server::Docker, ..=24) => "1.12",
        (daemon_tests::Server::Docker, 25..=28) => "1.24",
        (daemon_tests::Server::Docker, _) => "1.40",
    };
    assert_eq!(facts.min_api_version, minimum, "{facts:?}");
    let docker = pinned(minimum);
    assert_eq!(docker.client().api_version().await.unwrap(), minimum);
    let version = docker.system().version().send().await.unwrap();
    assert_eq!(version.min_api_version.as_deref(), Some(minimum));
    // Podman answers older versions as its own; Docker refuses them.
    if facts.server == daemon_tests::Server::Docker && minimum != "1.12" {
        let below = pinned("1.12");
        assert_too_old(&below.system().version().send().await.unwrap_err(), "1.12");
    }
}

/// 1.25–1.27 name the archive HEAD request ContainerArchiveHead; its answer is the same header,
/// and where the daemon no longer accepts 1.25, its refusal names the versions all the same.
#[daemon_test]
async fn archive_head_reads_the_path_stat_in_v1_25() {
    let endpoint = daemon();
    let docker =
        docker_engine_v1_25::Docker::with_client(Client::new(endpoint, docker_engine_v1_25::API_VERSION).unwrap());
    let current = daemon_tests::docker();
    let container = daemon_tests::TestContainer::new("head", "true").create(&current).await;
    let head = docker
        .containers()
        .archive_head(&container.id, "/bin/busybox")
        .send()
        .await;
    // A daemon whose minimum is above 1.25 answers HEAD with a bare 400; the client asks its
    // minimum to say why.
    if !daemon_tests::facts().accepts(docker_engine_v1_25::API_VERSION) {
        assert_too_old(&head.unwrap_err(), docker_engine_v1_25::API_VERSION);
        return;
    }
    let stat = head.unwrap();
    assert_eq!(stat.name, "busybox");
    assert!(stat.size > 100_000, "{stat:?}");
}
