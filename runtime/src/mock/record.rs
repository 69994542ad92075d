//! Record and replay: a [`Recorder`] stands between a client and a real daemon, passing every
//! exchange on and writing it to a file, one JSON line each (request, status, headers, body
//! chunks; no timing); a mock server started with [`super::MockServer::replay`] answers the same
//! requests in the same order from that file, and reports any request that differs.

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
    fn of(bytes: &[u8]) -> Content {
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

/// Reads a recording: one exchange per line. A line that does not decode is an error naming its
/// number.
pub fn read_recording(file: &Path) -> std::io::Result<Vec<Exchange>> {
    let text = std::fs::read_to_string(file)?;
    text.lines()
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
        .collect()
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
}

impl Recorder {
    /// Listens on a new Unix socket, passing requests on to `daemon` (any endpoint the client
    /// supports) and appending each exchange to `file`, created or emptied first. Must be called
    /// within a tokio runtime. Hijacked sessions pass through, but only their upgrade answer is
    /// recorded.
    pub async fn start(daemon: &Endpoint, file: &Path) -> crate::error::Result<Recorder> {
        let daemon = Connector::new(daemon, Duration::from_secs(10))?;
        let io_error = |e: std::io::Error| crate::error::Error::Config(format!("{}: {e}", file.display()));
        let file = std::fs::File::create(file).map_err(io_error)?;
        let socket = super::new_socket_path("docker-recorder");
        let listener = tokio::net::UnixListener::bind(&socket).map_err(io_error)?;
        let recording = Arc::new(Recording {
            daemon,
            file: Mutex::new(file),
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
    let client_side = hyper::upgrade::on(&mut request);
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let mut exchange = Exchange {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or_default().to_owned(),
        body: Content::of(&body),
        status: 502,
        headers: Vec::new(),
        chunks: Vec::new(),
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
    if response.status() == http::StatusCode::SWITCHING_PROTOCOLS {
        // A hijacked session: the two connections are joined once both sides have switched.
        let daemon_side = hyper::upgrade::on(&mut response);
        tokio::spawn(async move {
            if let (Ok(client), Ok(daemon)) = (client_side.await, daemon_side.await) {
                let _ = tokio::io::copy_bidirectional(&mut TokioIo::new(client), &mut TokioIo::new(daemon)).await;
            }
        });
    }
    let (parts, body) = response.into_parts();
    exchange.status = parts.status.as_u16();
    exchange.headers = parts
        .headers
        .iter()
        .filter(|(name, _)| !DROPPED_HEADERS.contains(&name.as_str()))
        .filter_map(|(name, value)| Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned())))
        .collect();
    let pending = Pending { exchange, recording };
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
    let mut reply = http::Response::builder().status(parts.status);
    for (name, value) in &parts.headers {
        if name != http::header::TRANSFER_ENCODING && name != http::header::CONTENT_LENGTH {
            reply = reply.header(name, value);
        }
    }
    reply
        .body(UnsyncBoxBody::new(StreamBody::new(frames.boxed())))
        .expect("recorder response")
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
                if exchange.status == 101 {
                    self.mismatches.push(format!(
                        "request {number}, {method} {path}, took the connection over in the recording, \
                         which keeps only the upgrade: the session cannot be replayed"
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
            method: method.into(),
            path: path.into(),
            query: query.into(),
            body: Content::of(body.as_bytes()),
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            chunks: vec![Content::of(b"{}")],
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
        std::fs::remove_file(&file).unwrap();
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
                .ends_with("which keeps only the upgrade: the session cannot be replayed"),
            "{:?}",
            script.mismatches
        );
        assert_eq!(script.remaining(), 1);
    }
}
