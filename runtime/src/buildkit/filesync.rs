//! Folders over a session, as BuildKit's fsutil moves them (`moby.filesync.v1`): the sender
//! lists every entry as a `STAT` packet in walk order (each folder before what it holds, names in
//! byte order) and ends the listing with an empty `STAT`; the receiver compares the listing with
//! what it already holds and asks for the contents of the files it lacks by their place in the
//! listing (`REQ` with the id), which come as `DATA` packets ending with an empty one; the
//! receiver ends with `FIN`, answered with `FIN`. The daemon receives a build's context this
//! way (so a second build sends only what changed) and, for a local output, sends the result.
//!
//! Modes travel as Go's `os.FileMode` bits, not Unix ones.

use std::collections::{HashMap, VecDeque};
use std::fs::{self, Metadata};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use super::grpc::{Code, MessageReader, MessageWriter, Status};
use super::memory::{MemoryEntry, MemoryEntryKind, MemoryTree};
use super::patterns::{clean_path, PatternSet};
use super::session::Report;

/// fsutil's `types.Packet`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Packet {
    #[prost(enumeration = "PacketType", tag = "1")]
    pub(crate) kind: i32,
    #[prost(message, optional, tag = "2")]
    pub(crate) stat: Option<Stat>,
    #[prost(uint32, tag = "3")]
    pub(crate) id: u32,
    #[prost(bytes = "bytes", tag = "4")]
    pub(crate) data: Bytes,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, prost::Enumeration)]
#[repr(i32)]
pub(crate) enum PacketType {
    Stat = 0,
    Req = 1,
    Data = 2,
    Fin = 3,
    Err = 4,
}

/// fsutil's `types.Stat`: one entry of a listing.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Stat {
    #[prost(string, tag = "1")]
    pub(crate) path: String,
    #[prost(uint32, tag = "2")]
    pub(crate) mode: u32,
    #[prost(uint32, tag = "3")]
    pub(crate) uid: u32,
    #[prost(uint32, tag = "4")]
    pub(crate) gid: u32,
    #[prost(int64, tag = "5")]
    pub(crate) size: i64,
    #[prost(int64, tag = "6")]
    pub(crate) mod_time: i64,
    #[prost(string, tag = "7")]
    pub(crate) linkname: String,
    #[prost(int64, tag = "8")]
    pub(crate) devmajor: i64,
    #[prost(int64, tag = "9")]
    pub(crate) devminor: i64,
    #[prost(map = "string, bytes", tag = "10")]
    pub(crate) xattrs: HashMap<String, Vec<u8>>,
}

/// The `bytes` messages of a tar output and of ssh forwarding.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct BytesMessage {
    #[prost(bytes = "bytes", tag = "1")]
    pub(crate) data: Bytes,
}

impl Packet {
    fn of(kind: PacketType) -> Self {
        Packet {
            kind: kind as i32,
            ..Default::default()
        }
    }

    fn packet_type(&self) -> Option<PacketType> {
        PacketType::try_from(self.kind).ok()
    }
}

// Go's os.FileMode bits.
const GO_DIR: u32 = 1 << 31;
const GO_SYMLINK: u32 = 1 << 27;
const GO_DEVICE: u32 = 1 << 26;
const GO_NAMED_PIPE: u32 = 1 << 25;
const GO_SOCKET: u32 = 1 << 24;
const GO_SETUID: u32 = 1 << 23;
const GO_SETGID: u32 = 1 << 22;
const GO_CHAR_DEVICE: u32 = 1 << 21;
const GO_STICKY: u32 = 1 << 20;
const GO_IRREGULAR: u32 = 1 << 19;
const GO_TYPE: u32 = GO_DIR | GO_SYMLINK | GO_NAMED_PIPE | GO_SOCKET | GO_DEVICE | GO_CHAR_DEVICE | GO_IRREGULAR;

/// A Unix `st_mode` as Go's `os.FileMode`.
pub(crate) fn go_mode(unix: u32) -> u32 {
    let kind = match unix & 0o170000 {
        0o040000 => GO_DIR,
        0o120000 => GO_SYMLINK,
        0o010000 => GO_NAMED_PIPE,
        0o140000 => GO_SOCKET,
        0o060000 => GO_DEVICE,
        0o020000 => GO_DEVICE | GO_CHAR_DEVICE,
        _ => 0,
    };
    let mut mode = kind | (unix & 0o777);
    for (unix_bit, go_bit) in [(0o4000, GO_SETUID), (0o2000, GO_SETGID), (0o1000, GO_STICKY)] {
        if unix & unix_bit != 0 {
            mode |= go_bit;
        }
    }
    mode
}

/// The permission bits (with setuid, setgid, sticky) of a Go mode, as Unix has them.
fn unix_permissions(go: u32) -> u32 {
    let mut permissions = go & 0o777;
    for (unix_bit, go_bit) in [(0o4000, GO_SETUID), (0o2000, GO_SETGID), (0o1000, GO_STICKY)] {
        if go & go_bit != 0 {
            permissions |= unix_bit;
        }
    }
    permissions
}

/// Whether the receiver may ask for an entry's contents: regular files only, as fsutil decides.
fn has_contents(go: u32) -> bool {
    go & GO_TYPE == 0
}

/// What the daemon asks of a folder: the options of a `DiffCopy` call.
#[derive(Debug, Default, Clone)]
pub(crate) struct FolderRequest {
    pub(crate) include: Vec<String>,
    pub(crate) exclude: Vec<String>,
    pub(crate) follow: Vec<String>,
}

/// What a session serves as a folder: a folder on disk, or entries held in memory.
#[derive(Debug, Clone)]
pub(crate) enum Tree {
    Folder(PathBuf),
    Memory(Arc<MemoryTree>),
}

impl Tree {
    /// The entries of the folder at `relative` (`""` for the root), in byte order of their names.
    fn entries(&self, relative: &str) -> io::Result<Vec<Entry>> {
        match self {
            Tree::Folder(root) => folder_entries(root, relative),
            Tree::Memory(tree) => Ok(tree
                .children(relative)
                .map(|entry| memory_entry(entry, tree.modified))
                .collect()),
        }
    }

    /// Where the symbolic link at `relative` leads, if that is one.
    fn link_target(&self, relative: &str) -> Option<String> {
        match self {
            Tree::Folder(root) => fs::read_link(root.join(relative))
                .ok()
                .map(|target| target.to_string_lossy().into_owned()),
            Tree::Memory(tree) => tree.link_target(relative),
        }
    }

    fn describe(&self) -> String {
        match self {
            Tree::Folder(root) => root.display().to_string(),
            Tree::Memory(_) => "the files in memory".to_owned(),
        }
    }
}

/// One entry of a folder being listed.
struct Entry {
    stat: Stat,
    is_dir: bool,
    /// A regular file's contents.
    contents: Option<Contents>,
    /// A file with several links: its device and inode, by which later links name the first.
    inode: Option<(u64, u64)>,
}

/// Where a listed file's contents are read from when the daemon asks for them.
enum Contents {
    File(PathBuf),
    Memory(Bytes),
}

/// An entry held in memory as listed: owned by root, modified when its tree was made.
fn memory_entry(entry: &MemoryEntry, modified: i64) -> Entry {
    let (kind, linkname, contents) = match &entry.kind {
        MemoryEntryKind::File(bytes) => (0, String::new(), Some(bytes.clone())),
        MemoryEntryKind::Directory => (0o040000, String::new(), None),
        MemoryEntryKind::Symlink(target) => (0o120000, target.clone(), None),
    };
    Entry {
        stat: Stat {
            path: entry.path.clone(),
            mode: go_mode(kind | entry.mode),
            size: contents.as_ref().map_or(0, |bytes| bytes.len() as i64),
            mod_time: modified,
            linkname,
            ..Default::default()
        },
        is_dir: matches!(entry.kind, MemoryEntryKind::Directory),
        contents: contents.map(Contents::Memory),
        inode: None,
    }
}

fn folder_entries(root: &Path, relative: &str) -> io::Result<Vec<Entry>> {
    let dir = root.join(relative);
    let mut names: Vec<_> = fs::read_dir(&dir)?
        .map(|entry| entry.map(|entry| entry.file_name()))
        .collect::<io::Result<_>>()?;
    names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    let mut entries = Vec::with_capacity(names.len());
    for name in names {
        let Some(name) = name.to_str() else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("the name {name:?} in {} is not UTF-8", dir.display()),
            ));
        };
        let path = if relative.is_empty() {
            name.to_owned()
        } else {
            format!("{relative}/{name}")
        };
        let full = dir.join(name);
        let metadata = match fs::symlink_metadata(&full) {
            Ok(metadata) => metadata,
            // Removed while being listed.
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        entries.push(Entry {
            stat: stat_of(&path, &full, &metadata)?,
            is_dir: metadata.is_dir(),
            inode: (metadata.is_file() && metadata.nlink() > 1).then(|| (metadata.dev(), metadata.ino())),
            contents: metadata.is_file().then_some(Contents::File(full)),
        });
    }
    Ok(entries)
}

/// The entries of a folder to send, in the order they are listed.
struct Listing {
    stats: Vec<Stat>,
    /// Where the contents of each listed regular file are, by its id, and its listed path.
    sources: HashMap<u32, (Contents, String)>,
}

struct Filter {
    include: Option<PatternSet>,
    exclude: Option<PatternSet>,
}

/// Lists `tree` as the request filters it.
fn list(tree: &Tree, request: &FolderRequest) -> Result<Listing, Status> {
    let invalid = |problem: String| Status::new(Code::InvalidArgument, problem);
    let mut include = request.include.clone();
    include.extend(followed_targets(tree, &request.follow));
    let include = PatternSet::new(&include).map_err(|e| invalid(format!("include patterns: {e}")))?;
    let exclude = PatternSet::new(&request.exclude).map_err(|e| invalid(format!("exclude patterns: {e}")))?;
    let filter = Filter {
        include: (!include.is_empty()).then_some(include),
        exclude: (!exclude.is_empty()).then_some(exclude),
    };
    let mut walk = Walk {
        filter: &filter,
        listing: Listing {
            stats: Vec::new(),
            sources: HashMap::new(),
        },
        unlisted_parents: Vec::new(),
        linked: HashMap::new(),
    };
    walk.folder(tree, "")
        .map_err(|e| Status::new(Code::Unknown, format!("reading {}: {e}", tree.describe())))?;
    Ok(walk.listing)
}

/// The paths named in `followpaths` and, where they are symbolic links, what they lead to
/// inside the tree: the paths a listing must include.
fn followed_targets(tree: &Tree, follow: &[String]) -> Vec<String> {
    let mut targets = Vec::new();
    for path in follow {
        let mut current = clean_path(path);
        targets.push(current.clone());
        // A chain of links, as far as a link can lead (Linux stops at 40).
        for _ in 0..40 {
            let Some(target) = tree.link_target(&current) else {
                break;
            };
            let joined = match (target.strip_prefix('/'), current.rsplit_once('/')) {
                (Some(absolute), _) => absolute.to_owned(),
                (None, Some((dir, _))) => format!("{dir}/{target}"),
                (None, None) => target,
            };
            current = clean_path(&joined);
            if current.starts_with("..") {
                break;
            }
            targets.push(current.clone());
        }
    }
    targets
}

struct Walk<'a> {
    filter: &'a Filter,
    listing: Listing,
    /// The folders above the current entry that the filter left out so far: listed only once
    /// something inside them is.
    unlisted_parents: Vec<Option<Stat>>,
    /// The first path listed for each inode with several links, which later ones link to.
    linked: HashMap<(u64, u64), String>,
}

impl Walk<'_> {
    fn folder(&mut self, tree: &Tree, relative: &str) -> io::Result<()> {
        for entry in tree.entries(relative)? {
            let path = entry.stat.path.clone();
            let is_dir = entry.is_dir;
            let included = self.filter.include.as_ref().map_or(true, |set| set.matches(&path));
            if !included && is_dir {
                let include = self.filter.include.as_ref().expect("only a filter leaves a path out");
                if include.could_match_inside(&path, false) == Some(false) {
                    continue;
                }
            }
            let excluded = self.filter.exclude.as_ref().is_some_and(|set| set.matches(&path));
            if excluded && is_dir {
                let exclude = self.filter.exclude.as_ref().expect("matched just above");
                if !exclude.has_exceptions() || exclude.could_match_inside(&path, true) == Some(false) {
                    continue;
                }
            }
            let listed = included && !excluded;
            let unlisted = (is_dir && !listed).then(|| entry.stat.clone());
            if listed {
                self.list_parents();
                self.list(entry);
            }
            if is_dir {
                self.unlisted_parents.push(unlisted);
                let walked = self.folder(tree, &path);
                self.unlisted_parents.pop();
                walked?;
            }
        }
        Ok(())
    }

    fn list_parents(&mut self) {
        for parent in &mut self.unlisted_parents {
            if let Some(stat) = parent.take() {
                self.listing.stats.push(stat);
            }
        }
    }

    fn list(&mut self, entry: Entry) {
        let Entry {
            mut stat,
            contents,
            inode,
            ..
        } = entry;
        let id = self.listing.stats.len() as u32;
        if let Some(inode) = inode {
            match self.linked.get(&inode) {
                Some(first) => {
                    stat.linkname = first.clone();
                    stat.size = 0;
                }
                None => {
                    self.linked.insert(inode, stat.path.clone());
                }
            }
        }
        if let Some(contents) = contents.filter(|_| has_contents(stat.mode) && stat.linkname.is_empty()) {
            self.listing.sources.insert(id, (contents, stat.path.clone()));
        }
        self.listing.stats.push(stat);
    }
}

fn stat_of(path: &str, full: &Path, metadata: &Metadata) -> io::Result<Stat> {
    let mode = go_mode(metadata.mode()) & !GO_SOCKET;
    let mut stat = Stat {
        path: path.to_owned(),
        mode,
        uid: metadata.uid(),
        gid: metadata.gid(),
        mod_time: metadata
            .mtime()
            .saturating_mul(1_000_000_000)
            .saturating_add(metadata.mtime_nsec()),
        ..Default::default()
    };
    if !metadata.is_dir() {
        stat.size = metadata.size() as i64;
    }
    if metadata.file_type().is_symlink() {
        stat.linkname = fs::read_link(full)?.to_string_lossy().into_owned();
    }
    if mode & GO_DEVICE != 0 {
        let device = metadata.rdev();
        stat.devmajor = ((device >> 8) & 0xfff) as i64;
        stat.devminor = ((device & 0xff) | ((device >> 12) & 0xfff00)) as i64;
    }
    Ok(stat)
}

/// Contents are sent in messages of this size at most.
const DATA_CHUNK: usize = 128 * 1024;

/// Sends `tree` to the daemon as `request` asks, answering its requests for contents.
pub(crate) async fn send_folder(
    name: &str,
    tree: Tree,
    request: FolderRequest,
    mut reader: MessageReader,
    writer: MessageWriter,
    report: &Report,
) -> Result<(), Status> {
    let listing = tokio::task::spawn_blocking(move || list(&tree, &request))
        .await
        .map_err(|e| Status::new(Code::Internal, format!("listing the folder failed: {e}")))??;
    let Listing { stats, mut sources } = listing;
    report.listed(stats.len());
    let (requested, mut requests) = mpsc::unbounded_channel::<u32>();

    let send_listing = async {
        for stat in stats {
            let sent = writer
                .send(&Packet {
                    stat: Some(stat),
                    ..Packet::of(PacketType::Stat)
                })
                .await?;
            report.sent_bytes(sent);
        }
        writer.send(&Packet::of(PacketType::Stat)).await?;
        Ok::<_, Status>(())
    };
    let answer_requests = async move {
        loop {
            let Some(packet) = reader.next::<Packet>().await? else {
                return Err(Status::new(
                    Code::Cancelled,
                    "the daemon ended the transfer before finishing it",
                ));
            };
            match packet.packet_type() {
                Some(PacketType::Req) => {
                    let _ = requested.send(packet.id);
                }
                Some(PacketType::Fin) => return Ok(()),
                Some(PacketType::Err) => {
                    return Err(Status::new(
                        Code::Unknown,
                        format!(
                            "the daemon failed to receive the folder: {}",
                            String::from_utf8_lossy(&packet.data)
                        ),
                    ))
                }
                _ => {}
            }
        }
    };
    let send_contents = async {
        let mut buffer = vec![0; DATA_CHUNK];
        while let Some(id) = requests.recv().await {
            let (source, path) = sources.remove(&id).ok_or_else(|| {
                Status::new(
                    Code::InvalidArgument,
                    format!("the daemon asked for entry {id}, which is no file listed"),
                )
            })?;
            let mut size = 0;
            let mut send = |data: Bytes| {
                size += data.len();
                let writer = &writer;
                async move {
                    let sent = writer
                        .send(&Packet {
                            id,
                            data,
                            ..Packet::of(PacketType::Data)
                        })
                        .await?;
                    report.sent_bytes(sent);
                    Ok::<_, Status>(())
                }
            };
            match source {
                Contents::File(source) => {
                    let unreadable =
                        |e: io::Error| Status::new(Code::Unknown, format!("reading {}: {e}", source.display()));
                    let mut file = tokio::fs::File::open(&source).await.map_err(unreadable)?;
                    loop {
                        let read = file.read(&mut buffer).await.map_err(unreadable)?;
                        if read == 0 {
                            break;
                        }
                        send(Bytes::copy_from_slice(&buffer[..read])).await?;
                    }
                }
                Contents::Memory(bytes) => {
                    for start in (0..bytes.len()).step_by(DATA_CHUNK) {
                        send(bytes.slice(start..bytes.len().min(start + DATA_CHUNK))).await?;
                    }
                }
            }
            writer
                .send(&Packet {
                    id,
                    ..Packet::of(PacketType::Data)
                })
                .await?;
            report.sent_file(name, &path, size);
        }
        Ok::<_, Status>(())
    };
    tokio::try_join!(send_listing, answer_requests, send_contents)?;
    writer.send(&Packet::of(PacketType::Fin)).await?;
    Ok(())
}

/// Files asked for at once while receiving: bounds the files open.
const FILES_IN_FLIGHT: usize = 16;

/// Receives a folder the daemon sends (a local output) into `dest`, merged with what is there.
pub(crate) async fn receive_folder(
    dest: &Path,
    mut reader: MessageReader,
    writer: MessageWriter,
    report: &Report,
) -> Result<(), Status> {
    let failed =
        |what: &str, path: &Path, e: io::Error| Status::new(Code::Unknown, format!("{what} {}: {e}", path.display()));
    tokio::fs::create_dir_all(dest)
        .await
        .map_err(|e| failed("creating", dest, e))?;
    let mut next_id = 0u32;
    let mut waiting: VecDeque<(u32, PathBuf, Stat)> = VecDeque::new();
    let mut open: HashMap<u32, (tokio::fs::File, PathBuf, Stat)> = HashMap::new();
    let mut folders: Vec<(PathBuf, Stat)> = Vec::new();
    let mut listed = false;
    let mut finished = false;
    loop {
        while open.len() < FILES_IN_FLIGHT {
            let Some((id, path, stat)) = waiting.pop_front() else {
                break;
            };
            // Made anew rather than opened: whatever is at the path (a link received since its
            // STAT, say) is replaced, never followed.
            let _ = tokio::fs::remove_file(&path).await;
            let file = tokio::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
                .await
                .map_err(|e| failed("creating", &path, e))?;
            writer
                .send(&Packet {
                    id,
                    ..Packet::of(PacketType::Req)
                })
                .await?;
            open.insert(id, (file, path, stat));
        }
        if listed && waiting.is_empty() && open.is_empty() && !finished {
            writer.send(&Packet::of(PacketType::Fin)).await?;
            finished = true;
        }
        let Some(packet) = reader.next::<Packet>().await? else {
            if finished {
                break;
            }
            return Err(Status::new(
                Code::Cancelled,
                "the daemon ended the output before sending all of it",
            ));
        };
        match packet.packet_type() {
            Some(PacketType::Stat) => {
                let Some(stat) = packet.stat else {
                    listed = true;
                    continue;
                };
                let id = next_id;
                next_id += 1;
                let path = entry_path(dest, &stat.path)?;
                if stat.mode & GO_DIR != 0 {
                    // A link where the folder goes is replaced: its mode is set at the end.
                    if fs::symlink_metadata(&path).is_ok_and(|metadata| metadata.file_type().is_symlink()) {
                        let _ = tokio::fs::remove_file(&path).await;
                    }
                    tokio::fs::create_dir_all(&path)
                        .await
                        .map_err(|e| failed("creating", &path, e))?;
                    folders.push((path, stat));
                } else if stat.mode & GO_SYMLINK != 0 {
                    let _ = tokio::fs::remove_file(&path).await;
                    tokio::fs::symlink(&stat.linkname, &path)
                        .await
                        .map_err(|e| failed("linking", &path, e))?;
                } else if has_contents(stat.mode) && !stat.linkname.is_empty() {
                    let target = entry_path(dest, &stat.linkname)?;
                    let _ = tokio::fs::remove_file(&path).await;
                    tokio::fs::hard_link(&target, &path)
                        .await
                        .map_err(|e| failed("linking", &path, e))?;
                } else if has_contents(stat.mode) {
                    waiting.push_back((id, path, stat));
                }
                // Devices, pipes and sockets are not made: they need privileges a client rarely has.
            }
            Some(PacketType::Data) => {
                let Some((file, path, _)) = open.get_mut(&packet.id) else {
                    return Err(Status::new(
                        Code::InvalidArgument,
                        format!(
                            "the daemon sent contents for entry {}, which was not asked for",
                            packet.id
                        ),
                    ));
                };
                if !packet.data.is_empty() {
                    file.write_all(&packet.data)
                        .await
                        .map_err(|e| failed("writing", path, e))?;
                    report.received_bytes(packet.data.len());
                    continue;
                }
                let (mut file, path, stat) = open.remove(&packet.id).expect("looked up just above");
                file.flush().await.map_err(|e| failed("writing", &path, e))?;
                let file = file.into_std().await;
                file.set_permissions(fs::Permissions::from_mode(unix_permissions(stat.mode)))
                    .map_err(|e| failed("setting the mode of", &path, e))?;
                let _ = file.set_modified(modified_time(stat.mod_time));
                report.received_file();
            }
            Some(PacketType::Fin) => {
                // The sender's answer to ours; it ends its side next.
            }
            Some(PacketType::Err) => {
                return Err(Status::new(
                    Code::Unknown,
                    format!(
                        "the daemon failed to send the output: {}",
                        String::from_utf8_lossy(&packet.data)
                    ),
                ))
            }
            _ => {}
        }
    }
    // Folders last and deepest first, so that a read-only folder was still writable while
    // filled.
    for (path, stat) in folders.iter().rev() {
        tokio::fs::set_permissions(path, fs::Permissions::from_mode(unix_permissions(stat.mode)))
            .await
            .map_err(|e| failed("setting the mode of", path, e))?;
    }
    Ok(())
}

/// Receives a tar output into `dest`.
pub(crate) async fn receive_bytes(dest: &Path, mut reader: MessageReader, report: &Report) -> Result<(), Status> {
    let failed = |e: io::Error| Status::new(Code::Unknown, format!("writing {}: {e}", dest.display()));
    let mut file = tokio::fs::File::create(dest).await.map_err(failed)?;
    while let Some(message) = reader.next::<BytesMessage>().await? {
        file.write_all(&message.data).await.map_err(failed)?;
        report.received_bytes(message.data.len());
    }
    file.flush().await.map_err(failed)?;
    report.received_file();
    Ok(())
}

/// `path` as sent, refused when it would lead outside the destination.
fn inside_path(path: &str) -> Result<&str, Status> {
    let escapes =
        path.is_empty() || path.starts_with('/') || path == ".." || path.starts_with("../") || clean_path(path) != path;
    match escapes {
        true => Err(Status::new(
            Code::InvalidArgument,
            format!("the daemon sent the path {path:?}, which is not a clean path inside the output folder"),
        )),
        false => Ok(path),
    }
}

/// Where entry `path` of a received listing goes in `dest`: refused when it leads outside, as
/// [`inside_path`] tells or through a symbolic link on the way (one received earlier, `a` to
/// `/etc`, then `a/passwd`). A listing of a real folder never lists what is inside a link.
fn entry_path(dest: &Path, path: &str) -> Result<PathBuf, Status> {
    let relative = inside_path(path)?;
    let mut above = dest.to_path_buf();
    let (parents, _) = relative.rsplit_once('/').unwrap_or(("", relative));
    for component in parents.split('/').filter(|component| !component.is_empty()) {
        above.push(component);
        if fs::symlink_metadata(&above).is_ok_and(|metadata| metadata.file_type().is_symlink()) {
            return Err(Status::new(
                Code::InvalidArgument,
                format!(
                    "the daemon sent the path {path:?}, which is inside the symbolic link {}",
                    above.display()
                ),
            ));
        }
    }
    Ok(dest.join(relative))
}

fn modified_time(nanoseconds: i64) -> SystemTime {
    match u64::try_from(nanoseconds) {
        Ok(after) => UNIX_EPOCH + Duration::from_nanos(after),
        Err(_) => UNIX_EPOCH - Duration::from_nanos(nanoseconds.unsigned_abs()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("filesync-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn request(include: &[&str], exclude: &[&str]) -> FolderRequest {
        FolderRequest {
            include: include.iter().map(|s| s.to_string()).collect(),
            exclude: exclude.iter().map(|s| s.to_string()).collect(),
            follow: Vec::new(),
        }
    }

    fn paths(listing: &Listing) -> Vec<&str> {
        listing.stats.iter().map(|stat| stat.path.as_str()).collect()
    }

    #[test]
    fn modes_travel_as_go_file_modes() {
        assert_eq!(go_mode(0o100644), 0o644);
        assert_eq!(go_mode(0o040755), GO_DIR | 0o755);
        assert_eq!(go_mode(0o120777), GO_SYMLINK | 0o777);
        assert_eq!(go_mode(0o104755), GO_SETUID | 0o755);
        assert_eq!(go_mode(0o020620), GO_DEVICE | GO_CHAR_DEVICE | 0o620);
        assert_eq!(unix_permissions(GO_SETGID | GO_STICKY | 0o750), 0o3750);
        assert!(has_contents(0o644) && !has_contents(GO_DIR | 0o755) && !has_contents(GO_SYMLINK));
    }

    #[test]
    fn a_listing_walks_folders_before_their_contents_in_byte_order() {
        let root = scratch("order");
        fs::create_dir_all(root.join("a/b")).unwrap();
        fs::write(root.join("a/b/c"), "c").unwrap();
        fs::write(root.join("a-b"), "x").unwrap();
        fs::write(root.join("B"), "upper").unwrap();
        std::os::unix::fs::symlink("a-b", root.join("link")).unwrap();
        let listing = list(&Tree::Folder(root.clone()), &FolderRequest::default()).unwrap();
        assert_eq!(paths(&listing), ["B", "a", "a/b", "a/b/c", "a-b", "link"]);
        assert_eq!(listing.stats[5].linkname, "a-b");
        assert_eq!(listing.stats[5].mode & GO_SYMLINK, GO_SYMLINK);
        assert_eq!(listing.stats[3].size, 1);
        // Contents are asked for by place in the listing: files only.
        let mut ids: Vec<u32> = listing.sources.keys().copied().collect();
        ids.sort();
        assert_eq!(ids, [0, 3, 4]);
        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn excluded_paths_are_not_listed_and_exceptions_list_their_folders() {
        let root = scratch("exclude");
        fs::create_dir_all(root.join("logs")).unwrap();
        fs::create_dir_all(root.join("secret")).unwrap();
        fs::write(root.join("logs/a.log"), "a").unwrap();
        fs::write(root.join("logs/keep.log"), "k").unwrap();
        fs::write(root.join("secret/key"), "k").unwrap();
        fs::write(root.join("main.rs"), "m").unwrap();
        let listing = list(
            &Tree::Folder(root.clone()),
            &request(&[], &["logs", "!logs/keep.log", "secret"]),
        )
        .unwrap();
        assert_eq!(paths(&listing), ["logs", "logs/keep.log", "main.rs"]);
        let only = list(&Tree::Folder(root.clone()), &request(&["main.rs", "secret/key"], &[])).unwrap();
        assert_eq!(paths(&only), ["main.rs", "secret", "secret/key"]);
        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn hard_links_name_the_first_path_listed() {
        let root = scratch("links");
        fs::write(root.join("one"), "same").unwrap();
        fs::hard_link(root.join("one"), root.join("two")).unwrap();
        let listing = list(&Tree::Folder(root.clone()), &FolderRequest::default()).unwrap();
        assert_eq!(listing.stats[1].linkname, "one");
        assert_eq!(listing.stats[1].size, 0);
        assert_eq!(listing.sources.len(), 1);
        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn followed_links_bring_their_targets_into_the_listing() {
        let root = scratch("follow");
        fs::create_dir_all(root.join("real")).unwrap();
        fs::write(root.join("real/Dockerfile"), "FROM scratch").unwrap();
        std::os::unix::fs::symlink("real/Dockerfile", root.join("Dockerfile")).unwrap();
        let mut asked = request(&["Dockerfile"], &[]);
        asked.follow = vec!["Dockerfile".into()];
        let listing = list(&Tree::Folder(root.clone()), &asked).unwrap();
        assert_eq!(paths(&listing), ["Dockerfile", "real", "real/Dockerfile"]);
        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn received_paths_stay_inside_the_destination() {
        assert!(inside_path("a/b").is_ok());
        for bad in ["", "/etc/passwd", "..", "../x", "a/../../x", "a//b", "./a"] {
            assert!(inside_path(bad).is_err(), "{bad}");
        }
    }
}
