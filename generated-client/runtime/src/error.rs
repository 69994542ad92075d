//! The one error type of every generated client.

/// Everything that can go wrong between a method call and its decoded result.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The endpoint or environment is unusable (bad `DOCKER_HOST`, unreadable certificates...).
    #[error("configuration: {0}")]
    Config(String),
    /// The connection could not be made.
    #[error("cannot connect to {endpoint}: {source}")]
    Connect { endpoint: String, source: std::io::Error },
    /// The TLS handshake failed; the message says what to change.
    #[error("TLS with {endpoint}: {message}")]
    Tls { endpoint: String, message: String },
    /// The connection failed while the request or response was under way.
    #[error("{operation}: transport error: {message}")]
    Transport { operation: &'static str, message: String },
    /// The request or its body took longer than the configured timeout.
    #[error("{operation}: timed out after {after:?}")]
    Timeout {
        operation: &'static str,
        after: std::time::Duration,
    },
    /// The daemon answered with an error status.
    #[error("{operation}: daemon answered {status}: {message}")]
    Daemon {
        operation: &'static str,
        status: u16,
        message: String,
    },
    /// The daemon's answer does not fit the expected type.
    #[error("{operation}: cannot decode {type_name} at `{path}`: {message}; body starts: {snippet}")]
    Decode {
        operation: &'static str,
        type_name: &'static str,
        path: String,
        message: String,
        snippet: String,
    },
    /// A stream reported an error in its body (`errorDetail` in JSON progress, stream type 3 in
    /// multiplexed output) after a successful status.
    #[error("{operation}: the daemon reported an error in the stream: {message}")]
    Stream { operation: &'static str, message: String },
    /// The stream ended in the middle of a message or frame.
    #[error("{operation}: stream truncated: {message}")]
    Truncated { operation: &'static str, message: String },
    /// The operation does not exist in the API version in use.
    #[error("{operation} is not available in API version {version}: {message}")]
    UnsupportedVersion {
        operation: &'static str,
        version: String,
        message: String,
    },
    /// A request argument was refused before anything was sent.
    #[error("{operation}: invalid argument: {message}")]
    InvalidArgument { operation: &'static str, message: String },
}

impl Error {
    /// The HTTP status of a daemon error.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Daemon { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The daemon answered 404: no such container, image, network...
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// The daemon answered 409: a name in use, a container running...
    pub fn is_conflict(&self) -> bool {
        self.status() == Some(409)
    }

    /// The daemon answered 304: nothing to do (already started, already stopped).
    pub fn is_not_modified(&self) -> bool {
        self.status() == Some(304)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// At most `limit` bytes of `body` as text, for error messages.
pub(crate) fn snippet(body: &[u8]) -> String {
    const LIMIT: usize = 200;
    let text = String::from_utf8_lossy(&body[..body.len().min(LIMIT)]);
    let more = if body.len() > LIMIT { "..." } else { "" };
    format!("{:?}{more}", text)
}

/// The daemon's error message from a body: `{"message": ...}` JSON, else the text itself.
pub(crate) fn daemon_message(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct ErrorBody {
        message: String,
    }
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(error) => error.message,
        Err(_) if body.is_empty() => "(empty body)".to_owned(),
        Err(_) => String::from_utf8_lossy(body).trim().to_owned(),
    }
}

/// Decodes `body` as `T`; on failure, names the field that did not fit.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(operation: &'static str, body: &[u8]) -> Result<T> {
    match serde_json::from_slice(body) {
        Ok(value) => Ok(value),
        Err(_) => {
            let mut deserializer = serde_json::Deserializer::from_slice(body);
            match serde_path_to_error::deserialize::<_, T>(&mut deserializer) {
                Ok(value) => Ok(value),
                Err(e) => Err(Error::Decode {
                    operation,
                    type_name: std::any::type_name::<T>(),
                    path: e.path().to_string(),
                    message: e.inner().to_string(),
                    snippet: snippet(body),
                }),
            }
        }
    }
}
