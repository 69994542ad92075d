//! The spec loader, converter, lowering and emitter on arbitrary YAML: a malformed spec is an
//! error naming what and where, never a panic. Seed the corpus with the real specs
//! (`fuzz/seed-corpus.sh`) so mutations stay close to Swagger.
#![no_main]

use std::path::Path;

use codegen::{emit, lower, spec, ApiVersion};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Ok(text) = std::str::from_utf8(input) else { return };
    let file = Path::new("fuzzed/swagger.yaml");
    let Ok(document) = spec::parse_yaml(file, text) else { return };
    let Ok(openapi) = spec::convert(file, document) else { return };
    let version = ApiVersion::parse("1.41").expect("a valid version");
    let corrections = lower::Corrections::default();
    if let Ok(api) = lower::lower(&openapi, codegen::ApiFamily::Engine, version, &corrections, file) {
        let _ = emit::emit_crate(&api, "0.1.0");
    }
});
