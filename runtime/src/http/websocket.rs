//! WebSocket sessions (`/containers/{id}/attach/ws`): the handshake over a connection of the
//! runtime's own, the container's output as a stream of message payloads, and its stdin as an
//! `AsyncWrite` whose every write is one binary message.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use futures_util::stream::SplitSink;
use futures_util::{Sink, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::WebSocketStream;

use crate::error::status_error;
use crate::error::{daemon_message, Error, Result};
use crate::http::ByteSource;

/// An open WebSocket session: what the daemon sends, and the way to send to it.
pub(crate) struct WebSocketSession {
    pub(crate) output: ByteSource,
    pub(crate) input: Pin<Box<dyn AsyncWrite + Send>>,
    pub(crate) status: http::StatusCode,
}

/// Performs the handshake for `uri` (`ws://authority/vX.YY/...`) over `connection`.
pub(crate) async fn open<S>(
    operation: &'static str,
    version: &str,
    uri: String,
    connection: S,
) -> Result<WebSocketSession>
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (socket, response) = tokio_tungstenite::client_async(uri, connection)
        .await
        .map_err(|error| match error {
            // The daemon refused the upgrade with an ordinary answer: its status and message.
            tungstenite::Error::Http(response) => {
                let body = response.body().clone().unwrap_or_default();
                let chunked = response
                    .headers()
                    .get(http::header::TRANSFER_ENCODING)
                    .is_some_and(|encoding| encoding.as_bytes().eq_ignore_ascii_case(b"chunked"));
                let body = if chunked { dechunk(&body) } else { body };
                status_error(operation, response.status(), daemon_message(&body), version)
            }
            other => Error::Transport {
                operation,
                message: format!("WebSocket handshake: {other}"),
            },
        })?;
    let (sink, stream) = socket.split();
    let mut closed = false;
    let output = stream.filter_map(move |message| {
        let payload = match message {
            Ok(Message::Binary(payload)) => Some(Ok(payload)),
            Ok(Message::Text(text)) => Some(Ok(Bytes::from(text))),
            Ok(Message::Close(_)) => {
                closed = true;
                None
            }
            // Pings are answered by the sink.
            Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)) => None,
            Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => None,
            // The daemon drops the connection right after its close frame, so the answer to that
            // frame may meet a closed socket: the session has ended all the same.
            Err(_) if closed => None,
            Err(tungstenite::Error::Io(error)) => Some(Err(error)),
            Err(other) => Some(Err(io::Error::other(other))),
        };
        std::future::ready(payload)
    });
    Ok(WebSocketSession {
        output: Box::pin(output),
        input: Box::pin(MessageWriter { sink }),
        status: response.status(),
    })
}

/// The payload of a chunked body, as far as it was read; bytes that are not chunks are kept as
/// they are, so that the daemon's words reach the error either way.
fn dechunk(raw: &[u8]) -> Vec<u8> {
    let mut payload = Vec::new();
    let mut rest = raw;
    while let Ok(httparse::Status::Complete((header, size))) = httparse::parse_chunk_size(rest) {
        if size == 0 {
            return payload;
        }
        let chunk = &rest[header..];
        let size = usize::try_from(size).unwrap_or(usize::MAX).min(chunk.len());
        payload.extend_from_slice(&chunk[..size]);
        rest = chunk[size..].strip_prefix(b"\r\n").unwrap_or(&chunk[size..]);
    }
    if payload.is_empty() {
        raw.to_vec()
    } else {
        payload
    }
}

/// Writes bytes as binary messages; shutting it down sends the close handshake.
struct MessageWriter<S> {
    sink: SplitSink<WebSocketStream<S>, Message>,
}

fn io_error(error: tungstenite::Error) -> io::Error {
    match error {
        tungstenite::Error::Io(error) => error,
        other => io::Error::other(other),
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for MessageWriter<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let sink = Pin::new(&mut self.sink);
        ready!(sink.poll_ready(cx)).map_err(io_error)?;
        let message = Message::Binary(Bytes::copy_from_slice(buf));
        Pin::new(&mut self.sink).start_send(message).map_err(io_error)?;
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.sink).poll_flush(cx).map_err(io_error)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.sink).poll_close(cx).map_err(io_error)
    }
}

#[cfg(test)]
mod tests {
    use super::dechunk;

    #[test]
    fn a_refusals_chunked_body_is_read_as_its_payload() {
        assert_eq!(dechunk(b"A\r\nNot Found\n\r\n0\r\n\r\n"), b"Not Found\n");
        assert_eq!(
            dechunk(b"4\r\nNot \r\n6\r\nFound\n\r\n"),
            b"Not Found\n",
            "cut before the end"
        );
        assert_eq!(dechunk(b"page not found"), b"page not found", "not chunks");
    }
}
