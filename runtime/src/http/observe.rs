//! What a request observer is told: each request as it is sent, and each answer that succeeded
//! all the way through, so metrics, logs and test coverage can tell a 2xx that decoded from one
//! that only reached the daemon.

use std::sync::Arc;

use crate::error::Result;

/// One thing that happened to a request.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Observation<'a> {
    /// The request is about to be sent.
    Sent { operation: &'static str },
    /// The daemon answered with a success status (2xx; 101 for a session; 304 where it says
    /// there was nothing to do, as for starting a running container) and the whole answer was
    /// read into the operation's typed value: the body decoded, or for a stream, every message
    /// up to its end.
    Succeeded {
        operation: &'static str,
        status: u16,
        /// The body, for an answer that is one JSON document.
        json: Option<&'a [u8]>,
    },
}

impl Observation<'_> {
    pub fn operation(&self) -> &'static str {
        match self {
            Observation::Sent { operation } | Observation::Succeeded { operation, .. } => operation,
        }
    }
}

/// Called for every [`Observation`] of the requests a client sends.
pub type RequestObserver = Arc<dyn Fn(&Observation<'_>) + Send + Sync>;

/// Carried by a stream so that it reports success once it has ended without an error.
#[derive(Default)]
pub(crate) struct Completion {
    pending: Option<(RequestObserver, &'static str, u16)>,
    failed: bool,
}

impl Completion {
    pub(crate) fn new(observer: Option<&RequestObserver>, operation: &'static str, status: u16) -> Self {
        Completion {
            pending: observer.map(|observer| (observer.clone(), operation, status)),
            failed: false,
        }
    }

    /// Looks at what the stream is about to yield: an error spoils success, the end reports it.
    pub(crate) fn observe<T>(&mut self, item: &Option<Result<T>>) {
        match item {
            Some(Err(_)) => self.failed = true,
            Some(Ok(_)) => {}
            None => {
                if let Some((observer, operation, status)) = self.pending.take() {
                    if !self.failed {
                        observer(&Observation::Succeeded {
                            operation,
                            status,
                            json: None,
                        });
                    }
                }
            }
        }
    }
}
