//! The generator's intermediate model: what one API version offers, in the terms the Rust
//! emitter needs (named types, operations with classified parameters, bodies and responses) and
//! nothing of Swagger's or OpenAPI's encoding.

use crate::overrides::ApiVersion;
use crate::ApiFamily;

#[derive(Debug, Clone, PartialEq)]
pub struct Api {
    pub family: ApiFamily,
    pub version: ApiVersion,
    pub title: String,
    pub description: Option<String>,
    pub types: Vec<TypeDef>,
    pub operations: Vec<Operation>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TypeDef {
    /// The Rust type name, unique within the API.
    pub name: String,
    pub doc: Option<String>,
    pub kind: TypeKind,
    /// The definitions an `allOf` builds this type from (`HostConfig` from `Resources`); their
    /// fields are already merged into `kind`.
    pub bases: Vec<String>,
    /// A whole value the spec gives as an example: the definition's own `example`, or else the
    /// example answer of the first operation that answers this type (or a list of it).
    pub example: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TypeKind {
    Struct(Vec<Field>),
    /// A string enumeration; values outside the list are kept, never rejected.
    Enum(Vec<String>),
    Alias(TypeRef),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The name on the wire, exactly as the spec spells it.
    pub wire_name: String,
    pub doc: Option<String>,
    pub ty: TypeRef,
    pub required: bool,
    pub deprecated: bool,
    /// The spec allows `null` (`x-nullable: true`).
    pub nullable: bool,
    /// The property's `example`, as the spec writes it.
    pub example: Option<serde_json::Value>,
    /// Other keys a daemon sends the field under (`x-aliases`, set by the override file), read
    /// as the field and never written.
    pub aliases: Vec<String>,
}

impl Field {
    /// Whether the Rust field holds the value itself rather than an `Option`: the spec requires
    /// the field and does not allow `null`. A daemon that omits it anyway gives the type's
    /// default.
    pub fn plain(&self) -> bool {
        self.required && !self.nullable
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TypeRef {
    Bool,
    Integer(IntegerFormat),
    Number,
    String,
    /// Raw bytes (`format: binary`).
    Binary,
    /// Free-form JSON: the spec says nothing about the shape.
    Any,
    Array(Box<TypeRef>),
    Map(Box<TypeRef>),
    Named(String),
    /// A map value or list item the spec marks nullable.
    Nullable(Box<TypeRef>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IntegerFormat {
    I32,
    I64,
    U8,
    U16,
    U32,
    U64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    pub id: String,
    /// The spec's tag, e.g. `Container`.
    pub group: String,
    /// Upper-case HTTP method.
    pub method: String,
    /// Path template relative to the version prefix, e.g. `/containers/{id}/json`.
    pub path: String,
    pub summary: Option<String>,
    pub description: Option<String>,
    pub deprecated: bool,
    pub parameters: Vec<Parameter>,
    pub body: Option<Body>,
    pub response: Response,
    /// Media types of the success response, as the spec's `produces` lists them.
    pub produces: Vec<String>,
    /// Media types of the request body (`consumes`); empty without a body.
    pub consumes: Vec<String>,
    /// The headers every declared response documents.
    pub response_headers: Vec<ResponseHeader>,
    /// The path and query come from the `Location` header of an earlier answer
    /// (`x-follows-location`), as registry uploads must be continued.
    pub follows_location: bool,
    /// A BuildKit build that can take a session (the `session_build` override).
    pub session_build: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ResponseHeader {
    /// The response's status code, or `default`.
    pub status: String,
    pub name: String,
    pub ty: TypeRef,
    /// The values an enumerated header takes; empty when any value goes.
    pub values: Vec<String>,
    /// What an absent header means, as the spec writes it in JSON.
    pub default: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Parameter {
    pub wire_name: String,
    pub location: Location,
    pub required: bool,
    pub doc: Option<String>,
    pub value: ParameterValue,
    /// What the daemon assumes when the parameter is absent, as the spec writes it in JSON.
    pub default: Option<String>,
    /// The spec allows `null` (`x-nullable: true`).
    pub nullable: bool,
    /// A path parameter whose `/` are sent as they are (`x-multi-segment`): repository names.
    pub multi_segment: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    Path,
    Query,
    Header,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ParameterValue {
    /// A scalar sent as its text.
    Scalar(TypeRef),
    /// A list: repeated (`multi`) or comma-separated.
    List { item: TypeRef, repeated: bool },
    /// A string parameter whose content is JSON of this type.
    Json(TypeRef),
    /// The `filters` convention: a JSON map from filter name to values; the keys the spec's
    /// description lists (after the override file's corrections), each with its value's form.
    Filters(Vec<FilterKey>),
    /// `X-Registry-Auth`: a base64url JSON auth config.
    RegistryAuth,
    /// `X-Registry-Config`: a base64url JSON map of registry to auth config.
    RegistryConfig,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Body {
    pub required: bool,
    /// An optional body sent as its type's default value when the caller sets none.
    pub default_when_unset: bool,
    pub doc: Option<String>,
    pub kind: BodyKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum BodyKind {
    Json(TypeRef),
    /// A byte stream sent with this content type (tar archives, image tarballs).
    Binary {
        content_type: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Response {
    Empty,
    /// No body either way: 204 when the daemon did what was asked, 304 when the object already
    /// was so (a container already started, already stopped).
    Outcome,
    Json(TypeRef),
    Text,
    /// A byte stream (tar archives, exports).
    Bytes,
    /// One JSON object after another, each of this type.
    JsonStream(TypeRef),
    /// Container output: multiplexed frames or raw TTY bytes.
    Output,
    /// The connection is hijacked for a bidirectional session.
    Hijack,
    /// A bidirectional session over a WebSocket.
    WebSocket,
    /// The answer is a path stat header (archive HEAD).
    PathStat,
}

/// One key of a `filters` parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterKey {
    /// The key as the daemon reads it (`status`, `is-task`, `node.label`).
    pub name: String,
    /// The spec's line for this key, as written.
    pub doc: String,
    pub value: FilterValue,
    /// The spec calls the key deprecated.
    pub deprecated: bool,
}

/// What a filter key's values look like.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum FilterValue {
    /// Any text: a name, an ID, a reference.
    Text,
    /// One of the listed values; others are passed on as written (an open enumeration).
    Enum { values: Vec<String> },
    /// `true` or `false`.
    Bool,
    /// A whole number.
    Integer,
    /// A label: its key alone, or `key<separator>value`; `negatable` where the spec also offers
    /// `label!=` (objects without the label).
    Label {
        #[serde(default)]
        negatable: bool,
        #[serde(default = "label_separator")]
        separator: char,
    },
    /// A point in time: Unix seconds, a date, or a Go duration counted back from the daemon's
    /// clock.
    Timestamp,
    /// A Go duration only (`24h`).
    Duration,
    /// The key alone, with no value (`inuse`).
    Flag,
}

fn label_separator() -> char {
    '='
}
