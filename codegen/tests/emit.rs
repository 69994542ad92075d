//! Pins the Rust the generator emits for each construct, on a small fixture spec.
//!
//! The whole output is compared with `tests/fixtures/constructs.expected/`; after an intended
//! change to the emitter, refresh it with `UPDATE_EXPECT=1 cargo test -p codegen --test emit`.

use std::path::{Path, PathBuf};

use codegen::{ApiVersion, Overrides, SpecFile};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn generate_fixture() -> std::collections::BTreeMap<String, String> {
    let spec = SpecFile {
        family: codegen::ApiFamily::Engine,
        version: ApiVersion::parse("1.99").unwrap(),
        path: fixtures().join("constructs.yaml"),
    };
    let overrides = Overrides::load(&fixtures().join("overrides.yaml")).unwrap();
    codegen::generate(&spec, &overrides, "0.1.0").unwrap().files
}

fn squash(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `text` without whitespace or the trailing commas prettyplease adds where a list breaks.
fn tight(text: &str) -> String {
    let bare: String = text.split_whitespace().collect();
    bare.replace(",)", ")").replace(",]", "]").replace(",}", "}")
}

/// Asserts `file` contains `snippet`, whitespace-insensitively.
fn assert_emits(files: &std::collections::BTreeMap<String, String>, file: &str, snippet: &str) {
    let text = squash(&files[file]);
    assert!(
        text.contains(&squash(snippet)),
        "{file} lacks:\n{snippet}\n--- {file} ---\n{}",
        files[file]
    );
}

#[test]
fn all_of_merges_the_fields_of_every_part() {
    let files = generate_fixture();
    assert_emits(&files, "src/models.rs", "pub struct ThingCreateBody {");
    for field in [
        "pub image: Option<String>",
        "pub labels: Option<std::collections::HashMap<String, String>>",
        "pub binds: Option<Vec<String>>",
        "pub name: Option<String>",
    ] {
        let body = &files["src/models.rs"];
        let start = body.find("pub struct ThingCreateBody").unwrap();
        let end = start + body[start..].find("\n}\n").unwrap();
        assert!(
            squash(&body[start..end]).contains(field),
            "ThingCreateBody lacks {field}"
        );
    }
}

#[test]
fn enums_are_open_and_round_trip_unknown_values() {
    let files = generate_fixture();
    assert_emits(
        &files,
        "src/models.rs",
        "#[derive(Debug, Clone, PartialEq, Eq, Hash)] pub enum Restart {",
    );
    assert_emits(&files, "src/models.rs", "Empty, /// `\"no\"` No,");
    assert_emits(
        &files,
        "src/models.rs",
        "OnFailure, /// A value the spec does not list, kept as sent. Other(String), }",
    );
    // The conversions, serde and `Display` are the runtime's `open_enum!`, tested there: known
    // values decode from the borrowed string, and serialize without a copy.
    assert_emits(
        &files,
        "src/models.rs",
        r#"Restart, { "" => Empty, "no" => No, "always" => Always,"#,
    );
    assert_emits(&files, "src/models.rs", r#""on-failure" => OnFailure }"#);
    assert_emits(&files, "src/models.rs", "pub enum ThingStateStatus {");
}

#[test]
fn a_required_field_holds_its_value_and_any_other_is_optional() {
    let files = generate_fixture();
    assert_emits(&files, "src/models.rs", r#"#[serde(rename = "Id")] pub id: String,"#);
    // A required field the spec allows `null` in keeps `None` for it.
    assert_emits(
        &files,
        "src/models.rs",
        r#"#[serde(rename = "Gone", skip_serializing_if = "Option::is_none")] pub gone: Option<String>,"#,
    );
    // Decoded through the runtime's shared visitor (`decode_fields!`): a missing or null
    // optional field is None, a plain one its type's default.
    assert_emits(&files, "src/models.rs", r#""Gone" => gone"#);
    assert_emits(&files, "src/models.rs", r#"plain { "Id" => id }"#);
    assert_emits(&files, "src/models.rs", "pub binds: Option<Vec<String>>,");
    assert_emits(
        &files,
        "src/models.rs",
        "pub ports: Option<std::collections::HashMap<String, Option<Vec<String>>>>,",
    );
}

#[test]
fn an_operation_answering_204_or_304_tells_done_from_already_done() {
    let files = generate_fixture();
    assert_emits(
        &files,
        "src/operations.rs",
        "pub async fn send(self) -> Result<docker_engine_runtime::Outcome> {",
    );
    assert_emits(&files, "src/operations.rs", "self.client.send_outcome(request).await");
    assert_emits(&files, "src/mock.rs", "mock::outcome_answer");
}

#[test]
fn names_are_rust_and_wire_names_are_kept() {
    let files = generate_fixture();
    assert_emits(
        &files,
        "src/models.rs",
        r#"#[serde(rename = "type", skip_serializing_if = "Option::is_none")] pub type_: Option<String>,"#,
    );
    assert_emits(&files, "src/models.rs", r#""type" => type_"#);
    assert_emits(
        &files,
        "src/models.rs",
        r#"#[serde(rename = "os.version", skip_serializing_if = "Option::is_none")] pub os_version: Option<String>,"#,
    );
}

#[test]
fn integer_formats_maps_free_form_and_recursion() {
    let files = generate_fixture();
    assert_emits(&files, "src/models.rs", "pub size: Option<u64>,");
    assert_emits(&files, "src/models.rs", "pub port: Option<u16>,");
    assert_emits(&files, "src/models.rs", "pub ratio: Option<f64>,");
    assert_emits(&files, "src/models.rs", "pub anything: Option<serde_json::Value>,");
    assert_emits(
        &files,
        "src/models.rs",
        "pub parent: Option<Box<crate::models::Thing>>,",
    );
}

#[test]
fn inline_response_types_take_their_title() {
    let files = generate_fixture();
    assert_emits(&files, "src/models.rs", "pub struct ThingInspectAnswer { ");
    assert_emits(
        &files,
        "src/operations.rs",
        "pub async fn send(self) -> Result<crate::models::ThingInspectAnswer> {",
    );
}

#[test]
fn query_parameters_are_encoded_as_the_spec_says() {
    let files = generate_fixture();
    assert_emits(
        &files,
        "src/operations.rs",
        r#"request = request.query_list("platform", value, true);"#,
    );
    assert_emits(
        &files,
        "src/operations.rs",
        r#"request = request.query_list("names", value, false);"#,
    );
    assert_emits(
        &files,
        "src/operations.rs",
        r#"request = request.query_json("filters", value)?;"#,
    );
    assert_emits(
        &files,
        "src/operations.rs",
        "pub fn filters( mut self, value: impl Into<crate::filters::ThingInspectFilters>,",
    );
    assert_emits(&files, "src/operations.rs", r#"request = request.query("all", value);"#);
    assert_emits(
        &files,
        "src/operations.rs",
        r#"[ "/things/", &docker_engine_runtime::path_segment( "ThingInspect", "name", &self.name, )?, "/json", ] .concat()"#,
    );
}

#[test]
fn spec_prose_becomes_rustdoc_markdown() {
    let files = generate_fixture();
    assert_emits(
        &files,
        "src/models.rs",
        "/// Shares of a Array&lt;string> pool. See <https://docs.docker.com/engine/>, the
         /// inspect endpoint, the \\[Size\\] field and `<kept>` as written.",
    );
}

/// Found by the `spec_loader` fuzz target: a definition named "2" made the emitter panic.
#[test]
fn names_that_make_no_identifier_get_a_prefix_not_a_panic() {
    let text = "swagger: '2.0'\ninfo: {title: t, version: '1.99'}\ndefinitions:\n  '2': {type: object, properties: {'3d': {type: string}}}\n  '-': {type: string, enum: [a]}\npaths: {}\n";
    let dir = std::env::temp_dir().join(format!("codegen-names-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("swagger.yaml");
    std::fs::write(&path, text).unwrap();
    let spec = SpecFile {
        family: codegen::ApiFamily::Engine,
        version: ApiVersion::parse("1.99").unwrap(),
        path,
    };
    let files = codegen::generate(&spec, &Overrides::default(), "0.1.0").unwrap().files;
    assert_emits(&files, "src/models.rs", "pub struct _2 {");
    assert_emits(&files, "src/models.rs", "pub field_3d: Option<String>,");
    assert_emits(&files, "src/models.rs", "pub enum unnamed {");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn bodies_headers_and_response_kinds() {
    let files = generate_fixture();
    assert_emits(
        &files,
        "src/operations.rs",
        "pub fn create(&self, body: crate::models::ThingCreateBody) -> ThingCreateBuilder {",
    );
    assert_emits(&files, "src/operations.rs", "request = request.json_body(&self.body)?;");
    assert_emits(
        &files,
        "src/operations.rs",
        "pub fn x_registry_auth(mut self, value: RegistryAuth) -> Self {",
    );
    assert_emits(
        &files,
        "src/operations.rs",
        r#"request = request.body(body, "application/x-tar");"#,
    );
    assert_emits(
        &files,
        "src/operations.rs",
        "-> Result<docker_engine_runtime::JsonStream<crate::models::Progress>>",
    );
    assert_emits(
        &files,
        "src/operations.rs",
        "-> Result<docker_engine_runtime::ByteStream>",
    );
    // Only `send_with_headers` reads the headers; `send` leaves them.
    assert_emits(
        &files,
        "src/operations.rs",
        "pub async fn send(self) -> Result<String> { let (client, request) = self.into_request()?; \
         client.send_text(request).await }",
    );
    assert_emits(
        &files,
        "src/operations.rs",
        "let (client, request) = self.into_request()?; client.send_text_with_headers(request).await",
    );
    assert_emits(&files, "src/lib.rs", "pub fn things(&self) -> operations::Things {");
    assert_emits(
        &files,
        "src/lib.rs",
        "pub fn system(&self) -> operations::SystemOperations {",
    );
}

#[test]
fn output_matches_the_pinned_files_and_is_deterministic() {
    let files = generate_fixture();
    assert_eq!(files, generate_fixture(), "two runs differ");
    let expected_dir = fixtures().join("constructs.expected");
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        for (path, text) in &files {
            let file = expected_dir.join(path);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(file, text).unwrap();
        }
    }
    for (path, text) in &files {
        let expected = std::fs::read_to_string(expected_dir.join(path))
            .unwrap_or_else(|e| panic!("{path}: {e}; run with UPDATE_EXPECT=1 to create it"));
        assert!(
            expected == *text,
            "{path} differs from constructs.expected/{path}; rerun with UPDATE_EXPECT=1 if intended"
        );
    }
}

#[test]
fn stale_operation_overrides_fail_generation() {
    let spec = SpecFile {
        family: codegen::ApiFamily::Engine,
        version: ApiVersion::parse("1.99").unwrap(),
        path: fixtures().join("constructs.yaml"),
    };
    let text =
        "operations:\n  - versions: \"1.90-\"\n    operation: ThingGone\n    why: test\n    checked_by: [t]\n    response: {kind: hijack}\n";
    let overrides = Overrides::parse(Path::new("o.yaml"), text).unwrap();
    let error = codegen::generate(&spec, &overrides, "0.1.0").unwrap_err();
    assert!(
        error.problem.contains("ThingGone") && error.problem.contains("1.99"),
        "{error}"
    );
}

#[test]
fn operation_overrides_that_change_nothing_or_collide_fail_generation() {
    let spec = SpecFile {
        family: codegen::ApiFamily::Engine,
        version: ApiVersion::parse("1.99").unwrap(),
        path: fixtures().join("logs.yaml"),
    };
    let entry = |kind: &str| {
        format!("  - versions: \"1.90-\"\n    operation: ThingLogs\n    why: test\n    checked_by: [t]\n    response: {{kind: {kind}}}\n")
    };
    let changes = format!("operations:\n{}", entry("hijack"));
    let overrides = Overrides::parse(Path::new("o.yaml"), &changes).unwrap();
    assert!(codegen::generate(&spec, &overrides, "0.1.0").is_ok());
    // The spec's `produces` already says the answer is container output.
    let idle = format!("operations:\n{}", entry("output"));
    let overrides = Overrides::parse(Path::new("o.yaml"), &idle).unwrap();
    let error = codegen::generate(&spec, &overrides, "0.1.0").unwrap_err();
    assert!(error.problem.contains("changes nothing"), "{error}");

    let twice = format!("operations:\n{}{}", entry("hijack"), entry("json_stream"));
    let overrides = Overrides::parse(Path::new("o.yaml"), &twice).unwrap();
    let error = codegen::generate(&spec, &overrides, "0.1.0").unwrap_err();
    assert!(
        error.problem.contains("two override entries claim operation ThingLogs"),
        "{error}"
    );
}

#[test]
fn a_default_body_is_sent_when_the_caller_sets_none_and_only_where_a_body_is_optional() {
    let dir = std::env::temp_dir().join(format!("codegen-default-body-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let spec_text = r##"
swagger: "2.0"
info: {title: t, version: "1.99"}
definitions:
  Config: {type: object, properties: {Cmd: {type: array, items: {type: string}}}}
paths:
  /commit:
    post:
      operationId: ThingCommit
      consumes: [application/json]
      parameters:
        - {name: config, in: body, schema: {$ref: "#/definitions/Config"}}
      responses: {200: {description: ok}}
  /ping:
    get:
      operationId: ThingPing
      responses: {200: {description: ok}}
"##;
    std::fs::write(dir.join("swagger.yaml"), spec_text).unwrap();
    let spec = SpecFile {
        family: codegen::ApiFamily::Engine,
        version: ApiVersion::parse("1.99").unwrap(),
        path: dir.join("swagger.yaml"),
    };
    let entry = |operation: &str| {
        format!("operations:\n  - versions: \"1.99\"\n    operation: {operation}\n    why: test\n    checked_by: [t]\n    default_body: true\n")
    };
    let overrides = Overrides::parse(Path::new("o.yaml"), &entry("ThingCommit")).unwrap();
    let files = codegen::generate(&spec, &overrides, "0.1.0").unwrap().files;
    let operations = &files["src/operations.rs"];
    assert!(
        operations.contains("request = request.json_body(&self.body.unwrap_or_default())?;"),
        "{operations}"
    );
    let overrides = Overrides::parse(Path::new("o.yaml"), &entry("ThingPing")).unwrap();
    let error = codegen::generate(&spec, &overrides, "0.1.0").unwrap_err();
    assert!(error.problem.contains("ThingPing a default body"), "{error}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn declared_response_headers_are_read_typed_beside_the_answer() {
    let files = generate_fixture();
    assert_emits(
        &files,
        "src/operations.rs",
        "pub struct ThingUploadChunkHeaders { /// `Location` pub location: Option<String>, /// `Content-Length` pub content_length: Option<i64>, }",
    );
    assert_emits(
        &files,
        "src/operations.rs",
        "pub async fn send_with_headers(self) -> Result<(String, SystemPingHeaders)>",
    );
    assert_emits(
        &files,
        "src/operations.rs",
        "content_length: docker_engine_runtime::header_value( operation, headers, \"content-length\", )?,",
    );
}

#[test]
fn location_driven_operations_take_the_location_and_multi_segment_names_keep_slashes() {
    let files = generate_fixture();
    assert_emits(
        &files,
        "src/operations.rs",
        "pub fn upload_chunk( &self, location: impl Into<String>, digest: impl Into<String>, body: Body, ) -> ThingUploadChunkBuilder",
    );
    assert_emits(
        &files,
        "src/operations.rs",
        "let mut request = Request::at_location( Method::PATCH, &self.location, \"ThingUploadChunk\", )?;",
    );
    assert_emits(
        &files,
        "src/operations.rs",
        "&docker_engine_runtime::path_segments(\"ThingTags\", \"name\", &self.name)?",
    );
}

#[test]
fn each_filter_key_gets_a_method_for_its_form_with_the_override_file_applied() {
    let files = generate_fixture();
    let filters = "src/filters.rs";
    for (snippet, why) in [
        (
            r#"pub const BY_OPERATION: &[(&str, &[FilterKey])] = &[("ThingInspect", ThingInspectFilters::KEYS)];"#,
            "the table of filtered operations",
        ),
        (
            r#"/// `status=`(`created`|`running`) a thing's state
            pub fn status(self, value: impl Into<ThingInspectStatusFilter>) -> Self {
                Self(self.0.add("status", String::from(value.into())))"#,
            "an enumeration, documented by the spec's line",
        ),
        (
            r#"pub enum ThingInspectStatusFilter { /// `"created"` Created, /// `"running"` Running,"#,
            "its values",
        ),
        (
            r#"pub fn dangling(self, value: bool) -> Self { Self(self.0.add("dangling", value.to_string())) }"#,
            "a boolean",
        ),
        (
            r#"pub fn label(self, key: impl Into<String>) -> Self { Self(self.0.add("label", key)) }"#,
            "a label's key",
        ),
        (
            r#"pub fn label_value(self, key: &str, value: &str) -> Self { Self(self.0.add("label", format!("{key}={value}"))) }"#,
            "a label's key and value",
        ),
        (
            r#"pub fn without_label(self, key: impl Into<String>) -> Self { Self(self.0.add("label!", key)) }"#,
            "negated",
        ),
        (r#"pub fn size(self, value: i64) -> Self"#, "a number"),
        (
            r#"pub fn until(self, value: impl Into<docker_engine_runtime::FilterTime>) -> Self { Self(self.0.add("until", value.into().to_string())) }"#,
            "a time",
        ),
        (
            r#"pub fn shared(self) -> Self { Self(self.0.add_flag("shared")) }"#,
            "a flag",
        ),
        (
            r#"pub fn owner(self, value: i64) -> Self"#,
            "a form the override file corrects",
        ),
        (
            r#"/// `kind=(big|small)` how big
            pub fn kind(self, value: impl Into<ThingInspectKindFilter>) -> Self"#,
            "a key the override file adds",
        ),
        (r#"FilterKey::new("owner", FilterForm::Integer)"#, "the keys listed"),
    ] {
        let text = tight(&files[filters]);
        assert!(
            text.contains(&tight(snippet)),
            "filters.rs lacks {why}:\n{snippet}\n---\n{}",
            files[filters]
        );
    }
}

#[test]
fn examples_take_the_specs_values_where_they_fit_and_fill_the_rest() {
    let files = generate_fixture();
    // A property's example; text the YAML read as a number; a number written as text.
    assert_emits(&files, "src/examples.rs", r#"id: String::from("abc"),"#);
    assert_emits(&files, "src/examples.rs", r#"os_version: Some(String::from("10.0")),"#);
    assert_emits(&files, "src/examples.rs", "size: Some(12),");
    // Out of range for a u16: filled instead. Negative numbers and free-form JSON.
    assert_emits(&files, "src/examples.rs", "port: Some(0),");
    assert_emits(&files, "src/examples.rs", "ratio: Some(-0.5f64),");
    assert_emits(
        &files,
        "src/examples.rs",
        "serde_json::Value::from(-2i64), serde_json::Value::Null,",
    );
    // A field of its own type stays empty; other references take their type's example.
    assert_emits(&files, "src/examples.rs", "parent: None,");
    assert_emits(
        &files,
        "src/examples.rs",
        "policy: Some(crate::models::Restart::example()),",
    );
    // The definition's example (a key the model lacks left out), an enumeration's example or
    // first value, and an operation's example answer.
    assert_emits(
        &files,
        "src/examples.rs",
        r#"binds: Some(Vec::from([String::from("/a:/b")])),"#,
    );
    assert_emits(&files, "src/examples.rs", r#"Self::from("always")"#);
    assert_emits(&files, "src/examples.rs", r#"Self::from("running")"#);
    assert_emits(
        &files,
        "src/examples.rs",
        r#"warnings: Some(Vec::from([String::from("disk low")])),"#,
    );
    // Without an example: zero values and empty collections, as a daemon written in Go sends.
    assert_emits(
        &files,
        "src/examples.rs",
        r#"image: Some(String::from("")), labels: Some(std::collections::HashMap::new()),"#,
    );
}
