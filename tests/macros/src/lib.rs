//! `#[daemon_test]`, the attribute of every test that needs the servers
//! `scripts/test-with-daemon.sh` starts (a daemon, registries, an sshd): `#[tokio::test]`, with
//! its arguments, and where this crate was built without `DOCKER_TEST_HOST` (and not under
//! `CI=true`) also `#[ignore]`, so a plain `cargo test` counts those tests as ignored rather
//! than as passed. Cargo builds this crate again, and the tests with it, when either variable
//! changes, as it does for any crate that reads one with `option_env!`.

use proc_macro::TokenStream;

/// Why a daemon test is ignored, as libtest prints it.
const WITHOUT_A_DAEMON: &str =
    "needs the test servers: run scripts/test-with-daemon.sh, or set DOCKER_TEST_HOST and build again";

fn daemon_configured() -> bool {
    let set = |value: Option<&str>| value.is_some_and(|value| !value.is_empty());
    // Under CI a missing daemon is a failure, which the harness reports, never a skip.
    set(option_env!("DOCKER_TEST_HOST")) || option_env!("CI") == Some("true")
}

#[proc_macro_attribute]
pub fn daemon_test(arguments: TokenStream, test: TokenStream) -> TokenStream {
    let arguments = if arguments.is_empty() {
        String::new()
    } else {
        format!("({arguments})")
    };
    let mut attributes = format!("#[::tokio::test{arguments}]");
    if !daemon_configured() {
        attributes.push_str(&format!("#[ignore = {WITHOUT_A_DAEMON:?}]"));
    }
    let mut expanded: TokenStream = attributes.parse().expect("the attributes are Rust");
    expanded.extend(test);
    expanded
}
