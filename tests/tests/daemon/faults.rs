//! Faults between client and daemon: cut, stalled, trickled, split and reset connections, and
//! answers no daemon should give. Each ends in a typed error within the timeout or in the right
//! result; nothing hangs, nothing delivered before a cut is lost, and the pool recovers.

use daemon_test_macros::daemon_test;
use std::time::{Duration, Instant};

use daemon_tests::faults::{Fault, FaultyProxy};
use daemon_tests::{busybox_image, daemon, docker, TestContainer};
use docker_engine_runtime::{tar_files, Body, Client, Error, Options, Output, VersionPolicy};
use docker_engine_v1_41::Docker;
use futures_util::StreamExt;

const TIMEOUT: Duration = Duration::from_secs(3);

/// A proxy in front of the test daemon, and a client straight to the daemon for setting up.
async fn proxy_and_direct_client() -> (FaultyProxy, Docker) {
    (FaultyProxy::start(&daemon()).await, docker())
}

/// A client through `proxy` with a short request timeout and nothing pooled yet, so its next
/// request meets the proxy's current fault.
fn through(proxy: &FaultyProxy) -> Docker {
    let options = Options {
        request_timeout: Some(TIMEOUT),
        version: VersionPolicy::Pinned("1.41".into()),
        ..Default::default()
    };
    let client = Client::with_options(proxy.endpoint.clone(), docker_engine_v1_41::API_VERSION, options).unwrap();
    Docker::with_client(client)
}

/// The faulted connection is not reused: the same client's next request succeeds on a new one.
async fn assert_recovers(proxy: &FaultyProxy, docker: &Docker) {
    proxy.set(Fault::Pass);
    let before = proxy.connections();
    let version = docker
        .system()
        .version()
        .send()
        .await
        .expect("the next request succeeds");
    let daemon_version = daemon_tests::facts().api_version.as_str();
    assert_eq!(version.api_version.as_deref(), Some(daemon_version));
    assert!(proxy.connections() > before, "the request went over a new connection");
}

/// A container that has printed `lines` numbered lines and exited.
async fn finished_printer(docker: &Docker, lines: usize) -> daemon_tests::ContainerGuard {
    let container = TestContainer::new("printer", &format!("seq 1 {lines}"))
        .start(docker)
        .await;
    docker.containers().wait(&container.id).send().await.unwrap();
    container
}

fn numbered_lines(lines: usize) -> String {
    (1..=lines).map(|n| format!("{n}\n")).collect()
}

/// The stdout payload in a cut HTTP/1.1 response carrying a chunked multiplexed log: an
/// independent reading of the bytes the proxy forwarded, partial chunk and frame included.
fn stdout_in_wire_bytes(wire: &[u8]) -> Vec<u8> {
    let head_end = wire
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("the head arrived")
        + 4;
    let head = String::from_utf8_lossy(&wire[..head_end]).to_lowercase();
    assert!(head.contains("transfer-encoding: chunked"), "{head}");
    let (mut body, mut rest) = (Vec::new(), &wire[head_end..]);
    while let Some(line_end) = rest.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(std::str::from_utf8(&rest[..line_end]).unwrap(), 16).unwrap();
        let data = &rest[line_end + 2..];
        body.extend_from_slice(&data[..size.min(data.len())]);
        rest = data.get(size + 2..).unwrap_or_default();
    }
    let (mut stdout, mut frames) = (Vec::new(), &body[..]);
    while frames.len() > 8 {
        let length = u32::from_be_bytes(frames[4..8].try_into().unwrap()) as usize;
        let end = (8 + length).min(frames.len());
        stdout.extend_from_slice(&frames[8..end]);
        frames = &frames[end..];
    }
    stdout
}

fn canned(head: &str, body: &str) -> Fault {
    Fault::Canned(
        format!(
            "{head}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

#[daemon_test]
async fn a_log_stream_cut_mid_frame_is_truncated_after_every_byte_before_the_cut() {
    let (proxy, direct) = proxy_and_direct_client().await;
    let container = finished_printer(&direct, 20_000).await;
    let expected = numbered_lines(20_000);

    proxy.set(Fault::CloseAfter(40_000));
    let docker = through(&proxy);
    let mut logs = docker
        .containers()
        .logs(&container.id)
        .stdout(true)
        .send()
        .await
        .unwrap();
    let mut received = Vec::new();
    let error = loop {
        match logs.next().await {
            Some(Ok(Output::StdOut(bytes))) => received.extend_from_slice(&bytes),
            Some(Ok(other)) => panic!("unexpected output {other:?}"),
            Some(Err(error)) => break error,
            None => panic!("a cut stream ended as if complete after {} bytes", received.len()),
        }
    };
    assert!(
        matches!(error, Error::Truncated { .. } | Error::Transport { .. }),
        "{error}"
    );
    let received = String::from_utf8(received).unwrap();
    assert!(expected.starts_with(&received), "delivered bytes differ from the log");
    let on_the_wire = stdout_in_wire_bytes(&proxy.forwarded_before_cut());
    assert_eq!(
        received.len(),
        on_the_wire.len(),
        "every byte that arrived was delivered"
    );
    assert_recovers(&proxy, &docker).await;
}

#[daemon_test]
async fn a_json_stream_cut_mid_message_is_an_error_not_an_end() {
    let (proxy, direct) = proxy_and_direct_client().await;
    let base = busybox_image(&direct).await;
    let dockerfile = format!("FROM {base}\nRUN seq 1 3000\n");
    let context = tar_files([("Dockerfile", dockerfile.as_bytes())]).unwrap();

    proxy.set(Fault::CloseAfter(6_000));
    let docker = through(&proxy);
    let mut build = docker
        .images()
        .build()
        .rm(true)
        .body(Body::from(context))
        .send()
        .await
        .unwrap();
    let mut messages = 0;
    let error = loop {
        match build.next().await {
            Some(Ok(_)) => messages += 1,
            Some(Err(error)) => break error,
            None => panic!("a cut build stream ended as if complete after {messages} messages"),
        }
    };
    assert!(
        matches!(error, Error::Truncated { .. } | Error::Transport { .. }),
        "{error}"
    );
    assert!(messages > 0, "messages before the cut were delivered");
    assert_recovers(&proxy, &docker).await;
}

#[daemon_test]
async fn a_stalled_daemon_is_a_timeout_not_a_hang() {
    let (proxy, _) = proxy_and_direct_client().await;
    proxy.set(Fault::Stall);
    let docker = through(&proxy);
    let started = Instant::now();
    let error = docker.system().version().send().await.unwrap_err();
    assert!(matches!(error, Error::Timeout { .. }), "{error}");
    assert!(
        started.elapsed() < TIMEOUT + Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_recovers(&proxy, &docker).await;
}

#[daemon_test]
async fn a_connection_closed_before_or_during_the_head_is_a_transport_error() {
    let (proxy, _) = proxy_and_direct_client().await;
    for cut in [0, 30] {
        proxy.set(Fault::CloseAfter(cut));
        let docker = through(&proxy);
        let error = docker.system().version().send().await.unwrap_err();
        assert!(matches!(error, Error::Transport { .. }), "cut after {cut}: {error}");
        assert_recovers(&proxy, &docker).await;
    }
}

#[daemon_test]
async fn trickled_and_split_answers_decode_exactly() {
    let (proxy, direct) = proxy_and_direct_client().await;
    let container = finished_printer(&direct, 3_000).await;
    let expected = direct.system().version().send().await.unwrap();
    for fault in [Fault::Trickle, Fault::Split(7), Fault::Split(1_234_567)] {
        proxy.set(fault.clone());
        let docker = through(&proxy);
        let version = docker.system().version().send().await.unwrap();
        assert_eq!(
            (&version.version, &version.api_version),
            (&expected.version, &expected.api_version),
            "{fault:?}"
        );
        if matches!(fault, Fault::Split(_)) {
            let logs = docker
                .containers()
                .logs(&container.id)
                .stdout(true)
                .send()
                .await
                .unwrap();
            let (stdout, _) = logs.read_all().await.unwrap();
            assert_eq!(String::from_utf8(stdout).unwrap(), numbered_lines(3_000), "{fault:?}");
            let inspected = docker.containers().inspect(&container.id).send().await.unwrap();
            assert_eq!(inspected.id.as_deref(), Some(container.id.as_str()));
        }
    }
}

#[daemon_test]
async fn a_reset_during_a_hijacked_session_is_an_error() {
    let (proxy, direct) = proxy_and_direct_client().await;
    let container = TestContainer::new("hijack-reset", "while true; do echo tick; sleep 0.1; done")
        .start(&direct)
        .await;
    let docker = through(&proxy);
    let mut session = docker
        .containers()
        .attach(&container.id)
        .stream(true)
        .stdout(true)
        .send()
        .await
        .unwrap();
    let first = tokio::time::timeout(TIMEOUT, session.output.next())
        .await
        .expect("output arrives")
        .expect("the session is open")
        .unwrap();
    assert!(first.bytes().starts_with(b"tick"), "{first:?}");
    proxy.reset_all();
    let outcome = tokio::time::timeout(TIMEOUT, async {
        loop {
            match session.output.next().await {
                Some(Ok(_)) => continue,
                other => return other,
            }
        }
    })
    .await
    .expect("the reset ends the session within the timeout");
    match outcome {
        Some(Err(Error::Transport { .. } | Error::Truncated { .. })) => {}
        other => panic!("a reset session must end in an error, got {other:?}"),
    }
    direct.containers().kill(&container.id).send().await.unwrap();
    assert_recovers(&proxy, &docker).await;
}

#[daemon_test]
async fn answers_no_daemon_should_give_are_reported_with_status_and_body() {
    let (proxy, _) = proxy_and_direct_client().await;
    let docker = through(&proxy);
    proxy.set(canned(
        "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html",
        "<html><body><h1>502 Bad Gateway</h1></body></html>",
    ));
    match docker.containers().inspect("anything").send().await.unwrap_err() {
        Error::Daemon { status, message, .. } => {
            assert_eq!(status, 502);
            assert!(message.contains("502 Bad Gateway"), "{message}");
        }
        other => panic!("expected a daemon error, got {other:?}"),
    }

    proxy.set(canned(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json",
        "<html>not json</html>",
    ));
    match docker.containers().inspect("anything").send().await.unwrap_err() {
        Error::Decode { snippet, .. } => assert!(snippet.contains("not json"), "{snippet}"),
        other => panic!("expected a decode error, got {other:?}"),
    }

    proxy.set(canned("HTTP/1.1 418 I'm a teapot", ""));
    let error = docker.containers().inspect("anything").send().await.unwrap_err();
    assert!(matches!(error, Error::Daemon { status: 418, .. }), "{error}");

    proxy.set(Fault::Canned(b"SSH-2.0-OpenSSH_9.2\r\n".to_vec()));
    let error = docker.containers().inspect("anything").send().await.unwrap_err();
    assert!(matches!(error, Error::Transport { .. }), "{error}");
    assert_recovers(&proxy, &docker).await;
}

#[daemon_test]
async fn invalid_arguments_are_refused_before_any_request() {
    let (proxy, _) = proxy_and_direct_client().await;
    let docker = through(&proxy);
    for id in ["", ".", ".."] {
        let error = docker.containers().inspect(id).send().await.unwrap_err();
        assert!(matches!(error, Error::InvalidArgument { .. }), "{id:?}: {error}");
    }
    let error = docker.images().tag("").repo("x").send().await.unwrap_err();
    assert!(error.to_string().contains("`name`"), "{error}");
    assert_eq!(proxy.connections(), 0, "nothing was sent");
}
