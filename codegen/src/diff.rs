//! What changed between two API versions, computed from the IR the generator uses, with what
//! each change means for a client written against the old version and for its Rust code.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use serde::Serialize;

use crate::ir::*;
use heck::ToUpperCamelCase;

use crate::naming::field_name;

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
    /// Where else the change shows, reported only here: the references that follow a renamed
    /// type, or the types that take a property from this one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub used_in: Vec<String>,
    /// For a change the new spec documents that the old crate already had through the override
    /// file: the entries that gave it (see [`documented_earlier`]). Such a change is listed but
    /// not counted, as the crates' APIs do not differ in it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effective_earlier_through: Option<Vec<String>>,
}

/// Every change from `old` to `new`, operations first, then types by name. Each change is one
/// entry: references that only follow a renamed type are listed on its rename (`used_in`), and
/// a property a type takes unchanged from its base (`HostConfig` from `Resources`) on the base's
/// entry.
pub fn diff(old: &Api, new: &Api) -> Vec<Change> {
    let mut differ = Differ::new(old, new);
    differ.operations();
    differ.types();
    differ.finish()
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
        used_in: Vec::new(),
        effective_earlier_through: None,
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
const TYPE_RENAMED: &str = "type-renamed";

/// Whether a description announces a deprecation ("Deprecated: use ...", "This field is
/// deprecated"), as the specs mostly say it instead of setting `deprecated`.
/// The Rust type of a model's field: the value itself when the spec requires it, else an Option.
fn rust_field_type(field: &Field) -> String {
    let ty = describe_type(&field.ty);
    match field.plain() {
        true => ty,
        false => format!("Option<{ty}>"),
    }
}

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

fn property(wire_name: &str) -> String {
    format!("property `{wire_name}`")
}

/// How a type reference in the new version relates to the one it replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Relation {
    /// Only type names differ, each by a rename reported on its own.
    FollowsRenames,
    /// The same JSON on the wire under other Rust types.
    SameWire,
    /// A new type taking the place of an old one that still exists, compared with it property by
    /// property (at `Old → New`); the worst level among those changes.
    Derived(Level),
    Different,
}

impl Relation {
    /// The level of the change at the reference, or none when it is reported elsewhere.
    fn level(self) -> Option<Level> {
        match self {
            Relation::FollowsRenames => None,
            Relation::SameWire => Some(Level::Compatible),
            Relation::Derived(level) => Some(level),
            Relation::Different => Some(Level::Breaking),
        }
    }
}

/// What a type is on the wire, whatever its Rust name.
enum Wire<'t> {
    Scalar(&'static str),
    Any,
    Array(&'t TypeRef),
    Map(&'t TypeRef),
    Nullable(&'t TypeRef),
    Object(&'t str, &'t [Field]),
}

type Types<'a> = BTreeMap<&'a str, &'a TypeDef>;

fn wire<'t>(ty: &'t TypeRef, types: &Types<'t>) -> Wire<'t> {
    let mut ty = ty;
    // Aliases chain at most a few deep; the bound only guards against a loop.
    for _ in 0..16 {
        return match ty {
            TypeRef::Bool => Wire::Scalar("boolean"),
            // JSON has one kind of integer; the format only bounds it.
            TypeRef::Integer(_) => Wire::Scalar("integer"),
            TypeRef::Number => Wire::Scalar("number"),
            TypeRef::String => Wire::Scalar("string"),
            TypeRef::Binary => Wire::Scalar("binary"),
            TypeRef::Any => Wire::Any,
            TypeRef::Array(item) => Wire::Array(item),
            TypeRef::Map(value) => Wire::Map(value),
            TypeRef::Nullable(inner) => Wire::Nullable(inner),
            TypeRef::Named(name) => match types.get(name.as_str()).map(|t| (&t.kind, t.name.as_str())) {
                Some((TypeKind::Alias(target), _)) => {
                    ty = target;
                    continue;
                }
                // Enumerations are open: any string decodes.
                Some((TypeKind::Enum(_), _)) => Wire::Scalar("string"),
                Some((TypeKind::Struct(fields), name)) => Wire::Object(name, fields),
                None => Wire::Any,
            },
        };
    }
    Wire::Any
}

/// Pairs of type names at the same place in two type references of the same structure.
fn named_pairs<'t>(old: &'t TypeRef, new: &'t TypeRef, pairs: &mut Vec<(&'t str, &'t str)>) -> bool {
    match (old, new) {
        (TypeRef::Array(a), TypeRef::Array(b))
        | (TypeRef::Map(a), TypeRef::Map(b))
        | (TypeRef::Nullable(a), TypeRef::Nullable(b)) => named_pairs(a, b, pairs),
        (TypeRef::Named(a), TypeRef::Named(b)) => {
            pairs.push((a, b));
            true
        }
        (a, b) => a == b,
    }
}

struct Differ<'a> {
    old: &'a Api,
    new: &'a Api,
    old_types: Types<'a>,
    new_types: Types<'a>,
    /// Types that vanished and live on under another name, changed or not: found by their
    /// shape, or by the new type taking the old one's place in an operation or a property.
    successors: BTreeMap<String, String>,
    /// Where each renamed type is referenced, said once on its rename (reported at the new name,
    /// with its changes, as for a type that kept its name).
    uses: BTreeMap<String, BTreeSet<String>>,
    /// Properties a type takes unchanged from a base, reported at the base: (base, property) to
    /// the types built from it.
    inherited: BTreeMap<(String, String), BTreeSet<String>>,
    /// (old, new) type pairs compared property by property, with the worst level found.
    compared: BTreeMap<(String, String), Level>,
    operation_changes: Vec<Change>,
    type_changes: Vec<Change>,
}

impl<'a> Differ<'a> {
    fn new(old: &'a Api, new: &'a Api) -> Self {
        let by_name = |api: &'a Api| -> Types<'a> { api.types.iter().map(|t| (t.name.as_str(), t)).collect() };
        let mut differ = Differ {
            old,
            new,
            old_types: by_name(old),
            new_types: by_name(new),
            successors: BTreeMap::new(),
            uses: BTreeMap::new(),
            inherited: BTreeMap::new(),
            compared: BTreeMap::new(),
            operation_changes: Vec::new(),
            type_changes: Vec::new(),
        };
        // Where a type was used says more than its shape: places first, then shapes for the
        // types no place decided, then places again, which the renamed types' properties extend.
        differ.find_successors_by_place();
        for (old_name, new_name) in renamed_types(&differ.old_types, &differ.new_types) {
            differ.successors.entry(old_name).or_insert(new_name);
        }
        differ.find_successors_by_place();
        differ
    }

    fn appeared(&self, name: &str) -> bool {
        self.new_types.contains_key(name) && !self.old_types.contains_key(name)
    }

    /// An old type succeeded by the one new type that took its place everywhere it was
    /// referenced from something present in both versions; repeated, since a successor's
    /// properties may reveal more.
    fn find_successors_by_place(&mut self) {
        loop {
            let mut places: Vec<(&TypeRef, &TypeRef)> = Vec::new();
            let old_operations: BTreeMap<String, &Operation> =
                self.old.operations.iter().map(|op| (endpoint(op), op)).collect();
            for next in &self.new.operations {
                let Some(op) = old_operations.get(&endpoint(next)) else {
                    continue;
                };
                match (&op.response, &next.response) {
                    (Response::Json(a), Response::Json(b)) | (Response::JsonStream(a), Response::JsonStream(b)) => {
                        places.push((a, b))
                    }
                    _ => {}
                }
                if let (Some(a), Some(b)) = (&op.body, &next.body) {
                    if let (BodyKind::Json(a), BodyKind::Json(b)) = (&a.kind, &b.kind) {
                        places.push((a, b));
                    }
                }
                for parameter in &op.parameters {
                    let same = next
                        .parameters
                        .iter()
                        .find(|p| p.wire_name == parameter.wire_name && p.location == parameter.location);
                    if let Some(pair) = same.and_then(|p| parameter_types(&parameter.value, &p.value)) {
                        places.push(pair);
                    }
                }
            }
            for (name, typedef) in &self.old_types {
                let Some(next) = self.counterpart(name) else { continue };
                match (&typedef.kind, &next.kind) {
                    (TypeKind::Struct(fields), TypeKind::Struct(next_fields)) => {
                        for field in fields {
                            if let Some(after) = next_fields.iter().find(|f| f.wire_name == field.wire_name) {
                                places.push((&field.ty, &after.ty));
                            }
                        }
                    }
                    (TypeKind::Alias(a), TypeKind::Alias(b)) => places.push((a, b)),
                    _ => {}
                }
            }
            // What each old type became at every place it was referenced from.
            let mut became: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
            for (old, new) in places {
                let mut pairs = Vec::new();
                named_pairs(old, new, &mut pairs);
                for (a, b) in pairs {
                    if !self.successors.contains_key(a) {
                        became.entry(a).or_default().insert(b);
                    }
                }
            }
            // A type whose name stays but means another type now (`Config`, once a container's
            // configuration, became a swarm config in 1.30 while every use of the old one moved
            // to `ContainerConfig`) is succeeded as well.
            let found: Vec<(String, String)> = became
                .into_iter()
                .filter_map(|(a, bs)| match bs.into_iter().collect::<Vec<_>>()[..] {
                    [b] if b != a && self.appeared(b) => Some((a.to_owned(), b.to_owned())),
                    _ => None,
                })
                .collect();
            if found.is_empty() {
                return;
            }
            self.successors.extend(found);
        }
    }

    /// The new version's type for an old type name: its successor, or the same name.
    fn counterpart(&self, old_name: &str) -> Option<&'a TypeDef> {
        let name = self.successors.get(old_name).map_or(old_name, String::as_str);
        self.new_types.get(name).copied()
    }

    fn wire_equal(&self, old: &TypeRef, new: &TypeRef, seen: &mut BTreeSet<(String, String)>) -> bool {
        match (wire(old, &self.old_types), wire(new, &self.new_types)) {
            (Wire::Scalar(a), Wire::Scalar(b)) => a == b,
            (Wire::Any, Wire::Any) => true,
            (Wire::Array(a), Wire::Array(b))
            | (Wire::Map(a), Wire::Map(b))
            | (Wire::Nullable(a), Wire::Nullable(b)) => self.wire_equal(a, b, seen),
            (Wire::Object(a, fields), Wire::Object(b, next_fields)) => {
                // A type that contains itself is equal where its contents are.
                if !seen.insert((a.to_owned(), b.to_owned())) {
                    return true;
                }
                fields.len() == next_fields.len()
                    && fields.iter().all(|field| {
                        next_fields
                            .iter()
                            .find(|f| f.wire_name == field.wire_name)
                            .is_some_and(|after| self.wire_equal(&field.ty, &after.ty, seen))
                    })
            }
            _ => false,
        }
    }

    /// How `new` relates to `old` at `place` (where a rename's uses are recorded).
    fn relate(&mut self, old: &TypeRef, new: &TypeRef, place: &str) -> Relation {
        let mut pairs = Vec::new();
        if named_pairs(old, new, &mut pairs)
            && pairs
                .iter()
                .all(|(a, b)| a == b || self.successors.get(*a).is_some_and(|s| s == b))
        {
            for (renamed, _) in pairs.iter().filter(|(a, b)| a != b) {
                self.uses
                    .entry((*renamed).to_owned())
                    .or_default()
                    .insert(place.to_owned());
            }
            return Relation::FollowsRenames;
        }
        if self.wire_equal(old, new, &mut BTreeSet::new()) {
            return Relation::SameWire;
        }
        if let [(a, b)] = pairs[..] {
            let both_structs = matches!(self.old_types.get(a).map(|t| &t.kind), Some(TypeKind::Struct(_)))
                && matches!(self.new_types.get(b).map(|t| &t.kind), Some(TypeKind::Struct(_)));
            if both_structs && self.new_types.contains_key(a) && self.appeared(b) {
                return Relation::Derived(self.compare(a, b, &format!("{a} → {b}")));
            }
        }
        Relation::Different
    }

    /// Compares old type `old_name` with new type `new_name` as if one had become the other,
    /// reporting at `location`, once; the worst level of what changed.
    fn compare(&mut self, old_name: &str, new_name: &str, location: &str) -> Level {
        let key = (old_name.to_owned(), new_name.to_owned());
        if let Some(level) = self.compared.get(&key) {
            return *level;
        }
        // Settled now, so a type that contains itself does not compare forever.
        self.compared.insert(key.clone(), Level::Compatible);
        let (old, new) = (self.old_types[old_name], self.new_types[new_name]);
        let start = self.type_changes.len();
        self.diff_type(old, new, location);
        let level = self.type_changes[start..]
            .iter()
            .filter(|c| !c.is_description())
            .map(|c| c.level)
            .min()
            .unwrap_or(Level::Compatible);
        self.compared.insert(key, level);
        level
    }

    fn operations(&mut self) {
        let by_endpoint = |api: &'a Api| -> BTreeMap<String, &'a Operation> {
            api.operations.iter().map(|op| (endpoint(op), op)).collect()
        };
        let (before, after) = (by_endpoint(self.old), by_endpoint(self.new));
        for (at, op) in &before {
            let Some(next) = after.get(at) else {
                let rust = format!("method `{}()` removed", crate::naming::method_name(op));
                self.operation_changes
                    .push(change("operation-removed", Level::Breaking, at, &op.id).rust(rust));
                continue;
            };
            self.operation(at, op, next);
        }
        for (at, op) in &after {
            if !before.contains_key(at) {
                let rust = format!("method `{}()` added", crate::naming::method_name(op));
                self.operation_changes
                    .push(change("operation-added", Level::Compatible, at, &op.id).rust(rust));
            }
        }
    }

    fn operation(&mut self, at: &str, op: &Operation, next: &Operation) {
        if op.id != next.id {
            let rust = format!(
                "method `{}()` renamed `{}()`",
                crate::naming::method_name(op),
                crate::naming::method_name(next)
            );
            self.operation_changes.push(
                change("operation-renamed", Level::PotentiallyBreaking, at, "operationId")
                    .values(&op.id, &next.id)
                    .rust(rust),
            );
        }
        self.parameters(at, op, next);
        self.bodies(at, op, next);
        if op.response != next.response {
            let relation = match (&op.response, &next.response) {
                (Response::Json(a), Response::Json(b)) | (Response::JsonStream(a), Response::JsonStream(b)) => {
                    self.relate(a, b, &format!("{at} response"))
                }
                _ => Relation::Different,
            };
            if let Some(level) = relation.level() {
                let (was, now) = (describe_response(&op.response), describe_response(&next.response));
                let rust = format!("`send()` of `{}` returns {now}", crate::naming::method_name(next));
                self.operation_changes.push(
                    change("response-changed", level, at, "success response")
                        .values(was, now)
                        .rust(rust),
                );
            }
        }
        // A response or body of another kind is reported as such, its media types with it.
        if std::mem::discriminant(&op.response) == std::mem::discriminant(&next.response) {
            self.media_types(at, "response", &op.produces, &next.produces);
        }
        let same_body_kind = match (&op.body, &next.body) {
            (Some(a), Some(b)) => std::mem::discriminant(&a.kind) == std::mem::discriminant(&b.kind),
            _ => false,
        };
        if same_body_kind {
            self.media_types(at, "request", &op.consumes, &next.consumes);
        }
        self.response_headers(at, &op.response_headers, &next.response_headers);
        let deprecated = |op: &Operation| {
            op.deprecated || says_deprecated(op.summary.as_deref()) || says_deprecated(op.description.as_deref())
        };
        if !deprecated(op) && deprecated(next) {
            self.operation_changes
                .push(change("operation-deprecated", Level::Compatible, at, &next.id));
        }
        let prose = |op: &Operation| {
            format!(
                "{}\n{}",
                op.summary.as_deref().unwrap_or_default(),
                op.description.as_deref().unwrap_or_default()
            )
        };
        if prose_differs(Some(&prose(op)), Some(&prose(next))) {
            self.operation_changes.push(description_change(at, "description"));
        }
    }

    /// The media types a response is produced in or a request body is sent as, one entry for
    /// the whole list. A client may receive a response media type it does not know (one
    /// added); a request media type no longer listed may be refused.
    fn media_types(&mut self, at: &str, side: &str, old: &[String], new: &[String]) {
        if old == new {
            return;
        }
        let added = new.iter().any(|m| !old.contains(m));
        let removed = old.iter().any(|m| !new.contains(m));
        let (rule, level) = if side == "response" {
            let level = if added {
                Level::PotentiallyBreaking
            } else {
                Level::Compatible
            };
            ("response-media-types-changed", level)
        } else {
            let level = if removed { Level::Breaking } else { Level::Compatible };
            ("request-media-types-changed", level)
        };
        self.operation_changes
            .push(change(rule, level, at, format!("{side} media types")).values(old.join(", "), new.join(", ")));
    }

    fn response_headers(&mut self, at: &str, old: &[ResponseHeader], new: &[ResponseHeader]) {
        let subject = |h: &ResponseHeader| format!("{} response header `{}`", h.status, h.name);
        fn find<'h>(headers: &'h [ResponseHeader], header: &ResponseHeader) -> Option<&'h ResponseHeader> {
            headers
                .iter()
                .find(|other| other.status == header.status && other.name.eq_ignore_ascii_case(&header.name))
        }
        for header in old {
            let Some(next) = find(new, header) else {
                self.operation_changes
                    .push(change("response-header-removed", Level::Breaking, at, subject(header)));
                continue;
            };
            if !matches!(
                (wire(&header.ty, &self.old_types), wire(&next.ty, &self.new_types)),
                (Wire::Scalar(a), Wire::Scalar(b)) if a == b
            ) {
                self.operation_changes.push(
                    change("response-header-type-changed", Level::Breaking, at, subject(header))
                        .values(describe_type(&header.ty), describe_type(&next.ty)),
                );
            }
            if header.values != next.values {
                // A value the old client has not seen may come; fewer values, or a list where
                // any value went, only narrow what comes.
                let level = if !header.values.is_empty() && next.values.iter().any(|v| !header.values.contains(v)) {
                    Level::PotentiallyBreaking
                } else {
                    Level::Compatible
                };
                let list = |values: &[String]| {
                    if values.is_empty() {
                        "any".to_owned()
                    } else {
                        values.join(", ")
                    }
                };
                self.operation_changes.push(
                    change("response-header-values-changed", level, at, subject(header))
                        .values(list(&header.values), list(&next.values)),
                );
            }
            if header.default != next.default {
                // Documenting what an absent header means changes nothing; changing it does.
                let level = if header.default.is_none() {
                    Level::Compatible
                } else {
                    Level::PotentiallyBreaking
                };
                let describe = |default: &Option<String>| default.clone().unwrap_or_else(|| "none".into());
                self.operation_changes.push(
                    change("response-header-default-changed", level, at, subject(header))
                        .values(describe(&header.default), describe(&next.default)),
                );
            }
        }
        for header in new.iter().filter(|h| find(old, h).is_none()) {
            self.operation_changes
                .push(change("response-header-added", Level::Compatible, at, subject(header)));
        }
    }

    fn parameters(&mut self, at: &str, old: &Operation, new: &Operation) {
        let key = |p: &Parameter| (format!("{:?}", p.location).to_lowercase(), p.wire_name.clone());
        let before: BTreeMap<_, _> = old.parameters.iter().map(|p| (key(p), p)).collect();
        let after: BTreeMap<_, _> = new.parameters.iter().map(|p| (key(p), p)).collect();
        for ((location, name), parameter) in &before {
            let subject = format!("{location} parameter `{name}`");
            let setter = field_name(name);
            let Some(next) = after.get(&(location.clone(), name.clone())) else {
                self.operation_changes.push(
                    change("parameter-removed", Level::Breaking, at, subject)
                        .rust(format!("setter or argument `{setter}` removed")),
                );
                continue;
            };
            if let (ParameterValue::Filters(was), ParameterValue::Filters(now)) = (&parameter.value, &next.value) {
                self.filter_keys(at, &subject, &old.id, was, now);
            } else if parameter.value != next.value {
                let relation = match (parameter_types(&parameter.value, &next.value), &next.value) {
                    (Some((a, b)), _) => self.relate(a, b, &format!("{at} {subject}")),
                    // One value is a list of one on the wire, repeated or comma-separated.
                    (None, ParameterValue::List { item, .. }) => match &parameter.value {
                        ParameterValue::Scalar(scalar) if self.wire_equal(scalar, item, &mut BTreeSet::new()) => {
                            Relation::SameWire
                        }
                        _ => Relation::Different,
                    },
                    (None, _) => Relation::Different,
                };
                if let Some(level) = relation.level() {
                    let (was, now) = (describe_parameter(&parameter.value), describe_parameter(&next.value));
                    self.operation_changes.push(
                        change("parameter-type-changed", level, at, &subject)
                            .values(was, &now)
                            .rust(format!("`{setter}` takes {now}")),
                    );
                }
            }
            if parameter.nullable != next.nullable {
                // A null a client sends may be refused once the parameter is not nullable.
                let level = if next.nullable {
                    Level::Compatible
                } else {
                    Level::PotentiallyBreaking
                };
                self.operation_changes.push(
                    change("parameter-nullable-changed", level, at, &subject).values(parameter.nullable, next.nullable),
                );
            }
            // A filters parameter's prose names its deprecated keys, reported one by one.
            let filters = matches!(next.value, ParameterValue::Filters(_));
            if !filters && !says_deprecated(parameter.doc.as_deref()) && says_deprecated(next.doc.as_deref()) {
                self.operation_changes
                    .push(change("parameter-deprecated", Level::Compatible, at, &subject));
            }
            if prose_differs(parameter.doc.as_deref(), next.doc.as_deref()) {
                self.operation_changes.push(description_change(at, &subject));
            }
            if parameter.default != next.default {
                let describe = |default: &Option<String>| default.clone().unwrap_or_else(|| "none".into());
                self.operation_changes.push(
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
                self.operation_changes.push(
                    change("parameter-required-changed", level, at, &subject)
                        .values(parameter.required, next.required)
                        .rust(rust),
                );
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
                self.operation_changes
                    .push(change("parameter-added", level, at, subject).rust(rust));
            }
        }
    }

    /// Keys of a `filters` parameter added, removed or given another form: a key removed is
    /// refused by the daemon, and its method is gone from the operation's filter type.
    fn filter_keys(&mut self, at: &str, parameter: &str, operation: &str, old: &[FilterKey], new: &[FilterKey]) {
        let filter_type = format!("{}Filters", operation.to_upper_camel_case());
        for key in old {
            let subject = format!("filter `{}` of {parameter}", key.name);
            let method = field_name(&key.name);
            match new.iter().find(|next| next.name == key.name) {
                None => self.operation_changes.push(
                    change("filter-key-removed", Level::Breaking, at, subject)
                        .rust(format!("`{filter_type}::{method}` removed")),
                ),
                Some(next) => {
                    if next.value != key.value {
                        let (was, now) = (describe_filter_value(&key.value), describe_filter_value(&next.value));
                        // An open enumeration that lists more values takes what it took.
                        let widened = matches!((&key.value, &next.value),
                            (FilterValue::Enum { values: before }, FilterValue::Enum { values: after })
                                if before.iter().all(|value| after.contains(value)));
                        let level = if widened {
                            Level::Compatible
                        } else {
                            Level::PotentiallyBreaking
                        };
                        self.operation_changes.push(
                            change("filter-value-changed", level, at, &subject)
                                .values(was, &now)
                                .rust(format!("`{filter_type}::{method}` takes {now}")),
                        );
                    }
                    if next.deprecated && !key.deprecated {
                        self.operation_changes
                            .push(change("filter-key-deprecated", Level::Compatible, at, &subject));
                    }
                }
            }
        }
        for key in new.iter().filter(|key| !old.iter().any(|was| was.name == key.name)) {
            let subject = format!("filter `{}` of {parameter}", key.name);
            self.operation_changes.push(
                change("filter-key-added", Level::Compatible, at, subject)
                    .rust(format!("new method `{filter_type}::{}`", field_name(&key.name))),
            );
        }
    }

    fn bodies(&mut self, at: &str, old: &Operation, new: &Operation) {
        let change = match (&old.body, &new.body) {
            (None, Some(body)) => {
                let level = if body.required {
                    Level::Breaking
                } else {
                    Level::Compatible
                };
                change("request-body-added", level, at, "request body").values("none", describe_body(&body.kind))
            }
            (Some(body), None) => change("request-body-removed", Level::Breaking, at, "request body")
                .values(describe_body(&body.kind), "none"),
            (Some(before), Some(after)) if before.kind != after.kind => {
                let relation = match (&before.kind, &after.kind) {
                    (BodyKind::Json(a), BodyKind::Json(b)) => self.relate(a, b, &format!("{at} request body")),
                    _ => Relation::Different,
                };
                let Some(level) = relation.level() else { return };
                let (was, now) = (describe_body(&before.kind), describe_body(&after.kind));
                change("request-body-changed", level, at, "request body").values(was, now)
            }
            _ => return,
        };
        self.operation_changes.push(change);
    }

    fn types(&mut self) {
        let (old_types, new_types) = (self.old_types.clone(), self.new_types.clone());
        for (name, typedef) in &old_types {
            match (self.successors.get(*name).cloned(), new_types.get(name)) {
                (Some(new_name), kept) => {
                    self.type_changes.push(
                        change(TYPE_RENAMED, Level::Compatible, &new_name, *name)
                            .values(name, &new_name)
                            .rust(format!("type `{name}` renamed `{new_name}`")),
                    );
                    self.compare(name, &new_name, &new_name);
                    if kept.is_some() {
                        self.type_changes
                            .push(change("type-name-reused", Level::Compatible, name, *name).rust(format!(
                                "type `{name}` now names another type; the old one is `{new_name}`"
                            )));
                    }
                }
                (None, Some(next)) => self.diff_type(typedef, next, name),
                (None, None) => self.type_changes.push(
                    change("type-removed", Level::PotentiallyBreaking, name, *name)
                        .rust(format!("type `{name}` removed")),
                ),
            }
        }
        let successors: BTreeSet<&str> = self.successors.values().map(String::as_str).collect();
        let added: Vec<&str> = new_types
            .keys()
            .filter(|name| !old_types.contains_key(*name) && !successors.contains(*name))
            .copied()
            .collect();
        for name in added {
            self.type_changes
                .push(change("type-added", Level::Compatible, name, name).rust(format!("type `{name}` added")));
        }
    }

    /// The changes from `old` to `new`, reported at `location` (the new type's name).
    fn diff_type(&mut self, old: &TypeDef, new: &TypeDef, location: &str) {
        if prose_differs(old.doc.as_deref(), new.doc.as_deref()) {
            self.type_changes.push(description_change(location, location));
        }
        match (&old.kind, &new.kind) {
            (TypeKind::Struct(_), TypeKind::Struct(_)) => self.diff_fields(location, old, new),
            (TypeKind::Enum(values), TypeKind::Enum(next_values)) => {
                for value in values.iter().filter(|v| !next_values.contains(v)) {
                    self.type_changes.push(change(
                        "enum-value-removed",
                        Level::Breaking,
                        location,
                        format!("value {value:?}"),
                    ));
                }
                for value in next_values.iter().filter(|v| !values.contains(v)) {
                    self.type_changes.push(change(
                        "enum-value-added",
                        Level::PotentiallyBreaking,
                        location,
                        format!("value {value:?}"),
                    ));
                }
            }
            (a, b) if a != b => {
                let relation = match (a, b) {
                    (TypeKind::Alias(a), TypeKind::Alias(b)) => self.relate(a, b, location),
                    _ if self.wire_equal(
                        &TypeRef::Named(old.name.clone()),
                        &TypeRef::Named(new.name.clone()),
                        &mut BTreeSet::new(),
                    ) =>
                    {
                        Relation::SameWire
                    }
                    _ => Relation::Different,
                };
                if let Some(level) = relation.level() {
                    let (was, now) = (describe_kind(a), describe_kind(b));
                    self.type_changes.push(
                        change("type-changed", level, location, location)
                            .values(was, &now)
                            .rust(format!("`{location}` is now {now}")),
                    );
                }
            }
            _ => {}
        }
    }

    /// The base `owner` takes property `wire_name` from unchanged in both versions, if any:
    /// its changes are the base's, reported there.
    fn inherited_from(&self, old: &TypeDef, new: &TypeDef, wire_name: &str) -> Option<String> {
        let field_of = |types: &Types<'a>, name: &str| match types.get(name).map(|t| &t.kind) {
            Some(TypeKind::Struct(fields)) => Some(fields.iter().find(|f| f.wire_name == wire_name)),
            _ => None,
        };
        fn own<'t>(typedef: &'t TypeDef, wire_name: &str) -> Option<&'t Field> {
            match &typedef.kind {
                TypeKind::Struct(fields) => fields.iter().find(|f| f.wire_name == wire_name),
                _ => None,
            }
        }
        old.bases
            .iter()
            .filter(|base| new.bases.contains(base))
            .find(|base| {
                field_of(&self.old_types, base) == Some(own(old, wire_name))
                    && field_of(&self.new_types, base) == Some(own(new, wire_name))
            })
            .cloned()
    }

    fn diff_fields(&mut self, owner: &str, old_type: &TypeDef, new_type: &TypeDef) {
        let (TypeKind::Struct(old), TypeKind::Struct(new)) = (&old_type.kind, &new_type.kind) else {
            return;
        };
        let rust_field = |f: &Field| format!("`{}::{}`", new_type.name, field_name(&f.wire_name));
        let names: Vec<&String> = old
            .iter()
            .map(|f| &f.wire_name)
            .chain(
                new.iter()
                    .map(|f| &f.wire_name)
                    .filter(|n| !old.iter().any(|f| &f.wire_name == *n)),
            )
            .collect();
        for wire_name in names {
            let subject = property(wire_name);
            if let Some(base) = self.inherited_from(old_type, new_type, wire_name) {
                self.inherited
                    .entry((base, wire_name.clone()))
                    .or_default()
                    .insert(new_type.name.clone());
                continue;
            }
            let (before, after) = (
                old.iter().find(|f| &f.wire_name == wire_name),
                new.iter().find(|f| &f.wire_name == wire_name),
            );
            let (before, after) = match (before, after) {
                (Some(before), Some(after)) => (before, after),
                (Some(before), None) => {
                    self.type_changes.push(
                        change("property-removed", Level::Breaking, owner, subject)
                            .rust(format!("field {} removed", rust_field(before))),
                    );
                    continue;
                }
                (None, Some(after)) => {
                    self.type_changes.push(
                        change("property-added", Level::Compatible, owner, subject)
                            .rust(format!("new field {}", rust_field(after))),
                    );
                    continue;
                }
                (None, None) => continue,
            };
            if before.ty != after.ty {
                let place = format!("{}.{wire_name}", new_type.name);
                if let Some(level) = self.relate(&before.ty, &after.ty, &place).level() {
                    let (was, now) = (describe_type(&before.ty), describe_type(&after.ty));
                    self.type_changes.push(
                        change("property-type-changed", level, owner, &subject)
                            .values(was, &now)
                            .rust(format!("field {} is now {}", rust_field(after), rust_field_type(after))),
                    );
                }
            }
            // A field the spec requires (and does not allow null in) holds its value; any other
            // is an Option. Which one changes the Rust type a program reads and writes.
            let plainness = || {
                (before.plain() != after.plain())
                    .then(|| format!("field {} is now {}", rust_field(after), rust_field_type(after)))
            };
            if before.required != after.required {
                let mut required = change("property-required-changed", Level::Compatible, owner, &subject)
                    .values(before.required, after.required);
                if let Some(rust) = plainness() {
                    required = required.rust(rust);
                }
                self.type_changes.push(required);
            }
            if before.nullable != after.nullable {
                // A reader may now get null where a value always came.
                let level = if after.nullable {
                    Level::PotentiallyBreaking
                } else {
                    Level::Compatible
                };
                let mut nullable =
                    change("property-nullable-changed", level, owner, &subject).values(before.nullable, after.nullable);
                if let Some(rust) = plainness().filter(|_| before.required == after.required) {
                    nullable = nullable.rust(rust);
                }
                self.type_changes.push(nullable);
            }
            let deprecated = |field: &Field| field.deprecated || says_deprecated(field.doc.as_deref());
            if !deprecated(before) && deprecated(after) {
                self.type_changes
                    .push(change("property-deprecated", Level::Compatible, owner, &subject));
            }
            if prose_differs(before.doc.as_deref(), after.doc.as_deref()) {
                self.type_changes.push(description_change(owner, &subject));
            }
        }
    }

    /// Every change: the uses of renamed types and the types built from a base listed on the
    /// entries that report them, types grouped by name (a type's own entry first).
    fn finish(mut self) -> Vec<Change> {
        for change in &mut self.type_changes {
            let used_in = if change.rule == TYPE_RENAMED {
                self.uses.get(&change.subject)
            } else {
                let wire_name = change
                    .subject
                    .strip_prefix("property `")
                    .and_then(|rest| rest.strip_suffix('`'));
                wire_name.and_then(|name| self.inherited.get(&(change.location.clone(), name.to_owned())))
            };
            change.used_in = used_in
                .map(|places| places.iter().cloned().collect())
                .unwrap_or_default();
        }
        let whole_type = |c: &Change| {
            !matches!(
                c.rule,
                TYPE_RENAMED | "type-added" | "type-removed" | "type-name-reused"
            )
        };
        self.type_changes
            .sort_by(|a, b| (&a.location, whole_type(a)).cmp(&(&b.location, whole_type(b))));
        // A type replacing one that changed too (`Job → JobDetail`) repeats the old type's own
        // changes, reported at the old type already.
        let own_change = |derived: &Change, all: &[Change]| {
            derived.location.split_once(" → ").is_some_and(|(old_name, _)| {
                all.iter().any(|c| {
                    c.location == old_name
                        && (c.rule, c.level, &c.subject, &c.old, &c.new)
                            == (
                                derived.rule,
                                derived.level,
                                &derived.subject,
                                &derived.old,
                                &derived.new,
                            )
                })
            })
        };
        let repeated: Vec<bool> = self
            .type_changes
            .iter()
            .map(|c| own_change(c, &self.type_changes))
            .collect();
        // Types merged into one (three old types all renamed `ResourceObject`) each compare with
        // it, finding the same changes.
        for (change, repeated) in self.type_changes.into_iter().zip(repeated) {
            if !repeated && !self.operation_changes.contains(&change) {
                self.operation_changes.push(change);
            }
        }
        self.operation_changes
    }
}

/// The types of a parameter's value in two versions, where both are of the same kind.
fn parameter_types<'p>(old: &'p ParameterValue, new: &'p ParameterValue) -> Option<(&'p TypeRef, &'p TypeRef)> {
    match (old, new) {
        (ParameterValue::Scalar(a), ParameterValue::Scalar(b)) | (ParameterValue::Json(a), ParameterValue::Json(b)) => {
            Some((a, b))
        }
        (
            ParameterValue::List { item: a, repeated },
            ParameterValue::List {
                item: b,
                repeated: next_repeated,
            },
        ) if repeated == next_repeated => Some((a, b)),
        _ => None,
    }
}

/// Types that vanished under one name and appeared under another with the same shape (the same
/// fields with the same types, or the same values), when exactly one candidate matches.
fn renamed_types(before: &Types<'_>, after: &Types<'_>) -> BTreeMap<String, String> {
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
    let vanished: Vec<(&str, String)> = before
        .iter()
        .filter(|(name, _)| !after.contains_key(*name))
        .filter_map(|(name, t)| Some((*name, shape(&t.kind)?)))
        .collect();
    let appeared: Vec<(&str, String)> = after
        .iter()
        .filter(|(name, _)| !before.contains_key(*name))
        .filter_map(|(name, t)| Some((*name, shape(&t.kind)?)))
        .collect();
    let mut renames = BTreeMap::new();
    for (old_name, old_shape) in &vanished {
        let candidates: Vec<&str> = appeared
            .iter()
            .filter(|(_, s)| s == old_shape)
            .map(|(n, _)| *n)
            .collect();
        let rivals = vanished.iter().filter(|(_, s)| s == old_shape).count();
        if let ([new_name], 1) = (candidates.as_slice(), rivals) {
            renames.insert((*old_name).to_owned(), (*new_name).to_owned());
        }
    }
    renames
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
        ParameterValue::Filters(_) => "Filters".into(),
        ParameterValue::RegistryAuth => "RegistryAuth".into(),
        ParameterValue::RegistryConfig => "RegistryConfig".into(),
    }
}

fn describe_filter_value(value: &FilterValue) -> String {
    match value {
        FilterValue::Text => "text".into(),
        FilterValue::Enum { values } => format!("one of {}", values.join(", ")),
        FilterValue::Bool => "a boolean".into(),
        FilterValue::Integer => "a number".into(),
        FilterValue::Label { negatable: true, .. } => "a label, or its negation".into(),
        FilterValue::Label { negatable: false, .. } => "a label".into(),
        FilterValue::Timestamp => "a time".into(),
        FilterValue::Duration => "a duration".into(),
        FilterValue::Flag => "no value".into(),
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
        Response::Outcome => "an outcome (204 or 304)".into(),
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

/// The changes between the specs (`written`, from [`diff`] of the APIs lowered with only the
/// override entries both versions share) that the effective diff lacks: the new spec documents what
/// an override entry had already made effective for the old version. Each is marked with the
/// entries `entries_at` finds for its location (`METHOD /path` or a type name), or says that
/// it found none.
pub fn documented_earlier(
    effective: &[Change],
    written: Vec<Change>,
    entries_at: impl Fn(&str) -> Vec<String>,
) -> Vec<Change> {
    let shown: BTreeSet<(&str, &str, &str)> = effective
        .iter()
        .map(|c| (c.rule, c.location.as_str(), c.subject.as_str()))
        .collect();
    written
        .into_iter()
        .filter(|c| !c.is_description() && !shown.contains(&(c.rule, c.location.as_str(), c.subject.as_str())))
        .map(|mut c| {
            let mut entries = entries_at(&c.location);
            if entries.is_empty() {
                entries.push("no override entry found for this location".to_owned());
            }
            c.effective_earlier_through = Some(entries);
            c
        })
        .collect()
}

/// The JSON pointer into a Swagger document of a change's location: an operation
/// (`GET /containers/{id}/json`) or a definition (`Network`).
pub fn location_pointer(location: &str) -> String {
    match location.split_once(' ') {
        Some((method, path)) => format!(
            "/paths/{}/{}",
            crate::spec::escape_pointer(path),
            method.to_ascii_lowercase()
        ),
        None => format!("/definitions/{location}"),
    }
}

/// A version as its family writes it: `1.41` for the Engine API, `2` for the Registry API.
fn version_label(api: &Api) -> String {
    match api.family {
        crate::ApiFamily::Engine => api.version.to_string(),
        crate::ApiFamily::Registry => api.version.major.to_string(),
    }
}

/// Counts by level, for the summary line; description-only changes and those effective
/// earlier are counted apart.
pub fn summary(changes: &[Change]) -> String {
    let (earlier, changes): (Vec<&Change>, Vec<&Change>) =
        changes.iter().partition(|c| c.effective_earlier_through.is_some());
    let (prose, changes): (Vec<&Change>, Vec<&Change>) = changes.into_iter().partition(|c| c.is_description());
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
    if !earlier.is_empty() {
        let _ = write!(
            line,
            "; {} documented in this version, effective earlier through the override file",
            earlier.len()
        );
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
    let mut out = format!("API v{} -> v{}\n", version_label(old), version_label(new));
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
        if !c.used_in.is_empty() {
            let _ = writeln!(out, "      Used in: {}", c.used_in.join(", "));
        }
        if let Some(entries) = &c.effective_earlier_through {
            let _ = writeln!(
                out,
                "      Documented here, effective earlier through: {}",
                entries.join("; ")
            );
        }
    }
    let _ = writeln!(out, "\n{}", summary(changes));
    out
}

/// A changelog section: endpoints first, then types.
pub fn render_markdown(old: &Api, new: &Api, changes: &[Change], descriptions: bool) -> String {
    let mut out = format!(
        "## {} v{} → v{}\n\n{}\n",
        match old.family {
            crate::ApiFamily::Engine => "Docker Engine API",
            crate::ApiFamily::Registry => "Registry HTTP API",
        },
        version_label(old),
        version_label(new),
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
            let used_in = if c.used_in.is_empty() {
                String::new()
            } else {
                format!(" (used in: {})", c.used_in.join(", "))
            };
            let earlier = match &c.effective_earlier_through {
                Some(entries) => format!(" (documented here, effective earlier through: {})", entries.join("; ")),
                None => String::new(),
            };
            let _ = writeln!(
                out,
                "- **{}** {} {}{values}{rust}{used_in}{earlier}",
                c.level.label(),
                c.rule,
                c.subject
            );
        }
    }
    out
}

/// The JSON report: `{"old": "1.41", "new": "1.42", "summary": "...", "description_changes": N,
/// "changes": [{rule, level, location, subject, old?, new?, rust?, used_in?,
/// effective_earlier_through?}]}`.
pub fn render_json(old: &Api, new: &Api, changes: &[Change], descriptions: bool) -> String {
    let listed: Vec<&Change> = listed(changes, descriptions).collect();
    let report = serde_json::json!({
        "old": version_label(old),
        "new": version_label(new),
        "summary": summary(changes),
        "description_changes": changes.iter().filter(|c| c.is_description()).count(),
        "changes": listed,
    });
    serde_json::to_string_pretty(&report).expect("the report serializes")
}
