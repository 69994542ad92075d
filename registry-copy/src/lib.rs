//! Moving images between registries with the Registry API crate, as `crane copy` does: every
//! manifest and blob is checked against its digest while it passes, blobs the destination has
//! are skipped and blobs of another repository of the same registry are mounted, uploads go in
//! chunks whose bodies are read from the source while they are sent (a blob in flight holds a
//! few frames, whatever the chunk and layer size) and resume from the offset the registry
//! reports after a failed request, the source read again from there (a download with `Range`).

use std::future::Future;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use docker_engine_runtime::registry::{Digest, Digester, Reference, MANIFEST_MEDIA_TYPES};
use docker_engine_runtime::{Body, ByteStream, Error};
use docker_registry_v2::models::{Descriptor, Manifest};
use docker_registry_v2::Registry;
use futures_util::StreamExt;

type Result<T, E = Error> = std::result::Result<T, E>;

/// The longest manifest read; registries refuse larger ones too (4 MiB in the distribution
/// specification).
const MANIFEST_LIMIT: usize = 4 * 1024 * 1024;

/// What is told of each blob's progress, from any task.
pub type ProgressSink = Arc<dyn Fn(&Progress) + Send + Sync>;

/// How a copy goes.
#[derive(Clone)]
pub struct CopyOptions {
    /// The size of each upload request (`PATCH`): a failed request is taken up from what the
    /// registry kept of it. A daemon's saved image keeps a chunk's bytes until the registry has
    /// them (and is saved again to go back further); a registry's blob is read again instead.
    pub chunk_size: usize,
    /// Blobs moved at once.
    pub parallel: usize,
    /// Times a blob's transfer is taken up again after a failure, before giving up.
    pub retries: u32,
    /// Told of each blob's progress.
    pub progress: Option<ProgressSink>,
}

impl Default for CopyOptions {
    fn default() -> Self {
        CopyOptions {
            chunk_size: 8 * 1024 * 1024,
            parallel: 4,
            retries: 3,
            progress: None,
        }
    }
}

/// What happened to one blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// Its transfer began: `size` bytes to move.
    Started { digest: String, size: u64 },
    /// `sent` of its bytes are in the destination.
    Sent { digest: String, sent: u64 },
    /// The destination had it.
    Present { digest: String },
    /// The destination linked it from another repository.
    Mounted { digest: String },
    /// It is stored and verified.
    Done { digest: String },
}

/// What a copy did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CopyReport {
    /// The digest of the manifest (or index) copied.
    pub digest: Option<Digest>,
    pub manifests: usize,
    pub blobs_copied: usize,
    pub blobs_present: usize,
    pub blobs_mounted: usize,
    pub bytes_sent: u64,
    /// Transfers taken up again after a dropped connection or a failed request.
    pub resumed: u32,
}

/// Reads manifest `reference` (a tag or digest) of `repository`, checked against its digest:
/// the bytes, their media type and digest.
pub async fn fetch_manifest(registry: &Registry, repository: &str, reference: &str) -> Result<(Bytes, String, Digest)> {
    let (body, headers) = registry
        .manifests()
        .get(repository, reference, MANIFEST_MEDIA_TYPES.join(", "))
        .send_with_headers()
        .await?;
    let bytes = read_limited(body, MANIFEST_LIMIT).await?;
    let digest = Digest::of(&bytes);
    // What the manifest was asked by, or else what the registry says it is, must be its digest.
    let claimed = match reference.parse::<Digest>() {
        Ok(asked) => Some(asked),
        Err(_) => headers
            .docker_content_digest
            .as_deref()
            .map(str::parse::<Digest>)
            .transpose()?,
    };
    if let Some(claimed) = claimed {
        if claimed != digest {
            return Err(Error::DigestMismatch {
                operation: "ManifestGet",
                expected: claimed.to_string(),
                actual: digest.to_string(),
            });
        }
    }
    let media_type = match headers.content_type {
        Some(media_type) => media_type,
        None => parse_manifest(&bytes)?.media_type.unwrap_or_default(),
    };
    Ok((bytes, media_type, digest))
}

async fn read_limited(mut body: ByteStream, limit: usize) -> Result<Bytes> {
    let mut bytes = BytesMut::new();
    while let Some(chunk) = body.next().await {
        bytes.extend_from_slice(&chunk?);
        if bytes.len() > limit {
            return Err(Error::InvalidArgument {
                operation: "ManifestGet",
                message: format!("the manifest is larger than {limit} bytes"),
            });
        }
    }
    Ok(bytes.freeze())
}

pub fn parse_manifest(bytes: &[u8]) -> Result<Manifest> {
    serde_json::from_slice(bytes).map_err(|e| Error::Decode {
        operation: "ManifestGet",
        type_name: "Manifest",
        path: String::new(),
        message: e.to_string(),
        snippet: String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into_owned(),
    })
}

/// Copies image `from` (all platforms of an index) from `source` to `to` in `destination`.
pub async fn copy(
    source: &Registry,
    from: &Reference,
    destination: &Registry,
    to: &Reference,
    options: &CopyOptions,
) -> Result<CopyReport> {
    let same_registry = source.client().endpoint() == destination.client().endpoint();
    let copier = Copier {
        source,
        from: &from.repository,
        destination,
        to: &to.repository,
        same_registry,
        options,
    };
    let mut report = CopyReport::default();
    let (bytes, media_type, digest) = fetch_manifest(source, &from.repository, from.target()).await?;
    let manifest = parse_manifest(&bytes)?;
    for child in manifest.manifests.iter().flatten() {
        let child_digest = descriptor_digest(child)?;
        let (child_bytes, child_type, _) = fetch_manifest(source, &from.repository, child_digest.as_str()).await?;
        copier.blobs_of(&parse_manifest(&child_bytes)?, &mut report).await?;
        copier
            .put_manifest(child_digest.as_str(), child_bytes, &child_type)
            .await?;
        report.manifests += 1;
    }
    copier.blobs_of(&manifest, &mut report).await?;
    // Under the destination's tag, else the source's, else by digest as the source was named.
    let target = match (&to.tag, &from.tag) {
        (Some(tag), _) => tag.clone(),
        (None, _) if to.digest.is_some() => digest.to_string(),
        (None, Some(tag)) => tag.clone(),
        (None, None) if from.digest.is_some() => digest.to_string(),
        (None, None) => "latest".into(),
    };
    copier.put_manifest(&target, bytes, &media_type).await?;
    report.manifests += 1;
    report.digest = Some(digest);
    Ok(report)
}

fn descriptor_digest(descriptor: &Descriptor) -> Result<Digest> {
    descriptor.digest.parse()
}

struct Copier<'a> {
    source: &'a Registry,
    from: &'a str,
    destination: &'a Registry,
    to: &'a str,
    same_registry: bool,
    options: &'a CopyOptions,
}

enum Moved {
    Present,
    Mounted,
    Copied { sent: u64, resumed: u32 },
}

impl Copier<'_> {
    /// Copies the config and layers of an image manifest, a few at once.
    async fn blobs_of(&self, manifest: &Manifest, report: &mut CopyReport) -> Result<()> {
        let blobs: Vec<&Descriptor> = manifest.config.iter().chain(manifest.layers.iter().flatten()).collect();
        let moved: Vec<Result<Moved>> = futures_util::stream::iter(blobs)
            .map(|descriptor| self.blob(descriptor))
            .buffer_unordered(self.options.parallel.max(1))
            .collect()
            .await;
        for outcome in moved {
            match outcome? {
                Moved::Present => report.blobs_present += 1,
                Moved::Mounted => report.blobs_mounted += 1,
                Moved::Copied { sent, resumed } => {
                    report.blobs_copied += 1;
                    report.bytes_sent += sent;
                    report.resumed += resumed;
                }
            }
        }
        Ok(())
    }

    fn tell(&self, progress: Progress) {
        if let Some(tell) = &self.options.progress {
            tell(&progress);
        }
    }

    async fn put_manifest(&self, reference: &str, bytes: Bytes, media_type: &str) -> Result<()> {
        self.destination
            .manifests()
            .put(self.to, reference, media_type, Body::from_bytes(bytes))
            .send()
            .await
    }

    /// Moves one blob: skipped when the destination has it, mounted when the source is another
    /// repository of the same registry, else streamed from source to destination.
    async fn blob(&self, descriptor: &Descriptor) -> Result<Moved> {
        let digest = descriptor_digest(descriptor)?;
        let size = descriptor.size.max(0) as u64;
        match self.destination.blobs().head(self.to, digest.as_str()).send().await {
            Ok(()) => {
                self.tell(Progress::Present {
                    digest: digest.to_string(),
                });
                return Ok(Moved::Present);
            }
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e),
        }
        let mut start = self.destination.uploads().start(self.to);
        if self.same_registry && self.from != self.to {
            start = start.mount(digest.as_str()).from(self.from);
        }
        let ((), started) = start.send_with_headers().await?;
        // A mount answers 201 with the blob's digest; a registry that cannot mount starts an
        // upload instead (202, with an upload id).
        if started.docker_upload_uuid.is_none() && started.docker_content_digest.as_deref() == Some(digest.as_str()) {
            self.tell(Progress::Mounted {
                digest: digest.to_string(),
            });
            return Ok(Moved::Mounted);
        }
        let location = started
            .location
            .ok_or_else(|| missing_header("UploadStart", "Location"))?;
        self.tell(Progress::Started {
            digest: digest.to_string(),
            size,
        });
        let uploader = Uploader {
            registry: self.destination,
            repository: self.to,
            options: self.options,
        };
        let mut source = BlobReader::open(self.source, self.from, digest.clone()).await?;
        if source.size() != size {
            uploader.abandon(&location).await;
            return Err(Error::InvalidArgument {
                operation: "BlobGet",
                message: format!(
                    "blob {digest} of {} is {} bytes, but the manifest says {size}",
                    self.from,
                    source.size()
                ),
            });
        }
        let (sent, resumed) = uploader.upload(&mut source, location, &digest).await?;
        self.tell(Progress::Done {
            digest: digest.to_string(),
        });
        Ok(Moved::Copied { sent, resumed })
    }
}

/// Where a blob's bytes come from, a piece at a time, able to go back to a byte the
/// destination has not stored.
pub trait BlobSource {
    /// The blob's length as the source states it; what it yields is held to it.
    fn size(&self) -> u64;

    /// The next piece, of whatever size the source reads in; `None` after the last.
    fn next_piece(&mut self) -> impl Future<Output = Result<Option<Bytes>>> + Send;

    /// Reads on from byte `offset`, which is at most where the last piece handed out ended:
    /// after a failed read, or an upload that kept less than was sent. An error when the source
    /// cannot go back that far.
    fn seek(&mut self, offset: u64) -> impl Future<Output = Result<()>> + Send;

    /// The destination holds the first `offset` bytes, which will not be asked for again: a
    /// source keeping what it read, to send it again, may let them go.
    fn stored(&mut self, _offset: u64) {}

    /// What progress reports name the blob by.
    fn name(&self) -> String;
}

/// An upload whose bytes are all with the registry, not yet completed.
struct Sent {
    /// Where to complete or cancel it.
    location: String,
    /// The digest of what was sent.
    digest: Digest,
    bytes: u64,
    /// How many times the transfer was taken up again.
    resumed: u32,
}

/// Uploads blobs into one repository, each request's body streamed from the source.
struct Uploader<'a> {
    registry: &'a Registry,
    repository: &'a str,
    options: &'a CopyOptions,
}

/// Pieces queued for a request body ahead of the connection, at most [`FRAME`] bytes each: what
/// an upload holds in memory, besides what the source keeps to send again.
const FRAMES_AHEAD: usize = 4;
const FRAME: usize = 64 * 1024;

impl Uploader<'_> {
    /// Uploads `source`, which must be the blob `digest`, into the upload at `location`;
    /// returns the bytes sent and how many times the transfer was taken up again. The upload is
    /// completed only when what was sent has that digest.
    async fn upload(&self, source: &mut impl BlobSource, location: String, digest: &Digest) -> Result<(u64, u32)> {
        let sent = self.send_all(source, location).await?;
        if sent.digest != *digest {
            // Nothing of a blob that is not what its digest says is kept.
            self.abandon(&sent.location).await;
            return Err(Error::DigestMismatch {
                operation: "BlobGet",
                expected: digest.to_string(),
                actual: sent.digest.to_string(),
            });
        }
        self.complete(&sent).await?;
        Ok((sent.bytes, sent.resumed))
    }

    /// Starts an upload; where to send it.
    async fn start(&self) -> Result<String> {
        let ((), started) = self
            .registry
            .uploads()
            .start(self.repository)
            .send_with_headers()
            .await?;
        started
            .location
            .ok_or_else(|| missing_header("UploadStart", "Location"))
    }

    /// Stores what was sent under its digest.
    async fn complete(&self, sent: &Sent) -> Result<()> {
        self.registry
            .uploads()
            .complete(&sent.location, sent.digest.as_str())
            .send()
            .await
    }

    /// Cancels an upload; the registry drops what it received (a failure to is only untidy).
    async fn abandon(&self, location: &str) {
        let _ = self.registry.uploads().cancel(location).send().await;
    }

    /// Sends all of `source` into the upload at `location`, starting a new upload (and reading
    /// the source again) when the registry dropped the old one.
    async fn send_all(&self, source: &mut impl BlobSource, mut location: String) -> Result<Sent> {
        let mut resumed = 0;
        loop {
            match self.transfer(source, location, &mut resumed).await {
                Ok(sent) => return Ok(sent),
                // The distribution registry cancels an upload whose state no longer matches
                // what it holds, as after a request cut off halfway: the blob is sent again.
                Err(Transfer::UploadLost(_)) if resumed < self.options.retries => {
                    resumed += 1;
                    source.seek(0).await?;
                    location = self.start().await?;
                }
                Err(Transfer::UploadLost(error) | Transfer::Failed(error)) => return Err(error),
            }
        }
    }

    /// Streams `source` into the upload at `location`, a request (`PATCH`) per chunk of the
    /// chunk size, each request's body read from the source as it is sent; the digest is
    /// computed on the way. Failures are survived (counted in `resumed`): the registry is asked
    /// how much it kept, and the source read again from there.
    async fn transfer(
        &self,
        source: &mut impl BlobSource,
        mut location: String,
        resumed: &mut u32,
    ) -> Result<Sent, Transfer> {
        let size = source.size();
        let mut reading = Reading::default();
        // How much the registry holds of the upload.
        let mut stored: u64 = 0;
        while stored < size {
            let length = (size - stored).min(self.options.chunk_size.max(1) as u64);
            let failure = match self.send_range(source, &mut reading, &location, stored, length).await {
                Ok(next) => {
                    stored += length;
                    location = next;
                    source.stored(stored);
                    if let Some(tell) = &self.options.progress {
                        tell(&Progress::Sent {
                            digest: source.name(),
                            sent: stored,
                        });
                    }
                    continue;
                }
                Err(failure) => failure,
            };
            let retry = *resumed < self.options.retries;
            match failure {
                RangeFailure::Source(error) if retry && is_transient(&error) => {}
                RangeFailure::Source(error) => return Err(Transfer::Failed(error)),
                // The upload is gone: a request cut off halfway may reach the registry after it
                // told us how much it held, and it then drops the upload.
                RangeFailure::Request(error) if error.status() == Some(404) => return Err(Transfer::UploadLost(error)),
                // A dropped connection; a chunk that did not start where the registry's upload
                // ends (416); a token that expired while the chunk was sent (401: the status
                // request below answers the challenge, and a streamed body cannot be sent twice).
                RangeFailure::Request(error)
                    if retry && (is_transient(&error) || matches!(error.status(), Some(416 | 401))) => {}
                RangeFailure::Request(error) => return Err(Transfer::Failed(error)),
            }
            *resumed += 1;
            // Ask the registry how much it kept, and send the rest from there.
            let (next, kept) = self.upload_status(&location).await.map_err(Transfer::UploadLost)?;
            if kept < stored || kept > reading.digested {
                return Err(Transfer::UploadLost(Error::Stream {
                    operation: "UploadStatus",
                    message: format!(
                        "the registry holds {kept} bytes of {}'s upload, after {stored} were stored and {} sent",
                        source.name(),
                        reading.digested
                    ),
                }));
            }
            stored = kept;
            location = next;
            reading.rewind(kept);
            source.seek(kept).await?;
        }
        if reading.carried.is_empty() && source.next_piece().await?.is_none() {
            return Ok(Sent {
                location,
                digest: reading.digester.finish(),
                bytes: stored,
                resumed: *resumed,
            });
        }
        self.abandon(&location).await;
        Err(Transfer::Failed(Error::Stream {
            operation: "UploadChunk",
            message: format!("{} holds more than the {size} bytes its source states", source.name()),
        }))
    }

    /// Sends bytes `start..start + length` of the blob at `location` in one request whose body
    /// is read from `source` while it is sent; returns the location to continue at.
    async fn send_range(
        &self,
        source: &mut impl BlobSource,
        reading: &mut Reading,
        location: &str,
        start: u64,
        length: u64,
    ) -> Result<String, RangeFailure> {
        let (frames, queued) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(FRAMES_AHEAD);
        let body = futures_util::stream::unfold(queued, |mut queued| async move {
            queued.recv().await.map(|frame| (frame, queued))
        });
        let end = start + length;
        let request = self
            .registry
            .uploads()
            .chunk(location, Body::from_stream_of_length(length, body))
            .content_range(format!("{start}-{}", end - 1))
            .send_with_headers();
        let (answer, sent_whole) = {
            let request = std::pin::pin!(request);
            let pump = std::pin::pin!(reading.pump(source, end, frames));
            match futures_util::future::select(pump, request).await {
                futures_util::future::Either::Left((Ok(sent_whole), request)) => (request.await, sent_whole),
                // The request is dropped, which breaks its connection off.
                futures_util::future::Either::Left((Err(error), _)) => return Err(RangeFailure::Source(error)),
                futures_util::future::Either::Right((answer, _)) => (answer, false),
            }
        };
        if answer.is_ok() && !sent_whole {
            return Err(RangeFailure::Request(Error::Stream {
                operation: "UploadChunk",
                message: format!("the registry answered before it was sent bytes {start}-{}", end - 1),
            }));
        }
        let ((), headers) = answer.map_err(RangeFailure::Request)?;
        headers
            .location
            .ok_or_else(|| RangeFailure::Request(missing_header("UploadChunk", "Location")))
    }

    /// The location to continue an upload at and how many bytes the registry holds of it.
    async fn upload_status(&self, location: &str) -> Result<(String, u64)> {
        let ((), headers) = self.registry.uploads().status(location).send_with_headers().await?;
        let next = headers
            .location
            .ok_or_else(|| missing_header("UploadStatus", "Location"))?;
        let range = headers.range.ok_or_else(|| missing_header("UploadStatus", "Range"))?;
        Ok((next, received_from_range(&range)?))
    }
}

/// Why one request of an upload failed.
enum RangeFailure {
    /// Reading the source failed, or it ended before its stated size.
    Source(Error),
    /// The request failed, or the registry refused it.
    Request(Error),
}

/// Where the reading of one blob's source stands, across the requests of its upload.
#[derive(Default)]
struct Reading {
    digester: Digester,
    /// The bytes digested, from the first: the most read so far. Bytes read again after the
    /// source went back are not digested again (the registry checks what it stored against
    /// the digest when the upload is completed).
    digested: u64,
    /// Where the next piece read from the source starts.
    read: u64,
    /// Read past the end of the last request, for the next.
    carried: Bytes,
}

impl Reading {
    /// Reads on from byte `offset`, where the source is sought to: what was carried is dropped.
    fn rewind(&mut self, offset: u64) {
        self.carried = Bytes::new();
        self.read = offset;
    }

    /// Where the next byte handed to a request starts.
    fn position(&self) -> u64 {
        self.read - self.carried.len() as u64
    }

    /// Hands the source's bytes up to byte `end` to a request's body, digesting those not
    /// digested before; whether the request took them all (it stops taking them when it fails).
    async fn pump(
        &mut self,
        source: &mut impl BlobSource,
        end: u64,
        frames: tokio::sync::mpsc::Sender<std::io::Result<Bytes>>,
    ) -> Result<bool> {
        while self.position() < end {
            let wanted = (end - self.position()) as usize;
            let mut piece = if self.carried.is_empty() {
                let start = self.read;
                match source.next_piece().await? {
                    Some(piece) => {
                        self.read += piece.len() as u64;
                        self.digest(start, &piece);
                        piece
                    }
                    None => {
                        return Err(Error::Truncated {
                            operation: "UploadChunk",
                            message: format!(
                                "{} ended after {start} bytes, before the {} its source states",
                                source.name(),
                                source.size()
                            ),
                        })
                    }
                }
            } else {
                std::mem::take(&mut self.carried)
            };
            if piece.len() > wanted {
                self.carried = piece.split_off(wanted);
            }
            while !piece.is_empty() {
                let frame = piece.split_to(piece.len().min(FRAME));
                if frames.send(Ok(frame)).await.is_err() {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    /// Digests the part of `piece` (starting at byte `start`) not digested before.
    fn digest(&mut self, start: u64, piece: &[u8]) {
        let end = start + piece.len() as u64;
        if end > self.digested {
            let new = (self.digested.saturating_sub(start)) as usize;
            self.digester.update(&piece[new..]);
            self.digested = end;
        }
    }
}

/// Pushes `image` from a Docker daemon to `to` with the registry client, from the daemon's saved
/// image (`ImageGet`, read once, a chunk at a time), each blob checked against its digest as it
/// passes. What the registry holds already is not sent.
///
/// An image of the containerd image store (Docker 29's default) is named by its manifest (or
/// index): its saved OCI layout holds that manifest and the blobs it names, stored compressed,
/// and the manifest is pushed as it is, so the registry names the image by the daemon's id. Of
/// an index whose saved image lacks some platforms, the platform it holds is pushed. Pushed
/// before, the image is not read again.
///
/// An image of the classic store is named by its config: the config and the layers, sent
/// uncompressed (`application/vnd.oci.image.layer.v1.tar`) under the digests the daemon names
/// for them (the image id and `RootFS.Layers`), then an OCI manifest made for them. When the
/// registry holds all of them, the image is not read; else every layer is read, as a saved image
/// of the classic store does not say which layer file is which digest before it has been read.
pub async fn push_from_daemon(
    docker: &docker_engine_v1_41::Docker,
    image: &str,
    destination: &Registry,
    to: &Reference,
    options: &CopyOptions,
) -> Result<CopyReport> {
    let inspected = docker.images().inspect(image).send().await?;
    let id: Digest = inspected.id.unwrap_or_default().parse()?;
    let layers: Vec<Digest> = inspected
        .root_fs
        .and_then(|root_fs| root_fs.layers)
        .unwrap_or_default()
        .iter()
        .map(|layer| layer.parse())
        .collect::<Result<_>>()?;
    let pusher = DaemonPush {
        destination,
        to,
        uploader: Uploader {
            registry: destination,
            repository: &to.repository,
            options,
        },
    };
    let mut missing = Vec::new();
    for digest in std::iter::once(&id).chain(&layers) {
        if !pusher.holds(digest).await? {
            missing.push(digest.clone());
        }
    }
    // A registry asked for a config as a manifest may fail (the distribution registry answers
    // 500): manifest `id` is asked for only when no blob has that digest.
    if missing.first() == Some(&id) {
        if let Some(report) = pusher.pushed_before(&id).await? {
            return Ok(report);
        }
    }
    let mut report = CopyReport::default();
    let mut saved = SavedImage::default();
    if missing.is_empty() {
        report.blobs_present = 1 + layers.len();
    } else {
        let saver = Saver {
            docker: docker.clone(),
            image: image.to_owned(),
        };
        let export = docker.images().get(image).send().await?;
        let mut entries = saved_entries(export, saver);
        while let Some(entry) = entries.recv().await {
            pusher
                .saved_entry(entry, &id, &layers, &missing, &mut saved, &mut report)
                .await?;
        }
        if let Some(error) = entries.error() {
            return Err(error);
        }
    }
    if let Some(manifest) = saved.manifests.get(&id).cloned() {
        pusher.saved_manifest(&id, manifest, &saved, &mut report).await?;
    } else if missing.is_empty() || saved.sizes.contains_key(&id) {
        pusher.made_manifest(&id, &layers, &saved, &mut report).await?;
    } else {
        return Err(Error::InvalidArgument {
            operation: "ImageGet",
            message: format!("the saved image {image} holds neither a manifest nor a config named {id}, its id"),
        });
    }
    Ok(report)
}

/// What a daemon's saved image held beyond the blobs sent.
#[derive(Default)]
struct SavedImage {
    /// Its manifests and indexes, by digest, to be put once their blobs are in.
    manifests: std::collections::HashMap<Digest, Bytes>,
    /// The size of each blob it held.
    sizes: std::collections::HashMap<Digest, u64>,
}

/// One push of a daemon's image into one repository.
struct DaemonPush<'a> {
    destination: &'a Registry,
    to: &'a Reference,
    uploader: Uploader<'a>,
}

impl DaemonPush<'_> {
    /// Whether the repository holds blob `digest`.
    async fn holds(&self, digest: &Digest) -> Result<bool> {
        match self
            .destination
            .blobs()
            .head(&self.to.repository, digest.as_str())
            .send()
            .await
        {
            Ok(()) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The report of a push found done already: the repository holds manifest `id`, which a
    /// registry takes only with every blob it names. It is tagged again.
    async fn pushed_before(&self, id: &Digest) -> Result<Option<CopyReport>> {
        let repository = &self.to.repository;
        match self
            .destination
            .manifests()
            .head(repository, id.as_str(), MANIFEST_MEDIA_TYPES.join(", "))
            .send()
            .await
        {
            Ok(()) => {}
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e),
        }
        let (bytes, media_type, _) = fetch_manifest(self.destination, repository, id.as_str()).await?;
        let manifest = parse_manifest(&bytes)?;
        let mut blobs: std::collections::HashSet<Digest> = blobs_named(&manifest)?.collect();
        for child in manifest.manifests.iter().flatten() {
            let (child_bytes, _, _) =
                fetch_manifest(self.destination, repository, &descriptor_digest(child)?.to_string()).await?;
            blobs.extend(blobs_named(&parse_manifest(&child_bytes)?)?);
        }
        if let Some(tag) = &self.to.tag {
            self.put_manifest(tag, bytes, &media_type).await?;
        }
        Ok(Some(CopyReport {
            digest: Some(id.clone()),
            manifests: 1,
            blobs_present: blobs.len(),
            ..CopyReport::default()
        }))
    }

    /// Takes one file of the saved image: a blob is sent unless the repository holds it, a
    /// manifest kept, anything else skipped.
    async fn saved_entry(
        &self,
        mut entry: SavedEntry,
        id: &Digest,
        layers: &[Digest],
        missing: &[Digest],
        saved: &mut SavedImage,
        report: &mut CopyReport,
    ) -> Result<()> {
        let Some(name) = SavedName::of(&entry.name, id) else {
            return Ok(());
        };
        let SavedName::Blob(digest) = name else {
            // A file of the classic store's layout, whose digest shows once it is read: it is
            // uploaded as it is read and its digest checked at the end against the image's.
            let is_config = name == SavedName::ClassicConfig;
            let location = self.uploader.start().await?;
            let sent = self.uploader.send_all(&mut entry, location).await?;
            let wanted = if is_config {
                sent.digest == *id
            } else {
                layers.contains(&sent.digest)
            };
            if !wanted {
                self.uploader.abandon(&sent.location).await;
                return Err(Error::DigestMismatch {
                    operation: "ImageGet",
                    expected: if is_config {
                        id.to_string()
                    } else {
                        format!("one of the layers the image lists ({} of them)", layers.len())
                    },
                    actual: sent.digest.to_string(),
                });
            }
            saved.sizes.insert(sent.digest.clone(), sent.bytes);
            if missing.contains(&sent.digest) {
                self.uploader.complete(&sent).await?;
                report.blobs_copied += 1;
                report.bytes_sent += sent.bytes;
                report.resumed += sent.resumed;
            } else {
                self.uploader.abandon(&sent.location).await;
                report.blobs_present += 1;
            }
            return Ok(());
        };
        // A blob of an OCI layout, named by its digest. Manifests are small: a small blob is
        // read whole to tell one from a config or a layer.
        if entry.size <= MANIFEST_LIMIT as u64 {
            let bytes = entry.read_whole().await?;
            if Digest::of(&bytes) != digest {
                return Err(Error::DigestMismatch {
                    operation: "ImageGet",
                    expected: digest.to_string(),
                    actual: Digest::of(&bytes).to_string(),
                });
            }
            if is_manifest(&bytes) {
                saved.manifests.insert(digest, bytes);
                return Ok(());
            }
            let size = entry.size;
            return self
                .saved_blob(
                    &mut HeldBlob::new(entry.name, bytes),
                    digest,
                    size,
                    missing,
                    saved,
                    report,
                )
                .await;
        }
        let size = entry.size;
        self.saved_blob(&mut entry, digest, size, missing, saved, report).await
    }

    /// Sends blob `digest` of `size` bytes from `source` unless the repository holds it.
    async fn saved_blob(
        &self,
        source: &mut impl BlobSource,
        digest: Digest,
        size: u64,
        missing: &[Digest],
        saved: &mut SavedImage,
        report: &mut CopyReport,
    ) -> Result<()> {
        saved.sizes.insert(digest.clone(), size);
        // The image's own digests were asked about before the image was read.
        let known_missing = missing.contains(&digest);
        if !known_missing && self.holds(&digest).await? {
            report.blobs_present += 1;
            return Ok(());
        }
        let location = self.uploader.start().await?;
        let (sent, resumed) = self.uploader.upload(source, location, &digest).await?;
        report.blobs_copied += 1;
        report.bytes_sent += sent;
        report.resumed += resumed;
        Ok(())
    }

    /// Puts the saved manifest `id`. Of an index, its platforms' manifests go first; when the
    /// saved image lacks some of them, the one it holds is put in the index's place.
    async fn saved_manifest(
        &self,
        id: &Digest,
        bytes: Bytes,
        saved: &SavedImage,
        report: &mut CopyReport,
    ) -> Result<()> {
        let manifest = parse_manifest(&bytes)?;
        let mut children = Vec::new();
        let mut absent = Vec::new();
        for child in manifest.manifests.iter().flatten() {
            let digest = descriptor_digest(child)?;
            match saved.manifests.get(&digest) {
                Some(child_bytes) => children.push((digest, child_bytes.clone())),
                None => absent.push(digest),
            }
        }
        let (digest, bytes) = match (absent.is_empty(), children.len()) {
            (true, _) => {
                for (digest, child_bytes) in children {
                    self.put_manifest(digest.as_str(), child_bytes.clone(), &media_type_of(&child_bytes)?)
                        .await?;
                    report.manifests += 1;
                }
                (id.clone(), bytes)
            }
            (false, 1) => children.remove(0),
            (false, _) => {
                return Err(Error::InvalidArgument {
                    operation: "ImageGet",
                    message: format!(
                        "the saved index {id} lacks the manifests {} and holds {} others: push one platform's image",
                        absent.iter().map(Digest::as_str).collect::<Vec<_>>().join(", "),
                        children.len()
                    ),
                })
            }
        };
        let reference = self.to.tag.clone().unwrap_or_else(|| digest.to_string());
        self.put_manifest(&reference, bytes.clone(), &media_type_of(&bytes)?)
            .await?;
        report.manifests += 1;
        report.digest = Some(digest);
        Ok(())
    }

    /// Puts an OCI manifest made for a classic image: config `id`, uncompressed `layers`.
    async fn made_manifest(
        &self,
        id: &Digest,
        layers: &[Digest],
        saved: &SavedImage,
        report: &mut CopyReport,
    ) -> Result<()> {
        let mut layer_descriptors = Vec::new();
        for layer in layers {
            layer_descriptors.push(serde_json::json!({
                "mediaType": "application/vnd.oci.image.layer.v1.tar",
                "digest": layer.as_str(),
                "size": self.blob_size(&saved.sizes, layer).await?,
            }));
        }
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": id.as_str(),
                "size": self.blob_size(&saved.sizes, id).await?,
            },
            "layers": layer_descriptors,
        });
        let bytes = Bytes::from(serde_json::to_vec(&manifest).expect("JSON values serialize"));
        let digest = Digest::of(&bytes);
        let reference = self.to.tag.clone().unwrap_or_else(|| digest.to_string());
        self.put_manifest(&reference, bytes, OCI_MANIFEST).await?;
        report.manifests = 1;
        report.digest = Some(digest);
        Ok(())
    }

    async fn put_manifest(&self, reference: &str, bytes: Bytes, media_type: &str) -> Result<()> {
        self.destination
            .manifests()
            .put(&self.to.repository, reference, media_type, Body::from_bytes(bytes))
            .send()
            .await
    }

    /// The size of blob `digest`: as sent, or else as the registry holds it.
    async fn blob_size(&self, sent: &std::collections::HashMap<Digest, u64>, digest: &Digest) -> Result<u64> {
        if let Some(size) = sent.get(digest) {
            return Ok(*size);
        }
        let ((), headers) = self
            .destination
            .blobs()
            .head(&self.to.repository, digest.as_str())
            .send_with_headers()
            .await?;
        let size = headers
            .content_length
            .ok_or_else(|| missing_header("BlobHead", "Content-Length"))?;
        Ok(size.max(0) as u64)
    }
}

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// The blobs a manifest names: its config and layers.
fn blobs_named(manifest: &Manifest) -> Result<impl Iterator<Item = Digest>> {
    let digests = manifest
        .config
        .iter()
        .chain(manifest.layers.iter().flatten())
        .map(descriptor_digest)
        .collect::<Result<Vec<_>>>()?;
    Ok(digests.into_iter())
}

/// Whether a blob of a saved OCI layout is a manifest or an index rather than a config or a
/// layer: JSON of schema version 2 naming layers or manifests.
fn is_manifest(bytes: &[u8]) -> bool {
    // A layer (a tar or a compression of one) is never JSON; reading stops at its first byte.
    serde_json::from_slice::<Manifest>(bytes).is_ok_and(|manifest| {
        manifest.schema_version == Some(2) && (manifest.layers.is_some() || manifest.manifests.is_some())
    })
}

/// The media type a manifest declares, or else the OCI type of its shape.
fn media_type_of(bytes: &[u8]) -> Result<String> {
    let manifest = parse_manifest(bytes)?;
    Ok(manifest.media_type.unwrap_or_else(|| {
        if manifest.manifests.is_some() {
            OCI_INDEX
        } else {
            OCI_MANIFEST
        }
        .to_owned()
    }))
}

/// What a file of a saved image is, by its name.
#[derive(Debug, PartialEq, Eq)]
enum SavedName {
    /// `blobs/sha256/HEX` of an OCI layout (Docker 25 and later, Podman's OCI archives).
    Blob(Digest),
    /// The classic layout's `HEX.json`, named by image id `id`.
    ClassicConfig,
    /// The classic layout's layers: Docker's `ID/layer.tar`, Podman's `DIGEST.tar`.
    ClassicLayer,
}

impl SavedName {
    fn of(name: &str, id: &Digest) -> Option<SavedName> {
        if let Some(rest) = name.strip_prefix("blobs/") {
            let (algorithm, hex) = rest.split_once('/')?;
            return format!("{algorithm}:{hex}").parse().ok().map(SavedName::Blob);
        }
        if name == format!("{}.json", id.as_str().trim_start_matches("sha256:")) {
            return Some(SavedName::ClassicConfig);
        }
        name.ends_with(".tar").then_some(SavedName::ClassicLayer)
    }
}

/// One file of a saved image, streamed from the thread reading the archive. The pieces the
/// destination may not hold yet are kept, to be sent again after a failed request (at most a
/// chunk's worth and what is queued ahead of it); to go back further, as when the registry
/// dropped the upload, the image is saved again.
struct SavedEntry {
    name: String,
    saver: Saver,
    /// Its size, as the archive states it.
    size: u64,
    chunks: tokio::sync::mpsc::Receiver<std::io::Result<Bytes>>,
    /// The pieces read and not known to be stored, the first starting at byte `kept_from`.
    kept: std::collections::VecDeque<Bytes>,
    kept_from: u64,
    /// Where the next piece read from the archive starts.
    read: u64,
    /// Where the next piece handed out starts.
    position: u64,
}

/// The files of a saved image, read from `export` on a thread of their own (the `tar` reader is
/// synchronous); a few chunks are buffered ahead.
struct SavedEntries {
    entries: tokio::sync::mpsc::Receiver<SavedEntry>,
    failure: Arc<std::sync::Mutex<Option<String>>>,
}

impl SavedEntries {
    async fn recv(&mut self) -> Option<SavedEntry> {
        self.entries.recv().await
    }

    fn error(&self) -> Option<Error> {
        let failure = self.failure.lock().expect("no panics while locked").take()?;
        Some(Error::Stream {
            operation: "ImageGet",
            message: format!("reading the saved image: {failure}"),
        })
    }
}

/// The image a daemon saves, to save it again.
#[derive(Clone)]
struct Saver {
    docker: docker_engine_v1_41::Docker,
    image: String,
}

impl Saver {
    /// File `name` of the image saved again.
    async fn entry(&self, name: &str) -> Result<SavedEntry> {
        let export = self.docker.images().get(&self.image).send().await?;
        let mut entries = saved_entries(export, self.clone());
        while let Some(entry) = entries.recv().await {
            if entry.name == name {
                return Ok(entry);
            }
        }
        Err(entries.error().unwrap_or_else(|| Error::InvalidArgument {
            operation: "ImageGet",
            message: format!("{name} is not in the image {} saved again", self.image),
        }))
    }
}

fn saved_entries(export: ByteStream, saver: Saver) -> SavedEntries {
    const PIECE: usize = 256 * 1024;
    let (entry_sender, entries) = tokio::sync::mpsc::channel(1);
    let failure = Arc::new(std::sync::Mutex::new(None));
    let failed = failure.clone();
    let reader = tokio_util::io::SyncIoBridge::new(export.into_async_read());
    tokio::task::spawn_blocking(move || {
        let mut archive = tar::Archive::new(reader);
        let outcome = (|| -> std::io::Result<()> {
            for entry in archive.entries()? {
                let mut entry = entry?;
                // Podman's saved images link the legacy `ID/layer.tar` names to the layer files.
                if !entry.header().entry_type().is_file() {
                    continue;
                }
                let name = entry.path()?.to_string_lossy().into_owned();
                let size = entry.header().size()?;
                let (chunk_sender, chunks) = tokio::sync::mpsc::channel(4);
                let saved = SavedEntry {
                    name,
                    saver: saver.clone(),
                    size,
                    chunks,
                    kept: Default::default(),
                    kept_from: 0,
                    read: 0,
                    position: 0,
                };
                if entry_sender.blocking_send(saved).is_err() {
                    return Ok(());
                }
                loop {
                    let mut piece = vec![0; PIECE];
                    let read = std::io::Read::read(&mut entry, &mut piece)?;
                    if read == 0 {
                        break;
                    }
                    piece.truncate(read);
                    // The receiver skipped this file: read on to the next.
                    let _ = chunk_sender.blocking_send(Ok(Bytes::from(piece)));
                }
            }
            Ok(())
        })();
        if let Err(error) = outcome {
            *failed.lock().expect("no panics while locked") = Some(error.to_string());
        }
    });
    SavedEntries { entries, failure }
}

impl BlobSource for SavedEntry {
    fn size(&self) -> u64 {
        self.size
    }

    async fn next_piece(&mut self) -> Result<Option<Bytes>> {
        if self.position < self.read {
            // Sent again: the kept piece holding the position, from there.
            let mut start = self.kept_from;
            for piece in &self.kept {
                let end = start + piece.len() as u64;
                if self.position < end {
                    let again = piece.slice((self.position - start) as usize..);
                    self.position = end;
                    return Ok(Some(again));
                }
                start = end;
            }
        }
        loop {
            let Some(piece) = self.chunks.recv().await else {
                return Ok(None);
            };
            let piece = piece.map_err(read_error)?;
            let start = self.read;
            self.read += piece.len() as u64;
            if self.read <= self.position {
                // Saved again, read up to where the registry's upload ends: neither kept nor
                // handed out.
                self.kept_from = self.read;
                continue;
            }
            self.kept.push_back(piece.clone());
            let from = self.position.saturating_sub(start) as usize;
            self.position = self.read;
            return Ok(Some(piece.slice(from..)));
        }
    }

    async fn seek(&mut self, offset: u64) -> Result<()> {
        if offset < self.kept_from {
            *self = self.saver.entry(&self.name).await?;
        }
        self.position = offset;
        Ok(())
    }

    fn stored(&mut self, offset: u64) {
        while let Some(piece) = self.kept.front() {
            let end = self.kept_from + piece.len() as u64;
            if end > offset {
                break;
            }
            self.kept_from = end;
            self.kept.pop_front();
        }
    }

    fn name(&self) -> String {
        self.name.clone()
    }
}

impl SavedEntry {
    /// All of the file, which the caller knows to be small.
    async fn read_whole(&mut self) -> Result<Bytes> {
        let mut bytes = BytesMut::with_capacity(self.size as usize);
        while let Some(piece) = self.chunks.recv().await {
            bytes.extend_from_slice(&piece.map_err(read_error)?);
        }
        Ok(bytes.freeze())
    }
}

fn read_error(error: std::io::Error) -> Error {
    Error::Stream {
        operation: "ImageGet",
        message: error.to_string(),
    }
}

/// A blob held in memory, read again from its start as often as asked.
struct HeldBlob {
    name: String,
    bytes: Bytes,
    /// Bytes handed out so far.
    offset: usize,
}

impl HeldBlob {
    fn new(name: String, bytes: Bytes) -> Self {
        HeldBlob { name, bytes, offset: 0 }
    }
}

impl BlobSource for HeldBlob {
    fn size(&self) -> u64 {
        self.bytes.len() as u64
    }

    async fn next_piece(&mut self) -> Result<Option<Bytes>> {
        let end = (self.offset + FRAME).min(self.bytes.len());
        let piece = self.bytes.slice(self.offset..end);
        self.offset = end;
        Ok((!piece.is_empty()).then_some(piece))
    }

    async fn seek(&mut self, offset: u64) -> Result<()> {
        self.offset = offset as usize;
        Ok(())
    }

    fn name(&self) -> String {
        self.name.clone()
    }
}

/// The bytes an upload holds from its `Range: 0-LAST` header. Registries write `0-0` for an
/// empty upload as well as for one byte; it is read as empty, which at worst sends a byte again.
fn received_from_range(range: &str) -> Result<u64> {
    let last = range
        .trim()
        .strip_prefix("0-")
        .and_then(|last| last.parse::<u64>().ok())
        .ok_or_else(|| Error::Decode {
            operation: "UploadStatus",
            type_name: "Range",
            path: "header range".into(),
            message: "expected 0-LAST".into(),
            snippet: range.to_owned(),
        })?;
    Ok(if last == 0 { 0 } else { last + 1 })
}

/// Why a blob's transfer stopped.
enum Transfer {
    /// The upload is gone from the registry; the blob can be sent again in a new one.
    UploadLost(Error),
    Failed(Error),
}

impl From<Error> for Transfer {
    fn from(error: Error) -> Self {
        Transfer::Failed(error)
    }
}

fn missing_header(operation: &'static str, header: &str) -> Error {
    Error::Decode {
        operation,
        type_name: "header",
        path: format!("header {header}"),
        message: "the registry sent none".into(),
        snippet: String::new(),
    }
}

/// A failure worth trying again: the connection dropped or timed out, or the server failed.
fn is_transient(error: &Error) -> bool {
    matches!(
        error,
        Error::Transport { .. } | Error::Truncated { .. } | Error::Timeout { .. } | Error::Connect { .. }
    ) || error.status().is_some_and(|status| status >= 500)
}

/// A blob read from a registry piece by piece, read again with `Range` from where it is asked
/// to go back to (where a read broke off, or what an upload kept).
pub struct BlobReader<'a> {
    registry: &'a Registry,
    repository: &'a str,
    digest: Digest,
    /// The rest of the blob; `None` once it is at its end.
    body: Option<ByteStream>,
    /// Its size, as the registry states it (`Content-Length`).
    size: u64,
    /// Bytes handed out so far.
    offset: u64,
}

impl<'a> BlobReader<'a> {
    pub async fn open(registry: &'a Registry, repository: &'a str, digest: Digest) -> Result<Self> {
        let (body, headers) = registry
            .blobs()
            .get(repository, digest.as_str())
            .send_with_headers()
            .await?;
        let size = headers
            .content_length
            .ok_or_else(|| missing_header("BlobGet", "Content-Length"))?;
        Ok(BlobReader {
            registry,
            repository,
            digest,
            body: Some(body),
            size: size.max(0) as u64,
            offset: 0,
        })
    }
}

impl BlobSource for BlobReader<'_> {
    fn size(&self) -> u64 {
        self.size
    }

    async fn next_piece(&mut self) -> Result<Option<Bytes>> {
        let Some(body) = &mut self.body else {
            return Ok(None);
        };
        let piece = body.next().await.transpose()?;
        match &piece {
            Some(piece) => self.offset += piece.len() as u64,
            None => self.body = None,
        }
        Ok(piece)
    }

    /// Asks for the rest of the blob from byte `offset`.
    async fn seek(&mut self, offset: u64) -> Result<()> {
        self.offset = offset;
        if offset >= self.size {
            self.body = None;
            return Ok(());
        }
        let (body, headers) = self
            .registry
            .blobs()
            .get(self.repository, self.digest.as_str())
            .range(format!("bytes={offset}-"))
            .send_with_headers()
            .await?;
        let from = headers
            .content_range
            .as_deref()
            .and_then(|range| range.strip_prefix("bytes "))
            .and_then(|range| range.split('-').next())
            .and_then(|start| start.parse::<u64>().ok());
        if from != Some(offset) && offset > 0 {
            return Err(Error::InvalidArgument {
                operation: "BlobGet",
                message: format!(
                    "the registry did not resume the blob at byte {offset} (Content-Range {:?})",
                    headers.content_range
                ),
            });
        }
        self.body = Some(body);
        Ok(())
    }

    fn name(&self) -> String {
        self.digest.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn saved_entry(pieces: &[&'static str]) -> SavedEntry {
        let (sender, chunks) = tokio::sync::mpsc::channel(pieces.len().max(1));
        for piece in pieces {
            sender.try_send(Ok(Bytes::from_static(piece.as_bytes()))).unwrap();
        }
        SavedEntry {
            name: "blobs/sha256/x".into(),
            saver: Saver {
                docker: docker_engine_v1_41::Docker::unix("/nonexistent/docker.sock").unwrap(),
                image: "busybox".into(),
            },
            size: pieces.iter().map(|piece| piece.len() as u64).sum(),
            chunks,
            kept: Default::default(),
            kept_from: 0,
            read: 0,
            position: 0,
        }
    }

    async fn rest_of(source: &mut impl BlobSource) -> String {
        let mut rest = String::new();
        while let Some(piece) = source.next_piece().await.unwrap() {
            rest.push_str(std::str::from_utf8(&piece).unwrap());
        }
        rest
    }

    #[tokio::test]
    async fn a_saved_file_is_read_again_from_what_it_kept_or_else_saved_again() {
        let mut entry = saved_entry(&["abc", "defg", "hi"]);
        assert_eq!(rest_of(&mut entry).await, "abcdefghi");
        entry.seek(2).await.unwrap();
        assert_eq!(rest_of(&mut entry).await, "cdefghi");
        // The registry holds 0..4: the first piece is let go, the one holding byte 4 kept.
        entry.stored(4);
        assert_eq!(entry.kept.len(), 2);
        entry.seek(3).await.unwrap();
        assert_eq!(rest_of(&mut entry).await, "defghi");
        // Byte 2 was let go: the image is saved again, from a daemon this test does not have.
        let error = entry.seek(2).await.expect_err("no daemon to save the image again");
        assert!(
            matches!(&error, Error::Connect { endpoint, .. } if endpoint.contains("/nonexistent/docker.sock")),
            "{error}"
        );
        entry.stored(9);
        assert!(entry.kept.is_empty());

        // A file saved again is read up to where the registry's upload ends, keeping nothing
        // before it.
        let mut again = saved_entry(&["abc", "defg", "hi"]);
        again.seek(5).await.unwrap();
        assert_eq!(rest_of(&mut again).await, "fghi");
        assert_eq!((again.kept_from, again.kept.len()), (3, 2));
    }

    #[tokio::test]
    async fn each_byte_is_digested_once_however_often_it_is_sent() {
        let content = Bytes::from((0..300_000u32).map(|i| (i % 251) as u8).collect::<Vec<_>>());
        let mut source = HeldBlob::new("blob".into(), content.clone());
        let mut reading = Reading::default();
        let (frames, mut queued) = tokio::sync::mpsc::channel(1024);
        // A first request sends 100,000 bytes; the registry keeps 70,000 of them.
        assert!(reading.pump(&mut source, 100_000, frames.clone()).await.unwrap());
        reading.rewind(70_000);
        source.seek(70_000).await.unwrap();
        assert!(reading.pump(&mut source, 300_000, frames).await.unwrap());
        let mut sent = Vec::new();
        while let Ok(frame) = queued.try_recv() {
            let frame = frame.unwrap();
            assert!(frame.len() <= FRAME);
            sent.extend_from_slice(&frame);
        }
        assert_eq!(sent.len(), 330_000, "bytes 70,000..100,000 went twice");
        assert_eq!(&sent[100_000..], &content[70_000..]);
        assert_eq!(reading.digester.finish(), Digest::of(&content));
    }

    #[tokio::test]
    async fn a_source_ending_early_is_a_clear_error() {
        let mut entry = saved_entry(&["abc"]);
        entry.size = 10;
        let (frames, _queued) = tokio::sync::mpsc::channel(8);
        let error = Reading::default()
            .pump(&mut entry, 10, frames)
            .await
            .expect_err("3 of 10 bytes");
        assert!(
            matches!(&error, Error::Truncated { message, .. }
                if message == "blobs/sha256/x ended after 3 bytes, before the 10 its source states"),
            "{error}"
        );
    }

    #[test]
    fn upload_ranges_read_as_bytes_held() {
        assert_eq!(received_from_range("0-0").unwrap(), 0);
        assert_eq!(received_from_range("0-1048575").unwrap(), 1_048_576);
        assert!(received_from_range("5-9").is_err());
        assert!(received_from_range("bytes").is_err());
    }

    #[test]
    fn saved_files_are_told_apart_by_name() {
        let id: Digest = format!("sha256:{}", "a".repeat(64)).parse().unwrap();
        let blob = format!("sha256:{}", "b".repeat(64));
        assert_eq!(
            SavedName::of(&format!("blobs/{}", blob.replace(':', "/")), &id),
            Some(SavedName::Blob(blob.parse().unwrap()))
        );
        assert_eq!(
            SavedName::of(&format!("{}.json", "a".repeat(64)), &id),
            Some(SavedName::ClassicConfig)
        );
        assert_eq!(SavedName::of("0123/layer.tar", &id), Some(SavedName::ClassicLayer));
        assert_eq!(
            SavedName::of(&format!("{}.tar", "c".repeat(64)), &id),
            Some(SavedName::ClassicLayer)
        );
        for other in [
            "index.json",
            "manifest.json",
            "oci-layout",
            "repositories",
            "blobs/sha256/short",
            "blobs/sha256",
        ] {
            assert_eq!(SavedName::of(other, &id), None, "{other}");
        }
    }

    #[test]
    fn manifests_are_told_from_configs_and_layers() {
        let manifest = br#"{"schemaVersion":2,"config":{"digest":"sha256:0"},"layers":[]}"#;
        let index = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#;
        let config = br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
        let statement = br#"{"_type":"https://in-toto.io/Statement/v0.1","subject":[{"name":"x"}]}"#;
        assert!(is_manifest(manifest) && is_manifest(index));
        assert!(!is_manifest(config) && !is_manifest(statement));
        assert!(!is_manifest(&[0x1f, 0x8b, 8, 0]), "a gzip layer");
        assert_eq!(media_type_of(manifest).unwrap(), OCI_MANIFEST);
        assert_eq!(media_type_of(index).unwrap(), OCI_INDEX);
    }
}
