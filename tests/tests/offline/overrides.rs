//! Every entry of `codegen/overrides.yaml` is backed by daemon tests that exist, so an entry
//! cannot outlive the daemon behaviour it describes without a test failing.

use std::path::Path;

use codegen::overrides::{Evidence, Overrides};

/// Whether `name` is defined as a test in these sources: a function, or a name given to a
/// test made by one of the test macros (`smoke_v1_25 => docker_engine_v1_25`).
fn defines_test(sources: &[String], name: &str) -> bool {
    let function = format!("fn {name}(");
    let macro_entry = format!("{name} =>");
    sources
        .iter()
        .any(|source| source.contains(&function) || source.contains(&macro_entry))
}

/// The Rust sources under `folder`, its subfolders (test binaries of several modules) included.
fn read_sources(folder: &Path, sources: &mut Vec<String>) {
    for file in std::fs::read_dir(folder).unwrap() {
        let path = file.unwrap().path();
        if path.is_dir() {
            read_sources(&path, sources);
        } else if path.extension().is_some_and(|e| e == "rs") {
            sources.push(std::fs::read_to_string(path).unwrap());
        }
    }
}

#[test]
fn every_override_names_daemon_tests_that_exist() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let overrides = Overrides::load(&root.join("codegen/overrides.yaml")).unwrap();
    let mut sources = Vec::new();
    for folder in ["tests/tests", "examples/tests"] {
        read_sources(&root.join(folder), &mut sources);
    }
    let mut missing = Vec::new();
    let mut checked = 0;
    for (entry, evidence) in overrides.evidence() {
        if let Evidence::Tests(tests) = evidence {
            checked += 1;
            for test in tests.iter().filter(|test| !defines_test(&sources, test)) {
                missing.push(format!("{entry}: no test `{test}` in tests/tests or examples/tests"));
            }
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
    println!(
        "{checked} of {} override entries checked by daemon tests",
        overrides.evidence().len()
    );
}
