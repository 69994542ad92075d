//! Scenarios several tests share: the transport smoke test, and an exec run to its end.

use docker_engine_v1_41::Docker;

use crate::busybox::TestContainer;

/// Ping, list, and an exec whose stdin is half-closed: proves requests, pooling and hijacking.
pub async fn transport_smoke(docker: &Docker) {
    use tokio::io::AsyncWriteExt;
    assert_eq!(docker.system().ping().send().await.unwrap(), "OK");
    for _ in 0..3 {
        docker.containers().list().all(true).send().await.unwrap();
    }
    let container = TestContainer::new("smoke", "sleep 30").start(docker).await;
    let id = container.id.clone();
    let exec = docker_engine_v1_41::models::ExecConfig {
        attach_stdin: Some(true),
        attach_stdout: Some(true),
        cmd: Some(vec!["cat".into()]),
        ..Default::default()
    };
    let exec_id = docker.exec().create(&id, exec).send().await.unwrap().id;
    let mut session = docker
        .exec()
        .start(&exec_id)
        .body(docker_engine_v1_41::models::ExecStartConfig::default())
        .send()
        .await
        .unwrap();
    session.input.write_all(b"echoed back").await.unwrap();
    session.input.shutdown().await.unwrap();
    let (stdout, _) = session.output.read_all().await.unwrap();
    assert_eq!(stdout, b"echoed back");
    docker.containers().delete(&id).force(true).send().await.unwrap();
}

/// Runs `command` in the running container `id` to its end, its output read and dropped; the
/// exec's id, for inspecting it.
pub async fn exec_to_the_end(docker: &Docker, id: &str, command: &[&str]) -> String {
    let exec = docker_engine_v1_41::models::ExecConfig {
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        cmd: Some(command.iter().map(|part| part.to_string()).collect()),
        ..Default::default()
    };
    let exec_id = docker.exec().create(id, exec).send().await.unwrap().id;
    let session = docker
        .exec()
        .start(&exec_id)
        .body(docker_engine_v1_41::models::ExecStartConfig::default())
        .send()
        .await
        .unwrap();
    session.output.read_all().await.unwrap();
    exec_id
}
