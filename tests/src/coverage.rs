//! What the tests exercised: the operations sent and succeeded, and the JSON answers saved
//! for decoding again with newer crates (the `coverage` program reads both).

/// JSON answers saved per operation and test process, for decoding again with newer crates.
const SAVED_BODIES_PER_OPERATION: usize = 32;

/// With `DOCKER_TEST_COVERAGE_DIR` set, an observer appending to `<dir>/<pid>.txt` a line
/// `sent OPERATION` the first time this process sends an operation and `succeeded OPERATION`
/// the first time one succeeds all the way through (the `coverage` program adds them up), and
/// saving the JSON answers under `<dir>/bodies/OPERATION/`.
pub(crate) fn coverage_recorder() -> Option<docker_engine_runtime::RequestObserver> {
    use docker_engine_runtime::Observation;
    use std::collections::{HashMap, HashSet};
    use std::io::Write;
    use std::sync::{Arc, Mutex};
    #[derive(Default)]
    struct Seen {
        lines: HashSet<(&'static str, &'static str)>,
        bodies: HashMap<&'static str, usize>,
    }
    static SEEN: Mutex<Option<Seen>> = Mutex::new(None);
    let dir = std::path::PathBuf::from(std::env::var_os("DOCKER_TEST_COVERAGE_DIR")?);
    std::fs::create_dir_all(&dir).expect("coverage folder");
    let file = dir.join(format!("{}.txt", std::process::id()));
    Some(Arc::new(move |observation: &Observation<'_>| {
        let operation = observation.operation();
        let (event, json) = match observation {
            Observation::Sent { .. } => ("sent", None),
            // Only a 2xx, or a session's 101, counts: a 304 (already started) did nothing.
            Observation::Succeeded { status, json, .. } if *status < 300 => ("succeeded", *json),
            _ => return,
        };
        let mut seen = SEEN.lock().unwrap();
        let seen = seen.get_or_insert_with(Seen::default);
        if seen.lines.insert((event, operation)) {
            let mut out = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&file)
                .expect("coverage file");
            writeln!(out, "{event} {operation}").expect("write coverage");
        }
        if let Some(json) = json {
            let saved = seen.bodies.entry(operation).or_default();
            if *saved < SAVED_BODIES_PER_OPERATION {
                *saved += 1;
                let folder = dir.join("bodies").join(operation);
                std::fs::create_dir_all(&folder).expect("bodies folder");
                let name = format!("{}-{}.json", std::process::id(), saved);
                std::fs::write(folder.join(name), json).expect("save body");
            }
        }
    }))
}
