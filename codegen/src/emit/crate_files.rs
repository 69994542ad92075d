//! The files around a crate's models and operations: its manifest and README, filled in from
//! the family's templates, and `lib.rs`, the client type with an accessor per group.

use proc_macro2::TokenStream;
use quote::quote;

use super::{groups, rust_type};
use crate::ir::*;
use crate::naming::{group_accessor, group_type, method_name};

pub(super) fn docker_lib_rs(api: &Api) -> TokenStream {
    let version = api.version.to_string();
    let title = format!(" Typed client for the {} v{version}.", api.title);
    let intro = [
        title.as_str(),
        "",
        " Generated from `specs/v{VERSION}/swagger.yaml`; do not edit. Every operation of the spec has",
        " a method, reached through an accessor per tag (`docker.containers()`, `docker.images()`, ...).",
        "",
        " [`Docker::from_env`] connects as the Docker CLI does: `DOCKER_HOST`, `DOCKER_TLS_VERIFY`,",
        " `DOCKER_CERT_PATH`, `DOCKER_CONTEXT`, else the local socket. A daemon behind mutual TLS",
        " (`tcp://host:2376` with `DOCKER_TLS_VERIFY=1`) needs this crate's `tls` feature.",
        "",
        " ```no_run",
        " # async fn example() -> Result<(), docker_engine_runtime::Error> {",
        " let docker = CRATE::Docker::from_env()?;",
        " let containers = docker.containers().list().all(true).send().await?;",
        " println!(\"{} containers\", containers.len());",
        " # Ok(())",
        " # }",
        " ```",
    ];
    let crate_ident = api.family.crate_name(api.version).replace('-', "_");
    let docs = intro
        .iter()
        .map(|line| line.replace("{VERSION}", &version).replace("CRATE", &crate_ident));
    let routes = route_table(api);
    let accessors = group_accessors(api);
    let decode_answer = decode_answer_fn(api);
    let docker_doc = format!(" A client for API v{version}; cheap to clone, and clones share connections.");
    // prettyplease formats the generated files, and `cargo xtask check` compares them byte for
    // byte; rustfmt would lay them out differently, so `cargo fmt` on the workspace skips them.
    quote! {
        #(#![doc = #docs])*
        #![allow(clippy::all)]
        #![cfg_attr(rustfmt, rustfmt::skip)]

        #[rustfmt::skip]
        pub mod models;
        #[rustfmt::skip]
        pub mod operations;
        #[rustfmt::skip]
        pub mod filters;
        #[cfg(feature = "mock")]
        #[rustfmt::skip]
        pub mod mock;
        #[cfg(feature = "mock")]
        #[rustfmt::skip]
        mod examples;

        pub use docker_engine_runtime as runtime;
        pub use docker_engine_runtime::{Error, FilterTime, Filters, RegistryAuth, Result};

        // The README's example, compiled as a doc test so that it cannot go stale.
        #[cfg(doctest)]
        #[doc = include_str!("../README.md")]
        pub struct ReadmeExample;

        /// The API version this crate was generated from, and the highest it speaks.
        pub const API_VERSION: &str = #version;

        #routes

        #decode_answer

        #[doc = #docker_doc]
        #[derive(Debug, Clone)]
        pub struct Docker {
            client: runtime::Client,
        }

        impl Docker {
            /// Connects as the Docker CLI would: `DOCKER_HOST`, `DOCKER_TLS_VERIFY`,
            /// `DOCKER_CERT_PATH`, `DOCKER_API_VERSION`, `DOCKER_CONTEXT`, else the local socket.
            pub fn from_env() -> Result<Self> {
                Ok(Self::with_client(runtime::Client::from_env(API_VERSION)?))
            }

            /// Connects to the daemon's Unix socket at `path`.
            pub fn unix(path: impl Into<std::path::PathBuf>) -> Result<Self> {
                Ok(Self::with_client(runtime::Client::new(runtime::Endpoint::Unix(path.into()), API_VERSION)?))
            }

            /// Uses a runtime client configured by hand.
            pub fn with_client(client: runtime::Client) -> Self {
                Docker { client }
            }

            /// The runtime client underneath, for version negotiation and raw requests.
            pub fn client(&self) -> &runtime::Client {
                &self.client
            }

            #accessors
        }
    }
}

/// One accessor method per tag, returning the tag's group of operations.
fn group_accessors(api: &Api) -> TokenStream {
    let accessors = groups(api).into_keys().map(|tag| {
        let method = group_accessor(&tag);
        let ty = group_type(&tag);
        let doc = format!(" Operations tagged `{tag}`.");
        quote! {
            #[doc = #doc]
            pub fn #method(&self) -> operations::#ty {
                operations::#ty::new(self.client.clone())
            }
        }
    });
    quote! { #(#accessors)* }
}

/// `decode_answer`, which decodes a recorded JSON answer of any operation into its type.
fn decode_answer_fn(api: &Api) -> TokenStream {
    let json_answers = api.operations.iter().filter_map(|op| match &op.response {
        Response::Json(ty) => {
            let id = op.id.as_str();
            let ty = rust_type(ty);
            Some(quote! { #id => Some(runtime::decode_answer::<#ty>(#id, body).map(drop)), })
        }
        _ => None,
    });
    quote! {
        /// Decodes `body`, a success answer of `operation` that is one JSON document, into that
        /// operation's typed value as a request would, to check recorded answers against this
        /// version's models. `None` for an operation without such an answer in this version.
        // Inline, so that only programs calling it compile a decoder for every answer.
        #[inline]
        pub fn decode_answer(operation: &str, body: &[u8]) -> Option<Result<()>> {
            match operation {
                #(#json_answers)*
                _ => None,
            }
        }
    }
}

pub(super) fn registry_lib_rs(api: &Api) -> TokenStream {
    let major = api.version.major;
    let title = format!(" Typed client for the {} v{major}.", api.title);
    let intro = [
        title.as_str(),
        "",
        " Generated from `specs/registry/v{MAJOR}/swagger.yaml`; do not edit. Every operation of the",
        " spec has a method, reached through an accessor per tag (`registry.tags()`, `registry.blobs()`,",
        " ...). Operations whose answers carry headers (digests, `Location`, `Link`, `Range`) also have",
        " `send_with_headers`, which returns them typed.",
    ];
    let docs = intro.iter().map(|line| line.replace("{MAJOR}", &major.to_string()));
    let routes = route_table(api);
    let accessors = group_accessors(api);
    let decode_answer = decode_answer_fn(api);
    quote! {
        #(#![doc = #docs])*
        #![allow(clippy::all)]
        #![cfg_attr(rustfmt, rustfmt::skip)]

        #[rustfmt::skip]
        pub mod models;
        #[rustfmt::skip]
        pub mod operations;

        pub use docker_engine_runtime as runtime;
        pub use docker_engine_runtime::registry::{Credentials, RegistryOptions};
        pub use docker_engine_runtime::{Error, Result};

        // The README's example, compiled as a doc test so that it cannot go stale.
        #[cfg(doctest)]
        #[doc = include_str!("../README.md")]
        pub struct ReadmeExample;

        #routes

        #decode_answer

        /// A client for one registry; cheap to clone, and clones share connections and tokens.
        #[derive(Debug, Clone)]
        pub struct Registry {
            client: runtime::Client,
        }

        impl Registry {
            /// Connects to the registry at `address` (`host[:port]`, or a URL to choose the scheme),
            /// answering its challenges with the credentials Docker's `config.json` holds for it.
            pub fn connect(address: &str) -> Result<Self> {
                Self::with_options(address, RegistryOptions::default())
            }

            /// Connects to the registry at `address` with other credentials, a CA file, or timeouts.
            pub fn with_options(address: &str, options: RegistryOptions) -> Result<Self> {
                Ok(Self::with_client(runtime::registry::client(address, options)?))
            }

            /// Uses a runtime client configured by hand.
            pub fn with_client(client: runtime::Client) -> Self {
                Registry { client }
            }

            /// The runtime client underneath, for raw requests.
            pub fn client(&self) -> &runtime::Client {
                &self.client
            }

            #accessors
        }
    }
}

/// `ROUTES`, the one description of every operation's place (id, method, path, and how the
/// client calls it), and `OPERATIONS`, the ids, read from it.
fn route_table(api: &Api) -> TokenStream {
    let routes = api.operations.iter().map(|op| {
        let (id, method, path) = (&op.id, &op.method, &op.path);
        let call = format!("{}().{}", group_accessor(&op.group), method_name(op));
        quote! { runtime::Route::new(#id, #method, #path, #call), }
    });
    let count = proc_macro2::Literal::usize_unsuffixed(api.operations.len());
    quote! {
        /// Every operation of this version: its id, method and path as the spec gives them, and
        /// how this crate's client calls it (the fake daemon's setter has the same path).
        pub const ROUTES: &[runtime::Route] = &[#(#routes)*];

        /// The operation id of every operation of this version, as the spec names them.
        pub const OPERATIONS: &[&str] = &runtime::operation_ids::<#count>(ROUTES);
    }
}
