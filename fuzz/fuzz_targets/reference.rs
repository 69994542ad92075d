//! Image references as users type them: a reference that parses prints back to one that parses
//! to the same reference, and what is refused is refused with an error, never a panic.
#![no_main]

use docker_engine_runtime::registry::Reference;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Ok(text) = std::str::from_utf8(input) else { return };
    let Ok(reference) = text.parse::<Reference>() else { return };
    let printed = reference.to_string();
    let again: Reference = printed
        .parse()
        .unwrap_or_else(|e| panic!("{text:?} parsed, but its printed form {printed:?} does not: {e}"));
    assert_eq!(again, reference, "{text:?} printed as {printed:?}");
    assert!(!reference.target().is_empty());
});
