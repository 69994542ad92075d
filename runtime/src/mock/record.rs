//! Record and replay: a [`Recorder`] stands between a client and a real daemon, passing every
//! exchange on and writing it to a file, one JSON line each (request, status, headers, body
//! chunks, and for a hijacked session what each side wrote, in the order the recorder saw it; no
//! timing); a mock server started with [`super::MockServer::replay`] answers the same requests
//! from that file, plays the sessions again, and reports any request or input that differs.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::combinators::UnsyncBoxBody;

use super::ReplyBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};

use crate::transport::Connector;
use crate::transport::Endpoint;

/// Response headers not replayed: those of the connection and the body's framing, which the
/// replaying server writes anew, and the date. Every other header is kept, as a client may read
/// it (`Api-Version`, `Server`, `Swarm`, `Builder-Version`, a path stat, a location).
const DROPPED_HEADERS: [&str; 5] = [
    "date",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
];

/// One request and its answer, as a line of a recording.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exchange {
    /// Where the request came among those the recorder received, from 1. Lines are written as
    /// exchanges end, so a stream or session asked for early comes after those it outlived;
    /// [`read_recording`] puts them back in the order they were asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<u64>,
    pub method: String,
    /// The path as sent, with its version prefix.
    pub path: String,
    /// The query string as sent, without `?`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub query: String,
    #[serde(default, skip_serializing_if = "Content::is_empty")]
    pub body: Content,
    pub status: u16,
    /// Lower-case names.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// The answer's body as its chunks arrived; a stream cut short by the client ends where the
    /// client left.
    #[serde(default)]
    pub chunks: Vec<Content>,
    /// For a hijacked session (`101`, attach and exec start), what went through the taken-over
    /// connection after the upgrade.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub session: Vec<SessionEvent>,
}

/// One thing that happened on a hijacked session's connection, as the recorder saw it: bytes one
/// side wrote (the daemon's as it framed them), a WebSocket message, or one side closing its half
/// (for a WebSocket, its close message).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionEvent {
    Client(Content),
    Daemon(Content),
    ClientMessage(WebSocketMessage),
    DaemonMessage(WebSocketMessage),
    ClientClosed,
    DaemonClosed,
}

/// A WebSocket message's kind and payload (dockerd sends text before API 1.28, binary from it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebSocketMessage {
    Text(String),
    Binary(Content),
}

impl WebSocketMessage {
    fn payload(&self) -> Result<Bytes, String> {
        match self {
            WebSocketMessage::Text(text) => Ok(Bytes::from(text.clone())),
            WebSocketMessage::Binary(content) => content.bytes(),
        }
    }
}

/// Bytes as text when they are UTF-8, else as base64, so a recording of JSON stays readable.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Content {
    #[default]
    Empty,
    Text(String),
    Binary {
        base64: String,
    },
}

impl Content {
    pub(super) fn of(bytes: &[u8]) -> Content {
        use base64::Engine;
        match std::str::from_utf8(bytes) {
            Ok("") => Content::Empty,
            Ok(text) => Content::Text(text.to_owned()),
            Err(_) => Content::Binary {
                base64: base64::engine::general_purpose::STANDARD.encode(bytes),
            },
        }
    }

    pub fn is_empty(&self) -> bool {
        matches!(self, Content::Empty)
    }

    /// The bytes; base64 that does not decode is an error naming it.
    pub fn bytes(&self) -> Result<Bytes, String> {
        use base64::Engine;
        match self {
            Content::Empty => Ok(Bytes::new()),
            Content::Text(text) => Ok(Bytes::from(text.clone())),
            Content::Binary { base64 } => base64::engine::general_purpose::STANDARD
                .decode(base64)
                .map(Bytes::from)
                .map_err(|e| format!("recorded bytes are not base64: {e}")),
        }
    }
}

/// Reads a recording: one exchange per line, returned in the order the requests were received
/// (lines without a sequence number, as a hand-written recording may have, in the file's order).
/// A line that does not decode is an error naming its number.
pub fn read_recording(file: &Path) -> std::io::Result<Vec<Exchange>> {
    let text = std::fs::read_to_string(file)?;
    let mut exchanges = text
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(index, line)| {
            serde_json::from_str(line).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{} line {}: not a recorded exchange: {e}", file.display(), index + 1),
                )
            })
        })
        .collect::<std::io::Result<Vec<Exchange>>>()?;
    exchanges.sort_by_key(|exchange| exchange.sequence);
    Ok(exchanges)
}

/// A proxy in front of a daemon that records every exchange passing through it.
pub struct Recorder {
    socket: PathBuf,
    accepting: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder").field("socket", &self.socket).finish()
    }
}

struct Recording {
    daemon: Connector,
    file: Mutex<std::fs::File>,
    /// Requests received so far.
    received: std::sync::atomic::AtomicU64,
}

impl Recorder {
    /// Listens on a new Unix socket, passing requests on to `daemon` (any endpoint the client
    /// supports) and appending each exchange to `file`, created or emptied first, once it has
    /// ended: a stream or a hijacked session after its last byte, so lines follow the order in
    /// which exchanges ended. Must be called within a tokio runtime.
    pub async fn start(daemon: &Endpoint, file: &Path) -> crate::error::Result<Recorder> {
        let daemon = Connector::new(daemon, Duration::from_secs(10))?;
        let io_error = |e: std::io::Error| crate::error::Error::Config(format!("{}: {e}", file.display()));
        let file = std::fs::File::create(file).map_err(io_error)?;
        let socket = super::new_socket_path("docker-recorder");
        let listener = tokio::net::UnixListener::bind(&socket).map_err(io_error)?;
        let recording = Arc::new(Recording {
            daemon,
            file: Mutex::new(file),
            received: std::sync::atomic::AtomicU64::new(0),
        });
        let listener = super::Listener::Unix(listener, socket.clone());
        let accepting = tokio::spawn(super::accept(listener, move |request| {
            pass_on(recording.clone(), request)
        }));
        Ok(Recorder { socket, accepting })
    }

    /// Where clients reach it.
    pub fn endpoint(&self) -> Endpoint {
        Endpoint::Unix(self.socket.clone())
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.accepting.abort();
        let _ = std::fs::remove_file(&self.socket);
    }
}

/// Writes its exchange when dropped: after the last chunk, or when the client leaves a stream.
struct Pending {
    exchange: Exchange,
    recording: Arc<Recording>,
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let Ok(line) = serde_json::to_string(&self.exchange) {
            let mut file = self.recording.file.lock().expect("recording file");
            let _ = writeln!(file, "{line}");
        }
    }
}

async fn pass_on(
    recording: Arc<Recording>,
    mut request: http::Request<hyper::body::Incoming>,
) -> http::Response<ReplyBody> {
    let sequence = recording.received.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
    let client_side = hyper::upgrade::on(&mut request);
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let mut exchange = Exchange {
        sequence: Some(sequence),
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or_default().to_owned(),
        body: Content::of(&body),
        status: 502,
        headers: Vec::new(),
        chunks: Vec::new(),
        session: Vec::new(),
    };
    let mut response = match forward(&recording.daemon, parts, body).await {
        Ok(response) => response,
        Err(message) => {
            exchange.chunks.push(Content::Text(message.clone()));
            drop(Pending { exchange, recording });
            return http::Response::builder()
                .status(502)
                .body(UnsyncBoxBody::new(Full::new(Bytes::from(message))))
                .expect("recorder response");
        }
    };
    let hijacked = response.status() == http::StatusCode::SWITCHING_PROTOCOLS;
    let daemon_side = hijacked.then(|| hyper::upgrade::on(&mut response));
    let (parts, body) = response.into_parts();
    exchange.status = parts.status.as_u16();
    exchange.headers = parts
        .headers
        .iter()
        .filter(|(name, _)| !DROPPED_HEADERS.contains(&name.as_str()))
        .filter_map(|(name, value)| Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned())))
        .collect();
    let mut pending = Pending { exchange, recording };
    // The body passes through unchanged, so its length, where the daemon gave one, holds.
    let mut reply = http::Response::builder().status(parts.status);
    for (name, value) in &parts.headers {
        if name != http::header::TRANSFER_ENCODING {
            reply = reply.header(name, value);
        }
    }
    if let Some(daemon_side) = daemon_side {
        // The two connections are joined once both sides have switched; the exchange is written
        // when the session ends, with what went through it.
        let websocket = is_websocket(&pending.exchange.headers);
        tokio::spawn(async move {
            // Nothing went through a failed upgrade: the transcript stays empty, which a replay
            // reports.
            if let (Ok(client), Ok(daemon)) = (client_side.await, daemon_side.await) {
                let (client, daemon) = (TokioIo::new(client), TokioIo::new(daemon));
                pending.exchange.session = match websocket {
                    #[cfg(feature = "websocket")]
                    true => super::websocket::relay(client, daemon).await,
                    _ => relay(client, daemon).await,
                };
            }
            drop(pending);
        });
        return reply
            .body(UnsyncBoxBody::new(Full::new(Bytes::new())))
            .expect("recorder response");
    }
    let frames = futures_util::stream::unfold((body, pending), |(mut body, mut pending)| async move {
        loop {
            match body.frame().await? {
                Ok(frame) => match frame.into_data() {
                    Ok(data) => {
                        pending.exchange.chunks.push(Content::of(&data));
                        return Some((Ok(Frame::data(data)), (body, pending)));
                    }
                    Err(_trailers) => continue,
                },
                // The daemon's side broke: the client sees the body end where it did.
                Err(_) => return None,
            }
        }
    });
    reply
        .body(UnsyncBoxBody::new(StreamBody::new(frames.boxed())))
        .expect("recorder response")
}

/// Passes a hijacked session's bytes both ways until both sides have closed, each side's close
/// passed on as a half-close, as the daemon and clients use it (the client's end of input). What
/// each side wrote is noted before it is passed on, so the transcript keeps cause before effect.
async fn relay<C, D>(client: C, daemon: D) -> Vec<SessionEvent>
where
    C: tokio::io::AsyncRead + tokio::io::AsyncWrite,
    D: tokio::io::AsyncRead + tokio::io::AsyncWrite,
{
    let transcript = Mutex::new(Vec::new());
    let (mut client_read, mut client_write) = tokio::io::split(client);
    let (mut daemon_read, mut daemon_write) = tokio::io::split(daemon);
    let up = pump(
        &mut client_read,
        &mut daemon_write,
        &transcript,
        SessionEvent::Client,
        SessionEvent::ClientClosed,
    );
    let down = pump(
        &mut daemon_read,
        &mut client_write,
        &transcript,
        SessionEvent::Daemon,
        SessionEvent::DaemonClosed,
    );
    tokio::join!(up, down);
    transcript.into_inner().expect("session transcript")
}

/// Copies one direction of a session, noting each read in the transcript.
async fn pump(
    from: &mut (impl tokio::io::AsyncRead + Unpin),
    to: &mut (impl tokio::io::AsyncWrite + Unpin),
    transcript: &Mutex<Vec<SessionEvent>>,
    wrote: fn(Content) -> SessionEvent,
    closed: SessionEvent,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buffer = vec![0; 16 * 1024];
    loop {
        let read = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(read) => &buffer[..read],
        };
        transcript
            .lock()
            .expect("session transcript")
            .push(wrote(Content::of(read)));
        if to.write_all(read).await.is_err() {
            break;
        }
    }
    transcript.lock().expect("session transcript").push(closed);
    let _ = to.shutdown().await;
}

/// Whether an answer's headers upgrade to a WebSocket (`Upgrade: websocket`).
pub(super) fn is_websocket(headers: &[(String, String)]) -> bool {
    headers
        .iter()
        .any(|(name, value)| name.eq_ignore_ascii_case("upgrade") && value.eq_ignore_ascii_case("websocket"))
}

/// The steps that play a recorded session again: the daemon's bytes (or messages) sent as they
/// were, the client's expected (consecutive writes as one, since a client may write them in
/// other pieces), each side's close where it came.
pub(super) fn session_steps(transcript: &[SessionEvent]) -> Result<Vec<super::answer::SessionStep>, String> {
    use super::answer::SessionStep;
    let mut steps = Vec::new();
    for event in transcript {
        let from_client = match event {
            SessionEvent::Daemon(content) => {
                steps.push(SessionStep::Raw(content.bytes()?));
                continue;
            }
            SessionEvent::DaemonMessage(message) => {
                steps.push(SessionStep::Message(message.clone()));
                continue;
            }
            SessionEvent::ClientClosed => {
                steps.push(SessionStep::ExpectEnd);
                continue;
            }
            SessionEvent::DaemonClosed => {
                steps.push(SessionStep::CloseOutput);
                continue;
            }
            SessionEvent::Client(content) => content.bytes()?,
            SessionEvent::ClientMessage(message) => message.payload()?,
        };
        match steps.last_mut() {
            Some(SessionStep::Expect(expected)) => {
                let mut joined = expected.to_vec();
                joined.extend_from_slice(&from_client);
                *expected = Bytes::from(joined);
            }
            _ => steps.push(SessionStep::Expect(from_client)),
        }
    }
    Ok(steps)
}

/// Sends the request to the daemon on a connection of its own.
async fn forward(
    daemon: &Connector,
    parts: http::request::Parts,
    body: Bytes,
) -> Result<http::Response<hyper::body::Incoming>, String> {
    let stream = daemon
        .dial()
        .await
        .map_err(|e| format!("recorder: cannot reach the daemon: {e}"))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("recorder: {e}"))?;
    tokio::spawn(connection.with_upgrades());
    let request = http::Request::from_parts(parts, Full::new(body));
    sender.send_request(request).await.map_err(|e| format!("recorder: {e}"))
}

/// What a replaying server still has to answer, and the requests that did not match.
#[derive(Default)]
pub(super) struct Script {
    exchanges: Vec<Exchange>,
    /// Which exchanges were answered.
    used: Vec<bool>,
    /// Each request must be the next one recorded; otherwise any recorded exchange not yet
    /// answered that it matches answers it.
    in_order: bool,
    pub(super) mismatches: Vec<String>,
    answered: usize,
}

/// Requests a client repeats whenever it likes (negotiation, a check of the daemon): in a
/// replay by content, answered by their recording as often as they come.
fn repeatable(exchange: &Exchange) -> bool {
    let path = super::split_version(&exchange.path).1;
    matches!(exchange.method.as_str(), "GET" | "HEAD") && matches!(path, "/_ping" | "/version" | "/info")
}

impl Script {
    pub(super) fn new(exchanges: Vec<Exchange>, in_order: bool) -> Self {
        Script {
            used: vec![false; exchanges.len()],
            exchanges,
            in_order,
            ..Default::default()
        }
    }

    /// The recorded exchanges never answered (in a replay by content, repeatable ones aside).
    pub(super) fn remaining(&self) -> usize {
        self.exchanges
            .iter()
            .zip(&self.used)
            .filter(|(exchange, used)| !**used && (self.in_order || !repeatable(exchange)))
            .count()
    }

    /// The recorded answer to a request, if `method`, `path`, `query` and `body` are what was
    /// recorded (next, when in order); otherwise the difference, which is also kept for the
    /// test. A recorded hijacked session is answered with its upgrade, and reported: a
    /// recording does not hold what the session carried.
    pub(super) fn answer(&mut self, method: &str, path: &str, query: &str, body: &[u8]) -> Result<Exchange, String> {
        let number = self.answered + 1;
        let matches = |exchange: &Exchange| difference(exchange, method, path, query, body).is_none();
        let unused = |at: &usize| !self.used[*at];
        let found = if self.in_order {
            match (0..self.exchanges.len()).find(unused) {
                None => Err(format!(
                    "request {number}, {method} {path}, comes after the {} recorded",
                    self.answered
                )),
                Some(next) => match difference(&self.exchanges[next], method, path, query, body) {
                    Some(difference) => Err(format!("request {number} differs from the recording: {difference}")),
                    None => Ok(next),
                },
            }
        } else {
            let fresh = (0..self.exchanges.len()).find(|at| unused(at) && matches(&self.exchanges[*at]));
            // A repeated ping or version read, with or without the path's version prefix.
            let same_read = |exchange: &Exchange| {
                repeatable(exchange)
                    && exchange.method == method
                    && exchange.query == query
                    && super::split_version(&exchange.path).1 == super::split_version(path).1
            };
            let again = || (0..self.exchanges.len()).find(|at| same_read(&self.exchanges[*at]));
            fresh.or_else(again).ok_or_else(|| {
                // The nearest: a recorded request left to the same method and path.
                let near = (0..self.exchanges.len())
                    .filter(unused)
                    .find(|at| self.exchanges[*at].method == method && self.exchanges[*at].path == path)
                    .and_then(|at| difference(&self.exchanges[at], method, path, query, body));
                let near = near
                    .map(|difference| format!(" (the nearest: {difference})"))
                    .unwrap_or_default();
                format!("request {number}, {method} {path}, matches no recorded exchange left{near}")
            })
        };
        match found {
            Ok(at) => {
                self.used[at] = true;
                self.answered += 1;
                let exchange = self.exchanges[at].clone();
                if exchange.status == 101 && exchange.session.is_empty() {
                    self.mismatches.push(format!(
                        "request {number}, {method} {path}, took the connection over in the recording, \
                         which holds nothing of the session: it cannot be replayed"
                    ));
                }
                Ok(exchange)
            }
            Err(message) => {
                self.mismatches.push(message.clone());
                Err(message)
            }
        }
    }
}

fn difference(expected: &Exchange, method: &str, path: &str, query: &str, body: &[u8]) -> Option<String> {
    let line = |method: &str, path: &str, query: &str| {
        if query.is_empty() {
            format!("{method} {path}")
        } else {
            format!("{method} {path}?{query}")
        }
    };
    let (wanted, got) = (
        line(&expected.method, &expected.path, &expected.query),
        line(method, path, query),
    );
    if wanted != got {
        return Some(format!("expected {wanted}, got {got}"));
    }
    let recorded = expected.body.bytes().unwrap_or_default();
    // JSON bodies are compared as values: a client may order keys differently.
    let same_json = || {
        let value = |bytes: &[u8]| serde_json::from_slice::<serde_json::Value>(bytes).ok();
        value(&recorded).is_some_and(|recorded| Some(recorded) == value(body))
    };
    if recorded[..] != *body && !same_json() {
        return Some(format!(
            "{got}: expected the body {}, got {}",
            crate::error::snippet(&recorded),
            crate::error::snippet(body)
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange(method: &str, path: &str, query: &str, body: &str) -> Exchange {
        Exchange {
            sequence: None,
            method: method.into(),
            path: path.into(),
            query: query.into(),
            body: Content::of(body.as_bytes()),
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            chunks: vec![Content::of(b"{}")],
            session: Vec::new(),
        }
    }

    #[test]
    fn bytes_are_kept_as_text_or_base64_and_lines_read_back() {
        assert_eq!(Content::of(b""), Content::Empty);
        assert_eq!(Content::of(b"{\"a\":1}"), Content::Text("{\"a\":1}".into()));
        let binary = Content::of(&[0xff, 0, 1]);
        assert!(matches!(&binary, Content::Binary { base64 } if base64 == "/wAB"));
        assert_eq!(&binary.bytes().unwrap()[..], [0xff, 0, 1]);
        let line = serde_json::to_string(&exchange("GET", "/v1.41/x", "", "")).unwrap();
        assert!(
            !line.contains("query") && !line.contains("body"),
            "empty parts left out: {line}"
        );
        let file = std::env::temp_dir().join(format!("recording-test-{}.jsonl", std::process::id()));
        std::fs::write(&file, format!("{line}\n\nnot json\n")).unwrap();
        let error = read_recording(&file).unwrap_err().to_string();
        assert!(
            error.ends_with("line 3: not a recorded exchange: expected ident at line 1 column 2"),
            "{error}"
        );
        std::fs::write(&file, format!("{line}\n")).unwrap();
        assert_eq!(read_recording(&file).unwrap(), [exchange("GET", "/v1.41/x", "", "")]);
        // Written as they ended, read as they were asked for.
        let numbered = |sequence, path| {
            let mut exchange = exchange("GET", path, "", "");
            exchange.sequence = Some(sequence);
            serde_json::to_string(&exchange).unwrap()
        };
        let (attach, start) = (numbered(2, "/v1.41/attach"), numbered(3, "/v1.41/start"));
        std::fs::write(&file, format!("{}\n{start}\n{attach}\n", numbered(1, "/_ping"))).unwrap();
        let paths: Vec<String> = read_recording(&file).unwrap().into_iter().map(|e| e.path).collect();
        assert_eq!(paths, ["/_ping", "/v1.41/attach", "/v1.41/start"]);
        std::fs::remove_file(&file).unwrap();
    }

    #[tokio::test]
    async fn a_relayed_session_keeps_each_sides_bytes_and_closes_in_order() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut client, client_side) = tokio::io::duplex(64);
        let (daemon_side, mut daemon) = tokio::io::duplex(64);
        let relaying = tokio::spawn(relay(client_side, daemon_side));
        client.write_all(b"ls\n").await.unwrap();
        let mut read = [0; 3];
        daemon.read_exact(&mut read).await.unwrap();
        assert_eq!(&read, b"ls\n");
        daemon.write_all(b"\x01\0\0\0\0\0\0\x02a\n").await.unwrap();
        let mut framed = [0; 10];
        client.read_exact(&mut framed).await.unwrap();
        client.shutdown().await.unwrap();
        let mut rest = Vec::new();
        daemon.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty(), "the client's close reaches the daemon");
        daemon.write_all(&[0xff]).await.unwrap();
        drop(daemon);
        client.read_to_end(&mut rest).await.unwrap();
        assert_eq!(rest, [0xff], "output after the client's close still arrives");
        let transcript = tokio::time::timeout(Duration::from_secs(5), relaying)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            transcript,
            [
                SessionEvent::Client(Content::Text("ls\n".into())),
                SessionEvent::Daemon(Content::Text("\u{1}\0\0\0\0\0\0\u{2}a\n".into())),
                SessionEvent::ClientClosed,
                SessionEvent::Daemon(Content::Binary { base64: "/w==".into() }),
                SessionEvent::DaemonClosed,
            ]
        );
        let line = serde_json::to_string(&transcript).unwrap();
        assert_eq!(
            line,
            r#"[{"client":"ls\n"},{"daemon":"\u0001\u0000\u0000\u0000\u0000\u0000\u0000\u0002a\n"},"client_closed",{"daemon":{"base64":"/w=="}},"daemon_closed"]"#
        );
    }

    #[test]
    fn a_transcript_plays_as_the_daemons_bytes_and_the_clients_joined() {
        use crate::mock::answer::SessionStep;
        let steps = session_steps(&[
            SessionEvent::Daemon(Content::Text("$ ".into())),
            SessionEvent::Client(Content::Text("ec".into())),
            SessionEvent::Client(Content::Text("ho\n".into())),
            SessionEvent::DaemonClosed,
            SessionEvent::ClientClosed,
        ])
        .unwrap();
        let shown: Vec<String> = steps
            .iter()
            .map(|step| match step {
                SessionStep::Raw(bytes) => format!("send {bytes:?}"),
                SessionStep::Expect(bytes) => format!("expect {bytes:?}"),
                SessionStep::CloseOutput => "close".into(),
                SessionStep::ExpectEnd => "expect end".into(),
                SessionStep::Message(message) => format!("message {message:?}"),
                SessionStep::Send(_) => "piece".into(),
            })
            .collect();
        assert_eq!(shown, [r#"send b"$ ""#, r#"expect b"echo\n""#, "close", "expect end"]);

        // A WebSocket session's messages, the client's joined by payload whatever their kind.
        let steps = session_steps(&[
            SessionEvent::ClientMessage(WebSocketMessage::Binary(Content::Text("ec".into()))),
            SessionEvent::ClientMessage(WebSocketMessage::Text("ho\n".into())),
            SessionEvent::DaemonMessage(WebSocketMessage::Text("echo\n".into())),
        ])
        .unwrap();
        assert!(
            matches!(&steps[..], [SessionStep::Expect(input), SessionStep::Message(WebSocketMessage::Text(output))]
                if input == "echo\n" && output == "echo\n"),
            "{steps:?}"
        );
        let broken = session_steps(&[SessionEvent::Daemon(Content::Binary { base64: "!".into() })]);
        assert!(broken.unwrap_err().starts_with("recorded bytes are not base64"));
    }

    #[test]
    fn requests_are_answered_in_order_and_a_different_one_is_reported() {
        let mut script = Script::new(
            vec![
                exchange(
                    "POST",
                    "/v1.41/containers/create",
                    "name=web",
                    r#"{"Image":"busybox","Cmd":["true"]}"#,
                ),
                exchange("POST", "/v1.41/containers/web/start", "", ""),
            ],
            true,
        );
        let reordered_keys = br#"{"Cmd": ["true"], "Image": "busybox"}"#;
        assert!(script
            .answer("POST", "/v1.41/containers/create", "name=web", reordered_keys)
            .is_ok());
        let wrong = script
            .answer("POST", "/v1.41/containers/web/stop", "", b"")
            .unwrap_err();
        assert_eq!(
            wrong,
            "request 2 differs from the recording: expected POST /v1.41/containers/web/start, got POST /v1.41/containers/web/stop"
        );
        assert_eq!(script.remaining(), 1, "a refused request takes nothing");
        assert!(script.answer("POST", "/v1.41/containers/web/start", "", b"").is_ok());
        let extra = script.answer("GET", "/_ping", "", b"").unwrap_err();
        assert_eq!(extra, "request 3, GET /_ping, comes after the 2 recorded");
        assert_eq!(script.mismatches.len(), 2);

        let mut script = Script::new(vec![exchange("POST", "/v1.41/build", "", "context")], true);
        let body = script.answer("POST", "/v1.41/build", "", b"other").unwrap_err();
        assert!(
            body.ends_with(r#"POST /v1.41/build: expected the body "context", got "other""#),
            "{body}"
        );
    }

    #[test]
    fn by_content_requests_find_their_exchange_and_pings_are_answered_wherever_they_come() {
        let mut attach = exchange("POST", "/v1.41/containers/web/attach", "stream=1", "");
        attach.status = 101;
        let mut script = Script::new(
            vec![
                exchange("HEAD", "/_ping", "", ""),
                exchange("POST", "/v1.41/containers/create", "name=web", "{}"),
                exchange("GET", "/v1.41/version", "", ""),
                exchange("POST", "/v1.41/containers/web/start", "", ""),
                attach,
            ],
            false,
        );
        assert!(script.answer("GET", "/v1.41/version", "", b"").is_ok(), "out of order");
        assert!(script.answer("HEAD", "/_ping", "", b"").is_ok());
        assert!(script.answer("HEAD", "/_ping", "", b"").is_ok(), "a ping again");
        assert!(
            script.answer("HEAD", "/v1.41/_ping", "", b"").is_ok(),
            "and at a version"
        );
        assert!(script.answer("POST", "/v1.41/containers/web/start", "", b"").is_ok());
        let again = script
            .answer("POST", "/v1.41/containers/web/start", "", b"")
            .unwrap_err();
        assert_eq!(
            again,
            "request 6, POST /v1.41/containers/web/start, matches no recorded exchange left"
        );
        let near = script
            .answer("POST", "/v1.41/containers/create", "name=db", b"{}")
            .unwrap_err();
        assert!(
            near.ends_with("(the nearest: expected POST /v1.41/containers/create?name=web, got POST /v1.41/containers/create?name=db)"),
            "{near}"
        );
        assert_eq!(script.remaining(), 2, "create and attach");
        assert_eq!(
            script
                .answer("POST", "/v1.41/containers/web/attach", "stream=1", b"")
                .unwrap()
                .status,
            101
        );
        assert!(
            script
                .mismatches
                .last()
                .unwrap()
                .ends_with("which holds nothing of the session: it cannot be replayed"),
            "{:?}",
            script.mismatches
        );
        assert_eq!(script.remaining(), 1);
    }
}
