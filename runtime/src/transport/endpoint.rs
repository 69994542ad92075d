//! Where a daemon or registry is: the address and the TLS material to reach it with.

use std::path::PathBuf;

use crate::transport::ssh::SshTarget;

/// A daemon address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// A Unix socket path.
    Unix(PathBuf),
    /// Plain TCP, `host:port`.
    Tcp { host: String, port: u16 },
    /// TCP with TLS, verified against `tls.ca` (mutual TLS when a client certificate is given).
    Tls { host: String, port: u16, tls: TlsFiles },
    /// A remote daemon through the system's `ssh` client and `docker system dial-stdio`.
    Ssh(SshTarget),
    /// TCP with TLS verified against the system's roots and `ca` (PEM) if given, with no client
    /// certificate: a registry. With `plain_fallback`, a server that does not answer in TLS is
    /// spoken to in plain HTTP, as Docker treats registries on loopback.
    Https {
        host: String,
        port: u16,
        ca: Option<Vec<u8>>,
        plain_fallback: bool,
    },
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
impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Unix(path) => write!(f, "unix://{}", path.display()),
            Endpoint::Tcp { host, port } => write!(f, "tcp://{host}:{port}"),
            Endpoint::Tls { host, port, .. } => write!(f, "tcp://{host}:{port} (TLS)"),
            Endpoint::Ssh(target) => write!(f, "{target}"),
            Endpoint::Https {
                host,
                port,
                plain_fallback: false,
                ..
            } => write!(f, "https://{host}:{port}"),
            Endpoint::Https { host, port, .. } => write!(f, "https://{host}:{port} (or plain HTTP)"),
        }
    }
}
