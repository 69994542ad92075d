//! HTTP/1.1 over the transports: requests as generated code describes them, one connection
//! pool per endpoint, headers decoded into types, upgrades (hijacked connections, WebSocket)
//! and the observer of each exchange. Nothing here knows an API: paths, versions and answers
//! are the client's.

pub(crate) mod headers;
pub(crate) mod observe;
pub(crate) mod pool;
pub(crate) mod request;
#[cfg(feature = "websocket")]
pub(crate) mod websocket;

use std::io;
use std::pin::Pin;

use bytes::Bytes;
use futures_util::Stream;

/// The bytes of a body as they arrive, whatever carries them.
pub(crate) type ByteSource = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;
