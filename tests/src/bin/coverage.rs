//! Adds up the operations the daemon tests sent (recorded under `DOCKER_TEST_COVERAGE_DIR`)
//! and fails when an operation of v1.41 was neither exercised nor listed below with the reason
//! it is not.

use std::collections::BTreeSet;
use std::process::ExitCode;

/// Operations no test sends, each with the reason.
const NOT_EXERCISED: &[(&str, &str)] = &[
    (
        "ContainerAttachWebsocket",
        "needs a WebSocket handshake (Upgrade: websocket); the runtime hijacks with Upgrade: tcp only",
    ),
    (
        "Session",
        "carries BuildKit's gRPC session protocol, which only a BuildKit client can speak",
    ),
];

/// The least number of operations the tests must exercise.
const MINIMUM: usize = 101;

fn main() -> ExitCode {
    let Some(dir) = std::env::var_os("DOCKER_TEST_COVERAGE_DIR") else {
        eprintln!("set DOCKER_TEST_COVERAGE_DIR to the folder the daemon tests recorded into");
        return ExitCode::FAILURE;
    };
    let mut exercised = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).expect("coverage folder is readable") {
        let text = std::fs::read_to_string(entry.expect("entry").path()).expect("coverage file");
        exercised.extend(text.lines().map(str::to_owned));
    }
    let all = docker_engine_v1_41::OPERATIONS;
    let count = all.iter().filter(|op| exercised.contains(**op)).count();
    println!("exercised {count} of {} operations of v1.41", all.len());
    let mut unexplained = Vec::new();
    for op in all.iter().filter(|op| !exercised.contains(**op)) {
        match NOT_EXERCISED.iter().find(|(name, _)| name == op) {
            Some((_, reason)) => println!("  not exercised: {op}: {reason}"),
            None => unexplained.push(*op),
        }
    }
    let stale: Vec<_> = NOT_EXERCISED
        .iter()
        .filter(|(op, _)| exercised.contains(*op))
        .map(|(op, _)| *op)
        .collect();
    if !stale.is_empty() {
        eprintln!("exercised now, remove from NOT_EXERCISED: {}", stale.join(", "));
    }
    if !unexplained.is_empty() {
        eprintln!("not exercised and not explained: {}", unexplained.join(", "));
    }
    if count < MINIMUM {
        eprintln!("fewer than {MINIMUM} operations exercised");
    }
    if unexplained.is_empty() && stale.is_empty() && count >= MINIMUM {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
