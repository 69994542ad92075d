//! A fake daemon for tests (the `mock` feature): an HTTP server on a Unix socket of its own that
//! answers each operation with what the test set, logs every request, and answers an operation
//! nothing was set for as the daemon answers an unknown route, naming the operation and the
//! setter to use. Each generated crate wraps it in a typed `MockDaemon` (its `mock` module); this
//! part knows no API version: routes and handlers come from the crate. A server can also answer
//! from a session recorded against a real daemon ([`Recorder`], [`MockServer::replay`]).

mod record;

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::{BufMut, BytesMut};
use http::{HeaderMap, Method, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use hyper_util::rt::TokioIo;
use serde::de::DeserializeOwned;
use serde::Serialize;

pub use bytes::Bytes;
pub use record::{read_recording, Content, Exchange, Recorder};

use crate::endpoint::Endpoint;
use crate::streams::Output;
use crate::PathStat;

/// One operation's place in the API, as the spec gives it.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub operation: &'static str,
    /// Upper-case HTTP method.
    pub method: &'static str,
    /// The path template after the version prefix, e.g. `/containers/{id}/json`.
    pub path: &'static str,
    /// How a test sets the answer, e.g. `containers().inspect`; empty where the mock cannot
    /// answer the operation (WebSocket sessions).
    pub setter: &'static str,
}

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

/// A request as the mock received it, for a test's assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRequest {
    /// The operation the route belongs to; `None` for a path no operation has.
    pub operation: Option<&'static str>,
    pub method: String,
    /// The path as sent, with its version prefix.
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Bytes,
}

/// A complete answer, before it is sent.
pub struct Reply {
    status: StatusCode,
    headers: Vec<(String, String)>,
    /// Sent as they are, one chunk each (the daemon flushes each message of a stream), or with
    /// a length when there is one.
    chunks: Vec<Bytes>,
    streamed: bool,
}

impl Reply {
    fn whole(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Self {
        Reply {
            status,
            headers: vec![("Content-Type".into(), content_type.to_owned())],
            chunks: vec![body.into()],
            streamed: false,
        }
    }

    fn streamed(content_type: &str, chunks: Vec<Bytes>) -> Self {
        Reply {
            status: StatusCode::OK,
            headers: vec![("Content-Type".into(), content_type.to_owned())],
            chunks,
            streamed: true,
        }
    }

    fn error(error: &MockError) -> Self {
        let status = StatusCode::from_u16(error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::json!({ "message": error.message }).to_string();
        Reply::whole(status, "application/json", body)
    }
}

/// A request before its body is decoded for the handler.
pub struct RawRequest {
    operation: &'static str,
    path: BTreeMap<&'static str, String>,
    query: Vec<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
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
        chunks: Vec::new(),
        streamed: false,
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

/// A byte stream (a tar archive, an export), sent in chunks as given.
pub fn bytes_answer(chunks: Vec<Bytes>) -> Reply {
    Reply::streamed("application/x-tar", chunks)
}

/// One JSON object per chunk, each on its line, as the daemon streams progress and events.
pub fn json_stream_answer<T: Serialize>(items: Vec<T>) -> Reply {
    let mut chunks = Vec::with_capacity(items.len());
    for item in items {
        match serde_json::to_vec(&item) {
            Ok(mut line) => {
                line.push(b'\n');
                chunks.push(Bytes::from(line));
            }
            Err(e) => {
                return Reply::error(&MockError::server_error(format!(
                    "the mock's answer does not encode: {e}"
                )))
            }
        }
    }
    Reply::streamed("application/json", chunks)
}

/// Container output: multiplexed frames for `StdIn`, `StdOut` and `StdErr` pieces, the raw bytes
/// of a TTY for `Console` pieces (a reply holds one kind or the other).
pub fn output_answer(pieces: Vec<Output>) -> Reply {
    let tty = pieces.iter().any(|piece| matches!(piece, Output::Console(_)));
    let chunks = pieces
        .into_iter()
        .map(|piece| {
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
        })
        .collect();
    let content_type = if tty {
        "application/vnd.docker.raw-stream"
    } else {
        "application/vnd.docker.multiplexed-stream"
    };
    Reply::streamed(content_type, chunks)
}

/// The stat of a path in a container, in the header the daemon answers `HEAD .../archive` with.
pub fn path_stat_answer(stat: PathStat) -> Reply {
    use base64::Engine;
    let json = serde_json::to_vec(&stat).unwrap_or_default();
    let mut reply = empty_answer(());
    reply.status = StatusCode::OK;
    reply.headers.push((
        "X-Docker-Container-Path-Stat".into(),
        base64::engine::general_purpose::STANDARD.encode(json),
    ));
    reply
}

/// The version the mock speaks unless told otherwise, and the oldest it accepts.
const MIN_API_VERSION: &str = "1.12";

struct State {
    routes: &'static [Route],
    handlers: Mutex<HashMap<&'static str, Handler>>,
    log: Mutex<Vec<LoggedRequest>>,
    api_version: Mutex<String>,
    /// What a replaying server answers, in order, instead of handlers.
    script: Option<Mutex<record::Script>>,
}

/// The running server; dropping it stops it and removes its socket.
pub struct MockServer {
    state: Arc<State>,
    socket: PathBuf,
    accepting: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for MockServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockServer").field("socket", &self.socket).finish()
    }
}

impl MockServer {
    /// Listens on a new Unix socket in the temporary folder, answering `routes` at
    /// `api_version`. Must be called within a tokio runtime, which then runs the server.
    pub async fn start(routes: &'static [Route], api_version: &str) -> std::io::Result<MockServer> {
        Self::serve(routes, api_version, None)
    }

    /// Like [`MockServer::start`], but answering the requests recorded in `file` (by a
    /// [`Recorder`]), in their order: each request must be the one recorded next (method, path,
    /// query and body; JSON bodies compared as values), and is answered with its recorded status,
    /// headers and body chunks. A request that differs is answered with a 500 naming the
    /// difference, and kept for [`MockServer::replay_outcome`].
    pub async fn replay(routes: &'static [Route], api_version: &str, file: &Path) -> std::io::Result<MockServer> {
        let script = record::Script::new(read_recording(file)?);
        Self::serve(routes, api_version, Some(Mutex::new(script)))
    }

    fn serve(
        routes: &'static [Route],
        api_version: &str,
        script: Option<Mutex<record::Script>>,
    ) -> std::io::Result<MockServer> {
        let socket = new_socket_path("docker-mock");
        let listener = tokio::net::UnixListener::bind(&socket)?;
        let state = Arc::new(State {
            routes,
            handlers: Mutex::new(HashMap::new()),
            log: Mutex::new(Vec::new()),
            api_version: Mutex::new(api_version.to_owned()),
            script,
        });
        let accepting = tokio::spawn(accept(listener, state.clone()));
        Ok(MockServer {
            state,
            socket,
            accepting,
        })
    }

    /// For a replaying server: whether every request matched the recording and every recorded
    /// exchange was requested; otherwise what went wrong, request by request.
    pub fn replay_outcome(&self) -> Result<(), String> {
        let Some(script) = &self.state.script else {
            return Err("this mock server is not replaying a recording".into());
        };
        let script = script.lock().expect("replay script");
        let mut problems = script.mismatches.clone();
        if script.remaining() > 0 {
            problems.push(format!(
                "{} recorded exchanges were never requested",
                script.remaining()
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("\n"))
        }
    }

    /// Where clients reach it.
    pub fn endpoint(&self) -> Endpoint {
        Endpoint::Unix(self.socket.clone())
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Answers `operation` with `handler` from now on, replacing what was set before.
    pub fn set(&self, operation: &'static str, handler: Handler) {
        self.state
            .handlers
            .lock()
            .expect("mock handlers")
            .insert(operation, handler);
    }

    /// The API version `/_ping` and `/version` report, and the highest a request may ask for:
    /// a request for a newer one is refused as the daemon refuses it. Set an older one to test
    /// version negotiation.
    pub fn set_api_version(&self, version: &str) {
        *self.state.api_version.lock().expect("mock version") = version.to_owned();
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.state.log.lock().expect("mock log").clone()
    }

    /// The operations requested so far, in order (requests outside any operation left out).
    pub fn operations(&self) -> Vec<&'static str> {
        self.requests().iter().filter_map(|r| r.operation).collect()
    }
}

/// A new socket path in the temporary folder, unique within this process.
fn new_socket_path(prefix: &str) -> PathBuf {
    static SOCKETS: AtomicUsize = AtomicUsize::new(0);
    let socket = std::env::temp_dir().join(format!(
        "{prefix}-{}-{}.sock",
        std::process::id(),
        SOCKETS.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_file(&socket);
    socket
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.accepting.abort();
        let _ = std::fs::remove_file(&self.socket);
    }
}

async fn accept(listener: tokio::net::UnixListener, state: Arc<State>) {
    // Held here so that aborting this task ends every connection too.
    let mut connections = tokio::task::JoinSet::new();
    while let Ok((stream, _)) = listener.accept().await {
        let state = state.clone();
        connections.spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let state = state.clone();
                async move { Ok::<_, Infallible>(serve(&state, request).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
        while connections.try_join_next().is_some() {}
    }
}

type ReplyBody = BoxBody<Bytes, Infallible>;

async fn serve(state: &State, request: http::Request<hyper::body::Incoming>) -> http::Response<ReplyBody> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().map(decode_query).unwrap_or_default();
    let api_version = state.api_version.lock().expect("mock version").clone();
    let (requested_version, unversioned) = split_version(&path);
    let found = find_route(state.routes, &parts.method, unversioned);
    state.log.lock().expect("mock log").push(LoggedRequest {
        operation: found.as_ref().map(|(route, _)| route.operation),
        method: parts.method.to_string(),
        path: path.clone(),
        query: query.clone(),
        body: body.clone(),
    });
    let reply = if let Some(script) = &state.script {
        let answer = script.lock().expect("replay script").answer(
            parts.method.as_str(),
            &path,
            parts.uri.query().unwrap_or_default(),
            &body,
        );
        replayed(answer)
    } else if let Some(too_new) = requested_version.filter(|v| newer(v, &api_version)) {
        Reply::error(&MockError::bad_request(format!(
            "client version {too_new} is too new. Maximum supported API version is {api_version}"
        )))
    } else if let Some((route, path_parameters)) = found {
        let handler = state
            .handlers
            .lock()
            .expect("mock handlers")
            .get(route.operation)
            .cloned();
        match handler {
            Some(handler) => handler(RawRequest {
                operation: route.operation,
                path: path_parameters,
                query,
                headers: parts.headers,
                body,
            }),
            None => default_reply(route, &parts.method, &api_version),
        }
    } else {
        Reply::error(&MockError::not_found("page not found"))
    };
    let mut response = http::Response::builder().status(reply.status);
    if !reply
        .headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("api-version"))
    {
        response = response.header("Api-Version", &api_version);
    }
    for (name, value) in &reply.headers {
        response = response.header(name, value);
    }
    let body: ReplyBody = if reply.streamed {
        let frames = reply.chunks.into_iter().map(|chunk| Ok(Frame::data(chunk)));
        BoxBody::new(StreamBody::new(futures_util::stream::iter(frames)))
    } else {
        BoxBody::new(Full::new(reply.chunks.into_iter().next().unwrap_or_default()))
    };
    response.body(body).expect("mock response")
}

/// A recorded answer, or the 500 that tells the client its request was not the one recorded.
fn replayed(answer: Result<Exchange, String>) -> Reply {
    let exchange = match answer {
        Ok(exchange) => exchange,
        Err(message) => return Reply::error(&MockError::server_error(format!("replay: {message}"))),
    };
    let chunks: Result<Vec<Bytes>, String> = exchange.chunks.iter().map(Content::bytes).collect();
    let chunks = match chunks {
        Ok(chunks) => chunks,
        Err(message) => return Reply::error(&MockError::server_error(format!("replay: {message}"))),
    };
    Reply {
        status: StatusCode::from_u16(exchange.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        headers: exchange.headers,
        streamed: chunks.len() > 1,
        chunks,
    }
}

/// What an operation nothing was set for answers: `/_ping` and `/version` as a daemon of the
/// mock's version; anything else as the daemon answers an unknown route, naming what to set.
fn default_reply(route: &Route, method: &Method, api_version: &str) -> Reply {
    match route.path {
        "/_ping" => {
            let mut reply = Reply::whole(StatusCode::OK, "text/plain; charset=utf-8", "OK");
            reply.headers.push(("Ostype".into(), "linux".into()));
            if method == Method::HEAD {
                reply.chunks.clear();
            }
            reply
        }
        "/version" => json_answer(serde_json::json!({
            "Version": "mock",
            "ApiVersion": api_version,
            "MinAPIVersion": MIN_API_VERSION,
            "Os": "linux",
            "Arch": "amd64",
            "Components": [{"Name": "Engine", "Version": "mock", "Details": {"ApiVersion": api_version}}],
        })),
        _ if route.setter.is_empty() => Reply::error(&MockError::not_found(format!(
            "page not found: the mock daemon cannot answer {} (a WebSocket session)",
            route.operation
        ))),
        _ => Reply::error(&MockError::not_found(format!(
            "page not found: the mock daemon has no answer for {}; set one with MockDaemon::{}",
            route.operation, route.setter
        ))),
    }
}

/// The version of a `/vX.Y/...` path, and the path without it.
fn split_version(path: &str) -> (Option<&str>, &str) {
    let Some(rest) = path.strip_prefix("/v") else {
        return (None, path);
    };
    let end = rest.find('/').unwrap_or(rest.len());
    let version = &rest[..end];
    if !version.is_empty() && version.chars().all(|c| c.is_ascii_digit() || c == '.') {
        (Some(version), &rest[end..])
    } else {
        (None, path)
    }
}

fn newer(version: &str, than: &str) -> bool {
    let numbers = |v: &str| v.split('.').map(|n| n.parse::<u32>().unwrap_or(0)).collect::<Vec<_>>();
    numbers(version) > numbers(than)
}

/// The route `path` belongs to, and its path parameters. Of the routes that match segment for
/// segment, the one with the most fixed segments wins (`/images/search` over `/images/{name}`);
/// failing those, a route whose one parameter is a `name` lets it take several segments, as the
/// daemon's router does for image, plugin and volume names sent unescaped.
fn find_route(
    routes: &'static [Route],
    method: &Method,
    path: &str,
) -> Option<(&'static Route, BTreeMap<&'static str, String>)> {
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let candidates = || {
        routes
            .iter()
            .filter(|route| route.method == method.as_str() || (method == Method::HEAD && route.path == "/_ping"))
    };
    let exact = candidates()
        .filter_map(|route| Some((route, match_template(route.path, &segments, false)?)))
        .max_by_key(|(route, parameters)| {
            (
                route.path.split('/').count() - parameters.len(),
                std::cmp::Reverse(route.path),
            )
        });
    exact.or_else(|| candidates().find_map(|route| Some((route, match_template(route.path, &segments, true)?))))
}

/// The path parameters of `segments` under `template`; with `spread`, the template's one
/// parameter, a `name`, takes every segment the template has no place for.
fn match_template(template: &'static str, segments: &[&str], spread: bool) -> Option<BTreeMap<&'static str, String>> {
    let parts: Vec<&'static str> = template.split('/').skip(1).collect();
    let parameters: Vec<&str> = parts.iter().copied().filter(|p| p.starts_with('{')).collect();
    let fits = if spread {
        parameters == ["{name}"] && segments.len() > parts.len()
    } else {
        segments.len() == parts.len()
    };
    if !fits {
        return None;
    }
    let extra = segments.len() - parts.len();
    let mut found = BTreeMap::new();
    let mut at = 0;
    for part in parts {
        if let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            let taken = segments[at..=at + extra].join("/");
            if taken.is_empty() {
                return None;
            }
            found.insert(name, percent_decode(&taken));
            at += extra + 1;
        } else {
            if segments[at] != part {
                return None;
            }
            at += 1;
        }
    }
    Some(found)
}

fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

fn decode_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |text: &str| percent_decode(&text.replace('+', " "));
            (decode(key), decode(value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROUTES: &[Route] = &[
        Route {
            operation: "ImageInspect",
            method: "GET",
            path: "/images/{name}/json",
            setter: "images().inspect",
        },
        Route {
            operation: "ContainerInspect",
            method: "GET",
            path: "/containers/{id}/json",
            setter: "containers().inspect",
        },
        Route {
            operation: "ContainerDelete",
            method: "GET",
            path: "/containers/{id}",
            setter: "containers().delete",
        },
        Route {
            operation: "ContainerList",
            method: "GET",
            path: "/containers/json",
            setter: "containers().list",
        },
    ];

    #[test]
    fn paths_find_their_route_and_parameters() {
        let found = |path: &str| {
            find_route(ROUTES, &Method::GET, path).map(|(route, parameters)| (route.operation, parameters))
        };
        let (operation, parameters) = found("/containers/json").unwrap();
        assert_eq!(
            operation, "ContainerList",
            "a fixed segment wins over a parameter listed earlier"
        );
        assert!(parameters.is_empty());
        let (operation, parameters) = found("/containers/abc/json").unwrap();
        assert_eq!((operation, parameters["id"].as_str()), ("ContainerInspect", "abc"));
        let (_, parameters) = found("/images/docker.io%2Flibrary%2Fbusybox%3Alatest/json").unwrap();
        assert_eq!(parameters["name"], "docker.io/library/busybox:latest", "escaped");
        let (_, parameters) = found("/images/library/busybox/json").unwrap();
        assert_eq!(
            parameters["name"], "library/busybox",
            "unescaped, over several segments"
        );
        assert!(found("/containers/abc/top").is_none());
        assert!(found("/images//json").is_none());
        assert!(find_route(ROUTES, &Method::POST, "/containers/json").is_none());
    }

    #[test]
    fn versions_and_queries_are_read() {
        assert_eq!(
            split_version("/v1.41/containers/json"),
            (Some("1.41"), "/containers/json")
        );
        assert_eq!(split_version("/_ping"), (None, "/_ping"));
        assert_eq!(split_version("/volumes"), (None, "/volumes"));
        assert!(newer("1.41", "1.40") && !newer("1.9", "1.40") && !newer("1.40", "1.40"));
        assert_eq!(
            decode_query("all=1&filters=%7B%22label%22%3A%5B%22a%3Db%22%5D%7D&x"),
            vec![
                ("all".into(), "1".into()),
                ("filters".into(), r#"{"label":["a=b"]}"#.into()),
                ("x".into(), String::new())
            ]
        );
    }

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
        let framed = output_answer(vec![
            Output::StdOut(Bytes::from_static(b"hi\n")),
            Output::StdErr(Bytes::from_static(b"!")),
        ]);
        assert_eq!(&framed.chunks[0][..], b"\x01\0\0\0\0\0\0\x03hi\n");
        assert_eq!(&framed.chunks[1][..], b"\x02\0\0\0\0\0\0\x01!");
        let raw = output_answer(vec![Output::Console(Bytes::from_static(b"$ "))]);
        assert_eq!(&raw.chunks[0][..], b"$ ");
        assert_eq!(raw.headers[0].1, "application/vnd.docker.raw-stream");
    }
}
