//! The Docker Engine API client generator.
//!
//! Data flows one way: [`spec`] reads a Swagger 2.0 file (patched by [`overrides`]) into an
//! `openapiv3` document, [`lower`] turns that into the [`ir`], and [`emit`] writes the Rust crate.
//! [`diff`] compares the IR of two versions; [`project`] knows where the project keeps specs and
//! crates, for `cargo xtask` and the freshness test.

pub mod diff;
pub mod emit;
pub mod family;
mod filter_prose;
pub mod format_cache;
pub mod ir;
pub mod lower;
pub mod naming;
pub mod overrides;
pub mod project;
pub mod spec;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use family::ApiFamily;
pub use overrides::{ApiVersion, Overrides};
pub use spec::SpecError;

/// The spec of one API version found under `specs/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecFile {
    pub family: ApiFamily,
    pub version: ApiVersion,
    pub path: PathBuf,
}

/// Every Engine spec (`vX.YY/swagger.yaml`) under `specs_dir`, oldest first, then every Registry
/// spec (`registry/vN/swagger.yaml`).
pub fn find_specs(specs_dir: &Path) -> Result<Vec<SpecFile>, SpecError> {
    let list = |dir: &Path| {
        std::fs::read_dir(dir).map_err(|e| SpecError {
            file: dir.to_owned(),
            pointer: String::new(),
            problem: format!("cannot list spec folder: {e}"),
        })
    };
    let versioned = |entry: std::io::Result<std::fs::DirEntry>, family: ApiFamily| {
        let path = entry.ok()?.path();
        let number = path.file_name()?.to_str()?.strip_prefix('v')?;
        let version = match family {
            ApiFamily::Engine => ApiVersion::parse(number)?,
            ApiFamily::Registry => ApiVersion {
                major: number.parse().ok()?,
                minor: 0,
            },
        };
        let path = path.join("swagger.yaml");
        path.is_file().then_some(SpecFile { family, version, path })
    };
    let mut specs: Vec<SpecFile> = list(specs_dir)?
        .filter_map(|entry| versioned(entry, ApiFamily::Engine))
        .collect();
    let registry_dir = specs_dir.join("registry");
    if registry_dir.is_dir() {
        specs.extend(list(&registry_dir)?.filter_map(|entry| versioned(entry, ApiFamily::Registry)));
    }
    specs.sort_by_key(|spec| (spec.family, spec.version));
    Ok(specs)
}

impl SpecFile {
    /// The folder of this spec's crate under `generated-client/`.
    pub fn crate_folder(&self) -> String {
        self.family.crate_folder(self.version)
    }
}

/// Reads, patches, converts and lowers one spec. The overrides are the Engine API's: they patch
/// no other family's spec.
pub fn load_api(spec: &SpecFile, overrides: &Overrides) -> Result<ir::Api, SpecError> {
    let mut document = spec::read(&spec.path)?;
    let mut corrections = lower::Corrections::default();
    if spec.family == ApiFamily::Engine {
        overrides.patch_document(&spec.path, spec.version, &mut document)?;
        corrections.operations.extend(overrides.operations_for(spec.version));
        corrections.filters.extend(overrides.filters_for(spec.version));
    }
    let openapi = spec::convert(&spec.path, document)?;
    lower::lower(&openapi, spec.family, spec.version, &corrections, &spec.path)
}

/// The API changes from `old` to `new`: the effective APIs' ([`diff::diff`]), then what the
/// new spec documents that the override file had already given the old version
/// ([`diff::documented_earlier`]): the changes of the two specs with only the entries both
/// share applied, which the effective diff lacks.
pub fn diff_specs(old: &SpecFile, new: &SpecFile, overrides: &Overrides) -> Result<DiffOfSpecs, SpecError> {
    let old_api = load_api(old, overrides)?;
    let new_api = load_api(new, overrides)?;
    let mut changes = diff::diff(&old_api, &new_api);
    // The override file patches only Engine specs.
    if old.family != ApiFamily::Engine {
        return Ok(DiffOfSpecs {
            old: old_api,
            new: new_api,
            changes,
            documented_unknown: None,
        });
    }
    let shared = overrides.shared_by(old.version, new.version);
    // A spec that cannot be read without an entry the other version lacks leaves only the
    // effective diff; the error says which entry it needed.
    let written = match (load_api(old, &shared), load_api(new, &shared)) {
        (Ok(old_written), Ok(new_written)) => diff::diff(&old_written, &new_written),
        (Err(unreadable), _) | (_, Err(unreadable)) => {
            return Ok(DiffOfSpecs {
                old: old_api,
                new: new_api,
                changes,
                documented_unknown: Some(unreadable),
            })
        }
    };
    // The entries that made the difference claim the old version and not the new one.
    let entries_at = |location: &str| {
        let operation = old_api
            .operations
            .iter()
            .find(|op| format!("{} {}", op.method, op.path) == location)
            .map(|op| op.id.as_str());
        let pointer = diff::location_pointer(location);
        let also_new = overrides.entries_touching(new.version, &pointer, operation);
        let mut entries = overrides.entries_touching(old.version, &pointer, operation);
        entries.retain(|entry| !also_new.contains(entry));
        entries
    };
    let earlier = diff::documented_earlier(&changes, written, entries_at);
    changes.extend(earlier);
    Ok(DiffOfSpecs {
        old: old_api,
        new: new_api,
        changes,
        documented_unknown: None,
    })
}

/// What [`diff_specs`] finds.
#[derive(Debug)]
pub struct DiffOfSpecs {
    /// The two effective APIs, for the reports.
    pub old: ir::Api,
    pub new: ir::Api,
    pub changes: Vec<diff::Change>,
    /// Why the changes the specs document could not be told from the effective ones: a spec
    /// needs, to be read at all, an override entry the other version does not share.
    pub documented_unknown: Option<SpecError>,
}

/// One generated crate: its folder name under `generated-client/` and its files.
#[derive(Debug, Clone)]
pub struct GeneratedCrate {
    pub version: ApiVersion,
    pub folder: String,
    pub files: BTreeMap<String, String>,
    pub operation_count: usize,
    pub type_count: usize,
}

/// Generates the crate for `spec`.
pub fn generate(spec: &SpecFile, overrides: &Overrides, runtime_version: &str) -> Result<GeneratedCrate, SpecError> {
    generate_with(spec, overrides, runtime_version, &|_, source| source.format())
}

/// Like [`generate`], with `format` laying out each Rust file from its path relative to the
/// crate's folder and its source ([`emit::emit_crate_with`]).
pub fn generate_with(
    spec: &SpecFile,
    overrides: &Overrides,
    runtime_version: &str,
    format: &(dyn Fn(&str, emit::RustSource) -> String + Sync),
) -> Result<GeneratedCrate, SpecError> {
    let api = load_api(spec, overrides)?;
    Ok(GeneratedCrate {
        version: spec.version,
        folder: spec.crate_folder(),
        files: emit::emit_crate_with(&api, runtime_version, format),
        operation_count: api.operations.len(),
        type_count: api.types.len(),
    })
}
