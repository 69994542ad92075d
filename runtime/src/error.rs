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
    #[error("{operation}: cannot decode {type_name} at `{path}`: {message}; near {snippet}")]
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
    /// The daemon no longer accepts the API version in use: it is older than the daemon's
    /// minimum (Docker 25 accepts 1.24 and later, Docker 29 1.40 and later).
    #[error(
        "{operation}: the daemon accepts API versions from {minimum}, and this request used {version}: \
         use a crate of API {minimum} or later, or let the client negotiate (no DOCKER_API_VERSION)"
    )]
    VersionTooOld {
        operation: &'static str,
        version: String,
        minimum: String,
    },
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
    /// A registry answered with an error status and its error envelope
    /// (`{"errors": [{"code", "message", "detail"}]}`).
    #[error("{operation}: registry answered {status}: {}", describe_registry_errors(.errors))]
    Registry {
        operation: &'static str,
        status: u16,
        errors: Vec<RegistryError>,
    },
    /// What arrived is not what its digest names; nothing of it should be kept.
    #[error("{operation}: the content does not match its digest: expected {expected}, got {actual}")]
    DigestMismatch {
        operation: &'static str,
        expected: String,
        actual: String,
    },
    /// A registry's authentication challenge could not be answered: no credentials for it, or its
    /// token service refused them.
    #[error("{operation}: authentication with {realm}: {message}")]
    Auth {
        operation: &'static str,
        realm: String,
        message: String,
    },
}

/// One entry of a registry's error envelope.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct RegistryError {
    /// `BLOB_UNKNOWN`, `MANIFEST_UNKNOWN`, `UNAUTHORIZED`, `DENIED`, ...
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub detail: serde_json::Value,
}

fn describe_registry_errors(errors: &[RegistryError]) -> String {
    if errors.is_empty() {
        return "(no error detail)".into();
    }
    let described: Vec<String> = errors
        .iter()
        .map(|error| match &error.detail {
            serde_json::Value::Null => format!("{}: {}", error.code, error.message),
            detail => format!("{}: {} ({detail})", error.code, error.message),
        })
        .collect();
    described.join("; ")
}

/// The entries of a registry's error envelope, if `body` is one.
pub(crate) fn registry_errors(body: &[u8]) -> Option<Vec<RegistryError>> {
    #[derive(serde::Deserialize)]
    struct Envelope {
        errors: Vec<RegistryError>,
    }
    serde_json::from_slice::<Envelope>(body)
        .ok()
        .map(|envelope| envelope.errors)
}

impl Error {
    /// The HTTP status of a daemon or registry error.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Daemon { status, .. } | Error::Registry { status, .. } => Some(*status),
            Error::VersionTooOld { .. } => Some(400),
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

/// The message of an error answer without a body (a `HEAD` request's).
pub(crate) const EMPTY_BODY: &str = "(empty body)";

/// The daemon's error message from a body: `{"message": ...}` JSON, else the text itself.
pub(crate) fn daemon_message(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct ErrorBody {
        message: String,
    }
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(error) => error.message,
        Err(_) if body.is_empty() => EMPTY_BODY.to_owned(),
        Err(_) => String::from_utf8_lossy(body).trim().to_owned(),
    }
}

/// Decodes `body` as `T`; on failure, names the field that did not fit.
///
/// The body's UTF-8 is checked at once, with SIMD, rather than string by string as serde_json
/// checks bytes (a sixth of the time taken to decode a container list); a body that is not UTF-8
/// is read as bytes so that serde_json says where.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(operation: &'static str, body: &[u8]) -> Result<T> {
    let decoded = match simdutf8::basic::from_utf8(body) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(body),
    };
    decoded.map_err(|error| decode_error(operation, std::any::type_name::<T>(), body, &error))
}

/// The error for a body that did not decode, naming the field from where serde_json stopped.
/// Finding the field by reading the body again, rather than decoding it a second time through a
/// path-tracking deserializer, keeps every response type to one deserializer instance: the
/// second one was a quarter of each generated crate's machine code.
pub(crate) fn decode_error(
    operation: &'static str,
    type_name: &'static str,
    body: &[u8],
    error: &serde_json::Error,
) -> Error {
    let offset = byte_offset(body, error.line(), error.column());
    Error::Decode {
        operation,
        type_name,
        path: json_path_at(body, offset),
        message: error.to_string(),
        snippet: snippet_around(body, offset),
    }
}

/// The byte offset of serde_json's 1-based line and column (the column counts bytes).
pub(crate) fn byte_offset(body: &[u8], line: usize, column: usize) -> usize {
    let line_start = if line <= 1 {
        0
    } else {
        memchr::memchr_iter(b'\n', body)
            .nth(line - 2)
            .map_or(body.len(), |newline| newline + 1)
    };
    (line_start + column).min(body.len())
}

/// Where in the JSON document the first `end` bytes of `body` lead, written like
/// `Containers[2].Names`, or `.` at the top level. Unescaped keys are shown as written.
fn json_path_at(body: &[u8], end: usize) -> String {
    enum Container {
        Object { key: Option<String> },
        Array { index: usize },
    }
    let mut open: Vec<Container> = Vec::new();
    let mut position = 0;
    while position < end {
        match body[position] {
            b'{' => open.push(Container::Object { key: None }),
            b'[' => open.push(Container::Array { index: 0 }),
            b'}' | b']' => drop(open.pop()),
            b',' => match open.last_mut() {
                Some(Container::Object { key }) => *key = None,
                Some(Container::Array { index }) => *index += 1,
                None => {}
            },
            b'"' => {
                let start = position + 1;
                position = start;
                while position < body.len() && body[position] != b'"' {
                    position += if body[position] == b'\\' { 2 } else { 1 };
                }
                // In an object, the first string since `{` or `,` is the key.
                if let Some(Container::Object { key: key @ None }) = open.last_mut() {
                    *key = Some(String::from_utf8_lossy(&body[start..position.min(body.len())]).into_owned());
                }
            }
            _ => {}
        }
        position += 1;
    }
    let mut path = String::new();
    for container in &open {
        match container {
            Container::Object { key: Some(key) } => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
            }
            Container::Object { key: None } => {}
            Container::Array { index } => path.push_str(&format!("[{index}]")),
        }
    }
    if path.is_empty() {
        path.push('.');
    }
    path
}

/// The text of `body` around `offset`, for error messages.
fn snippet_around(body: &[u8], offset: usize) -> String {
    const SIDE: usize = 80;
    let start = offset.saturating_sub(SIDE);
    let end = (offset + SIDE).min(body.len());
    let text = String::from_utf8_lossy(&body[start..end]);
    let before = if start > 0 { "..." } else { "" };
    let after = if end < body.len() { "..." } else { "" };
    format!("{before}{text:?}{after}")
}

/// The error for an answer with an error `status`: the operation is not offered when the server
/// has no such route, otherwise the daemon's error.
pub(crate) fn status_error(operation: &'static str, status: http::StatusCode, message: String, version: &str) -> Error {
    if is_unknown_route(status, &message) {
        let message = format!("{message} (the daemon does not offer this operation at API v{version})");
        return Error::UnsupportedVersion {
            operation,
            version: version.to_owned(),
            message,
        };
    }
    Error::Daemon {
        operation,
        status: status.as_u16(),
        message,
    }
}

/// The minimum version in dockerd's refusal of an old one: "client version 1.25 is too old.
/// Minimum supported API version is 1.40, please upgrade your client to a newer version".
pub(crate) fn minimum_in_refusal(message: &str) -> Option<&str> {
    let (_, after) = message.split_once("is too old. Minimum supported API version is ")?;
    let minimum = after.split([',', ' ']).next()?;
    (!minimum.is_empty() && minimum.chars().all(|c| c.is_ascii_digit() || c == '.')).then_some(minimum)
}

/// Whether an error answer says the server has no such route, rather than no such object: Docker
/// answers "page not found"; Podman answers a bare "Not Found" (its objects' 404s are JSON), or
/// 405 where the path exists for other methods.
fn is_unknown_route(status: http::StatusCode, message: &str) -> bool {
    match status {
        http::StatusCode::NOT_FOUND => message.contains("page not found") || message == "Not Found",
        http::StatusCode::METHOD_NOT_ALLOWED => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_minimum_is_read_from_dockerds_refusal() {
        let refusal = "client version 1.25 is too old. Minimum supported API version is 1.40, please upgrade \
                       your client to a newer version";
        assert_eq!(minimum_in_refusal(refusal), Some("1.40"));
        assert_eq!(minimum_in_refusal("Minimum supported API version is 1.24"), None);
        assert_eq!(minimum_in_refusal("no such container"), None);
    }

    #[test]
    fn unknown_routes_are_told_from_missing_objects() {
        use http::StatusCode;
        assert!(is_unknown_route(StatusCode::NOT_FOUND, "404 page not found"));
        assert!(is_unknown_route(StatusCode::NOT_FOUND, "Not Found"));
        assert!(is_unknown_route(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed"));
        assert!(!is_unknown_route(StatusCode::NOT_FOUND, "No such container: x"));
        assert!(!is_unknown_route(
            StatusCode::NOT_FOUND,
            "no container with name or ID \"x\" found"
        ));
        assert!(!is_unknown_route(StatusCode::INTERNAL_SERVER_ERROR, "Not Found"));
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Listing {
        #[serde(rename = "Containers")]
        containers: Vec<Summary>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Summary {
        #[serde(rename = "Id")]
        id: String,
        #[serde(rename = "Names")]
        names: Option<Vec<String>>,
        #[serde(rename = "Ports")]
        ports: Option<std::collections::HashMap<String, u16>>,
    }

    fn failure(body: &str) -> (String, String, String) {
        match decode::<Listing>("ContainerList", body.as_bytes()).unwrap_err() {
            Error::Decode {
                path, message, snippet, ..
            } => (path, message, snippet),
            other => panic!("not a decode error: {other}"),
        }
    }

    #[test]
    fn decode_errors_name_the_field_that_did_not_fit() {
        let body = r#"{"Containers": [{"Id": "a", "Names": ["x"]}, {"Id": "b", "Names": ["y", 7]}]}"#;
        let (path, message, snippet) = failure(body);
        assert_eq!(path, "Containers[1].Names[1]");
        assert!(message.contains("expected a string"), "{message}");
        assert!(snippet.contains(r#"\"y\", 7"#), "{snippet}");

        let (path, message, _) = failure(r#"{"Containers": [{"Id": "a"}, {"Ports": {"80/tcp": "http"}}]}"#);
        assert_eq!(path, "Containers[1].Ports.80/tcp");
        assert!(message.contains("expected u16"), "{message}");

        // A missing field is reported at the object that lacks it.
        let (path, message, _) = failure("{\"Containers\": [\n  {\"Id\": \"a\"},\n  {\"Names\": []}\n]}");
        assert_eq!(path, "Containers[1]");
        assert!(
            message.contains("missing field `Id`") && message.contains("line 3"),
            "{message}"
        );

        // Strings holding brackets, commas and escaped quotes do not move the path.
        let (path, _, _) = failure(r#"{"Containers": [{"Id": "[,{\"}", "Names": "not a list"}]}"#);
        assert_eq!(path, "Containers[0].Names");

        let (path, message, _) = failure(r#""a string""#);
        assert_eq!(path, ".");
        assert!(message.contains("expected struct Listing"), "{message}");
        let (path, _, snippet) = failure(r#"{"Containers": [{"Id": "a""#);
        assert_eq!(path, "Containers[0].Id");
        assert!(snippet.ends_with(r#"\"a\"""#), "{snippet}");
    }

    #[test]
    fn long_bodies_are_shown_around_the_failure() {
        let names: Vec<String> = (0..200).map(|n| format!("\"n{n}\"")).collect();
        let body = format!(
            r#"{{"Containers": [{{"Id": "a", "Names": [{}, false]}}]}}"#,
            names.join(", ")
        );
        let (path, _, snippet) = failure(&body);
        assert_eq!(path, "Containers[0].Names[200]");
        assert!(snippet.starts_with("...") && snippet.contains("false"), "{snippet}");
        assert!(snippet.len() < 200, "{snippet}");
    }
}
