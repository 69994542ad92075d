//! Every operation of every spec under `specs/` has a method in its checked-in crate, reachable
//! from `Docker`, and every definition has a type. The spec side is counted from the raw YAML,
//! not from the generator's model, so an operation or definition the generator dropped on the way
//! is caught. `cargo xtask check` guarantees the checked-in crates are what the generator writes.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use heck::ToUpperCamelCase;

const METHODS: [&str; 7] = ["get", "put", "post", "delete", "options", "head", "patch"];

fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned()
}

/// `METHOD /path` of every operation, and every definition name, read from the spec itself.
fn spec_contents(spec: &Path) -> (BTreeSet<String>, BTreeSet<String>) {
    let text = std::fs::read_to_string(spec).unwrap();
    let document: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let mut operations = BTreeSet::new();
    for (path, item) in document["paths"].as_mapping().unwrap() {
        for method in METHODS {
            if item.get(method).is_some() {
                operations.insert(format!("{} {}", method.to_uppercase(), path.as_str().unwrap()));
            }
        }
    }
    let definitions = document["definitions"]
        .as_mapping()
        .map(|m| m.keys().map(|k| k.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default();
    (operations, definitions)
}

fn parse(file: &Path) -> syn::File {
    syn::parse_file(&std::fs::read_to_string(file).unwrap()).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

fn self_type(item: &syn::ItemImpl) -> Option<String> {
    match &*item.self_ty {
        syn::Type::Path(path) => Some(path.path.segments.last()?.ident.to_string()),
        _ => None,
    }
}

/// The type a method returns from the `operations` module: an accessor (`operations::Containers`).
fn returned_accessor(signature: &syn::Signature) -> Option<String> {
    let syn::ReturnType::Type(_, ty) = &signature.output else {
        return None;
    };
    let syn::Type::Path(path) = &**ty else { return None };
    let segments: Vec<String> = path.path.segments.iter().map(|s| s.ident.to_string()).collect();
    match &segments[..] {
        [module, accessor] if module == "operations" => Some(accessor.clone()),
        _ => None,
    }
}

/// The `METHOD /path` its documentation gives for every public method of every accessor type
/// (`Containers`, `SystemOperations`, ...) that `Docker` (or a registry crate's `Registry`) hands
/// out.
fn emitted_operations(crate_dir: &Path) -> BTreeSet<String> {
    let accessors: BTreeSet<String> = parse(&crate_dir.join("src/lib.rs"))
        .items
        .iter()
        .filter_map(|item| match item {
            syn::Item::Impl(block) if matches!(self_type(block).as_deref(), Some("Docker" | "Registry")) => Some(block),
            _ => None,
        })
        .flat_map(|block| &block.items)
        .filter_map(|item| match item {
            syn::ImplItem::Fn(method) if matches!(method.vis, syn::Visibility::Public(_)) => {
                returned_accessor(&method.sig)
            }
            _ => None,
        })
        .collect();
    let mut operations = BTreeSet::new();
    for item in parse(&crate_dir.join("src/operations.rs")).items {
        let syn::Item::Impl(block) = item else { continue };
        if !self_type(&block).is_some_and(|name| accessors.contains(&name)) {
            continue;
        }
        for item in block.items {
            let syn::ImplItem::Fn(method) = item else { continue };
            if !matches!(method.vis, syn::Visibility::Public(_)) {
                continue;
            }
            let documented = method.attrs.iter().find_map(|attr| {
                let syn::Meta::NameValue(doc) = &attr.meta else {
                    return None;
                };
                let syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(text),
                    ..
                }) = &doc.value
                else {
                    return None;
                };
                let text = text.value();
                let endpoint = text.trim().strip_prefix('`')?.split('`').next()?.to_owned();
                METHODS
                    .iter()
                    .any(|m| endpoint.starts_with(&format!("{} /", m.to_uppercase())))
                    .then_some(endpoint)
            });
            let endpoint = documented.unwrap_or_else(|| {
                panic!(
                    "{}: {} has no `METHOD /path` line",
                    crate_dir.display(),
                    method.sig.ident
                )
            });
            assert!(
                operations.insert(endpoint.clone()),
                "{}: two methods for {endpoint}",
                crate_dir.display()
            );
        }
    }
    operations
}

fn emitted_types(crate_dir: &Path) -> BTreeSet<String> {
    parse(&crate_dir.join("src/models.rs"))
        .items
        .iter()
        .filter_map(|item| match item {
            syn::Item::Struct(item) => Some(item.ident.to_string()),
            syn::Item::Enum(item) => Some(item.ident.to_string()),
            syn::Item::Type(item) => Some(item.ident.to_string()),
            _ => None,
        })
        .collect()
}

#[test]
fn every_operation_has_a_method_and_every_definition_a_type_in_every_crate() {
    let root = project_root();
    let specs = codegen::find_specs(&root.join("specs")).unwrap();
    assert_eq!(specs.len(), 31, "specs 1.25 to 1.54 and the Registry API's");
    for spec in specs {
        let crate_dir = root.join("generated-client").join(spec.crate_folder());
        let (spec_operations, definitions) = spec_contents(&spec.path);
        let emitted = emitted_operations(&crate_dir);
        let missing: Vec<_> = spec_operations.difference(&emitted).collect();
        let extra: Vec<_> = emitted.difference(&spec_operations).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "v{}: operations without a method: {missing:?}; methods of no operation: {extra:?}",
            spec.version
        );
        let types = emitted_types(&crate_dir);
        let untyped: Vec<_> = definitions
            .iter()
            .filter(|name| !types.contains(&name.to_upper_camel_case()))
            .collect();
        assert!(
            untyped.is_empty(),
            "v{}: definitions without a type: {untyped:?}",
            spec.version
        );
    }
}
