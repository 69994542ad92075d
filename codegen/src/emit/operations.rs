//! `operations.rs`: a group of operations per tag, and a request builder per operation.

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use super::filters::filters_type;
use super::{doc_attrs, groups, rust_type};
use crate::ir::*;
use crate::naming::{builder_type, field_names, group_accessor, group_type, headers_type, ident, method_name};

pub(super) fn operations_rs(api: &Api) -> TokenStream {
    let groups = groups(api);
    let group_items = groups.iter().map(|(tag, operations)| {
        let ty = group_type(tag);
        let doc = format!(
            " Operations tagged `{tag}`; reached with `{}::{}()`.",
            api.family.client_type(),
            group_accessor(tag)
        );
        let methods = operations.iter().map(|op| group_method(op, tag));
        quote! {
            #[doc = #doc]
            #[derive(Debug, Clone)]
            pub struct #ty { client: Client }

            impl #ty {
                pub(crate) fn new(client: Client) -> Self { #ty { client } }
                #(#methods)*
            }
        }
    });
    let builders = api.operations.iter().map(request_builder);
    let imports = runtime_imports(api);
    quote! {
        //! One request builder per operation; finish with `.send().await`.
        #![allow(unused_mut)]
        use docker_engine_runtime::{#(#imports),*};
        #(#group_items)*
        #(#builders)*
    }
}

/// The runtime's names that `operations.rs` uses; one imported and unused would warn.
fn runtime_imports(api: &Api) -> Vec<proc_macro2::Ident> {
    let any_parameter = |matches: fn(&ParameterValue) -> bool| {
        api.operations
            .iter()
            .flat_map(|op| &op.parameters)
            .any(|p| matches(&p.value))
    };
    let sends_bytes = api
        .operations
        .iter()
        .any(|op| matches!(op.body.as_ref().map(|b| &b.kind), Some(BodyKind::Binary { .. })));
    [
        ("Body", sends_bytes),
        ("Client", true),
        ("Method", true),
        (
            "RegistryAuth",
            any_parameter(|v| matches!(v, ParameterValue::RegistryAuth)),
        ),
        (
            "RegistryConfig",
            any_parameter(|v| matches!(v, ParameterValue::RegistryConfig)),
        ),
        ("Request", true),
        ("Result", true),
    ]
    .into_iter()
    .filter(|(_, used)| *used)
    .map(|(name, _)| format_ident!("{name}"))
    .collect()
}

/// Parameters given as arguments rather than builder setters.
fn is_argument(parameter: &Parameter) -> bool {
    parameter.location == Location::Path || parameter.required
}

fn group_method(op: &Operation, _tag: &str) -> TokenStream {
    let method = ident(&method_name(op));
    let builder = builder_type(op);
    let names = parameter_names(op);
    let mut arguments = Vec::new();
    let mut conversions = Vec::new();
    if op.follows_location {
        arguments.push(quote! { location: impl Into<String> });
        conversions.push(quote! { location: location.into(), });
    }
    for (parameter, name) in op.parameters.iter().zip(&names) {
        if !is_argument(parameter) || (op.follows_location && parameter.location == Location::Path) {
            continue;
        }
        let name = ident(name);
        let (ty, convert) = setter_type(op, &parameter.value);
        arguments.push(quote! { #name: #ty });
        let value = converted(convert, quote! { #name });
        conversions.push(quote! { #name: #value, });
    }
    if let Some(body) = op.body.as_ref().filter(|b| b.required) {
        let ty = body_type(&body.kind);
        arguments.push(quote! { body: #ty });
        conversions.push(quote! { body: body, });
    }
    let optional_fields = op
        .parameters
        .iter()
        .zip(&names)
        .filter(|(p, _)| !is_argument(p))
        .map(|(_, name)| {
            let name = ident(name);
            quote! { #name: None, }
        });
    let optional_body = op.body.as_ref().filter(|b| !b.required).map(|_| quote! { body: None, });
    let output_hint = matches!(op.response, Response::Output | Response::Hijack).then(|| quote! { tty: None, });
    let docs = operation_docs(op);
    quote! {
        #docs
        pub fn #method(&self, #(#arguments),*) -> #builder {
            #builder {
                client: self.client.clone(),
                #(#conversions)*
                #(#optional_fields)*
                #optional_body
                #output_hint
            }
        }
    }
}

fn operation_docs(op: &Operation) -> TokenStream {
    let mut text = String::new();
    if let Some(summary) = &op.summary {
        text.push_str(summary.trim());
        text.push_str("\n\n");
    }
    if let Some(description) = &op.description {
        text.push_str(description.trim());
        text.push_str("\n\n");
    }
    if op.follows_location {
        text.push_str(
            "Sent to `location`, the `Location` header of the answer before, exactly as the server wrote it.\n\n",
        );
    }
    text.push_str(&format!("`{} {}` (`{}`)", op.method, op.path, op.id));
    let docs = doc_attrs(Some(&text));
    let deprecated = op
        .deprecated
        .then(|| quote! { #[deprecated(note = "deprecated by the API")] });
    quote! { #docs #deprecated }
}

fn parameter_names(op: &Operation) -> Vec<String> {
    field_names(op.parameters.iter().map(|p| p.wire_name.as_str()))
}

/// The type a setter or argument takes, and the conversion into the stored value.
fn setter_type(op: &Operation, value: &ParameterValue) -> (TokenStream, TokenStream) {
    match value {
        ParameterValue::Scalar(TypeRef::String) => (quote! { impl Into<String> }, quote! { Into::into }),
        ParameterValue::Scalar(ty) | ParameterValue::Json(ty) => (rust_type(ty), quote! {}),
        ParameterValue::List { item, .. } => {
            let item = rust_type(item);
            (quote! { impl IntoIterator<Item = #item> }, quote! { Vec::from_iter })
        }
        ParameterValue::Filters(_) => {
            let ty = filters_type(op);
            (quote! { impl Into<crate::filters::#ty> }, quote! { Into::into })
        }
        ParameterValue::RegistryAuth => (quote! { RegistryAuth }, quote! {}),
        ParameterValue::RegistryConfig => (quote! { RegistryConfig }, quote! {}),
    }
}

/// `value` passed through `conversion`, or as it is when there is none.
fn converted(conversion: TokenStream, value: TokenStream) -> TokenStream {
    if conversion.is_empty() {
        value
    } else {
        quote! { #conversion(#value) }
    }
}

fn stored_type(op: &Operation, value: &ParameterValue) -> TokenStream {
    match value {
        ParameterValue::Scalar(ty) | ParameterValue::Json(ty) => rust_type(ty),
        ParameterValue::List { item, .. } => {
            let item = rust_type(item);
            quote! { Vec<#item> }
        }
        ParameterValue::Filters(_) => {
            let ty = filters_type(op);
            quote! { crate::filters::#ty }
        }
        ParameterValue::RegistryAuth => quote! { RegistryAuth },
        ParameterValue::RegistryConfig => quote! { RegistryConfig },
    }
}

fn body_type(kind: &BodyKind) -> TokenStream {
    match kind {
        BodyKind::Json(ty) => rust_type(ty),
        BodyKind::Binary { .. } => quote! { Body },
    }
}

/// A BuildKit build's `send_in_session`: the one call that opens the session, points the build
/// at it and returns the progress stream holding it.
fn session_send(op: &Operation, output: &TokenStream) -> TokenStream {
    let version = op
        .parameters
        .iter()
        .find(|parameter| parameter.wire_name == "version")
        .map(|parameter| stored_type(op, &parameter.value))
        .expect("lowering checked a session build has a version parameter");
    quote! {
        /// Builds with BuildKit through `session`, opened here: the context and Dockerfile come
        /// from its folder on demand (`remote=client-session`), and the build may ask it for
        /// secrets, ssh agents and registry credentials and send it outputs. The session ends
        /// when the returned stream ends or is dropped; its report says what it served.
        #[cfg(feature = "buildkit")]
        pub async fn send_in_session(
            self,
            session: docker_engine_runtime::buildkit::BuildSession,
        ) -> Result<docker_engine_runtime::buildkit::SessionBuild<#output>> {
            let running = session.start(&self.client).await?;
            let mut builder = self
                .version(#version::V2)
                .session(running.id())
                .remote(docker_engine_runtime::buildkit::REMOTE_CLIENT_SESSION);
            if let Some(outputs) = running.outputs() {
                builder = builder.outputs(outputs);
            }
            Ok(running.attach(builder.send().await?))
        }
    }
}

fn request_builder(op: &Operation) -> TokenStream {
    let builder = builder_type(op);
    let names = parameter_names(op);
    let id = &op.id;
    let method = ident(&op.method);

    let mut fields = Vec::new();
    let mut setters = Vec::new();
    let mut apply = Vec::new();
    if op.follows_location {
        fields.push(quote! { location: String, });
    }
    for (parameter, name) in op.parameters.iter().zip(&names) {
        if op.follows_location && parameter.location == Location::Path {
            continue;
        }
        let parts = parameter_parts(op, parameter, name);
        fields.push(parts.field);
        setters.extend(parts.setter);
        apply.extend(parts.apply);
    }

    let new_request = if op.follows_location {
        quote! { Request::at_location(Method::#method, &self.location, #id)? }
    } else {
        let path = path_expression(op, &names);
        quote! { Request::new(Method::#method, #path, #id) }
    };
    let body = op.body.as_ref().map(|body| {
        let (field, setter, apply) = body_parts(body);
        fields.push(field);
        (setter, apply)
    });
    let (body_setter, body_apply) = body.unzip();

    let tty_hint = matches!(op.response, Response::Output | Response::Hijack).then(|| {
        fields.push(quote! { tty: Option<bool>, });
        quote! {
            /// Whether the container (or exec) has a TTY, so that output is raw rather than
            /// multiplexed. Optional: unsaid, the daemon's Content-Type (API 1.42 on) or else
            /// the output's first bytes tell.
            pub fn tty(mut self, value: bool) -> Self { self.tty = Some(value); self }
        }
    });
    let answer = Answer::of(&op.response);
    let output = answer.output;
    let call = format_ident!("{}", answer.call);
    let finish = if answer.tty {
        quote! { self.client.#call(request, self.tty).await }
    } else {
        quote! { self.client.#call(request).await }
    };
    // The runtime's optional parts an answer kind needs, named by the crate's features of the same name.
    let needs_feature = matches!(op.response, Response::WebSocket).then(|| quote! { #[cfg(feature = "websocket")] });
    let mut doc = format!(" Request builder for `{id}`; send it with [`{builder}::send`].");
    // Without the feature the builder stays, so that the missing `send` is what a build names.
    let unsent = needs_feature.is_some().then(|| {
        doc = format!(" Request builder for `{id}`; send it with `send`, which needs the crate's `websocket` feature.");
        quote! { #[cfg_attr(not(feature = "websocket"), allow(dead_code))] }
    });
    let build = quote! {
        let mut request = #new_request;
        #(#apply)*
        #body_apply
    };
    let (headers_struct, sends) = match answer_headers(op) {
        Some((headers, with_headers)) => {
            let name = headers_type(op);
            let doc = format!(" Sends the request and decodes the response and its headers ([`{name}`]).");
            // `send` leaves the headers unread: decoding them cost a ping six allocations.
            let sends = quote! {
                /// Sends the request and decodes the response.
                pub async fn send(self) -> Result<#output> {
                    let (client, request) = self.into_request()?;
                    client.#call(request).await
                }

                #[doc = #doc]
                pub async fn send_with_headers(self) -> Result<(#output, #name)> {
                    let (client, request) = self.into_request()?;
                    client.#with_headers(request).await
                }

                /// The request, and the client to send it with.
                fn into_request(self) -> Result<(Client, Request)> {
                    #build
                    Ok((self.client, request))
                }
            };
            (Some(headers), sends)
        }
        None => (
            None,
            quote! {
                /// Sends the request and decodes the response.
                #needs_feature
                pub async fn send(self) -> Result<#output> {
                    #build
                    #finish
                }
            },
        ),
    };
    let session_send = op.session_build.then(|| session_send(op, &output));
    quote! {
        #headers_struct

        #[doc = #doc]
        #[derive(Debug)]
        #[must_use = "a request does nothing until it is sent"]
        #unsent
        pub struct #builder {
            client: Client,
            #(#fields)*
        }

        impl #builder {
            #(#setters)*
            #body_setter
            #tty_hint

            #sends
            #session_send
        }

        #needs_feature
        docker_engine_runtime::send_on_await!(#builder => #output);
    }
}

/// What one parameter adds to its builder: a field, a setter when it is optional, and the
/// statement that puts it in the request (none for a path parameter, which the path carries).
struct ParameterParts {
    field: TokenStream,
    setter: Option<TokenStream>,
    apply: Option<TokenStream>,
}

fn parameter_parts(op: &Operation, parameter: &Parameter, name: &str) -> ParameterParts {
    let field = ident(name);
    let stored = stored_type(op, &parameter.value);
    let docs = match (&parameter.doc, &parameter.default) {
        (doc, Some(default)) => {
            let assumed = format!("Unset, the daemon assumes `{default}`.");
            match doc.as_deref().map(str::trim_end).filter(|doc| !doc.is_empty()) {
                Some(doc) => doc_attrs(Some(&format!("{doc}\n\n{assumed}"))),
                None => doc_attrs(Some(&assumed)),
            }
        }
        (doc, None) => doc_attrs(doc.as_deref()),
    };
    let wire = &parameter.wire_name;
    let argument = is_argument(parameter);
    let (declared, setter) = if argument {
        (quote! { #field: #stored, }, None)
    } else {
        let (ty, convert) = setter_type(op, &parameter.value);
        let value = converted(convert, quote! { value });
        let setter = quote! {
            #docs
            pub fn #field(mut self, value: #ty) -> Self {
                self.#field = Some(#value);
                self
            }
        };
        (quote! { #field: Option<#stored>, }, Some(setter))
    };
    let value = if argument {
        quote! { &self.#field }
    } else {
        quote! { value }
    };
    let add = match (&parameter.location, &parameter.value) {
        (Location::Path, _) => None,
        (Location::Query, ParameterValue::List { repeated, .. }) => {
            Some(quote! { request = request.query_list(#wire, #value, #repeated); })
        }
        (Location::Query, ParameterValue::Json(_) | ParameterValue::Filters(_)) => {
            Some(quote! { request = request.query_json(#wire, #value)?; })
        }
        (Location::Query, _) => Some(quote! { request = request.query(#wire, #value); }),
        (Location::Header, ParameterValue::RegistryAuth) => Some(quote! { request = request.registry_auth(#value)?; }),
        (Location::Header, ParameterValue::RegistryConfig) => {
            Some(quote! { request = request.registry_config(#value)?; })
        }
        (Location::Header, ParameterValue::Json(_)) => Some(quote! { request = request.header_json(#wire, #value)?; }),
        (Location::Header, _) => Some(quote! { request = request.header(#wire, #value)?; }),
    };
    let apply = add.map(|add| {
        if argument {
            add
        } else {
            quote! { if let Some(value) = &self.#field { #add } }
        }
    });
    ParameterParts {
        field: declared,
        setter,
        apply,
    }
}

/// What a request body adds to its builder: the field, a setter when the body is optional
/// (nothing when it is an argument), and the statements that put it in the request.
fn body_parts(body: &Body) -> (TokenStream, TokenStream, TokenStream) {
    let ty = body_type(&body.kind);
    let docs = doc_attrs(body.doc.as_deref());
    let send = |value: TokenStream| match &body.kind {
        BodyKind::Json(_) => quote! { request = request.json_body(&#value)?; },
        BodyKind::Binary { content_type } => quote! { request = request.body(#value, #content_type); },
    };
    if body.required {
        return (quote! { body: #ty, }, quote! {}, send(quote! { self.body }));
    }
    let setter = quote! {
        #docs
        pub fn body(mut self, value: #ty) -> Self { self.body = Some(value); self }
    };
    let apply = if body.default_when_unset {
        send(quote! { self.body.unwrap_or_default() })
    } else {
        let send = send(quote! { body });
        quote! { if let Some(body) = self.body { #send } }
    };
    (quote! { body: Option<#ty>, }, setter, apply)
}

/// For an operation whose success answers declare headers, and whose answer kind can be read
/// with them: the struct holding those headers, and the client call that reads both.
fn answer_headers(op: &Operation) -> Option<(TokenStream, Ident)> {
    let with_headers = Answer::of(&op.response).with_headers?;
    let mut declared: Vec<&ResponseHeader> = Vec::new();
    for header in &op.response_headers {
        let success = header.status.starts_with('2');
        if success && !declared.iter().any(|seen| seen.name.eq_ignore_ascii_case(&header.name)) {
            declared.push(header);
        }
    }
    if declared.is_empty() {
        return None;
    }
    let names = field_names(declared.iter().map(|header| header.name.as_str()));
    let fields = declared.iter().zip(&names).map(|(header, name)| {
        let name = ident(name);
        let ty = match &header.ty {
            TypeRef::Any => quote! { String },
            ty => rust_type(ty),
        };
        let doc = format!(" `{}`", header.name);
        quote! { #[doc = #doc] pub #name: Option<#ty>, }
    });
    let reads = declared.iter().zip(&names).map(|(header, name)| {
        let name = ident(name);
        let wire = header.name.to_ascii_lowercase();
        quote! { #name: docker_engine_runtime::header_value(operation, headers, #wire)?, }
    });
    let type_name = headers_type(op);
    let doc = format!(
        " The headers of a `{}` answer, each absent when the server sent none.",
        op.id
    );
    let tokens = quote! {
        #[doc = #doc]
        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct #type_name { #(#fields)* }

        impl docker_engine_runtime::FromHeaders for #type_name {
            fn from_headers(operation: &'static str, headers: &docker_engine_runtime::HeaderMap) -> Result<Self> {
                Ok(#type_name { #(#reads)* })
            }
        }
    };
    Some((tokens, format_ident!("{with_headers}")))
}

/// The expression building the request path from percent-encoded, non-empty path parameters.
fn path_expression(op: &Operation, names: &[String]) -> TokenStream {
    let mut pieces = Vec::new();
    let mut rest = op.path.as_str();
    while let Some(open) = rest.find('{') {
        let literal = &rest[..open];
        if !literal.is_empty() {
            pieces.push(quote! { #literal });
        }
        let close = rest[open..].find('}').expect("templates are validated at load") + open;
        let wire = &rest[open + 1..close];
        let index = op
            .parameters
            .iter()
            .position(|p| p.location == Location::Path && p.wire_name == wire);
        let parameter = &op.parameters[index.expect("path parameters are validated at load")];
        let field = ident(&names[index.expect("checked above")]);
        let text = match parameter.value {
            ParameterValue::Scalar(TypeRef::String) => quote! { &self.#field },
            _ => quote! { &self.#field.to_string() },
        };
        let operation = op.id.as_str();
        let encode = if parameter.multi_segment {
            quote! { path_segments }
        } else {
            quote! { path_segment }
        };
        pieces.push(quote! { &docker_engine_runtime::#encode(#operation, #wire, #text)? });
        rest = &rest[close + 1..];
    }
    if pieces.is_empty() {
        let path = rest;
        return quote! { #path.to_owned() };
    }
    if !rest.is_empty() {
        pieces.push(quote! { #rest });
    }
    quote! { [#(#pieces),*].concat() }
}

/// How the client reads an answer of one kind: the type `send` returns, the client call that
/// reads it, whether that call takes the TTY hint, and the call that reads the answer's headers
/// with it, for the kinds that can.
struct Answer {
    output: TokenStream,
    call: &'static str,
    tty: bool,
    with_headers: Option<&'static str>,
}

impl Answer {
    fn of(response: &Response) -> Answer {
        let answer = |output, call, with_headers| Answer {
            output,
            call,
            tty: false,
            with_headers,
        };
        match response {
            Response::Empty => answer(quote! { () }, "send_empty", Some("send_empty_with_headers")),
            Response::Outcome => answer(quote! { docker_engine_runtime::Outcome }, "send_outcome", None),
            Response::Json(ty) => answer(rust_type(ty), "send_json", Some("send_json_with_headers")),
            Response::Text => answer(quote! { String }, "send_text", Some("send_text_with_headers")),
            Response::Bytes => answer(
                quote! { docker_engine_runtime::ByteStream },
                "send_bytes",
                Some("send_bytes_with_headers"),
            ),
            Response::JsonStream(item) => {
                let item = rust_type(item);
                answer(
                    quote! { docker_engine_runtime::JsonStream<#item> },
                    "send_json_stream",
                    None,
                )
            }
            Response::Output => Answer {
                tty: true,
                ..answer(quote! { docker_engine_runtime::OutputStream }, "send_output", None)
            },
            Response::Hijack => Answer {
                tty: true,
                ..answer(quote! { docker_engine_runtime::Session }, "hijack", None)
            },
            Response::WebSocket => answer(quote! { docker_engine_runtime::Session }, "websocket", None),
            Response::PathStat => answer(quote! { docker_engine_runtime::PathStat }, "send_path_stat", None),
        }
    }
}
