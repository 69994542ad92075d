//! The runtime every generated Docker Engine API crate stands on: Unix, TCP and TLS transports
//! behind one connection pool, the Docker CLI's environment conventions, API version
//! negotiation, one typed error, and decoders for the daemon's streaming bodies.
//!
//! It knows nothing of any API version: generated crates describe requests with [`Request`]
//! and pick the [`Client`] call that matches the response kind.

mod archive;
mod client;
mod config;
mod endpoint;
mod error;
mod params;
mod streams;
mod transport;

pub use archive::{tar_directory, tar_files};
pub use client::{
    compare_versions, path_segment, Body, Client, Method, Options, PathStat, Request, RequestObserver, Session,
    SessionInput, VersionPolicy,
};
pub use config::{registry_of, DockerConfig, DEFAULT_CONTEXT, DOCKER_HUB_SERVER};
pub use endpoint::{Endpoint, Environment, TlsFiles, DEFAULT_SOCKET};
pub use error::{Error, Result};
pub use params::{Filters, RegistryAuth, RegistryConfig};
pub use streams::{ByteStream, JsonStream, Output, OutputStream};
