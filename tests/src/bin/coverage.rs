//! Adds up the operations the daemon tests sent and those that succeeded (recorded under
//! `DOCKER_TEST_COVERAGE_DIR`: a 2xx answer read whole into its typed value, every message of a
//! stream to its end), and fails when an operation of v1.41 falls short without a reason below.

use std::collections::BTreeSet;
use std::process::ExitCode;

/// Operations no test sends, each with the reason.
const NOT_EXERCISED: &[(&str, &str)] = &[(
    "Session",
    "carries BuildKit's gRPC session protocol, which only a BuildKit client can speak",
)];

/// Operations sent but never answered with success, each with the reason.
const NOT_SUCCEEDED: &[(&str, &str)] = &[];

/// The least number of operations the tests must send, and see succeed.
const MINIMUM_EXERCISED: usize = 104;
const MINIMUM_SUCCEEDED: usize = 103;

fn main() -> ExitCode {
    let Some(dir) = std::env::var_os("DOCKER_TEST_COVERAGE_DIR") else {
        eprintln!("set DOCKER_TEST_COVERAGE_DIR to the folder the daemon tests recorded into");
        return ExitCode::FAILURE;
    };
    let mut sent = BTreeSet::new();
    let mut succeeded = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).expect("coverage folder is readable") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|extension| extension != "txt") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("coverage file");
        for line in text.lines() {
            match line.split_once(' ') {
                Some(("sent", operation)) => sent.insert(operation.to_owned()),
                Some(("succeeded", operation)) => succeeded.insert(operation.to_owned()),
                _ => panic!("{}: unexpected line {line:?}", path.display()),
            };
        }
    }
    let all = docker_engine_v1_41::OPERATIONS;
    let mut ok = true;
    ok &= report("exercised", all, &sent, NOT_EXERCISED, MINIMUM_EXERCISED);
    let explained: Vec<_> = NOT_EXERCISED.iter().chain(NOT_SUCCEEDED).copied().collect();
    ok &= report("succeeded", all, &succeeded, &explained, MINIMUM_SUCCEEDED);
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Prints `WHAT N of M operations of v1.41` and the operations left out with their reasons;
/// false when the count is below `minimum`, an operation is left out without a reason, or a
/// reason is given for one that is not left out.
fn report(what: &str, all: &[&str], reached: &BTreeSet<String>, reasons: &[(&str, &str)], minimum: usize) -> bool {
    let count = all.iter().filter(|op| reached.contains(**op)).count();
    println!("{what} {count} of {} operations of v1.41", all.len());
    let mut unexplained = Vec::new();
    for op in all.iter().filter(|op| !reached.contains(**op)) {
        match reasons.iter().find(|(name, _)| name == op) {
            Some((_, reason)) => println!("  not {what}: {op}: {reason}"),
            None => unexplained.push(*op),
        }
    }
    let stale: Vec<_> = reasons
        .iter()
        .filter(|(op, _)| reached.contains(*op))
        .map(|(op, _)| *op)
        .collect();
    if !stale.is_empty() {
        eprintln!("{what} now, remove the reason given for: {}", stale.join(", "));
    }
    if !unexplained.is_empty() {
        eprintln!("not {what} and not explained: {}", unexplained.join(", "));
    }
    if count < minimum {
        eprintln!("fewer than {minimum} operations {what}");
    }
    unexplained.is_empty() && stale.is_empty() && count >= minimum
}
