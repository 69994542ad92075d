//! The runtime's layering rule, checked on its source: each top-level module of `src/` is one
//! layer, and a layer imports only from the layers listed before it. A new module, or an
//! import that runs back up, fails here with the file and the line.

use std::path::{Path, PathBuf};

/// The layers from the bottom up, each with what it is for (ARCHITECTURE.md draws the same).
const LAYERS: &[(&str, &str)] = &[
    ("error", "the one error type every layer returns"),
    ("decoding", "what generated models call to decode JSON"),
    ("transport", "endpoints and connections: Unix, TCP, TLS, ssh"),
    ("http", "requests, the connection pool, headers, upgrades; no API"),
    (
        "docker",
        "the daemon's conventions: environment, config, streams, sessions, archives",
    ),
    (
        "client",
        "the client generated operations call, one call per kind of answer",
    ),
    (
        "registry",
        "the Registry API's authentication, behind the client's hook",
    ),
    ("buildkit", "build progress and BuildKit sessions"),
    ("mock", "the fake daemon and the recorder"),
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path);
        }
    }
}

/// The first segment of every `crate::` path in `line`, braces of a `use` group opened.
fn crate_paths(line: &str) -> Vec<String> {
    let mut segments = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("crate::") {
        let preceded_by_word = rest[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$');
        rest = &rest[at + "crate::".len()..];
        if preceded_by_word {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let first = item.trim().split("::").next().unwrap_or("");
                if !first.is_empty() {
                    segments.push(first.to_owned());
                }
            }
        } else {
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            segments.push(rest[..end].to_owned());
        }
    }
    segments
}

/// The code of a line, without a comment that ends it (doc links name paths freely).
fn code_of(line: &str) -> &str {
    match line.find("//") {
        Some(at) => &line[..at],
        None => line,
    }
}

#[test]
fn every_layer_imports_only_the_layers_below_it() {
    let src = src();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut wrong = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(&src).unwrap();
        let top = relative.components().next().unwrap().as_os_str().to_str().unwrap();
        let layer = top.trim_end_matches(".rs");
        if layer == "lib" {
            continue;
        }
        let Some(rank) = LAYERS.iter().position(|(name, _)| *name == layer) else {
            wrong.push(format!(
                "{}: the module `{layer}` is in no layer of this test",
                relative.display()
            ));
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        let is_layer_root = relative.components().count() == 1 || relative.ends_with("mod.rs");
        for (number, line) in text.lines().enumerate() {
            let code = code_of(line);
            let at = format!("{}:{}", relative.display(), number + 1);
            // In a layer's root file, `super` at the top level is the crate root; within its
            // `mod tests` (indented) it is the layer itself.
            let root_super = is_layer_root && (code.starts_with("use super::") || code.starts_with("pub use super::"));
            if code.contains("super::super::") || root_super {
                wrong.push(format!(
                    "{at}: leaves the layer through `super`; name the path from `crate::`"
                ));
            }
            for segment in crate_paths(code) {
                if segment.starts_with(|c: char| c.is_ascii_uppercase()) {
                    wrong.push(format!(
                        "{at}: `crate::{segment}` is a re-export of the crate root; import it from its layer"
                    ));
                    continue;
                }
                match LAYERS.iter().position(|(name, _)| *name == segment) {
                    Some(used) if used <= rank => {}
                    Some(_) => wrong.push(format!("{at}: `{layer}` imports `{segment}`, a layer above it")),
                    None => wrong.push(format!("{at}: `crate::{segment}` is no layer")),
                }
            }
        }
    }
    assert!(wrong.is_empty(), "the layering rule is broken:\n{}", wrong.join("\n"));
}

#[test]
fn the_crate_root_declares_exactly_the_layers() {
    let lib = std::fs::read_to_string(src().join("lib.rs")).unwrap();
    let mut declared: Vec<&str> = lib
        .lines()
        .filter_map(|line| {
            let line = line.trim();
            let rest = line.strip_prefix("pub mod ").or_else(|| line.strip_prefix("mod "))?;
            rest.strip_suffix(';')
        })
        .collect();
    let mut layers: Vec<&str> = LAYERS.iter().map(|(name, _)| *name).collect();
    declared.sort_unstable();
    layers.sort_unstable();
    assert_eq!(
        declared, layers,
        "lib.rs declares a module that is no layer here, or lacks one"
    );
}

#[test]
fn the_rule_reads_imports_as_written() {
    assert_eq!(crate_paths("use crate::http::request::Body;"), ["http"]);
    assert_eq!(
        crate_paths("use crate::{docker::PathStat, error};"),
        ["docker", "error"]
    );
    assert_eq!(
        crate_paths("crate::error::snippet(x), crate::Error"),
        ["error", "Error"]
    );
    assert_eq!(crate_paths("$crate::x and other_crate::y"), Vec::<String>::new());
    assert_eq!(code_of("let a = 1; // crate::mock"), "let a = 1; ");
}
