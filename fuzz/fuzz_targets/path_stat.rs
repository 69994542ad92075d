//! The `X-Docker-Container-Path-Stat` header decoder (base64 of JSON) on arbitrary bytes.
#![no_main]

use docker_engine_runtime::PathStat;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|header: &[u8]| {
    if let Ok(stat) = PathStat::from_header("Fuzz", header) {
        let _ = (stat.is_dir(), stat.is_symlink());
    }
});
