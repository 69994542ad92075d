//! One connector for the three transports, so that a single pooled hyper client serves them all.

use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpStream, UnixStream};
use tokio_rustls::client::TlsStream;

use crate::endpoint::{Endpoint, TlsFiles};
use crate::error::{Error, Result};

/// Dials the configured endpoint whatever URI hyper asks for: the URI only keys the pool.
#[derive(Clone)]
pub(crate) struct Connector {
    target: Arc<Target>,
    connect_timeout: Duration,
}

enum Target {
    Unix(PathBuf),
    Tcp {
        host: String,
        port: u16,
    },
    Tls {
        host: String,
        port: u16,
        config: Arc<rustls::ClientConfig>,
        server_name: rustls::pki_types::ServerName<'static>,
    },
}

impl Connector {
    pub(crate) fn new(endpoint: &Endpoint, connect_timeout: Duration) -> Result<Self> {
        let target = match endpoint {
            Endpoint::Unix(path) => Target::Unix(path.clone()),
            Endpoint::Tcp { host, port } => Target::Tcp {
                host: host.clone(),
                port: *port,
            },
            Endpoint::Tls { host, port, tls } => {
                let server_name = rustls::pki_types::ServerName::try_from(host.clone())
                    .map_err(|e| Error::Config(format!("{host:?} is not a valid TLS server name: {e}")))?;
                Target::Tls {
                    host: host.clone(),
                    port: *port,
                    config: Arc::new(tls_config(tls)?),
                    server_name,
                }
            }
        };
        Ok(Connector {
            target: Arc::new(target),
            connect_timeout,
        })
    }

    /// Opens one connection.
    pub(crate) async fn dial(&self) -> io::Result<Stream> {
        let connect = async {
            match &*self.target {
                Target::Unix(path) => Ok(Stream::Unix(UnixStream::connect(path).await?)),
                Target::Tcp { host, port } => {
                    let tcp = TcpStream::connect((host.as_str(), *port)).await?;
                    tcp.set_nodelay(true)?;
                    Ok(Stream::Tcp(tcp))
                }
                Target::Tls {
                    host,
                    port,
                    config,
                    server_name,
                } => {
                    let tcp = TcpStream::connect((host.as_str(), *port)).await?;
                    tcp.set_nodelay(true)?;
                    let connector = tokio_rustls::TlsConnector::from(config.clone());
                    let tls = connector
                        .connect(server_name.clone(), tcp)
                        .await
                        .map_err(explain_tls_failure)?;
                    Ok(Stream::Tls(Box::new(tls)))
                }
            }
        };
        match tokio::time::timeout(self.connect_timeout, connect).await {
            Ok(result) => result,
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no connection within {:?}", self.connect_timeout),
            )),
        }
    }
}

/// Adds advice to a TLS failure.
fn explain_tls_failure(error: io::Error) -> io::Error {
    let text = error.to_string();
    match tls_advice(&text) {
        Some(advice) => io::Error::new(error.kind(), format!("{text}: {advice}")),
        None => error,
    }
}

/// What to change, for the TLS failures people meet: rustls's alerts are terse.
pub(crate) fn tls_advice(text: &str) -> Option<&'static str> {
    if text.contains("UnknownIssuer") {
        Some("the daemon's certificate is not signed by the given CA (ca.pem): use the CA that signed it")
    } else if text.contains("NotValidForName") {
        Some("the daemon's certificate does not name this host: connect with a host name or IP in its subject alternative names")
    } else if text.contains("CertificateRequired")
        || text.contains("BadCertificate")
        || text.contains("bad certificate")
    {
        Some("the daemon refused the client certificate or got none: pass cert.pem and key.pem signed by the daemon's CA")
    } else if text.contains("InvalidContentType") || text.contains("corrupt message") {
        Some("the server did not answer with TLS: is this a plain-TCP port? connect without TLS")
    } else {
        None
    }
}

fn tls_config(files: &TlsFiles) -> Result<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    let cas: Vec<_> = rustls_pemfile::certs(&mut files.ca.as_slice())
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| Error::Config(format!("CA certificate (ca.pem) is not valid PEM: {e}")))?;
    if cas.is_empty() {
        return Err(Error::Config("CA certificate (ca.pem) holds no certificate".into()));
    }
    for ca in cas {
        roots
            .add(ca)
            .map_err(|e| Error::Config(format!("CA certificate (ca.pem) is unusable: {e}")))?;
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Config(format!("TLS setup: {e}")))?
        .with_root_certificates(roots);
    let config = match (&files.client_cert, &files.client_key) {
        (Some(cert), Some(key)) => {
            let chain: Vec<_> = rustls_pemfile::certs(&mut cert.as_slice())
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| Error::Config(format!("client certificate (cert.pem) is not valid PEM: {e}")))?;
            if chain.is_empty() {
                return Err(Error::Config(
                    "client certificate (cert.pem) holds no certificate".into(),
                ));
            }
            let key = rustls_pemfile::private_key(&mut key.as_slice())
                .map_err(|e| Error::Config(format!("client key (key.pem) is not valid PEM: {e}")))?
                .ok_or_else(|| Error::Config("client key (key.pem) holds no private key".into()))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| Error::Config(format!("client certificate and key do not match or are unusable: {e}")))?
        }
        (None, None) => builder.with_no_client_auth(),
        _ => {
            return Err(Error::Config(
                "a client certificate needs its key, and a key its certificate".into(),
            ))
        }
    };
    Ok(config)
}

impl tower_service::Service<http::Uri> for Connector {
    type Response = TokioIo<Stream>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<Self::Response>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: http::Uri) -> Self::Future {
        let connector = self.clone();
        Box::pin(async move { connector.dial().await.map(TokioIo::new) })
    }
}

/// A connection over any transport.
pub(crate) enum Stream {
    Unix(UnixStream),
    Tcp(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Connection for Stream {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

impl AsyncRead for Stream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Unix(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Unix(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Unix(s) => Pin::new(s).poll_flush(cx),
            Stream::Tcp(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Unix(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
