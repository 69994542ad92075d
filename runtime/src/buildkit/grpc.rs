//! gRPC as a BuildKit session speaks it: on the HTTP/2 connection the session takes over, the
//! daemon opens a stream per call, and each message either way is a 5-byte prefix (a
//! compression flag, always 0 here, and the length, big-endian) before its protobuf bytes. A
//! call's answer is the response headers, its messages, and trailers carrying `grpc-status`
//! (0 for success) and `grpc-message`.

use std::convert::Infallible;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use http_body::Frame;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use tokio::sync::mpsc;

/// The largest message accepted from the daemon; BuildKit splits what it sends at 3 MiB.
const MOST_MESSAGE_BYTES: usize = 16 * 1024 * 1024;

/// Messages queued towards the daemon before a sender waits: bounds the memory of a file sent
/// faster than the connection carries it.
const QUEUED_FRAMES: usize = 16;

/// gRPC status codes used here (`google.golang.org/grpc/codes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Code {
    Cancelled = 1,
    Unknown = 2,
    InvalidArgument = 3,
    NotFound = 5,
    PermissionDenied = 7,
    Unimplemented = 12,
    Internal = 13,
    Unavailable = 14,
}

/// A call's failure as the daemon is told it: a code and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Status {
    pub(crate) code: Code,
    pub(crate) message: String,
}

impl Status {
    pub(crate) fn new(code: Code, message: impl Into<String>) -> Self {
        Status {
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({:?})", self.message, self.code)
    }
}

/// Splits the request body of a call into messages.
pub(crate) struct MessageReader {
    body: Incoming,
    buffer: BytesMut,
    ended: bool,
}

impl MessageReader {
    pub(crate) fn new(body: Incoming) -> Self {
        MessageReader {
            body,
            buffer: BytesMut::new(),
            ended: false,
        }
    }

    /// The next message, `None` when the daemon has ended its side of the call.
    pub(crate) async fn next<M: prost::Message + Default>(&mut self) -> Result<Option<M>, Status> {
        match self.next_bytes().await? {
            Some(bytes) => M::decode(bytes).map(Some).map_err(|e| {
                Status::new(
                    Code::InvalidArgument,
                    format!("a message the daemon sent does not decode: {e}"),
                )
            }),
            None => Ok(None),
        }
    }

    async fn next_bytes(&mut self) -> Result<Option<Bytes>, Status> {
        loop {
            if let Some(message) = split_message(&mut self.buffer)? {
                return Ok(Some(message));
            }
            if self.ended {
                return match self.buffer.is_empty() {
                    true => Ok(None),
                    false => Err(Status::new(
                        Code::InvalidArgument,
                        format!(
                            "the daemon's stream ended inside a message ({} bytes of it)",
                            self.buffer.len()
                        ),
                    )),
                };
            }
            match self.body.frame().await {
                None => self.ended = true,
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.buffer.extend_from_slice(&data);
                    }
                }
                Some(Err(e)) => {
                    return Err(Status::new(
                        Code::Cancelled,
                        format!("the daemon's stream broke off: {e}"),
                    ));
                }
            }
        }
    }
}

/// One whole message off the front of `buffer`, if it holds one.
pub(crate) fn split_message(buffer: &mut BytesMut) -> Result<Option<Bytes>, Status> {
    if buffer.len() < 5 {
        return Ok(None);
    }
    if buffer[0] != 0 {
        return Err(Status::new(
            Code::Unimplemented,
            "the daemon sent a compressed message, and this session offers no compression",
        ));
    }
    let length = u32::from_be_bytes([buffer[1], buffer[2], buffer[3], buffer[4]]) as usize;
    if length > MOST_MESSAGE_BYTES {
        return Err(Status::new(
            Code::InvalidArgument,
            format!("the daemon sent a message of {length} bytes, more than the {MOST_MESSAGE_BYTES} accepted"),
        ));
    }
    if buffer.len() < 5 + length {
        return Ok(None);
    }
    buffer.advance(5);
    Ok(Some(buffer.split_to(length).freeze()))
}

/// A message with its gRPC prefix.
pub(crate) fn frame_message(message: &impl prost::Message) -> Bytes {
    let length = message.encoded_len();
    let mut bytes = BytesMut::with_capacity(5 + length);
    bytes.put_u8(0);
    bytes.put_u32(length as u32);
    message
        .encode(&mut bytes)
        .expect("the buffer was sized for the message");
    bytes.freeze()
}

/// Sends a call's answer: messages, then the status in trailers.
#[derive(Clone)]
pub(crate) struct MessageWriter {
    frames: mpsc::Sender<Frame<Bytes>>,
}

impl MessageWriter {
    /// Sends `message`; fails when the daemon has gone from the call.
    pub(crate) async fn send(&self, message: &impl prost::Message) -> Result<usize, Status> {
        let bytes = frame_message(message);
        let length = bytes.len();
        self.frames
            .send(Frame::data(bytes))
            .await
            .map_err(|_| Status::new(Code::Cancelled, "the daemon ended the call"))?;
        Ok(length)
    }

    /// Ends the call with `outcome`'s status.
    pub(crate) async fn finish(self, outcome: Result<(), Status>) {
        let _ = self.frames.send(Frame::trailers(trailers(&outcome))).await;
    }
}

fn trailers(outcome: &Result<(), Status>) -> http::HeaderMap {
    let mut trailers = http::HeaderMap::new();
    let (code, message) = match outcome {
        Ok(()) => (0, None),
        Err(status) => (status.code as u32, Some(&status.message)),
    };
    trailers.insert("grpc-status", http::HeaderValue::from(code));
    if let Some(message) = message {
        // gRPC percent-encodes the message: every byte outside printable ASCII, and `%`.
        const ENCODED: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS.add(b'%');
        let encoded = percent_encoding::utf8_percent_encode(message, ENCODED).to_string();
        if let Ok(value) = http::HeaderValue::try_from(encoded) {
            trailers.insert("grpc-message", value);
        }
    }
    trailers
}

/// The response of one call and the writer that fills it.
pub(crate) fn response() -> (http::Response<AnswerBody>, MessageWriter) {
    let (writer, body) = channel();
    let response = http::Response::builder()
        .header(http::header::CONTENT_TYPE, "application/grpc")
        .body(body)
        .expect("a fixed, valid response");
    (response, writer)
}

/// A body and the writer of its messages.
pub(crate) fn channel() -> (MessageWriter, AnswerBody) {
    let (frames, receiver) = mpsc::channel(QUEUED_FRAMES);
    (MessageWriter { frames }, AnswerBody { frames: receiver })
}

/// The body of a call's answer (or, in tests, of a call): what its `MessageWriter` sends, as
/// it comes.
pub(crate) struct AnswerBody {
    frames: mpsc::Receiver<Frame<Bytes>>,
}

impl http_body::Body for AnswerBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.get_mut().frames.poll_recv(cx).map(|frame| frame.map(Ok))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, PartialEq, prost::Message)]
    struct Text {
        #[prost(string, tag = "1")]
        text: String,
    }

    #[test]
    fn messages_are_framed_and_split_back_whole() {
        let one = frame_message(&Text { text: "hello".into() });
        assert_eq!(&one[..5], &[0, 0, 0, 0, 7]);
        let mut buffer = BytesMut::new();
        buffer.extend_from_slice(&one[..3]);
        assert_eq!(split_message(&mut buffer), Ok(None));
        buffer.extend_from_slice(&one[3..]);
        buffer.extend_from_slice(&frame_message(&Text::default()));
        let first = split_message(&mut buffer).unwrap().unwrap();
        assert_eq!(<Text as prost::Message>::decode(first).unwrap().text, "hello");
        assert_eq!(split_message(&mut buffer).unwrap().unwrap().len(), 0);
        assert!(buffer.is_empty());
    }

    #[test]
    fn compressed_and_oversized_messages_are_refused() {
        let mut compressed = BytesMut::from(&[1u8, 0, 0, 0, 0][..]);
        assert_eq!(split_message(&mut compressed).unwrap_err().code, Code::Unimplemented);
        let mut huge = BytesMut::from(&[0u8, 0x7f, 0, 0, 0][..]);
        let error = split_message(&mut huge).unwrap_err();
        assert!(error.message.contains("more than"), "{error}");
    }

    #[test]
    fn the_status_travels_in_trailers_with_its_message_encoded() {
        let ok = trailers(&Ok(()));
        assert_eq!(ok["grpc-status"], "0");
        assert!(ok.get("grpc-message").is_none());
        let failed = trailers(&Err(Status::new(Code::NotFound, "secret \"tökén\" 100%\nnot found")));
        assert_eq!(failed["grpc-status"], "5");
        assert_eq!(failed["grpc-message"], "secret \"t%C3%B6k%C3%A9n\" 100%25%0Anot found");
    }
}
