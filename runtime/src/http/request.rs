//! What a generated builder hands to the client: a request (method, path, query, headers) and
//! its body, with the escaping of query values and path parameters.

use std::fmt::Display;
use std::io;

use bytes::Bytes;
use futures_util::{Stream, TryStreamExt};
use http::header::{HeaderName, HeaderValue};
use http_body_util::BodyExt;
use serde::Serialize;
use tokio::io::AsyncRead;

pub use http::Method;

use crate::error::{Error, Result};

/// The body type of every request on the wire: bytes in memory as they are (most requests have
/// none, or JSON), a stream boxed.
pub(crate) enum HttpBody {
    InMemory(InFrames),
    Streamed(http_body_util::combinators::UnsyncBoxBody<Bytes, io::Error>),
}

impl http_body::Body for HttpBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        context: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<io::Result<hyper::body::Frame<Bytes>>>> {
        match self.get_mut() {
            HttpBody::InMemory(frames) => std::pin::Pin::new(frames).poll_frame(context),
            HttpBody::Streamed(stream) => std::pin::Pin::new(stream).poll_frame(context),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            HttpBody::InMemory(frames) => frames.is_end_stream(),
            HttpBody::Streamed(stream) => stream.is_end_stream(),
        }
    }

    fn size_hint(&self) -> http_body::SizeHint {
        match self {
            HttpBody::InMemory(frames) => frames.size_hint(),
            HttpBody::Streamed(stream) => stream.size_hint(),
        }
    }
}

/// The read size for session output and for request bodies read from an `AsyncRead`. With
/// tokio's default of 4 KiB, a 2 GiB exec output took 524,000 `recv` calls and 1.16–1.37 s of
/// client CPU; at 64 KiB, 47,000 calls and 0.90–1.16 s. 256 KiB halved the calls again but
/// saved no CPU measurably (`bench worker ours exec ... task` under `strace -c`).
pub(crate) const READ_CHUNK: usize = 64 * 1024;

/// A request body: JSON, bytes in memory, or a stream that is sent as it is produced.
pub struct Body {
    pub(crate) http: HttpBody,
    /// The bytes of a body held in memory, to send the request again after an authentication
    /// challenge; a streamed body cannot be sent twice.
    pub(crate) replay: Option<Bytes>,
}

impl Body {
    pub fn empty() -> Self {
        Self::from_bytes(Bytes::new())
    }

    pub fn from_bytes(bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        Body {
            http: HttpBody::InMemory(InFrames(bytes.clone())),
            replay: Some(bytes),
        }
    }

    /// A body streamed chunk by chunk (a build context, an image tarball).
    pub fn from_stream<S>(stream: S) -> Self
    where
        S: Stream<Item = io::Result<Bytes>> + Send + 'static,
    {
        let frames = stream.map_ok(hyper::body::Frame::data);
        Body {
            http: HttpBody::Streamed(http_body_util::StreamBody::new(frames).boxed_unsync()),
            replay: None,
        }
    }

    /// A body streamed chunk by chunk whose length is known before it is sent: it goes with a
    /// `Content-Length` (which a registry checks an upload chunk against) rather than chunked,
    /// and a stream that yields more or fewer bytes fails the request.
    pub fn from_stream_of_length<S>(length: u64, stream: S) -> Self
    where
        S: Stream<Item = io::Result<Bytes>> + Send + 'static,
    {
        let frames = http_body_util::StreamBody::new(Box::pin(stream.map_ok(hyper::body::Frame::data)));
        Body {
            http: HttpBody::Streamed(OfLength { frames, length }.boxed_unsync()),
            replay: None,
        }
    }

    /// A body read from `reader` as it is sent (a file, a pipe).
    pub fn from_reader(reader: impl AsyncRead + Send + 'static) -> Self {
        Self::from_stream(tokio_util::io::ReaderStream::with_capacity(reader, READ_CHUNK))
    }
}

/// Bytes in memory sent as frames of at most [`READ_CHUNK`], slices of the one buffer, with
/// their length known (a `Content-Length`). A body of one large frame was copied whole into the
/// connection's write buffer where writes are not vectored (TLS): 8 MiB upload chunks made the
/// heap of a registry copy three times their size.
pub(crate) struct InFrames(Bytes);

impl http_body::Body for InFrames {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<io::Result<hyper::body::Frame<Bytes>>>> {
        if self.0.is_empty() {
            return std::task::Poll::Ready(None);
        }
        let take = self.0.len().min(READ_CHUNK);
        let frame = self.0.split_to(take);
        std::task::Poll::Ready(Some(Ok(hyper::body::Frame::data(frame))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_empty()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.0.len() as u64)
    }
}

/// Streamed frames stating their total length ahead.
struct OfLength<B> {
    frames: B,
    length: u64,
}

impl<B: http_body::Body + Unpin> http_body::Body for OfLength<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        context: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<B::Data>, B::Error>>> {
        std::pin::Pin::new(&mut self.frames).poll_frame(context)
    }

    fn is_end_stream(&self) -> bool {
        self.frames.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.length)
    }
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Body")
    }
}

impl From<Vec<u8>> for Body {
    fn from(bytes: Vec<u8>) -> Self {
        Body::from_bytes(bytes)
    }
}

impl From<Bytes> for Body {
    fn from(bytes: Bytes) -> Self {
        Body::from_bytes(bytes)
    }
}

/// A request under construction: what a generated builder hands to the client.
#[derive(Debug)]
pub struct Request {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) operation: &'static str,
    pub(crate) query: String,
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
    pub(crate) body: Option<(Body, &'static str)>,
    /// The host and port of an absolute location the request was made from, which must be the
    /// client's own.
    pub(crate) location_authority: Option<String>,
}

impl Request {
    /// A request for `path` (without the version prefix) on behalf of `operation`.
    pub fn new(method: Method, path: String, operation: &'static str) -> Self {
        Request {
            method,
            path,
            operation,
            query: String::new(),
            headers: Vec::new(),
            body: None,
            location_authority: None,
        }
    }

    fn push_query(&mut self, name: &str, value: &str) {
        if !self.query.is_empty() {
            self.query.push('&');
        }
        self.query.extend(form_urlencoded(name));
        self.query.push('=');
        self.query.extend(form_urlencoded(value));
    }

    pub fn query(mut self, name: &str, value: &impl Display) -> Self {
        self.push_query(name, &value.to_string());
        self
    }

    /// A list, as repeated parameters or comma-separated. An empty list sends nothing: an empty
    /// comma-separated value would read as one empty item.
    pub fn query_list<T: Display>(mut self, name: &str, values: &[T], repeated: bool) -> Self {
        if values.is_empty() {
            return self;
        }
        if repeated {
            for value in values {
                self.push_query(name, &value.to_string());
            }
        } else {
            let joined: Vec<String> = values.iter().map(ToString::to_string).collect();
            self.push_query(name, &joined.join(","));
        }
        self
    }

    /// A parameter whose value is JSON (`filters`, `buildargs`, ...).
    pub fn query_json(mut self, name: &str, value: &impl Serialize) -> Result<Self> {
        let json = serde_json::to_string(value).map_err(|e| self.invalid(format!("{name}: {e}")))?;
        self.push_query(name, &json);
        Ok(self)
    }

    pub fn header(mut self, name: &'static str, value: &impl Display) -> Result<Self> {
        let value =
            HeaderValue::try_from(value.to_string()).map_err(|e| self.invalid(format!("header {name}: {e}")))?;
        self.headers.push((HeaderName::from_static_lowercase(name), value));
        Ok(self)
    }

    pub fn header_json(self, name: &'static str, value: &impl Serialize) -> Result<Self> {
        let json = serde_json::to_string(value).map_err(|e| self.invalid(format!("header {name}: {e}")))?;
        self.header(name, &json)
    }

    pub fn json_body(mut self, value: &impl Serialize) -> Result<Self> {
        let json = serde_json::to_vec(value).map_err(|e| self.invalid(format!("body: {e}")))?;
        self.body = Some((Body::from_bytes(json), "application/json"));
        Ok(self)
    }

    pub fn body(mut self, body: Body, content_type: &'static str) -> Self {
        self.body = Some((body, content_type));
        self
    }

    /// A request for the path and query of `location`, a `Location` header the server sent
    /// (relative, or absolute on the same server), as APIs that hand out continuation URLs want
    /// them followed. Query parameters added later are appended to the location's.
    pub fn at_location(method: Method, location: &str, operation: &'static str) -> Result<Self> {
        let invalid = |message: String| Error::InvalidArgument { operation, message };
        let uri: http::Uri = location
            .parse()
            .map_err(|e| invalid(format!("location {location:?} is not a URL: {e}")))?;
        let Some(path_and_query) = uri.path_and_query().filter(|p| p.path().starts_with('/')) else {
            return Err(invalid(format!("location {location:?} has no path")));
        };
        let mut request = Request::new(method, path_and_query.path().to_owned(), operation);
        request.query = path_and_query.query().unwrap_or_default().to_owned();
        request.location_authority = uri.authority().map(|authority| authority.to_string());
        Ok(request)
    }

    fn invalid(&self, message: String) -> Error {
        Error::InvalidArgument {
            operation: self.operation,
            message,
        }
    }
}

/// `/vVERSION/PATH?QUERY` (without the version for an unversioned API), in one allocation.
pub(crate) fn path_and_query(path: &str, query: &str, version: Option<&str>) -> String {
    let versioned = version.map_or(0, |version| 2 + version.len());
    let mut uri = String::with_capacity(versioned + path.len() + 1 + query.len());
    if let Some(version) = version {
        uri.push_str("/v");
        uri.push_str(version);
    }
    uri.push_str(path);
    if !query.is_empty() {
        uri.push('?');
        uri.push_str(query);
    }
    uri
}

trait LowercaseHeader {
    fn from_static_lowercase(name: &'static str) -> HeaderName;
}

impl LowercaseHeader for HeaderName {
    fn from_static_lowercase(name: &'static str) -> HeaderName {
        HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()).expect("header names come from the spec")
    }
}

fn form_urlencoded(text: &str) -> impl Iterator<Item = &str> {
    percent_encoding::utf8_percent_encode(text, QUERY)
}

/// Everything but unreserved characters is escaped in query names and values.
const QUERY: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// One path parameter of `operation`, percent-encoded (image names hold `/` and `:`). Empty,
/// `.` and `..` are refused before anything is sent: the daemon's router would clean them away
/// and the request would reach a different endpoint.
pub fn path_segment(operation: &'static str, name: &str, value: &str) -> Result<String> {
    if matches!(value, "" | "." | "..") {
        return Err(Error::InvalidArgument {
            operation,
            message: format!("path parameter `{name}` is {value:?}; it must name something"),
        });
    }
    Ok(percent_encoding::utf8_percent_encode(value, QUERY).to_string())
}

/// A path parameter that may hold `/` (a repository name such as `library/busybox`): each
/// segment percent-encoded, the slashes kept. Empty, `.` and `..` segments are refused, as in
/// [`path_segment`].
pub fn path_segments(operation: &'static str, name: &str, value: &str) -> Result<String> {
    let segments: Result<Vec<String>> = value
        .split('/')
        .map(|segment| {
            path_segment(operation, name, segment).map_err(|_| Error::InvalidArgument {
                operation,
                message: format!(
                    "path parameter `{name}` is {value:?}; each of its `/`-separated parts must name something"
                ),
            })
        })
        .collect();
    Ok(segments?.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_give_path_and_query_and_keep_their_authority() {
        let location = "http://127.0.0.1:5000/v2/a/b/blobs/uploads/u-1?_state=x%3D";
        let request = Request::at_location(Method::PATCH, location, "UploadChunk")
            .unwrap()
            .query("digest", &"sha256:00");
        assert_eq!(
            path_and_query(&request.path, &request.query, None),
            "/v2/a/b/blobs/uploads/u-1?_state=x%3D&digest=sha256%3A00"
        );
        assert_eq!(request.location_authority.as_deref(), Some("127.0.0.1:5000"));
        let relative = Request::at_location(Method::GET, "/v2/a/blobs/uploads/u-2", "UploadStatus").unwrap();
        assert_eq!(
            path_and_query(&relative.path, &relative.query, None),
            "/v2/a/blobs/uploads/u-2"
        );
        assert_eq!(relative.location_authority, None);
        for bad in ["", "not a url", "host:5000"] {
            let error = Request::at_location(Method::GET, bad, "UploadStatus").unwrap_err();
            assert!(matches!(error, Error::InvalidArgument { .. }), "{bad:?}: {error}");
        }
    }

    #[test]
    fn query_values_and_path_segments_are_escaped() {
        let request = Request::new(Method::GET, "/x".into(), "t")
            .query("all", &true)
            .query_list("platform", &["linux/amd64", "linux/arm64"], true)
            .query_json("filters", &std::collections::BTreeMap::from([("label", ["a=b"])]))
            .unwrap();
        assert_eq!(
            request.query,
            "all=true&platform=linux%2Famd64&platform=linux%2Farm64&filters=%7B%22label%22%3A%5B%22a%3Db%22%5D%7D"
        );
        let empty: [&str; 0] = [];
        let request = Request::new(Method::GET, "/x".into(), "t")
            .query_list("changes", &empty, false)
            .query_list("names", &empty, true)
            .query_list("ports", &[80, 443], false);
        assert_eq!(request.query, "ports=80%2C443");
        assert_eq!(
            path_segment("ImageInspect", "name", "registry:5000/app:v1").unwrap(),
            "registry%3A5000%2Fapp%3Av1"
        );
        assert_eq!(path_segments("TagsList", "name", "team/app%1").unwrap(), "team/app%251");
        for bad in ["", "a//b", "a/..", "/a"] {
            let error = path_segments("TagsList", "name", bad).unwrap_err();
            assert!(error.to_string().contains("`name`"), "{error}");
        }
        for bad in ["", ".", ".."] {
            let error = path_segment("ContainerInspect", "id", bad).unwrap_err();
            assert!(matches!(error, Error::InvalidArgument { .. }), "{error}");
            assert!(error.to_string().contains("`id`"), "{error}");
        }
    }
}
