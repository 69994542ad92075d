//! The override file (`codegen/overrides.yaml`): the one place where what a spec gets wrong or
//! leaves unsaid is corrected, for every version at once.
//!
//! Two kinds of entry exist. A schema patch edits the Swagger document at a JSON pointer before
//! conversion. An operation override tells the lowering what the spec cannot express: that a
//! response is a JSON object stream and of which item type, that a call hijacks the connection, or
//! that a string query parameter carries JSON. Every entry names the versions it applies to and
//! says why; an entry that matches nothing in a version it claims is an error, so fixes that a
//! newer spec made unnecessary are noticed and removed.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use crate::ir::FilterValue;
use crate::spec::SpecError;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Overrides {
    #[serde(default)]
    pub schema_patches: Vec<SchemaPatch>,
    #[serde(default)]
    pub operations: Vec<OperationOverride>,
    #[serde(default)]
    pub definition_imports: Vec<DefinitionImport>,
    #[serde(default)]
    pub filters: Vec<FilterOverride>,
    /// The folder holding `vX.YY/swagger.yaml` for imports to read from; without it, the folder
    /// holding the patched spec's own folder.
    #[serde(skip)]
    specs_dir: Option<PathBuf>,
    /// The specs imports read from, parsed once for all the versions that import from them: a
    /// worker needing one another worker is parsing waits for it.
    #[serde(skip)]
    import_sources: std::sync::Mutex<std::collections::HashMap<PathBuf, std::sync::Arc<ImportSource>>>,
}

type ImportSource = std::sync::OnceLock<Result<std::sync::Arc<Value>, SpecError>>;

/// Definitions an older spec describes only as a free-form object, copied from the first spec
/// that defines them, with every definition they refer to.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DefinitionImport {
    pub versions: VersionRange,
    pub why: String,
    pub checked_by: Evidence,
    /// The version whose spec defines them; it lies beside the patched one (`specs/vX.YY/`).
    pub from: String,
    pub definitions: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemaPatch {
    pub versions: VersionRange,
    pub why: String,
    pub checked_by: Evidence,
    /// JSON pointer into the Swagger 2.0 document.
    pub at: String,
    /// Keys to set (replacing what is there) in the object at `at`.
    #[serde(default)]
    pub set: serde_json::Map<String, Value>,
    /// Keys to remove from the object at `at`.
    #[serde(default)]
    pub remove: Vec<String>,
    /// Items to add at the end of the list at `at` (a parameter the spec leaves out).
    #[serde(default)]
    pub append: Vec<Value>,
    /// Keys and values the object at `at` must have before the patch applies. A pointer that
    /// goes through a list position (`parameters/7`) names what it expects there, so a
    /// parameter inserted by a newer spec cannot redirect the patch to another one.
    #[serde(default)]
    pub expect: serde_json::Map<String, Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperationOverride {
    pub versions: VersionRange,
    pub why: String,
    pub checked_by: Evidence,
    pub operation: String,
    #[serde(default)]
    pub response: Option<ResponseOverride>,
    /// Query parameters whose string value is JSON, with the schema of the decoded value.
    #[serde(default)]
    pub json_query: indexmap::IndexMap<String, Value>,
    /// Send the optional JSON body's default value (`{}`) when the caller sets none, for
    /// servers that refuse a request without one.
    #[serde(default)]
    pub default_body: bool,
    /// The operation builds with BuildKit and takes a session (`session`, `remote`, `version`
    /// and `outputs` parameters): its builder gets `send_in_session`, which opens the session,
    /// sets those parameters and ends the session with the build's stream.
    #[serde(default)]
    pub session_build: bool,
}

/// A correction of one key of the keys an operation's `filters` description lists, as the
/// lowering reads them: its value's form or its documentation replaced, the key removed, or a
/// key the spec leaves out added (with both).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterOverride {
    pub versions: VersionRange,
    pub why: String,
    pub checked_by: Evidence,
    pub operation: String,
    pub key: String,
    #[serde(default)]
    pub value: Option<FilterValue>,
    /// The documentation of the key, where the spec's line misleads or is missing.
    #[serde(default)]
    pub doc: Option<String>,
    #[serde(default)]
    pub remove: bool,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ResponseOverride {
    /// One JSON object after another; `item` names the definition each one decodes into, or is
    /// absent where the spec's own response schema describes one item.
    JsonStream {
        #[serde(default)]
        item: Option<String>,
    },
    /// The connection is taken over for a bidirectional stream (attach, exec start).
    Hijack,
    /// A WebSocket handshake, then a bidirectional stream of messages.
    #[serde(rename = "websocket")]
    WebSocket,
    /// Container output: multiplexed frames, or raw bytes for a TTY.
    Output,
    /// The answer is the `X-Docker-Container-Path-Stat` header.
    PathStat,
}

/// What shows that the daemon does what an entry's `why` says, so the entry cannot outlive the
/// behaviour it describes: daemon tests that fail when the daemon stops doing it, or why no
/// test against the project's daemon can.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Evidence {
    /// Names of test functions in `tests/tests/` or `examples/tests/`.
    Tests(Vec<String>),
    Untestable {
        untestable: String,
    },
}

/// An inclusive range of API versions written `1.25-1.29`, `1.41` or `1.40-` (open-ended).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VersionRange {
    pub first: ApiVersion,
    pub last: Option<ApiVersion>,
}

/// A `major.minor` API version, ordered numerically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ApiVersion {
    pub major: u16,
    pub minor: u16,
}

impl ApiVersion {
    pub fn parse(text: &str) -> Option<Self> {
        let (major, minor) = text.trim().trim_start_matches('v').split_once('.')?;
        Some(ApiVersion {
            major: major.parse().ok()?,
            minor: minor.parse().ok()?,
        })
    }

    /// The folder of this version's generated crate under `generated-client/`, e.g. `v1_41`.
    pub fn crate_folder(&self) -> String {
        format!("v{}_{}", self.major, self.minor)
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl VersionRange {
    pub fn contains(&self, version: ApiVersion) -> bool {
        version >= self.first && self.last.is_none_or(|last| version <= last)
    }
}

/// Written as in the override file: `1.25-1.29`, `1.41`, `1.40-`.
impl fmt::Display for VersionRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.last {
            Some(last) if last == self.first => write!(f, "{last}"),
            Some(last) => write!(f, "{}-{last}", self.first),
            None => write!(f, "{}-", self.first),
        }
    }
}

impl<'de> Deserialize<'de> for VersionRange {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let invalid = || serde::de::Error::custom(format!("invalid version range {text:?}"));
        let range = match text.split_once('-') {
            None => {
                let only = ApiVersion::parse(&text).ok_or_else(invalid)?;
                VersionRange {
                    first: only,
                    last: Some(only),
                }
            }
            Some((first, "")) => VersionRange {
                first: ApiVersion::parse(first).ok_or_else(invalid)?,
                last: None,
            },
            Some((first, last)) => VersionRange {
                first: ApiVersion::parse(first).ok_or_else(invalid)?,
                last: Some(ApiVersion::parse(last).ok_or_else(invalid)?),
            },
        };
        Ok(range)
    }
}

impl Overrides {
    pub fn load(path: &Path) -> Result<Self, SpecError> {
        let error = |problem: String| SpecError {
            file: path.to_owned(),
            pointer: String::new(),
            problem,
        };
        let text = std::fs::read_to_string(path).map_err(|e| error(format!("cannot read: {e}")))?;
        Self::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Self, SpecError> {
        let overrides: Overrides = serde_yaml::from_str(text).map_err(|e| SpecError {
            file: path.to_owned(),
            pointer: String::new(),
            problem: format!("invalid override file: {e}"),
        })?;
        for (entry, evidence) in overrides.evidence() {
            let empty = match evidence {
                Evidence::Tests(tests) => tests.is_empty(),
                Evidence::Untestable { untestable } => untestable.trim().is_empty(),
            };
            if empty {
                return Err(SpecError {
                    file: path.to_owned(),
                    pointer: String::new(),
                    problem: format!("{entry}: `checked_by` names no test and gives no reason"),
                });
            }
        }
        Ok(overrides)
    }

    /// Every entry, described in a few words, with what checks it.
    pub fn evidence(&self) -> Vec<(String, &Evidence)> {
        let imports = self.definition_imports.iter().map(|i| {
            let entry = format!("import of {} into {}", i.definitions.join(", "), i.versions);
            (entry, &i.checked_by)
        });
        let patches = self
            .schema_patches
            .iter()
            .map(|p| (format!("patch of {} in {}", p.at, p.versions), &p.checked_by));
        let operations = self
            .operations
            .iter()
            .map(|o| (format!("{} in {}", o.operation, o.versions), &o.checked_by));
        let filters = self.filters.iter().map(|f| {
            let entry = format!("filter `{}` of {} in {}", f.key, f.operation, f.versions);
            (entry, &f.checked_by)
        });
        imports.chain(patches).chain(operations).chain(filters).collect()
    }

    /// Imports read from `specs` (the project's `specs/`) rather than beside the patched spec,
    /// so a spec file kept anywhere else is patched as the one in the project.
    pub fn importing_from(mut self, specs: PathBuf) -> Self {
        self.specs_dir = Some(specs);
        self
    }

    /// Applies every definition import and then every schema patch claiming `version` to the
    /// Swagger document of `file`.
    pub fn patch_document(&self, file: &Path, version: ApiVersion, document: &mut Value) -> Result<(), SpecError> {
        for import in self.definition_imports.iter().filter(|i| i.versions.contains(version)) {
            import.apply(file, self.specs_dir.as_deref(), version, document, |source_file| {
                self.import_source(source_file)
            })?;
        }
        for patch in self.schema_patches.iter().filter(|p| p.versions.contains(version)) {
            let stale = |problem: String| SpecError {
                file: file.to_owned(),
                pointer: patch.at.clone(),
                problem: format!("override for {version}: {problem}: {}", patch.why),
            };
            if passes_through_a_list(document, &patch.at) && patch.expect.is_empty() {
                return Err(stale("a pointer through a list position needs `expect`".into()));
            }
            let target = document
                .pointer_mut(&patch.at)
                .ok_or_else(|| stale("matches nothing in the spec".into()))?;
            for (key, expected) in &patch.expect {
                if target.get(key) != Some(expected) {
                    let found = target.get(key).map_or("nothing".to_owned(), Value::to_string);
                    return Err(stale(format!("expected {key} = {expected} there, found {found}")));
                }
            }
            let before = target.clone();
            if !patch.append.is_empty() {
                let list = target
                    .as_array_mut()
                    .ok_or_else(|| stale("`append` needs a list there".into()))?;
                list.extend(patch.append.iter().cloned());
            }
            if !patch.set.is_empty() || !patch.remove.is_empty() {
                let object = target
                    .as_object_mut()
                    .ok_or_else(|| stale("`set` and `remove` need a schema object there".into()))?;
                for key in &patch.remove {
                    object.shift_remove(key);
                }
                for (key, value) in &patch.set {
                    object.insert(key.clone(), value.clone());
                }
            }
            if *target == before {
                return Err(stale("changes nothing; remove it".into()));
            }
        }
        Ok(())
    }

    fn import_source(&self, file: &Path) -> Result<std::sync::Arc<Value>, SpecError> {
        let source = self
            .import_sources
            .lock()
            .expect("not poisoned")
            .entry(file.to_owned())
            .or_default()
            .clone();
        source
            .get_or_init(|| crate::spec::read(file).map(std::sync::Arc::new))
            .clone()
    }

    /// Only the entries that claim both `old` and `new`: what both specs get wrong, applied to
    /// both, so that a diff of the two shows what the specs themselves change.
    pub fn shared_by(&self, old: ApiVersion, new: ApiVersion) -> Overrides {
        let both = |versions: &VersionRange| versions.contains(old) && versions.contains(new);
        Overrides {
            schema_patches: self
                .schema_patches
                .iter()
                .filter(|e| both(&e.versions))
                .cloned()
                .collect(),
            operations: self.operations.iter().filter(|e| both(&e.versions)).cloned().collect(),
            definition_imports: self
                .definition_imports
                .iter()
                .filter(|e| both(&e.versions))
                .cloned()
                .collect(),
            filters: self.filters.iter().filter(|e| both(&e.versions)).cloned().collect(),
            specs_dir: self.specs_dir.clone(),
            import_sources: Default::default(),
        }
    }

    /// The entries claiming `version` that change what is at `pointer` (a JSON pointer into the
    /// Swagger document, `/paths/~1containers~1json/get` or `/definitions/Network`) or below it,
    /// or the operation `operation`; each as `kind at|operation (versions)`.
    pub fn entries_touching(&self, version: ApiVersion, pointer: &str, operation: Option<&str>) -> Vec<String> {
        let under = |at: &str| at == pointer || at.starts_with(&format!("{pointer}/"));
        let by_operation = |id: &str| operation == Some(id);
        let mut entries = Vec::new();
        for patch in self
            .schema_patches
            .iter()
            .filter(|p| p.versions.contains(version) && under(&p.at))
        {
            entries.push(format!("schema patch at {} ({})", patch.at, patch.versions));
        }
        for import in &self.definition_imports {
            if import.versions.contains(version)
                && import
                    .definitions
                    .iter()
                    .any(|name| under(&format!("/definitions/{name}")))
            {
                entries.push(format!("definition import from {} ({})", import.from, import.versions));
            }
        }
        for entry in self
            .operations
            .iter()
            .filter(|o| o.versions.contains(version) && by_operation(&o.operation))
        {
            entries.push(format!(
                "operation override of {} ({})",
                entry.operation, entry.versions
            ));
        }
        for entry in self
            .filters
            .iter()
            .filter(|f| f.versions.contains(version) && by_operation(&f.operation))
        {
            entries.push(format!(
                "filter override of {} key {} ({})",
                entry.operation, entry.key, entry.versions
            ));
        }
        entries
    }

    /// The operation overrides claiming `version`.
    pub fn operations_for(&self, version: ApiVersion) -> impl Iterator<Item = &OperationOverride> {
        self.operations.iter().filter(move |o| o.versions.contains(version))
    }

    /// The filter corrections claiming `version`.
    pub fn filters_for(&self, version: ApiVersion) -> impl Iterator<Item = &FilterOverride> {
        self.filters.iter().filter(move |f| f.versions.contains(version))
    }
}

impl DefinitionImport {
    fn apply(
        &self,
        file: &Path,
        specs_dir: Option<&Path>,
        version: ApiVersion,
        document: &mut Value,
        read_source: impl FnOnce(&Path) -> Result<std::sync::Arc<Value>, SpecError>,
    ) -> Result<(), SpecError> {
        let error = |pointer: String, problem: String| SpecError {
            file: file.to_owned(),
            pointer,
            problem: format!(
                "definition import for {version} from {}: {problem}: {}",
                self.from, self.why
            ),
        };
        let source_file = specs_dir
            .or_else(|| file.parent().and_then(Path::parent))
            .map(|specs| specs.join(format!("v{}", self.from)).join("swagger.yaml"))
            .ok_or_else(|| error(String::new(), "the spec has no sibling folders".into()))?;
        let source = read_source(&source_file)?;
        let source_definitions = source.get("definitions").and_then(Value::as_object);
        let mut wanted = self.definitions.clone();
        let mut copied = Vec::new();
        while let Some(name) = wanted.pop() {
            if copied.contains(&name) {
                continue;
            }
            let pointer = format!("/definitions/{name}");
            let definition = source_definitions
                .and_then(|definitions| definitions.get(&name))
                .ok_or_else(|| error(pointer.clone(), format!("{} defines no {name}", source_file.display())))?;
            if document.pointer(&pointer).is_some() {
                return Err(error(
                    pointer,
                    "this spec defines it already; close the import's range".into(),
                ));
            }
            collect_refs(definition, &mut wanted);
            document["definitions"][&name] = definition.clone();
            copied.push(name);
        }
        Ok(())
    }
}

/// The names of the definitions that `schema` refers to (`$ref: "#/definitions/NAME"`).
fn collect_refs(schema: &Value, names: &mut Vec<String>) {
    match schema {
        Value::Object(fields) => {
            for (key, value) in fields {
                match (key.as_str(), value.as_str()) {
                    ("$ref", Some(target)) => {
                        if let Some(name) = target.strip_prefix("#/definitions/") {
                            names.push(name.to_owned());
                        }
                    }
                    _ => collect_refs(value, names),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_refs(item, names)),
        _ => {}
    }
}

/// Whether `pointer` picks an item of a list on its way (`parameters/7`), rather than only keys
/// of objects (`responses/201` is a key).
fn passes_through_a_list(document: &Value, pointer: &str) -> bool {
    let mut at = document;
    for token in pointer.split('/').skip(1) {
        let token = token.replace("~1", "/").replace("~0", "~");
        at = match at {
            Value::Array(items) => return token.parse::<usize>().is_ok_and(|index| index < items.len()),
            Value::Object(fields) => match fields.get(&token) {
                Some(next) => next,
                None => return false,
            },
            _ => return false,
        };
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn v(text: &str) -> ApiVersion {
        ApiVersion::parse(text).unwrap()
    }

    #[test]
    fn version_ranges_are_inclusive_and_may_be_open() {
        let closed: VersionRange = serde_yaml::from_str("\"1.25-1.29\"").unwrap();
        assert!(closed.contains(v("1.25")) && closed.contains(v("1.29")));
        assert!(!closed.contains(v("1.30")) && !closed.contains(v("1.24")));
        let open: VersionRange = serde_yaml::from_str("\"1.40-\"").unwrap();
        assert!(open.contains(v("1.54")) && !open.contains(v("1.39")));
        let one: VersionRange = serde_yaml::from_str("\"1.41\"").unwrap();
        assert!(one.contains(v("1.41")) && !one.contains(v("1.42")));
        assert!(v("1.100") > v("1.99"));
    }

    const PATCH: &str = r#"
schema_patches:
  - versions: "1.25-1.29"
    why: the daemon always sends an array
    checked_by: [inspect_shows_an_array]
    at: /definitions/Config/properties/Cmd
    set: {type: array}
"#;

    #[test]
    fn patches_apply_only_to_claimed_versions() {
        let overrides = Overrides::parse(Path::new("o.yaml"), PATCH).unwrap();
        let original = json!({"definitions": {"Config": {"properties": {"Cmd": {"type": ["array", "string"]}}}}});
        let mut document = original.clone();
        overrides
            .patch_document(Path::new("s.yaml"), v("1.29"), &mut document)
            .unwrap();
        assert_eq!(document["definitions"]["Config"]["properties"]["Cmd"]["type"], "array");
        let mut untouched = original.clone();
        overrides
            .patch_document(Path::new("s.yaml"), v("1.30"), &mut untouched)
            .unwrap();
        assert_eq!(untouched, original);
    }

    #[test]
    fn stale_patches_are_errors() {
        let overrides = Overrides::parse(Path::new("o.yaml"), PATCH).unwrap();
        let mut missing = json!({"definitions": {}});
        let error = overrides
            .patch_document(Path::new("s.yaml"), v("1.25"), &mut missing)
            .unwrap_err();
        assert!(error.problem.contains("matches nothing"), "{error}");
        assert_eq!(error.pointer, "/definitions/Config/properties/Cmd");
        let mut already_fixed = json!({"definitions": {"Config": {"properties": {"Cmd": {"type": "array"}}}}});
        let error = overrides
            .patch_document(Path::new("s.yaml"), v("1.25"), &mut already_fixed)
            .unwrap_err();
        assert!(error.problem.contains("changes nothing"), "{error}");
    }

    #[test]
    fn patches_through_a_list_position_check_what_they_expect_there() {
        let text = r#"
schema_patches:
  - versions: "1.25"
    why: repeated parameters
    checked_by: [import_with_two_changes]
    at: /paths/~1x/get/parameters/1
    expect: {name: changes}
    set: {collectionFormat: multi}
  - versions: "1.25"
    why: the daemon reads this header
    checked_by: {untestable: the fixture has no daemon}
    at: /paths/~1x/get/parameters
    append: [{name: X-Registry-Auth, in: header, type: string}]
"#;
        let overrides = Overrides::parse(Path::new("o.yaml"), text).unwrap();
        let mut document = json!({"paths": {"/x": {"get": {"parameters": [{"name": "a"}, {"name": "changes"}]}}}});
        overrides
            .patch_document(Path::new("s.yaml"), v("1.25"), &mut document)
            .unwrap();
        let parameters = &document["paths"]["/x"]["get"]["parameters"];
        assert_eq!(parameters[1]["collectionFormat"], "multi");
        assert_eq!(parameters[2]["name"], "X-Registry-Auth");

        let mut inserted =
            json!({"paths": {"/x": {"get": {"parameters": [{"name": "a"}, {"name": "new"}, {"name": "changes"}]}}}});
        let error = overrides
            .patch_document(Path::new("s.yaml"), v("1.25"), &mut inserted)
            .unwrap_err();
        assert!(
            error
                .problem
                .contains(r#"expected name = "changes" there, found "new""#),
            "{error}"
        );

        let unchecked = "schema_patches:\n  - versions: \"1.25\"\n    why: w\n    checked_by: [t]\n    at: /paths/~1x/get/parameters/1\n    set: {a: 1}\n";
        let overrides = Overrides::parse(Path::new("o.yaml"), unchecked).unwrap();
        let error = overrides
            .patch_document(Path::new("s.yaml"), v("1.25"), &mut document)
            .unwrap_err();
        assert!(error.problem.contains("needs `expect`"), "{error}");
    }

    #[test]
    fn definitions_are_imported_with_what_they_refer_to_and_only_where_missing() {
        let specs = std::env::temp_dir().join(format!("codegen-import-{}", std::process::id()));
        std::fs::create_dir_all(specs.join("v1.48")).unwrap();
        std::fs::write(
            specs.join("v1.48/swagger.yaml"),
            "definitions:\n  Stats: {type: object, properties: {cpu: {$ref: '#/definitions/Cpu'}}}\n  Cpu: {type: object}\n  Other: {type: string}\n",
        )
        .unwrap();
        let text = "definition_imports:\n  - versions: \"1.25-1.47\"\n    from: \"1.48\"\n    definitions: [Stats]\n    why: free-form before\n    checked_by: [stats_test]\n";
        let overrides = Overrides::parse(Path::new("o.yaml"), text).unwrap();
        let old = specs.join("v1.41/swagger.yaml");
        let mut document = json!({"definitions": {}});
        overrides.patch_document(&old, v("1.41"), &mut document).unwrap();
        let names: Vec<_> = document["definitions"].as_object().unwrap().keys().cloned().collect();
        assert_eq!(names, ["Stats", "Cpu"]);

        let mut already = json!({"definitions": {"Cpu": {"type": "object"}}});
        let error = overrides.patch_document(&old, v("1.41"), &mut already).unwrap_err();
        assert!(error.problem.contains("defines it already"), "{error}");
        assert_eq!(error.pointer, "/definitions/Cpu");

        // A spec kept elsewhere imports from the specs folder it is told of.
        let elsewhere = specs.join("downloads/v1.41/swagger.yaml");
        let mut document = json!({"definitions": {}});
        let error = overrides
            .patch_document(&elsewhere, v("1.41"), &mut document)
            .unwrap_err();
        assert!(error.problem.contains("cannot read"), "{error}");
        let overrides = overrides.importing_from(specs.clone());
        overrides.patch_document(&elsewhere, v("1.41"), &mut document).unwrap();
        assert_eq!(document["definitions"].as_object().unwrap().len(), 2);
        std::fs::remove_dir_all(specs).unwrap();
    }

    #[test]
    fn entries_without_a_reason_are_refused() {
        let text = "schema_patches:\n  - versions: \"1.25\"\n    at: /x\n    checked_by: [t]\n    set: {a: 1}\n";
        let error = Overrides::parse(Path::new("o.yaml"), text).unwrap_err();
        assert!(error.problem.contains("why"), "{error}");
    }

    #[test]
    fn entries_checked_by_nothing_are_refused() {
        let entry = |checked_by: &str| {
            format!("schema_patches:\n  - versions: \"1.25-\"\n    at: /x\n    why: w\n{checked_by}    set: {{a: 1}}\n")
        };
        let error = Overrides::parse(Path::new("o.yaml"), &entry("")).unwrap_err();
        assert!(error.problem.contains("checked_by"), "{error}");
        for nothing in ["    checked_by: []\n", "    checked_by: {untestable: \" \"}\n"] {
            let error = Overrides::parse(Path::new("o.yaml"), &entry(nothing)).unwrap_err();
            assert_eq!(
                error.problem,
                "patch of /x in 1.25-: `checked_by` names no test and gives no reason"
            );
        }
        let overrides = Overrides::parse(Path::new("o.yaml"), &entry("    checked_by: [a_test]\n")).unwrap();
        assert!(matches!(overrides.evidence()[..], [(_, Evidence::Tests(ref tests))] if tests == &["a_test"]));
    }
}
