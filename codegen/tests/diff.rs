//! The diff on a fixture pair: one assertion per rule, on the exact entries.

use std::path::Path;

use codegen::diff::{diff, render_json, render_markdown, Change, Level};
use codegen::{ApiVersion, Overrides, SpecFile};

fn fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/diff")
}

/// The Engine spec at `path`, of `version`.
fn engine_spec(path: std::path::PathBuf, version: &str) -> SpecFile {
    SpecFile {
        family: codegen::ApiFamily::Engine,
        version: ApiVersion::parse(version).unwrap(),
        path,
    }
}

fn load(name: &str, version: &str) -> codegen::ir::Api {
    codegen::load_api(&engine_spec(fixtures().join(name), version), &Overrides::default()).unwrap()
}

fn changes() -> Vec<Change> {
    diff(&load("old.yaml", "1.10"), &load("new.yaml", "1.11"))
}

fn find<'a>(changes: &'a [Change], rule: &str, location: &str, subject: &str) -> &'a Change {
    changes
        .iter()
        .find(|c| c.rule == rule && c.location == location && c.subject == subject)
        .unwrap_or_else(|| panic!("no {rule} at {location} for {subject} in {changes:#?}"))
}

#[test]
fn operations_added_removed_and_renamed() {
    let changes = changes();
    assert_eq!(
        find(&changes, "operation-added", "POST /items/create", "ItemCreate").level,
        Level::Compatible
    );
    let removed = find(&changes, "operation-removed", "DELETE /items/{id}", "ItemDelete");
    assert_eq!(removed.level, Level::Breaking);
    assert_eq!(removed.rust.as_deref(), Some("method `item_delete()` removed"));
    let renamed = find(&changes, "operation-renamed", "POST /items/{id}/rename", "operationId");
    assert_eq!(
        (renamed.old.as_deref(), renamed.new.as_deref()),
        (Some("ItemRename"), Some("ItemNewName"))
    );
}

#[test]
fn parameters_added_removed_and_made_required() {
    let changes = changes();
    assert_eq!(
        find(&changes, "parameter-added", "GET /items", "query parameter `filters`").level,
        Level::Compatible
    );
    let required = find(
        &changes,
        "parameter-added",
        "POST /items/{id}/rename",
        "query parameter `name`",
    );
    assert_eq!(required.level, Level::Breaking);
    assert_eq!(
        find(&changes, "parameter-removed", "GET /items", "query parameter `old`").level,
        Level::Breaking
    );
    let now_required = find(
        &changes,
        "parameter-required-changed",
        "GET /items",
        "query parameter `limit`",
    );
    assert_eq!(now_required.level, Level::Breaking);
    assert_eq!(
        now_required.rust.as_deref(),
        Some("`limit` becomes an argument of the method")
    );
}

#[test]
fn properties_enums_and_types() {
    let changes = changes();
    let retyped = find(&changes, "property-type-changed", "Item", "property `Size`");
    assert_eq!(
        (retyped.old.as_deref(), retyped.new.as_deref()),
        (Some("i64"), Some("String"))
    );
    assert_eq!(retyped.level, Level::Breaking);
    assert_eq!(
        find(&changes, "property-removed", "Item", "property `Gone`")
            .rust
            .as_deref(),
        Some("field `Item::gone` removed")
    );
    assert_eq!(
        find(&changes, "property-added", "Item", "property `Added`").level,
        Level::Compatible
    );
    assert_eq!(
        find(&changes, "enum-value-removed", "Mode", "value \"slow\"").level,
        Level::Breaking
    );
    assert_eq!(
        find(&changes, "enum-value-added", "Mode", "value \"turbo\"").level,
        Level::PotentiallyBreaking
    );
    assert_eq!(
        find(&changes, "type-removed", "Legacy", "Legacy").level,
        Level::PotentiallyBreaking
    );
}

#[test]
fn renames_deprecations_in_prose_and_description_changes() {
    let changes = changes();
    let renamed = find(&changes, "type-renamed", "Place", "Spot");
    assert_eq!(
        (renamed.old.as_deref(), renamed.new.as_deref()),
        (Some("Spot"), Some("Place"))
    );
    assert_eq!(renamed.rust.as_deref(), Some("type `Spot` renamed `Place`"));
    assert!(
        !changes.iter().any(|c| c.subject == "Place"),
        "a renamed type is not also added"
    );
    let default = find(
        &changes,
        "parameter-default-changed",
        "GET /items",
        "query parameter `size`",
    );
    assert_eq!(
        (default.old.as_deref(), default.new.as_deref()),
        (Some("false"), Some("true"))
    );
    assert_eq!(default.level, Level::PotentiallyBreaking);
    assert_eq!(default.rust.as_deref(), Some("leaving `size` unset now means true"));
    let deprecated = find(&changes, "parameter-deprecated", "GET /items", "query parameter `all`");
    assert_eq!(deprecated.level, Level::Compatible);
    find(&changes, "property-deprecated", "Item", "property `Hint`");
    let prose: Vec<_> = changes
        .iter()
        .filter(|c| c.is_description())
        .map(|c| c.subject.as_str())
        .collect();
    assert_eq!(prose, ["query parameter `all`", "property `Name`", "property `Hint`"]);
}

#[test]
fn nothing_else_changes_and_renderings_agree() {
    let changes = changes();
    assert_eq!(changes.len(), 20, "{changes:#?}");
    let (old, new) = (load("old.yaml", "1.10"), load("new.yaml", "1.11"));
    let summary = codegen::diff::summary(&changes);
    assert_eq!(
        summary,
        "17 changes: 7 breaking, 4 potentially breaking, 6 compatible; 3 description changes"
    );
    let json: serde_json::Value = serde_json::from_str(&render_json(&old, &new, &changes, false)).unwrap();
    assert_eq!(
        json["changes"].as_array().unwrap().len(),
        17,
        "description changes listed on request"
    );
    assert_eq!(json["description_changes"], 3);
    let json: serde_json::Value = serde_json::from_str(&render_json(&old, &new, &changes, true)).unwrap();
    assert_eq!(json["changes"].as_array().unwrap().len(), changes.len());
    assert_eq!(
        json["changes"][0]["level"],
        serde_json::to_value(changes[0].level).unwrap()
    );
    let markdown = render_markdown(&old, &new, &changes, false);
    assert!(markdown.starts_with("## Docker Engine API v1.10 → v1.11"));
    assert!(markdown.contains("#### `GET /items`"));
    assert!(diff(&old, &old).is_empty(), "a version does not differ from itself");
}

/// A change as the tests compare it: rule, level, location, subject, old and new values.
type Entry<'a> = (&'a str, Level, &'a str, &'a str, Option<&'a str>, Option<&'a str>);

fn entries(changes: &[Change]) -> Vec<Entry<'_>> {
    changes
        .iter()
        .map(|c| {
            (
                c.rule,
                c.level,
                c.location.as_str(),
                c.subject.as_str(),
                c.old.as_deref(),
                c.new.as_deref(),
            )
        })
        .collect()
}

/// The second pair: bodies, responses, deprecation, parameter and property types, added and
/// changed types; the whole list, in order.
#[test]
fn bodies_responses_deprecations_and_type_changes() {
    let (old, new) = (load("bodies-old.yaml", "1.20"), load("bodies-new.yaml", "1.21"));
    let changes = diff(&old, &new);
    let entries = entries(&changes);
    use Level::{Breaking, Compatible};
    assert_eq!(
        entries,
        [
            (
                "parameter-type-changed",
                Breaking,
                "GET /things",
                "query parameter `count`",
                Some("i64"),
                Some("String")
            ),
            (
                "response-changed",
                Breaking,
                "GET /things/{id}",
                "success response",
                Some("Thing"),
                Some("Vec<Thing>")
            ),
            (
                "operation-deprecated",
                Compatible,
                "GET /things/{id}",
                "ThingInspect",
                None,
                None
            ),
            (
                "request-body-changed",
                Breaking,
                "POST /things",
                "request body",
                Some("JSON Thing"),
                Some("JSON Gadget")
            ),
            (
                "request-body-added",
                Compatible,
                "POST /things/{id}/poke",
                "request body",
                Some("none"),
                Some("JSON Thing")
            ),
            (
                "request-body-removed",
                Breaking,
                "POST /things/{id}/reset",
                "request body",
                Some("JSON Level"),
                Some("none")
            ),
            ("type-added", Compatible, "Gadget", "Gadget", None, None),
            (
                "type-changed",
                Breaking,
                "Level",
                "Level",
                Some("a struct"),
                Some("an enumeration")
            ),
            (
                "property-required-changed",
                Compatible,
                "Thing",
                "property `Name`",
                Some("false"),
                Some("true")
            ),
            // The body's new type, compared with the one it replaces.
            (
                "property-removed",
                Breaking,
                "Thing → Gadget",
                "property `Name`",
                None,
                None
            ),
            (
                "property-added",
                Compatible,
                "Thing → Gadget",
                "property `Serial`",
                None,
                None
            ),
            (
                "property-added",
                Compatible,
                "Thing → Gadget",
                "property `Weight`",
                None,
                None
            ),
        ]
    );
    let rust: Vec<Option<&str>> = changes.iter().map(|c| c.rust.as_deref()).collect();
    assert_eq!(rust[0], Some("`count` takes String"));
    assert_eq!(rust[6], Some("type `Gadget` added"));
    assert_eq!(rust[7], Some("`Level` is now an enumeration"));
    // A field the spec now requires holds its value rather than an Option.
    assert_eq!(rust[8], Some("field `Thing::name` is now String"));
    assert_eq!(rust[10], Some("new field `Gadget::serial`"));
}

/// The third pair: what the diff once missed (response headers, media types, nullability, a type
/// renamed and changed at once, a response moving to a richer type) and what it once counted
/// more than once (references following a rename, properties a type takes from its base, types
/// merged into one); the whole list, in order.
#[test]
fn headers_media_types_nullability_and_one_entry_per_change() {
    let (old, new) = (load("wire-old.yaml", "1.30"), load("wire-new.yaml", "1.31"));
    let changes = diff(&old, &new);
    let entries = entries(&changes);
    use Level::{Breaking, Compatible, PotentiallyBreaking};
    let jobs = "GET /jobs";
    assert_eq!(
        entries,
        [
            // A client sending null may be refused now.
            (
                "parameter-nullable-changed",
                PotentiallyBreaking,
                jobs,
                "query parameter `limit`",
                Some("true"),
                Some("false")
            ),
            // One value is a list of one on the wire.
            (
                "parameter-type-changed",
                Compatible,
                jobs,
                "query parameter `state`",
                Some("String"),
                Some("repeated String")
            ),
            (
                "response-header-type-changed",
                Breaking,
                jobs,
                "200 response header `X-Total`",
                Some("i64"),
                Some("String")
            ),
            (
                "response-header-values-changed",
                PotentiallyBreaking,
                jobs,
                "200 response header `X-Mode`",
                Some("fast, slow"),
                Some("fast, slow, paused")
            ),
            (
                "response-header-default-changed",
                Compatible,
                jobs,
                "200 response header `X-Mode`",
                Some("none"),
                Some("\"fast\"")
            ),
            (
                "response-header-removed",
                Breaking,
                jobs,
                "200 response header `X-Gone`",
                None,
                None
            ),
            (
                "response-header-added",
                Compatible,
                jobs,
                "200 response header `X-New`",
                None,
                None
            ),
            // The response's new type is the old one and a field: its level is that of the
            // differences, listed at `Job → JobDetail` (Job's own changes stay at Job).
            (
                "response-changed",
                PotentiallyBreaking,
                "GET /jobs/{id}",
                "success response",
                Some("Job"),
                Some("JobDetail")
            ),
            (
                "response-media-types-changed",
                PotentiallyBreaking,
                "GET /jobs/{id}/export",
                "response media types",
                Some("application/x-tar"),
                Some("application/x-tar, application/octet-stream")
            ),
            (
                "request-media-types-changed",
                Breaking,
                "PUT /jobs/{id}/upload",
                "request media types",
                Some("application/x-tar, application/octet-stream"),
                Some("application/x-tar")
            ),
            (
                "property-nullable-changed",
                PotentiallyBreaking,
                "Job",
                "property `Exit`",
                Some("false"),
                Some("true")
            ),
            // JSON has one kind of number; only the Rust type changes.
            (
                "property-type-changed",
                Compatible,
                "Job",
                "property `Size`",
                Some("i64"),
                Some("u64")
            ),
            (
                "property-added",
                Compatible,
                "Job → JobDetail",
                "property `Logs`",
                None,
                None
            ),
            ("type-added", Compatible, "JobDetail", "JobDetail", None, None),
            // The body's schema gained a title and a field: a rename, then its change, and no
            // request-body entry.
            (
                "type-renamed",
                Compatible,
                "JobSpec",
                "JobCreateBody",
                Some("JobCreateBody"),
                Some("JobSpec")
            ),
            (
                "property-added",
                Compatible,
                "JobSpec",
                "property `Timeout`",
                None,
                None
            ),
            // Once, at the base, not again at Settings.
            (
                "property-added",
                Compatible,
                "Limits",
                "property `CpuShares`",
                None,
                None
            ),
            (
                "type-renamed",
                Compatible,
                "MountPoint",
                "JobMounts",
                Some("JobMounts"),
                Some("MountPoint")
            ),
            ("property-added", Compatible, "Node", "property `Spec`", None, None),
            // Two inline types merged into one definition that adds a field: the field once.
            (
                "type-renamed",
                Compatible,
                "ObjectVersion",
                "JobVersion",
                Some("JobVersion"),
                Some("ObjectVersion")
            ),
            (
                "type-renamed",
                Compatible,
                "ObjectVersion",
                "NodeVersion",
                Some("NodeVersion"),
                Some("ObjectVersion")
            ),
            (
                "property-added",
                Compatible,
                "ObjectVersion",
                "property `Updated`",
                None,
                None
            ),
            // The name stays and means another type; what it meant lives on as RunSpec.
            (
                "type-renamed",
                Compatible,
                "RunSpec",
                "Spec",
                Some("Spec"),
                Some("RunSpec")
            ),
            ("type-name-reused", Compatible, "Spec", "Spec", None, None),
        ]
    );
    let used_in = |rule: &str, location: &str, subject: &str| find(&changes, rule, location, subject).used_in.clone();
    assert_eq!(
        used_in("type-renamed", "JobSpec", "JobCreateBody"),
        ["POST /jobs request body"]
    );
    assert_eq!(
        used_in("property-added", "Limits", "property `CpuShares`"),
        ["Settings"]
    );
    assert_eq!(
        used_in("type-renamed", "ObjectVersion", "NodeVersion"),
        ["Node.Version"]
    );
    let renamed = find(&changes, "type-renamed", "JobSpec", "JobCreateBody");
    assert_eq!(renamed.rust.as_deref(), Some("type `JobCreateBody` renamed `JobSpec`"));
    let size = find(&changes, "property-type-changed", "Job", "property `Size`");
    assert_eq!(size.rust.as_deref(), Some("field `Job::size` is now Option<u64>"));
    let json: serde_json::Value = serde_json::from_str(&render_json(&old, &new, &changes, false)).unwrap();
    let listed = json["changes"].as_array().unwrap();
    let at_limits = listed.iter().find(|c| c["location"] == "Limits").unwrap();
    assert_eq!(at_limits["used_in"], serde_json::json!(["Settings"]));
    assert!(listed[0].get("used_in").is_none(), "used_in is left out when empty");
}

/// The third pair: keys of a `filters` parameter added, removed, deprecated and given another
/// form, reported as changes of the operation; the prose changes with them is one entry.
#[test]
fn filter_keys_added_removed_deprecated_and_changed() {
    let (old, new) = (load("filters-old.yaml", "1.40"), load("filters-new.yaml", "1.41"));
    let changes = diff(&old, &new);
    let filter = |key: &str| format!("filter `{key}` of query parameter `filters`");
    let (state, kind, owner, until, label, node) = (
        filter("state"),
        filter("kind"),
        filter("owner"),
        filter("until"),
        filter("label"),
        filter("node"),
    );
    let expected: Vec<Entry<'_>> = vec![
        (
            "filter-value-changed",
            Level::Compatible,
            "GET /jobs",
            &state,
            Some("one of queued, running"),
            Some("one of queued, running, done"),
        ),
        (
            "filter-value-changed",
            Level::PotentiallyBreaking,
            "GET /jobs",
            &kind,
            Some("one of batch, stream"),
            Some("one of batch, cron"),
        ),
        (
            "filter-key-deprecated",
            Level::Compatible,
            "GET /jobs",
            &owner,
            None,
            None,
        ),
        (
            "filter-value-changed",
            Level::PotentiallyBreaking,
            "GET /jobs",
            &until,
            Some("a duration"),
            Some("a time"),
        ),
        ("filter-key-removed", Level::Breaking, "GET /jobs", &label, None, None),
        ("filter-key-added", Level::Compatible, "GET /jobs", &node, None, None),
        (
            "description-changed",
            Level::Compatible,
            "GET /jobs",
            "query parameter `filters`",
            None,
            None,
        ),
    ];
    assert_eq!(entries(&changes), expected);
    let removed = find(&changes, "filter-key-removed", "GET /jobs", &label);
    assert_eq!(removed.rust.as_deref(), Some("`JobListFilters::label` removed"));
    let added = find(&changes, "filter-key-added", "GET /jobs", &node);
    assert_eq!(added.rust.as_deref(), Some("new method `JobListFilters::node`"));
}

#[test]
fn a_change_the_override_file_made_effective_earlier_is_listed_marked_and_not_counted() {
    let spec = |name: &str, version: &str| engine_spec(fixtures().join(name), version);
    let overrides = Overrides::parse(
        Path::new("overrides.yaml"),
        r#"
schema_patches:
  - versions: "1.10"
    at: /paths/~1items/get/parameters
    why: the old daemon already took filters
    checked_by: {untestable: the fixture describes no real daemon}
    append: [{name: filters, in: query, type: string}]
  - versions: "1.10-1.11"
    at: /paths/~1items/get
    why: both specs leave the summary out
    checked_by: {untestable: the fixture describes no real daemon}
    set: {summary: Lists items}
"#,
    )
    .unwrap();
    let found = codegen::diff_specs(&spec("old.yaml", "1.10"), &spec("new.yaml", "1.11"), &overrides).unwrap();
    assert!(found.documented_unknown.is_none());
    let added = find(
        &found.changes,
        "parameter-added",
        "GET /items",
        "query parameter `filters`",
    );
    // Only the entry the old version alone has gave it; the shared one is not named.
    assert_eq!(
        added.effective_earlier_through,
        Some(vec!["schema patch at /paths/~1items/get/parameters (1.10)".to_owned()])
    );
    let effective = diff(
        &codegen::load_api(&spec("old.yaml", "1.10"), &overrides).unwrap(),
        &codegen::load_api(&spec("new.yaml", "1.11"), &overrides).unwrap(),
    );
    assert_eq!(found.changes.len(), effective.len() + 1);
    let summary = codegen::diff::summary(&found.changes);
    assert!(
        summary.starts_with(&codegen::diff::summary(&effective))
            && summary.ends_with("; 1 documented in this version, effective earlier through the override file"),
        "{summary}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&render_json(&found.old, &found.new, &found.changes, false)).unwrap();
    let listed = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["subject"] == "query parameter `filters`")
        .unwrap();
    assert_eq!(
        listed["effective_earlier_through"][0],
        "schema patch at /paths/~1items/get/parameters (1.10)"
    );
}

#[test]
fn a_spec_unreadable_without_an_entry_of_its_own_leaves_the_effective_diff_and_says_why() {
    // The old spec gives a property two types, which only an entry for the old version alone
    // makes readable; without it the specs' own changes cannot be compared.
    let old_text = std::fs::read_to_string(fixtures().join("old.yaml")).unwrap().replace(
        "      Hint: {type: string, description: \"A hint.\"}",
        "      Hint: {type: string, description: \"A hint.\"}\n      Cmd: {type: [array, string]}",
    );
    let folder = std::env::temp_dir().join(format!("diff-unreadable-{}", std::process::id()));
    std::fs::create_dir_all(&folder).unwrap();
    let old_path = folder.join("old.yaml");
    std::fs::write(&old_path, old_text).unwrap();
    let overrides = Overrides::parse(
        Path::new("overrides.yaml"),
        r#"
schema_patches:
  - versions: "1.10"
    at: /definitions/Item/properties/Cmd
    why: the old spec gives Cmd two types
    checked_by: {untestable: the fixture describes no real daemon}
    set: {type: string}
"#,
    )
    .unwrap();
    let found = codegen::diff_specs(
        &engine_spec(old_path, "1.10"),
        &engine_spec(fixtures().join("new.yaml"), "1.11"),
        &overrides,
    );
    std::fs::remove_dir_all(&folder).unwrap();
    let found = found.unwrap();
    let unreadable = found.documented_unknown.expect("the shared reading fails");
    assert!(
        unreadable.to_string().contains("/definitions/Item/properties/Cmd/type"),
        "{unreadable}"
    );
    assert!(found.changes.iter().all(|c| c.effective_earlier_through.is_none()));
    find(&found.changes, "property-removed", "Item", "property `Cmd`");
}

#[test]
fn registry_specs_are_compared_as_engine_ones_without_the_engines_overrides() {
    let spec = |name: &str| SpecFile {
        family: codegen::ApiFamily::Registry,
        version: ApiVersion { major: 2, minor: 0 },
        path: fixtures().join(name),
    };
    // Engine entries claiming every version from 1.25 on must not touch a Registry spec.
    let overrides = Overrides::parse(
        Path::new("overrides.yaml"),
        r#"
schema_patches:
  - versions: "1.25-"
    at: /paths/~1v2~1/get
    why: an Engine entry
    checked_by: {untestable: the fixture describes no real daemon}
    set: {summary: never applied}
"#,
    )
    .unwrap();
    let found = codegen::diff_specs(&spec("registry-old.yaml"), &spec("registry-new.yaml"), &overrides).unwrap();
    let compared: Vec<(&str, &str, &str)> = found
        .changes
        .iter()
        .filter(|c| !c.is_description())
        .map(|c| (c.rule, c.location.as_str(), c.subject.as_str()))
        .collect();
    assert_eq!(
        compared,
        [
            (
                "response-header-added",
                "GET /v2/",
                "200 response header `Docker-Distribution-API-Version`"
            ),
            ("parameter-added", "GET /v2/{name}/tags/list", "query parameter `last`"),
            ("operation-added", "GET /v2/_catalog", "CatalogList"),
            ("type-added", "Catalog", "Catalog"),
        ]
    );
    assert!(found.changes.iter().all(|c| c.effective_earlier_through.is_none()));
    let markdown = render_markdown(&found.old, &found.new, &found.changes, false);
    assert!(markdown.starts_with("## Registry HTTP API v2 → v2"), "{markdown}");
}
