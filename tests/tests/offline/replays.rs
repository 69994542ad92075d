//! A daemon test's session replaying a recording: what matches passes, and a request the
//! recording does not hold, or one it holds that never comes, fails naming the command that
//! records the tests again.

use daemon_tests::replay::RECORD_COMMAND;
use daemon_tests::{docker, unique_name, TestSession};
use futures_util::FutureExt;

/// A recording of the version negotiation's ping and one container list, as `--record` writes it.
fn recording(test: &str) -> std::path::PathBuf {
    let lines = [
        r#"{"sequence":1,"method":"HEAD","path":"/_ping","status":200,"headers":[["api-version","1.41"]],"chunks":[]}"#,
        r#"{"sequence":2,"method":"GET","path":"/v1.41/containers/json","query":"all=true","status":200,"headers":[["content-type","application/json"],["api-version","1.41"]],"chunks":["[]"]}"#,
    ];
    let file = std::env::temp_dir().join(format!("dct-replay-{test}-{}.jsonl", std::process::id()));
    std::fs::write(&file, lines.join("\n")).unwrap();
    file
}

/// The message of the panic a replayed test ends with, or `None` when it passes.
async fn replayed(test: &'static str, body: impl std::future::Future<Output = ()>) -> Option<String> {
    let file = recording(test);
    let session = TestSession::replay(test, file.clone()).await;
    let outcome = std::panic::AssertUnwindSafe(session.run(body)).catch_unwind().await;
    std::fs::remove_file(file).unwrap();
    outcome.err().map(|panic| {
        panic
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_else(|| "a panic without a message".into())
    })
}

#[tokio::test]
async fn a_test_sending_what_its_recording_holds_passes() {
    let failure = replayed("matching", async {
        let listed = docker().containers().list().all(true).send().await.unwrap();
        assert!(listed.is_empty());
    })
    .await;
    assert_eq!(failure, None);
}

#[tokio::test]
async fn a_request_the_recording_does_not_hold_fails_naming_the_command() {
    let failure = replayed("changed", async {
        docker().containers().list().send().await.unwrap();
    })
    .await
    .expect("the replay fails");
    assert!(failure.contains("matches no recorded exchange"), "{failure}");
    assert!(failure.contains(RECORD_COMMAND), "{failure}");
}

#[tokio::test]
async fn a_recorded_request_that_never_comes_fails_naming_the_command() {
    let failure = replayed("silent", async {}).await.expect("the replay fails");
    assert!(failure.contains("never requested"), "{failure}");
    assert!(failure.contains(RECORD_COMMAND), "{failure}");
}

#[tokio::test]
async fn names_made_in_a_session_are_the_same_on_every_run_and_differ_between_tests() {
    let mut names = Vec::new();
    for test in ["first", "first", "second"] {
        let file = recording(test);
        let session = TestSession::replay(test, file.clone()).await;
        let made = std::panic::AssertUnwindSafe(session.run(async {
            let made = (unique_name("box"), unique_name("box"));
            docker().containers().list().all(true).send().await.unwrap();
            made
        }))
        .catch_unwind()
        .await
        .expect("the replay passes");
        std::fs::remove_file(file).unwrap();
        names.push(made);
    }
    assert_eq!(names[0], names[1]);
    assert_ne!(names[0].0, names[0].1);
    assert_ne!(names[0].0, names[2].0);
    assert!(names[0].0.starts_with("dct-box-"), "{names:?}");
}
