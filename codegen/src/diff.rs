//! What changed between two API versions, computed from the IR the generator uses, with what
//! each change means for a client written against the old version and for its Rust code.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;

use crate::emit::field_name;
use crate::ir::*;

/// How a change affects a client written against the old version talking to a new daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Level {
    Breaking,
    PotentiallyBreaking,
    Compatible,
}

impl Level {
    fn label(self) -> &'static str {
        match self {
            Level::Breaking => "breaking",
            Level::PotentiallyBreaking => "potentially breaking",
            Level::Compatible => "compatible",
        }
    }
}

/// One change. `location` is `METHOD /path` for operations and the type name for models.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub rule: &'static str,
    pub level: Level,
    pub location: String,
    pub subject: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<String>,
    /// What a user of the old crate edits, where anything.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rust: Option<String>,
}

/// Every change from `old` to `new`, operations first, in a stable order.
pub fn diff(old: &Api, new: &Api) -> Vec<Change> {
    let mut changes = Vec::new();
    diff_operations(old, new, &mut changes);
    diff_types(old, new, &mut changes);
    changes
}

fn change(rule: &'static str, level: Level, location: &str, subject: impl Into<String>) -> Change {
    Change {
        rule,
        level,
        location: location.to_owned(),
        subject: subject.into(),
        old: None,
        new: None,
        rust: None,
    }
}

impl Change {
    /// Only the prose changed; such changes are counted apart and listed on request.
    pub fn is_description(&self) -> bool {
        self.rule == DESCRIPTION_CHANGED
    }

    fn values(mut self, old: impl ToString, new: impl ToString) -> Self {
        self.old = Some(old.to_string());
        self.new = Some(new.to_string());
        self
    }

    fn rust(mut self, text: String) -> Self {
        self.rust = Some(text);
        self
    }
}

const DESCRIPTION_CHANGED: &str = "description-changed";

/// Whether a description announces a deprecation ("Deprecated: use ...", "This field is
/// deprecated"), as the specs mostly say it instead of setting `deprecated`.
fn says_deprecated(text: Option<&str>) -> bool {
    text.is_some_and(|text| text.to_ascii_lowercase().contains("deprecated"))
}

/// Whether two descriptions differ in more than line breaks and spacing.
fn prose_differs(old: Option<&str>, new: Option<&str>) -> bool {
    let words = |text: Option<&str>| {
        text.unwrap_or_default()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    words(old) != words(new)
}

fn description_change(location: &str, subject: impl Into<String>) -> Change {
    change(DESCRIPTION_CHANGED, Level::Compatible, location, subject)
}

fn endpoint(op: &Operation) -> String {
    format!("{} {}", op.method, op.path)
}

fn diff_operations(old: &Api, new: &Api, out: &mut Vec<Change>) {
    let by_endpoint = |api: &Api| -> BTreeMap<String, Operation> {
        api.operations.iter().map(|op| (endpoint(op), op.clone())).collect()
    };
    let (before, after) = (by_endpoint(old), by_endpoint(new));
    for (at, op) in &before {
        let Some(next) = after.get(at) else {
            let rust = format!("method `{}()` removed", crate::emit::method_name(op));
            out.push(change("operation-removed", Level::Breaking, at, &op.id).rust(rust));
            continue;
        };
        if op.id != next.id {
            let rust = format!(
                "method `{}()` renamed `{}()`",
                crate::emit::method_name(op),
                crate::emit::method_name(next)
            );
            out.push(
                change("operation-renamed", Level::PotentiallyBreaking, at, "operationId")
                    .values(&op.id, &next.id)
                    .rust(rust),
            );
        }
        diff_parameters(at, op, next, out);
        diff_bodies(at, op, next, out);
        if op.response != next.response {
            let (was, now) = (describe_response(&op.response), describe_response(&next.response));
            let rust = format!("`send()` of `{}` returns {now}", crate::emit::method_name(next));
            out.push(
                change("response-changed", Level::Breaking, at, "success response")
                    .values(was, now)
                    .rust(rust),
            );
        }
        let deprecated = |op: &Operation| {
            op.deprecated || says_deprecated(op.summary.as_deref()) || says_deprecated(op.description.as_deref())
        };
        if !deprecated(op) && deprecated(next) {
            out.push(change("operation-deprecated", Level::Compatible, at, &next.id));
        }
        let prose = |op: &Operation| {
            format!(
                "{}\n{}",
                op.summary.as_deref().unwrap_or_default(),
                op.description.as_deref().unwrap_or_default()
            )
        };
        if prose_differs(Some(&prose(op)), Some(&prose(next))) {
            out.push(description_change(at, "description"));
        }
    }
    for (at, op) in &after {
        if !before.contains_key(at) {
            let rust = format!("method `{}()` added", crate::emit::method_name(op));
            out.push(change("operation-added", Level::Compatible, at, &op.id).rust(rust));
        }
    }
}

fn diff_parameters(at: &str, old: &Operation, new: &Operation, out: &mut Vec<Change>) {
    let key = |p: &Parameter| (format!("{:?}", p.location).to_lowercase(), p.wire_name.clone());
    let before: BTreeMap<_, _> = old.parameters.iter().map(|p| (key(p), p)).collect();
    let after: BTreeMap<_, _> = new.parameters.iter().map(|p| (key(p), p)).collect();
    for ((location, name), parameter) in &before {
        let subject = format!("{location} parameter `{name}`");
        let setter = field_name(name);
        match after.get(&(location.clone(), name.clone())) {
            None => out.push(
                change("parameter-removed", Level::Breaking, at, subject)
                    .rust(format!("setter or argument `{setter}` removed")),
            ),
            Some(next) => {
                if parameter.value != next.value {
                    let (was, now) = (describe_parameter(&parameter.value), describe_parameter(&next.value));
                    out.push(
                        change("parameter-type-changed", Level::Breaking, at, &subject)
                            .values(was, &now)
                            .rust(format!("`{setter}` takes {now}")),
                    );
                }
                if !says_deprecated(parameter.doc.as_deref()) && says_deprecated(next.doc.as_deref()) {
                    out.push(change("parameter-deprecated", Level::Compatible, at, &subject));
                }
                if prose_differs(parameter.doc.as_deref(), next.doc.as_deref()) {
                    out.push(description_change(at, &subject));
                }
                if parameter.default != next.default {
                    let describe = |default: &Option<String>| default.clone().unwrap_or_else(|| "none".into());
                    out.push(
                        change("parameter-default-changed", Level::PotentiallyBreaking, at, &subject)
                            .values(describe(&parameter.default), describe(&next.default))
                            .rust(format!(
                                "leaving `{setter}` unset now means {}",
                                describe(&next.default)
                            )),
                    );
                }
                if parameter.required != next.required {
                    let level = if next.required {
                        Level::Breaking
                    } else {
                        Level::Compatible
                    };
                    let rust = if next.required {
                        format!("`{setter}` becomes an argument of the method")
                    } else {
                        format!("`{setter}` becomes an optional setter")
                    };
                    out.push(
                        change("parameter-required-changed", level, at, &subject)
                            .values(parameter.required, next.required)
                            .rust(rust),
                    );
                }
            }
        }
    }
    for ((location, name), parameter) in &after {
        if !before.contains_key(&(location.clone(), name.clone())) {
            let level = if parameter.required {
                Level::Breaking
            } else {
                Level::Compatible
            };
            let setter = field_name(name);
            let subject = format!("{location} parameter `{name}`");
            let rust = if parameter.required {
                format!("new argument `{setter}`")
            } else {
                format!("new setter `{setter}`")
            };
            out.push(change("parameter-added", level, at, subject).rust(rust));
        }
    }
}

fn diff_bodies(at: &str, old: &Operation, new: &Operation, out: &mut Vec<Change>) {
    match (&old.body, &new.body) {
        (None, Some(body)) => {
            let level = if body.required {
                Level::Breaking
            } else {
                Level::Compatible
            };
            out.push(change("request-body-added", level, at, "request body").values("none", describe_body(&body.kind)));
        }
        (Some(body), None) => {
            out.push(
                change("request-body-removed", Level::Breaking, at, "request body")
                    .values(describe_body(&body.kind), "none"),
            );
        }
        (Some(before), Some(after)) if before.kind != after.kind => {
            let (was, now) = (describe_body(&before.kind), describe_body(&after.kind));
            out.push(change("request-body-changed", Level::Breaking, at, "request body").values(was, now));
        }
        _ => {}
    }
}

fn diff_types(old: &Api, new: &Api, out: &mut Vec<Change>) {
    let by_name =
        |api: &Api| -> BTreeMap<String, TypeDef> { api.types.iter().map(|t| (t.name.clone(), t.clone())).collect() };
    let (before, after) = (by_name(old), by_name(new));
    let renames = renamed_types(&before, &after);
    for (name, typedef) in &before {
        let Some(next) = after.get(name) else {
            match renames.get(name) {
                Some(new_name) => out.push(
                    change("type-renamed", Level::PotentiallyBreaking, name, name)
                        .values(name, new_name)
                        .rust(format!("type `{name}` renamed `{new_name}`")),
                ),
                None => out.push(
                    change("type-removed", Level::PotentiallyBreaking, name, name)
                        .rust(format!("type `{name}` removed")),
                ),
            }
            continue;
        };
        if prose_differs(typedef.doc.as_deref(), next.doc.as_deref()) {
            out.push(description_change(name, name));
        }
        match (&typedef.kind, &next.kind) {
            (TypeKind::Struct(fields), TypeKind::Struct(next_fields)) => diff_fields(name, fields, next_fields, out),
            (TypeKind::Enum(values), TypeKind::Enum(next_values)) => {
                for value in values.iter().filter(|v| !next_values.contains(v)) {
                    out.push(change(
                        "enum-value-removed",
                        Level::Breaking,
                        name,
                        format!("value {value:?}"),
                    ));
                }
                for value in next_values.iter().filter(|v| !values.contains(v)) {
                    out.push(change(
                        "enum-value-added",
                        Level::PotentiallyBreaking,
                        name,
                        format!("value {value:?}"),
                    ));
                }
            }
            (a, b) if a != b => {
                let (was, now) = (describe_kind(a), describe_kind(b));
                out.push(
                    change("type-changed", Level::Breaking, name, name)
                        .values(was, &now)
                        .rust(format!("`{name}` is now {now}")),
                );
            }
            _ => {}
        }
    }
    let renamed_to: Vec<&String> = renames.values().collect();
    for name in after
        .keys()
        .filter(|n| !before.contains_key(*n) && !renamed_to.contains(n))
    {
        out.push(change("type-added", Level::Compatible, name, name).rust(format!("type `{name}` added")));
    }
}

/// Types that vanished under one name and appeared under another with the same shape (the same
/// fields with the same types, or the same values), when exactly one candidate matches.
fn renamed_types(before: &BTreeMap<String, TypeDef>, after: &BTreeMap<String, TypeDef>) -> BTreeMap<String, String> {
    let shape = |kind: &TypeKind| -> Option<String> {
        match kind {
            TypeKind::Struct(fields) if !fields.is_empty() => Some(
                fields
                    .iter()
                    .map(|f| format!("{}:{}:{}", f.wire_name, describe_type(&f.ty), f.required))
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            TypeKind::Enum(values) if !values.is_empty() => Some(format!("enum {values:?}")),
            _ => None,
        }
    };
    let vanished: Vec<(&String, String)> = before
        .iter()
        .filter(|(name, _)| !after.contains_key(*name))
        .filter_map(|(name, t)| Some((name, shape(&t.kind)?)))
        .collect();
    let appeared: Vec<(&String, String)> = after
        .iter()
        .filter(|(name, _)| !before.contains_key(*name))
        .filter_map(|(name, t)| Some((name, shape(&t.kind)?)))
        .collect();
    let mut renames = BTreeMap::new();
    for (old_name, old_shape) in &vanished {
        let candidates: Vec<&&String> = appeared
            .iter()
            .filter(|(_, s)| s == old_shape)
            .map(|(n, _)| n)
            .collect();
        let rivals = vanished.iter().filter(|(_, s)| s == old_shape).count();
        if let ([new_name], 1) = (candidates.as_slice(), rivals) {
            renames.insert((*old_name).clone(), (**new_name).clone());
        }
    }
    renames
}

fn diff_fields(owner: &str, old: &[Field], new: &[Field], out: &mut Vec<Change>) {
    let field = |f: &Field| format!("`{owner}::{}`", field_name(&f.wire_name));
    for before in old {
        match new.iter().find(|f| f.wire_name == before.wire_name) {
            None => out.push(
                change(
                    "property-removed",
                    Level::Breaking,
                    owner,
                    format!("property `{}`", before.wire_name),
                )
                .rust(format!("field {} removed", field(before))),
            ),
            Some(after) => {
                if before.ty != after.ty {
                    let (was, now) = (describe_type(&before.ty), describe_type(&after.ty));
                    out.push(
                        change(
                            "property-type-changed",
                            Level::Breaking,
                            owner,
                            format!("property `{}`", before.wire_name),
                        )
                        .values(was, &now)
                        .rust(format!("field {} is now Option<{now}>", field(after))),
                    );
                }
                if before.required != after.required {
                    out.push(
                        change(
                            "property-required-changed",
                            Level::Compatible,
                            owner,
                            format!("property `{}`", before.wire_name),
                        )
                        .values(before.required, after.required),
                    );
                }
                let deprecated = |field: &Field| field.deprecated || says_deprecated(field.doc.as_deref());
                if !deprecated(before) && deprecated(after) {
                    out.push(change(
                        "property-deprecated",
                        Level::Compatible,
                        owner,
                        format!("property `{}`", before.wire_name),
                    ));
                }
                if prose_differs(before.doc.as_deref(), after.doc.as_deref()) {
                    out.push(description_change(owner, format!("property `{}`", before.wire_name)));
                }
            }
        }
    }
    for after in new.iter().filter(|f| !old.iter().any(|b| b.wire_name == f.wire_name)) {
        out.push(
            change(
                "property-added",
                Level::Compatible,
                owner,
                format!("property `{}`", after.wire_name),
            )
            .rust(format!("new field {}", field(after))),
        );
    }
}

fn describe_type(ty: &TypeRef) -> String {
    match ty {
        TypeRef::Bool => "bool".into(),
        TypeRef::Integer(format) => format!("{format:?}").to_lowercase(),
        TypeRef::Number => "f64".into(),
        TypeRef::String => "String".into(),
        TypeRef::Binary => "bytes".into(),
        TypeRef::Any => "JSON value".into(),
        TypeRef::Array(item) => format!("Vec<{}>", describe_type(item)),
        TypeRef::Map(value) => format!("map of {}", describe_type(value)),
        TypeRef::Named(name) => name.clone(),
        TypeRef::Nullable(inner) => format!("Option<{}>", describe_type(inner)),
    }
}

fn describe_kind(kind: &TypeKind) -> String {
    match kind {
        TypeKind::Struct(_) => "a struct".into(),
        TypeKind::Enum(_) => "an enumeration".into(),
        TypeKind::Alias(ty) => format!("an alias of {}", describe_type(ty)),
    }
}

fn describe_parameter(value: &ParameterValue) -> String {
    match value {
        ParameterValue::Scalar(ty) => describe_type(ty),
        ParameterValue::List { item, repeated: true } => format!("repeated {}", describe_type(item)),
        ParameterValue::List { item, repeated: false } => format!("comma-separated {}", describe_type(item)),
        ParameterValue::Json(ty) => format!("JSON {}", describe_type(ty)),
        ParameterValue::Filters => "Filters".into(),
        ParameterValue::RegistryAuth => "RegistryAuth".into(),
        ParameterValue::RegistryConfig => "RegistryConfig".into(),
    }
}

fn describe_body(kind: &BodyKind) -> String {
    match kind {
        BodyKind::Json(ty) => format!("JSON {}", describe_type(ty)),
        BodyKind::Binary { content_type } => format!("bytes ({content_type})"),
    }
}

fn describe_response(response: &Response) -> String {
    match response {
        Response::Empty => "nothing".into(),
        Response::Json(ty) => describe_type(ty),
        Response::Text => "text".into(),
        Response::Bytes => "a byte stream".into(),
        Response::JsonStream(ty) => format!("a stream of {}", describe_type(ty)),
        Response::Output => "container output".into(),
        Response::Hijack => "a hijacked session".into(),
        Response::WebSocket => "a WebSocket session".into(),
        Response::PathStat => "a path stat".into(),
    }
}

/// Counts by level, for the summary line; description-only changes are counted apart.
pub fn summary(changes: &[Change]) -> String {
    let (prose, changes): (Vec<&Change>, Vec<&Change>) = changes.iter().partition(|c| c.is_description());
    let count = |level| changes.iter().filter(|c| c.level == level).count();
    let mut line = format!(
        "{} changes: {} breaking, {} potentially breaking, {} compatible",
        changes.len(),
        count(Level::Breaking),
        count(Level::PotentiallyBreaking),
        count(Level::Compatible)
    );
    if !prose.is_empty() {
        let _ = write!(line, "; {} description changes", prose.len());
    }
    line
}

/// The changes a report lists: description-only ones only when asked for.
fn listed(changes: &[Change], descriptions: bool) -> impl Iterator<Item = &Change> {
    changes.iter().filter(move |c| descriptions || !c.is_description())
}

/// A plain or colored terminal report, grouped by location.
pub fn render_text(old: &Api, new: &Api, changes: &[Change], descriptions: bool, color: bool) -> String {
    let paint = |level: Level, text: &str| match (color, level) {
        (false, _) => text.to_owned(),
        (true, Level::Breaking) => format!("\x1b[31m{text}\x1b[0m"),
        (true, Level::PotentiallyBreaking) => format!("\x1b[33m{text}\x1b[0m"),
        (true, Level::Compatible) => format!("\x1b[32m{text}\x1b[0m"),
    };
    let mut out = format!("API v{} -> v{}\n", old.version, new.version);
    let mut current = "";
    for c in listed(changes, descriptions) {
        if c.location != current {
            current = &c.location;
            let _ = writeln!(out, "\n{current}");
        }
        let values = match (&c.old, &c.new) {
            (Some(a), Some(b)) => format!(": {a} -> {b}"),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "  [{}] {} {}{values}",
            paint(c.level, c.level.label()),
            c.rule,
            c.subject
        );
        if let Some(rust) = &c.rust {
            let _ = writeln!(out, "      Rust: {rust}");
        }
    }
    let _ = writeln!(out, "\n{}", summary(changes));
    out
}

/// A changelog section: endpoints first, then types.
pub fn render_markdown(old: &Api, new: &Api, changes: &[Change], descriptions: bool) -> String {
    let mut out = format!(
        "## Docker Engine API v{} → v{}\n\n{}\n",
        old.version,
        new.version,
        summary(changes)
    );
    let (endpoints, types): (Vec<&Change>, Vec<&Change>) =
        listed(changes, descriptions).partition(|c| c.location.contains(' '));
    for (title, group) in [("Endpoints", endpoints), ("Types", types)] {
        if group.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n### {title}");
        let mut current = "";
        for c in group {
            if c.location != current {
                current = &c.location;
                let _ = writeln!(out, "\n#### `{current}`\n");
            }
            let values = match (&c.old, &c.new) {
                (Some(a), Some(b)) => format!(": `{a}` → `{b}`"),
                _ => String::new(),
            };
            let rust = c.rust.as_ref().map(|r| format!(" (Rust: {r})")).unwrap_or_default();
            let _ = writeln!(out, "- **{}** {} {}{values}{rust}", c.level.label(), c.rule, c.subject);
        }
    }
    out
}

/// The JSON report: `{"old": "1.41", "new": "1.42", "summary": "...", "description_changes": N,
/// "changes": [{rule, level, location, subject, old?, new?, rust?}]}`.
pub fn render_json(old: &Api, new: &Api, changes: &[Change], descriptions: bool) -> String {
    let listed: Vec<&Change> = listed(changes, descriptions).collect();
    let report = serde_json::json!({
        "old": old.version.to_string(),
        "new": new.version.to_string(),
        "summary": summary(changes),
        "description_changes": changes.iter().filter(|c| c.is_description()).count(),
        "changes": listed,
    });
    serde_json::to_string_pretty(&report).expect("the report serializes")
}
