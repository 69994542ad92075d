//! The rest of the v1.41 surface: TTY exec and resizing, commit, multi-image save, build cache
//! prune, HEAD ping, and the error paths of operations that need a registry or a plugin.

use daemon_test_macros::daemon_test;
use daemon_tests::{busybox_image, docker, unique_name, TestContainer};
use docker_engine_runtime::{Body, Error, Framing, Output, RegistryAuth};
use docker_engine_v1_41::models::{ExecConfig, ExecStartConfig};
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

#[daemon_test]
async fn tty_exec_is_raw_and_resizable_and_so_is_the_container() {
    let docker = docker();
    let container = TestContainer::new("ttyexec", "sleep 30").tty().start(&docker).await;
    let id = container.id.clone();
    docker.containers().resize(&id, 40, 100).send().await.unwrap();

    let exec = ExecConfig {
        attach_stdin: Some(true),
        attach_stdout: Some(true),
        tty: Some(true),
        cmd: Some(vec!["sh".into()]),
        ..Default::default()
    };
    let exec_id = docker.exec().create(&id, exec).send().await.unwrap().id;
    let start = ExecStartConfig {
        tty: Some(true),
        ..Default::default()
    };
    let mut session = docker.exec().start(&exec_id).body(start).send().await.unwrap();
    docker.exec().resize(&exec_id, 30, 90).send().await.unwrap();
    session.input.write_all(b"stty size; exit\n").await.unwrap();
    let mut console = Vec::new();
    while let Some(piece) = session.output.next().await {
        match piece.unwrap() {
            Output::Console(bytes) => console.extend_from_slice(&bytes),
            other => panic!("a TTY session is not multiplexed: {other:?}"),
        }
    }
    assert_eq!(
        session.output.framing(),
        Framing::Raw,
        "read from the first bytes, with no hint"
    );
    assert!(
        String::from_utf8_lossy(&console).contains("30 90"),
        "{}",
        String::from_utf8_lossy(&console)
    );
}

#[daemon_test]
async fn commit_a_container_into_an_image_and_save_several() {
    let docker = docker();
    let container = TestContainer::new("commit", "echo committed > /state")
        .start(&docker)
        .await;
    docker.containers().wait(&container.id).send().await.unwrap();
    let repo = unique_name("committed");
    let committed = docker
        .images()
        .commit()
        .container(&container.id)
        .repo(&repo)
        .tag("v1")
        .comment("made by a test")
        .send()
        .await
        .unwrap();
    let image = format!("{repo}:v1");
    let inspected = docker.images().inspect(&image).send().await.unwrap();
    let committed_id = committed.id;
    match daemon_tests::server() {
        daemon_tests::Server::Docker => assert_eq!(inspected.id, Some(committed_id)),
        // Podman answers the commit with the image id's hex digits, without `sha256:`.
        daemon_tests::Server::Podman => assert_eq!(inspected.id, Some(format!("sha256:{committed_id}"))),
    }
    assert_eq!(inspected.comment.as_deref(), Some("made by a test"));
    // Committed without a configuration (the crate sends `{}`): the container's own is kept.
    let command = inspected.config.and_then(|config| config.cmd);
    assert_eq!(
        command,
        Some(["sh", "-c", "echo committed > /state"].map(String::from).to_vec())
    );

    let base = busybox_image(&docker).await;
    let archive = docker
        .images()
        .get_all()
        .names([image.clone(), base.to_owned()])
        .send()
        .await
        .unwrap();
    let bytes = archive.read_all().await.unwrap();
    let mut tar = tar::Archive::new(bytes.as_slice());
    let manifest = tar
        .entries()
        .unwrap()
        .map(|e| e.unwrap())
        .find(|e| e.path().unwrap().ends_with("manifest.json"));
    let mut text = String::new();
    std::io::Read::read_to_string(&mut manifest.expect("manifest.json"), &mut text).unwrap();
    assert!(text.contains(&image) && text.contains(base), "{text}");
    docker.images().delete(&image).send().await.unwrap();
}

#[daemon_test]
async fn head_ping_and_build_cache_prune() {
    let docker = docker();
    docker.system().ping_head().send().await.unwrap();
    let pruned = docker.images().build_prune().all(true).send().await;
    if daemon_tests::unimplemented_on_podman(&pruned) {
        return;
    }
    assert!(pruned.unwrap().space_reclaimed.is_some());
}

#[daemon_test]
async fn push_without_a_registry_reports_the_failure_in_the_stream() {
    let docker = docker();
    let image = busybox_image(&docker).await;
    let target = format!("127.0.0.1:1/{}", unique_name("pushed"));
    docker.images().tag(image).repo(&target).tag("v1").send().await.unwrap();
    let auth = RegistryAuth::password("nobody", "nothing");
    let outcome = docker.images().push(&target, auth).tag("v1").send().await;
    let failure = match outcome {
        Err(error) => error,
        Ok(mut stream) => {
            let mut last = None;
            while let Some(item) = stream.next().await {
                if let Err(error) = item {
                    last = Some(error);
                }
            }
            last.expect("a push to a closed port fails")
        }
    };
    assert!(
        matches!(failure, Error::Stream { .. } | Error::Daemon { .. }),
        "{failure:?}"
    );
    docker.images().delete(format!("{target}:v1")).send().await.unwrap();
}

#[daemon_test]
async fn plugin_operations_report_missing_plugins_and_registries() {
    let docker = docker();
    let plugins = docker.plugins();
    let missing = "no-such-plugin:latest";
    if daemon_tests::unimplemented_on_podman(&plugins.inspect(missing).send().await) {
        return;
    }
    assert!(plugins.inspect(missing).send().await.unwrap_err().is_not_found());
    assert!(plugins.delete(missing).send().await.unwrap_err().is_not_found());
    assert!(plugins.enable(missing, 0).send().await.unwrap_err().is_not_found());
    assert!(plugins.disable(missing).send().await.unwrap_err().is_not_found());
    assert!(plugins
        .set(missing)
        .body(vec!["DEBUG=1".into()])
        .send()
        .await
        .unwrap_err()
        .is_not_found());
    assert!(plugins.push(missing).send().await.is_err());
    // This daemon answers an unreachable remote with no privileges rather than an error.
    let privileges = plugins.get_privileges("127.0.0.1:1/plugin").send().await.unwrap();
    assert!(privileges.is_empty(), "{privileges:?}");
    let pull = plugins.pull("127.0.0.1:1/plugin").send().await;
    assert!(pull.is_err() || drain_has_error(pull.unwrap()).await);
    let upgrade = plugins.upgrade(missing, "127.0.0.1:1/plugin").send().await;
    assert!(upgrade.is_err() || drain_has_error(upgrade.unwrap()).await);
    let bad_context = plugins
        .create(unique_name("plugin"))
        .body(Body::from(b"not a tar".to_vec()))
        .send()
        .await;
    assert!(bad_context.is_err(), "a plugin needs a rootfs and config.json");
}

async fn drain_has_error<T>(mut stream: docker_engine_runtime::JsonStream<T>) -> bool
where
    T: serde::de::DeserializeOwned,
{
    let mut failed = false;
    while let Some(item) = stream.next().await {
        failed |= item.is_err();
    }
    failed
}
