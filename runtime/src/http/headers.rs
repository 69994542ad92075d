//! Response headers as typed values: what a generated `...Headers` struct is read with.

use std::str::FromStr;

pub use http::HeaderMap;

use crate::error::{snippet, Error, Result};

/// A generated struct of the headers an operation's answer declares.
pub trait FromHeaders: Sized {
    fn from_headers(operation: &'static str, headers: &HeaderMap) -> Result<Self>;
}

/// The value of header `name` (lower case) parsed as `T`; `None` when the answer has no such
/// header, an error naming the header when its value is not text or does not parse.
pub fn header_value<T: FromStr>(operation: &'static str, headers: &HeaderMap, name: &'static str) -> Result<Option<T>>
where
    T::Err: std::fmt::Display,
{
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
    text.trim().parse().map(Some).map_err(|e: T::Err| error(e.to_string()))
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
    }
}
