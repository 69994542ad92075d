//! The runtime every generated Docker Engine API crate stands on: Unix, TCP and TLS transports
//! behind one connection pool, the Docker CLI's environment conventions, API version
//! negotiation, one typed error, and decoders for the daemon's streaming bodies.
//!
//! It knows nothing of any API version: generated crates describe requests with [`Request`]
//! and pick the [`Client`] call that matches the response kind.
//!
//! Most programs use it through a generated crate, configuring the connection here:
//!
//! ```no_run
//! # async fn example() -> Result<(), docker_engine_runtime::Error> {
//! use std::time::Duration;
//! use docker_engine_runtime::{Client, Environment, Options};
//!
//! // DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH, DOCKER_CONTEXT, as the CLI reads them.
//! let endpoint = Environment::from_process().endpoint()?;
//! let options = Options {
//!     request_timeout: Some(Duration::from_secs(30)),
//!     ..Default::default()
//! };
//! let client = Client::with_options(endpoint, "1.41", options)?;
//! println!("speaking API {} with {}", client.api_version().await?, client.endpoint());
//! # Ok(())
//! # }
//! ```
//!
//! The stream decoders also read saved captures, e.g. a log whose layout (frames, or a TTY's raw
//! bytes) they read from its first bytes:
//!
//! ```
//! # fn main() -> Result<(), docker_engine_runtime::Error> {
//! use docker_engine_runtime::{Framing, OutputStream};
//! use futures_util::stream;
//!
//! let frames = b"\x01\x00\x00\x00\x00\x00\x00\x06hello\n\x02\x00\x00\x00\x00\x00\x00\x05oops\n";
//! let chunks = stream::iter([Ok(bytes::Bytes::from_static(frames))]);
//! let output = OutputStream::from_chunks(chunks, Framing::Detect, "saved logs");
//! let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
//! let (stdout, stderr) = runtime.block_on(output.read_all())?;
//! assert_eq!((&stdout[..], &stderr[..]), (&b"hello\n"[..], &b"oops\n"[..]));
//! # Ok(())
//! # }
//! ```

/// A `tracing` debug event with the `tracing` feature, nothing without it.
macro_rules! trace_event {
    ($($event:tt)*) => {
        #[cfg(feature = "tracing")]
        ::tracing::debug!($($event)*);
    };
}

// Each module is one layer, and imports only from the layers below it: from the bottom up
// error, decoding, transport, http, docker, client, registry, buildkit, mock. The `layering`
// test holds the rule.
#[cfg(feature = "buildkit")]
pub mod buildkit;
mod client;
mod decoding;
mod docker;
mod error;
mod http;
#[cfg(feature = "mock")]
pub mod mock;
#[cfg(feature = "registry")]
pub mod registry;
mod transport;

pub use crate::client::{
    compare_versions, operation_ids, Authorize, ChallengeAnswer, Client, Options, Outcome, Route, VersionPolicy,
    USER_AGENT,
};
pub use crate::decoding::{
    decode_answer, deserialize_fields, deserialize_fields_in_place, deserialize_open_enum, DecodeFields, DecodeInPlace,
    Reuse, ReusePlain,
};
pub use crate::docker::{
    go_duration, registry_of, ByteStream, DockerConfig, Environment, FilterForm, FilterKey, FilterTime, Filters,
    Framing, JsonStream, Output, OutputStream, PathStat, RegistryAuth, RegistryConfig, Session, SessionInput,
    DEFAULT_CONTEXT, DEFAULT_SOCKET, DOCKER_HUB_SERVER,
};
#[cfg(feature = "archive")]
pub use crate::docker::{tar_directory, tar_entries, tar_files, TarEntry};
pub use crate::error::{Error, RegistryError, Result};
// For `decode_fields!` and `open_enum!`, which generated crates call.
pub use crate::http::headers::{header_value, FromHeaders, HeaderMap, HeaderText};
pub use crate::http::observe::{Observation, RequestObserver};
pub use crate::http::request::{path_segment, path_segments, Body, Method, Request};
pub use crate::transport::{Endpoint, SshTarget, TlsFiles};
#[doc(hidden)]
pub use serde as __serde;
