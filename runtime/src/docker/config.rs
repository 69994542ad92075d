//! The Docker CLI's configuration directory (`DOCKER_CONFIG`, else `~/.docker`): `config.json`
//! with the current context and registry credentials, and the context store beside it.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::docker::params::{RegistryAuth, RegistryConfig};
use crate::error::{Error, Result};

/// The key Docker Hub credentials are stored under in `config.json`.
pub const DOCKER_HUB_SERVER: &str = "https://index.docker.io/v1/";

/// The name of the context that means "use the environment, else the local socket".
pub const DEFAULT_CONTEXT: &str = "default";

/// A context's docker endpoint as its meta file stores it.
pub(crate) struct ContextHost {
    pub(crate) host: String,
    /// Where the context's `ca.pem`, `cert.pem` and `key.pem` are, if it has them.
    pub(crate) tls_dir: PathBuf,
    pub(crate) skip_tls_verify: bool,
}

/// `config.json` and the context store of one configuration directory.
#[derive(Debug, Clone, Default)]
pub struct DockerConfig {
    dir: PathBuf,
    file: ConfigFile,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct ConfigFile {
    #[serde(rename = "currentContext", default)]
    current_context: Option<String>,
    #[serde(default)]
    auths: HashMap<String, StoredAuth>,
    #[serde(rename = "credsStore", default)]
    creds_store: Option<String>,
    #[serde(rename = "credHelpers", default)]
    cred_helpers: HashMap<String, String>,
    #[serde(rename = "HttpHeaders", default)]
    http_headers: HashMap<String, String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct StoredAuth {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(rename = "identitytoken", default)]
    identity_token: Option<String>,
    #[serde(rename = "registrytoken", default)]
    registry_token: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ContextMeta {
    #[serde(rename = "Endpoints", default)]
    endpoints: HashMap<String, ContextEndpoint>,
}

#[derive(Debug, Deserialize)]
struct ContextEndpoint {
    #[serde(rename = "Host", default)]
    host: Option<String>,
    #[serde(rename = "SkipTLSVerify", default)]
    skip_tls_verify: bool,
}

/// What a credential helper prints for `get`.
#[derive(Debug, Deserialize)]
struct HelperCredentials {
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "Secret", default)]
    secret: String,
}

impl DockerConfig {
    /// Reads `dir/config.json`; a directory without one is an empty configuration, as for the CLI.
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join("config.json");
        let file = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| Error::Config(format!("{}: not a Docker CLI config file: {e}", path.display())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => ConfigFile::default(),
            Err(e) => return Err(Error::Config(format!("cannot read {}: {e}", path.display()))),
        };
        Ok(DockerConfig {
            dir: dir.to_owned(),
            file,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `HttpHeaders` from `config.json`: headers the Docker CLI adds to its requests to the daemon.
    pub fn http_headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.file
            .http_headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
    }

    /// `currentContext` from `config.json`.
    pub fn current_context(&self) -> Option<&str> {
        self.file.current_context.as_deref().filter(|name| !name.is_empty())
    }

    /// The docker endpoint of the named context as the store holds it
    /// (`contexts/meta/<sha256 of name>/meta.json`, TLS material in `contexts/tls/<same>/docker/`);
    /// [`DockerConfig::context_endpoint`] makes an endpoint of it.
    pub(crate) fn context_host(&self, name: &str) -> Result<ContextHost> {
        let digest = hex_sha256(name);
        let meta_path = self.dir.join("contexts/meta").join(&digest).join("meta.json");
        let bytes = std::fs::read(&meta_path).map_err(|e| {
            Error::Config(format!(
                "context {name:?}: cannot read {} ({e}); `docker context ls` shows the contexts that exist",
                meta_path.display()
            ))
        })?;
        let meta: ContextMeta = serde_json::from_slice(&bytes)
            .map_err(|e| Error::Config(format!("context {name:?}: {}: {e}", meta_path.display())))?;
        let docker = meta
            .endpoints
            .get("docker")
            .ok_or_else(|| Error::Config(format!("context {name:?} has no docker endpoint")))?;
        let host = docker
            .host
            .clone()
            .filter(|host| !host.is_empty())
            .ok_or_else(|| Error::Config(format!("context {name:?} names no host")))?;
        Ok(ContextHost {
            host,
            tls_dir: self.dir.join("contexts/tls").join(&digest).join("docker"),
            skip_tls_verify: docker.skip_tls_verify,
        })
    }

    /// Credentials for `server` (a registry host such as `registry.example.com:5000`, or
    /// [`DOCKER_HUB_SERVER`]), from its credential helper, the credential store, or `auths`,
    /// in the CLI's order. `None` when nothing is stored.
    pub fn credentials(&self, server: &str) -> Result<Option<RegistryAuth>> {
        let key = self.matching_key(server).unwrap_or(server).to_owned();
        let helper = self
            .file
            .cred_helpers
            .iter()
            .find(|(registry, _)| same_registry(registry, server))
            .map(|(_, helper)| helper)
            .or(self.file.creds_store.as_ref());
        if let Some(helper) = helper {
            return run_helper(helper, &key);
        }
        let Some(stored) = self.file.auths.get(&key) else {
            return Ok(None);
        };
        stored.to_registry_auth(&key).map(Some)
    }

    /// Every stored credential, for a build's `X-Registry-Config`.
    pub fn all_credentials(&self) -> Result<RegistryConfig> {
        let mut servers: Vec<&String> = self.file.auths.keys().chain(self.file.cred_helpers.keys()).collect();
        servers.sort();
        servers.dedup();
        let mut all = HashMap::new();
        for server in servers {
            if let Some(auth) = self.credentials(server)? {
                all.insert(server.clone(), auth);
            }
        }
        Ok(RegistryConfig(all))
    }

    fn matching_key(&self, server: &str) -> Option<&str> {
        self.file
            .auths
            .keys()
            .find(|key| same_registry(key, server))
            .map(String::as_str)
    }
}

/// The registry an image reference lives in, as `config.json` keys it: the first path component
/// when it looks like a host (has a `.` or `:`, or is `localhost`), otherwise Docker Hub.
pub fn registry_of(image: &str) -> &str {
    match split_registry_host(image) {
        (Some("docker.io" | "index.docker.io") | None, _) => DOCKER_HUB_SERVER,
        (Some(host), _) => host,
    }
}

/// An image reference's registry host, when its first path component looks like one (has a
/// `.` or `:`, or is `localhost`), and the rest; Docker reads `team/app` as a Hub repository.
pub(crate) fn split_registry_host(reference: &str) -> (Option<&str>, &str) {
    match reference.split_once('/') {
        Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => (Some(first), rest),
        _ => (None, reference),
    }
}

/// `https://registry:5000/v1/` and `registry:5000` name the same registry.
fn same_registry(a: &str, b: &str) -> bool {
    fn host(server: &str) -> &str {
        let without_scheme = server.split_once("://").map_or(server, |(_, rest)| rest);
        without_scheme.split('/').next().unwrap_or(without_scheme)
    }
    host(a).eq_ignore_ascii_case(host(b))
}

impl StoredAuth {
    fn to_registry_auth(&self, server: &str) -> Result<RegistryAuth> {
        let (mut username, mut password) = (self.username.clone(), self.password.clone());
        if let Some(encoded) = self.auth.as_deref().filter(|auth| !auth.is_empty()) {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or_else(|| {
                    Error::Config(format!(
                        "config.json auths.{server}.auth is not base64 of user:password"
                    ))
                })?;
            let (user, pass) = decoded.split_once(':').ok_or_else(|| {
                Error::Config(format!(
                    "config.json auths.{server}.auth holds no ':' between user and password"
                ))
            })?;
            username = Some(user.to_owned());
            password = Some(pass.to_owned());
        }
        Ok(RegistryAuth {
            username,
            password,
            email: self.email.clone(),
            server_address: Some(server.to_owned()),
            identity_token: self.identity_token.clone(),
            registry_token: self.registry_token.clone(),
        })
    }
}

/// `docker-credential-<helper> get`, the server on stdin, JSON on stdout.
fn run_helper(helper: &str, server: &str) -> Result<Option<RegistryAuth>> {
    let program = format!("docker-credential-{helper}");
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::Config(format!("cannot run credential helper {program} ({e}); is it on PATH?")))?;
    child
        .stdin
        .take()
        .expect("stdin was piped")
        .write_all(server.as_bytes())
        .map_err(|e| Error::Config(format!("credential helper {program}: {e}")))?;
    let output = child
        .wait_with_output()
        .map_err(|e| Error::Config(format!("credential helper {program}: {e}")))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        if stdout.contains("credentials not found") {
            return Ok(None);
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(Error::Config(format!(
            "credential helper {program} failed for {server} ({}): {} {}",
            output.status,
            stdout.trim(),
            stderr.trim()
        )));
    }
    let found: HelperCredentials = serde_json::from_str(&stdout)
        .map_err(|e| Error::Config(format!("credential helper {program} printed no credentials JSON: {e}")))?;
    // The helpers' convention for an identity token rather than a password.
    let auth = if found.username == "<token>" {
        RegistryAuth {
            identity_token: Some(found.secret),
            ..Default::default()
        }
    } else {
        RegistryAuth::password(found.username, found.secret)
    };
    Ok(Some(RegistryAuth {
        server_address: Some(server.to_owned()),
        ..auth
    }))
}

fn hex_sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("docker-config-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn context_names_are_hashed_like_the_cli() {
        // Lower-case hex of SHA-256, as the folder names in `~/.docker/contexts/meta`.
        assert_eq!(
            hex_sha256("default"),
            "37a8eec1ce19687d132fe29051dca629d164e2c4958ba141d5f4133a33f0688f"
        );
    }

    #[test]
    fn stored_auths_decode_and_match_by_host() {
        let dir = scratch("auths");
        std::fs::write(
            dir.join("config.json"),
            r#"{"auths":{"https://index.docker.io/v1/":{"auth":"bWU6c2VjcmV0"},"registry.local:5000":{"identitytoken":"tok"}}}"#,
        )
        .unwrap();
        let config = DockerConfig::load(&dir).unwrap();
        let hub = config.credentials(registry_of("busybox:latest")).unwrap().unwrap();
        assert_eq!(
            (hub.username.as_deref(), hub.password.as_deref()),
            (Some("me"), Some("secret"))
        );
        let local = config
            .credentials(registry_of("registry.local:5000/team/app"))
            .unwrap()
            .unwrap();
        assert_eq!(local.identity_token.as_deref(), Some("tok"));
        assert!(config.credentials("elsewhere.example").unwrap().is_none());
        assert_eq!(config.all_credentials().unwrap().0.len(), 2);
    }

    #[test]
    fn broken_config_files_are_errors_naming_the_file() {
        let dir = scratch("broken");
        std::fs::write(dir.join("config.json"), "{not json").unwrap();
        let error = DockerConfig::load(&dir).unwrap_err().to_string();
        assert!(error.contains("config.json"), "{error}");
        std::fs::write(dir.join("config.json"), r#"{"auths":{"r.io":{"auth":"!!"}}}"#).unwrap();
        let error = DockerConfig::load(&dir)
            .unwrap()
            .credentials("r.io")
            .unwrap_err()
            .to_string();
        assert!(error.contains("auths.r.io.auth"), "{error}");
    }

    #[test]
    fn credential_helpers_are_run_with_the_server_on_stdin() {
        let dir = scratch("helper");
        let bin = dir.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let helper = bin.join("docker-credential-fake");
        std::fs::write(
            &helper,
            "#!/bin/sh\nread server\nif [ \"$server\" = registry.local ]; then\n  echo '{\"ServerURL\":\"registry.local\",\"Username\":\"<token>\",\"Secret\":\"abc\"}'\nelse\n  echo 'credentials not found in native keychain'; exit 1\nfi\n",
        )
        .unwrap();
        std::fs::set_permissions(&helper, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        std::fs::write(dir.join("config.json"), r#"{"credHelpers":{"registry.local":"fake"}}"#).unwrap();
        let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
        // Tests in this module run in one process; PATH is only extended, never narrowed.
        std::env::set_var("PATH", path);

        let config = DockerConfig::load(&dir).unwrap();
        let found = config.credentials("registry.local").unwrap().unwrap();
        assert_eq!(found.identity_token.as_deref(), Some("abc"));
        assert_eq!(found.server_address.as_deref(), Some("registry.local"));

        std::fs::write(dir.join("config.json"), r#"{"credsStore":"fake"}"#).unwrap();
        let config = DockerConfig::load(&dir).unwrap();
        assert!(config.credentials("other.example").unwrap().is_none());

        std::fs::write(dir.join("config.json"), r#"{"credsStore":"absent"}"#).unwrap();
        let error = DockerConfig::load(&dir)
            .unwrap()
            .credentials("x")
            .unwrap_err()
            .to_string();
        assert!(error.contains("docker-credential-absent"), "{error}");
    }
}
