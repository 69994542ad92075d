//! Recordings the fake daemon replays, a file a user keeps and edits: it loads, one exchange
//! per non-empty line, or is refused naming the line it failed on.
#![no_main]

use std::io::Write;

use docker_engine_runtime::mock::read_recording;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let mut file = tempfile();
    file.1.write_all(input).unwrap();
    let loaded = read_recording(&file.0);
    match (&loaded, std::str::from_utf8(input)) {
        (Ok(exchanges), Ok(text)) => {
            let lines = text.lines().filter(|line| !line.trim().is_empty()).count();
            assert_eq!(exchanges.len(), lines);
        }
        (Ok(_), Err(_)) => panic!("a recording that is not UTF-8 loaded"),
        (Err(error), Ok(text)) => {
            let message = error.to_string();
            let line: usize = message
                .split(" line ")
                .nth(1)
                .and_then(|rest| rest.split(':').next())
                .and_then(|number| number.parse().ok())
                .unwrap_or_else(|| panic!("the refusal names no line: {message}"));
            assert!(line >= 1 && line <= text.lines().count(), "{message}");
        }
        (Err(_), Err(_)) => {}
    }
    drop(file.1);
    std::fs::remove_file(&file.0).unwrap();
});

/// A file of this process's own, as read_recording reads a path.
fn tempfile() -> (std::path::PathBuf, std::fs::File) {
    let path = std::env::temp_dir().join(format!("fuzz-recording-{}.jsonl", std::process::id()));
    let file = std::fs::File::create(&path).unwrap();
    (path, file)
}
