//! The daemon dies while streams are open: each stream ends with an error, never a clean end or
//! a hang, and the next request says the daemon cannot be reached. This test kills the test
//! daemon, so the normal run skips it; `scripts/test-with-daemon.sh` runs it last, with
//! `DOCKER_TEST_DAEMON_PID` naming the daemon it started.

use std::time::Duration;

use daemon_tests::{companion_variable, docker, TestContainer};
use docker_engine_runtime::{Error, Output};
use futures_util::{Stream, StreamExt};

const WAIT: Duration = Duration::from_secs(20);

/// Reads `stream` to its end; the error that ended it, or `None` for a clean end.
async fn ending<T, S>(stream: &mut S) -> Option<Error>
where
    S: Stream<Item = Result<T, Error>> + Unpin,
{
    let reading = async {
        while let Some(item) = stream.next().await {
            if let Err(error) = item {
                return Some(error);
            }
        }
        None
    };
    tokio::time::timeout(WAIT, reading)
        .await
        .unwrap_or_else(|_| panic!("the stream neither ended nor failed within {WAIT:?}"))
}

/// Waits until process `pid` has exited with all its threads, so its sockets are closed: gone,
/// or a zombie awaiting its parent with no thread left but the main one (which turns zombie
/// first, while the others, sharing the open files, are still on their way out).
async fn wait_for_exit(pid: &str) {
    let exited = async {
        loop {
            let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
                return;
            };
            let field = |name: &str| {
                status
                    .lines()
                    .find_map(|line| line.strip_prefix(name))
                    .map(|value| value.trim().to_owned())
            };
            let zombie = field("State:").is_some_and(|state| state.starts_with('Z') || state.starts_with('X'));
            if zombie && field("Threads:").as_deref() == Some("1") {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(WAIT, exited)
        .await
        .unwrap_or_else(|_| panic!("process {pid} was still running {WAIT:?} after SIGKILL"));
}

#[tokio::test]
#[ignore = "kills the test daemon: scripts/test-with-daemon.sh runs it after every other test"]
async fn open_streams_fail_and_requests_fail_to_connect_when_the_daemon_dies() {
    let docker = docker();
    let daemon_pid = companion_variable("DOCKER_TEST_DAEMON_PID");
    let container = TestContainer::new("dies", "while true; do echo tick; sleep 1; done")
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
    let first = tokio::time::timeout(WAIT, logs.next()).await.unwrap().unwrap().unwrap();
    assert_eq!(first, Output::StdOut("tick\n".into()));
    let mut events = docker.system().events().send().await.unwrap();

    let killed = std::process::Command::new("kill")
        .args(["-KILL", &daemon_pid])
        .status()
        .unwrap();
    assert!(killed.success(), "kill -KILL {daemon_pid}");

    for (stream, error) in [("logs", ending(&mut logs).await), ("events", ending(&mut events).await)] {
        let error = error.unwrap_or_else(|| panic!("the {stream} stream ended cleanly when the daemon died"));
        eprintln!("{stream}: {error}");
        assert!(matches!(error, Error::Truncated { .. }), "{stream}: {error:?}");
    }

    // A process killed with SIGKILL still holds its listening socket while the kernel tears it
    // down, and a connection accepted into that socket's backlog is then reset: asking before
    // the daemon has fully exited would test that race (seen in CI), not a daemon that is gone.
    wait_for_exit(&daemon_pid).await;
    let error = docker.system().ping().send().await.unwrap_err();
    eprintln!("ping: {error}");
    let Error::Connect { endpoint, .. } = &error else {
        panic!("expected a connection error, got {error:?}")
    };
    assert_eq!(endpoint, &companion_variable("DOCKER_TEST_HOST"));
}
