//! The daemon's streaming bodies, decoded incrementally in bounded memory and robust to chunks
//! split at any byte: JSON object streams, container output, and raw byte streams.

use std::io;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::LazyLock;
use std::task::{ready, Context, Poll};

use bytes::{Buf, Bytes, BytesMut};
use futures_util::Stream;
use serde::de::DeserializeOwned;

use crate::decoding::{decode_into, DecodeInPlace};
use crate::error::{byte_offset, decode, snippet, Error, Result};
use crate::http::observe::Completion;
use crate::http::ByteSource;

fn transport_error(operation: &'static str, error: io::Error) -> Error {
    if error.kind() == io::ErrorKind::UnexpectedEof {
        return Error::Truncated {
            operation,
            message: format!("the connection closed before the body ended ({error})"),
        };
    }
    Error::Transport {
        operation,
        message: error.to_string(),
    }
}

/// A raw byte stream (export, image save, archive download).
pub struct ByteStream {
    source: ByteSource,
    operation: &'static str,
    completion: Completion,
}

impl ByteStream {
    pub(crate) fn new(source: ByteSource, operation: &'static str) -> Self {
        ByteStream {
            source,
            operation,
            completion: Completion::default(),
        }
    }

    pub(crate) fn with_completion(mut self, completion: Completion) -> Self {
        self.completion = completion;
        self
    }

    /// The stream as an `AsyncRead`, for `tokio::io::copy` and tar readers.
    pub fn into_async_read(self) -> impl tokio::io::AsyncRead + Send + Unpin {
        let mut stream = self;
        // Read through `poll_next` so that the end of the body is observed like any stream's.
        let chunks = futures_util::stream::poll_fn(move |cx| {
            let operation = stream.operation;
            let item = ready!(Pin::new(&mut stream).poll_next(cx));
            Poll::Ready(item.map(|chunk| chunk.map_err(|e| io::Error::other(format!("{operation}: {e}")))))
        });
        tokio_util::io::StreamReader::new(chunks)
    }

    /// Reads the whole stream into memory.
    pub async fn read_all(mut self) -> Result<Vec<u8>> {
        use futures_util::StreamExt;
        let mut all = Vec::new();
        while let Some(chunk) = self.next().await {
            all.extend_from_slice(&chunk?);
        }
        Ok(all)
    }
}

impl std::fmt::Debug for ByteStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ByteStream")
            .field("operation", &self.operation)
            .finish_non_exhaustive()
    }
}

impl Stream for ByteStream {
    type Item = Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let operation = self.operation;
        let item = ready!(self.source.as_mut().poll_next(cx)).map(|r| r.map_err(|e| transport_error(operation, e)));
        self.completion.observe(&item);
        Poll::Ready(item)
    }
}

/// Bytes received and not yet decoded. Messages usually arrive whole, one or more to a chunk, and
/// are decoded straight out of the chunk; only the start of a message that continues in the next
/// chunk is copied, into a buffer the rest is appended to. (Copying every chunk cost a tenth of
/// the time of decoding an event stream.)
#[derive(Default)]
struct Unread {
    chunk: Bytes,
    /// Used only while a message spans chunks; then `chunk` is empty.
    buffer: BytesMut,
}

impl Unread {
    fn as_slice(&self) -> &[u8] {
        if self.buffer.is_empty() {
            &self.chunk
        } else {
            &self.buffer
        }
    }

    fn len(&self) -> usize {
        self.as_slice().len()
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn push(&mut self, chunk: Bytes) {
        if self.is_empty() {
            self.chunk = chunk;
            return;
        }
        self.spill();
        self.buffer.extend_from_slice(&chunk);
    }

    /// Moves what is left of the chunk into the buffer.
    fn spill(&mut self) {
        if !self.chunk.is_empty() {
            self.buffer.extend_from_slice(&self.chunk);
            self.chunk = Bytes::new();
        }
    }

    fn advance(&mut self, count: usize) {
        if self.buffer.is_empty() {
            self.chunk.advance(count);
        } else {
            self.buffer.advance(count);
        }
    }

    /// The next `count` bytes, without copying them.
    fn take(&mut self, count: usize) -> Bytes {
        if self.buffer.is_empty() {
            self.chunk.split_to(count)
        } else {
            self.buffer.split_to(count).freeze()
        }
    }

    /// Room for `additional` more bytes of a message that has begun.
    fn reserve(&mut self, additional: usize) {
        self.spill();
        self.buffer.reserve(additional);
    }
}

/// One JSON object after another, separated by newlines, `\r\n`, record separators or
/// nothing at all, each decoded into `T`.
///
/// An object that is valid JSON but does not fit `T` is an error for that item, and the stream
/// goes on. Broken JSON, or a body that ends inside an object, ends the stream with an error.
/// An object carrying `error`/`errorDetail` (a failed pull or build) is reported as
/// [`Error::Stream`].
pub struct JsonStream<T> {
    source: ByteSource,
    unread: Unread,
    operation: &'static str,
    /// The source has no more chunks.
    body_ended: bool,
    finished: bool,
    /// The scan of an object that has begun and not ended yet.
    partial: Option<PartialObject>,
    completion: Completion,
    item: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for JsonStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonStream")
            .field("operation", &self.operation)
            .field("buffered", &self.unread.len())
            .finish()
    }
}

impl<T: DeserializeOwned> JsonStream<T> {
    /// Decodes a JSON object stream from any source of chunks, e.g. a saved `docker events`
    /// capture; `operation` names the source in errors.
    pub fn from_chunks<S>(chunks: S, operation: &'static str) -> Self
    where
        S: Stream<Item = io::Result<Bytes>> + Send + 'static,
    {
        Self::new(Box::pin(chunks), operation)
    }

    pub(crate) fn new(source: ByteSource, operation: &'static str) -> Self {
        JsonStream {
            source,
            unread: Unread::default(),
            operation,
            body_ended: false,
            finished: false,
            partial: None,
            completion: Completion::default(),
            item: PhantomData,
        }
    }

    pub(crate) fn with_completion(mut self, completion: Completion) -> Self {
        self.completion = completion;
        self
    }
}

impl<T> JsonStream<T> {
    /// The next complete object received, if one is there.
    fn next_buffered<D: Decoder<T>>(&mut self, decoder: &mut D) -> Option<Result<D::Output>> {
        let unread = self.unread.as_slice();
        let Some(start) = unread
            .iter()
            .position(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n' | 0x1e))
        else {
            self.unread.advance(unread.len());
            return None;
        };
        self.unread.advance(start);
        let unread = self.unread.as_slice();
        // The common case in one pass: a complete object of the expected type.
        if self.partial.is_none() {
            if let Some((item, end)) = first_line_item(unread, decoder) {
                return Some(self.deliver(Ok(item), end));
            }
        }
        // A large object that spans chunks has its end found by a scan that resumes where the last
        // chunk's left off; serde_json would read it from the start again with every chunk,
        // quadratic in its size (a 16 MiB message in 8 KiB chunks took 2.8 s).
        let end = if unread.len() >= LARGE && matches!(unread[0], b'{' | b'[') {
            self.partial.get_or_insert_with(PartialObject::default).find_end(unread)
        } else {
            ObjectEnd::NotScanned
        };
        if let ObjectEnd::At(end) = end {
            if let Some((item, _)) = leading_item(&unread[..end], decoder) {
                return Some(self.deliver(Ok(item), end));
            }
        }
        // Read it with serde_json, to report what is wrong or learn whether it is broken before it
        // ends (then the daemon may never end it).
        let scope = match end {
            ObjectEnd::At(end) => &unread[..end],
            ObjectEnd::NotYet if !self.partial.as_mut().is_some_and(|p| p.due_for_check(unread.len())) => return None,
            ObjectEnd::NotYet | ObjectEnd::NotScanned | ObjectEnd::Broken => unread,
        };
        let mut values = serde_json::Deserializer::from_slice(scope).into_iter::<serde::de::IgnoredAny>();
        match values.next() {
            Some(Ok(_)) => {
                let end = values.byte_offset();
                // A number or `true`/`false`/`null` that runs to the end of the bytes received
                // may go on in the next chunk: "12" may be "123", and "nullx" is broken.
                let self_delimited = matches!(scope[0], b'{' | b'[' | b'"');
                if end == scope.len() && !self_delimited && !self.body_ended {
                    return None;
                }
                let result = decoder.whole(self.operation, &scope[..end]);
                Some(self.deliver(result, end))
            }
            // serde_json calls some cuts errors rather than an early end ("-" or "1." for a
            // number that goes on): an error at the last byte received may be a cut too.
            Some(Err(e))
                if !matches!(end, ObjectEnd::At(_))
                    && (e.is_eof() || !self.body_ended && byte_offset(scope, e.line(), e.column()) >= scope.len()) =>
            {
                None
            }
            Some(Err(e)) => {
                self.finished = true;
                Some(Err(Error::Decode {
                    operation: self.operation,
                    type_name: std::any::type_name::<T>(),
                    path: ".".into(),
                    message: format!("broken JSON in stream: {e}"),
                    snippet: snippet(scope),
                }))
            }
            None => None,
        }
    }

    /// Hands out the object in the first `end` unread bytes, decoded as `decoded`, unless it is
    /// the daemon's report of a failure.
    fn deliver<O>(&mut self, decoded: Result<O>, end: usize) -> Result<O> {
        let result = match self.stream_error(&self.unread.as_slice()[..end]) {
            Some(error) => Err(error),
            None => decoded,
        };
        self.unread.advance(end);
        self.partial = None;
        result
    }

    /// The daemon's way of failing after a 200: `{"error": ..., "errorDetail": {"message": ...}}`.
    fn stream_error(&self, object: &[u8]) -> Option<Error> {
        #[derive(serde::Deserialize)]
        struct Failure {
            error: Option<String>,
            #[serde(rename = "errorDetail")]
            error_detail: Option<Detail>,
        }
        #[derive(serde::Deserialize)]
        struct Detail {
            message: Option<String>,
        }
        static ERROR_KEY: LazyLock<memchr::memmem::Finder<'static>> =
            LazyLock::new(|| memchr::memmem::Finder::new(b"\"error"));
        ERROR_KEY.find(object)?;
        // An object only: serde would read an array's elements as the fields in order.
        if object.trim_ascii_start().first() != Some(&b'{') {
            return None;
        }
        let failure = serde_json::from_slice::<Failure>(object).ok()?;
        let message = failure.error_detail.and_then(|d| d.message).or(failure.error)?;
        Some(Error::Stream {
            operation: self.operation,
            message,
        })
    }
}

/// The object on the first line of `unread` and where it ends, when the line holds one whole
/// object of type `T`: how the daemon sends its streams. A raw newline cannot stand inside a JSON
/// string, so the line holds the object unless the object is spread over several lines, which
/// the caller's general path reads. The line's UTF-8 is checked at once, with SIMD, rather than
/// string by string as serde_json checks bytes.
fn first_line_item<T, D: Decoder<T>>(unread: &[u8], decoder: &mut D) -> Option<(D::Output, usize)> {
    leading_item(&unread[..memchr::memchr(b'\n', unread)?], decoder)
}

/// The object `bytes` begin with, of type `T`, and where it ends.
fn leading_item<T, D: Decoder<T>>(bytes: &[u8], decoder: &mut D) -> Option<(D::Output, usize)> {
    decoder.leading(simdutf8::basic::from_utf8(bytes).ok()?)
}

/// How a JSON stream's objects are decoded: each into a new value ([`Anew`]), or into the value
/// the caller holds ([`InPlace`]).
trait Decoder<T> {
    type Output;

    /// The object `text` begins with and where it ends, when it is one of type `T`.
    fn leading(&mut self, text: &str) -> Option<(Self::Output, usize)>;

    /// The object that is all of `bytes`, or the error naming what in it is not a `T`.
    fn whole(&mut self, operation: &'static str, bytes: &[u8]) -> Result<Self::Output>;
}

struct Anew;

impl<T: DeserializeOwned> Decoder<T> for Anew {
    type Output = T;

    fn leading(&mut self, text: &str) -> Option<(T, usize)> {
        let mut typed = serde_json::Deserializer::from_str(text).into_iter::<T>();
        let item = typed.next()?.ok()?;
        Some((item, typed.byte_offset()))
    }

    fn whole(&mut self, operation: &'static str, bytes: &[u8]) -> Result<T> {
        decode(operation, bytes)
    }
}

struct InPlace<'a, T>(&'a mut T);

impl<T: for<'de> DecodeInPlace<'de>> Decoder<T> for InPlace<'_, T> {
    type Output = ();

    /// Only a text that is the object alone, around white space: what decoding into the held
    /// value reads is not told apart from what follows it.
    fn leading(&mut self, text: &str) -> Option<((), usize)> {
        let mut deserializer = serde_json::Deserializer::from_str(text);
        T::decode_in_place(&mut deserializer, self.0).ok()?;
        deserializer.end().ok()?;
        Some(((), text.len()))
    }

    fn whole(&mut self, operation: &'static str, bytes: &[u8]) -> Result<()> {
        decode_into(operation, bytes, self.0)
    }
}

/// Objects received up to this size are read whole by serde_json with each chunk until they
/// end: cheapest for the daemon's messages, which are far smaller, and broken JSON is reported
/// as soon as it arrives. Larger ones are scanned for their end as they arrive, and read by
/// serde_json only each time they have doubled, so that reading stays linear in their size.
const LARGE: usize = 64 * 1024;

/// An object (or array) whose end has not arrived yet: how far it has been scanned, and the
/// scan's state there.
#[derive(Default)]
struct PartialObject {
    scanned: usize,
    depth: usize,
    in_string: bool,
    escaped: bool,
    /// How much of it serde_json last read.
    checked: usize,
}

enum ObjectEnd {
    /// Just after the object's closing bracket.
    At(usize),
    NotYet,
    /// Not JSON: a raw control character in a string, or a closing bracket too many.
    Broken,
    /// Not scanned: small, or not an object or array; serde_json reads it.
    NotScanned,
}

impl PartialObject {
    /// Finds where the object that `received` begins with ends, reading only what is new since
    /// the last call. Brackets are only counted, not matched: serde_json reads the whole object
    /// once it ends, and reports a mismatch then.
    fn find_end(&mut self, received: &[u8]) -> ObjectEnd {
        for (offset, &byte) in received.iter().enumerate().skip(self.scanned) {
            if self.in_string {
                match byte {
                    _ if self.escaped => self.escaped = false,
                    b'\\' => self.escaped = true,
                    b'"' => self.in_string = false,
                    0..=0x1f => return ObjectEnd::Broken,
                    _ => {}
                }
                continue;
            }
            match byte {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' => {
                    let Some(depth) = self.depth.checked_sub(1) else {
                        return ObjectEnd::Broken;
                    };
                    self.depth = depth;
                    if depth == 0 {
                        return ObjectEnd::At(offset + 1);
                    }
                }
                _ => {}
            }
        }
        self.scanned = received.len();
        ObjectEnd::NotYet
    }

    /// Whether serde_json should read the `received` bytes of the unfinished object now: the first
    /// time, and each time it has doubled since.
    fn due_for_check(&mut self, received: usize) -> bool {
        let due = received >= 2 * self.checked;
        if due {
            self.checked = received;
        }
        due
    }
}

impl<T: DeserializeOwned> Stream for JsonStream<T> {
    type Item = Result<T>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let item = ready!(this.poll_item(cx, &mut Anew));
        this.completion.observe(&item);
        Poll::Ready(item)
    }
}

impl<T: for<'de> DecodeInPlace<'de>> JsonStream<T> {
    /// Decodes the next object into `place`, keeping what `place` allocated for the last one
    /// (its strings' buffers, its lists' elements, its maps' keys and values; see
    /// [`DecodeInPlace`]): for a program that handles one message at a time, the messages of a
    /// stream cost no allocation but what grew. `None` at the end of the stream. `place` ends up
    /// as the item `next()` would have given; after an error, what it holds is unspecified.
    ///
    /// ```no_run
    /// # async fn watch(mut events: docker_engine_runtime::JsonStream<std::collections::HashMap<String, String>>) -> docker_engine_runtime::Result<()> {
    /// let mut event = Default::default();
    /// while let Some(decoded) = events.next_into(&mut event).await {
    ///     decoded?;
    ///     println!("{event:?}");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn next_into(&mut self, place: &mut T) -> Option<Result<()>> {
        std::future::poll_fn(|cx| self.poll_next_into(cx, place)).await
    }

    /// [`next_into`](Self::next_into) as a poll.
    pub fn poll_next_into(&mut self, cx: &mut Context<'_>, place: &mut T) -> Poll<Option<Result<()>>> {
        let item = ready!(self.poll_item(cx, &mut InPlace(place)));
        self.completion.observe(&item);
        Poll::Ready(item)
    }
}

impl<T> JsonStream<T> {
    fn poll_item<D: Decoder<T>>(&mut self, cx: &mut Context<'_>, decoder: &mut D) -> Poll<Option<Result<D::Output>>> {
        let this = self;
        loop {
            if this.finished {
                return Poll::Ready(None);
            }
            if let Some(item) = this.next_buffered(decoder) {
                return Poll::Ready(Some(item));
            }
            if this.body_ended {
                this.finished = true;
                let unread = this.unread.as_slice();
                if unread.iter().all(u8::is_ascii_whitespace) {
                    return Poll::Ready(None);
                }
                let message = format!("body ended inside a JSON object: {}", snippet(unread));
                return Poll::Ready(Some(Err(Error::Truncated {
                    operation: this.operation,
                    message,
                })));
            }
            match ready!(this.source.as_mut().poll_next(cx)) {
                Some(Ok(chunk)) => this.unread.push(chunk),
                Some(Err(e)) => {
                    this.finished = true;
                    return Poll::Ready(Some(Err(transport_error(this.operation, e))));
                }
                // What is left is read once more: a number at the very end is complete now.
                None => this.body_ended = true,
            }
        }
    }
}

/// One piece of container output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    StdIn(Bytes),
    StdOut(Bytes),
    StdErr(Bytes),
    /// Output of a container with a TTY, where stdout and stderr are one stream.
    Console(Bytes),
}

impl Output {
    pub fn bytes(&self) -> &Bytes {
        match self {
            Output::StdIn(b) | Output::StdOut(b) | Output::StdErr(b) | Output::Console(b) => b,
        }
    }

    /// The bytes, whichever stream they came on.
    pub fn into_bytes(self) -> Bytes {
        match self {
            Output::StdIn(b) | Output::StdOut(b) | Output::StdErr(b) | Output::Console(b) => b,
        }
    }
}

/// The bytes as text, a sequence that is not UTF-8 shown as U+FFFD (a frame may end inside a
/// character, whose two halves then show as two).
impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(&String::from_utf8_lossy(self.bytes()))
    }
}

/// How container output is laid out on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// Frames of stdin, stdout and stderr, each behind an 8-byte header: the stream's number
    /// (0, 1 or 2), three zero bytes and the payload's length.
    Multiplexed,
    /// A TTY's bytes, stdout and stderr as one stream, passed on as they arrive.
    Raw,
    /// Not known yet: the first bytes tell. Before API 1.42 a daemon sends both layouts under
    /// one Content-Type; a frame starts with 0, 1 or 2 and three zero bytes, which a TTY's output
    /// does not in practice (it would need to print NUL bytes first).
    Detect,
}

impl Framing {
    /// What `first` (the first bytes of the stream, however few) tells: `Detect` while they could
    /// still begin a frame header and are fewer than its first four bytes.
    fn read_from(first: &[u8]) -> Framing {
        let header_start = first
            .iter()
            .take(4)
            .enumerate()
            .all(|(index, &byte)| if index == 0 { byte <= 2 } else { byte == 0 });
        match (header_start, first.len() >= 4) {
            (false, _) => Framing::Raw,
            (true, true) => Framing::Multiplexed,
            (true, false) => Framing::Detect,
        }
    }
}

/// Container output (logs, attach, exec): multiplexed frames, or raw TTY bytes passed on as
/// they arrive, as the [`Framing`] says or the first bytes show.
pub struct OutputStream {
    source: ByteSource,
    unread: Unread,
    framing: Framing,
    operation: &'static str,
    finished: bool,
    /// The error to report once the partial frame before it has been delivered.
    pending_error: Option<Error>,
    completion: Completion,
}

impl std::fmt::Debug for OutputStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutputStream")
            .field("operation", &self.operation)
            .field("framing", &self.framing)
            .finish_non_exhaustive()
    }
}

const FRAME_HEADER: usize = 8;
/// The most buffer reserved ahead for one frame; the daemon's frames are 32 KiB at most.
const MAX_FRAME_RESERVE: usize = 64 * 1024;

impl OutputStream {
    /// Decodes container output from any source of chunks, e.g. a saved log capture, laid out
    /// as `framing` says (`Framing::Detect` reads it from the first bytes).
    pub fn from_chunks<S>(chunks: S, framing: Framing, operation: &'static str) -> Self
    where
        S: Stream<Item = io::Result<Bytes>> + Send + 'static,
    {
        Self::new(Box::pin(chunks), framing, operation)
    }

    pub(crate) fn new(source: ByteSource, framing: Framing, operation: &'static str) -> Self {
        OutputStream {
            source,
            unread: Unread::default(),
            framing,
            operation,
            finished: false,
            pending_error: None,
            completion: Completion::default(),
        }
    }

    pub(crate) fn with_completion(mut self, completion: Completion) -> Self {
        self.completion = completion;
        self
    }

    /// The output's layout: `Framing::Detect` until the first bytes have shown it.
    pub fn framing(&self) -> Framing {
        self.framing
    }

    /// Reads everything, returning stdout (or console output) and stderr.
    pub async fn read_all(mut self) -> Result<(Vec<u8>, Vec<u8>)> {
        use futures_util::StreamExt;
        let (mut out, mut err) = (Vec::new(), Vec::new());
        while let Some(piece) = self.next().await {
            match piece? {
                Output::StdErr(bytes) => err.extend_from_slice(&bytes),
                other => out.extend_from_slice(other.bytes()),
            }
        }
        Ok((out, err))
    }

    fn next_frame(&mut self) -> Option<Result<Output>> {
        let unread = self.unread.as_slice();
        if unread.len() < FRAME_HEADER {
            return None;
        }
        let kind = unread[0];
        let length = u32::from_be_bytes([unread[4], unread[5], unread[6], unread[7]]) as usize;
        if unread.len() < FRAME_HEADER + length {
            // The length comes off the wire: memory grows with the bytes that arrive, never with
            // what a header claims (a corrupt one may claim 4 GiB).
            let missing = FRAME_HEADER + length - unread.len();
            self.unread.reserve(missing.min(MAX_FRAME_RESERVE));
            return None;
        }
        self.unread.advance(FRAME_HEADER);
        let payload = self.unread.take(length);
        Some(match kind {
            0 => Ok(Output::StdIn(payload)),
            1 => Ok(Output::StdOut(payload)),
            2 => Ok(Output::StdErr(payload)),
            3 => {
                self.finished = true;
                let message = String::from_utf8_lossy(&payload).trim().to_owned();
                Err(Error::Stream {
                    operation: self.operation,
                    message,
                })
            }
            other => {
                self.finished = true;
                let message = format!("unknown stream type {other} in a multiplexed frame header");
                Err(Error::Stream {
                    operation: self.operation,
                    message,
                })
            }
        })
    }
}

impl OutputStream {
    /// Ends the stream with `error`, first delivering the payload of a frame cut short (or the
    /// few bytes that did not show the layout yet) so that no byte that arrived is lost.
    fn fail(&mut self, error: Error) -> Poll<Option<Result<Output>>> {
        self.finished = true;
        if self.framing != Framing::Multiplexed && !self.unread.is_empty() {
            self.pending_error = Some(error);
            let bytes = self.unread.take(self.unread.len());
            return Poll::Ready(Some(Ok(Output::Console(bytes))));
        }
        let partial = (self.unread.len() > FRAME_HEADER)
            .then(|| {
                let kind = self.unread.as_slice()[0];
                self.unread.advance(FRAME_HEADER);
                let payload = self.unread.take(self.unread.len());
                match kind {
                    0 => Some(Output::StdIn(payload)),
                    1 => Some(Output::StdOut(payload)),
                    2 => Some(Output::StdErr(payload)),
                    _ => None,
                }
            })
            .flatten();
        match partial {
            Some(output) => {
                self.pending_error = Some(error);
                Poll::Ready(Some(Ok(output)))
            }
            None => Poll::Ready(Some(Err(error))),
        }
    }
}

impl Stream for OutputStream {
    type Item = Result<Output>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let item = ready!(this.poll_item(cx));
        this.completion.observe(&item);
        Poll::Ready(item)
    }
}

impl OutputStream {
    fn poll_item(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Output>>> {
        let this = self;
        loop {
            if this.finished {
                return Poll::Ready(this.pending_error.take().map(Err));
            }
            match this.framing {
                Framing::Multiplexed => {
                    if let Some(frame) = this.next_frame() {
                        return Poll::Ready(Some(frame));
                    }
                }
                Framing::Raw if !this.unread.is_empty() => {
                    let bytes = this.unread.take(this.unread.len());
                    return Poll::Ready(Some(Ok(Output::Console(bytes))));
                }
                Framing::Raw => {}
                Framing::Detect => {
                    this.framing = Framing::read_from(this.unread.as_slice());
                    if this.framing != Framing::Detect {
                        continue;
                    }
                }
            }
            match ready!(this.source.as_mut().poll_next(cx)) {
                Some(Ok(chunk)) if this.framing == Framing::Raw => {
                    return Poll::Ready(Some(Ok(Output::Console(chunk))))
                }
                Some(Ok(chunk)) => this.unread.push(chunk),
                Some(Err(e)) => {
                    let error = transport_error(this.operation, e);
                    return this.fail(error);
                }
                // Fewer than four bytes in all, each as a frame header begins: no frame fits in
                // them, so they are a TTY's.
                None if this.framing == Framing::Detect && !this.unread.is_empty() => {
                    this.framing = Framing::Raw;
                    this.finished = true;
                    let bytes = this.unread.take(this.unread.len());
                    return Poll::Ready(Some(Ok(Output::Console(bytes))));
                }
                None => {
                    if this.unread.is_empty() {
                        this.finished = true;
                        return Poll::Ready(None);
                    }
                    let message = format!("body ended inside a frame ({} bytes left over)", this.unread.len());
                    let error = Error::Truncated {
                        operation: this.operation,
                        message,
                    };
                    return this.fail(error);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    fn chunks(parts: Vec<Vec<u8>>) -> ByteSource {
        Box::pin(futures_util::stream::iter(
            parts.into_iter().map(|p| Ok(Bytes::from(p))),
        ))
    }

    /// Every way of cutting `bytes` in two, plus one byte at a time.
    fn splits(bytes: &[u8]) -> Vec<Vec<Vec<u8>>> {
        let mut all: Vec<Vec<Vec<u8>>> = (0..=bytes.len())
            .map(|i| vec![bytes[..i].to_vec(), bytes[i..].to_vec()])
            .collect();
        all.push(bytes.iter().map(|b| vec![*b]).collect());
        all
    }

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }

    #[derive(Debug, PartialEq, serde::Deserialize)]
    struct Progress {
        status: Option<String>,
        id: Option<u32>,
    }

    #[test]
    fn json_stream_decodes_at_every_split_point() {
        // Brackets, quotes and backslashes inside strings must not end an object early.
        let body = b"{\"status\":\"a\"}\r\n{\"status\":\"b\",\"id\":7}{\"status\":\"c\"}\n\x1e{\"id\":1}\n\
                     {\"status\":\"}\\\"{[\\\\\"}{\"id\":9}";
        for parts in splits(body) {
            let items: Vec<_> = block_on(JsonStream::<Progress>::new(chunks(parts), "t").collect::<Vec<_>>());
            let items: Vec<Progress> = items.into_iter().map(|i| i.unwrap()).collect();
            assert_eq!(items.len(), 6);
            assert_eq!(items[4].status.as_deref(), Some("}\"{[\\"));
            assert_eq!(items[5].id, Some(9));
            assert_eq!(
                items[1],
                Progress {
                    status: Some("b".into()),
                    id: Some(7)
                }
            );
        }
    }

    #[test]
    fn json_stream_numbers_and_literals_split_between_chunks_are_read_whole() {
        // Found by the json_stream fuzz target: "12" cut after "1" was decoded as 1, then 2; an
        // object cut just after the "-" of a number was called broken; "nullx" cut after "null"
        // gave a null before the error.
        for parts in splits(b"12 -3.5e2\n7 {\"id\":-1} true") {
            let items = block_on(JsonStream::<serde_json::Value>::new(chunks(parts), "t").collect::<Vec<_>>());
            let items: Vec<_> = items.into_iter().map(|item| item.unwrap()).collect();
            let expected = [
                12.into(),
                (-350.0).into(),
                7.into(),
                serde_json::json!({"id": -1}),
                true.into(),
            ];
            assert_eq!(items, expected);
        }
        for parts in splits(b"nullx") {
            let items = block_on(JsonStream::<serde_json::Value>::new(chunks(parts), "t").collect::<Vec<_>>());
            assert_eq!(items.len(), 1);
            assert!(items[0].as_ref().unwrap_err().to_string().contains("broken JSON"));
        }
    }

    #[test]
    fn json_stream_decoded_into_a_held_value_gives_what_next_gives_at_every_split_point() {
        type Message = std::collections::HashMap<String, Vec<String>>;
        let large = format!("{{\"big\":[\"{}\",\"x\"]}}\n", "y".repeat(LARGE));
        let body = [
            "{\"a\":[\"1\",\"2\"],\"b\":[]}\n{\"a\":[\"3\"]}{\"c\":[\"4\"]}\n{\n \"a\": [\"5\"]\n}\n",
            "{\"a\":1}\n{\"error\":\"x\",\"errorDetail\":{\"message\":\"failed\"}}\n",
            &large,
            "{\"a\":[\"6\"]}\n{\"a\":[\"7\"",
        ]
        .concat();
        let cuts: Vec<Vec<Vec<u8>>> = (0..body.len())
            .step_by(7)
            .map(|i| vec![body.as_bytes()[..i].to_vec(), body.as_bytes()[i..].to_vec()])
            .collect();
        for parts in cuts {
            let expected = block_on(JsonStream::<Message>::new(chunks(parts.clone()), "t").collect::<Vec<_>>());
            let mut stream = JsonStream::<Message>::new(chunks(parts), "t");
            let mut held = Message::default();
            let mut items = Vec::new();
            while let Some(decoded) = block_on(stream.next_into(&mut held)) {
                items.push(decoded.map(|()| held.clone()));
            }
            let described = |items: &[Result<Message>]| -> Vec<String> {
                items
                    .iter()
                    .map(|item| match item {
                        Ok(message) => format!("{:?}", message.iter().collect::<std::collections::BTreeMap<_, _>>()),
                        Err(error) => error.to_string(),
                    })
                    .collect()
            };
            assert!(described(&items) == described(&expected), "next_into differs from next");
            assert_eq!(items.len(), 9);
        }
    }

    #[test]
    fn json_stream_item_that_does_not_fit_is_an_error_and_the_stream_goes_on() {
        let body = b"{\"id\":\"not a number\"}\n{\"id\":2}\n".to_vec();
        let items = block_on(JsonStream::<Progress>::new(chunks(vec![body]), "t").collect::<Vec<_>>());
        assert_eq!(items.len(), 2);
        let error = items[0].as_ref().unwrap_err().to_string();
        assert!(error.contains("`id`"), "{error}");
        assert_eq!(items[1].as_ref().unwrap().id, Some(2));
    }

    #[test]
    fn json_stream_reads_objects_over_several_lines_and_utf8_split_anywhere() {
        let body = "{\n  \"status\": \"d\u{e9}j\u{e0} vu \u{1f433}\"\n}\n{\"status\":\"b\"}\n\
                    {\"error\":\"x\",\"errorDetail\":{\"message\":\"no space\"}}\n{\"id\":2}\n";
        for parts in splits(body.as_bytes()) {
            let items = block_on(JsonStream::<Progress>::new(chunks(parts), "t").collect::<Vec<_>>());
            assert_eq!(items.len(), 4);
            assert_eq!(
                items[0].as_ref().unwrap().status.as_deref(),
                Some("d\u{e9}j\u{e0} vu \u{1f433}")
            );
            assert_eq!(items[1].as_ref().unwrap().status.as_deref(), Some("b"));
            assert!(matches!(&items[2], Err(Error::Stream { message, .. }) if message == "no space"));
            assert_eq!(items[3].as_ref().unwrap().id, Some(2));
        }
    }

    #[test]
    fn json_stream_item_that_is_not_utf8_is_an_error_and_the_stream_goes_on() {
        let body = b"{\"status\":\"a\"}\n{\"status\":\"\xff\"}\n{\"id\":1}\n".to_vec();
        let items = block_on(JsonStream::<Progress>::new(chunks(vec![body]), "t").collect::<Vec<_>>());
        assert_eq!(items.len(), 3);
        assert_eq!(items[0].as_ref().unwrap().status.as_deref(), Some("a"));
        assert!(matches!(&items[1], Err(Error::Decode { .. })), "{:?}", items[1]);
        assert_eq!(items[2].as_ref().unwrap().id, Some(1));
    }

    #[test]
    fn json_stream_reports_errors_truncation_and_broken_json() {
        let failed = b"{\"errorDetail\":{\"message\":\"no space\"},\"error\":\"no space\"}".to_vec();
        let items = block_on(JsonStream::<Progress>::new(chunks(vec![failed]), "t").collect::<Vec<_>>());
        assert!(matches!(&items[0], Err(Error::Stream { message, .. }) if message == "no space"));
        let array = b"[\"\\\"error\", null]".to_vec();
        let items = block_on(JsonStream::<serde_json::Value>::new(chunks(vec![array]), "t").collect::<Vec<_>>());
        assert!(matches!(&items[0], Ok(serde_json::Value::Array(_))), "{items:?}");

        let truncated = b"{\"status\":\"a\"}\n{\"stat".to_vec();
        let items = block_on(JsonStream::<Progress>::new(chunks(vec![truncated]), "t").collect::<Vec<_>>());
        assert_eq!(items.len(), 2);
        assert!(matches!(items[1], Err(Error::Truncated { .. })));

        let broken = b"{\"status\":\"a\"}\n{]\n{\"id\":3}".to_vec();
        let items = block_on(JsonStream::<Progress>::new(chunks(vec![broken]), "t").collect::<Vec<_>>());
        assert_eq!(items.len(), 2, "broken JSON ends the stream");
        assert!(items[1].as_ref().unwrap_err().to_string().contains("broken JSON"));
    }

    fn frame(kind: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![kind, 0, 0, 0];
        out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        out.extend_from_slice(payload);
        out
    }

    #[test]
    fn multiplexed_output_decodes_at_every_split_point() {
        let body = [
            frame(1, b"hello "),
            frame(2, b"oops"),
            frame(1, b""),
            frame(1, b"world"),
        ]
        .concat();
        for parts in splits(&body) {
            let pieces = block_on(OutputStream::new(chunks(parts), Framing::Multiplexed, "t").collect::<Vec<_>>());
            let pieces: Vec<Output> = pieces.into_iter().map(|p| p.unwrap()).collect();
            let stdout: Vec<u8> = pieces
                .iter()
                .filter(|p| matches!(p, Output::StdOut(_)))
                .flat_map(|p| p.bytes().to_vec())
                .collect();
            assert_eq!(stdout, b"hello world");
            assert!(pieces.contains(&Output::StdErr(Bytes::from_static(b"oops"))));
        }
    }

    #[test]
    fn multiplexed_error_frames_and_truncation_are_errors() {
        let body = [frame(1, b"a"), frame(3, b"exec failed")].concat();
        let pieces = block_on(OutputStream::new(chunks(vec![body]), Framing::Multiplexed, "t").collect::<Vec<_>>());
        assert!(matches!(&pieces[1], Err(Error::Stream { message, .. }) if message == "exec failed"));
        let cut = frame(1, b"abcdef")[..10].to_vec();
        let pieces = block_on(OutputStream::new(chunks(vec![cut]), Framing::Multiplexed, "t").collect::<Vec<_>>());
        assert_eq!(pieces.len(), 2, "the bytes before the cut, then the error");
        assert_eq!(pieces[0].as_ref().unwrap(), &Output::StdOut(Bytes::from_static(b"ab")));
        assert!(matches!(pieces[1], Err(Error::Truncated { .. })));
        let cut_in_header = frame(1, b"abcdef")[..5].to_vec();
        let pieces =
            block_on(OutputStream::new(chunks(vec![cut_in_header]), Framing::Multiplexed, "t").collect::<Vec<_>>());
        assert!(matches!(pieces[..], [Err(Error::Truncated { .. })]), "{pieces:?}");
    }

    /// Found by the `output_stream` fuzz target: a header claiming a 4 GiB frame made the
    /// decoder reserve 4 GiB before a byte of it had arrived.
    #[test]
    fn a_frame_length_from_the_wire_reserves_no_more_than_arrives() {
        let mut header = vec![1, 0, 0, 0];
        header.extend_from_slice(&u32::MAX.to_be_bytes());
        let mut output = OutputStream::new(chunks(vec![header, b"start".to_vec()]), Framing::Multiplexed, "t");
        let pieces = block_on(async {
            let mut pieces = Vec::new();
            while let Some(piece) = output.next().await {
                assert!(
                    output.unread.buffer.capacity() <= 4 * MAX_FRAME_RESERVE,
                    "{}",
                    output.unread.buffer.capacity()
                );
                pieces.push(piece);
            }
            pieces
        });
        assert_eq!(
            pieces[0].as_ref().unwrap(),
            &Output::StdOut(Bytes::from_static(b"start"))
        );
        assert!(matches!(pieces[1], Err(Error::Truncated { .. })), "{pieces:?}");
    }

    #[test]
    fn output_shows_as_text_and_gives_its_bytes() {
        let line = Output::StdErr(Bytes::from_static(b"caf\xc3\xa9 \xff\n"));
        assert_eq!(line.to_string(), "caf\u{e9} \u{fffd}\n");
        assert_eq!(format!("{:>4}", Output::StdOut(Bytes::from_static(b"ok"))), "  ok");
        assert_eq!(line.into_bytes(), Bytes::from_static(b"caf\xc3\xa9 \xff\n"));
    }

    #[test]
    fn raw_output_is_passed_on_as_it_arrives() {
        let pieces = block_on(
            OutputStream::new(chunks(vec![b"$ ".to_vec(), b"ls\r\n".to_vec()]), Framing::Raw, "t").collect::<Vec<_>>(),
        );
        assert_eq!(pieces.len(), 2);
        assert_eq!(pieces[0].as_ref().unwrap(), &Output::Console(Bytes::from_static(b"$ ")));
    }

    /// Every piece of `stream`, which must end without an error.
    fn pieces_of(stream: OutputStream) -> Vec<Output> {
        block_on(stream.collect::<Vec<_>>())
            .into_iter()
            .map(|piece| piece.unwrap())
            .collect()
    }

    #[test]
    fn undeclared_output_is_read_as_frames_or_raw_by_its_first_bytes_at_every_split_point() {
        let framed = [frame(1, b"out"), frame(2, b"err"), frame(1, b"put")].concat();
        let expected = block_on(OutputStream::new(chunks(vec![framed.clone()]), Framing::Multiplexed, "t").read_all());
        for parts in splits(&framed) {
            let detected = block_on(OutputStream::new(chunks(parts), Framing::Detect, "t").read_all());
            assert_eq!(detected.unwrap(), *expected.as_ref().unwrap());
        }
        // A TTY's output, however short, and whatever control byte it starts with.
        for console in [
            &b"/ # ls\r\nbin  dev\r\n"[..],
            b"\x1b[?2004h",
            b"\x01\x00\x00",
            b"\x02",
            b"\x00\x00\x05\x00",
        ] {
            for parts in splits(console) {
                let pieces = pieces_of(OutputStream::new(chunks(parts), Framing::Detect, "t"));
                assert!(
                    pieces.iter().all(|piece| matches!(piece, Output::Console(_))),
                    "{pieces:?}"
                );
                let bytes: Vec<u8> = pieces.iter().flat_map(|piece| piece.bytes().to_vec()).collect();
                assert_eq!(bytes, console);
            }
        }
    }

    /// A shell's prompt arrives alone and the shell waits for input: the stream must pass it on,
    /// not wait for a frame header's worth of bytes.
    #[test]
    fn a_prompt_shorter_than_a_frame_header_is_passed_on_at_once() {
        use futures_util::FutureExt;
        let mut stream = OutputStream::new(chunks_then_silence(vec![b"# ".to_vec()]), Framing::Detect, "t");
        let first = stream
            .next()
            .now_or_never()
            .flatten()
            .expect("the prompt, without waiting");
        assert_eq!(first.unwrap(), Output::Console(Bytes::from_static(b"# ")));
        assert_eq!(stream.framing(), Framing::Raw);
        let mut framed = OutputStream::new(chunks_then_silence(vec![vec![1, 0, 0, 0]]), Framing::Detect, "t");
        assert!(
            framed.next().now_or_never().is_none(),
            "a frame header's start waits for its frame"
        );
        assert_eq!(framed.framing(), Framing::Multiplexed);
    }

    /// `parts`, then nothing more and no end: like a daemon that keeps a stream open.
    fn chunks_then_silence(parts: Vec<Vec<u8>>) -> ByteSource {
        let parts = futures_util::stream::iter(parts.into_iter().map(|p| Ok(Bytes::from(p))));
        Box::pin(parts.chain(futures_util::stream::pending()))
    }

    /// The items `stream` yields before it would wait for more input.
    fn ready_items<T: DeserializeOwned>(mut stream: JsonStream<T>) -> Vec<Result<T>> {
        use futures_util::FutureExt;
        std::iter::from_fn(|| stream.next().now_or_never().flatten()).collect()
    }

    #[test]
    fn json_stream_objects_larger_than_a_chunk_are_delivered_as_soon_as_they_end() {
        // Escaped quotes and brackets throughout, which must not end the object early.
        let escaped = "x\\\"}{".repeat(200_000);
        let large = "x\"}{".repeat(200_000);
        let body = format!("{{\"status\":\"{escaped}\"}}{{\"id\":2}}\n{{\"status\":\"{escaped}\"}}");
        let parts = body.as_bytes().chunks(4096).map(<[u8]>::to_vec).collect();
        let items = ready_items(JsonStream::<Progress>::new(chunks_then_silence(parts), "t"));
        assert_eq!(
            items.len(),
            3,
            "each object as it ends, with no separator or end of body after it"
        );
        assert_eq!(items[0].as_ref().unwrap().status.as_deref(), Some(large.as_str()));
        assert_eq!(items[1].as_ref().unwrap().id, Some(2));
        assert_eq!(items[2].as_ref().unwrap().status.as_deref(), Some(large.as_str()));
    }

    #[test]
    fn json_stream_reports_broken_json_in_a_large_object_before_it_ends() {
        let filler = "x".repeat(70 * 1024);
        let broken_late = format!("{{\"status\":\"{filler}\",\"id\":nope,\"more\":\"{filler}{filler}\"");
        let broken_string = format!("{{\"status\":\"{filler}\nline\"");
        for body in [broken_late, broken_string] {
            let parts = body.as_bytes().chunks(4096).map(<[u8]>::to_vec).collect();
            let items = ready_items(JsonStream::<Progress>::new(chunks_then_silence(parts), "t"));
            assert_eq!(items.len(), 1);
            let error = items[0].as_ref().unwrap_err().to_string();
            assert!(error.contains("broken JSON"), "{error}");
        }
    }
}
