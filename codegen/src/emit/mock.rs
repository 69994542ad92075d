//! The crate's fake daemon (`src/mock.rs`, behind the `mock` feature): per tag a type whose
//! methods, named as the client's, set a typed answer for an operation; requests are routed by
//! the crate's `ROUTES`.
//! The server itself is the runtime's (`docker_engine_runtime::mock`).

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::{groups, rust_type};
use crate::ir::*;
use crate::naming::{group_accessor, group_type, ident, method_name};

pub(super) fn mock_rs(api: &Api) -> TokenStream {
    let version = api.version.to_string();
    let intro =
        format!(" A fake daemon speaking API v{version}, for testing code that uses this crate without Docker.");
    let groups = groups(api);
    let accessors = groups.keys().map(|tag| {
        let method = group_accessor(tag);
        let ty = mock_type(tag);
        let doc = format!(" Sets answers to the operations tagged `{tag}`.");
        quote! {
            #[doc = #doc]
            pub fn #method(&self) -> #ty<'_> {
                #ty { server: &self.server }
            }
        }
    });
    let group_types = groups.iter().map(|(tag, operations)| {
        let ty = mock_type(tag);
        let doc = format!(
            " The answers of operations tagged `{tag}`; reached with `MockDaemon::{}()`.",
            group_accessor(tag)
        );
        let setters = operations.iter().map(|op| answer_setter(op));
        quote! {
            #[doc = #doc]
            #[derive(Debug, Clone, Copy)]
            pub struct #ty<'a> { server: &'a MockServer }

            impl #ty<'_> {
                #(#setters)*
            }
        }
    });
    quote! {
        #![doc = #intro]
        //!
        //! [`MockDaemon::start`] listens on a Unix socket of its own and [`MockDaemon::docker`]
        //! gives a client connected to it. A test sets the answers it needs, typed as the
        //! client's (`mock.containers().inspect(|request| Ok(...))`); an operation left unset
        //! answers 501, saying so and naming the setter to use.
        //! `/_ping` and `/version` answer as a daemon of this version unless set, and every request
        //! is logged ([`MockServer::requests`]). [`MockDaemon::replay`] answers instead from a
        //! session recorded against a real daemon.
        //!
        //! What handlers take and give (`MockRequest`, `MockError`, `MockStream`, `Outcome`, ...)
        //! is here too: a test needs no other crate than this one.

        use docker_engine_runtime::mock;
        #[doc(inline)]
        pub use docker_engine_runtime::mock::{Bytes, MockError, MockRequest, MockServer, MockSession, MockStream, Recorder};
        #[doc(inline)]
        pub use docker_engine_runtime::{Outcome, Output, PathStat};

        /// A fake daemon; dropping it stops it and removes its socket.
        #[derive(Debug)]
        pub struct MockDaemon {
            server: MockServer,
        }

        impl MockDaemon {
            /// Starts the fake daemon within the current tokio runtime.
            pub async fn start() -> std::io::Result<MockDaemon> {
                Ok(MockDaemon { server: MockServer::start(crate::ROUTES, crate::API_VERSION).await? })
            }

            /// Like [`MockDaemon::start`], on a TCP port of 127.0.0.1, for code that reaches its
            /// daemon over `tcp://`.
            pub async fn start_tcp() -> std::io::Result<MockDaemon> {
                Ok(MockDaemon { server: MockServer::start_tcp(crate::ROUTES, crate::API_VERSION).await? })
            }

            /// A fake daemon answering the requests recorded in `file` by a
            /// [`Recorder`], each by the recorded exchange it matches, in any order (pings and
            /// version reads as often as they come); a request that matches none is answered
            /// with an error naming the nearest and reported by [`MockServer::replay_outcome`].
            pub async fn replay(file: impl AsRef<std::path::Path>) -> std::io::Result<MockDaemon> {
                Ok(MockDaemon { server: MockServer::replay(crate::ROUTES, crate::API_VERSION, file.as_ref()).await? })
            }

            /// Like [`MockDaemon::replay`], but each request must be the one recorded next.
            pub async fn replay_in_order(file: impl AsRef<std::path::Path>) -> std::io::Result<MockDaemon> {
                Ok(MockDaemon { server: MockServer::replay_in_order(crate::ROUTES, crate::API_VERSION, file.as_ref()).await? })
            }

            /// A client of this crate connected to the fake daemon.
            pub fn docker(&self) -> crate::Result<crate::Docker> {
                let client = docker_engine_runtime::Client::new(self.server.endpoint(), crate::API_VERSION)?;
                Ok(crate::Docker::with_client(client))
            }

            /// The server underneath: its endpoint, the requests it received, its API version.
            pub fn server(&self) -> &MockServer {
                &self.server
            }

            #(#accessors)*
        }

        #(#group_types)*
    }
}

fn mock_type(tag: &str) -> proc_macro2::Ident {
    format_ident!("{}Mock", group_type(tag))
}

fn answer_setter(op: &Operation) -> TokenStream {
    let method = ident(&method_name(op));
    let id = &op.id;
    let (body_type, body_decoder) = match op.body.as_ref().map(|b| &b.kind) {
        None => (quote! { () }, quote! { mock::no_body }),
        Some(BodyKind::Json(ty)) => {
            let ty = rust_type(ty);
            (quote! { Option<#ty> }, quote! { mock::json_body::<#ty> })
        }
        Some(BodyKind::Binary { .. }) => (quote! { Bytes }, quote! { mock::bytes_body }),
    };
    let (answer_type, encoder, note) = match &op.response {
        Response::Empty => (quote! { () }, quote! { mock::empty_answer }, ""),
        Response::Outcome => (
            quote! { docker_engine_runtime::Outcome },
            quote! { mock::outcome_answer },
            "\n\n`Outcome::Done` answers 204, `Outcome::AlreadyDone` 304, as the daemon does.",
        ),
        Response::Json(ty) => {
            let ty = rust_type(ty);
            (quote! { #ty }, quote! { mock::json_answer }, "")
        }
        Response::Text => (quote! { String }, quote! { mock::text_answer }, ""),
        Response::Bytes => (
            quote! { mock::MockStream<Bytes> },
            quote! { mock::bytes_answer },
            "\n\nThe bytes are sent in the chunks given (a list, collected or `.into()`, or \
             `MockStream::live`).",
        ),
        Response::JsonStream(ty) => {
            let ty = rust_type(ty);
            (
                quote! { mock::MockStream<#ty> },
                quote! { mock::json_stream_answer },
                "\n\nEach item is sent as one chunk, as the daemon streams them: a list (collected, or a \
                 `Vec` with `.into()`) at once, or `MockStream::live` as its items come.",
            )
        }
        Response::Output => (
            quote! { mock::MockStream<docker_engine_runtime::Output> },
            quote! { mock::output_answer },
            "\n\nOutput pieces are sent as multiplexed frames, or raw for `Output::Console` pieces or \
             `MockStream::tty` (a TTY); a list at once, or `MockStream::live` as pieces come.",
        ),
        Response::Hijack => (
            quote! { mock::MockSession },
            quote! { mock::session_answer },
            "\n\n`MockSession::script()` takes the connection over, as the daemon does, and plays its \
             steps: output sent, input expected. A list of output pieces (`.into()`) is sent as a \
             plain body instead, as the daemon answers a request that does not take the \
             connection over.",
        ),
        Response::PathStat => (
            quote! { docker_engine_runtime::PathStat },
            quote! { mock::path_stat_answer },
            "",
        ),
        Response::WebSocket => (
            quote! { mock::MockSession },
            quote! { mock::websocket_session_answer },
            "\n\nThe session is played over a WebSocket, as dockerd serves it: each output piece \
             one binary message, never multiplexed, and input compared by payload, however the \
             client divides it into messages (the `websocket` feature).",
        ),
    };
    // The WebSocket side of the fake daemon is compiled with the client's.
    let feature = matches!(op.response, Response::WebSocket).then(|| quote! { #[cfg(feature = "websocket")] });
    let doc = format!(
        " Sets the answer to `{} {}` (`{}`).{}",
        op.method,
        op.path,
        op.id,
        note.replace("\n\n", "\n\n ")
    );
    let docs = doc.split('\n').map(|line| quote! { #[doc = #line] });
    quote! {
        #(#docs)*
        #feature
        pub fn #method(
            &self,
            respond: impl Fn(MockRequest<#body_type>) -> Result<#answer_type, MockError> + Send + Sync + 'static,
        ) -> &Self {
            self.server.set(#id, mock::handler(#body_decoder, #encoder, respond));
            self
        }
    }
}
