//! Where the daemon is and how to reach it, read from the Docker CLI's environment variables.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The local socket every Docker installation listens on by default.
pub const DEFAULT_SOCKET: &str = "/var/run/docker.sock";

/// A daemon address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// A Unix socket path.
    Unix(PathBuf),
    /// Plain TCP, `host:port`.
    Tcp { host: String, port: u16 },
    /// TCP with TLS, verified against `tls.ca` (mutual TLS when a client certificate is given).
    Tls { host: String, port: u16, tls: TlsFiles },
}

/// PEM material for TLS: the CA that signed the daemon's certificate and, for `--tlsverify`
/// daemons, the client's certificate and key.
#[derive(Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub ca: Vec<u8>,
    pub client_cert: Option<Vec<u8>>,
    pub client_key: Option<Vec<u8>>,
}

impl std::fmt::Debug for TlsFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsFiles")
            .field("ca", &format_args!("{} bytes", self.ca.len()))
            .field("client_cert", &self.client_cert.as_ref().map(Vec::len))
            .field("client_key", &self.client_key.as_ref().map(|_| "(hidden)"))
            .finish()
    }
}

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
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Unix(path) => write!(f, "unix://{}", path.display()),
            Endpoint::Tcp { host, port } => write!(f, "tcp://{host}:{port}"),
            Endpoint::Tls { host, port, .. } => write!(f, "tcp://{host}:{port} (TLS)"),
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
    pub home: Option<PathBuf>,
}

impl Environment {
    pub fn from_process() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Environment {
            docker_host: var("DOCKER_HOST"),
            tls_verify: var("DOCKER_TLS_VERIFY"),
            cert_path: var("DOCKER_CERT_PATH").map(PathBuf::from),
            home: var("HOME").map(PathBuf::from),
        }
    }

    /// The endpoint these variables describe.
    pub fn endpoint(&self) -> Result<Endpoint> {
        let Some(host) = &self.docker_host else {
            return Ok(Endpoint::Unix(PathBuf::from(DEFAULT_SOCKET)));
        };
        let tls = self.tls_verify.is_some();
        let (scheme, rest) = host.split_once("://").ok_or_else(|| {
            Error::Config(format!(
                "DOCKER_HOST {host:?} has no scheme; use unix://, tcp://, http:// or https://"
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
                let authority = rest.trim_end_matches('/');
                let (name, port) = split_host_port(authority, if tls || scheme == "https" { 2376 } else { 2375 })
                    .ok_or_else(|| Error::Config(format!("DOCKER_HOST {host:?}: expected host:port")))?;
                if tls || scheme == "https" {
                    let dir = match (&self.cert_path, &self.home) {
                        (Some(dir), _) => dir.clone(),
                        (None, Some(home)) => home.join(".docker"),
                        (None, None) => {
                            return Err(Error::Config(
                                "DOCKER_TLS_VERIFY is set but neither DOCKER_CERT_PATH nor HOME is".into(),
                            ))
                        }
                    };
                    Ok(Endpoint::Tls {
                        host: name,
                        port,
                        tls: TlsFiles::from_dir(&dir)?,
                    })
                } else {
                    Ok(Endpoint::Tcp { host: name, port })
                }
            }
            other => Err(Error::Config(format!(
                "DOCKER_HOST {host:?}: unsupported scheme {other:?}"
            ))),
        }
    }
}

fn split_host_port(authority: &str, default_port: u16) -> Option<(String, u16)> {
    if authority.is_empty() || authority.contains('/') {
        return None;
    }
    if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(port) => port.parse().ok()?,
            None if after.is_empty() => default_port,
            None => return None,
        };
        return Some((host.to_owned(), port));
    }
    match authority.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() => Some((host.to_owned(), port.parse().ok()?)),
        Some(_) => None,
        None => Some((authority.to_owned(), default_port)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            home: None,
        };
        let error = environment.endpoint().unwrap_err().to_string();
        assert!(
            error.contains("/nonexistent/certs/ca.pem") && error.contains("DOCKER_CERT_PATH"),
            "{error}"
        );
    }
}
