//! Response headers as typed values: what a generated `...Headers` struct is read with.

pub use http::HeaderMap;

use crate::error::{snippet, Error, Result};

/// A generated struct of the headers an operation's answer declares.
pub trait FromHeaders: Sized {
    fn from_headers(operation: &'static str, headers: &HeaderMap) -> Result<Self>;
}

/// What a header's text is read as: the types generated `...Headers` structs hold.
pub trait HeaderText: Sized {
    /// The value, or why `text` (trimmed, visible ASCII) is not one.
    fn from_header_text(text: &str) -> std::result::Result<Self, String>;
}

impl HeaderText for String {
    fn from_header_text(text: &str) -> std::result::Result<Self, String> {
        Ok(text.to_owned())
    }
}

impl HeaderText for i64 {
    fn from_header_text(text: &str) -> std::result::Result<Self, String> {
        text.parse().map_err(|e: std::num::ParseIntError| e.to_string())
    }
}

/// Flags as the daemon's Go code reads them (`strconv.ParseBool`): a proxy or an older daemon
/// writing `1` or `True` is not an error.
impl HeaderText for bool {
    fn from_header_text(text: &str) -> std::result::Result<Self, String> {
        match text {
            "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
            "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
            _ => Err("not a boolean (true, false, 1, 0, ...)".into()),
        }
    }
}

/// The value of header `name` (lower case) as `T`; `None` when the answer has no such header,
/// an error naming the header when its value is not text or not a `T`.
pub fn header_value<T: HeaderText>(
    operation: &'static str,
    headers: &HeaderMap,
    name: &'static str,
) -> Result<Option<T>> {
    let Some(value) = headers.get(name) else {
        return Ok(None);
    };
    let error = |message: String| Error::Decode {
        operation,
        type_name: std::any::type_name::<T>(),
        path: format!("header {name}"),
        message,
        snippet: snippet(value.as_bytes()),
    };
    let text = value
        .to_str()
        .map_err(|_| error("the value is not visible ASCII".into()))?;
    T::from_header_text(text.trim()).map(Some).map_err(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_parse_into_their_types_and_bad_values_name_the_header() {
        let mut headers = HeaderMap::new();
        headers.insert("content-length", "42".parse().unwrap());
        headers.insert("docker-content-digest", "sha256:abc".parse().unwrap());
        headers.insert("range", "not-a-number".parse().unwrap());
        assert_eq!(
            header_value::<i64>("BlobHead", &headers, "content-length").unwrap(),
            Some(42)
        );
        assert_eq!(
            header_value::<String>("BlobHead", &headers, "docker-content-digest").unwrap(),
            Some("sha256:abc".to_owned())
        );
        assert_eq!(header_value::<String>("BlobHead", &headers, "location").unwrap(), None);
        let error = header_value::<i64>("BlobHead", &headers, "range").unwrap_err();
        assert!(error.to_string().contains("header range"), "{error}");
        for (text, flag) in [
            ("false", Some(false)),
            ("1", Some(true)),
            ("True", Some(true)),
            ("yes", None),
        ] {
            headers.insert("docker-experimental", text.parse().unwrap());
            let read = header_value::<bool>("SystemPing", &headers, "docker-experimental");
            assert_eq!(read.ok().flatten(), flag, "{text}");
        }
    }
}
