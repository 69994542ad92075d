//! Adds up the operations the daemon tests sent and those that succeeded (recorded under
//! `DOCKER_TEST_COVERAGE_DIR`: a 2xx answer read whole into its typed value, every message of a
//! stream to its end), and fails when an operation of v1.41 falls short without a reason below.

use std::collections::BTreeSet;
use std::process::ExitCode;

/// Operations no test sends, each with the reason.
const NOT_EXERCISED: &[(&str, &str)] = &[];

/// Operations sent but never answered with success, each with the reason.
const NOT_SUCCEEDED: &[(&str, &str)] = &[];

/// The least number of operations the tests must send, and see succeed.
const MINIMUM_EXERCISED: usize = 106;
const MINIMUM_SUCCEEDED: usize = 106;

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
    let mut ok = decode_answers(
        &std::path::Path::new(&dir).join("bodies"),
        "saved answers",
        NEWER_CRATES,
    );
    ok &= decode_recorded_answers();
    if daemon_tests::server() == daemon_tests::Server::Podman {
        ok &= report_podman(all, &succeeded);
    } else {
        ok &= report("exercised", all, &sent, NOT_EXERCISED, MINIMUM_EXERCISED);
        let explained: Vec<_> = NOT_EXERCISED.iter().chain(NOT_SUCCEEDED).copied().collect();
        ok &= report("succeeded", all, &succeeded, &explained, MINIMUM_SUCCEEDED);
    }
    ok &= report_filters(std::path::Path::new(&dir));
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Each decoder of a JSON answer, by crate: `decode_answer(operation, body)`.
type AnswerDecoder = fn(&str, &[u8]) -> Option<docker_engine_runtime::Result<()>>;

/// The crates a Docker 29 daemon accepts (1.40 and later), for the answers recorded from one.
const DOCKER_29_CRATES: &[(&str, AnswerDecoder)] = &[
    ("1.40", docker_engine_v1_40::decode_answer),
    ("1.41", docker_engine_v1_41::decode_answer),
    ("1.42", docker_engine_v1_42::decode_answer),
    ("1.43", docker_engine_v1_43::decode_answer),
    ("1.44", docker_engine_v1_44::decode_answer),
    ("1.45", docker_engine_v1_45::decode_answer),
    ("1.46", docker_engine_v1_46::decode_answer),
    ("1.47", docker_engine_v1_47::decode_answer),
    ("1.48", docker_engine_v1_48::decode_answer),
    ("1.49", docker_engine_v1_49::decode_answer),
    ("1.50", docker_engine_v1_50::decode_answer),
    ("1.51", docker_engine_v1_51::decode_answer),
    ("1.52", docker_engine_v1_52::decode_answer),
    ("1.53", docker_engine_v1_53::decode_answer),
    ("1.54", docker_engine_v1_54::decode_answer),
];

/// The crates from the test daemon's version (1.41) on: newer ones negotiate down to it, so they
/// must read what it answers.
const NEWER_CRATES: &[(&str, AnswerDecoder)] = DOCKER_29_CRATES.split_at(1).1;

/// Answers saved by runs of the suite against daemons CI does not start, kept under
/// `tests/fixtures/answers/SERVER-VERSION/OPERATION/*.json`: each decoded by every crate that
/// daemon accepts.
fn decode_recorded_answers() -> bool {
    let recorded = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/answers/docker-29.5.3");
    decode_answers(&recorded, "answers recorded from Docker 29.5.3", DOCKER_29_CRATES)
}

/// Decodes every JSON answer under `bodies` (`OPERATION/*.json`) with the same operation's model
/// in each of `crates`, and prints how many decoded; false when one fails.
fn decode_answers(bodies: &std::path::Path, what: &str, crates: &[(&str, AnswerDecoder)]) -> bool {
    let mut saved = Vec::new();
    let folders = std::fs::read_dir(bodies).unwrap_or_else(|e| panic!("{what}: {}: {e}", bodies.display()));
    for folder in folders {
        let folder = folder.expect("entry").path();
        let operation = folder.file_name().unwrap().to_string_lossy().into_owned();
        for file in std::fs::read_dir(&folder).expect("answers folder") {
            let path = file.expect("entry").path();
            saved.push((operation.clone(), std::fs::read(&path).expect("saved answer"), path));
        }
    }
    let (mut decoded, mut failures) = (0, Vec::new());
    for (operation, body, path) in &saved {
        for (version, decode) in crates {
            match decode(operation, body) {
                Some(Ok(())) => decoded += 1,
                Some(Err(error)) => failures.push(format!("  v{version}, {}: {error}", path.display())),
                // The operation has another kind of answer, or is gone, in this version.
                None => {}
            }
        }
    }
    let (first, last) = (crates[0].0, crates[crates.len() - 1].0);
    println!(
        "decoded {decoded} of {} {what} × crates ({} answers of {} operations, crates {first} to {last})",
        decoded + failures.len(),
        saved.len(),
        saved
            .iter()
            .map(|(operation, ..)| operation)
            .collect::<BTreeSet<_>>()
            .len(),
    );
    for failure in &failures {
        eprintln!("{failure}");
    }
    // An empty folder decodes nothing and proves nothing.
    failures.is_empty() && decoded > 0
}

/// The least number of operations that must succeed against Podman, where many are not
/// implemented (plugins, swarm) and some tests are not yet run (see the test script).
const PODMAN_MINIMUM_SUCCEEDED: usize = 63;

/// Prints `succeeded N of M operations of v1.41 against Podman X.Y` and those that did not
/// succeed; false below [`PODMAN_MINIMUM_SUCCEEDED`].
fn report_podman(all: &[&str], succeeded: &BTreeSet<String>) -> bool {
    let count = all.iter().filter(|op| succeeded.contains(**op)).count();
    let version = podman_version();
    println!(
        "succeeded {count} of {} operations of v1.41 against Podman {version}",
        all.len()
    );
    let missing: Vec<_> = all.iter().filter(|op| !succeeded.contains(**op)).copied().collect();
    println!("  not succeeded against Podman: {}", missing.join(", "));
    if count < PODMAN_MINIMUM_SUCCEEDED {
        eprintln!("fewer than {PODMAN_MINIMUM_SUCCEEDED} operations succeeded against Podman");
    }
    count >= PODMAN_MINIMUM_SUCCEEDED
}

/// Prints what the filter test recorded (`filter keys accepted: N of M ...`); under `CI=true`
/// a run without it fails, as the test did not run.
fn report_filters(dir: &std::path::Path) -> bool {
    match std::fs::read_to_string(dir.join("filters.summary")) {
        Ok(summary) => {
            print!("{summary}");
            true
        }
        Err(_) if std::env::var("CI").as_deref() == Ok("true") => {
            eprintln!("the filter test recorded no summary in {}", dir.display());
            false
        }
        Err(_) => true,
    }
}

/// The version of the Podman behind `DOCKER_TEST_HOST`, as its `/version` names its engine.
fn podman_version() -> String {
    let docker = daemon_tests::docker();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let version = runtime
        .block_on(docker.system().version().send())
        .expect("Podman answers /version");
    version
        .components
        .unwrap_or_default()
        .into_iter()
        .find(|component| component.name == "Podman Engine")
        .map(|component| component.version)
        .expect("Podman's /version names a \"Podman Engine\" component")
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
