//! Laying out generated Rust (syn's parse and prettyplease) is half the generator's time, and
//! most runs lay out the same tokens as the run before. The cache remembers, per generated file,
//! a fingerprint of the tokens it was made from and one of the text written; when the tokens
//! are the same again and the file on disk is still that text, the file is its own layout.
//!
//! The fingerprints also cover `Cargo.lock`, so that a new syn or prettyplease lays every file
//! out again. A clean checkout has no cache: CI's freshness test formats everything.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::emit::RustSource;

/// Fingerprints of the tokens and of the text, by the file's path under `generated-client/`.
pub struct FormatCache {
    file: PathBuf,
    generated_dir: PathBuf,
    salt: u64,
    known: HashMap<String, (u64, u64)>,
    learned: Mutex<HashMap<String, (u64, u64)>>,
    reused: AtomicUsize,
}

fn fingerprint(salt: u64, text: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    salt.hash(&mut hasher);
    text.hash(&mut hasher);
    hasher.finish()
}

impl FormatCache {
    /// The cache kept in `file` for the files under `generated_dir`; a missing or unreadable
    /// cache is an empty one, as it only saves time.
    pub fn load(file: &Path, generated_dir: &Path, lockfile: &Path) -> FormatCache {
        let salt = fingerprint(0, &std::fs::read_to_string(lockfile).unwrap_or_default());
        let known = std::fs::read_to_string(file)
            .unwrap_or_default()
            .lines()
            .filter_map(|line| {
                let mut fields = line.split('\t');
                let (path, tokens, text) = (fields.next()?, fields.next()?, fields.next()?);
                Some((path.to_owned(), (tokens.parse().ok()?, text.parse().ok()?)))
            })
            .collect();
        FormatCache {
            file: file.to_owned(),
            generated_dir: generated_dir.to_owned(),
            salt,
            known,
            learned: Mutex::new(HashMap::new()),
            reused: AtomicUsize::new(0),
        }
    }

    /// The text of `path` (under `generated-client/`) made from `source`: the file on disk
    /// when it is what these tokens made last time, else laid out anew.
    pub fn format(&self, path: &str, source: RustSource) -> String {
        let tokens = fingerprint(self.salt, &format!("{}{}", source.header, source.tokens));
        if let Some(&(known_tokens, known_text)) = self.known.get(path) {
            if known_tokens == tokens {
                if let Ok(existing) = std::fs::read_to_string(self.generated_dir.join(path)) {
                    if fingerprint(self.salt, &existing) == known_text {
                        self.learn(path, tokens, known_text);
                        self.reused.fetch_add(1, Ordering::Relaxed);
                        return existing;
                    }
                }
            }
        }
        let text = source.format();
        self.learn(path, tokens, fingerprint(self.salt, &text));
        text
    }

    /// How many files this run took from the disk rather than laying them out.
    pub fn reused(&self) -> usize {
        self.reused.load(Ordering::Relaxed)
    }

    fn learn(&self, path: &str, tokens: u64, text: u64) {
        self.learned
            .lock()
            .expect("not poisoned")
            .insert(path.to_owned(), (tokens, text));
    }

    /// Writes what this run learned over what the cache knew; failing to is not an error, as
    /// the next run only formats again.
    pub fn save(self) {
        let mut entries = self.known;
        entries.extend(self.learned.into_inner().expect("not poisoned"));
        let mut lines: Vec<String> = entries
            .iter()
            .map(|(path, (tokens, text))| format!("{path}\t{tokens}\t{text}\n"))
            .collect();
        lines.sort();
        let partial = self.file.with_extension("partial");
        if std::fs::write(&partial, lines.concat()).is_ok() {
            let _ = std::fs::rename(&partial, &self.file);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn source(tokens: proc_macro2::TokenStream) -> RustSource {
        RustSource {
            header: "// header\n\n".into(),
            tokens,
        }
    }

    #[test]
    fn the_file_on_disk_is_reused_only_for_the_same_tokens_and_untouched_text() {
        let folder = std::env::temp_dir().join(format!("format-cache-{}", std::process::id()));
        let generated = folder.join("generated-client");
        std::fs::create_dir_all(generated.join("v1_41/src")).unwrap();
        let (file, lockfile) = (folder.join("cache.tsv"), folder.join("Cargo.lock"));
        std::fs::write(&lockfile, "version = 3\n").unwrap();
        let path = "v1_41/src/lib.rs";
        let written = |text: &str| std::fs::write(generated.join(path), text).unwrap();

        let cache = FormatCache::load(&file, &generated, &lockfile);
        let first = cache.format(path, source(quote! { pub struct A; }));
        assert_eq!(first, "// header\n\npub struct A;\n");
        assert_eq!(cache.reused(), 0);
        cache.save();
        written(&first);

        // The same tokens: the file on disk is taken.

        assert_eq!(
            cache_reused_for(&file, &generated, &lockfile, path, quote! { pub struct A; }),
            (first.clone(), 1)
        );

        // A file edited by hand is laid out again, and so are other tokens.
        written("// header\n\npub struct A ;\n");
        assert_eq!(
            cache_reused_for(&file, &generated, &lockfile, path, quote! { pub struct A; }),
            (first, 0)
        );
        let b = "// header\n\npub struct B;\n".to_owned();
        assert_eq!(
            cache_reused_for(&file, &generated, &lockfile, path, quote! { pub struct B; }),
            (b.clone(), 0)
        );
        written(&b);
        assert_eq!(
            cache_reused_for(&file, &generated, &lockfile, path, quote! { pub struct B; }),
            (b.clone(), 1)
        );

        // Another Cargo.lock (a new prettyplease) lays everything out again.
        std::fs::write(&lockfile, "version = 4\n").unwrap();
        assert_eq!(
            cache_reused_for(&file, &generated, &lockfile, path, quote! { pub struct B; }),
            (b, 0)
        );
        std::fs::remove_dir_all(&folder).unwrap();
    }

    /// One run of the cache on one file: its text, and whether it came from the disk.
    fn cache_reused_for(
        file: &Path,
        generated: &Path,
        lockfile: &Path,
        path: &str,
        tokens: proc_macro2::TokenStream,
    ) -> (String, usize) {
        let cache = FormatCache::load(file, generated, lockfile);
        let text = cache.format(path, source(tokens));
        let reused = cache.reused();
        cache.save();
        (text, reused)
    }
}
