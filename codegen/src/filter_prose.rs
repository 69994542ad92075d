//! Reading a `filters` parameter's description: the specs list each key the daemon takes as one
//! Markdown list item, its value's form written in a handful of ways
//! (``- `status=`(`created`|`running`)``, `- `label=key` or `label="key=value"``,
//! `- `until=<timestamp>` ...`, `- `inuse``). What the prose does not say, or says wrongly, is
//! corrected in the override file, not here.

use crate::ir::{FilterKey, FilterValue};

/// The keys a description lists, in its order; an item whose key cannot be read is an error
/// naming it.
pub fn read(description: &str) -> Result<Vec<FilterKey>, String> {
    let mut keys: Vec<FilterKey> = Vec::new();
    for item in list_items(description) {
        let key = read_item(&item).ok_or_else(|| format!("cannot read a filter key from the line {item:?}"))?;
        if keys.iter().any(|k| k.name == key.name) {
            return Err(format!("the filter `{}` is listed twice", key.name));
        }
        keys.push(key);
    }
    Ok(keys)
}

/// The description's top-level list items, each with its continuation lines (and any nested
/// list under it) joined by single spaces.
fn list_items(description: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut current: Option<String> = None;
    for line in description.lines() {
        let indented = line.starts_with([' ', '\t']);
        let text = line.trim();
        if !indented && text.starts_with("- ") {
            items.extend(current.take());
            current = Some(text[2..].trim().to_owned());
        } else if indented && !text.is_empty() {
            if let Some(item) = current.as_mut() {
                item.push(' ');
                item.push_str(text);
            }
        } else {
            items.extend(current.take());
        }
    }
    items.extend(current);
    items
}

fn read_item(item: &str) -> Option<FilterKey> {
    // Code spans mark keys and values inconsistently (`key=`(`a`|`b`), `key`=<v>, `key=<v>`);
    // without them every line reads alike. One spec writes a full-width equals sign.
    let text = item.replace('`', "").replace('\u{ff1d}', "=");
    let name_length = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')))
        .unwrap_or(text.len());
    let name = &text[..name_length];
    if name.is_empty() || !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return None;
    }
    let rest = text[name_length..].trim_start();
    let value = value_form(name, rest, &text);
    Some(FilterKey {
        name: name.to_owned(),
        doc: item.trim().to_owned(),
        value,
        deprecated: text.to_ascii_lowercase().contains("deprecated"),
    })
}

fn value_form(name: &str, rest: &str, text: &str) -> FilterValue {
    if rest.is_empty() {
        return FilterValue::Flag;
    }
    if name == "label" || name.ends_with(".label") {
        let colon = text.contains("<key>:<value>") || text.contains("key:value");
        return FilterValue::Label {
            negatable: text.contains(&format!("{name}!=")),
            separator: if colon { ':' } else { '=' },
        };
    }
    if text.contains("<timestamp>") {
        return FilterValue::Timestamp;
    }
    if text.contains("<duration>") {
        return FilterValue::Duration;
    }
    let written = written_value(rest);
    if matches!(written, "<int>" | "<number>") {
        return FilterValue::Integer;
    }
    if written == "<boolean>" {
        return FilterValue::Bool;
    }
    let mut values = alternatives(name, written);
    if values.is_empty() {
        values = one_of(text);
    }
    let mut sorted: Vec<&str> = values.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    match sorted.as_slice() {
        [] => FilterValue::Text,
        ["true"] | ["false", "true"] => FilterValue::Bool,
        _ => FilterValue::Enum { values },
    }
}

/// The value as the item writes it after the key: `(...)` or `[...]` taken whole (they nest
/// `[:<tag>]` and spaces), otherwise up to the first space.
fn written_value(rest: &str) -> &str {
    let rest = rest.strip_prefix('=').unwrap_or(rest).trim_start();
    if !rest.starts_with(['(', '[']) {
        return rest.split_whitespace().next().unwrap_or("");
    }
    let mut depth = 0;
    for (at, c) in rest.char_indices() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => {
                depth -= 1;
                if depth == 0 {
                    return &rest[..=at];
                }
            }
            _ => {}
        }
    }
    rest
}

/// The values of an enumeration written `(a|b)`, `["a"|"b"]`, `<a>|<b>` or `(key=a)`; empty
/// when any alternative is a placeholder or prose rather than a word.
fn alternatives(name: &str, written: &str) -> Vec<String> {
    let inner = written
        .strip_prefix(['(', '['])
        .and_then(|inner| inner.strip_suffix([')', ']']))
        .unwrap_or(written);
    let key_prefix = format!("{name}=");
    let values: Vec<String> = inner
        .split('|')
        .map(|value| {
            let value = value.trim();
            let value = value.strip_prefix(&key_prefix).unwrap_or(value);
            value
                .trim_matches(['"', '\''])
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_owned()
        })
        .collect();
    let words = values.iter().all(|v| is_word(v));
    if words && (values.len() > 1 || values.first().is_some_and(|v| v == "true")) {
        values
    } else {
        Vec::new()
    }
}

/// The values of prose that reads "one of a, b, or c".
fn one_of(text: &str) -> Vec<String> {
    let Some(at) = text.find("one of ") else {
        return Vec::new();
    };
    let list = &text[at + "one of ".len()..];
    let list = list.split(['.', ';']).next().unwrap_or(list);
    let values: Vec<String> = list
        .split(',')
        .flat_map(|part| part.split(" or "))
        .map(|value| value.trim().trim_start_matches("or ").trim().to_owned())
        .filter(|value| !value.is_empty())
        .collect();
    if values.len() > 1 && values.iter().all(|v| is_word(v)) {
        values
    } else {
        Vec::new()
    }
}

fn is_word(value: &str) -> bool {
    !value.is_empty() && value.chars().all(|c| c.is_ascii_lowercase() || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forms(description: &str) -> Vec<(String, FilterValue)> {
        read(description)
            .unwrap()
            .into_iter()
            .map(|key| (key.name, key.value))
            .collect()
    }

    fn enumeration(values: &[&str]) -> FilterValue {
        FilterValue::Enum {
            values: values.iter().map(|v| v.to_string()).collect(),
        }
    }

    fn label(negatable: bool, separator: char) -> FilterValue {
        FilterValue::Label { negatable, separator }
    }

    #[test]
    fn values_in_parentheses_with_and_without_code_spans_are_enumerations() {
        let description = "Available filters:\n\n\
            - `status=`(`created`|`restarting`|`running`)\n\
            - `health`=(`starting`|`healthy`|`unhealthy`|`none`)\n\
            - `desired-state=(running | shutdown | accepted)`\n\
            - `scope=[\"swarm\"|\"global\"|\"local\"]` Filters networks by scope.\n\
            - `membership=`(`accepted`|`pending`)`\n\
            - `isolation=`(`default`|`process`|`hyperv`) (Windows daemon only)\n";
        assert_eq!(
            forms(description),
            vec![
                ("status".into(), enumeration(&["created", "restarting", "running"])),
                (
                    "health".into(),
                    enumeration(&["starting", "healthy", "unhealthy", "none"])
                ),
                (
                    "desired-state".into(),
                    enumeration(&["running", "shutdown", "accepted"])
                ),
                ("scope".into(), enumeration(&["swarm", "global", "local"])),
                ("membership".into(), enumeration(&["accepted", "pending"])),
                ("isolation".into(), enumeration(&["default", "process", "hyperv"])),
            ]
        );
    }

    #[test]
    fn placeholders_are_free_text_even_in_parentheses() {
        let description = "- `ancestor`=(`<image-name>[:<tag>]`, `<image id>`, or `<image@digest>`)\n\
            - `expose`=(`<port>[/<proto>]`|`<startport-endport>/[<proto>]`)\n\
            - `id=<ID>` a container's ID\n\
            - `plugin`=<string> plugin name or ID\n\
            - `type=<string>`\n";
        let read_forms = forms(description);
        assert!(
            read_forms.iter().all(|(_, value)| *value == FilterValue::Text),
            "{read_forms:?}"
        );
        assert_eq!(read_forms.len(), 5);
    }

    #[test]
    fn booleans_numbers_times_and_flags() {
        let description = "- `dangling=true`\n\
            - `is-official=(true|false)`\n\
            - `is-automated=(true|false)` (deprecated, see below)\n\
            - `enable=<true>|<false>`\n\
            - `all` (`all=true`) - Consider all (local) volumes for pruning.\n\
            - `dangling=<boolean>` When set to `true` (or `1`), prune only\n   unused *and* untagged images.\n\
            - `exited=<int>` containers with exit code of `<int>`\n\
            - `stars=<number>` Matches images that has at least 'number' stars.\n\
            - `until=<string>` Prune images created before this timestamp. The `<timestamp>` can be Unix timestamps.\n\
            - `unused-for=<duration>`: duration relative to daemon's time\n\
            - `inuse`\n";
        let error = read(description).unwrap_err();
        assert_eq!(error, "the filter `dangling` is listed twice");
        let description = description.replacen("- `dangling=true`\n", "", 1);
        let keys = read(&description).unwrap();
        let read_forms: Vec<_> = keys.iter().map(|k| (k.name.as_str(), k.value.clone())).collect();
        assert_eq!(
            read_forms,
            vec![
                ("is-official", FilterValue::Bool),
                ("is-automated", FilterValue::Bool),
                ("enable", FilterValue::Bool),
                ("all", FilterValue::Bool),
                ("dangling", FilterValue::Bool),
                ("exited", FilterValue::Integer),
                ("stars", FilterValue::Integer),
                ("until", FilterValue::Timestamp),
                ("unused-for", FilterValue::Duration),
                ("inuse", FilterValue::Flag),
            ]
        );
        assert!(keys[1].deprecated && !keys[0].deprecated);
        assert_eq!(
            keys[4].doc,
            "`dangling=<boolean>` When set to `true` (or `1`), prune only unused *and* untagged images."
        );
    }

    #[test]
    fn labels_negated_and_with_the_separator_the_prose_writes() {
        let description = "- `label=key` or `label=\"key=value\"` of a container label\n\
            - `label` (`label=<key>`, `label=<key>=<value>`, `label!=<key>`, or `label!=<key>=<value>`) Prune\n\
            - `node.label=<node label>`\n";
        let keys = read(description);
        assert_eq!(keys.unwrap_err(), "the filter `label` is listed twice");
        assert_eq!(
            forms("- `label` (`label=<key>`, `label!=<key>`) Prune"),
            vec![("label".into(), label(true, '='))]
        );
        assert_eq!(
            forms("- `label=<key>` or `label=<key>:<value>` Matches volumes\n- `node.label=<node label>`"),
            vec![
                ("label".into(), label(false, ':')),
                ("node.label".into(), label(false, '='))
            ]
        );
    }

    #[test]
    fn one_of_in_prose_and_a_full_width_equals_sign() {
        assert_eq!(
            forms(
                "- `type=<string>` object to filter by, one of `container`, `image`, `volume`, or `daemon`\n\
                 - `scope`\u{ff1d}<string> local or swarm"
            ),
            vec![
                ("type".into(), enumeration(&["container", "image", "volume", "daemon"])),
                ("scope".into(), FilterValue::Text),
            ]
        );
    }

    #[test]
    fn nested_lists_belong_to_their_item_and_prose_after_the_list_is_not_a_key() {
        let description = "Available filters:\n\n\
            - `status=(a|b)` one of\n  - `a` the first\n  - `b` the second\n\
            - `name=<name>`\n\n\
            The `is-automated` filter is deprecated.\n";
        let keys = read(description).unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0].doc, "`status=(a|b)` one of - `a` the first - `b` the second");
        assert_eq!(keys[0].value, enumeration(&["a", "b"]));
    }

    #[test]
    fn an_item_without_a_key_is_an_error_naming_it() {
        assert_eq!(
            read("- 42 containers").unwrap_err(),
            "cannot read a filter key from the line \"42 containers\""
        );
        assert!(read("No filters.").unwrap().is_empty());
    }
}
