//! How bytes reach a server: where it is ([`Endpoint`]) and a connection to it over a Unix
//! socket, TCP, TLS or the system's `ssh`. Nothing here knows HTTP or any API.

pub(crate) mod address;
mod connect;
mod endpoint;
mod ssh;
#[cfg(feature = "tls")]
pub(crate) mod tls;

pub(crate) use connect::Connector;
pub use endpoint::{Endpoint, TlsFiles};
pub use ssh::SshTarget;
