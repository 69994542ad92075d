//! What a client of the Registry HTTP API needs beyond its requests: connecting to a registry by
//! address (plain HTTP on loopback, HTTPS elsewhere), answering its authentication challenges,
//! image references, digests checked while bytes stream, and `Link` pagination.

use std::collections::HashMap;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use http::HeaderValue;
use sha2::Digest as _;

use crate::client::{Authorize, ChallengeAnswer, Client, Options, VersionPolicy};
use crate::docker::config::{split_registry_host, DockerConfig, DOCKER_HUB_SERVER};
use crate::docker::environment::Environment;
use crate::error::{snippet, Error, Result};
use crate::http::request::Method;
use crate::transport::address::split_host_port;
use crate::transport::Endpoint;

/// The manifest media types a copy reads, for a manifest request's `Accept`: OCI and Docker
/// schema 2, image manifests and indexes.
pub const MANIFEST_MEDIA_TYPES: [&str; 4] = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];

/// Where Docker Hub serves the Registry API; references without a registry mean it.
pub const DOCKER_HUB_REGISTRY: &str = "registry-1.docker.io";

/// Whom to authenticate as when a registry challenges.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum Credentials {
    /// What Docker's `config.json` (under `DOCKER_CONFIG`, else `~/.docker`) or its credential
    /// helper holds for the registry; anonymous when it holds nothing.
    #[default]
    DockerConfig,
    Anonymous,
    Password {
        username: String,
        password: String,
    },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::DockerConfig => f.write_str("DockerConfig"),
            Credentials::Anonymous => f.write_str("Anonymous"),
            Credentials::Password { username, .. } => write!(f, "Password {{ username: {username:?}, .. }}"),
        }
    }
}

/// How to reach a registry beyond its address.
#[derive(Debug, Clone)]
pub struct RegistryOptions {
    pub credentials: Credentials,
    /// A CA (PEM) to trust besides the system's, for registries with a private CA.
    pub ca_file: Option<PathBuf>,
    pub connect_timeout: Duration,
    /// Limits each call, bodies read whole included; streamed blobs are not limited.
    pub request_timeout: Option<Duration>,
}

impl Default for RegistryOptions {
    fn default() -> Self {
        RegistryOptions {
            credentials: Credentials::DockerConfig,
            ca_file: None,
            connect_timeout: Duration::from_secs(10),
            request_timeout: Some(Duration::from_secs(60)),
        }
    }
}

/// A runtime client for the registry at `address`: `host[:port]`, reached over HTTPS, or over
/// plain HTTP when the host is `localhost`, in `127.0.0.0/8` or `::1` and does not speak TLS (as
/// Docker treats such registries without configuring them as insecure); an `http://` or
/// `https://` prefix chooses.
pub fn client(address: &str, options: RegistryOptions) -> Result<Client> {
    let (scheme, authority) = match address.split_once("://") {
        Some((scheme, rest)) => (Some(scheme.to_ascii_lowercase()), rest),
        None => (None, address),
    };
    let authority = authority.trim_end_matches('/');
    let (host, port) = split_host_port(authority)
        .map_err(|why| Error::Config(format!("{address:?} is not a registry address (host[:port]): {why}")))?;
    let host = host.to_owned();
    // (TLS, plain HTTP when the server does not speak TLS)
    let (https, plain_fallback) = match scheme.as_deref() {
        Some("https") => (true, false),
        Some("http") => (false, false),
        Some(other) => return Err(Error::Config(format!("{address:?}: unknown scheme {other:?}"))),
        None => (true, is_loopback(&host)),
    };
    let ca = match &options.ca_file {
        Some(path) => Some(
            std::fs::read(path).map_err(|e| Error::Config(format!("cannot read CA file {}: {e}", path.display())))?,
        ),
        None => None,
    };
    let port = port.unwrap_or(if https { 443 } else { 80 });
    let endpoint = if https {
        Endpoint::Https {
            host: host.clone(),
            port,
            ca: ca.clone(),
            plain_fallback,
        }
    } else {
        Endpoint::Tcp {
            host: host.clone(),
            port,
        }
    };
    let server = if port == 443 || port == 80 {
        host
    } else {
        format!("{host}:{port}")
    };
    let authenticator = Authenticator::new(server, options.credentials, ca, options.connect_timeout);
    let client_options = Options {
        connect_timeout: options.connect_timeout,
        request_timeout: options.request_timeout,
        version: VersionPolicy::Unversioned,
        authenticator: Some(Arc::new(authenticator)),
        ..Options::default()
    };
    Client::with_options(endpoint, "", client_options)
}

/// Whether `host` is this machine: `localhost`, `127.0.0.0/8` or `::1`.
pub fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|address| address.is_loopback())
}

/// Answers a registry's `WWW-Authenticate` challenges and authorizes later requests alike:
/// `Basic` with the credentials, or `Bearer` with a token fetched from the challenge's realm
/// (the token service) for the challenge's scope, kept per repository and access until it
/// expires.
pub struct Authenticator {
    server: String,
    credentials: Credentials,
    /// The CA of the registry, trusted for its token service too.
    ca: Option<Vec<u8>>,
    connect_timeout: Duration,
    state: Mutex<AuthState>,
}

#[derive(Default)]
struct AuthState {
    /// Set once the registry asked for Basic: sent with every request from then on.
    basic: Option<HeaderValue>,
    /// Bearer tokens by the access they were fetched for (`repository:NAME:pull`, ...).
    tokens: HashMap<String, Token>,
    /// One client per other server: token services, and where downloads are redirected.
    origins: HashMap<String, Client>,
}

/// What a token service answered.
struct TokenAnswer {
    token: String,
    lifetime: Duration,
}

impl TokenAnswer {
    /// Reads a token service's answer: the token under `token` or `access_token` (the first not
    /// empty), lasting `expires_in` seconds. A refusal says what is wrong and shows the answer.
    fn read(body: &[u8]) -> std::result::Result<TokenAnswer, String> {
        #[derive(serde::Deserialize)]
        struct Answer {
            token: Option<String>,
            access_token: Option<String>,
            expires_in: Option<i64>,
        }
        let not_a_token = |why: String| format!("the token service's answer is not a token: {why}; {}", snippet(body));
        // An object only: a struct also reads from an array of its fields in order.
        let answer = match serde_json::from_slice(body).map_err(|e| not_a_token(e.to_string()))? {
            serde_json::Value::Object(fields) => serde_json::Value::Object(fields),
            _ => return Err(not_a_token("not a JSON object".into())),
        };
        let answer: Answer = serde_json::from_value(answer).map_err(|e| not_a_token(e.to_string()))?;
        let token = [answer.token, answer.access_token]
            .into_iter()
            .flatten()
            .find(|token| !token.is_empty())
            .ok_or_else(|| "the token service's answer holds no token".to_owned())?;
        // The specification's default lifetime when the service says none; one already over
        // is used for this request only, and one longer than a day is asked for again daily.
        let seconds = answer
            .expires_in
            .unwrap_or(60)
            .clamp(0, MAX_TOKEN_LIFETIME.as_secs() as i64);
        Ok(TokenAnswer {
            token,
            lifetime: Duration::from_secs(seconds as u64),
        })
    }
}

struct Token {
    authorization: HeaderValue,
    /// A little before it expires, so that a request does not outlast it.
    usable_until: Instant,
}

impl Token {
    /// A token as kept for later requests: asked for at `asked`, used until a little before
    /// it expires.
    fn kept(operation: &'static str, realm: &str, asked: Instant, answer: TokenAnswer) -> Result<Token> {
        let authorization = HeaderValue::try_from(format!("Bearer {}", answer.token)).map_err(|_| Error::Auth {
            operation,
            realm: realm.to_owned(),
            message: "the token is not a header value".into(),
        })?;
        let lifetime = answer.lifetime;
        Ok(Token {
            authorization,
            usable_until: asked + lifetime - TOKEN_MARGIN.min(lifetime / 4),
        })
    }
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("server", &self.server)
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

/// A token is not used in its last seconds (or last quarter, if it lasts less than 20 s), which
/// a request could outlast.
const TOKEN_MARGIN: Duration = Duration::from_secs(5);

/// The longest a token is kept, whatever its service says: `expires_in` is any number a
/// service writes, and a deadline computed from a huge one would not fit in an `Instant`.
const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

/// A token service's answer is small; anything longer is not one.
const TOKEN_ANSWER_LIMIT: usize = 64 * 1024;

impl Authenticator {
    pub fn new(server: String, credentials: Credentials, ca: Option<Vec<u8>>, connect_timeout: Duration) -> Self {
        Authenticator {
            server,
            credentials,
            ca,
            connect_timeout,
            state: Mutex::new(AuthState::default()),
        }
    }

    /// The `Authorization` a request to `path` with `method` carries before any challenge.
    fn kept_authorization(&self, method: &Method, path: &str) -> Option<HeaderValue> {
        let state = self.state.lock().expect("no panics while locked");
        if let Some(basic) = &state.basic {
            return Some(basic.clone());
        }
        let token = state.tokens.get(&access_of(method, path))?;
        (Instant::now() < token.usable_until).then(|| token.authorization.clone())
    }

    /// Answers `challenge`, the `WWW-Authenticate` of a 401 to a request, returning the
    /// `Authorization` to send it again with.
    async fn answer_challenge(
        &self,
        operation: &'static str,
        challenge: &HeaderValue,
        method: &Method,
        path: &str,
        query: &str,
    ) -> Result<HeaderValue> {
        let text = challenge.to_str().unwrap_or_default();
        let challenge = Challenge::parse(text).ok_or_else(|| Error::Auth {
            operation,
            realm: self.server.clone(),
            message: format!("cannot read the challenge {text:?}"),
        })?;
        let secret = self.secret(operation)?;
        match challenge.scheme.as_str() {
            "basic" => {
                let Some((username, password)) = secret else {
                    return Err(Error::Auth {
                        operation,
                        realm: self.server.clone(),
                        message: format!(
                            "the registry wants a user name and password, and none are given or stored for {} in \
                             Docker's config.json",
                            self.server
                        ),
                    });
                };
                let value = basic_authorization(&username, &password);
                self.state.lock().expect("no panics while locked").basic = Some(value.clone());
                Ok(value)
            }
            "bearer" => {
                let access = access_of(method, path);
                let mut scopes: Vec<String> = challenge
                    .parameter("scope")
                    .map(|scope| scope.split(' ').map(str::to_owned).collect())
                    .unwrap_or_default();
                if scopes.is_empty() && !access.is_empty() {
                    scopes.push(access.clone());
                }
                // A mount reads the blob from another repository, which the token must allow too.
                if let Some(from) = query_value(query, "from") {
                    scopes.push(format!("repository:{from}:pull"));
                }
                let realm = challenge.parameter("realm").ok_or_else(|| Error::Auth {
                    operation,
                    realm: self.server.clone(),
                    message: format!("the Bearer challenge {text:?} names no realm"),
                })?;
                let asked = Instant::now();
                let answer = self
                    .token_answer(operation, realm, challenge.parameter("service"), &scopes, secret)
                    .await?;
                let token = Token::kept(operation, realm, asked, answer)?;
                let authorization = token.authorization.clone();
                self.state
                    .lock()
                    .expect("no panics while locked")
                    .tokens
                    .insert(access, token);
                Ok(authorization)
            }
            other => Err(Error::Auth {
                operation,
                realm: self.server.clone(),
                message: format!("the registry asks for {other:?} authentication, which this client does not speak"),
            }),
        }
    }

    /// The user name and password to authenticate with, if any.
    fn secret(&self, operation: &'static str) -> Result<Option<(String, String)>> {
        match &self.credentials {
            Credentials::Anonymous => Ok(None),
            Credentials::Password { username, password } => Ok(Some((username.clone(), password.clone()))),
            Credentials::DockerConfig => {
                let Some(dir) = Environment::from_process().config_dir() else {
                    return Ok(None);
                };
                let key = if self.server == DOCKER_HUB_REGISTRY || self.server == "docker.io" {
                    DOCKER_HUB_SERVER
                } else {
                    self.server.as_str()
                };
                let stored = DockerConfig::load(&dir)?.credentials(key).map_err(|e| Error::Auth {
                    operation,
                    realm: self.server.clone(),
                    message: format!("reading the stored credentials: {e}"),
                })?;
                Ok(stored.and_then(|auth| Some((auth.username?, auth.password?))))
            }
        }
    }

    /// A token from `realm` for `service` and `scopes`, fetched with this authenticator's
    /// credentials, and how many seconds it lasts: what a BuildKit session answers when the
    /// daemon asks it to fetch one.
    #[cfg(feature = "buildkit")]
    pub(crate) async fn token(
        &self,
        operation: &'static str,
        realm: &str,
        service: Option<&str>,
        scopes: &[String],
    ) -> Result<(String, u64)> {
        let secret = self.secret(operation)?;
        let answer = self.token_answer(operation, realm, service, scopes, secret).await?;
        Ok((answer.token, answer.lifetime.as_secs()))
    }

    async fn token_answer(
        &self,
        operation: &'static str,
        realm: &str,
        service: Option<&str>,
        scopes: &[String],
        secret: Option<(String, String)>,
    ) -> Result<TokenAnswer> {
        trace_event!(realm, service, scopes = ?scopes, "fetching a token");
        let refused = |message: String| Error::Auth {
            operation,
            realm: realm.to_owned(),
            message,
        };
        let uri: http::Uri = realm
            .parse()
            .map_err(|e| refused(format!("the realm is not a URL: {e}")))?;
        let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
            return Err(refused("the realm is not an absolute URL".into()));
        };
        let mut query = uri.query().unwrap_or_default().to_owned();
        let mut add = |name: &str, value: &str| {
            if !query.is_empty() {
                query.push('&');
            }
            query.push_str(name);
            query.push('=');
            query.extend(percent_encoding::utf8_percent_encode(
                value,
                percent_encoding::NON_ALPHANUMERIC,
            ));
        };
        if let Some(service) = service {
            add("service", service);
        }
        for scope in scopes {
            add("scope", scope);
        }
        let service_client = self.origin_client(&format!("{scheme}://{authority}"))?;
        let authorization = secret.map(|(username, password)| basic_authorization(&username, &password));
        let (status, body) = service_client
            .get_raw(
                operation,
                &format!("{}?{query}", uri.path()),
                authorization,
                TOKEN_ANSWER_LIMIT,
            )
            .await
            .map_err(|e| refused(format!("the token service cannot be reached: {e}")))?;
        if !status.is_success() {
            return Err(refused(format!(
                "the token service answered {status}: {}",
                String::from_utf8_lossy(&body).trim()
            )));
        }
        TokenAnswer::read(&body).map_err(refused)
    }

    /// A client for another server (`scheme://authority`: a token service, or where a
    /// registry redirects a download), one per server, without credentials.
    fn origin_client(&self, base: &str) -> Result<Client> {
        let mut state = self.state.lock().expect("no panics while locked");
        if let Some(client) = state.origins.get(base) {
            return Ok(client.clone());
        }
        let options = RegistryOptions {
            credentials: Credentials::Anonymous,
            ca_file: None,
            connect_timeout: self.connect_timeout,
            request_timeout: Some(Duration::from_secs(30)),
        };
        let client = origin_client(base, &options, self.ca.clone())?;
        state.origins.insert(base.to_owned(), client.clone());
        Ok(client)
    }
}

/// The client asks before each request, answers a challenge through here, and sends
/// redirected reads elsewhere without the registry's credentials.
impl Authorize for Authenticator {
    fn authorization(&self, method: &Method, path: &str) -> Option<HeaderValue> {
        self.kept_authorization(method, path)
    }

    fn answer<'a>(
        &'a self,
        operation: &'static str,
        challenge: &'a HeaderValue,
        method: &'a Method,
        path: &'a str,
        query: &'a str,
    ) -> ChallengeAnswer<'a> {
        Box::pin(self.answer_challenge(operation, challenge, method, path, query))
    }

    fn client_for(&self, origin: &str) -> Result<Client> {
        self.origin_client(origin)
    }
}

/// A client for the server at `base` (`scheme://authority`), trusting `ca` too.
fn origin_client(base: &str, options: &RegistryOptions, ca: Option<Vec<u8>>) -> Result<Client> {
    let (scheme, authority) = base.split_once("://").expect("built from a parsed URL");
    let (host, port) = split_host_port(authority).map_err(|why| Error::Config(format!("{base:?}: {why}")))?;
    let host = host.to_owned();
    let endpoint = if scheme.eq_ignore_ascii_case("https") {
        Endpoint::Https {
            host,
            port: port.unwrap_or(443),
            ca,
            plain_fallback: false,
        }
    } else {
        Endpoint::Tcp {
            host,
            port: port.unwrap_or(80),
        }
    };
    let client_options = Options {
        connect_timeout: options.connect_timeout,
        request_timeout: options.request_timeout,
        version: VersionPolicy::Unversioned,
        ..Options::default()
    };
    Client::with_options(endpoint, "", client_options)
}

fn basic_authorization(username: &str, password: &str) -> HeaderValue {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
    let mut value = HeaderValue::try_from(format!("Basic {encoded}")).expect("base64 is a valid header value");
    value.set_sensitive(true);
    value
}

/// The access a request needs, as token scopes spell it: `repository:NAME:pull` for reads,
/// `repository:NAME:pull,push` for writes, `registry:catalog:*` for the catalog.
fn access_of(method: &Method, path: &str) -> String {
    let Some(rest) = path.strip_prefix("/v2/") else {
        return String::new();
    };
    if rest.starts_with("_catalog") {
        return "registry:catalog:*".into();
    }
    let name_end = ["/manifests/", "/blobs/", "/tags/"]
        .iter()
        .filter_map(|marker| rest.rfind(marker))
        .max();
    let Some(name_end) = name_end else {
        return String::new();
    };
    let actions = match *method {
        Method::GET | Method::HEAD => "pull",
        Method::DELETE => "delete",
        _ => "pull,push",
    };
    let name = percent_encoding::percent_decode_str(&rest[..name_end]).decode_utf8_lossy();
    format!("repository:{name}:{actions}")
}

/// The first value of `name` in a URL query, percent-decoded.
fn query_value(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == name).then(|| {
            percent_encoding::percent_decode_str(&value.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        })
    })
}

/// A `WWW-Authenticate` challenge: its scheme (lower case) and `key="value"` parameters, keys
/// lower case.
#[derive(Debug, PartialEq)]
pub struct Challenge {
    pub scheme: String,
    pub parameters: Vec<(String, String)>,
}

impl Challenge {
    /// The challenge `text` makes (`Bearer realm="...",service="...",scope="..."`), or `None`
    /// when it is not one: no scheme, an unterminated quote, or a parameter whose name is not an
    /// HTTP token (RFC 9110), as after a quoted value run on without a comma.
    pub fn parse(text: &str) -> Option<Challenge> {
        let text = text.trim();
        let (scheme, mut rest) = text.split_once(' ').unwrap_or((text, ""));
        if scheme.is_empty() {
            return None;
        }
        let mut parameters = Vec::new();
        loop {
            rest = rest.trim_start_matches([' ', ',']);
            if rest.is_empty() {
                break;
            }
            let (key, after) = rest.split_once('=')?;
            let key = key.trim();
            let is_token = !key.is_empty()
                && key
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
            if !is_token {
                return None;
            }
            let (value, after) = match after.strip_prefix('"') {
                Some(quoted) => {
                    let end = quoted.find('"')?;
                    (&quoted[..end], &quoted[end + 1..])
                }
                None => after.split_once(',').unwrap_or((after, "")),
            };
            parameters.push((key.to_ascii_lowercase(), value.to_owned()));
            rest = after;
        }
        Some(Challenge {
            scheme: scheme.to_ascii_lowercase(),
            parameters,
        })
    }

    /// The value of the parameter `name` (lower case), if the challenge has it.
    pub fn parameter(&self, name: &str) -> Option<&str> {
        self.parameters
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// The `last` parameter of the `rel="next"` link in a `Link` header: what to pass as `last` for
/// the next page of a tag or repository list. `None` on the last page.
pub fn next_page(link: &str) -> Option<String> {
    link.split(',').find_map(|entry| {
        let (target, parameters) = entry.split_once(';')?;
        // `rel` holds relation types separated by spaces, quoted or not (RFC 8288).
        let is_next = parameters.split(';').any(|parameter| {
            parameter.split_once('=').is_some_and(|(name, value)| {
                name.trim().eq_ignore_ascii_case("rel")
                    && value
                        .trim()
                        .trim_matches('"')
                        .split_ascii_whitespace()
                        .any(|relation| relation.eq_ignore_ascii_case("next"))
            })
        });
        if !is_next {
            return None;
        }
        let url = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        query_value(url.split_once('?')?.1, "last")
    })
}

/// A content digest, `sha256:` and 64 lower-case hex digits: the only algorithm registries use
/// for images.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(String);

impl Digest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Digest {
        Digest(format!("sha256:{}", hex(&sha2::Sha256::digest(bytes))))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Digest {
    type Err = Error;

    fn from_str(text: &str) -> Result<Digest> {
        let valid = text.strip_prefix("sha256:").is_some_and(|hex| {
            hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        });
        if !valid {
            return Err(Error::InvalidArgument {
                operation: "Digest",
                message: format!("{text:?} is not a sha256 digest (sha256: and 64 lower-case hex digits)"),
            });
        }
        Ok(Digest(text.to_owned()))
    }
}

impl std::fmt::Display for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Computes the digest of content fed to it chunk by chunk.
#[derive(Clone, Default)]
pub struct Digester {
    hasher: sha2::Sha256,
    received: u64,
}

impl Digester {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn update(&mut self, chunk: &[u8]) {
        self.hasher.update(chunk);
        self.received += chunk.len() as u64;
    }

    /// How many bytes have been fed.
    pub fn received(&self) -> u64 {
        self.received
    }

    pub fn finish(self) -> Digest {
        Digest(format!("sha256:{}", hex(&self.hasher.finalize())))
    }
}

/// Checks content against its digest as it passes, chunk by chunk, so that nothing has to be
/// held to verify it: feed every byte from the first, then [`DigestCheck::finish`].
#[derive(Clone)]
pub struct DigestCheck {
    expected: Digest,
    digester: Digester,
}

impl DigestCheck {
    pub fn new(expected: Digest) -> Self {
        DigestCheck {
            expected,
            digester: Digester::new(),
        }
    }

    pub fn update(&mut self, chunk: &[u8]) {
        self.digester.update(chunk);
    }

    /// How many bytes have been fed.
    pub fn received(&self) -> u64 {
        self.digester.received()
    }

    /// `Ok` when the bytes fed are the content the digest names; `DigestMismatch` otherwise.
    pub fn finish(self, operation: &'static str) -> Result<()> {
        let actual = self.digester.finish();
        if actual == self.expected {
            Ok(())
        } else {
            Err(Error::DigestMismatch {
                operation,
                expected: self.expected.0,
                actual: actual.0,
            })
        }
    }
}

/// An image reference: `[registry/]repository[:tag][@digest]`, as Docker reads it (the first
/// component is a registry when it has a `.` or `:` or is `localhost`; Docker Hub otherwise,
/// where one-component names are under `library/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub registry: String,
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<Digest>,
}

impl Reference {
    /// The digest if there is one, else the tag, else `latest`: what a manifest request names.
    pub fn target(&self) -> &str {
        match (&self.digest, &self.tag) {
            (Some(digest), _) => digest.as_str(),
            (None, Some(tag)) => tag,
            (None, None) => "latest",
        }
    }
}

impl FromStr for Reference {
    type Err = Error;

    fn from_str(text: &str) -> Result<Reference> {
        let invalid = |why: &str| Error::InvalidArgument {
            operation: "Reference",
            message: format!("{text:?} is not an image reference: {why}"),
        };
        let (rest, digest) = match text.split_once('@') {
            Some((rest, digest)) => (rest, Some(digest.parse::<Digest>()?)),
            None => (text, None),
        };
        let (registry, path) = match split_registry_host(rest) {
            (Some(host), path) => (host.to_owned(), path),
            (None, path) => (DOCKER_HUB_REGISTRY.to_owned(), path),
        };
        let (repository, tag) = match path.rsplit_once(':') {
            Some((repository, tag)) if !tag.contains('/') => (repository, Some(tag.to_owned())),
            _ => (path, None),
        };
        if repository.is_empty() || repository.split('/').any(str::is_empty) {
            return Err(invalid("the repository name is empty or has an empty part"));
        }
        if repository.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(invalid("repository names are lower case"));
        }
        if tag.as_deref().is_some_and(str::is_empty) {
            return Err(invalid("the tag is empty"));
        }
        let repository = if registry == DOCKER_HUB_REGISTRY && !repository.contains('/') {
            format!("library/{repository}")
        } else {
            repository.to_owned()
        };
        Ok(Reference {
            registry,
            repository,
            tag,
            digest,
        })
    }
}

impl std::fmt::Display for Reference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

/// For the fuzz targets under `fuzz/`, which cargo-fuzz builds with `--cfg fuzzing`: the
/// reading of a token service's answer, otherwise internal.
#[cfg(fuzzing)]
pub mod fuzzing {
    use super::*;

    /// A token service's answer as it is kept: the token, its lifetime, the `Authorization`
    /// later requests carry and how long from now it is used; or why the answer is refused.
    pub fn token_answer(body: &[u8]) -> std::result::Result<(String, Duration, HeaderValue, Duration), String> {
        let answer = TokenAnswer::read(body)?;
        let (token, lifetime) = (answer.token.clone(), answer.lifetime);
        let asked = Instant::now();
        let kept = Token::kept("Fuzz", "https://realm", asked, answer).map_err(|e| e.to_string())?;
        Ok((token, lifetime, kept.authorization, kept.usable_until - asked))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_parse_with_quoted_commas() {
        let bearer = Challenge::parse(
            r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push""#,
        )
        .unwrap();
        assert_eq!(bearer.scheme, "bearer");
        assert_eq!(bearer.parameter("realm"), Some("https://auth.example/token"));
        assert_eq!(bearer.parameter("scope"), Some("repository:a/b:pull,push"));
        let basic = Challenge::parse(r#"Basic realm="test-registry""#).unwrap();
        assert_eq!(basic.scheme, "basic");
        assert_eq!(basic.parameter("realm"), Some("test-registry"));
        assert_eq!(Challenge::parse(""), None);
        assert_eq!(Challenge::parse(r#"Bearer realm="unterminated"#), None);
        // A quoted value run on into the next parameter without a comma: no parameter named
        // `garbage,service` is made up.
        assert_eq!(Challenge::parse(r#"Bearer realm="x"garbage,service="y""#), None);
        assert_eq!(Challenge::parse(r#"Bearer "realm="x""#), None);
    }

    #[test]
    fn token_answers_are_read_whatever_lifetime_they_state() {
        let read = |body: &str| TokenAnswer::read(body.as_bytes());
        let answer = read(r#"{"token":"abc","expires_in":300}"#).unwrap();
        assert_eq!(
            (answer.token.as_str(), answer.lifetime),
            ("abc", Duration::from_secs(300))
        );
        // An empty `token` beside an `access_token` (OAuth2 services write both).
        assert_eq!(read(r#"{"token":"","access_token":"xyz"}"#).unwrap().token, "xyz");
        assert_eq!(read(r#"{"token":"t"}"#).unwrap().lifetime, Duration::from_secs(60));
        // Lifetimes no deadline can hold, and ones already over: neither panics when kept.
        for (expires_in, kept_for) in [(i64::MAX, MAX_TOKEN_LIFETIME), (-5, Duration::ZERO)] {
            let body = format!(r#"{{"token":"t","expires_in":{expires_in}}}"#);
            let answer = read(&body).unwrap();
            assert_eq!(answer.lifetime, kept_for, "{body}");
            Token::kept("Test", "https://realm", Instant::now(), answer).unwrap();
        }
        let refusal = read(r#"{"access_token":""}"#).map(|_| ()).unwrap_err();
        assert!(refusal.contains("holds no token"), "{refusal}");
        // Found by the fuzz target: the fields in an array read as if named.
        let refusal = read(r#"["","]",4]"#).map(|_| ()).unwrap_err();
        assert!(refusal.contains("not a JSON object"), "{refusal}");
        let refusal = read("<html>").map(|_| ()).unwrap_err();
        assert!(refusal.contains("<html>"), "{refusal}");
    }

    #[test]
    fn requests_map_to_the_access_they_need() {
        assert_eq!(access_of(&Method::GET, "/v2/a/b/manifests/v1"), "repository:a/b:pull");
        assert_eq!(access_of(&Method::HEAD, "/v2/a/blobs/sha256:00"), "repository:a:pull");
        assert_eq!(
            access_of(&Method::POST, "/v2/a/b/blobs/uploads/"),
            "repository:a/b:pull,push"
        );
        assert_eq!(
            access_of(&Method::PATCH, "/v2/x/blobs/uploads/u"),
            "repository:x:pull,push"
        );
        assert_eq!(
            access_of(&Method::DELETE, "/v2/x/manifests/sha256:00"),
            "repository:x:delete"
        );
        assert_eq!(access_of(&Method::GET, "/v2/_catalog"), "registry:catalog:*");
        assert_eq!(access_of(&Method::GET, "/v2/"), "");
    }

    #[test]
    fn link_headers_give_the_next_page() {
        assert_eq!(
            next_page(r#"</v2/a/tags/list?last=v%2B2&n=2>; rel="next""#).as_deref(),
            Some("v+2")
        );
        assert_eq!(next_page(r#"</v2/a/tags/list?last=v2&n=2>; rel="prev""#), None);
        assert_eq!(next_page(""), None);
        // Spacing around `=`, an unquoted value, several relation types.
        assert_eq!(
            next_page(r#"</v2/_catalog?last=b>; rel = "next""#).as_deref(),
            Some("b")
        );
        assert_eq!(next_page("</v2/_catalog?last=b>; rel=next").as_deref(), Some("b"));
        assert_eq!(
            next_page(r#"</v2/_catalog?last=b>; rel="prev next""#).as_deref(),
            Some("b")
        );
        // Found by fuzz/fuzz_targets/link.rs: a space inside the parameter's name made it `rel`.
        assert_eq!(next_page(r#"</v2/a/tags/list?last=v1>;re l="next""#), None);
    }

    #[test]
    fn digests_are_checked_and_mismatches_are_errors() {
        let digest = Digest::of(b"hello");
        assert_eq!(
            digest.as_str(),
            "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        let mut check = DigestCheck::new(digest.clone());
        check.update(b"hel");
        check.update(b"lo");
        assert_eq!(check.received(), 5);
        check.finish("BlobGet").unwrap();
        let mut wrong = DigestCheck::new(digest);
        wrong.update(b"hellO");
        let error = wrong.finish("BlobGet").unwrap_err();
        assert!(matches!(error, Error::DigestMismatch { .. }), "{error}");
        for bad in [
            "sha256:abc",
            "md5:00",
            "sha256:2CF24DBA5FB0A30E26E83B2AC5B9E29E1B161E5C1FA7425E73043362938B9824",
        ] {
            assert!(bad.parse::<Digest>().is_err(), "{bad}");
        }
    }

    #[test]
    fn references_parse_as_docker_reads_them() {
        let hub: Reference = "busybox".parse().unwrap();
        assert_eq!(
            (hub.registry.as_str(), hub.repository.as_str(), hub.target()),
            (DOCKER_HUB_REGISTRY, "library/busybox", "latest")
        );
        let local: Reference = "localhost:5000/team/app:v1".parse().unwrap();
        assert_eq!(
            (local.registry.as_str(), local.repository.as_str(), local.target()),
            ("localhost:5000", "team/app", "v1")
        );
        let digest = Digest::of(b"x");
        let pinned: Reference = format!("127.0.0.1:5000/app@{digest}").parse().unwrap();
        assert_eq!(pinned.target(), digest.as_str());
        assert_eq!(pinned.to_string(), format!("127.0.0.1:5000/app@{digest}"));
        for bad in ["", "a//b", "Upper/case", "app:", "app@sha256:00"] {
            assert!(bad.parse::<Reference>().is_err(), "{bad:?}");
        }
    }

    /// A server on a port of its own answering each request with the next of `answers`,
    /// keeping each request's head.
    async fn scripted_server(answers: Vec<String>) -> (u16, Arc<Mutex<Vec<String>>>) {
        scripted_server_with_delays(answers.into_iter().map(|answer| (Duration::ZERO, answer)).collect()).await
    }

    /// As [`scripted_server`], each answer sent after its delay.
    async fn scripted_server_with_delays(answers: Vec<(Duration, String)>) -> (u16, Arc<Mutex<Vec<String>>>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let heads = Arc::new(Mutex::new(Vec::new()));
        let seen = heads.clone();
        tokio::spawn(async move {
            let mut answers = answers.into_iter();
            while let Ok((mut connection, _)) = listener.accept().await {
                let mut head = Vec::new();
                loop {
                    let mut buffer = [0u8; 1024];
                    let read = connection.read(&mut buffer).await.unwrap_or(0);
                    head.extend_from_slice(&buffer[..read]);
                    if read == 0 || head.windows(4).any(|w| w == b"\r\n\r\n") {
                        if !head.is_empty() {
                            seen.lock().unwrap().push(String::from_utf8_lossy(&head).into_owned());
                            let (delay, answer) = answers.next().unwrap_or_default();
                            tokio::time::sleep(delay).await;
                            let _ = connection.write_all(answer.as_bytes()).await;
                        }
                        if read == 0 {
                            break;
                        }
                        head.clear();
                    }
                }
            }
        });
        (port, heads)
    }

    #[tokio::test]
    async fn downloads_follow_redirects_and_credentials_stay_with_the_registry() {
        let (storage, storage_heads) =
            scripted_server(vec!["HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello".into()]).await;
        let (registry, registry_heads) = scripted_server(vec![
            "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\n\r\n".into(),
            format!(
                "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:{storage}/blob?signature=1\r\nContent-Length: 0\r\n\r\n"
            ),
        ])
        .await;
        let options = RegistryOptions {
            credentials: Credentials::Password {
                username: "user".into(),
                password: "secret".into(),
            },
            ..RegistryOptions::default()
        };
        let client = client(&format!("http://127.0.0.1:{registry}"), options).unwrap();
        let request = crate::http::request::Request::new(Method::GET, "/v2/team/app/blobs/sha256:00".into(), "BlobGet");
        let body = client.send_bytes(request).await.unwrap().read_all().await.unwrap();
        assert_eq!(body, b"hello");
        let registry_heads = registry_heads.lock().unwrap();
        assert_eq!(
            registry_heads.len(),
            2,
            "challenged, then redirected: {registry_heads:?}"
        );
        assert!(registry_heads[1].to_ascii_lowercase().contains("authorization: basic"));
        let storage_heads = storage_heads.lock().unwrap();
        assert!(
            storage_heads[0].starts_with("GET /blob?signature=1 "),
            "{storage_heads:?}"
        );
        assert!(
            !storage_heads[0].to_ascii_lowercase().contains("authorization"),
            "the registry's credentials are not sent elsewhere: {storage_heads:?}"
        );
    }

    /// A body read to its end and polled again must leave its connection's waker alone: the
    /// connection serves the next request by then, which waited for good when its wake went to
    /// the finished body's task.
    #[tokio::test]
    async fn a_finished_body_polled_again_does_not_take_the_next_requests_wakes() {
        use futures_util::StreamExt;
        let answer = |body: &str| format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}", body.len());
        let (port, _) = scripted_server_with_delays(vec![
            (Duration::ZERO, answer("first")),
            (Duration::from_millis(300), answer("second")),
        ])
        .await;
        let client = client(&format!("http://127.0.0.1:{port}"), RegistryOptions::default()).unwrap();
        let request = || crate::http::request::Request::new(Method::GET, "/v2/".into(), "BaseCheck");
        let mut first = client.send_bytes(request()).await.unwrap();
        assert_eq!(&first.next().await.unwrap().unwrap()[..], b"first");
        assert!(
            first.next().await.is_none(),
            "the first body ends, its connection back in the pool"
        );
        // Another task takes the connection; this one polls its finished body meanwhile.
        let second = tokio::spawn({
            let client = client.clone();
            async move { client.send_bytes(request()).await.unwrap().read_all().await.unwrap() }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(first.next().await.is_none());
        let second = tokio::time::timeout(Duration::from_secs(10), second)
            .await
            .expect("the second request is woken when its answer comes")
            .unwrap();
        assert_eq!(second, b"second");
    }

    #[test]
    fn addresses_choose_the_scheme() {
        let refused = client("host:port", RegistryOptions::default()).unwrap_err().to_string();
        assert!(refused.contains("the port is not a number"), "{refused}");
        assert!(is_loopback("127.0.0.2") && is_loopback("localhost") && is_loopback("::1"));
        assert!(!is_loopback("10.0.0.1") && !is_loopback("registry.example"));
        let local = client("127.0.0.1:5000", RegistryOptions::default()).unwrap();
        assert_eq!(local.endpoint().to_string(), "https://127.0.0.1:5000 (or plain HTTP)");
        let plain = client("http://localhost:5000", RegistryOptions::default()).unwrap();
        assert_eq!(plain.endpoint().to_string(), "tcp://localhost:5000");
        let remote = client("registry.example", RegistryOptions::default());
        #[cfg(feature = "tls")]
        assert_eq!(remote.unwrap().endpoint().to_string(), "https://registry.example:443");
        #[cfg(not(feature = "tls"))]
        assert!(remote.unwrap_err().to_string().contains("`tls` feature"));
        assert!(client("ftp://x", RegistryOptions::default()).is_err());
    }
}
