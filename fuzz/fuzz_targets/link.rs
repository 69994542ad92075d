//! A registry's `Link` pagination header: any header gives the next page or none, never a
//! panic, and the next page names only what the header held.
#![no_main]

use docker_engine_runtime::registry::next_page;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Ok(header) = std::str::from_utf8(input) else { return };
    let Some(last) = next_page(header) else { return };
    let lower = header.to_ascii_lowercase();
    assert!(
        lower.contains("rel") && lower.contains("next"),
        "{header:?} has no rel of next, yet gave {last:?}"
    );
    // Percent-decoding only ever shortens what the header wrote.
    assert!(last.len() <= header.len(), "{last:?} is longer than {header:?}");
});
