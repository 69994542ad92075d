//! Container recipes against the real daemon through the v1.41 crate.

use daemon_test_macros::daemon_test;
use daemon_tests::{busybox_image, docker, unique_name, TestContainer};
use docker_engine_runtime::Error;
use docker_engine_v1_41::filters::{ContainerListFilters, ContainerListStatusFilter, ImageListFilters};
use docker_engine_v1_41::models::{ContainerCreateBody, ExecConfig, ExecStartConfig};
use std::time::Duration;

use tokio::io::AsyncWriteExt;

#[daemon_test]
async fn system_ping_version_and_info() {
    let docker = docker();
    assert_eq!(docker.system().ping().send().await.unwrap(), "OK");
    let version = docker.system().version().send().await.unwrap();
    assert!(
        version.api_version.as_deref().is_some_and(|v| !v.is_empty()),
        "{version:?}"
    );
    let info = docker.system().info().send().await.unwrap();
    assert!(info.ncpu.unwrap_or(0) >= 1, "{info:?}");
    assert_eq!(docker.client().api_version().await.unwrap(), "1.41");
    // The server is the one the test script says it started.
    let components = version.components.unwrap_or_default();
    let podman = components.iter().any(|c| c.name == "Podman Engine");
    assert_eq!(
        podman,
        daemon_tests::server() == daemon_tests::Server::Podman,
        "{components:?}"
    );
}

#[daemon_test]
async fn run_recipe_captures_output_and_exit_code() {
    let docker = docker();
    let image = busybox_image(&docker).await;
    let name = unique_name("run");
    let body = ContainerCreateBody {
        image: Some(image.into()),
        cmd: Some(vec![
            "sh".into(),
            "-c".into(),
            "echo hello $GREETING; echo oops >&2; exit 3".into(),
        ]),
        env: Some(vec!["GREETING=world".into()]),
        labels: Some([("suite".to_owned(), "daemon-tests".to_owned())].into()),
        ..Default::default()
    };
    let created = docker.containers().create(body).name(&name).send().await.unwrap();
    let id = created.id.clone();

    docker.containers().start(&id).send().await.unwrap();
    let waited = docker.containers().wait(&id).send().await.unwrap();
    assert_eq!(waited.status_code, 3);

    let logs = docker
        .containers()
        .logs(&id)
        .stdout(true)
        .stderr(true)
        .send()
        .await
        .unwrap();
    let (stdout, stderr) = logs.read_all().await.unwrap();
    assert_eq!(String::from_utf8_lossy(&stdout), "hello world\n");
    assert_eq!(String::from_utf8_lossy(&stderr), "oops\n");

    let listed = docker
        .containers()
        .list()
        .all(true)
        .filters(
            ContainerListFilters::new()
                .name(&name)
                .label_value("suite", "daemon-tests"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].id.as_deref(), Some(id.as_str()));

    let inspected = docker.containers().inspect(&id).send().await.unwrap();
    assert_eq!(inspected.state.and_then(|s| s.exit_code), Some(3));

    docker.containers().delete(&id).force(true).send().await.unwrap();
    let gone = docker.containers().inspect(&id).send().await.unwrap_err();
    assert!(gone.is_not_found(), "{gone}");
}

#[daemon_test]
async fn daemon_errors_carry_status_and_message() {
    let docker = docker();
    let error = docker
        .containers()
        .inspect("no-such-container-xyz")
        .send()
        .await
        .unwrap_err();
    assert!(error.is_not_found(), "{error}");
    match &error {
        Error::Daemon { operation, message, .. } => {
            assert_eq!(*operation, "ContainerInspect");
            assert!(message.contains("no-such-container-xyz"), "{message}");
        }
        other => panic!("expected a daemon error, got {other:?}"),
    }
}

#[daemon_test]
async fn exec_with_stdin_sees_eof_after_half_close() {
    let docker = docker();
    let container = TestContainer::new("exec", "sleep 30").start(&docker).await;
    let id = container.id.clone();

    let exec = ExecConfig {
        attach_stdin: Some(true),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        cmd: Some(vec!["sh".into(), "-c".into(), "wc -c; echo done >&2".into()]),
        ..Default::default()
    };
    let exec_id = docker.exec().create(&id, exec).send().await.unwrap().id;
    let mut session = docker
        .exec()
        .start(&exec_id)
        .body(ExecStartConfig::default())
        .send()
        .await
        .unwrap();
    session.input.write_all(b"twelve bytes").await.unwrap();
    session.input.shutdown().await.unwrap();
    let (stdout, stderr) = session.output.read_all().await.unwrap();
    assert_eq!(String::from_utf8_lossy(&stdout).trim(), "12");
    assert_eq!(String::from_utf8_lossy(&stderr), "done\n");

    let inspected = docker.exec().inspect(&exec_id).send().await.unwrap();
    assert_eq!(inspected.exit_code, Some(0));
    docker.containers().delete(&id).force(true).send().await.unwrap();
}

/// As bollard's exec example writes it: no start body. The crate sends `{}` (the override's
/// `default_body`), which dockerd 20.10 needs.
#[daemon_test]
async fn an_exec_started_without_a_body_runs() {
    let docker = docker();
    let container = TestContainer::new("exec-nobody", "sleep 30").start(&docker).await;
    let exec = ExecConfig {
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        cmd: Some(vec!["sh".into(), "-c".into(), "echo out; echo err >&2".into()]),
        ..Default::default()
    };
    let exec_id = docker.exec().create(&container.id, exec).send().await.unwrap().id;
    let session = docker.exec().start(&exec_id).send().await.unwrap();
    let (stdout, stderr) = session.output.read_all().await.unwrap();
    assert_eq!((&stdout[..], &stderr[..]), (&b"out\n"[..], &b"err\n"[..]));
}

#[daemon_test]
async fn image_list_filters_by_reference() {
    let docker = docker();
    let image = busybox_image(&docker).await;
    let images = docker
        .images()
        .list()
        .filters(ImageListFilters::new().reference(image))
        .send()
        .await
        .unwrap();
    assert_eq!(images.len(), 1, "{images:?}");
    let tags = images[0].repo_tags.clone();
    assert!(tags.contains(&daemon_tests::listed_name(image)), "{tags:?}");
    let inspected = docker.images().inspect(image).send().await.unwrap();
    assert_eq!(inspected.id.as_deref(), Some(images[0].id.as_str()));
}

#[daemon_test]
async fn list_with_limit_size_and_status_ancestor_exited_filters() {
    let docker = docker();
    let image = busybox_image(&docker).await;
    let label = unique_name("listing");
    let mut containers = Vec::new();
    for code in [0, 5] {
        let container = TestContainer::new("listing", &format!("exit {code}"))
            .label(&label, &code.to_string())
            .start(&docker)
            .await;
        daemon_tests::wait_until_listed_as_exited(&docker, &container.id).await;
        containers.push(container);
    }
    let ids: Vec<&str> = containers.iter().map(|container| container.id.as_str()).collect();
    let mine = || ContainerListFilters::new().label(&label);
    let exited = docker
        .containers()
        .list()
        .all(true)
        .filters(mine().status(ContainerListStatusFilter::Exited))
        .send()
        .await
        .unwrap();
    assert_eq!(exited.len(), 2);
    let failed = docker
        .containers()
        .list()
        .all(true)
        .filters(mine().exited(5))
        .send()
        .await
        .unwrap();
    assert_eq!(
        failed.iter().map(|c| c.id.clone().unwrap()).collect::<Vec<_>>(),
        vec![ids[1].to_owned()]
    );
    let by_image = docker
        .containers()
        .list()
        .all(true)
        // Podman's ancestor filter matches only the name as it lists it.
        .filters(mine().ancestor(daemon_tests::listed_name(image)))
        .send()
        .await
        .unwrap();
    assert_eq!(by_image.len(), 2);
    let running = docker.containers().list().filters(mine()).send().await.unwrap();
    assert!(
        running.is_empty(),
        "without all=true only running containers are listed"
    );
    let limited = docker
        .containers()
        .list()
        .all(true)
        .limit(1)
        .size(true)
        .filters(mine())
        .send()
        .await
        .unwrap();
    assert_eq!(limited.len(), 1);
    assert!(limited[0].size_root_fs.is_some(), "size=true reports sizes");
    for id in ids {
        docker.containers().delete(id).send().await.unwrap();
    }
}

#[daemon_test]
async fn follow_logs_as_they_are_written() {
    let docker = docker();
    let container = TestContainer::new("follow", "for i in 1 2 3; do echo tick$i; sleep 0.3; done")
        .start(&docker)
        .await;
    let mut logs = docker
        .containers()
        .logs(&container.id)
        .follow(true)
        .stdout(true)
        .send()
        .await
        .unwrap();
    let mut seen = String::new();
    while let Some(piece) = futures_util::StreamExt::next(&mut logs).await {
        seen.push_str(&String::from_utf8_lossy(piece.unwrap().bytes()));
    }
    assert_eq!(seen, "tick1\ntick2\ntick3\n", "follow ends when the container stops");
}

#[daemon_test]
async fn websocket_attach_carries_stdin_and_output() {
    let docker = docker();
    let container = TestContainer::new("websocket", "read line; echo got:$line; echo warned >&2")
        .with(|body| {
            body.open_stdin = Some(true);
            body.stdin_once = Some(true);
            body.attach_stdin = Some(true);
            body.attach_stdout = Some(true);
            body.attach_stderr = Some(true);
        })
        .create(&docker)
        .await;
    let attached = docker
        .containers()
        .attach_websocket(&container.id)
        .stdin(true)
        .stdout(true)
        .stderr(true)
        .stream(true)
        .send()
        .await;
    if daemon_tests::unimplemented_on_podman(&attached) {
        return;
    }
    let mut session = attached.unwrap();
    assert_eq!(
        session.output.framing(),
        docker_engine_runtime::Framing::Raw,
        "WebSocket output is never multiplexed"
    );
    docker.containers().start(&container.id).send().await.unwrap();
    session.input.write_all(b"hello\n").await.unwrap();
    session.input.flush().await.unwrap();
    let output = tokio::time::timeout(Duration::from_secs(30), session.output.read_all())
        .await
        .expect("the session ends when the container exits")
        .unwrap();
    let console = String::from_utf8_lossy(&output.0);
    assert!(
        console.contains("got:hello") && console.contains("warned"),
        "{console:?}"
    );
    let exit = docker.containers().wait(&container.id).send().await.unwrap();
    assert_eq!(exit.status_code, 0);
}
