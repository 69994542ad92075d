//! Mutual TLS with rustls, as the daemon's `--tlsverify` mode expects: the daemon is verified
//! against the given CA and the host name or IP, and the client certificate is presented.
//! Built with the `tls` feature.

use std::io;
use std::sync::Arc;

use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use crate::error::{Error, Result};
use crate::transport::TlsFiles;

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

    /// TLS verified against the system's roots and `ca`, without a client certificate.
    pub(crate) fn server_only(host: &str, ca: Option<&[u8]>) -> Result<Self> {
        let server_name = rustls::pki_types::ServerName::try_from(host.to_owned())
            .map_err(|e| Error::Config(format!("{host:?} is not a valid TLS server name: {e}")))?;
        let mut roots = rustls::RootCertStore::empty();
        // Unreadable system certificates are skipped, as every TLS client does; a CA given
        // explicitly must be usable.
        let system = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(system.certs);
        if let Some(ca) = ca {
            add_ca(&mut roots, ca, "the CA file")?;
        }
        if roots.is_empty() {
            return Err(Error::Config(
                "no CA certificates: the system has none readable and no CA file was given".into(),
            ));
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Config(format!("TLS setup: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Handshake {
            config: Arc::new(config),
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

/// Whether a handshake failed because the server answered in plain text, not TLS.
pub(crate) fn is_plain_server(error: &io::Error) -> bool {
    matches!(
        rustls_error(error),
        Some(rustls::Error::InvalidMessage(
            rustls::InvalidMessage::InvalidContentType
        ))
    )
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
            Some("the server's certificate is not signed by the given CA (ca.pem for a daemon, the CA file or the system's roots for a registry): use the CA that signed it")
        }
        rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => Some(
            "the server's certificate does not name this host: connect with a host name or IP in its subject alternative names",
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
    add_ca(&mut roots, &files.ca, "CA certificate (ca.pem)")?;
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

/// Adds the certificates of `pem`, which must hold at least one; `what` names it in errors.
fn add_ca(roots: &mut rustls::RootCertStore, pem: &[u8], what: &str) -> Result<()> {
    let cas: Vec<_> = rustls_pemfile::certs(&mut &pem[..])
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| Error::Config(format!("{what} is not valid PEM: {e}")))?;
    if cas.is_empty() {
        return Err(Error::Config(format!("{what} holds no certificate")));
    }
    for ca in cas {
        roots
            .add(ca)
            .map_err(|e| Error::Config(format!("{what} is unusable: {e}")))?;
    }
    Ok(())
}
