//! Where the daemon is, read as the Docker CLI reads it: `DOCKER_HOST`, `DOCKER_TLS_VERIFY`,
//! `DOCKER_CERT_PATH`, then the context named by `DOCKER_CONTEXT` or `config.json`.

use std::path::{Path, PathBuf};

use crate::docker::config::{DockerConfig, DEFAULT_CONTEXT};
use crate::error::{Error, Result};
use crate::transport::address::split_host_port;
use crate::transport::{Endpoint, SshTarget, TlsFiles};

/// The local socket every Docker installation listens on by default.
pub const DEFAULT_SOCKET: &str = "/var/run/docker.sock";

impl TlsFiles {
    /// Reads `ca.pem`, `cert.pem` and `key.pem` from `dir`, as `DOCKER_CERT_PATH` lays them out.
    pub fn from_dir(dir: &Path) -> Result<Self> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read(&path).map_err(|e| {
                Error::Config(format!(
                    "cannot read {} ({e}); set DOCKER_CERT_PATH to the folder holding ca.pem, cert.pem and key.pem",
                    path.display()
                ))
            })
        };
        Ok(TlsFiles {
            ca: read("ca.pem")?,
            client_cert: Some(read("cert.pem")?),
            client_key: Some(read("key.pem")?),
        })
    }

    /// A context's TLS folder: `ca.pem` and optionally `cert.pem` with `key.pem`; `None` when
    /// the context holds no TLS material.
    pub fn from_context_dir(dir: &Path) -> Result<Option<Self>> {
        let read = |name: &str| match std::fs::read(dir.join(name)) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::Config(format!("cannot read {} ({e})", dir.join(name).display()))),
        };
        let (ca, client_cert, client_key) = (read("ca.pem")?, read("cert.pem")?, read("key.pem")?);
        match (ca, &client_cert, &client_key) {
            (None, None, None) => Ok(None),
            (Some(ca), Some(_), Some(_)) | (Some(ca), None, None) => Ok(Some(TlsFiles {
                ca,
                client_cert,
                client_key,
            })),
            _ => Err(Error::Config(format!(
                "{} must hold ca.pem, and cert.pem with key.pem or neither",
                dir.display()
            ))),
        }
    }
}
/// The environment as the Docker CLI reads it; a struct so parsing is testable without
/// touching the process environment.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    pub docker_host: Option<String>,
    pub tls_verify: Option<String>,
    pub cert_path: Option<PathBuf>,
    pub docker_context: Option<String>,
    pub docker_config: Option<PathBuf>,
    pub home: Option<PathBuf>,
    /// `DOCKER_API_VERSION`: the version to use rather than negotiating one.
    pub api_version: Option<String>,
}

impl Environment {
    pub fn from_process() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Environment {
            docker_host: var("DOCKER_HOST"),
            tls_verify: var("DOCKER_TLS_VERIFY"),
            cert_path: var("DOCKER_CERT_PATH").map(PathBuf::from),
            docker_context: var("DOCKER_CONTEXT"),
            docker_config: var("DOCKER_CONFIG").map(PathBuf::from),
            home: var("HOME").map(PathBuf::from),
            api_version: var("DOCKER_API_VERSION"),
        }
    }

    /// The configuration directory: `DOCKER_CONFIG`, else `~/.docker`.
    pub fn config_dir(&self) -> Option<PathBuf> {
        self.docker_config
            .clone()
            .or_else(|| self.home.as_ref().map(|home| home.join(".docker")))
    }

    /// The endpoint these variables describe, with the CLI's precedence: `DOCKER_HOST`, then
    /// the context named by `DOCKER_CONTEXT` or by `currentContext` in `config.json`, then the
    /// local socket.
    pub fn endpoint(&self) -> Result<Endpoint> {
        if let Some(host) = &self.docker_host {
            let tls = self.tls_verify.is_some();
            return parse_host(host, tls, || {
                let dir = self.cert_path.clone().or_else(|| self.config_dir()).ok_or_else(|| {
                    Error::Config("DOCKER_TLS_VERIFY is set but neither DOCKER_CERT_PATH nor HOME is".into())
                })?;
                TlsFiles::from_dir(&dir)
            });
        }
        let Some(config_dir) = self.config_dir() else {
            return Ok(Endpoint::Unix(PathBuf::from(DEFAULT_SOCKET)));
        };
        let config = DockerConfig::load(&config_dir)?;
        let context = self.docker_context.as_deref().or(config.current_context());
        match context {
            Some(name) if name != DEFAULT_CONTEXT => config.context_endpoint(name),
            _ => Ok(Endpoint::Unix(PathBuf::from(DEFAULT_SOCKET))),
        }
    }
}

/// Parses a `DOCKER_HOST`-style address; `tls_files` is asked for certificates only when the
/// address needs TLS (`tls`, or an `https://` scheme).
pub(crate) fn parse_host(host: &str, tls: bool, tls_files: impl FnOnce() -> Result<TlsFiles>) -> Result<Endpoint> {
    let (scheme, rest) = host.split_once("://").ok_or_else(|| {
        Error::Config(format!(
            "DOCKER_HOST {host:?} has no scheme; use unix://, tcp://, http://, https:// or ssh://"
        ))
    })?;
    match scheme {
        "unix" => {
            if rest.is_empty() {
                return Err(Error::Config(format!("DOCKER_HOST {host:?} names no socket path")));
            }
            Ok(Endpoint::Unix(PathBuf::from(rest)))
        }
        "tcp" | "http" | "https" => {
            let tls = tls || scheme == "https";
            let authority = rest.trim_end_matches('/');
            let (name, port) = split_host_port(authority)
                .map_err(|why| Error::Config(format!("DOCKER_HOST {host:?}: {why}; expected host:port")))?;
            let (name, port) = (name.to_owned(), port.unwrap_or(if tls { 2376 } else { 2375 }));
            if tls {
                Ok(Endpoint::Tls {
                    host: name,
                    port,
                    tls: tls_files()?,
                })
            } else {
                Ok(Endpoint::Tcp { host: name, port })
            }
        }
        "ssh" => Ok(Endpoint::Ssh(SshTarget::parse(host, rest)?)),
        other => Err(Error::Config(format!(
            "DOCKER_HOST {host:?}: unsupported scheme {other:?}"
        ))),
    }
}

impl DockerConfig {
    /// The Docker endpoint of the named context in the store
    /// (`contexts/meta/<sha256 of name>/meta.json`, TLS material in `contexts/tls/<same>/docker/`).
    pub fn context_endpoint(&self, name: &str) -> Result<Endpoint> {
        let context = self.context_host(name)?;
        let tls = TlsFiles::from_context_dir(&context.tls_dir)?;
        if context.skip_tls_verify {
            return Err(Error::Config(format!(
                "context {name:?} sets SkipTLSVerify; this client always verifies the daemon: \
                 give the context the daemon's CA (docker context update --docker ca=...)"
            )));
        }
        let host = &context.host;
        parse_host(host, tls.is_some() || host.starts_with("https://"), || {
            tls.clone()
                .ok_or_else(|| Error::Config(format!("context {name:?} uses https but holds no ca.pem")))
        })
        .map_err(|e| Error::Config(format!("context {name:?}: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Digest;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("docker-endpoint-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Writes the meta file of context `name` under `dir`; returns its TLS folder.
    fn write_context(dir: &Path, name: &str, meta: &str) -> PathBuf {
        let digest: String = sha2::Sha256::digest(name.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let meta_dir = dir.join("contexts/meta").join(&digest);
        std::fs::create_dir_all(&meta_dir).unwrap();
        std::fs::write(meta_dir.join("meta.json"), meta).unwrap();
        dir.join("contexts/tls").join(digest).join("docker")
    }

    #[test]
    fn a_context_gives_its_endpoint_with_tls_when_it_holds_certificates() {
        let dir = scratch("context");
        write_context(
            &dir,
            "plain",
            r#"{"Name":"plain","Metadata":{},"Endpoints":{"docker":{"Host":"tcp://10.0.0.5:2375","SkipTLSVerify":false}}}"#,
        );
        let tls_dir = write_context(
            &dir,
            "secure",
            r#"{"Name":"secure","Endpoints":{"docker":{"Host":"tcp://daemon.example:2376"}}}"#,
        );
        std::fs::create_dir_all(&tls_dir).unwrap();
        for file in ["ca.pem", "cert.pem", "key.pem"] {
            std::fs::write(tls_dir.join(file), file).unwrap();
        }
        std::fs::write(dir.join("config.json"), r#"{"currentContext":"secure"}"#).unwrap();

        let config = DockerConfig::load(&dir).unwrap();
        assert_eq!(config.current_context(), Some("secure"));
        assert_eq!(
            config.context_endpoint("plain").unwrap(),
            Endpoint::Tcp {
                host: "10.0.0.5".into(),
                port: 2375
            }
        );
        match config.context_endpoint("secure").unwrap() {
            Endpoint::Tls { host, port, tls } => {
                assert_eq!((host.as_str(), port), ("daemon.example", 2376));
                assert_eq!(tls.ca, b"ca.pem");
                assert_eq!(tls.client_cert.as_deref(), Some(&b"cert.pem"[..]));
            }
            other => panic!("expected TLS, got {other:?}"),
        }
        let missing = config.context_endpoint("nope").unwrap_err().to_string();
        assert!(
            missing.contains("\"nope\"") && missing.contains("meta.json"),
            "{missing}"
        );
    }

    #[test]
    fn a_context_that_skips_verification_is_refused_with_a_reason() {
        let dir = scratch("skip");
        write_context(
            &dir,
            "lax",
            r#"{"Endpoints":{"docker":{"Host":"tcp://h:2376","SkipTLSVerify":true}}}"#,
        );
        let error = DockerConfig::load(&dir).unwrap().context_endpoint("lax").unwrap_err();
        assert!(error.to_string().contains("SkipTLSVerify"), "{error}");
    }

    fn env(host: Option<&str>) -> Environment {
        Environment {
            docker_host: host.map(String::from),
            ..Default::default()
        }
    }

    #[test]
    fn nothing_set_means_the_local_socket() {
        assert_eq!(
            env(None).endpoint().unwrap(),
            Endpoint::Unix(PathBuf::from(DEFAULT_SOCKET))
        );
    }

    #[test]
    fn parses_hosts_like_the_cli() {
        assert_eq!(
            env(Some("unix:///run/d.sock")).endpoint().unwrap(),
            Endpoint::Unix("/run/d.sock".into())
        );
        assert_eq!(
            env(Some("tcp://127.0.0.1:2375")).endpoint().unwrap(),
            Endpoint::Tcp {
                host: "127.0.0.1".into(),
                port: 2375
            }
        );
        assert_eq!(
            env(Some("tcp://docker")).endpoint().unwrap(),
            Endpoint::Tcp {
                host: "docker".into(),
                port: 2375
            }
        );
        assert_eq!(
            env(Some("http://[::1]:80/")).endpoint().unwrap(),
            Endpoint::Tcp {
                host: "::1".into(),
                port: 80
            }
        );
    }

    #[test]
    fn refuses_malformed_hosts_with_a_reason() {
        for bad in ["127.0.0.1:2375", "ftp://x", "tcp://", "tcp://host:port", "unix://"] {
            let error = env(Some(bad)).endpoint().unwrap_err();
            assert!(error.to_string().contains("DOCKER_HOST"), "{bad}: {error}");
        }
    }

    #[test]
    fn tls_verify_needs_readable_certificates() {
        let environment = Environment {
            docker_host: Some("tcp://127.0.0.1:2376".into()),
            tls_verify: Some("1".into()),
            cert_path: Some("/nonexistent/certs".into()),
            ..Default::default()
        };
        let error = environment.endpoint().unwrap_err().to_string();
        assert!(
            error.contains("/nonexistent/certs/ca.pem") && error.contains("DOCKER_CERT_PATH"),
            "{error}"
        );
    }

    #[test]
    fn docker_context_and_current_context_pick_a_context_unless_docker_host_is_set() {
        let dir = std::env::temp_dir().join(format!("docker-env-context-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let digest: String = sha2::Sha256::digest(b"remote")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let meta_dir = dir.join("contexts/meta").join(digest);
        std::fs::create_dir_all(&meta_dir).unwrap();
        std::fs::write(
            meta_dir.join("meta.json"),
            r#"{"Name":"remote","Endpoints":{"docker":{"Host":"tcp://10.1.2.3:2375"}}}"#,
        )
        .unwrap();
        let remote = Endpoint::Tcp {
            host: "10.1.2.3".into(),
            port: 2375,
        };
        let with = |docker_host: Option<&str>, context: Option<&str>| Environment {
            docker_host: docker_host.map(String::from),
            docker_context: context.map(String::from),
            docker_config: Some(dir.clone()),
            ..Default::default()
        };
        assert_eq!(with(None, Some("remote")).endpoint().unwrap(), remote);
        assert_eq!(
            with(None, Some("default")).endpoint().unwrap(),
            Endpoint::Unix(DEFAULT_SOCKET.into())
        );
        assert_eq!(
            with(Some("unix:///other.sock"), Some("remote")).endpoint().unwrap(),
            Endpoint::Unix("/other.sock".into())
        );
        std::fs::write(dir.join("config.json"), r#"{"currentContext":"remote"}"#).unwrap();
        assert_eq!(with(None, None).endpoint().unwrap(), remote);
        let error = with(None, Some("gone")).endpoint().unwrap_err().to_string();
        assert!(error.contains("context \"gone\""), "{error}");
    }
}
