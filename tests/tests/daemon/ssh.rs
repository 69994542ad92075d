//! `ssh://` endpoints against the sshd the test script starts, whose sessions reach the test
//! daemon through `docker system dial-stdio`: the transport suite, a context, each failure with
//! what ssh said, and no ssh process left once the client is gone.

use daemon_test_macros::daemon_test;
use std::time::Duration;

use daemon_tests::{
    companion_variable, context_config, docker_at, exec_to_the_end, ssh_dir, ssh_endpoint, ssh_target, transport_smoke,
    unique_name, TestContainer,
};
use docker_engine_runtime::{tar_files, Body, Endpoint, Environment, Error};
use docker_engine_v1_41::Docker;
use futures_util::StreamExt;

fn over_ssh() -> Docker {
    docker_at(ssh_endpoint("daemon", &[])).unwrap()
}

#[daemon_test]
async fn smoke_over_ssh() {
    let docker = over_ssh();
    transport_smoke(&docker).await;
}

/// Streams of every kind, and bodies large enough to need many reads and writes of the pipe.
#[daemon_test]
async fn streams_uploads_and_an_export_over_ssh() {
    let docker = over_ssh();
    let container = TestContainer::new("ssh-streams", "echo out; echo err >&2; exec sleep 300")
        .start(&docker)
        .await;
    let id = container.id.clone();

    let upload: Vec<u8> = (0..10 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    let archive = tar_files([("upload.bin", upload.as_slice())]).unwrap();
    docker
        .containers()
        .put_archive(&id, "/tmp", Body::from(archive))
        .send()
        .await
        .unwrap();
    let back = docker
        .containers()
        .archive(&id, "/tmp/upload.bin")
        .send()
        .await
        .unwrap();
    let back = back.read_all().await.unwrap();
    let mut entries = tar::Archive::new(back.as_slice());
    let mut entry = entries.entries().unwrap().next().unwrap().unwrap();
    let mut downloaded = Vec::new();
    std::io::Read::read_to_end(&mut entry, &mut downloaded).unwrap();
    assert!(downloaded == upload, "10 MiB up and back down, byte for byte");

    let (stdout, stderr) = docker
        .containers()
        .logs(&id)
        .stdout(true)
        .stderr(true)
        .send()
        .await
        .unwrap()
        .read_all()
        .await
        .unwrap();
    assert_eq!((stdout.as_slice(), stderr.as_slice()), (&b"out\n"[..], &b"err\n"[..]));

    exec_to_the_end(
        &docker,
        &id,
        &["dd", "if=/dev/zero", "of=/big", "bs=1048576", "count=100"],
    )
    .await;
    let mut export = docker.containers().export(&id).send().await.unwrap();
    let mut exported = 0usize;
    let read = async {
        while let Some(chunk) = export.next().await {
            exported += chunk.unwrap().len();
        }
    };
    tokio::time::timeout(Duration::from_secs(120), read)
        .await
        .expect("the export ends");
    assert!(exported > 100 * 1024 * 1024, "{exported} bytes exported");

    let mut stats = docker.containers().stats(&id).stream(true).send().await.unwrap();
    for _ in 0..2 {
        let sample = tokio::time::timeout(Duration::from_secs(30), stats.next())
            .await
            .unwrap();
        assert!(sample.unwrap().unwrap().read.is_some());
    }
    drop(container);
}

/// A context whose host is `ssh://`, as `docker context create --docker host=ssh://...` makes.
#[daemon_test]
async fn a_context_with_an_ssh_host() {
    let name = "over-ssh";
    let config_dir = context_config(name, &companion_variable("DOCKER_TEST_SSH_HOST"));
    let environment = Environment {
        docker_config: Some(config_dir.clone()),
        docker_context: Some(name.into()),
        ..Default::default()
    };
    let Endpoint::Ssh(target) = environment.endpoint().unwrap() else {
        panic!("the context's host is ssh://")
    };
    assert_eq!(target, ssh_target());
    // The context's target, with the run's ssh configuration and key.
    let docker = docker_at(ssh_endpoint("daemon", &[])).unwrap();
    assert_eq!(docker.system().ping().send().await.unwrap(), "OK");
    assert_eq!(docker.client().api_version().await.unwrap(), "1.41");
    std::fs::remove_dir_all(config_dir).unwrap();
}

/// What a ping through `endpoint` fails with.
async fn ping_error(endpoint: Endpoint) -> String {
    let docker = docker_at(endpoint).unwrap();
    let error = tokio::time::timeout(Duration::from_secs(60), docker.system().ping().send())
        .await
        .expect("an ssh failure is reported, not waited on")
        .expect_err("this connection must fail");
    assert!(matches!(error, Error::Connect { .. }), "{error:?}");
    error.to_string()
}

#[daemon_test]
async fn each_ssh_failure_says_what_ssh_said() {
    let empty_known_hosts = format!("UserKnownHostsFile={}", ssh_dir().join("known_hosts.empty").display());
    let cases = [
        (
            ssh_endpoint("daemon", &["-o", &empty_known_hosts]),
            "Host key verification failed",
        ),
        (ssh_endpoint("stranger", &[]), "Permission denied"),
        (ssh_endpoint("no-docker", &[]), "docker: command not found"),
        (
            ssh_endpoint("daemon-down", &[]),
            "no-daemon.sock: connect: no such file",
        ),
    ];
    for (endpoint, words) in cases {
        let error = ping_error(endpoint).await;
        assert!(error.contains(words) && error.contains("ssh to "), "{words}: {error}");
    }
}

/// The pids of the ssh processes whose command line holds `marker`.
fn ssh_processes(marker: &str) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| {
            let pid: u32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            String::from_utf8_lossy(&cmdline).contains(marker).then_some(pid)
        })
        .collect()
}

/// Each pooled connection is one ssh process; all of them end, and are reaped, when the client
/// is dropped.
#[daemon_test]
async fn no_ssh_process_outlives_the_client() {
    // A harmless option naming this test, to find its processes among the others'.
    let marker = format!("SendEnv=DCT_{}", unique_name("ssh-marker").replace('-', "_"));
    let docker = docker_at(ssh_endpoint("daemon", &["-o", &marker])).unwrap();
    let pings = (0..3).map(|_| docker.containers().list().all(true).send());
    for listed in futures_util::future::join_all(pings).await {
        listed.unwrap();
    }
    let running = ssh_processes(&marker);
    assert!(!running.is_empty() && running.len() <= 4, "{running:?}");
    drop(docker);
    let mut left = running.clone();
    for _ in 0..50 {
        left.retain(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists());
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        left.is_empty(),
        "ssh processes {left:?} of {running:?} outlived the client (or were not reaped)"
    );
}

/// An ssh that never gets through (here a proxy command that only waits) is cut at the
/// client's connect timeout, and its process ended with it.
#[daemon_test]
async fn a_stalled_ssh_is_cut_at_the_connect_timeout() {
    let marker = format!("SendEnv=DCT_{}", unique_name("ssh-stalled").replace('-', "_"));
    let endpoint = ssh_endpoint("daemon", &["-o", "ProxyCommand=sleep 60", "-o", &marker]);
    let options = docker_engine_runtime::Options {
        connect_timeout: Duration::from_secs(2),
        ..Default::default()
    };
    let client =
        docker_engine_runtime::Client::with_options(endpoint, docker_engine_v1_41::API_VERSION, options).unwrap();
    let started = std::time::Instant::now();
    let error = Docker::with_client(client).system().ping().send().await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    assert!(matches!(error, Error::Connect { .. }), "{error:?}");
    assert!(error.to_string().contains("no connection within 2s"), "{error}");
    for _ in 0..50 {
        if ssh_processes(&marker).is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "the stalled ssh outlived its connect timeout: {:?}",
        ssh_processes(&marker)
    );
}
