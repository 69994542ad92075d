//! The client: one pooled connection set per endpoint, version negotiation, and the calls the
//! generated request builders make, one per kind of answer.

mod authorize;
mod route;

pub use authorize::{Authorize, ChallengeAnswer};
pub use route::{operation_ids, Route};

use std::io;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use hyper_util::rt::TokioIo;
use serde::de::DeserializeOwned;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::decoding::decode_answer;
use crate::docker::config::DockerConfig;
use crate::docker::environment::Environment;
use crate::docker::session::{Session, SessionInput};
use crate::docker::streams::{ByteStream, Framing, JsonStream, OutputStream};
use crate::docker::PathStat;
use crate::error::{daemon_message, minimum_in_refusal, registry_errors, status_error, Error, Result, EMPTY_BODY};
use crate::http::headers::FromHeaders;
use crate::http::observe::{Completion, Observation, RequestObserver};
use crate::http::pool::{upgrade, Pool, ResponseBody, Reuse, SendError};
use crate::http::request::{path_and_query, Body, HttpBody, Method, Request, READ_CHUNK};
use crate::http::ByteSource;
use crate::transport::address::{self, same_server};
use crate::transport::Connector;
use crate::transport::Endpoint;

/// How long an idle connection is kept for reuse.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Longest error body kept for a message.
const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// How the API version of requests is chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionPolicy {
    /// Ask the daemon on first use and take the lower of its version and the crate's.
    Negotiate,
    /// Use exactly this version (`DOCKER_API_VERSION`).
    Pinned(String),
    /// The API has no version in its paths and nothing to negotiate (the Registry API).
    Unversioned,
}

/// What an operation that can find nothing to do did: starting or stopping a container answers
/// 204 when it started or stopped it, 304 when it already was so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Done as asked (204).
    Done,
    /// Nothing to do: the object already was as asked (304 Not Modified).
    AlreadyDone,
}

/// Settings beyond the endpoint.
#[derive(Clone)]
pub struct Options {
    pub connect_timeout: Duration,
    /// Limits a whole call, reading a non-streaming body included.
    pub request_timeout: Option<Duration>,
    pub version: VersionPolicy,
    pub observer: Option<RequestObserver>,
    /// Idle connections kept for reuse: as many as requests were in flight at once, up to this
    /// cap, which keeps a burst from holding file descriptors open.
    pub max_idle_connections: usize,
    /// Answers `401` challenges (`WWW-Authenticate`) and authorizes later requests alike; a
    /// registry client has one.
    pub authenticator: Option<Arc<dyn Authorize>>,
    /// Sent with every request that does not set the same header itself: `User-Agent:
    /// docker-engine-rs/<version>` unless changed, and for a client made from the environment
    /// the `HttpHeaders` of the Docker CLI's `config.json`.
    pub headers: http::HeaderMap,
}

/// The `User-Agent` requests carry unless the options say otherwise.
pub const USER_AGENT: &str = concat!("docker-engine-rs/", env!("CARGO_PKG_VERSION"));

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("version", &self.version)
            .field("observer", &self.observer.as_ref().map(|_| "set"))
            .field("max_idle_connections", &self.max_idle_connections)
            .field("authenticator", &self.authenticator)
            .field("headers", &self.headers)
            .finish()
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            connect_timeout: Duration::from_secs(10),
            request_timeout: None,
            version: VersionPolicy::Negotiate,
            observer: None,
            max_idle_connections: 128,
            authenticator: None,
            headers: http::HeaderMap::from_iter([(
                http::header::USER_AGENT,
                http::HeaderValue::from_static(USER_AGENT),
            )]),
        }
    }
}

/// A connection to one daemon; cheap to clone, clones share the connection pool.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    connector: Connector,
    endpoint: Endpoint,
    authority: String,
    crate_version: String,
    options: Options,
    version: tokio::sync::OnceCell<String>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("endpoint", &self.inner.endpoint.to_string())
            .field("crate_version", &self.inner.crate_version)
            .field("version", &self.inner.version.get())
            .finish()
    }
}

impl Client {
    /// A client for `endpoint` speaking at most `crate_version`.
    pub fn new(endpoint: Endpoint, crate_version: &str) -> Result<Self> {
        Self::with_options(endpoint, crate_version, Options::default())
    }

    /// A client configured as the Docker CLI would be: `DOCKER_HOST`, `DOCKER_TLS_VERIFY`,
    /// `DOCKER_CERT_PATH`, then the context from `DOCKER_CONTEXT` or `config.json`'s
    /// `currentContext` (under `DOCKER_CONFIG`, default `~/.docker`), then the local socket;
    /// `DOCKER_API_VERSION` pins the version.
    pub fn from_env(crate_version: &str) -> Result<Self> {
        Self::from_environment(&Environment::from_process(), crate_version)
    }

    /// Like [`Client::from_env`], from `environment` rather than the process's: its endpoint,
    /// its pinned API version, and the `HttpHeaders` of its `config.json`, which the Docker CLI
    /// sends with every request to the daemon (never to a registry) below its own headers.
    pub fn from_environment(environment: &Environment, crate_version: &str) -> Result<Self> {
        let mut options = Options::default();
        if let Some(pinned) = &environment.api_version {
            options.version = VersionPolicy::Pinned(pinned.trim_start_matches('v').to_owned());
        }
        if let Some(dir) = environment.config_dir() {
            let config = DockerConfig::load(&dir)?;
            for (name, value) in config.http_headers() {
                let refused = |why: String| {
                    Error::Config(format!(
                        "{}: HttpHeaders {name:?}: {why}",
                        dir.join("config.json").display()
                    ))
                };
                let name = http::HeaderName::from_bytes(name.as_bytes()).map_err(|e| refused(e.to_string()))?;
                let value = http::HeaderValue::from_str(value).map_err(|e| refused(e.to_string()))?;
                options.headers.insert(name, value);
            }
        }
        Self::with_options(environment.endpoint()?, crate_version, options)
    }

    pub fn with_options(endpoint: Endpoint, crate_version: &str, options: Options) -> Result<Self> {
        let connector = Connector::new(&endpoint, options.connect_timeout)?;
        let pool = Pool::new(connector.clone(), options.max_idle_connections, IDLE_TIMEOUT);
        let authority = match &endpoint {
            // The daemon behind a socket, local or at the end of ssh's dial-stdio, has no name.
            Endpoint::Unix(_) | Endpoint::Ssh(_) => "docker".to_owned(),
            Endpoint::Tcp { host, port } | Endpoint::Tls { host, port, .. } | Endpoint::Https { host, port, .. } => {
                address::authority(host, *port)
            }
        };
        let version = tokio::sync::OnceCell::new();
        if let VersionPolicy::Pinned(pinned) = &options.version {
            version.set(pinned.clone()).expect("a new cell is empty");
        }
        let inner = Inner {
            pool,
            connector,
            endpoint,
            authority,
            crate_version: crate_version.to_owned(),
            options,
            version,
        };
        Ok(Client { inner: Arc::new(inner) })
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.inner.endpoint
    }

    /// The API version requests use, negotiating it first if that has not happened yet.
    pub async fn api_version(&self) -> Result<&str> {
        self.inner
            .version
            .get_or_try_init(|| self.negotiate_version())
            .await
            .map(String::as_str)
    }

    /// Asks the daemon for its API version (`HEAD /_ping`, then `GET` for daemons that refuse
    /// HEAD) and returns the lower of it and the crate's.
    async fn negotiate_version(&self) -> Result<String> {
        let mut daemon_version = None;
        // HEAD answers carry no body, so a refusal is only explained by the GET that follows.
        for method in [Method::HEAD, Method::GET] {
            let last_try = method == Method::GET;
            let request = http::Request::builder()
                .method(method)
                .uri("/_ping")
                .header(http::header::HOST, &self.inner.authority)
                .body(Body::empty().http)
                .expect("a valid request");
            let response = self.dispatch(request, "SystemPing", Reuse::Pooled).await?;
            if let Some(value) = response.headers().get("api-version").and_then(|v| v.to_str().ok()) {
                daemon_version = Some(value.to_owned());
                break;
            }
            if last_try && !response.status().is_success() {
                return Err(self.error_response(response, "SystemPing", "unnegotiated").await);
            }
        }
        let daemon = daemon_version.ok_or_else(|| Error::UnsupportedVersion {
            operation: "SystemPing",
            version: "unknown".into(),
            message: "the daemon's /_ping answer has no Api-Version header".into(),
        })?;
        let chosen = lower_version(&daemon, &self.inner.crate_version).to_owned();
        trace_event!(daemon = %daemon, chosen = %chosen, "negotiated the API version");
        Ok(chosen)
    }

    async fn dispatch(
        &self,
        request: http::Request<HttpBody>,
        operation: &'static str,
        reuse: Reuse,
    ) -> Result<http::Response<ResponseBody>> {
        self.send_timed(request, operation, reuse)
            .await?
            .map_err(|error| self.send_error(operation, error))
    }

    /// Sends `request`, within the request timeout if one is set.
    async fn send_timed(
        &self,
        request: http::Request<HttpBody>,
        operation: &'static str,
        reuse: Reuse,
    ) -> Result<std::result::Result<http::Response<ResponseBody>, SendError>> {
        let mut request = request;
        for (name, value) in &self.inner.options.headers {
            if !request.headers().contains_key(name) {
                request.headers_mut().insert(name, value.clone());
            }
        }
        let call = self.inner.pool.send(request, reuse);
        match self.inner.options.request_timeout {
            Some(after) => tokio::time::timeout(after, call)
                .await
                .map_err(|_| Error::Timeout { operation, after }),
            None => Ok(call.await),
        }
    }

    fn send_error(&self, operation: &'static str, error: SendError) -> Error {
        let endpoint = self.inner.endpoint.to_string();
        let error: Box<dyn std::error::Error + Send + Sync> = match error {
            SendError::Dial(source) => {
                if let Some(message) = tls_failure(&source) {
                    return Error::Tls { endpoint, message };
                }
                return Error::Connect { endpoint, source };
            }
            SendError::Exchange { error, .. } => error,
        };
        if let Some(message) = tls_failure(error.as_ref()) {
            return Error::Tls { endpoint, message };
        }
        // hyper's own message is generic ("connection error"); the cause says what happened.
        let mut deepest: &(dyn std::error::Error + 'static) = error.as_ref();
        while let Some(cause) = deepest.source() {
            deepest = cause;
        }
        Error::Transport {
            operation,
            message: deepest.to_string(),
        }
    }

    /// The API version of requests: `None` for an API without versions.
    async fn request_version(&self) -> Result<Option<&str>> {
        if self.inner.options.version == VersionPolicy::Unversioned {
            return Ok(None);
        }
        Ok(Some(self.api_version().await?))
    }

    /// The HTTP request for `request`'s method, headers and `body` at `uri`, which it takes as
    /// it is (a `&str` would be copied).
    fn http_request(
        &self,
        request: &RequestHead,
        uri: String,
        body: Option<(Body, &'static str)>,
        upgrade: Option<&'static str>,
        authorization: Option<http::HeaderValue>,
    ) -> Result<http::Request<HttpBody>> {
        let mut builder = http::Request::builder()
            .method(request.method.clone())
            .uri(uri)
            .header(http::header::HOST, &self.inner.authority);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        if let Some(authorization) = authorization {
            builder = builder.header(http::header::AUTHORIZATION, authorization);
        }
        if let Some(protocol) = upgrade {
            builder = builder
                .header(http::header::CONNECTION, "Upgrade")
                .header(http::header::UPGRADE, protocol);
        }
        let body = match body {
            Some((body, content_type)) => {
                // A Content-Type parameter of the operation (ImageBuild has one) takes precedence.
                let typed = builder
                    .headers_ref()
                    .is_some_and(|headers| headers.contains_key(CONTENT_TYPE));
                if !typed {
                    builder = builder.header(CONTENT_TYPE, content_type);
                }
                body
            }
            None => Body::empty(),
        };
        builder.body(body.http).map_err(|e| Error::InvalidArgument {
            operation: request.operation,
            message: e.to_string(),
        })
    }

    /// Sends `request` and returns the response if its status is a success. With the `tracing`
    /// feature, in a span named `docker_request` until the answer's head is in: its operation,
    /// method, path, API version and status, or the error.
    async fn execute(&self, request: Request, upgrade: Option<&'static str>) -> Result<http::Response<ResponseBody>> {
        #[cfg(feature = "tracing")]
        {
            use tracing::field::{display, Empty};
            use tracing::Instrument;
            let span = tracing::info_span!(
                "docker_request",
                operation = request.operation,
                method = %request.method,
                path = %request.path,
                api_version = Empty,
                status = Empty,
                error = Empty,
            );
            let result = self
                .execute_in_span(request, upgrade, &span)
                .instrument(span.clone())
                .await;
            match &result {
                Ok(response) => span.record("status", response.status().as_u16()),
                Err(error) => {
                    if let Some(status) = error.status() {
                        span.record("status", status);
                    }
                    span.record("error", display(error))
                }
            };
            result
        }
        #[cfg(not(feature = "tracing"))]
        self.execute_in_span(request, upgrade).await
    }

    async fn execute_in_span(
        &self,
        mut request: Request,
        upgrade: Option<&'static str>,
        #[cfg(feature = "tracing")] span: &tracing::Span,
    ) -> Result<http::Response<ResponseBody>> {
        let version = self.request_version().await?;
        #[cfg(feature = "tracing")]
        span.record("api_version", version.unwrap_or("none"));
        let operation = request.operation;
        if let Some(authority) = request.location_authority.as_deref() {
            if !same_server(authority, &self.inner.authority) {
                return Err(Error::InvalidArgument {
                    operation,
                    message: format!(
                        "the location names {authority}, another server than this client's {}",
                        self.inner.authority
                    ),
                });
            }
        }
        let authenticator = self.inner.options.authenticator.as_ref();
        let authorization = authenticator.and_then(|auth| auth.authorization(&request.method, &request.path));
        let body = request.body.take();
        // What is sent again after a challenge or a redirect: a `Request` holds its body, which
        // is not `Sync`, and the future of this call must be `Send`.
        let request = RequestHead {
            method: request.method,
            path: request.path,
            query: request.query,
            headers: request.headers,
            operation,
        };
        // What a challenge needs to send the request again: it has no body, or one in memory.
        let replay_body = match &body {
            None => Some(None),
            Some((body, content_type)) => body.replay.clone().map(|bytes| Some((bytes, *content_type))),
        };
        let http_request = self.http_request(&request, request.uri(version), body, upgrade, authorization)?;
        if let Some(observer) = &self.inner.options.observer {
            observer(&Observation::Sent { operation });
        }
        let mut response = match self.send_timed(http_request, operation, Reuse::Pooled).await? {
            Ok(response) => response,
            // A pooled connection the daemon closed while idle (it restarted, or timed the
            // connection out) fails the request before any answer; a request that cannot have
            // changed anything is sent once more, on a new connection. (Made again rather than
            // copied ahead: a copy cost every read five allocations.)
            Err(SendError::Exchange { reused: true, .. })
                if matches!(request.method, Method::GET | Method::HEAD)
                    && upgrade.is_none()
                    && replay_body == Some(None) =>
            {
                trace_event!("the pooled connection was closed; sending again on a new one");
                let authorization = authenticator.and_then(|auth| auth.authorization(&request.method, &request.path));
                let again = self.http_request(&request, request.uri(version), None, upgrade, authorization)?;
                self.dispatch(again, operation, Reuse::Fresh).await?
            }
            Err(error) => return Err(self.send_error(operation, error)),
        };
        if let (http::StatusCode::UNAUTHORIZED, Some(authenticator), Some(replay_body)) =
            (response.status(), authenticator, replay_body)
        {
            if let Some(challenge) = response.headers().get(http::header::WWW_AUTHENTICATE).cloned() {
                // Read the refusal so that its connection can carry the next request.
                let _ = response.into_body().read_limited(ERROR_BODY_LIMIT).await;
                let authorization = authenticator
                    .answer(operation, &challenge, &request.method, &request.path, &request.query)
                    .await?;
                let body = replay_body.map(|(bytes, content_type)| (Body::from_bytes(bytes), content_type));
                let retry = self.http_request(&request, request.uri(version), body, upgrade, Some(authorization))?;
                response = self.dispatch(retry, operation, Reuse::Pooled).await?;
            }
        }
        if let Some(authenticator) = authenticator {
            if matches!(request.method, Method::GET | Method::HEAD) && is_redirect(response.status()) {
                response = self
                    .follow_redirects(response, &request, authenticator.as_ref())
                    .await?;
            }
        }
        let status = response.status();
        if status.is_success()
            || status == http::StatusCode::SWITCHING_PROTOCOLS
            || status == http::StatusCode::NOT_MODIFIED
        {
            return Ok(response);
        }
        Err(self
            .error_response(response, operation, version.unwrap_or("unversioned"))
            .await)
    }

    /// Follows a registry's redirects of a read (Docker Hub and others serve blobs from storage
    /// elsewhere), at most five. Another server is sent the request without the registry's
    /// credentials, which a redirect target (a signed URL) neither needs nor should see.
    async fn follow_redirects(
        &self,
        mut response: http::Response<ResponseBody>,
        request: &RequestHead,
        authenticator: &dyn Authorize,
    ) -> Result<http::Response<ResponseBody>> {
        const MOST_REDIRECTS: usize = 5;
        let operation = request.operation;
        for _ in 0..MOST_REDIRECTS {
            if !is_redirect(response.status()) {
                return Ok(response);
            }
            let Some(location) = response
                .headers()
                .get(http::header::LOCATION)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned)
            else {
                return Ok(response);
            };
            // A signed URL's query is a credential: only the rest is told.
            trace_event!(location = location.split('?').next(), "following a redirect");
            let _ = response.into_body().read_limited(ERROR_BODY_LIMIT).await;
            let uri: http::Uri = location.parse().map_err(|e| Error::Transport {
                operation,
                message: format!("the registry redirected to {location:?}, which is not a URL: {e}"),
            })?;
            let path_and_query = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
            let elsewhere = uri
                .authority()
                .filter(|authority| !same_server(authority.as_str(), &self.inner.authority));
            let (target, authorization) = match elsewhere {
                Some(authority) => {
                    let origin = format!("{}://{authority}", uri.scheme_str().unwrap_or("https"));
                    (authenticator.client_for(&origin)?, None)
                }
                None => (
                    self.clone(),
                    authenticator.authorization(&request.method, &request.path),
                ),
            };
            let redirected = target.http_request(request, path_and_query, None, None, authorization)?;
            response = target.dispatch(redirected, operation, Reuse::Pooled).await?;
        }
        Err(Error::Transport {
            operation,
            message: format!("the registry redirected more than {MOST_REDIRECTS} times"),
        })
    }

    /// Sends a `GET` of `path_and_query` with `authorization`, outside any operation, and
    /// returns the status and at most `limit` bytes of the body: a token service's answer.
    pub(crate) async fn get_raw(
        &self,
        operation: &'static str,
        path_and_query: &str,
        authorization: Option<http::HeaderValue>,
        limit: usize,
    ) -> Result<(http::StatusCode, Vec<u8>)> {
        let mut builder = http::Request::builder()
            .method(Method::GET)
            .uri(path_and_query)
            .header(http::header::HOST, &self.inner.authority);
        if let Some(authorization) = authorization {
            builder = builder.header(http::header::AUTHORIZATION, authorization);
        }
        let request = builder.body(Body::empty().http).map_err(|e| Error::InvalidArgument {
            operation,
            message: e.to_string(),
        })?;
        let response = self.dispatch(request, operation, Reuse::Pooled).await?;
        let status = response.status();
        Ok((status, response.into_body().read_limited(limit).await))
    }

    /// The error a failed response stands for, with the daemon's message.
    async fn error_response(
        &self,
        response: http::Response<ResponseBody>,
        operation: &'static str,
        version: &str,
    ) -> Error {
        let status = response.status();
        let body = response.into_body().read_limited(ERROR_BODY_LIMIT).await;
        if self.inner.options.version == VersionPolicy::Unversioned {
            if let Some(errors) = registry_errors(&body) {
                return Error::Registry {
                    operation,
                    status: status.as_u16(),
                    errors,
                };
            }
        }
        let message = daemon_message(&body);
        if status == http::StatusCode::BAD_REQUEST && message.contains("HTTP request to an HTTPS server") {
            let advice = if self.inner.options.version == VersionPolicy::Unversioned {
                "the server speaks TLS on this port; connect with https://"
            } else {
                "the daemon speaks TLS on this port; set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH"
            };
            let message = format!("{message}: {advice}");
            return Error::Tls {
                endpoint: self.inner.endpoint.to_string(),
                message,
            };
        }
        if status == http::StatusCode::BAD_REQUEST {
            if let Some(too_old) = self.version_too_old(operation, version, &message).await {
                return too_old;
            }
        }
        status_error(operation, status, message, version)
    }

    /// The daemon's refusal of an old API version, from its message, or for an answer without
    /// one (a `HEAD` request's) from the minimum its `/version` reports.
    async fn version_too_old(&self, operation: &'static str, version: &str, message: &str) -> Option<Error> {
        // Only a request that named a version (not the negotiating ping) can have been refused for it.
        let numbered = !version.is_empty() && version.chars().all(|c| c.is_ascii_digit() || c == '.');
        if self.inner.options.version == VersionPolicy::Unversioned || !numbered {
            return None;
        }
        let minimum = match minimum_in_refusal(message) {
            Some(minimum) => minimum.to_owned(),
            None if message == EMPTY_BODY => {
                let (status, body) = self.get_raw(operation, "/version", None, ERROR_BODY_LIMIT).await.ok()?;
                #[derive(serde::Deserialize)]
                struct Versions {
                    #[serde(rename = "MinAPIVersion")]
                    minimum: Option<String>,
                }
                let versions: Versions = serde_json::from_slice(&body).ok().filter(|_| status.is_success())?;
                versions.minimum?
            }
            None => return None,
        };
        (compare_versions(version, &minimum) == std::cmp::Ordering::Less).then(|| Error::VersionTooOld {
            operation,
            version: version.to_owned(),
            minimum,
        })
    }

    async fn collect_body(&self, response: http::Response<ResponseBody>, operation: &'static str) -> Result<Bytes> {
        let collect = response.into_body().collect();
        let collected = match self.inner.options.request_timeout {
            Some(after) => tokio::time::timeout(after, collect)
                .await
                .map_err(|_| Error::Timeout { operation, after })?,
            None => collect.await,
        };
        collected.map_err(|e| Error::Transport {
            operation,
            message: e.to_string(),
        })
    }

    /// Tells the observer, if there is one, that `operation` succeeded all the way through.
    fn report_success(&self, operation: &'static str, status: http::StatusCode, json: Option<&[u8]>) {
        if let Some(observer) = &self.inner.options.observer {
            observer(&Observation::Succeeded {
                operation,
                status: status.as_u16(),
                json,
            });
        }
    }

    /// What a streamed answer reports to the observer once it has ended without an error.
    fn completion(&self, operation: &'static str, status: http::StatusCode) -> Completion {
        Completion::new(self.inner.options.observer.as_ref(), operation, status.as_u16())
    }

    pub async fn send_json<T: DeserializeOwned + Default>(&self, request: Request) -> Result<T> {
        let operation = request.operation;
        let response = self.execute(request, None).await?;
        self.json_answer(operation, response).await
    }

    async fn json_answer<T: DeserializeOwned + Default>(
        &self,
        operation: &'static str,
        response: http::Response<ResponseBody>,
    ) -> Result<T> {
        let status = response.status();
        let body = self.collect_body(response, operation).await?;
        let value = decode_answer(operation, &body)?;
        self.report_success(operation, status, Some(&body));
        Ok(value)
    }

    pub async fn send_empty(&self, request: Request) -> Result<()> {
        let operation = request.operation;
        let response = self.execute(request, None).await?;
        self.empty_answer(operation, response).await
    }

    /// Sends `request`, whose daemon answers 204 when it did what was asked and 304 when the
    /// object already was so.
    pub async fn send_outcome(&self, request: Request) -> Result<Outcome> {
        let operation = request.operation;
        let response = self.execute(request, None).await?;
        let outcome = match response.status() {
            http::StatusCode::NOT_MODIFIED => Outcome::AlreadyDone,
            _ => Outcome::Done,
        };
        self.empty_answer(operation, response).await?;
        Ok(outcome)
    }

    async fn empty_answer(&self, operation: &'static str, response: http::Response<ResponseBody>) -> Result<()> {
        let status = response.status();
        self.collect_body(response, operation).await?;
        self.report_success(operation, status, None);
        Ok(())
    }

    /// Sends `request` and reads the headers its operation declares as `H`, before the body.
    async fn execute_with_headers<H: FromHeaders>(
        &self,
        request: Request,
    ) -> Result<(&'static str, http::Response<ResponseBody>, H)> {
        let operation = request.operation;
        let response = self.execute(request, None).await?;
        let headers = H::from_headers(operation, response.headers())?;
        Ok((operation, response, headers))
    }

    pub async fn send_empty_with_headers<H: FromHeaders>(&self, request: Request) -> Result<((), H)> {
        let (operation, response, headers) = self.execute_with_headers(request).await?;
        Ok((self.empty_answer(operation, response).await?, headers))
    }

    pub async fn send_json_with_headers<T: DeserializeOwned + Default, H: FromHeaders>(
        &self,
        request: Request,
    ) -> Result<(T, H)> {
        let (operation, response, headers) = self.execute_with_headers(request).await?;
        Ok((self.json_answer(operation, response).await?, headers))
    }

    pub async fn send_text_with_headers<H: FromHeaders>(&self, request: Request) -> Result<(String, H)> {
        let (operation, response, headers) = self.execute_with_headers(request).await?;
        Ok((self.text_answer(operation, response).await?, headers))
    }

    pub async fn send_bytes_with_headers<H: FromHeaders>(&self, request: Request) -> Result<(ByteStream, H)> {
        let (operation, response, headers) = self.execute_with_headers(request).await?;
        Ok((self.bytes_answer(operation, response), headers))
    }

    /// The `X-Docker-Container-Path-Stat` header of a response (archive HEAD), decoded.
    pub async fn send_path_stat(&self, request: Request) -> Result<PathStat> {
        let operation = request.operation;
        let response = self.execute(request, None).await?;
        let status = response.status();
        let header = response.headers().get("x-docker-container-path-stat").cloned();
        self.collect_body(response, operation).await?;
        let header = header.ok_or_else(|| Error::Decode {
            operation,
            type_name: "PathStat",
            path: "X-Docker-Container-Path-Stat".into(),
            message: "the daemon sent no path stat header".into(),
            snippet: String::new(),
        })?;
        let stat = PathStat::from_header(operation, header.as_bytes())?;
        self.report_success(operation, status, None);
        Ok(stat)
    }

    pub async fn send_text(&self, request: Request) -> Result<String> {
        let operation = request.operation;
        let response = self.execute(request, None).await?;
        self.text_answer(operation, response).await
    }

    async fn text_answer(&self, operation: &'static str, response: http::Response<ResponseBody>) -> Result<String> {
        let status = response.status();
        let body = self.collect_body(response, operation).await?;
        self.report_success(operation, status, None);
        Ok(String::from_utf8_lossy(&body).into_owned())
    }

    pub async fn send_bytes(&self, request: Request) -> Result<ByteStream> {
        let operation = request.operation;
        let response = self.execute(request, None).await?;
        Ok(self.bytes_answer(operation, response))
    }

    fn bytes_answer(&self, operation: &'static str, response: http::Response<ResponseBody>) -> ByteStream {
        let completion = self.completion(operation, response.status());
        ByteStream::new(body_source(response.into_body()), operation).with_completion(completion)
    }

    pub async fn send_json_stream<T: DeserializeOwned>(&self, request: Request) -> Result<JsonStream<T>> {
        let operation = request.operation;
        let response = self.execute(request, None).await?;
        let completion = self.completion(operation, response.status());
        Ok(JsonStream::new(body_source(response.into_body()), operation).with_completion(completion))
    }

    /// Container output: multiplexed or raw as the daemon's Content-Type says (API 1.42+), else
    /// as `tty` says, else as the output's first bytes show.
    pub async fn send_output(&self, request: Request, tty: Option<bool>) -> Result<OutputStream> {
        let operation = request.operation;
        let response = self.execute(request, None).await?;
        let framing = self.framing(&response, tty);
        let completion = self.completion(operation, response.status());
        Ok(OutputStream::new(body_source(response.into_body()), framing, operation).with_completion(completion))
    }

    /// How container output is laid out: as the daemon's Content-Type says (from API 1.42, raw
    /// for a TTY), else as the caller's `tty` says, else as the first bytes show.
    fn framing(&self, response: &http::Response<ResponseBody>, tty: Option<bool>) -> Framing {
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if content_type.starts_with("application/vnd.docker.multiplexed-stream") {
            return Framing::Multiplexed;
        }
        let version = self.inner.version.get().map(String::as_str).unwrap_or("0.0");
        let daemon_says = compare_versions(version, "1.42") != std::cmp::Ordering::Less;
        if content_type.starts_with("application/vnd.docker.raw-stream") && daemon_says {
            return Framing::Raw;
        }
        match tty {
            Some(true) => Framing::Raw,
            Some(false) => Framing::Multiplexed,
            None => Framing::Detect,
        }
    }

    /// Takes over the connection for a bidirectional session (attach, exec start).
    pub async fn hijack(&self, request: Request, tty: Option<bool>) -> Result<Session> {
        let operation = request.operation;
        let response = self.execute(request, Some("tcp")).await?;
        let framing = self.framing(&response, tty);
        let completion = self.completion(operation, response.status());
        if response.status() != http::StatusCode::SWITCHING_PROTOCOLS {
            // Detached exec and old daemons answer 200 and send output as a plain body.
            let output =
                OutputStream::new(body_source(response.into_body()), framing, operation).with_completion(completion);
            return Ok(Session {
                output,
                input: SessionInput { io: None },
            });
        }
        let upgraded = upgrade(response).await.map_err(|e| Error::Transport {
            operation,
            message: e.to_string(),
        })?;
        let (read, write) = tokio::io::split(TokioIo::new(upgraded));
        let source: ByteSource = Box::pin(tokio_util::io::ReaderStream::with_capacity(read, READ_CHUNK));
        Ok(Session {
            output: OutputStream::new(source, framing, operation).with_completion(completion),
            input: SessionInput {
                io: Some(Box::pin(write)),
            },
        })
    }

    /// Takes over the connection with `Upgrade: protocol` (a BuildKit session's `h2c`) and
    /// returns it raw; an answer other than `101 Switching Protocols` is an error.
    /// The completion reports the operation's success when the caller says it ended well.
    #[cfg(feature = "buildkit")]
    pub(crate) async fn upgrade(
        &self,
        request: Request,
        protocol: &'static str,
    ) -> Result<(hyper::upgrade::Upgraded, Completion)> {
        let operation = request.operation;
        let response = self.execute(request, Some(protocol)).await?;
        if response.status() != http::StatusCode::SWITCHING_PROTOCOLS {
            return Err(Error::Transport {
                operation,
                message: format!(
                    "the daemon answered {} instead of switching the connection to {protocol}",
                    response.status()
                ),
            });
        }
        let completion = self.completion(operation, response.status());
        let upgraded = upgrade(response).await.map_err(|e| Error::Transport {
            operation,
            message: e.to_string(),
        })?;
        Ok((upgraded, completion))
    }

    #[cfg(feature = "websocket")]
    /// Opens a WebSocket session (`/containers/{id}/attach/ws`): output arrives as raw bytes,
    /// whatever the container's TTY, and each write to the input is one binary message.
    pub async fn websocket(&self, request: Request) -> Result<Session> {
        let version = self.api_version().await?;
        let operation = request.operation;
        let uri = format!(
            "ws://{}{}",
            self.inner.authority,
            path_and_query(&request.path, &request.query, Some(version))
        );
        if let Some(observer) = &self.inner.options.observer {
            observer(&Observation::Sent { operation });
        }
        let connection = self.inner.connector.dial().await.map_err(|source| Error::Connect {
            endpoint: self.inner.endpoint.to_string(),
            source,
        })?;
        let session = crate::http::websocket::open(operation, version, uri, connection).await?;
        let completion = self.completion(operation, session.status);
        Ok(Session {
            output: OutputStream::new(session.output, Framing::Raw, operation).with_completion(completion),
            input: SessionInput {
                io: Some(session.input),
            },
        })
    }

    /// Opens a raw connection to the daemon, for tools that speak HTTP themselves.
    pub async fn connect_raw(&self) -> io::Result<impl AsyncRead + AsyncWrite + Send + Unpin> {
        self.inner.connector.dial().await
    }
}

/// A request without its body: what is needed to send it again.
struct RequestHead {
    method: Method,
    path: String,
    query: String,
    headers: Vec<(http::HeaderName, http::HeaderValue)>,
    operation: &'static str,
}

impl RequestHead {
    /// Where the request goes in API `version`.
    fn uri(&self, version: Option<&str>) -> String {
        path_and_query(&self.path, &self.query, version)
    }
}

fn is_redirect(status: http::StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
}

/// A copy of a request without a body (GET, HEAD), for sending it again.
fn body_source(body: ResponseBody) -> ByteSource {
    Box::pin(body)
}

/// What failed in TLS, with advice, when a TLS handshake or record failed somewhere in `error`.
fn tls_failure(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    #[cfg(feature = "tls")]
    return crate::transport::tls::describe_failure(error);
    #[cfg(not(feature = "tls"))]
    {
        let _ = error;
        None
    }
}

/// Compares `major.minor` versions numerically.
pub fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    let parse = |v: &str| -> (u32, u32) {
        let (major, minor) = v.split_once('.').unwrap_or((v, "0"));
        (major.parse().unwrap_or(0), minor.parse().unwrap_or(0))
    };
    parse(a).cmp(&parse(b))
}

fn lower_version<'a>(a: &'a str, b: &'a str) -> &'a str {
    if compare_versions(a, b) == std::cmp::Ordering::Less {
        a
    } else {
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server whose first connection answers one request and then closes, unanswered, the
    /// second sent on it, and whose later connections answer every request; how many
    /// connections it took.
    async fn server_closing_its_first_connection(socket: std::path::PathBuf) -> Arc<std::sync::atomic::AtomicUsize> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::UnixListener::bind(&socket).unwrap();
        let connections = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = connections.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let first = counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0;
                tokio::spawn(async move {
                    let mut received = Vec::new();
                    let mut answered = 0;
                    let mut buffer = [0; 4096];
                    while let Ok(read @ 1..) = stream.read(&mut buffer).await {
                        received.extend_from_slice(&buffer[..read]);
                        while let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") {
                            received.drain(..end + 4);
                            if first && answered == 1 {
                                return;
                            }
                            answered += 1;
                            let answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK";
                            stream.write_all(answer).await.unwrap();
                        }
                    }
                });
            }
        });
        connections
    }

    #[tokio::test]
    async fn a_read_the_server_closed_unanswered_is_sent_again_and_a_write_is_not() {
        for (method, resent) in [(Method::GET, true), (Method::HEAD, true), (Method::POST, false)] {
            let socket = std::env::temp_dir().join(format!("resend-{}-{method}.sock", std::process::id()));
            let _ = std::fs::remove_file(&socket);
            let connections = server_closing_its_first_connection(socket.clone()).await;
            let options = Options {
                version: VersionPolicy::Unversioned,
                ..Options::default()
            };
            let client = Client::with_options(Endpoint::Unix(socket.clone()), "test", options).unwrap();
            let request = || Request::new(method.clone(), "/thing".into(), "Thing");
            let limit = Duration::from_secs(10);
            let send = || tokio::time::timeout(limit, client.send_text(request()));
            send().await.expect("answered within 10 s").unwrap();
            let second = send().await.expect("answered or failed within 10 s");
            let _ = std::fs::remove_file(&socket);
            if resent {
                second.unwrap_or_else(|error| panic!("{method}: {error}"));
                assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 2, "{method}");
            } else {
                let error = second.expect_err("a write is not sent twice");
                assert!(matches!(error, Error::Transport { .. }), "{method}: {error}");
            }
        }
    }

    #[test]
    fn versions_compare_numerically() {
        assert_eq!(lower_version("1.41", "1.9"), "1.9");
        assert_eq!(lower_version("1.41", "1.100"), "1.41");
        assert_eq!(lower_version("1.54", "1.41"), "1.41");
    }
}
