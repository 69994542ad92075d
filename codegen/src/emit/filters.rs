//! `filters.rs`: for every operation that takes `filters`, a type with one method per key its
//! version's spec lists, and an open enumeration for each key whose values the spec lists.

use heck::ToUpperCamelCase;
use proc_macro2::{Ident, TokenStream};
use quote::quote;

use super::{doc_attrs, open_enum};
use crate::ir::*;
use crate::naming::{field_names, ident};

pub(super) fn filters_rs(api: &Api) -> TokenStream {
    let filtered: Vec<(&Operation, &[FilterKey])> = api.operations.iter().filter_map(filter_keys).collect();
    let types = filtered.iter().map(|(op, keys)| filter_type(op, keys));
    let table = filtered.iter().map(|(op, _)| {
        let id = &op.id;
        let ty = filters_type(op);
        quote! { (#id, #ty::KEYS) }
    });
    quote! {
        //! A filter type for every operation that takes `filters`, with a method for each key
        //! this version's spec lists; `other` adds a key it does not, and any
        //! `runtime::Filters` converts into each.
        use docker_engine_runtime::{FilterForm, FilterKey};

        /// Every operation that takes filters, by operation ID, with its keys.
        pub const BY_OPERATION: &[(&str, &[FilterKey])] = &[#(#table),*];

        #(#types)*
    }
}

/// The keys of an operation's `filters` parameter, when it has one.
pub(super) fn filter_keys(op: &Operation) -> Option<(&Operation, &[FilterKey])> {
    op.parameters.iter().find_map(|parameter| match &parameter.value {
        ParameterValue::Filters(keys) => Some((op, keys.as_slice())),
        _ => None,
    })
}

/// The name of an operation's filter type.
pub(super) fn filters_type(op: &Operation) -> Ident {
    ident(&format!("{}Filters", op.id.to_upper_camel_case()))
}

fn value_enum(op: &Operation, key: &FilterKey) -> Ident {
    ident(&format!(
        "{}{}Filter",
        op.id.to_upper_camel_case(),
        key.name.to_upper_camel_case()
    ))
}

fn filter_type(op: &Operation, keys: &[FilterKey]) -> TokenStream {
    let ty = filters_type(op);
    let doc = format!(
        " Filters of `{} {}` (`{}`): a method for each key this version's spec lists.",
        op.method, op.path, op.id
    );
    let names = field_names(keys.iter().map(|key| key.name.as_str()));
    let descriptions = keys.iter().map(describe);
    let methods = keys.iter().zip(&names).map(|(key, name)| key_methods(op, key, name));
    let enums = keys.iter().filter_map(|key| match &key.value {
        FilterValue::Enum { values } => Some(values_enum(op, key, values)),
        _ => None,
    });
    quote! {
        docker_engine_runtime::filter_type!(#[doc = #doc] #ty);

        impl #ty {
            /// Every key this version's spec lists for the operation, with its value's form.
            pub const KEYS: &'static [FilterKey] = &[#(#descriptions),*];

            #(#methods)*
        }

        #(#enums)*
    }
}

/// The `FilterKey` a generated type lists for `key`.
fn describe(key: &FilterKey) -> TokenStream {
    let name = &key.name;
    let form = match &key.value {
        FilterValue::Text => quote! { Text },
        FilterValue::Enum { values } => quote! { Enum(&[#(#values),*]) },
        FilterValue::Bool => quote! { Bool },
        FilterValue::Integer => quote! { Integer },
        FilterValue::Label { negatable, separator } => {
            quote! { Label { negatable: #negatable, separator: #separator } }
        }
        FilterValue::Timestamp => quote! { Timestamp },
        FilterValue::Duration => quote! { Duration },
        FilterValue::Flag => quote! { Flag },
    };
    quote! { FilterKey::new(#name, FilterForm::#form) }
}

fn key_methods(op: &Operation, key: &FilterKey, name: &str) -> TokenStream {
    let wire = &key.name;
    let docs = doc_attrs(Some(&key.doc));
    let deprecated = key
        .deprecated
        .then(|| quote! { #[deprecated(note = "deprecated by the API")] });
    let method = ident(name);
    let one = |argument: TokenStream, value: TokenStream| {
        quote! {
            #docs #deprecated
            pub fn #method(self, #argument) -> Self { Self(self.0.add(#wire, #value)) }
        }
    };
    match &key.value {
        FilterValue::Text => one(quote! { value: impl Into<String> }, quote! { value }),
        FilterValue::Enum { .. } => {
            let values = value_enum(op, key);
            one(
                quote! { value: impl Into<#values> },
                quote! { String::from(value.into()) },
            )
        }
        FilterValue::Bool => one(quote! { value: bool }, quote! { value.to_string() }),
        FilterValue::Integer => one(quote! { value: i64 }, quote! { value.to_string() }),
        FilterValue::Timestamp => one(
            quote! { value: impl Into<docker_engine_runtime::FilterTime> },
            quote! { value.into().to_string() },
        ),
        // The same argument as a timestamp's, so every prune's `until` takes the same values.
        FilterValue::Duration => one(
            quote! { value: impl Into<docker_engine_runtime::FilterTime> },
            quote! { value.into().to_go_duration() },
        ),
        FilterValue::Flag => quote! {
            #docs #deprecated
            pub fn #method(self) -> Self { Self(self.0.add_flag(#wire)) }
        },
        FilterValue::Label { negatable, separator } => {
            let with_value = ident(&format!("{name}_value"));
            let pattern = format!("{{key}}{separator}{{value}}");
            let with_value_doc =
                format!(" Matches objects whose label `key` is `value` (`{wire}=key{separator}value`).");
            let mut methods = quote! {
                #docs #deprecated
                ///
                /// Matches objects that have the label `key`, whatever its value.
                pub fn #method(self, key: impl Into<String>) -> Self { Self(self.0.add(#wire, key)) }

                #[doc = #with_value_doc]
                #deprecated
                pub fn #with_value(self, key: &str, value: &str) -> Self { Self(self.0.add(#wire, format!(#pattern))) }
            };
            if *negatable {
                let negated_wire = format!("{wire}!");
                let without = ident(&format!("without_{name}"));
                let without_value = ident(&format!("without_{name}_value"));
                let without_doc = format!(" Matches objects that lack the label `key` (`{wire}!=key`).");
                let without_value_doc = format!(
                    " Matches objects whose label `key` is absent or not `value` (`{wire}!=key{separator}value`)."
                );
                methods.extend(quote! {
                    #[doc = #without_doc]
                    #deprecated
                    pub fn #without(self, key: impl Into<String>) -> Self { Self(self.0.add(#negated_wire, key)) }

                    #[doc = #without_value_doc]
                    #deprecated
                    pub fn #without_value(self, key: &str, value: &str) -> Self {
                        Self(self.0.add(#negated_wire, format!(#pattern)))
                    }
                });
            }
            methods
        }
    }
}

fn values_enum(op: &Operation, key: &FilterKey, values: &[String]) -> TokenStream {
    let doc = format!(
        " The values of `{}`'s `{}` filter that this version's spec lists.",
        op.id, key.name
    );
    open_enum(&value_enum(op, key), quote! { #[doc = #doc] }, values)
}
