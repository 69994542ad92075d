//! The project's layout (`specs/`, `codegen/overrides.yaml`, `generated-client/`), generating
//! every crate at once, and finding where the checked-in crates differ from what the generator
//! writes now. `cargo xtask` and the freshness test share it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::emit::RustSource;
use crate::format_cache::FormatCache;
use crate::{ApiVersion, GeneratedCrate, Overrides, SpecFile};

/// A checkout of the project, found from its root folder.
#[derive(Debug, Clone)]
pub struct Project {
    pub root: PathBuf,
}

impl Project {
    /// The project holding `start` or one of its parents: the first folder with `specs/` and
    /// `codegen/overrides.yaml`.
    pub fn find(start: &Path) -> Result<Project, String> {
        start
            .ancestors()
            .find(|dir| dir.join("specs").is_dir() && dir.join("codegen/overrides.yaml").is_file())
            .map(|root| Project { root: root.to_owned() })
            .ok_or_else(|| {
                format!(
                    "{} is not inside the project (no parent holds specs/ and codegen/overrides.yaml)",
                    start.display()
                )
            })
    }

    pub fn specs_dir(&self) -> PathBuf {
        self.root.join("specs")
    }

    pub fn generated_dir(&self) -> PathBuf {
        self.root.join("generated-client")
    }

    /// The overrides, importing definitions from this project's specs.
    pub fn overrides(&self) -> Result<Overrides, String> {
        Overrides::load(&self.root.join("codegen/overrides.yaml"))
            .map(|overrides| overrides.importing_from(self.specs_dir()))
            .map_err(|e| e.to_string())
    }

    /// Where the layout of generated files is remembered between runs: the target folder, as
    /// cargo's own caches.
    fn format_cache(&self) -> FormatCache {
        let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| self.root.join("target"), PathBuf::from);
        let _ = std::fs::create_dir_all(&target);
        FormatCache::load(
            &target.join("codegen-format-cache.tsv"),
            &self.generated_dir(),
            &self.root.join("Cargo.lock"),
        )
    }

    /// The crate of every spec under `specs/`, or of version `only`, oldest first, and how many
    /// of their files were the same layout as last time, taken from the disk.
    pub fn generate_all(
        &self,
        only: Option<ApiVersion>,
        runtime_version: &str,
    ) -> Result<(Vec<GeneratedCrate>, usize), String> {
        let overrides = self.overrides()?;
        let cache = self.format_cache();
        let specs = crate::find_specs(&self.specs_dir()).map_err(|e| e.to_string())?;
        let selected: Vec<&SpecFile> = specs.iter().filter(|s| only.is_none_or(|v| v == s.version)).collect();
        if selected.is_empty() {
            return Err(match only {
                Some(version) => format!("no spec for {version}: expected specs/v{version}/swagger.yaml"),
                None => "no specs under specs/".into(),
            });
        }
        // One worker per core, each taking the next spec: thirty threads at once on two cores ran
        // slower, their allocations contending.
        let next = std::sync::atomic::AtomicUsize::new(0);
        let workers = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(selected.len());
        let mut results: Vec<(usize, Result<GeneratedCrate, String>)> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..workers)
                .map(|_| {
                    scope.spawn(|| {
                        let mut done = Vec::new();
                        loop {
                            let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            let Some(spec) = selected.get(index) else { break done };
                            let folder = spec.crate_folder();
                            let format =
                                |path: &str, source: RustSource| cache.format(&format!("{folder}/{path}"), source);
                            let generated = crate::generate_with(spec, &overrides, runtime_version, &format)
                                .map_err(|e| e.to_string());
                            done.push((index, generated));
                        }
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|handle| handle.join().expect("generation does not panic"))
                .collect()
        });
        results.sort_by_key(|(index, _)| *index);
        let crates = results
            .into_iter()
            .map(|(_, generated)| generated)
            .collect::<Result<_, _>>()?;
        let reused = cache.reused();
        cache.save();
        Ok((crates, reused))
    }

    /// Every file under `generated-client/` that differs from `crates`, is missing or is extra,
    /// and every crate folder without a spec, one line each.
    pub fn stale_files(&self, crates: &[GeneratedCrate]) -> Result<Vec<String>, String> {
        let mut problems = Vec::new();
        let mut expected_folders = BTreeSet::new();
        for generated in crates {
            let folder = self.generated_dir().join(&generated.folder);
            expected_folders.insert(generated.folder.clone());
            for (path, text) in &generated.files {
                let file = folder.join(path);
                match std::fs::read_to_string(&file) {
                    Ok(existing) if existing == *text => {}
                    Ok(_) => problems.push(format!("differs: {}", file.display())),
                    Err(_) => problems.push(format!("missing: {}", file.display())),
                }
            }
            for extra in generated.extra_files(&folder) {
                problems.push(format!("extra: {}", extra.display()));
            }
        }
        let generated_dir = self.generated_dir();
        let entries = std::fs::read_dir(&generated_dir).map_err(|e| format!("{}: {e}", generated_dir.display()))?;
        for entry in entries {
            let name = entry
                .map_err(|e| e.to_string())?
                .file_name()
                .to_string_lossy()
                .into_owned();
            if (name.starts_with('v') || name.starts_with("registry_")) && !expected_folders.contains(&name) {
                problems.push(format!("extra crate without a spec: generated-client/{name}"));
            }
        }
        Ok(problems)
    }
}

impl GeneratedCrate {
    /// The files under `folder` (a copy of this crate) that the crate does not have.
    pub fn extra_files(&self, folder: &Path) -> Vec<PathBuf> {
        list_files(folder)
            .into_iter()
            .filter(|file| {
                let relative = file.strip_prefix(folder).expect("listed under folder");
                !self.files.contains_key(&relative.to_string_lossy().replace('\\', "/"))
            })
            .collect()
    }
}

/// Every file under `dir`, sorted; none when it does not exist.
fn list_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(at) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&at) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}
