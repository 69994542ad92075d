//! `examples.rs` (behind the `mock` feature): `example()` of every struct and enumeration, a
//! complete value for a fake daemon's answers, so that a client reading fields a test did not
//! set finds them as a daemon sends them.
//!
//! A value comes from the spec's examples where it gives one (the definition's, an operation's
//! example answer, a property's), and otherwise is what a daemon written in Go sends for a field
//! it has nothing for: the zero value, an empty list or map, a nested struct filled the same
//! way; an enumeration takes its first listed value. An example of the wrong type for its field
//! is left out for that field rather than failing the build of every crate.

use std::collections::{HashMap, HashSet};

use proc_macro2::{Literal, TokenStream};
use quote::quote;
use serde_json::Value;

use super::models::recursive_fields;
use crate::ir::*;
use crate::naming::{field_names, ident};

pub(super) fn examples_rs(api: &Api) -> TokenStream {
    let recursive = recursive_fields(api);
    let examples = Examples {
        types: api.types.iter().map(|t| (t.name.as_str(), t)).collect(),
        recursive: &recursive,
    };
    let impls = api.types.iter().filter_map(|typedef| {
        let name = &typedef.name;
        let (value, docs) = match &typedef.kind {
            TypeKind::Struct(fields) => (
                examples.struct_value(typedef, fields, typedef.example.as_ref()),
                vec![
                    format!(" A complete `{name}`: the spec's example values where it gives them, every other"),
                    " field as a daemon fills it. A test changes what it needs:".to_owned(),
                    format!(" `{name} {{ field: ..., ..{name}::example() }}`."),
                ],
            ),
            TypeKind::Enum(values) => {
                let chosen = typedef
                    .example
                    .as_ref()
                    .and_then(Value::as_str)
                    .or(values.first().map(String::as_str));
                let chosen = chosen.unwrap_or_default();
                (
                    quote! { Self::from(#chosen) },
                    vec![
                        format!(" A `{name}` for a fake daemon's answer: the spec's example, or else the"),
                        " first value it lists.".to_owned(),
                    ],
                )
            }
            TypeKind::Alias(_) => return None,
        };
        let name = ident(name);
        Some(quote! {
            impl crate::models::#name {
                #(#[doc = #docs])*
                pub fn example() -> Self {
                    #value
                }
            }
        })
    });
    quote! {
        //! `example()` of every model: a complete value, from the spec's examples where it gives
        //! them, for the fake daemon's answers.
        #(#impls)*
    }
}

struct Examples<'a> {
    types: HashMap<&'a str, &'a TypeDef>,
    recursive: &'a HashSet<(String, String)>,
}

impl Examples<'_> {
    /// A struct literal: each field from `json` where it has the field, else from the field's
    /// own example, else filled.
    fn struct_value(&self, typedef: &TypeDef, fields: &[Field], json: Option<&Value>) -> TokenStream {
        let name = ident(&typedef.name);
        let object = json.and_then(Value::as_object);
        let rust_names = field_names(fields.iter().map(|f| f.wire_name.as_str()));
        let values = fields.iter().zip(&rust_names).map(|(field, rust_name)| {
            let rust_name = ident(rust_name);
            let given = object.and_then(|o| o.get(&field.wire_name)).or(field.example.as_ref());
            let boxed = self
                .recursive
                .contains(&(typedef.name.clone(), field.wire_name.clone()));
            let held = |value: TokenStream| match field.plain() {
                true => value,
                false => quote! { Some(#value) },
            };
            let value = match (boxed, given) {
                // Filling a field that holds its own type would never end.
                (true, None) if field.plain() => quote! { Default::default() },
                (true, None) => quote! { None },
                (true, Some(given)) => {
                    let value = self.value(&field.ty, Some(given));
                    held(quote! { Box::new(#value) })
                }
                (false, given) => held(self.value(&field.ty, given)),
            };
            quote! { #rust_name: #value }
        });
        quote! { crate::models::#name { #(#values),* } }
    }

    fn value(&self, ty: &TypeRef, json: Option<&Value>) -> TokenStream {
        match ty {
            TypeRef::Bool => {
                let value = json.and_then(Value::as_bool).unwrap_or_default();
                quote! { #value }
            }
            TypeRef::Integer(format) => {
                let value = json.and_then(|j| integer_in_range(j, *format)).unwrap_or_default();
                let literal = Literal::u128_unsuffixed(value.unsigned_abs());
                match value < 0 {
                    true => quote! { -#literal },
                    false => quote! { #literal },
                }
            }
            TypeRef::Number => {
                let value = json.and_then(Value::as_f64).unwrap_or_default();
                let literal = Literal::f64_suffixed(value.abs());
                match value < 0.0 {
                    true => quote! { -#literal },
                    false => quote! { #literal },
                }
            }
            TypeRef::String => {
                let text = json.and_then(scalar_text).unwrap_or_default();
                quote! { String::from(#text) }
            }
            TypeRef::Binary => match json.and_then(Value::as_str) {
                Some(text) => quote! { #text.as_bytes().to_vec() },
                None => quote! { Vec::new() },
            },
            TypeRef::Any => json_value(json.unwrap_or(&Value::Null)),
            TypeRef::Array(item) => match json.and_then(Value::as_array) {
                Some(items) => {
                    let items = items.iter().map(|i| self.value(item, Some(i)));
                    quote! { Vec::from([#(#items),*]) }
                }
                None => quote! { Vec::new() },
            },
            TypeRef::Map(value) => match json.and_then(Value::as_object) {
                Some(entries) if !entries.is_empty() => {
                    let entries = entries.iter().map(|(key, v)| {
                        let v = self.value(value, Some(v));
                        quote! { (String::from(#key), #v) }
                    });
                    quote! { std::collections::HashMap::from([#(#entries),*]) }
                }
                _ => quote! { std::collections::HashMap::new() },
            },
            TypeRef::Nullable(inner) => match json {
                Some(Value::Null) => quote! { None },
                json => {
                    let value = self.value(inner, json);
                    quote! { Some(#value) }
                }
            },
            TypeRef::Named(name) => {
                let typedef = self.types[name.as_str()];
                let rust_name = ident(name);
                match (&typedef.kind, json) {
                    (TypeKind::Alias(target), json) => self.value(target, json),
                    (TypeKind::Struct(fields), Some(json @ Value::Object(_))) => {
                        self.struct_value(typedef, fields, Some(json))
                    }
                    (TypeKind::Enum(_), Some(Value::String(value))) => {
                        quote! { crate::models::#rust_name::from(#value) }
                    }
                    _ => quote! { crate::models::#rust_name::example() },
                }
            }
        }
    }
}

/// An example written as a number (or a number in a string, as YAML examples sometimes are)
/// that fits the field's type.
fn integer_in_range(json: &Value, format: IntegerFormat) -> Option<i128> {
    let value: i128 = match json {
        Value::Number(n) => n.as_i64().map(i128::from).or(n.as_u64().map(i128::from))?,
        Value::String(text) => text.parse().ok()?,
        _ => return None,
    };
    let (min, max): (i128, i128) = match format {
        IntegerFormat::I32 => (i32::MIN.into(), i32::MAX.into()),
        IntegerFormat::I64 => (i64::MIN.into(), i64::MAX.into()),
        IntegerFormat::U8 => (0, u8::MAX.into()),
        IntegerFormat::U16 => (0, u16::MAX.into()),
        IntegerFormat::U32 => (0, u32::MAX.into()),
        IntegerFormat::U64 => (0, u64::MAX.into()),
    };
    (min..=max).contains(&value).then_some(value)
}

/// A string field's example; YAML reads `1.41` or `true` as a number or a boolean, which the
/// spec meant as text.
fn scalar_text(json: &Value) -> Option<String> {
    match json {
        Value::String(text) => Some(text.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A free-form example built with `serde_json`'s constructors (its `json!` macro would hit the
/// recursion limit on the specs' larger examples).
fn json_value(json: &Value) -> TokenStream {
    match json {
        Value::Null => quote! { serde_json::Value::Null },
        Value::Bool(b) => quote! { serde_json::Value::Bool(#b) },
        Value::Number(n) => {
            let literal = match (n.as_u64(), n.as_i64(), n.as_f64()) {
                (Some(u), _, _) => Literal::u64_suffixed(u),
                (None, Some(i), _) => Literal::i64_suffixed(i),
                (None, None, f) => Literal::f64_suffixed(f.unwrap_or_default()),
            };
            // A negative literal is written as its negation, which the parser reads as such.
            let text = literal.to_string();
            match text.strip_prefix('-') {
                Some(magnitude) => {
                    let magnitude: TokenStream = magnitude.parse().expect("a number literal");
                    quote! { serde_json::Value::from(-#magnitude) }
                }
                None => quote! { serde_json::Value::from(#literal) },
            }
        }
        Value::String(text) => quote! { serde_json::Value::from(#text) },
        Value::Array(items) => {
            let items = items.iter().map(json_value);
            quote! { serde_json::Value::Array(Vec::from([#(#items),*])) }
        }
        Value::Object(entries) => {
            let entries = entries.iter().map(|(key, value)| {
                let value = json_value(value);
                quote! { (String::from(#key), #value) }
            });
            quote! { serde_json::Value::Object(serde_json::Map::from_iter([#(#entries),*])) }
        }
    }
}
