//! `#[daemon_test]`, the attribute of every test that needs the servers
//! `scripts/test-with-daemon.sh` starts (a daemon, registries, an sshd): `#[tokio::test]`, with
//! its arguments, whose body runs inside the harness's `TestSession`, which records the test's
//! exchanges with the daemon or replays them without one (see the harness's `replay` module).
//!
//! Where this crate was built without `DOCKER_TEST_HOST` (and not under `CI=true`), a test with
//! no recording in `tests/replays/` is also `#[ignore]`d, so a plain `cargo test` counts it as
//! ignored rather than as passed, and runs those that have one. Cargo builds this crate again,
//! and the tests with it, when either variable changes, as it does for any crate that reads one
//! with `option_env!`.

use proc_macro::{Delimiter, Group, TokenStream, TokenTree};

/// Why a daemon test is ignored, as libtest prints it.
const WITHOUT_A_DAEMON: &str = "needs the test servers and has no recording to replay: run \
     scripts/test-with-daemon.sh, or set DOCKER_TEST_HOST and build again";

fn daemon_configured() -> bool {
    let set = |value: Option<&str>| value.is_some_and(|value| !value.is_empty());
    // Under CI a missing daemon is a failure, which the harness reports, never a skip.
    set(option_env!("DOCKER_TEST_HOST")) || option_env!("CI") == Some("true")
}

/// Where the harness keeps each test's recording: `tests/replays/`, beside this crate's folder.
fn recording_of(test: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../replays")
        .join(format!("{test}.jsonl"))
}

#[proc_macro_attribute]
pub fn daemon_test(arguments: TokenStream, test: TokenStream) -> TokenStream {
    let arguments = if arguments.is_empty() {
        String::new()
    } else {
        format!("({arguments})")
    };
    let mut tokens: Vec<TokenTree> = test.into_iter().collect();
    let name = tokens
        .windows(2)
        .find_map(|pair| match pair {
            [TokenTree::Ident(keyword), TokenTree::Ident(name)] if keyword.to_string() == "fn" => {
                Some(name.to_string())
            }
            _ => None,
        })
        .expect("#[daemon_test] is put on a function");
    let body = match tokens.pop() {
        Some(TokenTree::Group(body)) if body.delimiter() == Delimiter::Brace => body,
        _ => panic!("#[daemon_test] is put on a function with a body"),
    };
    let recording = recording_of(&name);
    let mut attributes = format!("#[::tokio::test{arguments}]");
    if !daemon_configured() && !recording.exists() {
        attributes.push_str(&format!("#[ignore = {WITHOUT_A_DAEMON:?}]"));
    }
    // A recording read at run time is a dependency of the build all the same: one added or
    // removed changes which tests are ignored (the harness's build script watches the folder).
    let watched = if recording.exists() {
        format!(
            "const _: &[u8] = include_bytes!({:?});",
            recording.display().to_string()
        )
    } else {
        String::new()
    };
    let mut expanded: TokenStream = attributes.parse().expect("the attributes are Rust");
    expanded.extend(tokens);
    // The body's own tokens are kept, with their spans, so errors still point into it.
    let mut future: TokenStream = "async move".parse().expect("Rust");
    future.extend([TokenTree::Group(body)]);
    let mut wrapped: TokenStream = format!("{watched} ::daemon_tests::TestSession::begin({name:?}).await.run")
        .parse()
        .expect("the wrapper is Rust");
    wrapped.extend([TokenTree::Group(Group::new(Delimiter::Parenthesis, future))]);
    wrapped.extend(".await".parse::<TokenStream>().expect("Rust"));
    expanded.extend([TokenTree::Group(Group::new(Delimiter::Brace, wrapped))]);
    expanded
}
