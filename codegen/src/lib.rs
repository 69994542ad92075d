//! The Docker Engine API client generator.
//!
//! Data flows one way: [`spec`] reads a Swagger 2.0 file (patched by [`overrides`]) into an
//! `openapiv3` document, [`lower`] turns that into the [`ir`], and [`emit`] writes the Rust crate.
//! [`diff`] compares the IR of two versions; [`project`] knows where the project keeps specs and
//! crates, for `cargo xtask` and the freshness test.

pub mod diff;
pub mod emit;
pub mod ir;
pub mod lower;
pub mod overrides;
pub mod project;
pub mod spec;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use overrides::{ApiVersion, Overrides};
pub use spec::SpecError;

/// The spec of one API version found under `specs/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecFile {
    pub version: ApiVersion,
    pub path: PathBuf,
}

/// Every `vX.YY/swagger.yaml` under `specs_dir`, oldest first.
pub fn find_specs(specs_dir: &Path) -> Result<Vec<SpecFile>, SpecError> {
    let entries = std::fs::read_dir(specs_dir).map_err(|e| SpecError {
        file: specs_dir.to_owned(),
        pointer: String::new(),
        problem: format!("cannot list spec folder: {e}"),
    })?;
    let mut specs: Vec<SpecFile> = entries
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let version = ApiVersion::parse(path.file_name()?.to_str()?.strip_prefix('v')?)?;
            let path = path.join("swagger.yaml");
            path.is_file().then_some(SpecFile { version, path })
        })
        .collect();
    specs.sort_by_key(|spec| spec.version);
    Ok(specs)
}

/// Reads, patches, converts and lowers one spec.
pub fn load_api(spec: &SpecFile, overrides: &Overrides) -> Result<ir::Api, SpecError> {
    let mut document = spec::read(&spec.path)?;
    overrides.patch_document(&spec.path, spec.version, &mut document)?;
    let openapi = spec::convert(&spec.path, document)?;
    let operation_overrides: Vec<_> = overrides.operations_for(spec.version).collect();
    lower::lower(&openapi, spec.version, &operation_overrides, &spec.path)
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
    let api = load_api(spec, overrides)?;
    Ok(GeneratedCrate {
        version: spec.version,
        folder: api.version.crate_folder(),
        files: emit::emit_crate(&api, runtime_version),
        operation_count: api.operations.len(),
        type_count: api.types.len(),
    })
}
