//! Digests typed in or sent by a registry: one that parses verifies exactly the bytes it is the
//! digest of, and no others.
#![no_main]

use docker_engine_runtime::registry::{Digest, DigestCheck};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    // The first byte splits the input into a digest's text and the bytes to check against it.
    let Some((&split, rest)) = input.split_first() else { return };
    let (text, bytes) = rest.split_at(usize::from(split).min(rest.len()));
    let Ok(text) = std::str::from_utf8(text) else { return };
    let Ok(digest) = text.parse::<Digest>() else { return };
    assert_eq!(digest.as_str(), text);
    let mut check = DigestCheck::new(digest.clone());
    check.update(bytes);
    assert_eq!(check.received(), bytes.len() as u64);
    assert_eq!(check.finish("Fuzz").is_ok(), Digest::of(bytes) == digest);
    // The digest of the bytes themselves always verifies.
    let own = Digest::of(bytes);
    let mut check = DigestCheck::new(own.clone());
    check.update(bytes);
    assert!(check.finish("Fuzz").is_ok());
    assert_eq!(own.as_str().parse::<Digest>().unwrap(), own);
});
