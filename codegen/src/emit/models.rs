//! `models.rs`: a type for every definition and inline schema.

use std::collections::{HashMap, HashSet};

use proc_macro2::{Ident, TokenStream};
use quote::quote;

use super::{doc_attrs, open_enum, rust_type};
use crate::ir::*;
use crate::naming::{field_names, ident};

pub(super) fn models_rs(api: &Api) -> TokenStream {
    let recursive = recursive_fields(api);
    let types = api.types.iter().map(|typedef| model(typedef, &recursive));
    quote! {
        //! Types of every definition and inline schema of the spec.
        use serde::Serialize;
        #(#types)*
    }
}

fn model(typedef: &TypeDef, recursive: &HashSet<(String, String)>) -> TokenStream {
    let name = ident(&typedef.name);
    let docs = doc_attrs(typedef.doc.as_deref());
    match &typedef.kind {
        TypeKind::Alias(target) => {
            let target = rust_type(target);
            quote! { #docs pub type #name = #target; }
        }
        TypeKind::Struct(fields) => {
            let rust_names: Vec<Ident> = field_names(fields.iter().map(|f| f.wire_name.as_str()))
                .iter()
                .map(|name| ident(name))
                .collect();
            let declarations = fields.iter().zip(&rust_names).map(|(field, rust_name)| {
                let wire = &field.wire_name;
                let mut ty = rust_type(&field.ty);
                if recursive.contains(&(typedef.name.clone(), field.wire_name.clone())) {
                    ty = quote! { Box<#ty> };
                }
                let docs = doc_attrs(field.doc.as_deref());
                let deprecated = field
                    .deprecated
                    .then(|| quote! { #[doc = ""] #[doc = " Deprecated by the API."] });
                let (serde, ty) = match field.plain() {
                    true => (quote! { #[serde(rename = #wire)] }, ty),
                    false => (
                        quote! { #[serde(rename = #wire, skip_serializing_if = "Option::is_none")] },
                        quote! { Option<#ty> },
                    ),
                };
                quote! {
                    #docs #deprecated
                    #serde
                    pub #rust_name: #ty,
                }
            });
            let wire_names = |plain: bool| {
                fields
                    .iter()
                    .zip(&rust_names)
                    .filter(move |(field, _)| field.plain() == plain)
                    .map(|(field, rust_name)| {
                        let wire = &field.wire_name;
                        let aliases = &field.aliases;
                        quote! { #wire #(| #aliases)* => #rust_name }
                    })
                    .collect::<Vec<_>>()
            };
            let optional = wire_names(false);
            let plain = wire_names(true);
            let plain = (!plain.is_empty()).then(|| quote! { , plain { #(#plain),* } });
            let type_name = &typedef.name;
            // Decoded by the runtime's shared visitor rather than serde's derive, whose code
            // per struct was most of the crate's build time (see the runtime's `fields`).
            quote! {
                #docs
                #[derive(Debug, Clone, Default, PartialEq, Serialize)]
                pub struct #name { #(#declarations)* }

                docker_engine_runtime::decode_fields!(#name, #type_name, { #(#optional),* } #plain);
            }
        }
        TypeKind::Enum(values) => open_enum(&name, docs, values),
    }
}

/// The (type, field) pairs that must be boxed because the field's type contains the struct
/// itself without an indirection in between.
pub(super) fn recursive_fields(api: &Api) -> HashSet<(String, String)> {
    let direct: HashMap<&str, Vec<(&str, &str)>> = api
        .types
        .iter()
        .map(|t| {
            let edges = match &t.kind {
                TypeKind::Struct(fields) => fields
                    .iter()
                    .filter_map(|f| match &f.ty {
                        TypeRef::Named(target) => Some((f.wire_name.as_str(), target.as_str())),
                        _ => None,
                    })
                    .collect(),
                TypeKind::Alias(TypeRef::Named(target)) => vec![("", target.as_str())],
                _ => Vec::new(),
            };
            (t.name.as_str(), edges)
        })
        .collect();
    let reaches = |from: &str, goal: &str| {
        let mut seen = HashSet::new();
        let mut stack = vec![from];
        while let Some(at) = stack.pop() {
            if at == goal {
                return true;
            }
            if seen.insert(at) {
                stack.extend(direct.get(at).into_iter().flatten().map(|(_, target)| *target));
            }
        }
        false
    };
    let mut boxed = HashSet::new();
    for (name, edges) in &direct {
        for (field, target) in edges {
            if !field.is_empty() && reaches(target, name) {
                boxed.insert((name.to_string(), field.to_string()));
            }
        }
    }
    boxed
}
