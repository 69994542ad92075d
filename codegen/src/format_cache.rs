//! Laying out generated Rust (syn's parse and prettyplease) is half the generator's time, and
//! most of it lays out what was laid out before: by the run before, or by this run in another
//! crate. The cache remembers, per generated file, a fingerprint of the tokens it was made from
//! and one of the text written; when the tokens are the same again and the file on disk is still
//! that text, the file is its own layout. A file laid out anew is laid out item by item, and an
//! item this run has laid out already, in any crate, is not laid out again: of the 31 crates'
//! items, most are in several crates. prettyplease lays each top-level item out on its own, so
//! the items' layouts put together are the file's.
//!
//! The fingerprints also cover `Cargo.lock`, so that a new syn or prettyplease lays every file
//! out again. A clean checkout has no cache: CI's freshness test formats everything.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use proc_macro2::{Delimiter, TokenStream, TokenTree};

use crate::emit::RustSource;

/// Fingerprints of the tokens and of the text, by the file's path under `generated-client/`.
pub struct FormatCache {
    file: PathBuf,
    generated_dir: PathBuf,
    salt: u64,
    known: HashMap<String, (u64, u64)>,
    learned: Mutex<HashMap<String, (u64, u64)>>,
    reused: AtomicUsize,
    /// The layout of each item laid out this run, by the fingerprint of its tokens.
    items: Mutex<HashMap<u64, Arc<str>>>,
}

fn fingerprint(salt: u64, text: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    salt.hash(&mut hasher);
    text.hash(&mut hasher);
    hasher.finish()
}

/// The fingerprint of tokens as they print, printed into the hasher rather than into a string.
fn token_fingerprint(tokens: &TokenStream) -> u64 {
    struct Hashing(DefaultHasher);
    impl std::fmt::Write for Hashing {
        fn write_str(&mut self, text: &str) -> std::fmt::Result {
            self.0.write(text.as_bytes());
            Ok(())
        }
    }
    let mut hashing = Hashing(DefaultHasher::new());
    std::fmt::Write::write_fmt(&mut hashing, format_args!("{tokens}")).expect("hashing does not fail");
    hashing.0.finish()
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
            items: Mutex::new(HashMap::new()),
        }
    }

    /// The text of `path` (under `generated-client/`) made from `source`: the file on disk
    /// when it is what these tokens made last time, else laid out anew.
    pub fn format(&self, path: &str, source: RustSource) -> String {
        let items = top_level_items(source.tokens);
        let item_prints: Vec<u64> = items.iter().map(token_fingerprint).collect();
        let tokens = {
            let mut hasher = DefaultHasher::new();
            (self.salt, &source.header, &item_prints).hash(&mut hasher);
            hasher.finish()
        };
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
        let text = self.lay_out(source.header, items, &item_prints);
        self.learn(path, tokens, fingerprint(self.salt, &text));
        text
    }

    /// The file of `items` under `header`, each item laid out once a run.
    fn lay_out(&self, header: String, items: Vec<TokenStream>, item_prints: &[u64]) -> String {
        let mut text = header.clone();
        for (item, print) in items.iter().zip(item_prints) {
            let known = self.items.lock().expect("not poisoned").get(print).cloned();
            let layout = match known {
                Some(layout) => layout,
                None => {
                    let Ok(file) = syn::parse2::<syn::File>(item.clone()) else {
                        // Not an item on its own after all: the file is laid out whole.
                        let source = RustSource {
                            header,
                            tokens: items.into_iter().collect(),
                        };
                        return source.format();
                    };
                    let layout: Arc<str> = prettyplease::unparse(&file).into();
                    self.items.lock().expect("not poisoned").insert(*print, layout.clone());
                    layout
                }
            };
            text.push_str(&layout);
        }
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

/// The top-level items of a file's tokens, with their attributes (the file's inner attributes
/// go with the first): each ends with a `;` or with a `{ ... }` block that no `;` follows.
fn top_level_items(tokens: TokenStream) -> Vec<TokenStream> {
    let mut items = Vec::new();
    let mut item = Vec::new();
    let mut tokens = tokens.into_iter().peekable();
    while let Some(token) = tokens.next() {
        let ends = match &token {
            TokenTree::Punct(punct) => punct.as_char() == ';',
            TokenTree::Group(group) => {
                group.delimiter() == Delimiter::Brace
                    && !matches!(tokens.peek(), Some(TokenTree::Punct(next)) if matches!(next.as_char(), ';' | '.'))
            }
            _ => false,
        };
        item.push(token);
        if ends {
            items.push(item.drain(..).collect());
        }
    }
    if !item.is_empty() {
        items.push(item.into_iter().collect());
    }
    items
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

    #[test]
    fn files_laid_out_item_by_item_are_the_files_laid_out_whole() {
        let folder = std::env::temp_dir().join(format!("format-cache-items-{}", std::process::id()));
        let cache = FormatCache::load(&folder.join("cache.tsv"), &folder, &folder.join("Cargo.lock"));
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let spec = crate::SpecFile {
            family: crate::ApiFamily::Engine,
            version: crate::ApiVersion::parse("1.99").unwrap(),
            path: fixtures.join("constructs.yaml"),
        };
        let overrides = crate::Overrides::load(&fixtures.join("overrides.yaml")).unwrap();
        let compared = |path: &str, source: RustSource| {
            let whole = RustSource {
                header: source.header.clone(),
                tokens: source.tokens.clone(),
            }
            .format();
            let by_items = cache.format(path, source);
            assert_eq!(by_items, whole, "{path}");
            by_items
        };
        crate::generate_with(&spec, &overrides, "0.1.0", &compared).unwrap();
        let laid_out = cache.items.lock().unwrap().len();
        assert!(laid_out > 50, "{laid_out} items");
        // The same items again, in another crate: each is laid out once.
        crate::generate_with(&spec, &overrides, "0.1.0", &compared).unwrap();
        assert_eq!(cache.items.lock().unwrap().len(), laid_out);
    }

    #[test]
    fn items_end_at_a_semicolon_or_a_block_no_semicolon_follows() {
        let items = top_level_items(quote! {
            #![doc = " inner"]
            use a::b;
            #[derive(Debug)]
            pub struct S { a: u8 }
            const C: S = S { a: 1 };
            impl S { fn f(&self) {} }
            m!(x);
            macro_rules! n { () => {} }
        });
        let printed: Vec<String> = items.iter().map(ToString::to_string).collect();
        assert_eq!(
            printed,
            [
                "# ! [doc = \" inner\"] use a :: b ;",
                "# [derive (Debug)] pub struct S { a : u8 }",
                "const C : S = S { a : 1 } ;",
                "impl S { fn f (& self) { } }",
                "m ! (x) ;",
                "macro_rules ! n { () => { } }",
            ]
        );
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
