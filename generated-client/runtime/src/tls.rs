//! Mutual TLS with rustls, as the daemon's `--tlsverify` mode expects: the daemon is verified
//! against the given CA and the host name or IP, and the client certificate is presented.
//! Built with the `tls` feature.

use std::io;
use std::sync::Arc;

use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use crate::endpoint::TlsFiles;
use crate::error::{Error, Result};
use crate::transport::tls_advice;

/// What a TLS connection to one daemon needs: the configuration and the name to verify.
pub(crate) struct Handshake {
    config: Arc<rustls::ClientConfig>,
    server_name: rustls::pki_types::ServerName<'static>,
}

impl Handshake {
    pub(crate) fn new(host: &str, files: &TlsFiles) -> Result<Self> {
        let server_name = rustls::pki_types::ServerName::try_from(host.to_owned())
            .map_err(|e| Error::Config(format!("{host:?} is not a valid TLS server name: {e}")))?;
        Ok(Handshake {
            config: Arc::new(tls_config(files)?),
            server_name,
        })
    }

    pub(crate) async fn run(&self, tcp: TcpStream) -> io::Result<TlsStream<TcpStream>> {
        tokio_rustls::TlsConnector::from(self.config.clone())
            .connect(self.server_name.clone(), tcp)
            .await
            .map_err(explain_tls_failure)
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
