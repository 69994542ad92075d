//! A registry's `WWW-Authenticate` challenge, from a peer the client does not control: it parses
//! or is refused, and a challenge names only what it was given.
#![no_main]

use docker_engine_runtime::registry::Challenge;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Ok(text) = std::str::from_utf8(input) else { return };
    let Some(challenge) = Challenge::parse(text) else { return };
    let lower = text.to_ascii_lowercase();
    assert!(!challenge.scheme.is_empty() && lower.contains(&challenge.scheme), "{text:?}: {challenge:?}");
    for (key, value) in &challenge.parameters {
        assert!(!key.is_empty() && lower.contains(key.as_str()), "{text:?}: key {key:?}");
        assert!(!key.contains(['"', ',', ' ', '=']), "{text:?}: key {key:?} is not a token");
        assert!(text.contains(value.as_str()), "{text:?}: value {value:?}");
        assert!(challenge.parameter(key).is_some());
    }
});
