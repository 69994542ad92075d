//! One connector for every transport, so that one connection pool serves them all.

use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpStream, UnixStream};

use crate::error::Result;
use crate::transport::ssh::{SshStream, SshTarget};
use crate::transport::Endpoint;

/// Dials the configured endpoint.
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
    #[cfg(feature = "tls")]
    Tls {
        host: String,
        port: u16,
        handshake: crate::transport::tls::Handshake,
        /// Set when plain TCP may replace TLS with a server that does not speak it; then true
        /// once such a server was met, so that later connections skip the attempt.
        plain_fallback: Option<std::sync::atomic::AtomicBool>,
    },
    Ssh(SshTarget),
}

impl Connector {
    pub(crate) fn new(endpoint: &Endpoint, connect_timeout: Duration) -> Result<Self> {
        let target = match endpoint {
            Endpoint::Unix(path) => Target::Unix(path.clone()),
            Endpoint::Tcp { host, port } => Target::Tcp {
                host: host.clone(),
                port: *port,
            },
            #[cfg(feature = "tls")]
            Endpoint::Tls { host, port, tls } => Target::Tls {
                host: host.clone(),
                port: *port,
                handshake: crate::transport::tls::Handshake::new(host, tls)?,
                plain_fallback: None,
            },
            #[cfg(feature = "tls")]
            Endpoint::Https {
                host,
                port,
                ca,
                plain_fallback,
            } => Target::Tls {
                host: host.clone(),
                port: *port,
                handshake: crate::transport::tls::Handshake::server_only(host, ca.as_deref())?,
                plain_fallback: plain_fallback.then(|| std::sync::atomic::AtomicBool::new(false)),
            },
            #[cfg(not(feature = "tls"))]
            Endpoint::Https {
                host,
                port,
                plain_fallback: true,
                ..
            } => Target::Tcp {
                host: host.clone(),
                port: *port,
            },
            Endpoint::Ssh(target) => Target::Ssh(target.clone()),
            #[cfg(not(feature = "tls"))]
            Endpoint::Tls { .. } | Endpoint::Https { .. } => {
                return Err(crate::error::Error::Config(format!(
                    "{endpoint} asks for TLS, but this program was built without it: enable the `tls` \
                     feature of the docker-engine crate it uses"
                )))
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
                #[cfg(feature = "tls")]
                Target::Tls {
                    host,
                    port,
                    handshake,
                    plain_fallback,
                } => {
                    use std::sync::atomic::Ordering;
                    let dial_tcp = || async {
                        let tcp = TcpStream::connect((host.as_str(), *port)).await?;
                        tcp.set_nodelay(true)?;
                        io::Result::Ok(tcp)
                    };
                    if plain_fallback
                        .as_ref()
                        .is_some_and(|plain| plain.load(Ordering::Relaxed))
                    {
                        return Ok(Stream::Tcp(dial_tcp().await?));
                    }
                    match handshake.run(dial_tcp().await?).await {
                        Ok(tls) => Ok(Stream::Tls(Box::new(tls))),
                        Err(error) if plain_fallback.is_some() && crate::transport::tls::is_plain_server(&error) => {
                            plain_fallback
                                .as_ref()
                                .expect("checked in the guard")
                                .store(true, Ordering::Relaxed);
                            Ok(Stream::Tcp(dial_tcp().await?))
                        }
                        Err(error) => Err(error),
                    }
                }
                Target::Ssh(target) => Ok(Stream::Ssh(Box::new(target.connect().await?))),
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

/// A connection over any transport.
pub(crate) enum Stream {
    Unix(UnixStream),
    Tcp(TcpStream),
    #[cfg(feature = "tls")]
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
    Ssh(Box<SshStream>),
}

impl AsyncRead for Stream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Unix(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Stream::Ssh(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Unix(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Stream::Ssh(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Unix(s) => Pin::new(s).poll_flush(cx),
            Stream::Tcp(s) => Pin::new(s).poll_flush(cx),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Stream::Ssh(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Unix(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            Stream::Ssh(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::TlsFiles;

    fn tls_endpoint() -> Endpoint {
        Endpoint::Tls {
            host: "127.0.0.1".into(),
            port: 2376,
            tls: TlsFiles {
                ca: b"not a certificate".to_vec(),
                client_cert: None,
                client_key: None,
            },
        }
    }

    #[cfg(not(feature = "tls"))]
    #[test]
    fn a_tls_endpoint_without_the_feature_says_which_feature_to_enable() {
        let error = Connector::new(&tls_endpoint(), Duration::from_secs(1))
            .err()
            .expect("no TLS without the feature");
        let message = error.to_string();
        assert!(
            message.contains("`tls` feature") && message.contains("127.0.0.1:2376"),
            "{message}"
        );
    }

    #[cfg(feature = "tls")]
    #[test]
    fn a_ca_file_without_a_certificate_is_a_configuration_error() {
        let error = Connector::new(&tls_endpoint(), Duration::from_secs(1))
            .err()
            .expect("the CA is not PEM");
        assert!(error.to_string().contains("ca.pem"), "{error}");
    }
}
