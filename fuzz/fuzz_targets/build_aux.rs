//! The `aux` of a build's messages, from the daemon: BuildKit's traces (base64 of a protobuf
//! `StatusResponse`) and the other forms. A trace decodes or is an error; what decodes encodes
//! back to itself, and the durations between its times are numbers.
#![no_main]

use base64::Engine;
use docker_engine_runtime::buildkit::{Aux, StatusResponse, TRACE_ID};
use libfuzzer_sys::fuzz_target;
use prost::Message;

fuzz_target!(|input: &[u8]| {
    let Some((mode, rest)) = input.split_first() else {
        return;
    };
    match mode % 2 {
        // The protobuf itself, as the daemon encodes it into the trace.
        0 => {
            let aux = serde_json::Value::String(base64::engine::general_purpose::STANDARD.encode(rest));
            match Aux::read("Fuzz", Some(TRACE_ID), &aux) {
                Ok(Aux::Trace(status)) => {
                    let again = StatusResponse::decode(status.encode_to_vec().as_slice()).expect("encoded here");
                    assert_eq!(again, status);
                    let times = status
                        .vertexes
                        .iter()
                        .flat_map(|vertex| [vertex.started, vertex.completed]);
                    let times: Vec<_> = times
                        .chain(status.statuses.iter().map(|s| s.timestamp))
                        .flatten()
                        .collect();
                    for later in &times {
                        for earlier in &times {
                            assert!(!later.seconds_since(earlier).is_nan());
                        }
                    }
                }
                Ok(other) => panic!("a trace read as {other:?}"),
                Err(error) => assert!(error.to_string().contains("not a StatusResponse"), "{error}"),
            }
        }
        // Any JSON under any id: only a trace's string is decoded; an object with a string `ID`
        // is the image built; everything else is kept as sent.
        _ => {
            let Ok(aux) = serde_json::from_slice::<serde_json::Value>(rest) else {
                return;
            };
            for id in [Some(TRACE_ID), Some("moby.image.id"), None] {
                match (Aux::read("Fuzz", id, &aux), &aux) {
                    (Ok(Aux::Trace(_)) | Err(_), serde_json::Value::String(_)) => assert_eq!(id, Some(TRACE_ID)),
                    (Ok(Aux::Image { id }), serde_json::Value::Object(fields)) => {
                        assert_eq!(fields.get("ID").and_then(|id| id.as_str()), Some(id.as_str()))
                    }
                    (Ok(Aux::Other(kept)), _) => assert_eq!(&kept, &aux),
                    (read, _) => panic!("{aux} under {id:?} read as {read:?}"),
                }
            }
        }
    }
});
