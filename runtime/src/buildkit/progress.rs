//! What a build's JSON messages carry in `aux`, told apart by the message's `id`: the image
//! built (`{"ID": "sha256:..."}`), or for BuildKit builds (`version=2`) under id
//! `moby.buildkit.trace` the base64 of a protobuf `StatusResponse` of BuildKit's control API:
//! the steps (vertexes) as they start and complete, their progress, their output and warnings.
//!
//! The few protobuf messages are declared here, with the field numbers of BuildKit's
//! `control.proto`, so that no protobuf compiler runs at build time; fields not needed for
//! progress (progress groups, source locations of warnings) are skipped when decoding.

use base64::Engine;

use crate::error::{snippet, Error, Result};

/// The message `id` under which the daemon relays BuildKit's progress.
pub const TRACE_ID: &str = "moby.buildkit.trace";

/// The `aux` of one build message.
#[derive(Debug, Clone, PartialEq)]
pub enum Aux {
    /// The image the build produced.
    Image { id: String },
    /// BuildKit's progress since the previous trace.
    Trace(StatusResponse),
    /// Anything else, as sent (the daemon adds kinds over time).
    Other(serde_json::Value),
}

impl Aux {
    /// Reads `aux` as the message's `id` says it is to be read. A trace that is not base64 of a
    /// `StatusResponse` is an error naming the operation.
    pub fn read(operation: &'static str, message_id: Option<&str>, aux: &serde_json::Value) -> Result<Aux> {
        match (message_id, aux) {
            (Some(TRACE_ID), serde_json::Value::String(encoded)) => {
                StatusResponse::from_base64(operation, encoded).map(Aux::Trace)
            }
            (_, serde_json::Value::Object(fields)) => match fields.get("ID").and_then(|id| id.as_str()) {
                Some(id) => Ok(Aux::Image { id: id.to_owned() }),
                None => Ok(Aux::Other(aux.clone())),
            },
            _ => Ok(Aux::Other(aux.clone())),
        }
    }
}

/// BuildKit's `moby.buildkit.v1.StatusResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct StatusResponse {
    #[prost(message, repeated, tag = "1")]
    pub vertexes: Vec<Vertex>,
    #[prost(message, repeated, tag = "2")]
    pub statuses: Vec<VertexStatus>,
    #[prost(message, repeated, tag = "3")]
    pub logs: Vec<VertexLog>,
    #[prost(message, repeated, tag = "4")]
    pub warnings: Vec<VertexWarning>,
}

/// One step of the build, e.g. `[2/3] RUN make`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Vertex {
    #[prost(string, tag = "1")]
    pub digest: String,
    #[prost(string, repeated, tag = "2")]
    pub inputs: Vec<String>,
    #[prost(string, tag = "3")]
    pub name: String,
    #[prost(bool, tag = "4")]
    pub cached: bool,
    #[prost(message, optional, tag = "5")]
    pub started: Option<Timestamp>,
    #[prost(message, optional, tag = "6")]
    pub completed: Option<Timestamp>,
    #[prost(string, tag = "7")]
    pub error: String,
}

/// Progress of one task within a step (a layer being extracted, a context being sent).
#[derive(Clone, PartialEq, prost::Message)]
pub struct VertexStatus {
    #[prost(string, tag = "1")]
    pub id: String,
    #[prost(string, tag = "2")]
    pub vertex: String,
    #[prost(string, tag = "3")]
    pub name: String,
    #[prost(int64, tag = "4")]
    pub current: i64,
    #[prost(int64, tag = "5")]
    pub total: i64,
    #[prost(message, optional, tag = "6")]
    pub timestamp: Option<Timestamp>,
    #[prost(message, optional, tag = "7")]
    pub started: Option<Timestamp>,
    #[prost(message, optional, tag = "8")]
    pub completed: Option<Timestamp>,
}

/// Output of a step: `stream` 1 is stdout, 2 stderr.
#[derive(Clone, PartialEq, prost::Message)]
pub struct VertexLog {
    #[prost(string, tag = "1")]
    pub vertex: String,
    #[prost(message, optional, tag = "2")]
    pub timestamp: Option<Timestamp>,
    #[prost(int64, tag = "3")]
    pub stream: i64,
    #[prost(bytes = "vec", tag = "4")]
    pub msg: Vec<u8>,
}

/// A warning about the build definition (a deprecated instruction, a lint).
#[derive(Clone, PartialEq, prost::Message)]
pub struct VertexWarning {
    #[prost(string, tag = "1")]
    pub vertex: String,
    #[prost(int64, tag = "2")]
    pub level: i64,
    #[prost(bytes = "vec", tag = "3")]
    pub short: Vec<u8>,
    #[prost(bytes = "vec", repeated, tag = "4")]
    pub detail: Vec<Vec<u8>>,
    #[prost(string, tag = "5")]
    pub url: String,
}

/// `google.protobuf.Timestamp`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, prost::Message)]
pub struct Timestamp {
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

impl Timestamp {
    /// Seconds from `earlier` to this time.
    pub fn seconds_since(&self, earlier: &Timestamp) -> f64 {
        // In floating point: the daemon's fields are any integers, whose difference may not fit.
        (self.seconds as f64 - earlier.seconds as f64) + (f64::from(self.nanos) - f64::from(earlier.nanos)) / 1e9
    }
}

impl StatusResponse {
    /// Decodes the `aux` string of a `moby.buildkit.trace` message.
    pub fn from_base64(operation: &'static str, encoded: &str) -> Result<Self> {
        let failure = |message: String| Error::Decode {
            operation,
            type_name: "buildkit::StatusResponse",
            path: "aux".into(),
            message,
            snippet: snippet(encoded.as_bytes()),
        };
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|e| failure(format!("not base64: {e}")))?;
        <StatusResponse as prost::Message>::decode(bytes.as_slice())
            .map_err(|e| failure(format!("not a StatusResponse: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn a_trace_round_trips_and_other_forms_are_told_apart() {
        let status = StatusResponse {
            vertexes: vec![Vertex {
                digest: "sha256:aa".into(),
                name: "[1/2] FROM busybox".into(),
                started: Some(Timestamp { seconds: 10, nanos: 0 }),
                completed: Some(Timestamp {
                    seconds: 10,
                    nanos: 500_000_000,
                }),
                ..Default::default()
            }],
            logs: vec![VertexLog {
                vertex: "sha256:aa".into(),
                stream: 1,
                msg: b"hello\n".to_vec(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let encoded = base64::engine::general_purpose::STANDARD.encode(status.encode_to_vec());
        let aux = serde_json::Value::String(encoded);
        let Aux::Trace(decoded) = Aux::read("ImageBuild", Some(TRACE_ID), &aux).unwrap() else {
            panic!("a trace")
        };
        assert_eq!(decoded, status);
        let vertex = &decoded.vertexes[0];
        assert_eq!(vertex.completed.unwrap().seconds_since(&vertex.started.unwrap()), 0.5);

        let image = serde_json::json!({"ID": "sha256:bb"});
        assert_eq!(
            Aux::read("ImageBuild", Some("moby.image.id"), &image).unwrap(),
            Aux::Image { id: "sha256:bb".into() }
        );
        let other = serde_json::json!({"Size": 3});
        assert_eq!(Aux::read("ImageBuild", None, &other).unwrap(), Aux::Other(other));
    }

    #[test]
    fn a_broken_trace_is_an_error_naming_what_failed() {
        let not_base64 = serde_json::Value::String("%%%".into());
        let error = Aux::read("ImageBuild", Some(TRACE_ID), &not_base64).unwrap_err();
        assert!(error.to_string().contains("not base64"), "{error}");
        // A field 1 that claims 100 bytes of a message, with 2 there.
        let cut = base64::engine::general_purpose::STANDARD.encode([0x0a, 100, 1, 2]);
        let error = Aux::read("ImageBuild", Some(TRACE_ID), &serde_json::Value::String(cut)).unwrap_err();
        assert!(error.to_string().contains("not a StatusResponse"), "{error}");
    }

    #[test]
    fn durations_between_any_timestamps_are_numbers() {
        let (first, last) = (
            Timestamp {
                seconds: i64::MIN,
                nanos: i32::MIN,
            },
            Timestamp {
                seconds: i64::MAX,
                nanos: i32::MAX,
            },
        );
        assert!(last.seconds_since(&first) > 1e19);
        assert!(first.seconds_since(&last) < -1e19);
    }
}
