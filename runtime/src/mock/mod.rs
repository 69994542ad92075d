//! A fake daemon for tests (the `mock` feature): an HTTP server on a Unix socket of its own that
//! answers each operation with what the test set, logs every request, and answers an operation
//! nothing was set for as the daemon answers an unknown route, naming the operation and the
//! setter to use. Each generated crate wraps it in a typed `MockDaemon` (its `mock` module); this
//! part knows no API version: routes and handlers come from the crate. A server can also answer
//! from a session recorded against a real daemon ([`Recorder`], [`MockServer::replay`]).

mod answer;
mod record;
#[cfg(feature = "websocket")]
mod websocket;

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use http::{Method, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

#[cfg(feature = "websocket")]
pub use answer::websocket_session_answer;
pub use answer::{
    bytes_answer, bytes_body, empty_answer, handler, json_answer, json_body, json_stream_answer, no_body,
    outcome_answer, output_answer, path_stat_answer, session_answer, text_answer, Handler, MockError, MockRequest,
    MockSession, MockStream, RawRequest, Reply,
};
pub use bytes::Bytes;
pub use record::{read_recording, Content, Exchange, Recorder, SessionEvent, WebSocketMessage};

pub use crate::client::Route;
use crate::transport::Endpoint;
use answer::{frame, Payload, SessionStep};

/// A request as the mock received it, for a test's assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRequest {
    /// The operation the route belongs to; `None` for a path no operation has.
    pub operation: Option<&'static str>,
    pub method: String,
    /// The path as sent, with its version prefix.
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

/// The version the mock speaks unless told otherwise, and the oldest it accepts.
const MIN_API_VERSION: &str = "1.12";

struct State {
    routes: &'static [Route],
    handlers: Mutex<HashMap<&'static str, Handler>>,
    log: Mutex<Vec<LoggedRequest>>,
    api_version: Mutex<String>,
    /// The oldest version a request may ask for, as `/version`'s `MinAPIVersion` reports it.
    minimum_version: Mutex<String>,
    /// The headers every answer of a route carries, as dockerd sends them.
    daemon_headers: Mutex<Vec<(String, String)>>,
    /// What a replaying server answers, in order, instead of handlers.
    script: Option<Mutex<record::Script>>,
    /// What went wrong in scripted sessions.
    session_problems: Mutex<Vec<String>>,
    /// Sessions taken over and not yet played to their end.
    sessions_playing: AtomicUsize,
}

/// Where a mock server listens.
enum Listener {
    Unix(tokio::net::UnixListener, PathBuf),
    Tcp(tokio::net::TcpListener),
}

/// The running server; dropping it stops it (and removes its socket).
pub struct MockServer {
    state: Arc<State>,
    endpoint: Endpoint,
    accepting: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for MockServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockServer").field("endpoint", &self.endpoint).finish()
    }
}

impl MockServer {
    /// Listens on a new Unix socket in the temporary folder, answering `routes` at
    /// `api_version`. Must be called within a tokio runtime, which then runs the server.
    pub async fn start(routes: &'static [Route], api_version: &str) -> std::io::Result<MockServer> {
        Self::serve(routes, api_version, None, unix_listener()?)
    }

    /// Like [`MockServer::start`], on a TCP port of 127.0.0.1 chosen by the system, for code
    /// that reaches its daemon over `tcp://`.
    pub async fn start_tcp(routes: &'static [Route], api_version: &str) -> std::io::Result<MockServer> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        Self::serve(routes, api_version, None, Listener::Tcp(listener))
    }

    /// Like [`MockServer::start`], but answering the requests recorded in `file` (by a
    /// [`Recorder`]): each request is answered by a recorded exchange not yet answered that it
    /// matches (method, path, query and body; JSON bodies compared as values), with its recorded
    /// status, headers and body chunks, whatever their order; pings and `/version` and `/info`
    /// reads, which clients repeat, are answered as often as they come. A request that matches
    /// nothing left is answered with a 500 naming the nearest, and kept for
    /// [`MockServer::replay_outcome`].
    pub async fn replay(
        routes: &'static [Route],
        api_version: &str,
        file: &std::path::Path,
    ) -> std::io::Result<MockServer> {
        let script = record::Script::new(read_recording(file)?, false);
        Self::serve(routes, api_version, Some(Mutex::new(script)), unix_listener()?)
    }

    /// Like [`MockServer::replay`], but each request must be the one that arrived next when it
    /// was recorded (lines are sorted by their arrival order, not as written).
    pub async fn replay_in_order(
        routes: &'static [Route],
        api_version: &str,
        file: &std::path::Path,
    ) -> std::io::Result<MockServer> {
        let script = record::Script::new(read_recording(file)?, true);
        Self::serve(routes, api_version, Some(Mutex::new(script)), unix_listener()?)
    }

    fn serve(
        routes: &'static [Route],
        api_version: &str,
        script: Option<Mutex<record::Script>>,
        listener: Listener,
    ) -> std::io::Result<MockServer> {
        let endpoint = match &listener {
            Listener::Unix(_, path) => Endpoint::Unix(path.clone()),
            Listener::Tcp(tcp) => Endpoint::Tcp {
                host: "127.0.0.1".into(),
                port: tcp.local_addr()?.port(),
            },
        };
        let state = Arc::new(State {
            routes,
            handlers: Mutex::new(HashMap::new()),
            log: Mutex::new(Vec::new()),
            api_version: Mutex::new(api_version.to_owned()),
            minimum_version: Mutex::new(MIN_API_VERSION.to_owned()),
            daemon_headers: Mutex::new(
                DAEMON_HEADERS
                    .iter()
                    .map(|(name, value)| (name.to_string(), value.to_string()))
                    .collect(),
            ),
            script,
            session_problems: Mutex::new(Vec::new()),
            sessions_playing: AtomicUsize::new(0),
        });
        let served = state.clone();
        let accepting = tokio::spawn(accept(listener, move |request| serve(served.clone(), request)));
        Ok(MockServer {
            state,
            endpoint,
            accepting,
        })
    }

    /// For a replaying server, once the sessions it plays have ended (waiting up to
    /// [`SESSION_END_LIMIT`] for them): whether every request matched the recording, every
    /// recorded exchange was requested (pings and version reads aside, in a replay by content),
    /// and every hijacked session got from the client what it sent in the recording; otherwise
    /// what went wrong, request by request.
    pub async fn replay_outcome(&self) -> Result<(), String> {
        let Some(script) = &self.state.script else {
            return Err("this mock server is not replaying a recording".into());
        };
        let session_problems = self.sessions_ended().await;
        let script = script.lock().expect("replay script");
        let mut problems = script.mismatches.clone();
        problems.extend(session_problems);
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

    /// What went wrong in scripted sessions so far: input other than expected, or none.
    pub fn session_problems(&self) -> Vec<String> {
        self.state.session_problems.lock().expect("session problems").clone()
    }

    /// Waits until every session taken over has ended, up to [`SESSION_END_LIMIT`], and gives
    /// what went wrong in them, as [`MockServer::session_problems`] does, with sessions still
    /// playing then reported too. A session's problem is kept just after the mock closes its
    /// connection, so a test that has seen the end asks this rather than `session_problems`.
    pub async fn sessions_ended(&self) -> Vec<String> {
        let started = std::time::Instant::now();
        while self.state.sessions_playing.load(Ordering::SeqCst) > 0 && started.elapsed() < SESSION_END_LIMIT {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let mut problems = self.session_problems();
        let playing = self.state.sessions_playing.load(Ordering::SeqCst);
        if playing > 0 {
            problems.push(format!("{playing} sessions had not ended after {SESSION_END_LIMIT:?}"));
        }
        problems
    }

    /// Where clients reach it.
    pub fn endpoint(&self) -> Endpoint {
        self.endpoint.clone()
    }

    /// Its address as a `DOCKER_HOST` value (`unix:///tmp/...sock`, `tcp://127.0.0.1:PORT`), for
    /// programs that connect from the environment.
    pub fn host(&self) -> String {
        self.endpoint.to_string()
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

    /// The oldest API version a request may ask for (dockerd 25 accepts 1.24 on, 29 1.40 on):
    /// an older one is refused with dockerd's words (a `HEAD` request without a body, as dockerd
    /// answers it), and `/version` reports it as `MinAPIVersion`.
    pub fn set_minimum_api_version(&self, version: &str) {
        *self.state.minimum_version.lock().expect("mock version") = version.to_owned();
    }

    /// Sets a header that every answer of a route carries, as dockerd's do: `Server`
    /// (`Docker/mock (linux)`), `Docker-Experimental` (`false`) and `Ostype` (`linux`) from the
    /// start, or one a newer daemon adds, such as `Swarm` (`inactive`, `active/manager`) or
    /// `Builder-Version` (`2`) on `/_ping`. `None` removes it. A header a handler's answer
    /// sets itself wins.
    pub fn set_daemon_header(&self, name: &str, value: Option<&str>) {
        let mut headers = self.state.daemon_headers.lock().expect("mock headers");
        headers.retain(|(kept, _)| !kept.eq_ignore_ascii_case(name));
        if let Some(value) = value {
            headers.push((name.to_owned(), value.to_owned()));
        }
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

fn unix_listener() -> std::io::Result<Listener> {
    let path = new_socket_path("docker-mock");
    Ok(Listener::Unix(tokio::net::UnixListener::bind(&path)?, path))
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
        if let Endpoint::Unix(path) = &self.endpoint {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Accepts connections on `listener` until the task running it is aborted, serving each over
/// HTTP/1.1, upgrades allowed, with `answer`: the mock server and the recorder alike.
async fn accept<F, A>(listener: Listener, answer: F)
where
    F: Fn(http::Request<hyper::body::Incoming>) -> A + Clone + Send + Sync + 'static,
    A: std::future::Future<Output = http::Response<ReplyBody>> + Send + 'static,
{
    // Held here so that aborting this task ends every connection (and session) too.
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let accepted = match &listener {
            Listener::Unix(unix, _) => unix
                .accept()
                .await
                .map(|(stream, _)| serve_connection(&mut connections, stream, answer.clone())),
            Listener::Tcp(tcp) => tcp
                .accept()
                .await
                .map(|(stream, _)| serve_connection(&mut connections, stream, answer.clone())),
        };
        if accepted.is_err() {
            return;
        }
        while connections.try_join_next().is_some() {}
    }
}

fn serve_connection<S, F, A>(connections: &mut tokio::task::JoinSet<()>, stream: S, answer: F)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    F: Fn(http::Request<hyper::body::Incoming>) -> A + Send + Sync + 'static,
    A: std::future::Future<Output = http::Response<ReplyBody>> + Send + 'static,
{
    connections.spawn(async move {
        let service = hyper::service::service_fn(move |request| {
            let reply = answer(request);
            async move { Ok::<_, Infallible>(reply.await) }
        });
        let _ = hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(stream), service)
            .with_upgrades()
            .await;
    });
}

pub(crate) type ReplyBody = UnsyncBoxBody<Bytes, Infallible>;

async fn serve(state: Arc<State>, mut request: http::Request<hyper::body::Incoming>) -> http::Response<ReplyBody> {
    let taken_over = hyper::upgrade::on(&mut request);
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    #[cfg(feature = "websocket")]
    let websocket_key = parts.headers.get("sec-websocket-key").cloned();
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().map(decode_query).unwrap_or_default();
    let api_version = state.api_version.lock().expect("mock version").clone();
    let minimum_version = state.minimum_version.lock().expect("mock version").clone();
    let (requested_version, unversioned) = split_version(&path);
    let found = find_route(state.routes, &parts.method, unversioned);
    let operation = found.as_ref().map(|(route, _)| route.operation);
    state.log.lock().expect("mock log").push(LoggedRequest {
        operation,
        method: parts.method.to_string(),
        path: path.clone(),
        query: query.clone(),
        headers: parts.headers.clone(),
        body: body.clone(),
    });
    let reply = if let Some(script) = &state.script {
        let answer = script.lock().expect("replay script").answer(
            parts.method.as_str(),
            &path,
            parts.uri.query().unwrap_or_default(),
            &body,
        );
        replayed(answer, &state.session_problems)
    } else if let Some(too_old) = requested_version.filter(|v| newer(&minimum_version, v)) {
        let refusal = Reply::error(&MockError::bad_request(format!(
            "client version {too_old} is too old. Minimum supported API version is {minimum_version}, please \
             upgrade your client to a newer version"
        )));
        match parts.method == Method::HEAD {
            true => Reply::whole(refusal.status, "text/plain; charset=utf-8", ""),
            false => refusal,
        }
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
            None => default_reply(route, &parts.method, &api_version, &minimum_version),
        }
    } else {
        Reply::error(&MockError::not_found("page not found"))
    };
    #[cfg(feature = "websocket")]
    let reply = websocket::accept(reply, websocket_key.as_ref());
    let mut response = http::Response::builder().status(reply.status);
    for (name, value) in &reply.headers {
        response = response.header(name, value);
    }
    // As dockerd: the daemon's headers on every answer of a route it serves (a refused version
    // included), none on a path it does not know; a replay answers what was recorded.
    if state.script.is_none() && operation.is_some() {
        let set_by_reply = |name: &str| reply.headers.iter().any(|(set, _)| set.eq_ignore_ascii_case(name));
        let mut added = vec![("Api-Version".to_owned(), api_version.clone())];
        added.extend(state.daemon_headers.lock().expect("mock headers").iter().cloned());
        if unversioned == "/_ping" {
            added.extend(
                PING_HEADERS
                    .iter()
                    .map(|(name, value)| (name.to_string(), value.to_string())),
            );
            // dockerd's HEAD /_ping has no body and says so, whatever answer a test set.
            if parts.method == Method::HEAD {
                added.push(("Content-Length".to_owned(), "0".to_owned()));
            }
        }
        for (name, value) in added.iter().filter(|(name, _)| !set_by_reply(name)) {
            response = response.header(name, value);
        }
    }
    let body: ReplyBody = match reply.payload {
        // An answer to HEAD has no body, whatever a test's typed answer holds.
        Payload::Whole(_) if parts.method == Method::HEAD => UnsyncBoxBody::new(Full::new(Bytes::new())),
        Payload::Whole(bytes) => UnsyncBoxBody::new(Full::new(bytes)),
        Payload::Chunks(chunks) => UnsyncBoxBody::new(StreamBody::new(chunks.map(|chunk| Ok(Frame::data(chunk))))),
        Payload::Session(steps, tty) => {
            play_when_taken_over(state, operation, taken_over, move |connection| {
                play(connection, steps, tty)
            });
            UnsyncBoxBody::new(Full::new(Bytes::new()))
        }
        #[cfg(feature = "websocket")]
        Payload::WebSocket(steps) => {
            play_when_taken_over(state, operation, taken_over, move |connection| {
                websocket::play(connection, steps)
            });
            UnsyncBoxBody::new(Full::new(Bytes::new()))
        }
    };
    response.body(body).expect("mock response")
}

/// Plays a session once the client has taken the connection over, in a task of its own; what
/// goes wrong is kept for [`MockServer::session_problems`].
fn play_when_taken_over<P, F>(
    state: Arc<State>,
    operation: Option<&'static str>,
    taken_over: hyper::upgrade::OnUpgrade,
    play: P,
) where
    P: FnOnce(TokioIo<hyper::upgrade::Upgraded>) -> F + Send + 'static,
    F: std::future::Future<Output = Result<(), String>> + Send,
{
    let operation = operation.unwrap_or("a session");
    state.sessions_playing.fetch_add(1, Ordering::SeqCst);
    tokio::spawn(async move {
        let problem = match tokio::time::timeout(SESSION_LIMIT, taken_over).await {
            Ok(Ok(connection)) => play(TokioIo::new(connection)).await.err(),
            Ok(Err(e)) => Some(format!("the client did not take the connection over: {e}")),
            Err(_) => Some(format!(
                "the client did not take the connection over within {SESSION_LIMIT:?}"
            )),
        };
        if let Some(problem) = problem {
            state
                .session_problems
                .lock()
                .expect("session problems")
                .push(format!("{operation}: {problem}"));
        }
        state.sessions_playing.fetch_sub(1, Ordering::SeqCst);
    });
}

/// The longest a scripted session waits for the client at any step.
const SESSION_LIMIT: Duration = Duration::from_secs(60);

/// How long [`MockServer::replay_outcome`] waits for replayed sessions still playing: a client
/// that has finished has closed its connections, which ends them at once.
pub const SESSION_END_LIMIT: Duration = Duration::from_secs(10);

/// Plays a scripted session on the taken-over connection, then closes it.
async fn play<C: AsyncRead + AsyncWrite + Unpin>(
    mut connection: C,
    steps: Vec<SessionStep>,
    tty: bool,
) -> Result<(), String> {
    for step in steps {
        match step {
            SessionStep::Send(piece) => {
                let bytes = if tty { piece.bytes().clone() } else { frame(piece) };
                send(&mut connection, &bytes).await?;
            }
            SessionStep::Raw(bytes) => send(&mut connection, &bytes).await?,
            SessionStep::Message(message) => {
                return Err(format!(
                    "the recording has a WebSocket message ({message:?}) in a session that is not a WebSocket"
                ))
            }
            SessionStep::CloseOutput => connection
                .shutdown()
                .await
                .map_err(|e| format!("closing the output: {e}"))?,
            SessionStep::Expect(expected) => {
                let mut received = vec![0; expected.len()];
                let read = tokio::time::timeout(SESSION_LIMIT, connection.read_exact(&mut received)).await;
                match read {
                    Ok(Ok(_)) if received == expected => {}
                    Ok(Ok(_)) => {
                        return Err(format!(
                            "expected the input {:?}, got {:?}",
                            String::from_utf8_lossy(&expected),
                            String::from_utf8_lossy(&received)
                        ))
                    }
                    Ok(Err(e)) => {
                        return Err(format!(
                            "expected the input {:?}, but {e}",
                            String::from_utf8_lossy(&expected)
                        ))
                    }
                    Err(_) => {
                        return Err(format!(
                            "expected the input {:?} within {SESSION_LIMIT:?}",
                            String::from_utf8_lossy(&expected)
                        ))
                    }
                }
            }
            SessionStep::ExpectEnd => {
                let mut rest = Vec::new();
                match tokio::time::timeout(SESSION_LIMIT, connection.read_to_end(&mut rest)).await {
                    Ok(Ok(_)) if rest.is_empty() => {}
                    Ok(Ok(_)) => {
                        return Err(format!(
                            "expected the input to end, got {:?} more",
                            String::from_utf8_lossy(&rest)
                        ))
                    }
                    Ok(Err(e)) => return Err(format!("expected the input to end, but {e}")),
                    Err(_) => return Err(format!("expected the input to end within {SESSION_LIMIT:?}")),
                }
            }
        }
    }
    let _ = connection.shutdown().await;
    Ok(())
}

async fn send<C: AsyncWrite + Unpin>(connection: &mut C, bytes: &[u8]) -> Result<(), String> {
    connection
        .write_all(bytes)
        .await
        .map_err(|e| format!("sending output: {e}"))?;
    connection.flush().await.map_err(|e| format!("sending output: {e}"))
}

/// A recorded answer, or the 500 that tells the client its request was not the one recorded.
/// What makes a recorded answer unplayable (bytes that do not decode, a WebSocket session without
/// the feature that plays it) is also kept in `problems`.
fn replayed(answer: Result<Exchange, String>, problems: &Mutex<Vec<String>>) -> Reply {
    let exchange = match answer {
        Ok(exchange) => exchange,
        Err(message) => return Reply::error(&MockError::server_error(format!("replay: {message}"))),
    };
    let what = format!("{} {}", exchange.method, exchange.path);
    match replayed_exchange(exchange) {
        Ok(reply) => reply,
        Err(message) => {
            let message = format!("replay of {what}: {message}");
            problems.lock().expect("session problems").push(message.clone());
            Reply::error(&MockError::server_error(message))
        }
    }
}

fn replayed_exchange(exchange: Exchange) -> Result<Reply, String> {
    let chunks = exchange
        .chunks
        .iter()
        .map(Content::bytes)
        .collect::<Result<Vec<Bytes>, String>>()?;
    let mut headers = exchange.headers;
    let payload = if exchange.status == 101 && !exchange.session.is_empty() {
        let steps = record::session_steps(&exchange.session)?;
        // The recorder drops the connection's own headers; an upgrade needs this one back.
        headers.push(("Connection".into(), "Upgrade".into()));
        if record::is_websocket(&headers) {
            // Accepted anew for the key this client sent, not the recorded one.
            headers.retain(|(name, _)| !name.eq_ignore_ascii_case("sec-websocket-accept"));
            websocket_payload(steps)?
        } else {
            Payload::Session(steps, false)
        }
    } else {
        match <[Bytes; 1]>::try_from(chunks) {
            Ok([whole]) => Payload::Whole(whole),
            Err(chunks) => Payload::Chunks(futures_util::stream::iter(chunks).boxed()),
        }
    };
    Ok(Reply {
        status: StatusCode::from_u16(exchange.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        headers,
        payload,
    })
}

#[cfg(feature = "websocket")]
fn websocket_payload(steps: Vec<answer::SessionStep>) -> Result<Payload, String> {
    Ok(Payload::WebSocket(steps))
}

#[cfg(not(feature = "websocket"))]
fn websocket_payload(_: Vec<answer::SessionStep>) -> Result<Payload, String> {
    Err("a WebSocket session replays only with the runtime's `websocket` feature".into())
}

/// The headers dockerd 20.10 sends on every answer of a route it serves.
const DAEMON_HEADERS: &[(&str, &str)] = &[
    ("Docker-Experimental", "false"),
    ("Ostype", "linux"),
    ("Server", "Docker/mock (linux)"),
];

/// What dockerd adds to `/_ping`'s answer, so that no proxy keeps it.
const PING_HEADERS: &[(&str, &str)] = &[
    ("Cache-Control", "no-cache, no-store, must-revalidate"),
    ("Pragma", "no-cache"),
];

/// What an operation nothing was set for answers: `/_ping` and `/version` as a daemon of the
/// mock's version; anything else 501 Not Implemented, saying it is unset and naming what to set.
fn default_reply(route: &Route, method: &Method, api_version: &str, minimum_version: &str) -> Reply {
    match route.path {
        "/_ping" if method == Method::HEAD => Reply::whole(StatusCode::OK, "text/plain; charset=utf-8", ""),
        "/_ping" => Reply::whole(StatusCode::OK, "text/plain; charset=utf-8", "OK"),
        "/version" => json_answer(serde_json::json!({
            "Version": "mock",
            "ApiVersion": api_version,
            "MinAPIVersion": minimum_version,
            "Os": "linux",
            "Arch": "amd64",
            "Components": [{"Name": "Engine", "Version": "mock", "Details": {"ApiVersion": api_version}}],
        })),
        _ => Reply::error(&MockError::new(
            501,
            format!(
                "no answer is set for {} in the fake daemon; set one with MockDaemon::{}",
                route.operation, route.call
            ),
        )),
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

/// For the fuzz targets under `fuzz/`, which cargo-fuzz builds with `--cfg fuzzing`: the fake
/// daemon's routing and query decoding, and the path and query a client sends, without a socket.
#[cfg(fuzzing)]
pub mod fuzzing {
    use super::*;
    use crate::http::request::Request;

    /// The route the fake daemon answers `method` on `path` (a version prefix allowed) with, and
    /// the path parameters it read; `None` is the unknown-route answer.
    pub fn route(
        routes: &'static [Route],
        method: &str,
        path: &str,
    ) -> Option<(&'static Route, BTreeMap<&'static str, String>)> {
        let method = Method::from_bytes(method.as_bytes()).ok()?;
        find_route(routes, &method, split_version(path).1)
    }

    /// A query as the fake daemon decodes it.
    pub fn query(query: &str) -> Vec<(String, String)> {
        decode_query(query)
    }

    /// The path and query a client sends for `request`, speaking API `version`.
    pub fn sent(request: &Request, version: &str) -> String {
        crate::http::request::path_and_query(&request.path, &request.query, Some(version))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROUTES: &[Route] = &[
        Route::new("ImageInspect", "GET", "/images/{name}/json", "images().inspect"),
        Route::new(
            "ContainerInspect",
            "GET",
            "/containers/{id}/json",
            "containers().inspect",
        ),
        Route::new("ContainerDelete", "GET", "/containers/{id}", "containers().delete"),
        Route::new("ContainerList", "GET", "/containers/json", "containers().list"),
        Route::new("SystemPing", "GET", "/_ping", "system().ping"),
        Route::new("SystemPingHead", "HEAD", "/_ping", "system().ping_head"),
    ];

    /// The status line and headers of the answer to `request`, sent as raw bytes, names in
    /// lower case, the date and the connection (this request asks to close it) left out.
    async fn answer_head(server: &MockServer, request: &str) -> (String, Vec<String>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let Endpoint::Unix(socket) = server.endpoint() else {
            unreachable!("started on a Unix socket")
        };
        let mut connection = tokio::net::UnixStream::connect(socket).await.unwrap();
        let request = format!("{request} HTTP/1.1\r\nHost: mock\r\nConnection: close\r\n\r\n");
        connection.write_all(request.as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        connection.read_to_end(&mut answer).await.unwrap();
        let answer = String::from_utf8(answer).unwrap();
        let head = answer.split("\r\n\r\n").next().unwrap();
        let mut lines = head.lines();
        let status = lines.next().unwrap().to_owned();
        let mut headers: Vec<String> = lines
            .map(|line| {
                let (name, value) = line.split_once(": ").unwrap();
                format!("{}: {value}", name.to_ascii_lowercase())
            })
            .filter(|line| !line.starts_with("date: ") && !line.starts_with("connection: "))
            .collect();
        headers.sort();
        (status, headers)
    }

    #[tokio::test]
    async fn answers_carry_the_headers_dockerd_sends() {
        let server = MockServer::start(ROUTES, "1.41").await.unwrap();
        let daemon = [
            "api-version: 1.41",
            "docker-experimental: false",
            "ostype: linux",
            "server: Docker/mock (linux)",
        ];
        let ping = ["cache-control: no-cache, no-store, must-revalidate", "pragma: no-cache"];
        let with = |extra: &[&str]| {
            let mut all: Vec<String> = daemon.iter().chain(extra).map(|h| h.to_string()).collect();
            all.sort();
            all
        };
        let (status, headers) = answer_head(&server, "GET /_ping").await;
        assert_eq!(status, "HTTP/1.1 200 OK");
        let text = ["content-length: 2", "content-type: text/plain; charset=utf-8"];
        assert_eq!(headers, with(&[ping[0], ping[1], text[0], text[1]]));
        let (_, headers) = answer_head(&server, "HEAD /_ping").await;
        let head_ping = with(&[ping[0], ping[1], "content-length: 0", text[1]]);
        assert_eq!(headers, head_ping);
        // A typed answer set by a test (`ping_head`) goes out as the default one does.
        let typed = answer::handler(answer::no_body, answer::text_answer, |_| Ok("OK".to_owned()));
        server.set("SystemPingHead", typed);
        assert_eq!(answer_head(&server, "HEAD /_ping").await.1, head_ping);
        server.set_minimum_api_version("1.24");
        let (status, headers) = answer_head(&server, "GET /v1.12/_ping").await;
        assert_eq!(status, "HTTP/1.1 400 Bad Request");
        assert!(
            headers.contains(&"server: Docker/mock (linux)".to_owned()),
            "{headers:?}"
        );

        server.set_daemon_header("Swarm", Some("inactive"));
        server.set_daemon_header("server", Some("Docker/29.5.3 (linux)"));
        let (_, headers) = answer_head(&server, "GET /v1.41/containers/abc/json").await;
        for expected in ["swarm: inactive", "server: Docker/29.5.3 (linux)", "ostype: linux"] {
            assert!(headers.contains(&expected.to_owned()), "{expected} in {headers:?}");
        }
        server.set_daemon_header("Docker-Experimental", None);
        let (status, headers) = answer_head(&server, "GET /nothing/here").await;
        assert_eq!(status, "HTTP/1.1 404 Not Found");
        assert!(
            headers
                .iter()
                .all(|h| !h.starts_with("api-version") && !h.starts_with("server")),
            "dockerd sends none on a path it does not know: {headers:?}"
        );
        let (_, headers) = answer_head(&server, "GET /_ping").await;
        assert!(
            !headers.iter().any(|h| h.starts_with("docker-experimental")),
            "{headers:?}"
        );
    }

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
}
