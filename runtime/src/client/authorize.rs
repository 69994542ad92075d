//! The hook through which a server's challenges are answered, so that the client carries a
//! registry's authentication without knowing the Registry API.

use std::future::Future;
use std::pin::Pin;

use http::HeaderValue;

use crate::client::Client;
use crate::error::Result;
use crate::http::request::Method;

/// The `Authorization` an answered challenge gives, once it is worked out.
pub type ChallengeAnswer<'a> = Pin<Box<dyn Future<Output = Result<HeaderValue>> + Send + 'a>>;

/// Authorizes the requests of a client whose server challenges them (a registry and its token
/// service). The client asks it before each request; answers a `401` that carries a
/// `WWW-Authenticate` challenge through it, then sends the request once more; and follows the
/// redirects of reads, sending them to another server through a client it hands out, without
/// the credentials.
pub trait Authorize: Send + Sync + std::fmt::Debug {
    /// What a request to `path` carries before any challenge, if anything is known yet.
    fn authorization(&self, method: &Method, path: &str) -> Option<HeaderValue>;

    /// The `Authorization` to send the request again with, after `challenge`.
    fn answer<'a>(
        &'a self,
        operation: &'static str,
        challenge: &'a HeaderValue,
        method: &'a Method,
        path: &'a str,
        query: &'a str,
    ) -> ChallengeAnswer<'a>;

    /// A client for another server (`scheme://authority`) a read was redirected to.
    fn client_for(&self, origin: &str) -> Result<Client>;
}
