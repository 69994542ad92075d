//! The Rust names of what a spec names: crates' accessors and builders, fields, variants and
//! identifiers. The emitter writes them and the diff reports changes in them, so both read
//! them from here.

use std::collections::HashSet;

use heck::{ToSnakeCase, ToUpperCamelCase};
use proc_macro2::{Ident, Span};
use quote::format_ident;

use crate::ir::Operation;

/// Tags that name an activity or a single thing rather than a kind of object keep their
/// singular form (the last two are the Registry API's).
const SINGULAR_TAGS: [&str; 7] = ["Exec", "Swarm", "System", "Distribution", "Session", "Base", "Catalog"];

pub(crate) fn group_accessor(tag: &str) -> Ident {
    let snake = tag.to_snake_case();
    if SINGULAR_TAGS.contains(&tag) {
        ident(&snake)
    } else {
        ident(&format!("{snake}s"))
    }
}

pub(crate) fn group_type(tag: &str) -> Ident {
    let camel = tag.to_upper_camel_case();
    if SINGULAR_TAGS.contains(&tag) {
        ident(&format!("{camel}Operations"))
    } else {
        ident(&format!("{camel}s"))
    }
}

/// The method name of an operation within its group: the operationId without the tag's noun.
pub fn method_name(op: &Operation) -> String {
    let tag = op.group.to_upper_camel_case();
    let id = op.id.as_str();
    let stripped = match id.strip_prefix(&tag) {
        Some(rest) if !rest.is_empty() => rest.to_owned(),
        _ if !id.ends_with(&tag) && id.contains(&tag) => id.replacen(&tag, "", 1),
        _ => id.to_owned(),
    };
    stripped.to_snake_case()
}

pub(crate) fn builder_type(op: &Operation) -> Ident {
    ident(&format!("{}Builder", op.id.to_upper_camel_case()))
}

pub(crate) fn headers_type(op: &Operation) -> Ident {
    ident(&format!("{}Headers", op.id.to_upper_camel_case()))
}

/// The Rust name of a field, setter or argument for a wire name, keywords escaped.
pub fn field_name(wire: &str) -> String {
    let base = wire.replace(['.', '-'], "_").to_snake_case();
    let base = if base.is_empty() || base.starts_with(|c: char| c.is_ascii_digit()) {
        format!("field_{base}")
    } else {
        base
    };
    ident(&base).to_string()
}

/// Rust names for wire names, unique within one list.
pub(crate) fn field_names<'a>(wire_names: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut used = HashSet::new();
    wire_names
        .map(|wire| {
            let base = field_name(wire);
            let mut name = base.clone();
            let mut n = 2;
            while !used.insert(name.clone()) {
                name = format!("{base}_{n}");
                n += 1;
            }
            name
        })
        .collect()
}

pub(crate) fn variant_names(values: &[String]) -> Vec<String> {
    let mut used = HashSet::from(["Other".to_owned()]);
    values
        .iter()
        .map(|value| {
            let camel = value.replace(['.', '/', ':'], "_").to_upper_camel_case();
            let base = if camel.is_empty() {
                "Empty".to_owned()
            } else if camel.starts_with(|c: char| c.is_ascii_digit()) {
                format!("V{camel}")
            } else {
                camel
            };
            let mut name = base.clone();
            let mut n = 2;
            while !used.insert(name.clone()) {
                name = format!("{base}{n}");
                n += 1;
            }
            name
        })
        .collect()
}

/// An identifier, with a trailing underscore for Rust keywords. A spec name that makes no
/// identifier gets one rather than failing the generation: a leading underscore when it starts
/// with a digit (a definition named "2"), `unnamed` when nothing of it is left.
pub(crate) fn ident(name: &str) -> Ident {
    const KEYWORDS: [&str; 39] = [
        "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern", "false", "fn",
        "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "self",
        "Self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where", "while", "gen",
    ];
    let mut name: String = name.chars().filter(|c| c.is_alphanumeric() || *c == '_').collect();
    if name.chars().all(|c| c == '_') {
        name.push_str("unnamed");
    } else if !name.starts_with(|c: char| c.is_alphabetic() || c == '_') {
        name.insert(0, '_');
    }
    if KEYWORDS.contains(&name.as_str()) {
        format_ident!("{}_", name)
    } else {
        Ident::new(&name, Span::call_site())
    }
}
