//! Every generated crate against the same daemon: crates up to the daemon's version (1.41) run
//! a smoke scenario at their own version; newer crates negotiate down to 1.41, and an
//! operation that 1.41 lacks fails with a clear error.

use daemon_tests::daemon;
use docker_engine_runtime::{Client, Error};

/// Ping, version, info, and listing and inspecting containers and images, with `$krate`.
macro_rules! smoke_tests {
    ($($name:ident => $krate:ident),* $(,)?) => {$(
        #[tokio::test]
        async fn $name() {
            let Some(endpoint) = daemon() else { return };
            let client = Client::new(endpoint, $krate::API_VERSION).unwrap();
            let docker = $krate::Docker::with_client(client);
            assert_eq!(docker.client().api_version().await.unwrap(), $krate::API_VERSION);
            assert_eq!(docker.system().ping().send().await.unwrap(), "OK");
            let version = docker.system().version().send().await.unwrap();
            assert_eq!(version.api_version.as_deref(), Some("1.41"));
            let info = docker.system().info().send().await.unwrap();
            assert!(info.id.is_some(), "{info:?}");
            let image = daemon_tests::busybox_image(&daemon_tests::docker().unwrap()).await;
            let images = docker.images().list().send().await.unwrap();
            assert!(!images.is_empty());
            docker.images().inspect(image).send().await.unwrap();
            docker.containers().list().all(true).send().await.unwrap();
            // A running container on the bridge, with an exec: ports, networks and exec ids set.
            let current = daemon_tests::docker().unwrap();
            let container = running_container_with_an_entrypoint(&current).await;
            let exec = docker_engine_v1_41::models::ExecConfig {
                cmd: Some(vec!["true".into()]),
                ..Default::default()
            };
            current.exec().container_exec(&container.id, exec).send().await.unwrap();
            let inspected = docker.containers().inspect(&container.id).send().await.unwrap();
            assert_eq!(inspected.id.as_deref(), Some(container.id.as_str()));
            assert_eq!(inspected.exec_i_ds.map(|ids| ids.len()), Some(1));
            let config = inspected.config.expect("an inspected container has its config");
            assert_eq!(config.entrypoint, Some(vec!["sh".to_owned(), "-c".to_owned()]));
            assert_eq!(config.cmd, Some(vec!["sleep 30".to_owned()]));
        }
    )*};
}

/// A started busybox container whose entrypoint and command are both set, so that inspecting
/// it shows how the daemon sends each (an array of strings, whatever older specs say).
async fn running_container_with_an_entrypoint(docker: &docker_engine_v1_41::Docker) -> daemon_tests::ContainerGuard {
    let body = docker_engine_v1_41::models::ContainerCreateBody {
        image: Some(daemon_tests::busybox_image(docker).await.into()),
        entrypoint: Some(vec!["sh".into(), "-c".into()]),
        cmd: Some(vec!["sleep 30".into()]),
        labels: Some([("suite".to_owned(), "daemon-tests".to_owned())].into()),
        ..Default::default()
    };
    let created = docker.containers().create(body).send().await.unwrap();
    let container = daemon_tests::ContainerGuard {
        id: created.id.unwrap(),
    };
    docker.containers().start(&container.id).send().await.unwrap();
    container
}

smoke_tests! {
    smoke_v1_25 => docker_engine_v1_25, smoke_v1_26 => docker_engine_v1_26, smoke_v1_27 => docker_engine_v1_27,
    smoke_v1_28 => docker_engine_v1_28, smoke_v1_29 => docker_engine_v1_29, smoke_v1_30 => docker_engine_v1_30,
    smoke_v1_31 => docker_engine_v1_31, smoke_v1_32 => docker_engine_v1_32, smoke_v1_33 => docker_engine_v1_33,
    smoke_v1_34 => docker_engine_v1_34, smoke_v1_35 => docker_engine_v1_35, smoke_v1_36 => docker_engine_v1_36,
    smoke_v1_37 => docker_engine_v1_37, smoke_v1_38 => docker_engine_v1_38, smoke_v1_39 => docker_engine_v1_39,
    smoke_v1_40 => docker_engine_v1_40, smoke_v1_41 => docker_engine_v1_41,
}

/// Newer crates negotiate down to the daemon's 1.41 and still work.
macro_rules! negotiation_tests {
    ($($name:ident => $krate:ident),* $(,)?) => {$(
        #[tokio::test]
        async fn $name() {
            let Some(endpoint) = daemon() else { return };
            let docker = $krate::Docker::with_client(Client::new(endpoint, $krate::API_VERSION).unwrap());
            assert_eq!(docker.client().api_version().await.unwrap(), "1.41");
            docker.system().info().send().await.unwrap();
            docker.containers().list().all(true).send().await.unwrap();
            let missing = docker.volumes().update("any-volume", 0).send().await.unwrap_err();
            match &missing {
                Error::UnsupportedVersion { operation, version, .. } => {
                    assert_eq!((*operation, version.as_str()), ("VolumeUpdate", "1.41"));
                }
                other => panic!("expected UnsupportedVersion, got {other:?}"),
            }
            assert!(missing.to_string().contains("not available in API version 1.41"), "{missing}");
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

#[tokio::test]
async fn a_pinned_older_version_is_used_as_is() {
    let Some(endpoint) = daemon() else { return };
    let options = docker_engine_runtime::Options {
        version: docker_engine_runtime::VersionPolicy::Pinned("1.30".into()),
        ..Default::default()
    };
    let client = Client::with_options(endpoint, docker_engine_v1_41::API_VERSION, options).unwrap();
    let docker = docker_engine_v1_41::Docker::with_client(client);
    assert_eq!(docker.client().api_version().await.unwrap(), "1.30");
    let version = docker.system().version().send().await.unwrap();
    let minimum = match daemon_tests::server() {
        daemon_tests::Server::Docker => "1.12",
        daemon_tests::Server::Podman => "1.24",
    };
    assert_eq!(version.min_api_version.as_deref(), Some(minimum));
}

/// 1.25–1.27 name the archive HEAD request ContainerArchiveHead; its answer is the same header.
#[tokio::test]
async fn archive_head_reads_the_path_stat_in_v1_25() {
    let Some(endpoint) = daemon() else { return };
    let docker =
        docker_engine_v1_25::Docker::with_client(Client::new(endpoint, docker_engine_v1_25::API_VERSION).unwrap());
    let current = daemon_tests::docker().unwrap();
    let container = daemon_tests::create_busybox(&current, "head", "true").await;
    let stat = docker
        .containers()
        .archive_head(&container.id, "/bin/busybox")
        .send()
        .await
        .unwrap();
    assert_eq!(stat.name, "busybox");
    assert!(stat.size > 100_000, "{stat:?}");
}
