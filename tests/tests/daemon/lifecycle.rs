//! Container lifecycle recipes: attach-then-start, top, changes, export, stats, signals, pause,
//! rename, update, archives, wait conditions, logs options, prune.

use daemon_test_macros::daemon_test;
use daemon_tests::{busybox_image, docker, unique_name, TestContainer};
use docker_engine_runtime::{tar_files, Body, Framing, Outcome, Output, OutputStream};
use docker_engine_v1_41::filters::ContainerPruneFilters;
use docker_engine_v1_41::models::{
    ContainerChangeResponseItem, ContainerCreateBody, ContainerUpdateBody, ContainerWaitCondition, HostConfig,
    PortBinding, RestartPolicy, RestartPolicyName,
};
use futures_util::StreamExt;

#[daemon_test]
async fn docker_run_recipe_attach_start_wait() {
    let docker = docker();
    let image = busybox_image(&docker).await;
    let volume = unique_name("runvol");
    let body = ContainerCreateBody {
        image: Some(image.into()),
        cmd: Some(vec![
            "sh".into(),
            "-c".into(),
            "echo to-out; echo to-err >&2; ls /data; exit 4".into(),
        ]),
        env: Some(vec!["MODE=test".into()]),
        labels: Some([("suite".to_owned(), "daemon-tests".to_owned())].into()),
        exposed_ports: Some([("8080/tcp".to_owned(), serde_json::json!({}))].into()),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        host_config: Some(HostConfig {
            port_bindings: Some(
                [(
                    "8080/tcp".to_owned(),
                    Some(vec![PortBinding {
                        host_ip: Some("127.0.0.1".into()),
                        host_port: Some("0".into()),
                    }]),
                )]
                .into(),
            ),
            binds: Some(vec![format!("{volume}:/data")]),
            ..Default::default()
        }),
        ..Default::default()
    };
    let id = docker
        .containers()
        .create(body)
        .name(unique_name("run"))
        .send()
        .await
        .unwrap()
        .id;
    let guard = daemon_tests::ContainerGuard { id: id.clone() };

    let session = docker
        .containers()
        .attach(&id)
        .stream(true)
        .stdout(true)
        .stderr(true)
        .send()
        .await
        .unwrap();
    docker.containers().start(&id).send().await.unwrap();
    let (stdout, stderr) = session.output.read_all().await.unwrap();
    assert_eq!(String::from_utf8_lossy(&stdout), "to-out\n");
    assert_eq!(String::from_utf8_lossy(&stderr), "to-err\n");
    let waited = docker.containers().wait(&id).send().await.unwrap();
    assert_eq!(waited.status_code, 4);

    let inspected = docker.containers().inspect(&id).send().await.unwrap();
    let mounts = inspected.mounts.unwrap_or_default();
    assert!(
        mounts.iter().any(|m| m.name.as_deref() == Some(volume.as_str())),
        "{mounts:?}"
    );
    drop(guard);
    docker.volumes().delete(&volume).send().await.unwrap();
}

#[daemon_test]
async fn top_changes_export_and_stats_of_a_running_container() {
    let docker = docker();
    let container = TestContainer::new("obs", "echo changed > /tmp/marker; exec sleep 60")
        .start(&docker)
        .await;
    let id = &container.id;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    let top = docker.containers().top(id).send().await.unwrap();
    let processes = top.processes.unwrap_or_default();
    assert!(
        processes.iter().flatten().any(|cell| cell.contains("sleep")),
        "{processes:?}"
    );

    let changes = docker.containers().changes(id).send().await.unwrap();
    assert!(changes.iter().any(|c| c.path == "/tmp/marker"), "{changes:?}");

    let exported = docker
        .containers()
        .export(id)
        .send()
        .await
        .unwrap()
        .read_all()
        .await
        .unwrap();
    let mut archive = tar::Archive::new(exported.as_slice());
    assert!(archive
        .entries()
        .unwrap()
        .any(|e| e.unwrap().path().unwrap().to_string_lossy() == "bin/busybox"));

    let mut one_shot = docker.containers().stats(id).stream(false).send().await.unwrap();
    let stats = one_shot.next().await.expect("one stats object").unwrap();
    // The typed model (defined by 1.48's spec, imported into older crates) reads 20.10's stats.
    let cpu = stats.cpu_stats.expect("cpu_stats");
    assert!(cpu.cpu_usage.and_then(|u| u.total_usage).is_some());
    assert!(cpu.system_cpu_usage.is_some() && cpu.online_cpus.is_some());
    let memory = stats.memory_stats.expect("memory_stats");
    assert!(memory.usage.is_some() && memory.limit.is_some());
    assert!(stats.pids_stats.and_then(|p| p.current).is_some());
    assert!(stats.read.is_some());
    assert!(
        !stats.networks.unwrap_or_default().is_empty(),
        "a container on the bridge has eth0"
    );
    assert!(one_shot.next().await.is_none(), "stream=false sends exactly one object");

    let mut streaming = docker.containers().stats(id).send().await.unwrap();
    for _ in 0..2 {
        streaming.next().await.expect("stats keep coming").unwrap();
    }
    drop(streaming);
}

#[daemon_test]
async fn an_untouched_container_has_no_changes_in_any_state() {
    let docker = docker();
    let container = TestContainer::new("untouched", "sleep 30").create(&docker).await;
    let id = &container.id;
    // dockerd answers `null` for a container whose filesystem is unchanged; that reads as none.
    assert_eq!(docker.containers().changes(id).send().await.unwrap(), vec![]);
    docker.containers().start(id).send().await.unwrap();
    docker.containers().pause(id).send().await.unwrap();
    let paused = docker.containers().inspect(id).send().await.unwrap().state.unwrap();
    assert_eq!(paused.paused, Some(true));
    // Podman, starting a container, makes the mount points of /etc/hosts and /etc/resolv.conf
    // in its filesystem: /etc is reported changed.
    let after_start = match daemon_tests::server() {
        daemon_tests::Server::Docker => vec![],
        daemon_tests::Server::Podman => vec![ContainerChangeResponseItem {
            path: "/etc".into(),
            kind: 0,
        }],
    };
    assert_eq!(docker.containers().changes(id).send().await.unwrap(), after_start);
    let top = docker.containers().top(id).send().await.unwrap();
    let listed = !top.processes.unwrap_or_default().is_empty();
    // Docker lists a paused container's processes; Podman 4.3 lists none.
    assert_eq!(listed, daemon_tests::server() == daemon_tests::Server::Docker);
    docker.containers().unpause(id).send().await.unwrap();
    docker.containers().kill(id).send().await.unwrap();
    docker.containers().wait(id).send().await.unwrap();
    assert_eq!(docker.containers().changes(id).send().await.unwrap(), after_start);
}

#[daemon_test]
async fn stop_restart_kill_pause_rename_and_update() {
    let docker = docker();
    let container = TestContainer::new("ctl", "trap 'exit 42' USR1; while true; do sleep 0.1; done")
        .create(&docker)
        .await;
    let id = &container.id;
    let containers = docker.containers();
    assert_eq!(containers.start(id).send().await.unwrap(), Outcome::Done);
    let again = containers.start(id).send().await;
    assert_eq!(
        again.unwrap(),
        Outcome::AlreadyDone,
        "starting a running container answers 304: already started"
    );

    containers.pause(id).send().await.unwrap();
    let state = containers.inspect(id).send().await.unwrap().state.unwrap();
    assert_eq!(state.paused, Some(true));
    containers.unpause(id).send().await.unwrap();

    let new_name = unique_name("renamed");
    containers.rename(id, &new_name).send().await.unwrap();
    let inspected = containers.inspect(&new_name).send().await.unwrap();
    assert_eq!(inspected.name.as_deref(), Some(format!("/{new_name}").as_str()));

    let policy = RestartPolicy {
        name: Some(RestartPolicyName::OnFailure),
        maximum_retry_count: Some(2),
    };
    let update = ContainerUpdateBody {
        restart_policy: Some(policy.clone()),
        ..Default::default()
    };
    let updated = containers.update(id, update).send().await;
    if !daemon_tests::unimplemented_on_podman(&updated) {
        updated.unwrap();
        let applied = containers
            .inspect(id)
            .send()
            .await
            .unwrap()
            .host_config
            .unwrap()
            .restart_policy;
        assert_eq!(applied, Some(policy));
    }

    let stopped = tokio::spawn(containers.wait(id).send());
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    containers.kill(id).signal("SIGUSR1").send().await.unwrap();
    assert_eq!(stopped.await.unwrap().unwrap().status_code, 42);

    containers.restart(id).t(1).send().await.unwrap();
    assert_eq!(
        containers.inspect(id).send().await.unwrap().state.unwrap().running,
        Some(true)
    );
    containers.stop(id).t(1).send().await.unwrap();
    assert_eq!(
        containers.inspect(id).send().await.unwrap().state.unwrap().running,
        Some(false)
    );
}

#[daemon_test]
async fn archives_go_in_and_come_out() {
    let docker = docker();
    let container = TestContainer::new("arch", "sleep 60").create(&docker).await;
    let id = &container.id;
    let upload = tar_files([("hello.txt", b"hello archive\n")]).unwrap();
    docker
        .containers()
        .put_archive(id, "/tmp", Body::from(upload))
        .send()
        .await
        .unwrap();

    let downloaded = docker
        .containers()
        .archive(id, "/tmp/hello.txt")
        .send()
        .await
        .unwrap()
        .read_all()
        .await
        .unwrap();
    let mut archive = tar::Archive::new(downloaded.as_slice());
    let mut entry = archive.entries().unwrap().next().unwrap().unwrap();
    let mut content = String::new();
    std::io::Read::read_to_string(&mut entry, &mut content).unwrap();
    assert_eq!(content, "hello archive\n");

    let stat = docker
        .containers()
        .archive_info(id, "/tmp/hello.txt")
        .send()
        .await
        .unwrap();
    assert_eq!((stat.name.as_str(), stat.size, stat.is_dir()), ("hello.txt", 14, false));
    let directory = docker.containers().archive_info(id, "/tmp").send().await.unwrap();
    assert!(directory.is_dir(), "{directory:?}");
    let missing = docker
        .containers()
        .archive_info(id, "/no/such/file")
        .send()
        .await
        .unwrap_err();
    assert!(missing.is_not_found(), "{missing}");
}

#[daemon_test]
async fn wait_conditions_and_log_options() {
    let docker = docker();
    let container = TestContainer::new("logs", "for i in 1 2 3 4 5; do echo line$i; done")
        .create(&docker)
        .await;
    let id = &container.id;
    let next_exit = docker
        .containers()
        .wait(id)
        .condition(ContainerWaitCondition::NextExit)
        .send();
    let waiter = tokio::spawn(next_exit);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    docker.containers().start(id).send().await.unwrap();
    assert_eq!(waiter.await.unwrap().unwrap().status_code, 0);

    let tail = docker
        .containers()
        .logs(id)
        .stdout(true)
        .tail("2")
        .send()
        .await
        .unwrap();
    let (stdout, _) = tail.read_all().await.unwrap();
    assert_eq!(String::from_utf8_lossy(&stdout), "line4\nline5\n");

    let mut stamped = docker
        .containers()
        .logs(id)
        .stdout(true)
        .timestamps(true)
        .send()
        .await
        .unwrap();
    let first = stamped.next().await.unwrap().unwrap();
    assert!(
        matches!(&first, Output::StdOut(line) if line.ends_with(b" line1\n") && line[0].is_ascii_digit()),
        "{first:?}"
    );

    let future = docker
        .containers()
        .logs(id)
        .stdout(true)
        .since(i64::MAX / 2)
        .send()
        .await
        .unwrap();
    assert_eq!(future.read_all().await.unwrap().0, b"");
}

/// Attach and logs of a TTY container, read without saying it has one: before API 1.42 a
/// daemon sends raw and multiplexed output under one Content-Type, and the first bytes tell.
#[daemon_test]
async fn tty_output_is_read_raw_without_a_hint() {
    let docker = docker();
    let container = TestContainer::new("tty", "echo from a tty").tty().create(&docker).await;
    let id = container.id.clone();
    let attached = docker
        .containers()
        .attach(&id)
        .stream(true)
        .stdout(true)
        .stderr(true)
        .send()
        .await
        .unwrap();
    docker.containers().start(&id).send().await.unwrap();
    assert_eq!(console_of(attached.output).await, "from a tty\r\n");
    docker.containers().wait(&id).send().await.unwrap();
    let logs = docker
        .containers()
        .logs(&id)
        .stdout(true)
        .stderr(true)
        .send()
        .await
        .unwrap();
    assert_eq!(console_of(logs).await, "from a tty\r\n");
}

/// Every byte of a TTY's output, which must be read raw.
async fn console_of(mut output: OutputStream) -> String {
    let mut console = Vec::new();
    while let Some(piece) = output.next().await {
        match piece.unwrap() {
            Output::Console(bytes) => console.extend_from_slice(&bytes),
            other => panic!("a TTY's output read as frames: {other:?}"),
        }
    }
    assert_eq!(output.framing(), Framing::Raw);
    String::from_utf8_lossy(&console).into_owned()
}

#[daemon_test]
async fn prune_removes_stopped_containers_matching_a_label() {
    let docker = docker();
    let label = unique_name("prunable");
    // The prune removes it; its guard finds it gone.
    let container = TestContainer::new("prunable", "true")
        .label(&label, "yes")
        .create(&docker)
        .await;
    let id = container.id.clone();
    let report = docker
        .containers()
        .prune()
        .filters(ContainerPruneFilters::new().label(&label))
        .send()
        .await
        .unwrap();
    assert_eq!(report.containers_deleted, Some(vec![id]));
}
