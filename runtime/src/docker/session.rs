//! A hijacked attach or exec session: the container's output, and its input, which can be
//! half-closed.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::AsyncWrite;

use crate::docker::streams::OutputStream;

/// A hijacked connection: output from the container, and its stdin.
#[derive(Debug)]
pub struct Session {
    pub output: OutputStream,
    pub input: SessionInput,
}

/// The stdin half of a session; `shutdown()` half-closes the connection (or, for a WebSocket,
/// closes the session) so the process sees EOF.
pub struct SessionInput {
    pub(crate) io: Option<Pin<Box<dyn AsyncWrite + Send>>>,
}

impl std::fmt::Debug for SessionInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionInput")
            .field("open", &self.io.is_some())
            .finish()
    }
}

fn no_input() -> io::Error {
    io::Error::new(
        io::ErrorKind::BrokenPipe,
        "this session has no input: the daemon did not switch protocols",
    )
}

impl AsyncWrite for SessionInput {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().io {
            Some(io) => io.as_mut().poll_write(cx, buf),
            None => Poll::Ready(Err(no_input())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().io {
            Some(io) => io.as_mut().poll_flush(cx),
            None => Poll::Ready(Ok(())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().io {
            Some(io) => io.as_mut().poll_shutdown(cx),
            None => Poll::Ready(Ok(())),
        }
    }
}
