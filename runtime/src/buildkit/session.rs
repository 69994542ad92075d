//! A BuildKit session: what a build asks of its client while it runs. The client opens it with
//! `POST /session`, naming the session and each gRPC method it serves in headers, and the daemon
//! takes the connection over (`101`, `Upgrade: h2c`). On that connection the roles turn: the
//! daemon is the HTTP/2 gRPC client and this side the server. A build started with
//! `session=ID` then reads its context and Dockerfile from the client's folder
//! (`moby.filesync.v1.FileSync`), asks it for secrets, registry credentials and tokens and ssh
//! agents, and sends local and tar outputs back (`moby.filesync.v1.FileSend`), while checking
//! the session's health every few seconds (`grpc.health.v1.Health`).

use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::Stream;
use hyper::body::Incoming;
use hyper_util::rt::TokioExecutor;
use sha2::Digest as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinHandle;

use super::filesync::{self, BytesMessage, FolderRequest, Tree};
use super::grpc::{self, AnswerBody, Code, MessageReader, MessageWriter, Status};
use super::memory::MemoryTree;
use crate::client::Client;
use crate::docker::config::DOCKER_HUB_SERVER;
use crate::docker::TarEntry;
use crate::error::{Error, Result};
use crate::http::request::{Method, Request};
use crate::registry::{Authenticator, Credentials};

/// The `remote` build parameter that tells the daemon to read the context through the session.
pub const REMOTE_CLIENT_SESSION: &str = "client-session";

/// The folder names a Dockerfile build asks the session for.
const CONTEXT_FOLDER: &str = "context";
const DOCKERFILE_FOLDER: &str = "dockerfile";
/// The name of a Dockerfile served from memory: the build's default.
const DOCKERFILE: &str = "Dockerfile";

const HEALTH_CHECK: &str = "/grpc.health.v1.Health/Check";
const FILE_SYNC: &str = "/moby.filesync.v1.FileSync/DiffCopy";
const FILE_SEND: &str = "/moby.filesync.v1.FileSend/DiffCopy";
const CREDENTIALS: &str = "/moby.filesync.v1.Auth/Credentials";
const FETCH_TOKEN: &str = "/moby.filesync.v1.Auth/FetchToken";
const GET_TOKEN_AUTHORITY: &str = "/moby.filesync.v1.Auth/GetTokenAuthority";
const VERIFY_TOKEN_AUTHORITY: &str = "/moby.filesync.v1.Auth/VerifyTokenAuthority";
const GET_SECRET: &str = "/moby.buildkit.secrets.v1.Secrets/GetSecret";
const CHECK_AGENT: &str = "/moby.sshforward.v1.SSH/CheckAgent";
const FORWARD_AGENT: &str = "/moby.sshforward.v1.SSH/ForwardAgent";

/// What a session says it serves: every method above, whatever the build uses, so that a build
/// asking for a secret or an agent the session lacks hears from the session which one. (Health's
/// streaming `Watch` is not served; the daemon only calls `Check`.)
const SERVED: [&str; 10] = [
    HEALTH_CHECK,
    FILE_SYNC,
    FILE_SEND,
    CREDENTIALS,
    FETCH_TOKEN,
    GET_TOKEN_AUTHORITY,
    VERIFY_TOKEN_AUTHORITY,
    GET_SECRET,
    CHECK_AGENT,
    FORWARD_AGENT,
];

/// Where a secret's bytes come from.
#[derive(Clone)]
pub enum SecretSource {
    /// A file, read when the session starts.
    File(PathBuf),
    /// An environment variable of this process, read when the session starts.
    Env(String),
    /// These bytes.
    Bytes(Vec<u8>),
}

impl fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretSource::File(path) => f.debug_tuple("File").field(path).finish(),
            SecretSource::Env(name) => f.debug_tuple("Env").field(name).finish(),
            SecretSource::Bytes(bytes) => write!(f, "Bytes({} bytes)", bytes.len()),
        }
    }
}

/// Where an exporter's result goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildOutput {
    /// The result's files, into this folder (merged with what it holds).
    Local(PathBuf),
    /// The result's files as one tar archive, written to this file.
    Tar(PathBuf),
}

impl BuildOutput {
    fn kind(&self) -> &'static str {
        match self {
            BuildOutput::Local(_) => "local",
            BuildOutput::Tar(_) => "tar",
        }
    }
}

/// The parts of a BuildKit session, configured before it starts: the folder the context comes
/// from, and what the build may ask for.
#[derive(Debug, Clone)]
pub struct BuildSession {
    context: FolderSource,
    dockerfile_folder: Option<FolderSource>,
    secrets: Vec<(String, SecretSource)>,
    agents: Vec<(String, Option<PathBuf>)>,
    outputs: Vec<BuildOutput>,
    logins: HashMap<String, (String, String)>,
    stored_credentials: bool,
}

/// Where a folder the session serves comes from.
#[derive(Debug, Clone)]
enum FolderSource {
    Disk(PathBuf),
    Memory(Vec<TarEntry>),
}

impl FolderSource {
    /// The folder as the session serves it; one that cannot be (missing, not a folder, a path
    /// outside it) is an error saying which, as `what` names it.
    fn tree(&self, what: &str) -> std::result::Result<Tree, String> {
        match self {
            FolderSource::Disk(folder) => {
                let found = std::fs::canonicalize(folder).map_err(|e| format!("{what} {}: {e}", folder.display()))?;
                match found.is_dir() {
                    true => Ok(Tree::Folder(found)),
                    false => Err(format!("{what} {} is not a folder", found.display())),
                }
            }
            FolderSource::Memory(entries) => MemoryTree::new(entries.iter().cloned())
                .map(|tree| Tree::Memory(Arc::new(tree)))
                .map_err(|e| format!("{what} in memory: {e}")),
        }
    }
}

impl BuildSession {
    /// A session that serves `context` as the build's context, and the Dockerfile from it.
    pub fn new(context: impl Into<PathBuf>) -> Self {
        Self::serving(FolderSource::Disk(context.into()))
    }

    /// A session that serves `entries` as the build's context, and the Dockerfile from them: a
    /// build with no folder on disk. Each entry's folders need not be given; every entry is
    /// owned by root and modified when the session starts.
    pub fn in_memory(entries: impl IntoIterator<Item = TarEntry>) -> Self {
        Self::serving(FolderSource::Memory(entries.into_iter().collect()))
    }

    fn serving(context: FolderSource) -> Self {
        BuildSession {
            context,
            dockerfile_folder: None,
            secrets: Vec::new(),
            agents: Vec::new(),
            outputs: Vec::new(),
            logins: HashMap::new(),
            stored_credentials: true,
        }
    }

    /// Serves the Dockerfile from `folder` rather than from the context.
    pub fn dockerfile_folder(mut self, folder: impl Into<PathBuf>) -> Self {
        self.dockerfile_folder = Some(FolderSource::Disk(folder.into()));
        self
    }

    /// Serves `contents` as the Dockerfile, rather than one from the context (the build's
    /// `dockerfile` parameter left as `Dockerfile`).
    pub fn dockerfile_in_memory(mut self, contents: impl Into<Vec<u8>>) -> Self {
        self.dockerfile_folder = Some(FolderSource::Memory(vec![TarEntry::file(DOCKERFILE, contents)]));
        self
    }

    /// Offers a secret, for `RUN --mount=type=secret,id=ID`.
    pub fn secret(mut self, id: impl Into<String>, source: SecretSource) -> Self {
        self.secrets.push((id.into(), source));
        self
    }

    /// Forwards an ssh agent, for `RUN --mount=type=ssh` (`id` is `default` unless the mount
    /// names another): the agent listening at `socket`, or with `None` the one `SSH_AUTH_SOCK`
    /// names when the session starts.
    pub fn ssh(mut self, id: impl Into<String>, socket: Option<PathBuf>) -> Self {
        self.agents.push((id.into(), socket));
        self
    }

    /// Receives the build's result as `output` instead of an image (the daemon takes one).
    pub fn output(mut self, output: BuildOutput) -> Self {
        self.outputs.push(output);
        self
    }

    /// Logs in to `registry` (`host[:port]`, or `docker.io`) when the build pulls from it, e.g.
    /// a private base image; other registries get what Docker's `config.json` holds.
    pub fn registry_login(
        mut self,
        registry: impl Into<String>,
        username: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        self.logins
            .insert(normal_registry(&registry.into()), (username.into(), password.into()));
        self
    }

    /// Whether registries without a login given here get the credentials of Docker's
    /// `config.json` and its helpers (the default) or none.
    pub fn stored_credentials(mut self, use_them: bool) -> Self {
        self.stored_credentials = use_them;
        self
    }

    /// The `outputs` build parameter for this session's outputs, if it has any.
    pub fn outputs_parameter(&self) -> Option<String> {
        if self.outputs.is_empty() {
            return None;
        }
        let outputs: Vec<_> = self
            .outputs
            .iter()
            .map(|output| serde_json::json!({"Type": output.kind(), "Attrs": {}}))
            .collect();
        Some(serde_json::Value::Array(outputs).to_string())
    }

    /// Opens the session on `client`'s daemon. Secrets and agents are read and checked here:
    /// a secret file that cannot be read or an agent that is not set is an error naming it,
    /// before any build starts.
    pub async fn start(self, client: &Client) -> Result<RunningSession> {
        const OPERATION: &str = "Session";
        let invalid = |message: String| Error::InvalidArgument {
            operation: OPERATION,
            message,
        };
        let context = self.context.tree("the build context").map_err(invalid)?;
        let dockerfile_folder = match &self.dockerfile_folder {
            Some(folder) => folder.tree("the Dockerfile's folder").map_err(invalid)?,
            None => context.clone(),
        };
        let mut secrets = HashMap::new();
        for (id, source) in &self.secrets {
            let bytes = match source {
                SecretSource::File(path) => std::fs::read(path)
                    .map_err(|e| invalid(format!("secret {id:?}: reading {}: {e}", path.display())))?,
                SecretSource::Env(name) => std::env::var_os(name)
                    .ok_or_else(|| invalid(format!("secret {id:?}: the environment variable {name} is not set")))?
                    .into_encoded_bytes(),
                SecretSource::Bytes(bytes) => bytes.clone(),
            };
            secrets.insert(id.clone(), bytes);
        }
        let mut agents = HashMap::new();
        for (id, socket) in &self.agents {
            let socket = match socket {
                Some(socket) => socket.clone(),
                None => std::env::var_os("SSH_AUTH_SOCK").map(PathBuf::from).ok_or_else(|| {
                    invalid(format!(
                        "ssh {id:?}: no agent socket given and SSH_AUTH_SOCK is not set"
                    ))
                })?,
            };
            if !socket.exists() {
                return Err(invalid(format!("ssh {id:?}: no agent socket at {}", socket.display())));
            }
            agents.insert(id.clone(), socket);
        }
        let id = session_id();
        let (shared_key, name) = match &context {
            Tree::Folder(folder) => (
                shared_key(&folder.display().to_string()),
                folder
                    .file_name()
                    .map_or_else(|| "context".to_owned(), |name| name.to_string_lossy().into_owned()),
            ),
            // Files in memory are sent whole each time (see `MemoryTree::modified`).
            Tree::Memory(_) => (shared_key("memory"), "memory".to_owned()),
        };
        let mut request = Request::new(Method::POST, "/session".to_owned(), OPERATION)
            .header("x-docker-expose-session-uuid", &id)?
            .header("x-docker-expose-session-name", &name)?
            .header("x-docker-expose-session-sharedkey", &shared_key)?;
        for method in SERVED {
            request = request.header("x-docker-expose-session-grpc-method", &method)?;
        }
        let outputs = self.outputs_parameter();
        let report = Arc::new(Report::default());
        let services = Arc::new(Services {
            context,
            dockerfile_folder,
            secrets,
            agents,
            outputs: self.outputs,
            logins: self.logins,
            stored_credentials: self.stored_credentials,
            report: report.clone(),
        });
        let (upgraded, completion) = client.upgrade(request, "h2c").await?;
        let serving = tokio::spawn(serve(upgraded, services));
        Ok(RunningSession {
            id,
            outputs,
            report,
            serving: Some(serving),
            completion: Some(completion),
        })
    }
}

/// `docker.io` and Docker Hub's other names as one key; other registries as given.
fn normal_registry(registry: &str) -> String {
    match registry {
        "docker.io" | "index.docker.io" | "registry-1.docker.io" | DOCKER_HUB_SERVER => "docker.io".to_owned(),
        other => other.to_owned(),
    }
}

/// A random id, as BuildKit's own are: 25 characters of lowercase letters and digits.
fn session_id() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut seed = [0u8; 32];
    // The standard library's hasher is seeded randomly per process; mixed with the time and a
    // counter it makes ids that do not repeat.
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    for (index, chunk) in seed.chunks_mut(8).enumerate() {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        hasher.write_usize(index);
        hasher.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos(),
        );
        chunk.copy_from_slice(&hasher.finish().to_le_bytes());
    }
    seed.iter()
        .take(25)
        .map(|byte| ALPHABET[*byte as usize % ALPHABET.len()] as char)
        .collect()
}

/// The same for every build of one folder from one machine, so that the daemon keeps what an
/// earlier build received from it and asks only for what changed.
fn shared_key(context: &str) -> String {
    let host = std::fs::read_to_string("/etc/machine-id").unwrap_or_default();
    let digest = sha2::Sha256::digest(format!("{}:{context}", host.trim()));
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// What a session did, for programs that show it and for tests.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SessionReport {
    /// Entries listed to the daemon (files, folders, links), over all folders it asked for.
    pub entries_listed: u64,
    /// Bytes of listing and contents sent to the daemon.
    pub bytes_sent: u64,
    /// Files whose contents the daemon asked for, as `folder/path` (`context/src/main.rs`), in
    /// the order they were sent.
    pub files_sent: Vec<String>,
    /// Bytes of files sent.
    pub file_bytes_sent: u64,
    /// Secrets the daemon asked for, found or not.
    pub secrets_asked: Vec<String>,
    /// Registries the daemon asked credentials for.
    pub credentials_asked: Vec<String>,
    /// Registries the session fetched a token for.
    pub tokens_fetched: Vec<String>,
    /// ssh agent connections forwarded.
    pub agent_connections: u64,
    /// Files and bytes received as outputs.
    pub files_received: u64,
    pub bytes_received: u64,
    /// Health checks answered.
    pub health_checks: u64,
    /// What the session refused or failed, each naming the call and why; the build's error
    /// says the same from the daemon's side.
    pub problems: Vec<String>,
}

/// The session's report as it fills.
#[derive(Debug, Default)]
pub(crate) struct Report {
    state: Mutex<SessionReport>,
}

impl Report {
    fn update(&self, change: impl FnOnce(&mut SessionReport)) {
        change(&mut self.state.lock().expect("no panics while locked"));
    }

    pub(crate) fn listed(&self, entries: usize) {
        self.update(|report| report.entries_listed += entries as u64);
    }

    pub(crate) fn sent_bytes(&self, bytes: usize) {
        self.update(|report| report.bytes_sent += bytes as u64);
    }

    pub(crate) fn sent_file(&self, folder: &str, path: &str, size: usize) {
        self.update(|report| {
            report.files_sent.push(format!("{folder}/{path}"));
            report.file_bytes_sent += size as u64;
        });
    }

    pub(crate) fn received_bytes(&self, bytes: usize) {
        self.update(|report| report.bytes_received += bytes as u64);
    }

    pub(crate) fn received_file(&self) {
        self.update(|report| report.files_received += 1);
    }

    fn snapshot(&self) -> SessionReport {
        self.state.lock().expect("no panics while locked").clone()
    }
}

/// An open session. Pass [`id`](Self::id) as the build's `session` parameter (with
/// [`REMOTE_CLIENT_SESSION`] as `remote` to build from its folder), and hand the build's
/// progress stream to [`attach`](Self::attach), which ends the session with the build. Dropped,
/// the session ends: the daemon sees its connection close.
pub struct RunningSession {
    id: String,
    outputs: Option<String>,
    report: Arc<Report>,
    serving: Option<JoinHandle<()>>,
    completion: Option<crate::http::observe::Completion>,
}

impl fmt::Debug for RunningSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunningSession")
            .field("id", &self.id)
            .field("open", &self.is_open())
            .finish_non_exhaustive()
    }
}

impl RunningSession {
    /// The session's id, the build's `session` parameter.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The build's `outputs` parameter, when the session receives outputs.
    pub fn outputs(&self) -> Option<&str> {
        self.outputs.as_deref()
    }

    /// Whether the daemon still holds the session's connection.
    pub fn is_open(&self) -> bool {
        self.serving.as_ref().is_some_and(|serving| !serving.is_finished())
    }

    /// What the session has done so far.
    pub fn report(&self) -> SessionReport {
        self.report.snapshot()
    }

    /// `progress` (a build's message stream) holding this session: when the stream ends or is
    /// dropped, the session ends.
    pub fn attach<S>(self, progress: S) -> SessionBuild<S> {
        SessionBuild {
            progress,
            report: self.report.clone(),
            session: Some(self),
        }
    }

    /// Ends the session and returns its report.
    pub async fn end(mut self) -> SessionReport {
        self.close().await;
        self.report.snapshot()
    }

    async fn close(&mut self) {
        if let Some(serving) = self.serving.take() {
            serving.abort();
            let _ = serving.await;
        }
        self.report_completion();
    }

    /// The `Session` operation succeeded when its calls all did.
    fn report_completion(&mut self) {
        if let Some(mut completion) = self.completion.take() {
            if self.report.snapshot().problems.is_empty() {
                completion.observe::<()>(&None);
            }
        }
    }
}

impl Drop for RunningSession {
    fn drop(&mut self) {
        if let Some(serving) = self.serving.take() {
            serving.abort();
        }
        self.report_completion();
    }
}

/// A build's progress stream that ends its session when the stream ends or is dropped.
pub struct SessionBuild<S> {
    progress: S,
    report: Arc<Report>,
    session: Option<RunningSession>,
}

impl<S> fmt::Debug for SessionBuild<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionBuild")
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

impl<S> SessionBuild<S> {
    /// What the session has done so far (all of it once the stream has ended).
    pub fn report(&self) -> SessionReport {
        self.report.snapshot()
    }

    /// The session's id.
    pub fn session_id(&self) -> Option<&str> {
        self.session.as_ref().map(RunningSession::id)
    }
}

impl<S: Stream + Unpin> Stream for SessionBuild<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = self.get_mut();
        let next = Pin::new(&mut this.progress).poll_next(cx);
        if let Poll::Ready(None) = next {
            // Dropping ends it; nothing of the session outlives the build.
            this.session = None;
        }
        next
    }
}

/// What the session serves, and to whom it reports.
struct Services {
    context: Tree,
    dockerfile_folder: Tree,
    secrets: HashMap<String, Vec<u8>>,
    agents: HashMap<String, PathBuf>,
    outputs: Vec<BuildOutput>,
    logins: HashMap<String, (String, String)>,
    stored_credentials: bool,
    report: Arc<Report>,
}

/// Serves the session on the connection the daemon took over until either side closes it.
async fn serve<C>(connection: C, services: Arc<Services>)
where
    C: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |request: http::Request<Incoming>| {
        let services = services.clone();
        async move { Ok::<_, Infallible>(services.dispatch(request)) }
    });
    let mut http2 = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
    // A session sends large files; the default windows (64 KiB) would cap it at one
    // round trip per window.
    http2
        .initial_stream_window_size(4 * 1024 * 1024)
        .initial_connection_window_size(8 * 1024 * 1024)
        .max_frame_size(256 * 1024);
    let _ = http2.serve_connection(connection, service).await;
}

impl Services {
    /// Answers one call: its response at once, its messages from a task of its own.
    fn dispatch(self: Arc<Self>, request: http::Request<Incoming>) -> http::Response<AnswerBody> {
        let (response, writer) = grpc::response();
        let (parts, body) = request.into_parts();
        let method = parts.uri.path().to_owned();
        trace_event!(method = %method, "BuildKit session call");
        let metadata = parts.headers;
        tokio::spawn(async move {
            let reader = MessageReader::new(body);
            let outcome = self.call(&method, &metadata, reader, writer.clone()).await;
            if let Err(status) = &outcome {
                self.report
                    .update(|report| report.problems.push(format!("{method}: {}", status.message)));
            }
            writer.finish(outcome).await;
        });
        response
    }

    async fn call(
        &self,
        method: &str,
        metadata: &http::HeaderMap,
        mut reader: MessageReader,
        writer: MessageWriter,
    ) -> std::result::Result<(), Status> {
        match method {
            HEALTH_CHECK => {
                let _: Option<HealthCheckRequest> = reader.next().await?;
                self.report.update(|report| report.health_checks += 1);
                writer.send(&HealthCheckResponse { status: SERVING }).await?;
                Ok(())
            }
            FILE_SYNC => {
                let folder = metadata_values(metadata, "dir-name")
                    .into_iter()
                    .next()
                    .unwrap_or_default();
                let root = match folder.as_str() {
                    CONTEXT_FOLDER => self.context.clone(),
                    DOCKERFILE_FOLDER => self.dockerfile_folder.clone(),
                    other => {
                        return Err(Status::new(
                            Code::NotFound,
                            format!("the session serves the folders context and dockerfile, not {other:?}"),
                        ))
                    }
                };
                let request = FolderRequest {
                    include: metadata_values(metadata, "include-patterns"),
                    exclude: metadata_values(metadata, "exclude-patterns"),
                    follow: metadata_values(metadata, "followpaths"),
                };
                filesync::send_folder(&folder, root, request, reader, writer, &self.report).await
            }
            FILE_SEND => {
                let index = metadata_values(metadata, "buildkit-attachable-exporter-id")
                    .first()
                    .and_then(|id| id.parse::<usize>().ok())
                    .unwrap_or(0);
                match self.outputs.get(index) {
                    Some(BuildOutput::Local(folder)) => {
                        filesync::receive_folder(folder, reader, writer, &self.report).await
                    }
                    Some(BuildOutput::Tar(file)) => filesync::receive_bytes(file, reader, &self.report).await,
                    None => Err(Status::new(
                        Code::NotFound,
                        format!(
                            "the daemon sent output {index}, and the session was given {} outputs",
                            self.outputs.len()
                        ),
                    )),
                }
            }
            GET_SECRET => {
                let request: GetSecretRequest = reader.next().await?.unwrap_or_default();
                self.report
                    .update(|report| report.secrets_asked.push(request.id.clone()));
                match self.secrets.get(&request.id) {
                    Some(data) => {
                        writer
                            .send(&GetSecretResponse {
                                data: Bytes::copy_from_slice(data),
                            })
                            .await?;
                        Ok(())
                    }
                    None => Err(Status::new(
                        Code::NotFound,
                        missing("secret", &request.id, self.secrets.keys()),
                    )),
                }
            }
            CREDENTIALS => {
                let request: CredentialsRequest = reader.next().await?.unwrap_or_default();
                self.report
                    .update(|report| report.credentials_asked.push(request.host.clone()));
                let (username, secret) = self.login(&request.host).unwrap_or_default();
                writer.send(&CredentialsResponse { username, secret }).await?;
                Ok(())
            }
            FETCH_TOKEN => {
                let request: FetchTokenRequest = reader.next().await?.unwrap_or_default();
                let credentials = match self.login(&request.host) {
                    Some((username, password)) => Credentials::Password { username, password },
                    None => Credentials::Anonymous,
                };
                let authenticator =
                    Authenticator::new(request.host.clone(), credentials, None, Duration::from_secs(10));
                let service = (!request.service.is_empty()).then_some(request.service.as_str());
                let (token, expires_in) = authenticator
                    .token("Session", &request.realm, service, &request.scopes)
                    .await
                    .map_err(|e| {
                        Status::new(
                            Code::PermissionDenied,
                            format!("fetching a token for {}: {e}", request.host),
                        )
                    })?;
                self.report
                    .update(|report| report.tokens_fetched.push(request.host.clone()));
                let issued_at = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |since| since.as_secs() as i64);
                writer
                    .send(&FetchTokenResponse {
                        token,
                        expires_in: expires_in as i64,
                        issued_at,
                    })
                    .await?;
                Ok(())
            }
            // BuildKit then fetches tokens through FetchToken, as without the CLI's token seeds.
            GET_TOKEN_AUTHORITY | VERIFY_TOKEN_AUTHORITY => Err(Status::new(
                Code::Unimplemented,
                "this session keeps no token authority",
            )),
            CHECK_AGENT => {
                let request: CheckAgentRequest = reader.next().await?.unwrap_or_default();
                let id = if request.id.is_empty() {
                    "default"
                } else {
                    request.id.as_str()
                };
                match self.agents.contains_key(id) {
                    true => {
                        writer.send(&CheckAgentResponse {}).await?;
                        Ok(())
                    }
                    false => Err(Status::new(
                        Code::NotFound,
                        missing("ssh agent", id, self.agents.keys()),
                    )),
                }
            }
            FORWARD_AGENT => {
                let id = metadata_values(metadata, "buildkit.ssh.id")
                    .into_iter()
                    .next()
                    .unwrap_or_else(|| "default".to_owned());
                let socket = self
                    .agents
                    .get(&id)
                    .ok_or_else(|| Status::new(Code::NotFound, missing("ssh agent", &id, self.agents.keys())))?;
                self.report.update(|report| report.agent_connections += 1);
                forward_agent(socket, reader, writer).await
            }
            other => Err(Status::new(
                Code::Unimplemented,
                format!("this session does not serve {other}"),
            )),
        }
    }

    /// The user name and password for `host`: given for it, else stored in Docker's
    /// configuration (when allowed).
    fn login(&self, host: &str) -> Option<(String, String)> {
        let key = normal_registry(host);
        if let Some(login) = self.logins.get(&key) {
            return Some(login.clone());
        }
        if !self.stored_credentials {
            return None;
        }
        let dir = crate::docker::environment::Environment::from_process().config_dir()?;
        let server = if key == "docker.io" { DOCKER_HUB_SERVER } else { host };
        let stored = crate::docker::config::DockerConfig::load(&dir)
            .ok()?
            .credentials(server)
            .ok()??;
        Some((stored.username?, stored.password?))
    }
}

/// "secret "x" is not in this session (it has: "a", "b")"
fn missing<'a>(what: &str, id: &str, offered: impl Iterator<Item = &'a String>) -> String {
    let mut offered: Vec<String> = offered.map(|id| format!("{id:?}")).collect();
    offered.sort();
    match offered.is_empty() {
        true => format!("{what} {id:?} is not in this session, which was given none"),
        false => format!("{what} {id:?} is not in this session (it has {})", offered.join(", ")),
    }
}

/// A gRPC metadata entry's values, decoded when BuildKit marks them percent-encoded
/// (`KEY-encoded: 1`, for values beyond ASCII).
fn metadata_values(metadata: &http::HeaderMap, key: &str) -> Vec<String> {
    let encoded = metadata
        .get(format!("{key}-encoded"))
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| matches!(value, "1" | "t" | "T" | "true" | "TRUE" | "True"));
    metadata
        .get_all(key)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .map(|value| match encoded {
            true => percent_encoding::percent_decode_str(&value.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned(),
            false => value.to_owned(),
        })
        .collect()
}

/// Joins the daemon's side of an agent connection to the agent's socket.
async fn forward_agent(
    socket: &Path,
    mut reader: MessageReader,
    writer: MessageWriter,
) -> std::result::Result<(), Status> {
    let agent = tokio::net::UnixStream::connect(socket).await.map_err(|e| {
        Status::new(
            Code::Unavailable,
            format!("connecting to the ssh agent at {}: {e}", socket.display()),
        )
    })?;
    let (mut from_agent, mut to_agent) = agent.into_split();
    let inbound = async move {
        while let Some(message) = reader.next::<BytesMessage>().await? {
            to_agent
                .write_all(&message.data)
                .await
                .map_err(|e| Status::new(Code::Unavailable, format!("writing to the ssh agent: {e}")))?;
        }
        let _ = to_agent.shutdown().await;
        Ok::<_, Status>(())
    };
    let outbound = async {
        let mut buffer = vec![0; 16 * 1024];
        loop {
            let read = from_agent
                .read(&mut buffer)
                .await
                .map_err(|e| Status::new(Code::Unavailable, format!("reading from the ssh agent: {e}")))?;
            if read == 0 {
                return Ok::<_, Status>(());
            }
            writer
                .send(&BytesMessage {
                    data: Bytes::copy_from_slice(&buffer[..read]),
                })
                .await?;
        }
    };
    tokio::try_join!(inbound, outbound)?;
    Ok(())
}

// The messages of the unary calls, with the field numbers of BuildKit's and gRPC's .proto files.

#[derive(Clone, PartialEq, prost::Message)]
struct HealthCheckRequest {
    #[prost(string, tag = "1")]
    service: String,
}

/// `grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING`
const SERVING: i32 = 1;

#[derive(Clone, PartialEq, prost::Message)]
struct HealthCheckResponse {
    #[prost(int32, tag = "1")]
    status: i32,
}

#[derive(Clone, PartialEq, prost::Message)]
struct GetSecretRequest {
    #[prost(string, tag = "1")]
    id: String,
    #[prost(map = "string, string", tag = "2")]
    annotations: HashMap<String, String>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct GetSecretResponse {
    #[prost(bytes = "bytes", tag = "1")]
    data: Bytes,
}

#[derive(Clone, PartialEq, prost::Message)]
struct CredentialsRequest {
    #[prost(string, tag = "1")]
    host: String,
}

#[derive(Clone, PartialEq, prost::Message)]
struct CredentialsResponse {
    #[prost(string, tag = "1")]
    username: String,
    #[prost(string, tag = "2")]
    secret: String,
}

#[derive(Clone, PartialEq, prost::Message)]
struct FetchTokenRequest {
    #[prost(string, tag = "1")]
    client_id: String,
    #[prost(string, tag = "2")]
    host: String,
    #[prost(string, tag = "3")]
    realm: String,
    #[prost(string, tag = "4")]
    service: String,
    #[prost(string, repeated, tag = "5")]
    scopes: Vec<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct FetchTokenResponse {
    #[prost(string, tag = "1")]
    token: String,
    #[prost(int64, tag = "2")]
    expires_in: i64,
    #[prost(int64, tag = "3")]
    issued_at: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
struct CheckAgentRequest {
    #[prost(string, tag = "1")]
    id: String,
}

#[derive(Clone, PartialEq, prost::Message)]
struct CheckAgentResponse {}

/// For the fuzz targets under `fuzz/`, which cargo-fuzz builds with `--cfg fuzzing`: a session
/// served on a connection of the target's choosing, with the target as the daemon.
#[cfg(fuzzing)]
pub mod fuzzing {
    use super::*;

    /// The gRPC methods a session serves.
    pub const METHODS: [&str; 10] = SERVED;

    /// Serves a session on `connection` until the other side ends it: both folders are
    /// `context`, the one secret is `token` (`s3cret`), the outputs are `outputs`; no agents,
    /// logins or stored credentials. Returns what the session reported.
    pub async fn serve_session<C>(connection: C, context: PathBuf, outputs: Vec<BuildOutput>) -> SessionReport
    where
        C: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    {
        let report = Arc::new(Report::default());
        let services = Services {
            dockerfile_folder: Tree::Folder(context.clone()),
            context: Tree::Folder(context),
            secrets: HashMap::from([("token".to_owned(), b"s3cret".to_vec())]),
            agents: HashMap::new(),
            outputs,
            logins: HashMap::new(),
            stored_credentials: false,
            report: report.clone(),
        };
        serve(connection, Arc::new(services)).await;
        report.snapshot()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buildkit::filesync::{Packet, PacketType};
    use http_body_util::BodyExt;
    use hyper_util::rt::TokioIo;

    /// A session served on one end of an in-memory connection, and an HTTP/2 client on the
    /// other, as the daemon's gRPC client is.
    async fn connected(services: Services) -> hyper::client::conn::http2::SendRequest<AnswerBody> {
        let (client, server) = tokio::io::duplex(1 << 20);
        tokio::spawn(serve(TokioIo::new(server), Arc::new(services)));
        let (sender, connection) = hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(client))
            .await
            .unwrap();
        tokio::spawn(connection);
        sender
    }

    fn services(context: PathBuf) -> Services {
        Services {
            dockerfile_folder: Tree::Folder(context.clone()),
            context: Tree::Folder(context),
            secrets: HashMap::from([("token".to_owned(), b"s3cret".to_vec())]),
            agents: HashMap::new(),
            outputs: Vec::new(),
            logins: HashMap::new(),
            stored_credentials: false,
            report: Arc::new(Report::default()),
        }
    }

    /// Starts a call of `method` with `metadata`; returns where its messages go and its answer.
    async fn call(
        sender: &mut hyper::client::conn::http2::SendRequest<AnswerBody>,
        method: &str,
        metadata: &[(&str, &str)],
    ) -> (MessageWriter, http::Response<Incoming>) {
        let (writer, body) = grpc::channel();
        let mut request = http::Request::builder()
            .method("POST")
            .uri(format!("http://session{method}"))
            .header("content-type", "application/grpc");
        for (name, value) in metadata {
            request = request.header(*name, *value);
        }
        let request = request.body(body).unwrap();
        let response = sender.send_request(request).await.unwrap();
        (writer, response)
    }

    /// Calls the unary `method` with `request`: its answer, if it sent one, and its status code
    /// and message.
    async fn unary<A: prost::Message + Default>(
        sender: &mut hyper::client::conn::http2::SendRequest<AnswerBody>,
        method: &str,
        request: &impl prost::Message,
    ) -> (Option<A>, String, String) {
        let (writer, response) = call(sender, method, &[]).await;
        writer.send(request).await.unwrap();
        let mut body = response.into_body();
        let mut buffer = bytes::BytesMut::new();
        while let Some(frame) = body.frame().await {
            match frame.unwrap().into_data() {
                Ok(data) => buffer.extend_from_slice(&data),
                Err(trailers) => {
                    let (code, message) = trailer_status(&trailers.into_trailers().unwrap());
                    let answer = grpc::split_message(&mut buffer)
                        .unwrap()
                        .map(|message| A::decode(message).unwrap());
                    return (answer, code, message);
                }
            }
        }
        panic!("the answer to {method} ended without trailers")
    }

    /// The status code and message of a call's trailers.
    fn trailer_status(trailers: &http::HeaderMap) -> (String, String) {
        let get = |name: &str| {
            trailers
                .get(name)
                .map(|value| value.to_str().unwrap().to_owned())
                .unwrap_or_default()
        };
        (get("grpc-status"), get("grpc-message"))
    }

    /// The status and message in an answer's trailers, once its body has ended.
    async fn status_of(body: &mut Incoming) -> (String, String) {
        while let Some(frame) = body.frame().await {
            if let Ok(trailers) = frame.unwrap().into_trailers() {
                return trailer_status(&trailers);
            }
        }
        panic!("the answer ended without trailers")
    }

    /// The packets of a DiffCopy answer, one by one, then its status.
    struct Answer {
        body: Incoming,
        buffer: bytes::BytesMut,
        status: Option<(String, String)>,
    }

    impl Answer {
        fn new(response: http::Response<Incoming>) -> Self {
            Answer {
                body: response.into_body(),
                buffer: bytes::BytesMut::new(),
                status: None,
            }
        }

        /// The next packet, or `None` once the trailers came.
        async fn next(&mut self) -> Option<Packet> {
            loop {
                if let Some(message) = grpc::split_message(&mut self.buffer).unwrap() {
                    return Some(<Packet as prost::Message>::decode(message).unwrap());
                }
                if self.status.is_some() {
                    return None;
                }
                let frame = self.body.frame().await.expect("trailers end the answer").unwrap();
                match frame.into_data() {
                    Ok(data) => self.buffer.extend_from_slice(&data),
                    Err(trailers) => self.status = Some(trailer_status(&trailers.into_trailers().unwrap())),
                }
            }
        }

        async fn packet(&mut self) -> Packet {
            self.next().await.expect("another packet")
        }

        async fn status(mut self) -> (String, String) {
            while self.next().await.is_some() {}
            self.status.expect("the trailers came")
        }
    }

    #[tokio::test]
    async fn a_folder_is_listed_and_only_the_files_asked_for_are_sent() {
        let context = std::env::temp_dir().join(format!("session-sync-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&context);
        std::fs::create_dir_all(context.join("src")).unwrap();
        std::fs::write(context.join("src/main.rs"), "fn main() {}").unwrap();
        std::fs::write(context.join("big.bin"), vec![7u8; 300 * 1024]).unwrap();
        std::fs::write(context.join("debug.log"), "left out").unwrap();
        let services = services(context.clone());
        let report = services.report.clone();
        let mut sender = connected(services).await;
        let metadata = [("dir-name", "context"), ("exclude-patterns", "*.log")];
        let (writer, response) = call(&mut sender, FILE_SYNC, &metadata).await;
        assert_eq!(response.headers()["content-type"], "application/grpc");
        let mut answer = Answer::new(response);
        // The listing: STAT after STAT, then an empty one.
        let listed: Vec<String> = answer.listing().await.into_iter().map(|stat| stat.path).collect();
        assert_eq!(listed, ["big.bin", "src", "src/main.rs"]);
        // Only big.bin (id 0) is asked for; it comes in chunks, then an empty DATA.
        let received = answer.contents(&writer, 0).await.len();
        assert_eq!(received, 300 * 1024);
        assert_eq!(answer.end(writer).await, ("0".to_owned(), String::new()));
        let report = report.snapshot();
        assert_eq!(report.files_sent, ["context/big.bin"]);
        assert_eq!(report.file_bytes_sent, 300 * 1024);
        std::fs::remove_dir_all(context).unwrap();
    }

    impl Answer {
        /// The listing: STAT after STAT, up to the empty one.
        async fn listing(&mut self) -> Vec<filesync::Stat> {
            let mut listed = Vec::new();
            loop {
                let packet = self.packet().await;
                assert_eq!(packet.kind, PacketType::Stat as i32);
                match packet.stat {
                    Some(stat) => listed.push(stat),
                    None => return listed,
                }
            }
        }

        /// Ends the transfer as the daemon does (its FIN, answered with one), then the status.
        async fn end(mut self, writer: MessageWriter) -> (String, String) {
            writer
                .send(&Packet {
                    kind: PacketType::Fin as i32,
                    ..Default::default()
                })
                .await
                .unwrap();
            assert_eq!(self.packet().await.kind, PacketType::Fin as i32);
            drop(writer);
            self.status().await
        }

        /// The contents of the entry `id`, asked for through `writer`.
        async fn contents(&mut self, writer: &MessageWriter, id: u32) -> Vec<u8> {
            writer
                .send(&Packet {
                    kind: PacketType::Req as i32,
                    id,
                    ..Default::default()
                })
                .await
                .unwrap();
            let mut contents = Vec::new();
            loop {
                let packet = self.packet().await;
                assert_eq!((packet.kind, packet.id), (PacketType::Data as i32, id));
                if packet.data.is_empty() {
                    return contents;
                }
                contents.extend_from_slice(&packet.data);
            }
        }
    }

    #[tokio::test]
    async fn files_in_memory_are_served_as_a_folder_is() {
        let big: Vec<u8> = (0..300 * 1024).map(|at| (at % 251) as u8).collect();
        let context = BuildSession::in_memory([
            TarEntry::file("src/main.rs", "fn main() {}"),
            TarEntry::file("big.bin", big.clone()),
            TarEntry::file("debug.log", "left out"),
            TarEntry::symlink("latest", "src/main.rs"),
        ]);
        let dockerfile = context.clone().dockerfile_in_memory("FROM scratch\n");
        let tree = |folder: &Option<FolderSource>| folder.as_ref().unwrap().tree("a folder").unwrap();
        let mut services = services(std::env::temp_dir());
        services.context = context.context.tree("the context").unwrap();
        services.dockerfile_folder = tree(&dockerfile.dockerfile_folder);
        let report = services.report.clone();
        let mut sender = connected(services).await;

        let metadata = [("dir-name", "context"), ("exclude-patterns", "*.log")];
        let (writer, response) = call(&mut sender, FILE_SYNC, &metadata).await;
        let mut answer = Answer::new(response);
        let listed = answer.listing().await;
        let paths: Vec<&str> = listed.iter().map(|stat| stat.path.as_str()).collect();
        assert_eq!(paths, ["big.bin", "latest", "src", "src/main.rs"]);
        assert_eq!((listed[0].mode, listed[0].size, listed[0].uid), (0o644, 300 * 1024, 0));
        assert_eq!(
            (listed[1].linkname.as_str(), listed[1].mode & 0o777),
            ("src/main.rs", 0o777)
        );
        assert_eq!(listed[2].mode & 0o777, 0o755);
        assert!(listed
            .iter()
            .all(|stat| stat.mod_time == listed[0].mod_time && stat.mod_time > 0));
        assert_eq!(answer.contents(&writer, 0).await, big);
        assert_eq!(answer.contents(&writer, 3).await, b"fn main() {}");
        assert_eq!(answer.end(writer).await, ("0".to_owned(), String::new()));

        let (writer, response) = call(&mut sender, FILE_SYNC, &[("dir-name", "dockerfile")]).await;
        let mut answer = Answer::new(response);
        let listed = answer.listing().await;
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].path, "Dockerfile");
        assert_eq!(answer.contents(&writer, 0).await, b"FROM scratch\n");
        let report = report.snapshot();
        assert_eq!(
            report.files_sent,
            ["context/big.bin", "context/src/main.rs", "dockerfile/Dockerfile"]
        );
    }

    #[test]
    fn a_context_in_memory_with_a_path_outside_it_is_refused_naming_the_path() {
        let session = BuildSession::in_memory([TarEntry::file("../Dockerfile", "FROM scratch")]);
        let error = session.context.tree("the build context").unwrap_err();
        assert!(
            error.contains("the build context in memory") && error.contains("\"../Dockerfile\""),
            "{error}"
        );
    }

    #[tokio::test]
    async fn secrets_health_and_unknown_methods_answer_with_statuses() {
        let services = services(std::env::temp_dir());
        let report = services.report.clone();
        let mut sender = connected(services).await;

        let asked = |id: &str| GetSecretRequest {
            id: id.into(),
            ..Default::default()
        };
        let (secret, code, _) = unary::<GetSecretResponse>(&mut sender, GET_SECRET, &asked("token")).await;
        assert_eq!((&secret.unwrap().data[..], code.as_str()), (&b"s3cret"[..], "0"));
        let (secret, code, message) = unary::<GetSecretResponse>(&mut sender, GET_SECRET, &asked("other")).await;
        assert_eq!((secret, code.as_str()), (None, "5"));
        assert_eq!(message, r#"secret "other" is not in this session (it has "token")"#);

        let check = HealthCheckRequest::default();
        let (health, code, _) = unary::<HealthCheckResponse>(&mut sender, HEALTH_CHECK, &check).await;
        assert_eq!((health.unwrap().status, code.as_str()), (SERVING, "0"));

        let (_writer, response) = call(&mut sender, "/moby.example.v1.Nothing/Here", &[]).await;
        let (code, message) = status_of(&mut response.into_body()).await;
        assert_eq!(code, "12");
        assert!(message.contains("Nothing/Here"), "{message}");
        let report = report.snapshot();
        assert_eq!(report.secrets_asked, ["token", "other"]);
        assert_eq!(report.health_checks, 1);
        assert_eq!(report.problems.len(), 2, "{:?}", report.problems);
    }

    /// A token service on a loopback port that gives `token` to `user:password` (Basic) and
    /// refuses anyone else with 401; returns its realm.
    async fn token_service(user: &'static str, password: &'static str) -> String {
        use base64::Engine;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let realm = format!("http://{}/token", listener.local_addr().unwrap());
        let expected = format!(
            "basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        )
        .to_lowercase();
        tokio::spawn(async move {
            loop {
                let (mut connection, _) = listener.accept().await.unwrap();
                let mut head = Vec::new();
                let mut buffer = [0u8; 4096];
                while !head.windows(4).any(|window| window == b"\r\n\r\n") {
                    let read = connection.read(&mut buffer).await.unwrap();
                    if read == 0 {
                        break;
                    }
                    head.extend_from_slice(&buffer[..read]);
                }
                let head = String::from_utf8_lossy(&head).to_lowercase();
                let (status, body) = if head.contains(&expected) && head.contains("scope=repository%3aapp%3apull") {
                    ("200 OK", r#"{"token":"granted","expires_in":300}"#)
                } else {
                    ("401 Unauthorized", r#"{"details":"who are you"}"#)
                };
                let answer = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = connection.write_all(answer.as_bytes()).await;
            }
        });
        realm
    }

    #[tokio::test]
    async fn tokens_are_fetched_with_the_login_given_for_the_registry() {
        let realm = token_service("me", "right").await;
        let mut services = services(std::env::temp_dir());
        services
            .logins
            .insert("registry.test:5000".into(), ("me".into(), "right".into()));
        services
            .logins
            .insert("other.test".into(), ("me".into(), "wrong".into()));
        let report = services.report.clone();
        let mut sender = connected(services).await;
        let ask = |host: &str| FetchTokenRequest {
            host: host.into(),
            realm: realm.clone(),
            service: "registry".into(),
            scopes: vec!["repository:app:pull".into()],
            ..Default::default()
        };

        let (token, code, _) = unary::<FetchTokenResponse>(&mut sender, FETCH_TOKEN, &ask("registry.test:5000")).await;
        let token = token.unwrap();
        assert_eq!(
            (token.token.as_str(), token.expires_in, code.as_str()),
            ("granted", 300, "0")
        );
        assert!(token.issued_at > 1_700_000_000, "{token:?}");
        let (token, code, message) = unary::<FetchTokenResponse>(&mut sender, FETCH_TOKEN, &ask("other.test")).await;
        assert_eq!((token, code.as_str()), (None, "7"));
        assert!(message.contains("other.test") && message.contains("401"), "{message}");

        let host = CredentialsRequest {
            host: "registry.test:5000".into(),
        };
        let (login, _, _) = unary::<CredentialsResponse>(&mut sender, CREDENTIALS, &host).await;
        let login = login.unwrap();
        assert_eq!((login.username.as_str(), login.secret.as_str()), ("me", "right"));
        let report = report.snapshot();
        assert_eq!(report.tokens_fetched, ["registry.test:5000"]);
        assert_eq!(report.credentials_asked, ["registry.test:5000"]);
    }

    /// Sends `packets` as the daemon sends an output, answering each REQ from `contents`;
    /// returns the status the session ended the call with.
    async fn send_output(
        sender: &mut hyper::client::conn::http2::SendRequest<AnswerBody>,
        packets: Vec<Packet>,
        contents: &HashMap<u32, &'static [u8]>,
    ) -> (String, String) {
        let (writer, response) = call(sender, FILE_SEND, &[]).await;
        for packet in packets {
            writer.send(&packet).await.unwrap();
        }
        let mut answer = Answer::new(response);
        // Answer requests until the session's FIN, or its failure.
        while let Some(packet) = answer.next().await {
            match PacketType::try_from(packet.kind).unwrap() {
                PacketType::Req => {
                    let data = Packet {
                        kind: PacketType::Data as i32,
                        id: packet.id,
                        data: Bytes::from_static(contents[&packet.id]),
                        ..Default::default()
                    };
                    writer.send(&data).await.unwrap();
                    let end = Packet {
                        data: Bytes::new(),
                        ..data
                    };
                    writer.send(&end).await.unwrap();
                }
                PacketType::Fin => {
                    let fin = Packet {
                        kind: PacketType::Fin as i32,
                        ..Default::default()
                    };
                    writer.send(&fin).await.unwrap();
                    drop(writer);
                    break;
                }
                other => panic!("the session sent {other:?}"),
            }
        }
        answer.status().await
    }

    fn stat(path: &str, mode: u32) -> Packet {
        Packet {
            kind: PacketType::Stat as i32,
            stat: Some(crate::buildkit::filesync::Stat {
                path: path.into(),
                mode,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn an_output_is_written_inside_its_folder_and_paths_leading_out_are_refused() {
        let dest = std::env::temp_dir().join(format!("session-output-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dest);
        let mut services = services(std::env::temp_dir());
        services.outputs = vec![BuildOutput::Local(dest.join("out"))];
        let mut sender = connected(services).await;
        let end = Packet {
            kind: PacketType::Stat as i32,
            ..Default::default()
        };
        let listing = vec![stat("bin", (1 << 31) | 0o755), stat("bin/tool", 0o750), end.clone()];
        let contents = HashMap::from([(1, &b"#!/bin/sh\n"[..])]);
        assert_eq!(send_output(&mut sender, listing, &contents).await.0, "0");
        let tool = dest.join("out/bin/tool");
        assert_eq!(std::fs::read(&tool).unwrap(), b"#!/bin/sh\n");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&tool).unwrap().permissions().mode() & 0o777, 0o750);

        let escaping = vec![stat("../escaped", 0o644), end.clone()];
        let (code, message) = send_output(&mut sender, escaping, &HashMap::new()).await;
        assert_eq!(code, "3");
        assert!(message.contains("\"../escaped\""), "{message}");
        assert!(!dest.join("escaped").exists());

        // A link received first, then a path through it: refused, nothing written where it leads.
        let mut up = stat("up", (1 << 27) | 0o777);
        up.stat.as_mut().unwrap().linkname = "..".into();
        let through_link = vec![up, stat("up/escaped", 0o644), end.clone()];
        let (code, message) = send_output(&mut sender, through_link, &HashMap::new()).await;
        assert_eq!(code, "3");
        assert!(
            message.contains("\"up/escaped\"") && message.contains("symbolic link"),
            "{message}"
        );
        assert!(!dest.join("escaped").exists());
        // A link where a file then goes is replaced, not written through.
        std::fs::write(dest.join("target"), "kept").unwrap();
        let mut link = stat("file", (1 << 27) | 0o777);
        link.stat.as_mut().unwrap().linkname = "../target".into();
        let replaced = vec![link, stat("file", 0o644), end];
        let contents = HashMap::from([(1, &b"new"[..])]);
        assert_eq!(send_output(&mut sender, replaced, &contents).await.0, "0");
        assert_eq!(std::fs::read(dest.join("out/file")).unwrap(), b"new");
        assert_eq!(std::fs::read(dest.join("target")).unwrap(), b"kept");
        std::fs::remove_dir_all(dest).unwrap();
    }

    #[tokio::test]
    async fn a_listing_cut_off_by_the_daemon_is_a_named_failure() {
        let services = services(std::env::temp_dir().join("no-such-session-folder"));
        let report = services.report.clone();
        let mut sender = connected(services).await;
        let (_writer, response) = call(&mut sender, FILE_SYNC, &[("dir-name", "secrets")]).await;
        let (code, message) = status_of(&mut response.into_body()).await;
        assert_eq!(code, "5");
        assert!(message.contains("\"secrets\""), "{message}");
        let (_writer, response) = call(&mut sender, FILE_SYNC, &[("dir-name", "context")]).await;
        let (code, message) = status_of(&mut response.into_body()).await;
        assert_eq!(code, "2");
        assert!(message.contains("no-such-session-folder"), "{message}");
        assert_eq!(report.snapshot().problems.len(), 2);
    }

    #[test]
    fn outputs_become_the_build_parameter() {
        let session = BuildSession::new(".")
            .output(BuildOutput::Local("out".into()))
            .output(BuildOutput::Tar("out.tar".into()));
        let parameter: serde_json::Value = serde_json::from_str(&session.outputs_parameter().unwrap()).unwrap();
        assert_eq!(
            parameter,
            serde_json::json!([{"Type": "local", "Attrs": {}}, {"Type": "tar", "Attrs": {}}])
        );
        assert_eq!(BuildSession::new(".").outputs_parameter(), None);
    }

    #[test]
    fn ids_differ_and_shared_keys_follow_the_folder() {
        let a = session_id();
        assert_eq!(a.len(), 25);
        assert_ne!(a, session_id());
        assert_eq!(shared_key("/a"), shared_key("/a"));
        assert_ne!(shared_key("/a"), shared_key("/b"));
    }

    #[test]
    fn metadata_values_are_decoded_when_marked() {
        let mut metadata = http::HeaderMap::new();
        metadata.append("exclude-patterns", "*.log".parse().unwrap());
        metadata.append("exclude-patterns", "b%C3%A9b%C3%A9".parse().unwrap());
        assert_eq!(
            metadata_values(&metadata, "exclude-patterns"),
            ["*.log", "b%C3%A9b%C3%A9"]
        );
        metadata.insert("exclude-patterns-encoded", "1".parse().unwrap());
        assert_eq!(metadata_values(&metadata, "exclude-patterns"), ["*.log", "bébé"]);
    }

    #[test]
    fn a_missing_secret_or_agent_is_named_with_what_the_session_has() {
        let offered = ["b".to_owned(), "a".to_owned()];
        assert_eq!(
            missing("secret", "token", offered.iter()),
            r#"secret "token" is not in this session (it has "a", "b")"#
        );
        assert_eq!(
            missing("ssh agent", "default", [].iter()),
            r#"ssh agent "default" is not in this session, which was given none"#
        );
    }

    #[test]
    fn docker_hub_has_one_name_for_logins() {
        assert_eq!(normal_registry("registry-1.docker.io"), "docker.io");
        assert_eq!(normal_registry(DOCKER_HUB_SERVER), "docker.io");
        assert_eq!(normal_registry("127.0.0.1:5002"), "127.0.0.1:5002");
    }
}
