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
/// A POST whose operationId ends with the noun after another object's (`ContainerExec` in the
/// Exec group) makes one of the group's objects inside that other object: it is `create`.
pub fn method_name(op: &Operation) -> String {
    method_name_of(&op.id, &op.group, &op.method)
}

fn method_name_of(id: &str, group: &str, method: &str) -> String {
    let tag = group.to_upper_camel_case();
    let stripped = match id.strip_prefix(&tag) {
        Some(rest) if !rest.is_empty() => rest.to_owned(),
        _ if id.len() > tag.len() && id.ends_with(&tag) && method == "POST" => "Create".to_owned(),
        _ if !id.ends_with(&tag) && id.contains(&tag) => id.replacen(&tag, "", 1),
        _ => id.to_owned(),
    };
    snake_case(&stripped)
}

pub(crate) fn builder_type(op: &Operation) -> Ident {
    ident(&format!("{}Builder", op.id.to_upper_camel_case()))
}

pub(crate) fn headers_type(op: &Operation) -> Ident {
    ident(&format!("{}Headers", op.id.to_upper_camel_case()))
}

/// The Rust name of a field, setter or argument for a wire name, keywords escaped.
pub fn field_name(wire: &str) -> String {
    let base = snake_case(&wire.replace(['.', '-'], "_"));
    let base = if base.is_empty() || base.starts_with(|c: char| c.is_ascii_digit()) {
        format!("field_{base}")
    } else {
        base
    };
    ident(&base).to_string()
}

/// `snake_case` that keeps an acronym's short lower-case ending with it: `ExecIDs` is
/// `exec_ids`, `EnableIPv6` `enable_ipv6`, `BlkioDeviceReadIOps` `blkio_device_read_iops`.
/// The rule: after two or more capitals, a plural `s`, a `ps` ("per second") that ends the word,
/// or a version's `v` before a digit belongs to the acronym; any other lower-case run starts a
/// new word with the last capital, as in `CPUShares` and `NFd`.
pub(crate) fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut joined = String::with_capacity(name.len());
    let mut i = 0;
    while i < chars.len() {
        let capitals = chars[i..].iter().take_while(|c| c.is_ascii_uppercase()).count();
        if capitals < 2 {
            joined.push(chars[i]);
            i += 1;
            continue;
        }
        let after = i + capitals;
        let lower: String = chars[after..].iter().take_while(|c| c.is_ascii_lowercase()).collect();
        let next = chars.get(after + lower.len());
        let keeps = match lower.as_str() {
            "s" | "ps" => true,
            "v" => next.is_some_and(char::is_ascii_digit),
            _ => false,
        };
        if keeps {
            joined.push(chars[i]);
            joined.extend(chars[i + 1..after + lower.len()].iter().map(char::to_ascii_lowercase));
            i = after + lower.len();
        } else {
            joined.extend(&chars[i..after]);
            i = after;
        }
    }
    joined.to_snake_case()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_acronym_keeps_its_plural_its_version_and_ops() {
        let cases = [
            ("EnableIPv6", "enable_ipv6"),
            ("GlobalIPv6Address", "global_ipv6_address"),
            ("IPv4Address", "ipv4_address"),
            ("ExecIDs", "exec_ids"),
            ("DeviceIDs", "device_ids"),
            ("BlkioDeviceReadIOps", "blkio_device_read_iops"),
            ("IOMaximumIOps", "io_maximum_iops"),
            ("NanoCPUs", "nano_cpus"),
            ("URLs", "urls"),
            ("InsecureRegistryCIDRs", "insecure_registry_cidrs"),
            ("IPsInUse", "ips_in_use"),
        ];
        for (wire, rust) in cases {
            assert_eq!(field_name(wire), rust, "{wire}");
        }
    }

    #[test]
    fn an_acronym_before_a_word_ends_where_the_word_starts() {
        let cases = [
            ("CPUShares", "cpu_shares"),
            ("IPAddress", "ip_address"),
            ("OOMKilled", "oom_killed"),
            ("ContainerIDFile", "container_id_file"),
            ("MinAPIVersion", "min_api_version"),
            ("NFd", "n_fd"),
            ("Id", "id"),
            ("ID", "id"),
            ("com.docker.network.bridge.name", "com_docker_network_bridge_name"),
            ("type", "type_"),
        ];
        for (wire, rust) in cases {
            assert_eq!(field_name(wire), rust, "{wire}");
        }
    }

    #[test]
    fn a_method_is_its_operation_without_the_group_noun() {
        let cases = [
            (("ContainerList", "Container", "GET"), "list"),
            (("PutContainerArchive", "Container", "PUT"), "put_archive"),
            (("ContainerExec", "Exec", "POST"), "create"),
            (("ExecStart", "Exec", "POST"), "start"),
            (("BuildPrune", "Image", "POST"), "build_prune"),
            (("Session", "Session", "POST"), "session"),
        ];
        for ((id, group, method), rust) in cases {
            assert_eq!(method_name_of(id, group, method), rust, "{id}");
        }
    }
}
