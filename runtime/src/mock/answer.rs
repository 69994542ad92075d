//! From a test's closure to what the mock sends: the request handed to the closure, its body
//! decoded as the operation's body type, and the closure's typed answer encoded as the daemon
//! would send it (a JSON document, a stream one item per chunk, output frames, a session on the
//! taken-over connection).

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use futures_util::stream::{self, BoxStream, Stream, StreamExt};
use http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::docker::streams::Output;
use crate::docker::PathStat;

/// A request as a handler receives it, its body decoded as the operation's body type.
#[derive(Debug, Clone)]
pub struct MockRequest<B> {
    pub operation: &'static str,
    /// The path parameters, percent-decoded, by their names in the spec.
    pub path: BTreeMap<&'static str, String>,
    /// The query parameters, decoded, in the order sent.
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: B,
}

impl<B> MockRequest<B> {
    /// A path parameter by its name in the spec (`id`, `name`); empty if the route has none.
    pub fn path_parameter(&self, name: &str) -> &str {
        self.path.get(name).map(String::as_str).unwrap_or_default()
    }

    /// The last value of a query parameter.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// A boolean query parameter as the daemon reads one: `1` or `true` (any case).
    pub fn flag(&self, name: &str) -> bool {
        self.query(name)
            .is_some_and(|value| value == "1" || value.eq_ignore_ascii_case("true"))
    }

    /// The `filters` parameter: filter name to values, read from either of the daemon's forms
    /// (`{"label": ["a"]}` or `{"label": {"a": true}}`).
    pub fn filters(&self) -> Result<BTreeMap<String, Vec<String>>, MockError> {
        let Some(text) = self.query("filters") else {
            return Ok(BTreeMap::new());
        };
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Values {
            List(Vec<String>),
            Set(BTreeMap<String, bool>),
        }
        let parsed: BTreeMap<String, Values> =
            serde_json::from_str(text).map_err(|e| MockError::bad_request(format!("invalid filter {text:?}: {e}")))?;
        Ok(parsed
            .into_iter()
            .map(|(name, values)| match values {
                Values::List(list) => (name, list),
                Values::Set(set) => (name, set.into_iter().filter(|(_, on)| *on).map(|(v, _)| v).collect()),
            })
            .collect())
    }
}

/// An error answer: the status and the message the daemon would put in `{"message": ...}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockError {
    pub status: u16,
    pub message: String,
}

impl MockError {
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        MockError {
            status,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, message)
    }

    /// What the daemon answers for a missing object, e.g. `No such container: x`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(404, message)
    }

    /// What the daemon answers when an object's state forbids the operation.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(409, message)
    }

    pub fn server_error(message: impl Into<String>) -> Self {
        Self::new(500, message)
    }
}

/// The items of a streamed answer (progress, events, output pieces, byte chunks): a list, sent at
/// once, one item per chunk; or a live stream, each item sent when it comes and the answer ending
/// with the stream (a `tokio::sync::mpsc` receiver wrapped as a stream lets a test send events
/// while the client watches).
pub struct MockStream<T> {
    items: Items<T>,
    /// For output: raw TTY bytes rather than multiplexed frames.
    tty: bool,
}

enum Items<T> {
    List(Vec<T>),
    Live(BoxStream<'static, T>),
}

impl<T: Send + 'static> MockStream<T> {
    /// Items sent as `stream` yields them.
    pub fn live(stream: impl Stream<Item = T> + Send + 'static) -> Self {
        MockStream {
            items: Items::Live(stream.boxed()),
            tty: false,
        }
    }

    fn into_stream(self) -> BoxStream<'static, T> {
        match self.items {
            Items::List(list) => stream::iter(list).boxed(),
            Items::Live(live) => live,
        }
    }
}

impl MockStream<Output> {
    /// Output of a container with a TTY, sent raw (`application/vnd.docker.raw-stream`). A list
    /// holding `Output::Console` pieces is sent raw without being told.
    pub fn tty(mut self) -> Self {
        self.tty = true;
        self
    }
}

impl<T> From<Vec<T>> for MockStream<T> {
    fn from(list: Vec<T>) -> Self {
        MockStream {
            items: Items::List(list),
            tty: false,
        }
    }
}

impl<T> FromIterator<T> for MockStream<T> {
    fn from_iter<I: IntoIterator<Item = T>>(items: I) -> Self {
        Self::from(items.into_iter().collect::<Vec<_>>())
    }
}

impl<T> std::fmt::Debug for MockStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.items {
            Items::List(list) => write!(f, "MockStream({} items)", list.len()),
            Items::Live(_) => f.write_str("MockStream(live)"),
        }
    }
}

/// The answer to an attach or exec start. [`MockSession::output`] (or a list of pieces, through
/// `From`) answers with a plain body, as the daemon answers a request that does not take over the
/// connection: what the client writes is not read. [`MockSession::script`] takes the connection
/// over (`101 Switching Protocols`, as the daemon does) and plays its steps in order: output sent,
/// input expected.
#[derive(Debug, Clone, Default)]
pub struct MockSession {
    steps: Vec<SessionStep>,
    upgrade: bool,
    tty: bool,
}

#[derive(Debug, Clone)]
pub(super) enum SessionStep {
    Send(Output),
    /// Bytes sent as they are, framed already (a replayed session).
    Raw(Bytes),
    /// A replayed WebSocket message, of its recorded kind.
    Message(super::record::WebSocketMessage),
    /// Exactly these bytes from the client.
    Expect(Bytes),
    /// The client closing its side.
    ExpectEnd,
    /// The daemon closing its side, the client's still open.
    CloseOutput,
}

impl MockSession {
    /// Output only, in a plain body.
    pub fn output(pieces: impl IntoIterator<Item = Output>) -> Self {
        MockSession {
            steps: pieces.into_iter().map(SessionStep::Send).collect(),
            upgrade: false,
            tty: false,
        }
    }

    /// A session on the taken-over connection, its steps added with the methods below. It ends
    /// after its last step, with the mock closing the connection (as a container exiting does).
    pub fn script() -> Self {
        MockSession {
            upgrade: true,
            ..Default::default()
        }
    }

    /// Sends a piece of output: a multiplexed frame, or raw bytes for `Output::Console` (a TTY).
    pub fn send(mut self, piece: Output) -> Self {
        self.tty |= matches!(piece, Output::Console(_));
        self.steps.push(SessionStep::Send(piece));
        self
    }

    /// Waits for the client to write exactly these bytes; anything else ends the session and is
    /// reported by `MockServer::sessions_ended` (which waits for the session to end first).
    pub fn expect_input(mut self, bytes: impl Into<Bytes>) -> Self {
        self.steps.push(SessionStep::Expect(bytes.into()));
        self
    }

    /// Waits for the client to close its input: `shutdown()` of the session's `input`
    /// (`tokio::io::AsyncWriteExt`), which half-closes the connection.
    pub fn expect_input_end(mut self) -> Self {
        self.steps.push(SessionStep::ExpectEnd);
        self
    }
}

impl From<Vec<Output>> for MockSession {
    fn from(pieces: Vec<Output>) -> Self {
        Self::output(pieces)
    }
}

impl FromIterator<Output> for MockSession {
    fn from_iter<I: IntoIterator<Item = Output>>(pieces: I) -> Self {
        Self::output(pieces)
    }
}

/// A complete answer, before it is sent.
pub struct Reply {
    pub(super) status: StatusCode,
    pub(super) headers: Vec<(String, String)>,
    pub(super) payload: Payload,
}

pub(super) enum Payload {
    /// One body, sent with its length.
    Whole(Bytes),
    /// Chunks sent as they come, one HTTP chunk each (the daemon flushes each message).
    Chunks(BoxStream<'static, Bytes>),
    /// The connection taken over, then these steps.
    Session(Vec<SessionStep>, bool),
    /// The connection taken over as a WebSocket, then these steps, a message each.
    #[cfg(feature = "websocket")]
    WebSocket(Vec<SessionStep>),
}

impl Reply {
    pub(super) fn whole(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Self {
        Reply {
            status,
            headers: vec![("Content-Type".into(), content_type.to_owned())],
            payload: Payload::Whole(body.into()),
        }
    }

    fn streamed(content_type: &str, chunks: BoxStream<'static, Bytes>) -> Self {
        Reply {
            status: StatusCode::OK,
            headers: vec![("Content-Type".into(), content_type.to_owned())],
            payload: Payload::Chunks(chunks),
        }
    }

    pub(super) fn error(error: &MockError) -> Self {
        let status = StatusCode::from_u16(error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::json!({ "message": error.message }).to_string();
        Reply::whole(status, "application/json", body)
    }
}

/// A request before its body is decoded for the handler.
pub struct RawRequest {
    pub(super) operation: &'static str,
    pub(super) path: BTreeMap<&'static str, String>,
    pub(super) query: Vec<(String, String)>,
    pub(super) headers: HeaderMap,
    pub(super) body: Bytes,
}

/// What answers one operation.
pub type Handler = Arc<dyn Fn(RawRequest) -> Reply + Send + Sync>;

/// Makes a handler from a test's closure: `body` decodes the request body as the operation's
/// body type, the closure answers, and `answer` encodes its value as the operation's response.
pub fn handler<B: 'static, A: 'static>(
    body: fn(&'static str, Bytes) -> Result<B, MockError>,
    answer: fn(A) -> Reply,
    respond: impl Fn(MockRequest<B>) -> Result<A, MockError> + Send + Sync + 'static,
) -> Handler {
    Arc::new(move |raw: RawRequest| {
        let operation = raw.operation;
        let decoded = match body(raw.operation, raw.body) {
            Ok(decoded) => decoded,
            Err(error) => return Reply::error(&error),
        };
        let request = MockRequest {
            operation: raw.operation,
            path: raw.path,
            query: raw.query,
            headers: raw.headers,
            body: decoded,
        };
        // A failed assertion in a test's handler is answered, so the client under test gets an
        // error naming it rather than a connection closed in mid-request.
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| respond(request))) {
            Ok(Ok(value)) => answer(value),
            Ok(Err(error)) => Reply::error(&error),
            Err(panic) => {
                let what = panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("a panic");
                Reply::error(&MockError::server_error(format!(
                    "the mock's answer to {operation} panicked: {what}"
                )))
            }
        }
    })
}

/// The body of an operation that takes none: ignored.
pub fn no_body(_operation: &'static str, _body: Bytes) -> Result<(), MockError> {
    Ok(())
}

/// A raw body (a tar archive, an image tarball).
pub fn bytes_body(_operation: &'static str, body: Bytes) -> Result<Bytes, MockError> {
    Ok(body)
}

/// A JSON body; `None` when none was sent. One that does not decode is answered with 400, as
/// the daemon answers it.
pub fn json_body<T: DeserializeOwned>(operation: &'static str, body: Bytes) -> Result<Option<T>, MockError> {
    if body.trim_ascii().is_empty() {
        return Ok(None);
    }
    serde_json::from_slice(&body)
        .map(Some)
        .map_err(|e| MockError::bad_request(format!("{operation}: the body does not decode: {e}")))
}

/// No content (`204`).
pub fn empty_answer(_: ()) -> Reply {
    Reply {
        status: StatusCode::NO_CONTENT,
        headers: Vec::new(),
        payload: Payload::Whole(Bytes::new()),
    }
}

pub fn outcome_answer(outcome: crate::client::Outcome) -> Reply {
    let status = match outcome {
        crate::client::Outcome::Done => StatusCode::NO_CONTENT,
        crate::client::Outcome::AlreadyDone => StatusCode::NOT_MODIFIED,
    };
    Reply {
        status,
        headers: Vec::new(),
        payload: Payload::Whole(Bytes::new()),
    }
}

pub fn json_answer<T: Serialize>(value: T) -> Reply {
    match serde_json::to_vec(&value) {
        Ok(json) => Reply::whole(StatusCode::OK, "application/json", json),
        Err(e) => Reply::error(&MockError::server_error(format!(
            "the mock's answer does not encode: {e}"
        ))),
    }
}

pub fn text_answer(text: String) -> Reply {
    Reply::whole(StatusCode::OK, "text/plain; charset=utf-8", text)
}

/// A byte stream (a tar archive, an export), sent in the chunks given.
pub fn bytes_answer(chunks: MockStream<Bytes>) -> Reply {
    Reply::streamed("application/x-tar", chunks.into_stream())
}

/// One JSON object per chunk, each on its line, as the daemon streams progress and events. An
/// item that does not encode ends the stream with the daemon's way of failing after a 200.
pub fn json_stream_answer<T: Serialize + Send + 'static>(items: MockStream<T>) -> Reply {
    let lines = items.into_stream().map(|item| {
        let mut line = serde_json::to_vec(&item).unwrap_or_else(|e| {
            serde_json::json!({ "error": format!("the mock's answer does not encode: {e}") })
                .to_string()
                .into_bytes()
        });
        line.push(b'\n');
        Bytes::from(line)
    });
    Reply::streamed("application/json", lines.boxed())
}

/// Container output: multiplexed frames, or the raw bytes of a TTY when the stream says so or
/// holds `Output::Console` pieces.
pub fn output_answer(pieces: MockStream<Output>) -> Reply {
    let tty = pieces.tty
        || matches!(&pieces.items, Items::List(list) if list.iter().any(|p| matches!(p, Output::Console(_))));
    Reply::streamed(output_content_type(tty), pieces.into_stream().map(frame).boxed())
}

/// The answer to attach or exec start: output in a plain body, or a scripted session.
pub fn session_answer(session: MockSession) -> Reply {
    if !session.upgrade {
        let pieces: Vec<Output> = session
            .steps
            .into_iter()
            .filter_map(|step| match step {
                SessionStep::Send(piece) => Some(piece),
                SessionStep::Raw(_)
                | SessionStep::Message(_)
                | SessionStep::Expect(_)
                | SessionStep::ExpectEnd
                | SessionStep::CloseOutput => None,
            })
            .collect();
        return output_answer(pieces.into());
    }
    Reply {
        status: StatusCode::SWITCHING_PROTOCOLS,
        headers: vec![
            ("Content-Type".into(), output_content_type(session.tty).into()),
            ("Connection".into(), "Upgrade".into()),
            ("Upgrade".into(), "tcp".into()),
        ],
        payload: Payload::Session(session.steps, session.tty),
    }
}

/// The answer to a WebSocket attach: the handshake (its `Sec-WebSocket-Accept` added for the
/// request's key when it is sent), then the session's steps as messages: each output piece one
/// binary message, unframed (dockerd never multiplexes a WebSocket), input compared by payload.
#[cfg(feature = "websocket")]
pub fn websocket_session_answer(session: MockSession) -> Reply {
    Reply {
        status: StatusCode::SWITCHING_PROTOCOLS,
        headers: vec![
            ("Connection".into(), "Upgrade".into()),
            ("Upgrade".into(), "websocket".into()),
        ],
        payload: Payload::WebSocket(session.steps),
    }
}

fn output_content_type(tty: bool) -> &'static str {
    if tty {
        "application/vnd.docker.raw-stream"
    } else {
        "application/vnd.docker.multiplexed-stream"
    }
}

/// A piece of output as the daemon sends it: an 8-byte header (stream, three zero bytes, length)
/// and the payload, or the raw bytes of a TTY.
pub(super) fn frame(piece: Output) -> Bytes {
    let stream = match &piece {
        Output::StdIn(_) => 0,
        Output::StdOut(_) => 1,
        Output::StdErr(_) => 2,
        Output::Console(bytes) => return bytes.clone(),
    };
    let bytes = piece.bytes();
    let mut frame = BytesMut::with_capacity(8 + bytes.len());
    frame.put_u8(stream);
    frame.put_bytes(0, 3);
    frame.put_u32(bytes.len() as u32);
    frame.put_slice(bytes);
    frame.freeze()
}

/// The stat of a path in a container, in the header the daemon answers `HEAD .../archive` with.
pub fn path_stat_answer(stat: PathStat) -> Reply {
    use base64::Engine;
    let json = serde_json::to_vec(&stat).unwrap_or_default();
    let mut reply = Reply::whole(StatusCode::OK, "application/json", Bytes::new());
    reply.headers = vec![(
        "X-Docker-Container-Path-Stat".into(),
        base64::engine::general_purpose::STANDARD.encode(json),
    )];
    reply
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_read_in_both_forms() {
        let request = |filters: &str| MockRequest {
            operation: "ContainerList",
            path: BTreeMap::new(),
            query: vec![("filters".into(), filters.into())],
            headers: HeaderMap::new(),
            body: (),
        };
        let list = request(r#"{"label":["a=b","c"]}"#).filters().unwrap();
        assert_eq!(list["label"], ["a=b", "c"]);
        let set = request(r#"{"status":{"running":true,"exited":false}}"#)
            .filters()
            .unwrap();
        assert_eq!(set["status"], ["running"]);
        let broken = request("{").filters().unwrap_err();
        assert_eq!(broken.status, 400);
    }

    #[test]
    fn output_is_framed_unless_it_is_a_tty() {
        assert_eq!(
            &frame(Output::StdOut(Bytes::from_static(b"hi\n")))[..],
            b"\x01\0\0\0\0\0\0\x03hi\n"
        );
        assert_eq!(
            &frame(Output::StdErr(Bytes::from_static(b"!")))[..],
            b"\x02\0\0\0\0\0\0\x01!"
        );
        assert_eq!(&frame(Output::Console(Bytes::from_static(b"$ ")))[..], b"$ ");
        let raw = output_answer(vec![Output::Console(Bytes::from_static(b"$ "))].into());
        assert_eq!(raw.headers[0].1, "application/vnd.docker.raw-stream");
        let live = output_answer(MockStream::live(stream::empty()).tty());
        assert_eq!(live.headers[0].1, "application/vnd.docker.raw-stream");
        let framed = output_answer(MockStream::live(stream::empty()));
        assert_eq!(framed.headers[0].1, "application/vnd.docker.multiplexed-stream");
    }
}
