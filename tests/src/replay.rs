//! Each daemon test's exchanges, recorded against the test daemon and replayed without one.
//!
//! `#[daemon_test]` runs its test inside a [`TestSession`]. With `DOCKER_TEST_RECORD_DIR` set,
//! the test's clients (those [`crate::daemon`] and [`crate::docker`] give on the test's thread)
//! reach the daemon through a recorder writing `<dir>/<test>.jsonl`. Without `DOCKER_TEST_HOST`,
//! they reach a fake daemon replaying `tests/replays/<test>.jsonl`, and the test fails when it
//! sends a request the recording does not hold or leaves one it holds unasked.
//! `scripts/test-with-daemon.sh --record` makes the recordings and keeps those that replay.
//! Otherwise a session does nothing.
//!
//! A recording holds only what the test itself sent: the busybox image is imported beforehand
//! (and taken as there in a replay), containers left by a guard are removed outside it, and the
//! names the test makes are the same on every run.

use std::cell::RefCell;
use std::future::Future;
use std::path::PathBuf;

use docker_engine_runtime::mock::Recorder;
use docker_engine_runtime::Endpoint;
use docker_engine_v1_41::mock::MockDaemon;
use futures_util::FutureExt;

/// The command that records the tests again, named by every replay that fails.
pub const RECORD_COMMAND: &str = "scripts/test-with-daemon.sh --record";

/// What the daemon tests of this process talk to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// The daemon of `DOCKER_TEST_HOST`.
    Live,
    /// The daemon of `DOCKER_TEST_HOST`, each test's exchanges recorded in this folder.
    Recording(PathBuf),
    /// No daemon: each test's exchanges replayed from this folder (`DOCKER_TEST_REPLAY_DIR`,
    /// or `tests/replays/`).
    Replaying(PathBuf),
}

pub fn mode() -> Mode {
    let set = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty());
    match (set("DOCKER_TEST_HOST"), set("DOCKER_TEST_RECORD_DIR")) {
        (Some(_), Some(dir)) => Mode::Recording(dir.into()),
        (Some(_), None) => Mode::Live,
        (None, _) => Mode::Replaying(set("DOCKER_TEST_REPLAY_DIR").map_or_else(committed_recordings, PathBuf::from)),
    }
}

/// The folder of the recordings committed with the tests.
pub fn committed_recordings() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/replays"))
}

/// The session of the test running on this thread, if it records or replays.
struct Active {
    test: &'static str,
    host: String,
    names_made: u32,
}

thread_local! {
    static ACTIVE: RefCell<Option<Active>> = const { RefCell::new(None) };
}

/// Where this thread's test reaches its daemon when it records or replays (`unix://...`).
pub(crate) fn session_host() -> Option<String> {
    ACTIVE.with(|active| active.borrow().as_ref().map(|active| active.host.clone()))
}

/// A name for an object a test makes that is the same on every run of the test (so a replay
/// sees the requests recorded), unique among the tests; `None` outside a recording or replay.
pub(crate) fn session_name(prefix: &str) -> Option<String> {
    ACTIVE.with(|active| {
        let mut active = active.borrow_mut();
        let active = active.as_mut()?;
        active.names_made += 1;
        Some(format!("dct-{prefix}-{:08x}-{}", fnv1a(active.test), active.names_made))
    })
}

/// FNV-1a, 32 bits: a short, stable tag of a test's name.
fn fnv1a(text: &str) -> u32 {
    text.bytes().fold(0x811c_9dc5, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    })
}

/// One daemon test's recording or replay, from its first request to its end.
pub struct TestSession {
    test: &'static str,
    kind: Kind,
}

enum Kind {
    Live,
    /// Held until the test ends, so the recording holds everything the test sent.
    Recording {
        _recorder: Recorder,
    },
    Replaying {
        daemon: MockDaemon,
        file: PathBuf,
    },
}

impl TestSession {
    pub async fn begin(test: &'static str) -> TestSession {
        let kind = match mode() {
            Mode::Live => Kind::Live,
            Mode::Recording(dir) => {
                // Imported outside the recording, once per process, as a replay takes it as there.
                crate::busybox_image(&crate::docker_at(crate::servers::live_daemon()).expect("client")).await;
                std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
                let file = dir.join(format!("{test}.jsonl"));
                let daemon = crate::servers::live_daemon();
                let recorder = on_servers(async move { Recorder::start(&daemon, &file).await })
                    .await
                    .unwrap_or_else(|e| panic!("recording {test}: {e}"));
                let Endpoint::Unix(socket) = recorder.endpoint() else {
                    unreachable!("a recorder listens on a Unix socket")
                };
                enter(test, format!("unix://{}", socket.display()));
                Kind::Recording { _recorder: recorder }
            }
            Mode::Replaying(dir) => return TestSession::replay(test, dir.join(format!("{test}.jsonl"))).await,
        };
        TestSession { test, kind }
    }

    /// A session whose clients reach a fake daemon replaying `file`.
    pub async fn replay(test: &'static str, file: PathBuf) -> TestSession {
        let recording = file.clone();
        let daemon = on_servers(async move { MockDaemon::replay(&recording).await })
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "{test} has no daemon (DOCKER_TEST_HOST is not set) and no recording to replay \
                 ({}: {e}); run it through scripts/test-with-daemon.sh",
                    file.display()
                )
            });
        enter(test, daemon.server().host());
        TestSession {
            test,
            kind: Kind::Replaying { daemon, file },
        }
    }

    /// Runs the test; a replay that differs from its recording fails it, naming the command
    /// that records it again.
    pub async fn run<T>(self, test: impl Future<Output = T>) -> T {
        let outcome = std::panic::AssertUnwindSafe(test).catch_unwind().await;
        ACTIVE.with(|active| active.borrow_mut().take());
        let Kind::Replaying { daemon, file } = self.kind else {
            return outcome.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        };
        let differences = on_servers(async move { daemon.server().replay_outcome().await }).await;
        let recording = file.display();
        match (outcome, differences) {
            (Ok(value), Ok(())) => value,
            (Ok(_), Err(differences)) => panic!(
                "{} passed but did not send what {recording} holds: {differences}\n\
                 if the change is meant, record the tests again: {RECORD_COMMAND}",
                self.test
            ),
            (Err(panic), differences) => {
                let message = panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("a panic without a message");
                panic!(
                    "{message}\n{} failed replaying {recording}{}\nif the client's requests changed on purpose, \
                     record the tests again: {RECORD_COMMAND}",
                    self.test,
                    differences.err().map(|d| format!(" ({d})")).unwrap_or_default()
                )
            }
        }
    }
}

/// The runtime the sessions' recorders and fake daemons run on: not the test's own, which a test
/// blocks while it waits for a program it started (an example) that talks to them.
fn on_servers<F>(future: F) -> impl Future<Output = F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    static SERVERS: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    let servers = SERVERS.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("replay-servers")
            .enable_all()
            .build()
            .expect("a runtime for the recorders and fake daemons")
    });
    let task = servers.spawn(future);
    async move {
        task.await
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic.into_panic()))
    }
}

fn enter(test: &'static str, host: String) {
    ACTIVE.with(|active| {
        *active.borrow_mut() = Some(Active {
            test,
            host,
            names_made: 0,
        })
    });
}

/// For a test that needs more than its recording holds (a server it starts, a program a machine
/// without the servers may lack): it fails in a replay, saying why, so `--record` keeps no
/// recording of it.
pub fn cannot_replay(because: &str) {
    if let Mode::Replaying(_) = mode() {
        panic!("this test {because}, so it cannot be replayed without the test servers");
    }
}

/// The daemon's `/version` answer saved with the recordings, which [`crate::facts`] reads in a
/// replay.
pub(crate) fn recorded_version() -> Vec<u8> {
    let Mode::Replaying(dir) = mode() else {
        unreachable!("only a replay reads the recorded version")
    };
    let file = dir.join("daemon-version.json");
    std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e} (made by {RECORD_COMMAND})", file.display()))
}
