//! Tar bodies for build contexts, archive uploads and image imports.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures_util::stream;
use tokio::sync::mpsc;

use crate::http::request::Body;

/// How many tar chunks may wait for the connection before the tarring thread blocks, so a large
/// directory is streamed in bounded memory.
const CHUNKS_IN_FLIGHT: usize = 4;
const CHUNK_SIZE: usize = 64 * 1024;

/// A tar archive of in-memory files (path inside the archive, content), mode 0644; for other
/// modes, directories and symbolic links, [`tar_entries`].
pub fn tar_files<P: AsRef<str>, C: AsRef<[u8]>>(files: impl IntoIterator<Item = (P, C)>) -> io::Result<Vec<u8>> {
    let mut archive = tar::Builder::new(Vec::new());
    for (path, content) in files {
        append_file(&mut archive, path.as_ref(), content.as_ref(), 0o644)?;
    }
    archive.into_inner()
}

/// Appends a regular file, an error naming its path when the format cannot hold it; the
/// content is written from where it is, never copied first.
fn append_file(archive: &mut tar::Builder<Vec<u8>>, path: &str, content: &[u8], mode: u32) -> io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_mode(mode);
    header.set_entry_type(tar::EntryType::Regular);
    header.set_size(content.len() as u64);
    archive
        .append_data(&mut header, path, content)
        .map_err(|e| entry_error(path, e))
}

fn entry_error(path: &str, error: io::Error) -> io::Error {
    io::Error::new(error.kind(), format!("tar entry {path:?}: {error}"))
}

/// One entry of an archive made in memory: a file (mode 0644 unless set), a directory (0755) or
/// a symbolic link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TarEntry {
    pub(crate) path: String,
    pub(crate) kind: TarEntryKind,
    pub(crate) mode: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TarEntryKind {
    File(Vec<u8>),
    Directory,
    Symlink(String),
}

impl TarEntry {
    pub fn file(path: impl Into<String>, content: impl Into<Vec<u8>>) -> Self {
        TarEntry {
            path: path.into(),
            kind: TarEntryKind::File(content.into()),
            mode: 0o644,
        }
    }

    pub fn directory(path: impl Into<String>) -> Self {
        TarEntry {
            path: path.into(),
            kind: TarEntryKind::Directory,
            mode: 0o755,
        }
    }

    /// A symbolic link at `path` to `target`, which is kept as written (relative or absolute).
    pub fn symlink(path: impl Into<String>, target: impl Into<String>) -> Self {
        TarEntry {
            path: path.into(),
            kind: TarEntryKind::Symlink(target.into()),
            mode: 0o777,
        }
    }

    /// The permission bits (`0o755` for an executable).
    pub fn mode(mut self, mode: u32) -> Self {
        self.mode = mode;
        self
    }
}

/// A tar archive of in-memory entries, in the order given. A path the format cannot hold (an
/// absolute one, one with `..`) is an error naming it.
pub fn tar_entries(entries: impl IntoIterator<Item = TarEntry>) -> io::Result<Vec<u8>> {
    let mut archive = tar::Builder::new(Vec::new());
    for entry in entries {
        let mut header = tar::Header::new_gnu();
        header.set_mode(entry.mode);
        let named = |e: io::Error| entry_error(&entry.path, e);
        match &entry.kind {
            TarEntryKind::File(content) => append_file(&mut archive, &entry.path, content, entry.mode)?,
            TarEntryKind::Directory => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_size(0);
                archive
                    .append_data(&mut header, &entry.path, io::empty())
                    .map_err(named)?;
            }
            TarEntryKind::Symlink(target) => {
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_size(0);
                archive.append_link(&mut header, &entry.path, target).map_err(named)?;
            }
        }
    }
    archive.into_inner()
}

/// The directory `dir` as a tar body, produced on a thread while it is sent; files are stored
/// relative to `dir`, symlinks as links. A file that cannot be read fails the request with an
/// error naming it.
pub fn tar_directory(dir: impl Into<PathBuf>) -> Body {
    let dir = dir.into();
    let (sender, receiver) = mpsc::channel::<io::Result<Bytes>>(CHUNKS_IN_FLIGHT);
    std::thread::spawn(move || {
        let mut writer = ChunkWriter {
            sender: sender.clone(),
            buffer: Vec::with_capacity(CHUNK_SIZE),
        };
        let result = append_directory(&mut writer, &dir).and_then(|()| writer.flush());
        if let Err(error) = result {
            let _ = sender.blocking_send(Err(error));
        }
    });
    Body::from_stream(stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|chunk| (chunk, receiver))
    }))
}

fn append_directory(writer: &mut ChunkWriter, dir: &Path) -> io::Result<()> {
    if !dir.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{} is not a directory", dir.display()),
        ));
    }
    let mut archive = tar::Builder::new(writer);
    archive.follow_symlinks(false);
    archive
        .append_dir_all(".", dir)
        .map_err(|e| io::Error::new(e.kind(), format!("tarring {}: {e}", dir.display())))?;
    archive.finish()
}

/// Collects tar output into chunks and hands each to the body stream, blocking while the
/// connection is behind.
struct ChunkWriter {
    sender: mpsc::Sender<io::Result<Bytes>>,
    buffer: Vec<u8>,
}

impl Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(data);
        if self.buffer.len() >= CHUNK_SIZE {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buffer, Vec::with_capacity(CHUNK_SIZE)));
        self.sender
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the request was dropped"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn collect(body: Body) -> io::Result<Vec<u8>> {
        Ok(body.http.collect().await?.to_bytes().to_vec())
    }

    fn entries(tar: &[u8]) -> Vec<(String, Vec<u8>)> {
        let mut archive = tar::Archive::new(tar);
        let mut found = Vec::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let path = entry.path().unwrap().display().to_string();
            let mut content = Vec::new();
            io::Read::read_to_end(&mut entry, &mut content).unwrap();
            found.push((path, content));
        }
        found
    }

    #[test]
    fn in_memory_files_round_trip() {
        let tar = tar_files([("Dockerfile", &b"FROM scratch\n"[..]), ("app/run.sh", b"echo hi\n")]).unwrap();
        assert_eq!(
            entries(&tar),
            vec![
                ("Dockerfile".to_owned(), b"FROM scratch\n".to_vec()),
                ("app/run.sh".to_owned(), b"echo hi\n".to_vec())
            ]
        );
    }

    #[test]
    fn entries_keep_their_modes_and_links() {
        let tar = tar_entries([
            TarEntry::directory("bin"),
            TarEntry::file("bin/run", "#!/bin/sh\necho hi\n").mode(0o755),
            TarEntry::symlink("run", "bin/run"),
            TarEntry::file("notes", "plain"),
        ])
        .unwrap();
        let mut archive = tar::Archive::new(&tar[..]);
        let found: Vec<(String, tar::EntryType, u32, Option<String>)> = archive
            .entries()
            .unwrap()
            .map(|entry| {
                let entry = entry.unwrap();
                let header = entry.header();
                let link = entry.link_name().unwrap().map(|l| l.display().to_string());
                (
                    entry.path().unwrap().display().to_string(),
                    header.entry_type(),
                    header.mode().unwrap(),
                    link,
                )
            })
            .collect();
        assert_eq!(
            found,
            [
                ("bin".to_owned(), tar::EntryType::Directory, 0o755, None),
                ("bin/run".to_owned(), tar::EntryType::Regular, 0o755, None),
                (
                    "run".to_owned(),
                    tar::EntryType::Symlink,
                    0o777,
                    Some("bin/run".to_owned())
                ),
                ("notes".to_owned(), tar::EntryType::Regular, 0o644, None),
            ]
        );
    }

    #[test]
    fn a_path_outside_the_archive_is_an_error_naming_it() {
        let error = tar_entries([TarEntry::file("../escape", "x")]).unwrap_err();
        assert!(error.to_string().contains("\"../escape\""), "{error}");
    }

    #[tokio::test]
    async fn a_directory_is_streamed_whole_beyond_the_channel_capacity() {
        let dir = std::env::temp_dir().join(format!("tar-directory-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        let big: Vec<u8> = (0..CHUNK_SIZE * (CHUNKS_IN_FLIGHT + 3))
            .map(|i| (i % 251) as u8)
            .collect();
        std::fs::write(dir.join("sub/big.bin"), &big).unwrap();
        std::fs::write(dir.join("Dockerfile"), "FROM busybox\n").unwrap();

        let tar = collect(tar_directory(&dir)).await.unwrap();
        let mut files = entries(&tar);
        files.retain(|(_, content)| !content.is_empty());
        files.sort();
        assert_eq!(files.len(), 2);
        assert_eq!(files[0], ("Dockerfile".to_owned(), b"FROM busybox\n".to_vec()));
        assert_eq!(files[1].0, "sub/big.bin");
        assert!(files[1].1 == big, "the large file came out changed");
    }

    #[tokio::test]
    async fn a_missing_directory_fails_the_body_naming_it() {
        let error = collect(tar_directory("/no/such/context")).await.unwrap_err();
        assert!(error.to_string().contains("/no/such/context"), "{error}");
    }
}
