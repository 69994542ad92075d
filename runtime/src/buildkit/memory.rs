//! Files held in memory, served to a build as a folder: each entry by its path, with the
//! folders its path implies, so that a Dockerfile and a context need no folder on disk.

use std::collections::BTreeMap;

use bytes::Bytes;

use super::patterns::clean_path;
use crate::docker::{TarEntry, TarEntryKind};

/// An entry as the folder holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MemoryEntryKind {
    File(Bytes),
    Directory,
    Symlink(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MemoryEntry {
    pub(crate) path: String,
    pub(crate) kind: MemoryEntryKind,
    /// The permission bits.
    pub(crate) mode: u32,
}

/// A folder of entries in memory.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct MemoryTree {
    /// When every entry was last modified, in nanoseconds since the Unix epoch: when the tree
    /// was made, later than any tree made before it in this process. A daemon that holds an
    /// earlier build's files compares times and sizes, so a file changed to one of the same
    /// size is sent again.
    pub(crate) modified: i64,
    entries: BTreeMap<String, MemoryEntry>,
    /// The paths of each folder's entries by their names (`""` is the root), in byte order.
    children: BTreeMap<String, BTreeMap<String, String>>,
}

impl MemoryTree {
    /// The tree of `entries`. A path that is not a clean relative one, given twice, or inside
    /// something other than a folder is an error naming it.
    pub(crate) fn new(entries: impl IntoIterator<Item = TarEntry>) -> Result<MemoryTree, String> {
        let mut tree = MemoryTree {
            modified: later_than_the_last(),
            ..MemoryTree::default()
        };
        for entry in entries {
            let path = entry.path.trim_end_matches('/');
            if path.is_empty() || path.starts_with('/') || clean_path(path) != path || path.starts_with("..") {
                return Err(format!(
                    "the path {:?} is not a clean path inside the folder (relative, without `.` or `..`)",
                    entry.path
                ));
            }
            let kind = match entry.kind {
                TarEntryKind::File(contents) => MemoryEntryKind::File(Bytes::from(contents)),
                TarEntryKind::Directory => MemoryEntryKind::Directory,
                TarEntryKind::Symlink(target) => MemoryEntryKind::Symlink(target),
            };
            let path = path.to_owned();
            tree.add_parents(&path)?;
            let mode = entry.mode & 0o7777;
            match (tree.entries.get_mut(&path), &kind) {
                // A folder named after what it holds: its mode is the one given.
                (
                    Some(
                        given @ MemoryEntry {
                            kind: MemoryEntryKind::Directory,
                            ..
                        },
                    ),
                    MemoryEntryKind::Directory,
                ) => given.mode = mode,
                (Some(_), _) => return Err(format!("the path {path:?} is given twice")),
                (None, _) => tree.insert(MemoryEntry { path, kind, mode }),
            }
        }
        Ok(tree)
    }

    /// The folders above `path`, made where not given.
    fn add_parents(&mut self, path: &str) -> Result<(), String> {
        let mut parent = String::new();
        let components: Vec<&str> = path.split('/').collect();
        for component in &components[..components.len() - 1] {
            if !parent.is_empty() {
                parent.push('/');
            }
            parent.push_str(component);
            match self.entries.get(&parent) {
                Some(MemoryEntry {
                    kind: MemoryEntryKind::Directory,
                    ..
                }) => {}
                Some(_) => return Err(format!("{path:?} is inside {parent:?}, which is not a folder")),
                None => self.insert(MemoryEntry {
                    path: parent.clone(),
                    kind: MemoryEntryKind::Directory,
                    mode: 0o755,
                }),
            }
        }
        Ok(())
    }

    fn insert(&mut self, entry: MemoryEntry) {
        let (parent, name) = entry.path.rsplit_once('/').unwrap_or(("", &entry.path));
        self.children
            .entry(parent.to_owned())
            .or_default()
            .insert(name.to_owned(), entry.path.clone());
        self.entries.insert(entry.path.clone(), entry);
    }

    /// The entries of the folder at `relative` (`""` for the root), in byte order of their names.
    pub(crate) fn children(&self, relative: &str) -> impl Iterator<Item = &MemoryEntry> {
        self.children
            .get(relative)
            .into_iter()
            .flat_map(|names| names.values())
            .filter_map(|path| self.entries.get(path))
    }

    /// Where the symbolic link at `relative` leads, if that is one.
    pub(crate) fn link_target(&self, relative: &str) -> Option<String> {
        match &self.entries.get(relative)?.kind {
            MemoryEntryKind::Symlink(target) => Some(target.clone()),
            _ => None,
        }
    }
}

/// Now in nanoseconds since the Unix epoch, or one more than the last time given if that is later.
fn later_than_the_last() -> i64 {
    use std::sync::atomic::{AtomicI64, Ordering};
    static LAST: AtomicI64 = AtomicI64::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| i64::try_from(since.as_nanos()).unwrap_or(i64::MAX));
    let previous = LAST
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| Some(now.max(last + 1)))
        .expect("the update always gives a value");
    now.max(previous + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(tree: &MemoryTree, folder: &str) -> Vec<String> {
        tree.children(folder).map(|entry| entry.path.clone()).collect()
    }

    #[test]
    fn paths_imply_their_folders_and_list_in_byte_order() {
        let tree = MemoryTree::new([
            TarEntry::file("src/main.rs", "fn main() {}"),
            TarEntry::file("Dockerfile", "FROM scratch"),
            TarEntry::symlink("latest", "src"),
            TarEntry::directory("empty/"),
            TarEntry::file("src/bin/tool.rs", "").mode(0o755),
        ])
        .unwrap();
        assert_eq!(names(&tree, ""), ["Dockerfile", "empty", "latest", "src"]);
        assert_eq!(names(&tree, "src"), ["src/bin", "src/main.rs"]);
        assert_eq!(tree.link_target("latest").as_deref(), Some("src"));
        assert_eq!(tree.link_target("src"), None);
        let implied = tree.children("src").next().unwrap();
        assert_eq!((&implied.kind, implied.mode), (&MemoryEntryKind::Directory, 0o755));
        assert_eq!(tree.children("src/bin").next().unwrap().mode, 0o755);
    }

    #[test]
    fn each_tree_is_modified_after_the_one_made_before_it() {
        let first = MemoryTree::new([TarEntry::file("a", "1")]).unwrap();
        let second = MemoryTree::new([TarEntry::file("a", "2")]).unwrap();
        assert!(second.modified > first.modified);
    }

    #[test]
    fn a_path_outside_the_folder_given_twice_or_inside_a_file_is_refused_by_name() {
        for bad in ["/etc/passwd", "../up", "a/../b", "./a", "a//b", ""] {
            let error = MemoryTree::new([TarEntry::file(bad, "x")]).unwrap_err();
            assert!(error.contains(&format!("{bad:?}")), "{error}");
        }
        let twice = MemoryTree::new([TarEntry::file("a", "1"), TarEntry::file("a", "2")]).unwrap_err();
        assert!(twice.contains("given twice"), "{twice}");
        let inside = MemoryTree::new([TarEntry::file("a", "1"), TarEntry::file("a/b", "2")]).unwrap_err();
        assert!(inside.contains("not a folder"), "{inside}");
        let folder = MemoryTree::new([TarEntry::file("a/b", "1"), TarEntry::directory("a").mode(0o700)]).unwrap();
        assert_eq!(folder.children("").next().unwrap().mode, 0o700);
    }
}
