//! Mutual TLS with rustls, as the daemon's `--tlsverify` mode expects: the daemon is verified
//! against the given CA and the host name or IP, and the client certificate is presented.
//! Built with the `tls` feature.

use std::io;
use std::sync::Arc;

use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use crate::endpoint::TlsFiles;
use crate::error::{Error, Result};

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
    }
}

/// The message for a TLS failure anywhere in `error`'s causes, with what to change for the
/// failures people meet (rustls's own messages are terse); `None` when TLS did not fail.
pub(crate) fn describe_failure(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let failure = rustls_error(error)?;
    Some(match advice(failure) {
        Some(advice) => format!("{failure}: {advice}"),
        None => failure.to_string(),
    })
}

/// The rustls error among `error` and its causes, looking inside I/O errors, which carry it.
fn rustls_error<'e>(error: &'e (dyn std::error::Error + 'static)) -> Option<&'e rustls::Error> {
    let mut next = Some(error);
    while let Some(error) = next {
        if let Some(failure) = error.downcast_ref::<rustls::Error>() {
            return Some(failure);
        }
        let inner = error
            .downcast_ref::<io::Error>()
            .and_then(io::Error::get_ref)
            .and_then(|inner| inner.downcast_ref::<rustls::Error>());
        if inner.is_some() {
            return inner;
        }
        next = error.source();
    }
    None
}

fn advice(failure: &rustls::Error) -> Option<&'static str> {
    use rustls::{AlertDescription, CertificateError, InvalidMessage};
    match failure {
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => {
            Some("the daemon's certificate is not signed by the given CA (ca.pem): use the CA that signed it")
        }
        rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => Some(
            "the daemon's certificate does not name this host: connect with a host name or IP in its subject alternative names",
        ),
        rustls::Error::AlertReceived(AlertDescription::CertificateRequired | AlertDescription::BadCertificate) => {
            Some("the daemon refused the client certificate or got none: pass cert.pem and key.pem signed by the daemon's CA")
        }
        rustls::Error::InvalidMessage(InvalidMessage::InvalidContentType) => {
            Some("the server did not answer with TLS: is this a plain-TCP port? connect without TLS")
        }
        _ => None,
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
