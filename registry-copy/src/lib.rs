//! Moving images between registries with the Registry API crate, as `crane copy` does: every
//! manifest and blob is checked against its digest while it passes, blobs the destination has
//! are skipped and blobs of another repository of the same registry are mounted, uploads go in
//! chunks (memory stays bounded by the chunk size, whatever the layer size) and resume from the
//! offset the registry reports after a dropped connection, and downloads resume with `Range`.

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
    /// The size of each upload request (`PATCH`); also the most of a blob held in memory.
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
    descriptor.digest.as_deref().unwrap_or_default().parse()
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
        let size = descriptor.size.unwrap_or_default().max(0) as u64;
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
        let mut source = BlobReader::open(self.source, self.from, digest.clone()).await?;
        let uploader = Uploader {
            registry: self.destination,
            repository: self.to,
            options: self.options,
        };
        let (sent, resumed) = uploader.upload(&mut source, location, &digest).await?;
        self.tell(Progress::Done {
            digest: digest.to_string(),
        });
        Ok(Moved::Copied { sent, resumed })
    }
}

/// Where a blob's bytes come from, a chunk at a time.
pub trait BlobSource {
    /// The next `size` bytes (fewer at the end), `None` after the last.
    fn next_chunk(&mut self, size: usize) -> impl Future<Output = Result<Option<Bytes>>> + Send;

    /// Continues after a failed read from the end of the last chunk handed out; an error when
    /// the source cannot.
    fn reopen(&mut self) -> impl Future<Output = Result<()>> + Send;

    /// Starts again from the first byte; an error when the source cannot.
    fn restart(&mut self) -> impl Future<Output = Result<()>> + Send;

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

/// Uploads blobs into one repository, in chunks.
struct Uploader<'a> {
    registry: &'a Registry,
    repository: &'a str,
    options: &'a CopyOptions,
}

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
                // what it holds, as after a chunk cut off halfway: the blob is sent again.
                Err(Transfer::UploadLost(_)) if resumed < self.options.retries => {
                    resumed += 1;
                    source.restart().await?;
                    let ((), restarted) = self
                        .registry
                        .uploads()
                        .start(self.repository)
                        .send_with_headers()
                        .await?;
                    location = restarted
                        .location
                        .ok_or_else(|| missing_header("UploadStart", "Location"))?;
                }
                Err(Transfer::UploadLost(error) | Transfer::Failed(error)) => return Err(error),
            }
        }
    }

    /// Streams `source` into the upload at `location` in chunks, computing its digest on the
    /// way. Dropped connections are survived (counted in `resumed`): a read is taken up where it
    /// broke off, an upload continued from what the registry reports holding.
    async fn transfer(
        &self,
        source: &mut impl BlobSource,
        mut location: String,
        resumed: &mut u32,
    ) -> Result<Sent, Transfer> {
        let mut digester = Digester::new();
        // How much the registry holds of the upload.
        let mut stored: u64 = 0;
        loop {
            // A chunk of nothing would read as the end of the blob.
            let chunk = match source.next_chunk(self.options.chunk_size.max(1)).await {
                Ok(chunk) => chunk,
                Err(error) if *resumed < self.options.retries && is_transient(&error) => {
                    *resumed += 1;
                    source.reopen().await?;
                    continue;
                }
                Err(error) => return Err(error.into()),
            };
            let Some(chunk) = chunk else { break };
            digester.update(&chunk);
            let mut unsent = chunk;
            while !unsent.is_empty() {
                match self.send_chunk(&location, stored, unsent.clone()).await {
                    Ok(next) => {
                        stored += unsent.len() as u64;
                        unsent = Bytes::new();
                        location = next;
                    }
                    // The upload is gone: a chunk cut off halfway may reach the registry after
                    // it told us how much it held, and it then drops the upload.
                    Err(error) if error.status() == Some(404) => return Err(Transfer::UploadLost(error)),
                    // A dropped connection, or a chunk that did not start where the registry's
                    // upload ends (416).
                    Err(error)
                        if *resumed < self.options.retries && (is_transient(&error) || error.status() == Some(416)) =>
                    {
                        *resumed += 1;
                        // Ask the registry how much it kept, and send the rest from there.
                        let (next, kept) = self.upload_status(&location).await.map_err(Transfer::UploadLost)?;
                        if kept < stored {
                            return Err(Transfer::UploadLost(error));
                        }
                        let taken = (kept - stored).min(unsent.len() as u64);
                        stored += taken;
                        unsent = unsent.slice(taken as usize..);
                        location = next;
                    }
                    Err(error) => return Err(error.into()),
                }
                if let Some(tell) = &self.options.progress {
                    tell(&Progress::Sent {
                        digest: source.name(),
                        sent: stored,
                    });
                }
            }
        }
        Ok(Sent {
            location,
            digest: digester.finish(),
            bytes: stored,
            resumed: *resumed,
        })
    }

    /// Sends `chunk` at offset `start`; returns the location to continue at.
    async fn send_chunk(&self, location: &str, start: u64, chunk: Bytes) -> Result<String> {
        let end = start + chunk.len() as u64 - 1;
        let ((), headers) = self
            .registry
            .uploads()
            .chunk(location, Body::from_bytes(chunk))
            .content_range(format!("{start}-{end}"))
            .send_with_headers()
            .await?;
        headers
            .location
            .ok_or_else(|| missing_header("UploadChunk", "Location"))
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

/// Pushes `image` from a Docker daemon to `to` with the registry client: the daemon's saved
/// image (`ImageGet`, read once, a chunk at a time) gives the config and the layers, sent
/// uncompressed (`application/vnd.oci.image.layer.v1.tar`) under the digests the daemon names
/// for them (the image id and `RootFS.Layers`), each checked as it passes, then an OCI manifest.
/// What the registry holds already is not sent; when it holds everything, the image is not even
/// read. (A saved image does not say which layer file is which digest until it has been read,
/// so a layer the registry has is read, and its upload abandoned, when others are missing.)
pub async fn push_from_daemon(
    docker: &docker_engine_v1_41::Docker,
    image: &str,
    destination: &Registry,
    to: &Reference,
    options: &CopyOptions,
) -> Result<CopyReport> {
    let inspected = docker.images().inspect(image).send().await?;
    let config_digest: Digest = inspected.id.unwrap_or_default().parse()?;
    let layers: Vec<Digest> = inspected
        .root_fs
        .and_then(|root_fs| root_fs.layers)
        .unwrap_or_default()
        .iter()
        .map(|layer| layer.parse())
        .collect::<Result<_>>()?;
    let mut report = CopyReport::default();
    let mut missing = Vec::new();
    for digest in std::iter::once(&config_digest).chain(&layers) {
        match destination.blobs().head(&to.repository, digest.as_str()).send().await {
            Ok(()) => report.blobs_present += 1,
            Err(e) if e.is_not_found() => missing.push(digest.clone()),
            Err(e) => return Err(e),
        }
    }
    let uploader = Uploader {
        registry: destination,
        repository: &to.repository,
        options,
    };
    // The size of each blob, for the manifest.
    let mut sizes: std::collections::HashMap<Digest, u64> = std::collections::HashMap::new();
    if !missing.is_empty() {
        let export = docker.images().get(image).send().await?;
        let mut entries = saved_entries(export);
        while let Some(mut entry) = entries.recv().await {
            // Which blob a layer file is shows once it is read: it is uploaded as it is read and
            // its digest checked at the end against the image's.
            let is_config = entry.name == format!("{}.json", config_digest.as_str().trim_start_matches("sha256:"));
            // Docker names layer files `ID/layer.tar`, Podman `DIGEST.tar`.
            if !is_config && !entry.name.ends_with(".tar") {
                continue;
            }
            let ((), started) = destination.uploads().start(&to.repository).send_with_headers().await?;
            let location = started
                .location
                .ok_or_else(|| missing_header("UploadStart", "Location"))?;
            let sent = uploader.send_all(&mut entry, location).await?;
            let wanted = if is_config {
                sent.digest == config_digest
            } else {
                layers.contains(&sent.digest)
            };
            if !wanted {
                uploader.abandon(&sent.location).await;
                return Err(Error::DigestMismatch {
                    operation: "ImageGet",
                    expected: if is_config {
                        config_digest.to_string()
                    } else {
                        format!("one of the layers {image} lists ({} of them)", layers.len())
                    },
                    actual: sent.digest.to_string(),
                });
            }
            sizes.insert(sent.digest.clone(), sent.bytes);
            if missing.contains(&sent.digest) {
                uploader.complete(&sent).await?;
                report.blobs_copied += 1;
                report.bytes_sent += sent.bytes;
                report.resumed += sent.resumed;
            } else {
                uploader.abandon(&sent.location).await;
            }
        }
        if let Some(error) = entries.error() {
            return Err(error);
        }
    }
    let mut layer_descriptors = Vec::new();
    for layer in &layers {
        layer_descriptors.push(serde_json::json!({
            "mediaType": "application/vnd.oci.image.layer.v1.tar",
            "digest": layer.as_str(),
            "size": blob_size(destination, &to.repository, &sizes, layer).await?,
        }));
    }
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": config_digest.as_str(),
            "size": blob_size(destination, &to.repository, &sizes, &config_digest).await?,
        },
        "layers": layer_descriptors,
    });
    let bytes = Bytes::from(serde_json::to_vec(&manifest).expect("JSON values serialize"));
    let digest = Digest::of(&bytes);
    let reference = to.tag.clone().unwrap_or_else(|| digest.to_string());
    destination
        .manifests()
        .put(
            &to.repository,
            reference,
            "application/vnd.oci.image.manifest.v1+json",
            Body::from_bytes(bytes),
        )
        .send()
        .await?;
    report.manifests = 1;
    report.digest = Some(digest);
    Ok(report)
}

/// The size of blob `digest`: as sent, or else as the registry holds it.
async fn blob_size(
    registry: &Registry,
    repository: &str,
    sent: &std::collections::HashMap<Digest, u64>,
    digest: &Digest,
) -> Result<u64> {
    if let Some(size) = sent.get(digest) {
        return Ok(*size);
    }
    let ((), headers) = registry
        .blobs()
        .head(repository, digest.as_str())
        .send_with_headers()
        .await?;
    let size = headers
        .content_length
        .ok_or_else(|| missing_header("BlobHead", "Content-Length"))?;
    Ok(size.max(0) as u64)
}

/// One file of a saved image, streamed from the thread reading the archive.
struct SavedEntry {
    name: String,
    chunks: tokio::sync::mpsc::Receiver<std::io::Result<Bytes>>,
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

fn saved_entries(export: ByteStream) -> SavedEntries {
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
                let (chunk_sender, chunks) = tokio::sync::mpsc::channel(4);
                let saved = SavedEntry { name, chunks };
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
    async fn next_chunk(&mut self, size: usize) -> Result<Option<Bytes>> {
        let mut chunk = BytesMut::with_capacity(size);
        while chunk.len() < size {
            match self.chunks.recv().await {
                Some(piece) => chunk.extend_from_slice(&piece.map_err(|e| Error::Stream {
                    operation: "ImageGet",
                    message: e.to_string(),
                })?),
                None => break,
            }
        }
        Ok((!chunk.is_empty()).then(|| chunk.freeze()))
    }

    async fn reopen(&mut self) -> Result<()> {
        Err(self.cannot_go_back())
    }

    async fn restart(&mut self) -> Result<()> {
        Err(self.cannot_go_back())
    }

    fn name(&self) -> String {
        self.name.clone()
    }
}

impl SavedEntry {
    fn cannot_go_back(&self) -> Error {
        Error::InvalidArgument {
            operation: "ImageGet",
            message: format!("{} of the saved image cannot be read again", self.name),
        }
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

/// A blob read from a registry chunk by chunk, reopened with `Range` where it broke off.
pub struct BlobReader<'a> {
    registry: &'a Registry,
    repository: &'a str,
    digest: Digest,
    body: ByteStream,
    /// Bytes handed out so far.
    offset: u64,
    /// What the last piece read held past the last chunk handed out.
    leftover: Bytes,
}

impl<'a> BlobReader<'a> {
    pub async fn open(registry: &'a Registry, repository: &'a str, digest: Digest) -> Result<Self> {
        let body = registry.blobs().get(repository, digest.as_str()).send().await?;
        Ok(BlobReader {
            registry,
            repository,
            digest,
            body,
            offset: 0,
            leftover: Bytes::new(),
        })
    }
}

impl BlobSource for BlobReader<'_> {
    async fn next_chunk(&mut self, size: usize) -> Result<Option<Bytes>> {
        // Exactly one allocation of `size` per chunk: a piece running past it is split, not
        // appended (which doubled the buffer).
        let mut chunk = BytesMut::with_capacity(size);
        let mut piece = std::mem::take(&mut self.leftover);
        loop {
            let wanted = size - chunk.len();
            if piece.len() >= wanted {
                chunk.extend_from_slice(&piece.split_to(wanted));
                self.leftover = piece;
                break;
            }
            chunk.extend_from_slice(&piece);
            piece = match self.body.next().await {
                Some(piece) => piece?,
                None => break,
            };
        }
        if chunk.is_empty() {
            return Ok(None);
        }
        self.offset += chunk.len() as u64;
        Ok(Some(chunk.freeze()))
    }

    /// Asks for the rest of the blob from where the last chunk ended; what was read past it
    /// and not handed out is dropped and read again.
    async fn reopen(&mut self) -> Result<()> {
        self.leftover = Bytes::new();
        let (body, headers) = self
            .registry
            .blobs()
            .get(self.repository, self.digest.as_str())
            .range(format!("bytes={}-", self.offset))
            .send_with_headers()
            .await?;
        let from = headers
            .content_range
            .as_deref()
            .and_then(|range| range.strip_prefix("bytes "))
            .and_then(|range| range.split('-').next())
            .and_then(|start| start.parse::<u64>().ok());
        if from != Some(self.offset) && self.offset > 0 {
            return Err(Error::InvalidArgument {
                operation: "BlobGet",
                message: format!(
                    "the registry did not resume the blob at byte {} (Content-Range {:?})",
                    self.offset, headers.content_range
                ),
            });
        }
        self.body = body;
        Ok(())
    }

    async fn restart(&mut self) -> Result<()> {
        self.offset = 0;
        self.reopen().await
    }

    fn name(&self) -> String {
        self.digest.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_ranges_read_as_bytes_held() {
        assert_eq!(received_from_range("0-0").unwrap(), 0);
        assert_eq!(received_from_range("0-1048575").unwrap(), 1_048_576);
        assert!(received_from_range("5-9").is_err());
        assert!(received_from_range("bytes").is_err());
    }
}
