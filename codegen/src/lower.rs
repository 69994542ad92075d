//! Lowering: from the converted `openapiv3` document (plus operation overrides) to the IR.
//!
//! Naming is decided here because it must be unique and stable: definitions keep their names,
//! an inline type takes its `title` or else its parent's name followed by the field's, so the
//! same schema gets the same name in every version.

use std::collections::{HashMap, HashSet};

use heck::ToUpperCamelCase;
use indexmap::IndexMap;
use openapiv3 as oa;
use serde_json::Value;

use crate::filter_prose;
use crate::ir::*;
use crate::overrides::{ApiVersion, FilterOverride, OperationOverride, ResponseOverride};
use crate::spec::SpecError;
use crate::ApiFamily;

const JSON: &str = "application/json";

/// The override file's entries for one version that the lowering applies.
#[derive(Default)]
pub struct Corrections<'a> {
    pub operations: Vec<&'a OperationOverride>,
    pub filters: Vec<&'a FilterOverride>,
}

pub fn lower(
    api: &oa::OpenAPI,
    family: ApiFamily,
    version: ApiVersion,
    corrections: &Corrections<'_>,
    file: &std::path::Path,
) -> Result<Api, SpecError> {
    let overrides = &corrections.operations;
    let schemas = api.components.as_ref().map(|c| c.schemas.clone()).unwrap_or_default();
    let mut lowering = Lowering {
        schemas: &schemas,
        types: IndexMap::new(),
        taken: schemas.keys().map(|name| name.to_upper_camel_case()).collect(),
        in_progress: HashSet::new(),
    };
    for name in schemas.keys() {
        lowering.definition(name);
    }

    let mut by_operation: HashMap<&str, &OperationOverride> = HashMap::new();
    for entry in overrides {
        if by_operation.insert(entry.operation.as_str(), entry).is_some() {
            return Err(SpecError {
                file: file.to_owned(),
                pointer: String::new(),
                problem: format!(
                    "two override entries claim operation {} for {version}; merge them or split their versions",
                    entry.operation
                ),
            });
        }
    }
    let mut operations = Vec::new();
    for (path, item) in &api.paths.paths {
        let oa::ReferenceOr::Item(item) = item else { continue };
        for (method, operation) in item.iter() {
            let id = operation.operation_id.clone().unwrap_or_default();
            let entry = by_operation.remove(id.as_str());
            let pointer = format!("/paths/{}/{method}", path.replace('/', "~1"));
            let filter_entries: Vec<&FilterOverride> = corrections
                .filters
                .iter()
                .copied()
                .filter(|f| f.operation == id)
                .collect();
            let lowered = lowering
                .operation(path, method, operation, entry, &filter_entries)
                .map_err(|problem| SpecError {
                    file: file.to_owned(),
                    pointer,
                    problem,
                })?;
            operations.push(lowered);
        }
    }
    if let Some(stale) = by_operation.keys().next() {
        return Err(SpecError {
            file: file.to_owned(),
            pointer: String::new(),
            problem: format!("override for operation {stale} claims {version}, which has no such operation"),
        });
    }
    let filtered: HashSet<&str> = operations
        .iter()
        .filter(|op| {
            op.parameters
                .iter()
                .any(|p| matches!(p.value, ParameterValue::Filters(_)))
        })
        .map(|op| op.id.as_str())
        .collect();
    if let Some(stale) = corrections
        .filters
        .iter()
        .find(|f| !filtered.contains(f.operation.as_str()))
    {
        return Err(SpecError {
            file: file.to_owned(),
            pointer: String::new(),
            problem: format!(
                "filter override for {} claims {version}, where that operation takes no filters",
                stale.operation
            ),
        });
    }

    let mut types: Vec<TypeDef> = lowering.types.into_values().collect();
    types.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Api {
        family,
        version,
        title: api.info.title.clone(),
        description: api.info.description.clone(),
        types,
        operations,
    })
}

/// The keys a `filters` description lists, with the override file's corrections applied; an
/// entry that changes nothing or finds nothing to change is an error, so that it is removed
/// once the spec says it right.
fn corrected_filters(mut keys: Vec<FilterKey>, entries: &[&FilterOverride]) -> Result<Vec<FilterKey>, String> {
    for entry in entries {
        let stale = |problem: &str| {
            format!(
                "filter override for `{}` of {} ({}): {problem}",
                entry.key, entry.operation, entry.versions
            )
        };
        let at = keys.iter().position(|key| key.name == entry.key);
        match at {
            Some(at) if entry.remove => {
                if entry.value.is_some() || entry.doc.is_some() {
                    return Err(stale("`remove` takes neither `value` nor `doc`"));
                }
                keys.remove(at);
            }
            Some(at) => {
                let key = &mut keys[at];
                let same_value = entry.value.as_ref().is_some_and(|value| *value == key.value);
                let same_doc = entry.doc.as_ref().is_some_and(|doc| *doc == key.doc);
                if same_value || same_doc || (entry.value.is_none() && entry.doc.is_none()) {
                    return Err(stale("changes nothing that the spec does not already say"));
                }
                if let Some(value) = &entry.value {
                    key.value = value.clone();
                }
                if let Some(doc) = &entry.doc {
                    key.doc = doc.clone();
                }
            }
            None => {
                let (Some(value), Some(doc), false) = (&entry.value, &entry.doc, entry.remove) else {
                    return Err(stale("the spec lists no such key; adding one needs `value` and `doc`"));
                };
                keys.push(FilterKey {
                    name: entry.key.clone(),
                    doc: doc.clone(),
                    value: value.clone(),
                    deprecated: false,
                });
            }
        }
    }
    Ok(keys)
}

struct Lowering<'a> {
    schemas: &'a IndexMap<String, oa::ReferenceOr<oa::Schema>>,
    types: IndexMap<String, TypeDef>,
    /// Every Rust type name in use or reserved for a definition.
    taken: HashSet<String>,
    in_progress: HashSet<String>,
}

impl Lowering<'_> {
    /// Lowers the definition `name` once, returning its Rust name.
    fn definition(&mut self, name: &str) -> String {
        let rust_name = name.to_upper_camel_case();
        if self.types.contains_key(&rust_name) || !self.in_progress.insert(rust_name.clone()) {
            return rust_name;
        }
        let schema = &self.schemas[name];
        let typedef = match schema {
            oa::ReferenceOr::Reference { reference } => {
                let target = self.reference(reference);
                TypeDef {
                    name: rust_name.clone(),
                    doc: None,
                    kind: TypeKind::Alias(target),
                    bases: Vec::new(),
                    example: None,
                }
            }
            oa::ReferenceOr::Item(schema) => {
                let kind = self.kind_of(schema, &rust_name);
                TypeDef {
                    name: rust_name.clone(),
                    doc: describe(schema),
                    kind,
                    bases: bases(schema),
                    example: schema.schema_data.example.clone(),
                }
            }
        };
        self.in_progress.remove(&rust_name);
        self.types.insert(rust_name.clone(), typedef);
        rust_name
    }

    fn reference(&mut self, reference: &str) -> TypeRef {
        let name = reference.trim_start_matches("#/components/schemas/");
        TypeRef::Named(self.definition(name))
    }

    /// What a schema that gets a name of its own becomes.
    fn kind_of(&mut self, schema: &oa::Schema, name: &str) -> TypeKind {
        if let Some(values) = string_enum(schema) {
            return TypeKind::Enum(values);
        }
        if let Some(parts) = all_of_parts(schema) {
            let mut fields = self.merged_fields(parts, name);
            if let Some(properties) = object_fields(schema) {
                fields.extend(self.fields(properties, name));
            }
            return TypeKind::Struct(fields);
        }
        match object_fields(schema) {
            Some(properties) => TypeKind::Struct(self.fields(properties, name)),
            None => TypeKind::Alias(self.inline(schema, name)),
        }
    }

    fn fields(&mut self, properties: ObjectFields<'_>, parent: &str) -> Vec<Field> {
        let (properties, required) = properties;
        properties
            .iter()
            .map(|(wire_name, property)| {
                let hint = format!("{parent}{}", wire_name.to_upper_camel_case());
                let (ty, doc, deprecated, nullable, example, aliases) = match property {
                    oa::ReferenceOr::Reference { reference } => {
                        (self.reference(reference), None, false, false, None, Vec::new())
                    }
                    oa::ReferenceOr::Item(schema) => (
                        self.inline(schema, &hint),
                        describe(schema),
                        schema.schema_data.deprecated,
                        schema.schema_data.nullable,
                        schema.schema_data.example.clone(),
                        aliases(schema),
                    ),
                };
                Field {
                    wire_name: wire_name.clone(),
                    doc,
                    ty,
                    required: required.contains(wire_name),
                    deprecated,
                    nullable,
                    example,
                    aliases,
                }
            })
            .collect()
    }

    /// `allOf`: the fields of every part, later parts overriding earlier ones of the same name.
    fn merged_fields(&mut self, parts: &[oa::ReferenceOr<oa::Schema>], name: &str) -> Vec<Field> {
        let mut merged: IndexMap<String, Field> = IndexMap::new();
        for part in parts {
            let fields = match part {
                oa::ReferenceOr::Reference { reference } => {
                    let TypeRef::Named(target) = self.reference(reference) else {
                        unreachable!()
                    };
                    match self.types.get(&target).map(|t| &t.kind) {
                        Some(TypeKind::Struct(fields)) => fields.clone(),
                        _ => Vec::new(),
                    }
                }
                oa::ReferenceOr::Item(schema) => match self.kind_of(schema, name) {
                    TypeKind::Struct(fields) => fields,
                    _ => Vec::new(),
                },
            };
            for field in fields {
                merged.insert(field.wire_name.clone(), field);
            }
        }
        merged.into_values().collect()
    }

    fn schema_or_ref(&mut self, schema: &oa::ReferenceOr<oa::Schema>, hint: &str) -> TypeRef {
        match schema {
            oa::ReferenceOr::Reference { reference } => self.reference(reference),
            oa::ReferenceOr::Item(schema) => self.inline(schema, hint),
        }
    }

    fn boxed_schema_or_ref(&mut self, schema: &oa::ReferenceOr<Box<oa::Schema>>, hint: &str) -> TypeRef {
        match schema {
            oa::ReferenceOr::Reference { reference } => self.reference(reference),
            oa::ReferenceOr::Item(schema) => self.inline(schema, hint),
        }
    }

    /// The type of an inline schema; objects and enumerations become named types.
    fn inline(&mut self, schema: &oa::Schema, hint: &str) -> TypeRef {
        if let Some([only]) = all_of_parts(schema).map(Vec::as_slice) {
            if object_fields(schema).is_none() {
                return self.schema_or_ref(only, hint);
            }
        }
        if string_enum(schema).is_some() || object_fields(schema).is_some() || all_of_parts(schema).is_some() {
            return self.named_inline(schema, hint);
        }
        match &schema.schema_kind {
            oa::SchemaKind::Type(oa::Type::String(s)) => match &s.format {
                oa::VariantOrUnknownOrEmpty::Item(oa::StringFormat::Binary) => TypeRef::Binary,
                _ => TypeRef::String,
            },
            oa::SchemaKind::Type(oa::Type::Integer(i)) => TypeRef::Integer(integer_format(&i.format)),
            oa::SchemaKind::Type(oa::Type::Number(_)) => TypeRef::Number,
            oa::SchemaKind::Type(oa::Type::Boolean(_)) => TypeRef::Bool,
            oa::SchemaKind::Type(oa::Type::Array(a)) => match &a.items {
                Some(items) => {
                    let item = self.boxed_schema_or_ref(items, hint);
                    TypeRef::Array(Box::new(nullable_if(is_nullable(items.as_item().map(|s| &**s)), item)))
                }
                None => TypeRef::Array(Box::new(TypeRef::Any)),
            },
            oa::SchemaKind::Type(oa::Type::Object(o)) => match &o.additional_properties {
                Some(oa::AdditionalProperties::Schema(value)) => {
                    let item = self.schema_or_ref(value, &format!("{hint}Value"));
                    TypeRef::Map(Box::new(nullable_if(is_nullable(value.as_item()), item)))
                }
                _ => TypeRef::Any,
            },
            oa::SchemaKind::Any(any) => match (any.typ.as_deref(), &any.items) {
                (Some("array"), Some(items)) => TypeRef::Array(Box::new(self.boxed_schema_or_ref(items, hint))),
                (Some("string"), _) => TypeRef::String,
                (Some("integer"), _) => TypeRef::Integer(integer_format_name(any.format.as_deref())),
                (Some("boolean"), _) => TypeRef::Bool,
                _ => TypeRef::Any,
            },
            _ => TypeRef::Any,
        }
    }

    fn named_inline(&mut self, schema: &oa::Schema, hint: &str) -> TypeRef {
        let desired = schema
            .schema_data
            .title
            .as_deref()
            .map(|t| t.to_upper_camel_case())
            .unwrap_or(hint.to_owned());
        let mut name = desired.clone();
        let mut suffix = 2;
        while !self.taken.insert(name.clone()) {
            name = format!("{desired}{suffix}");
            suffix += 1;
        }
        let kind = self.kind_of(schema, &name);
        self.types.insert(
            name.clone(),
            TypeDef {
                name: name.clone(),
                doc: describe(schema),
                kind,
                bases: bases(schema),
                example: schema.schema_data.example.clone(),
            },
        );
        TypeRef::Named(name)
    }

    fn operation(
        &mut self,
        path: &str,
        method: &str,
        operation: &oa::Operation,
        entry: Option<&OperationOverride>,
        filter_entries: &[&FilterOverride],
    ) -> Result<Operation, String> {
        let id = operation.operation_id.clone().unwrap_or_default();
        let mut json_query: IndexMap<String, Value> = entry.map(|e| e.json_query.clone()).unwrap_or_default();
        let mut parameters = Vec::new();
        for parameter in &operation.parameters {
            let oa::ReferenceOr::Item(parameter) = parameter else {
                return Err("parameter references are not supported".into());
            };
            let (data, location) = match parameter {
                oa::Parameter::Query { parameter_data, .. } => (parameter_data, Location::Query),
                oa::Parameter::Path { parameter_data, .. } => (parameter_data, Location::Path),
                oa::Parameter::Header { parameter_data, .. } => (parameter_data, Location::Header),
                oa::Parameter::Cookie { .. } => return Err("cookie parameters are not supported".into()),
            };
            let oa::ParameterSchemaOrContent::Schema(schema) = &data.format else {
                return Err(format!("parameter {} has no schema", data.name));
            };
            let hint = format!("{id}{}", data.name.to_upper_camel_case());
            let value = if let Some(json) = json_query.shift_remove(&data.name) {
                let schema: oa::ReferenceOr<oa::Schema> = serde_json::from_value(json)
                    .map_err(|e| format!("override schema for {id} parameter {}: {e}", data.name))?;
                ParameterValue::Json(self.schema_or_ref(&schema, &hint))
            } else if location == Location::Query && data.name == "filters" {
                let listed = filter_prose::read(data.description.as_deref().unwrap_or_default())
                    .map_err(|problem| format!("filters of {id}: {problem}"))?;
                ParameterValue::Filters(corrected_filters(listed, filter_entries)?)
            } else if location == Location::Header && data.name.eq_ignore_ascii_case("X-Registry-Auth") {
                ParameterValue::RegistryAuth
            } else if location == Location::Header && data.name.eq_ignore_ascii_case("X-Registry-Config") {
                ParameterValue::RegistryConfig
            } else {
                match self.schema_or_ref(schema, &hint) {
                    TypeRef::Array(item) => ParameterValue::List {
                        item: *item,
                        repeated: data.explode == Some(true),
                    },
                    scalar => ParameterValue::Scalar(scalar),
                }
            };
            parameters.push(Parameter {
                wire_name: data.name.clone(),
                location,
                required: data.required || location == Location::Path,
                doc: data.description.clone(),
                value,
                default: schema
                    .as_item()
                    .and_then(|schema| schema.schema_data.default.as_ref())
                    .map(|default| default.to_string()),
                nullable: is_nullable(schema.as_item()),
                multi_segment: schema.as_item().is_some_and(|schema| {
                    schema.schema_data.extensions.get("x-multi-segment") == Some(&Value::Bool(true))
                }),
            });
        }
        if let Some(unknown) = json_query.keys().next() {
            return Err(format!(
                "override names parameter {unknown:?} of {id}, which has no such parameter"
            ));
        }

        let mut body = match &operation.request_body {
            Some(oa::ReferenceOr::Item(body)) => Some(self.body(&id, body)),
            Some(_) => return Err("request body references are not supported".into()),
            None => None,
        };
        if entry.is_some_and(|e| e.default_body) {
            match &mut body {
                Some(body) if !body.required && matches!(body.kind, BodyKind::Json(_)) => {
                    body.default_when_unset = true
                }
                _ => {
                    return Err(format!(
                        "the override gives {id} a default body, but it has no optional JSON body"
                    ))
                }
            }
        }
        let session_build = entry.is_some_and(|e| e.session_build);
        if session_build {
            for needed in ["session", "remote", "version", "outputs"] {
                if !parameters.iter().any(|parameter| parameter.wire_name == needed) {
                    return Err(format!(
                        "the override makes {id} a session build, but it has no {needed:?} parameter"
                    ));
                }
            }
        }
        let response = match entry.and_then(|e| e.response.clone()) {
            Some(forced) => {
                // What the spec alone gives, without keeping the types that working it out names.
                let before = (self.types.clone(), self.taken.clone());
                let unforced = self.response(&id, operation, None);
                (self.types, self.taken) = before;
                let response = self.response(&id, operation, Some(forced))?;
                if unforced.as_ref() == Ok(&response) {
                    return Err(format!(
                        "the override of {id}'s response changes nothing in this version; close its version range"
                    ));
                }
                response
            }
            None => self.response(&id, operation, None)?,
        };
        Ok(Operation {
            id,
            group: operation.tags.first().cloned().unwrap_or_else(|| "Misc".into()),
            method: method.to_uppercase(),
            path: path.to_owned(),
            summary: operation.summary.clone(),
            description: operation.description.clone(),
            deprecated: operation.deprecated,
            produces: success_response(operation)
                .map(|response| response.content.keys().cloned().collect())
                .unwrap_or_default(),
            consumes: body
                .as_ref()
                .and(operation.request_body.as_ref())
                .and_then(|body| body.as_item())
                .map(|body| body.content.keys().cloned().collect())
                .unwrap_or_default(),
            response_headers: response_headers(&operation.responses),
            follows_location: operation.extensions.get("x-follows-location") == Some(&Value::Bool(true)),
            session_build,
            parameters,
            body,
            response,
        })
    }

    fn body(&mut self, id: &str, body: &oa::RequestBody) -> Body {
        let schema = body.content.values().find_map(|m| m.schema.as_ref());
        let is_json = body.content.contains_key(JSON);
        let ty = match schema {
            Some(schema) if is_json => Some(self.schema_or_ref(schema, &format!("{id}Body"))),
            _ => None,
        };
        let kind = match ty {
            Some(TypeRef::Binary | TypeRef::String) | None => {
                let content_type = body
                    .content
                    .keys()
                    .find(|m| m.as_str() != "text/plain" && m.as_str() != JSON)
                    .cloned()
                    .unwrap_or_else(|| "application/octet-stream".into());
                BodyKind::Binary { content_type }
            }
            Some(ty) => BodyKind::Json(ty),
        };
        Body {
            required: body.required,
            default_when_unset: false,
            doc: body.description.clone(),
            kind,
        }
    }

    fn response(
        &mut self,
        id: &str,
        operation: &oa::Operation,
        forced: Option<ResponseOverride>,
    ) -> Result<Response, String> {
        let success = success_response(operation);
        let switches_protocols = operation.responses.responses.contains_key(&oa::StatusCode::Code(101));
        match (switches_protocols, &forced) {
            (_, Some(ResponseOverride::WebSocket)) => return Ok(Response::WebSocket),
            (true, None) => return Ok(Response::Hijack),
            _ => {}
        }
        let Some(success) = success else {
            return Err(format!("{id} declares no success response"));
        };
        let schema = success.content.values().find_map(|m| m.schema.as_ref());
        let hint = format!("{id}Response");
        match forced {
            Some(ResponseOverride::Hijack) => return Ok(Response::Hijack),
            Some(ResponseOverride::Output) => return Ok(Response::Output),
            Some(ResponseOverride::PathStat) => return Ok(Response::PathStat),
            Some(ResponseOverride::WebSocket) => return Ok(Response::WebSocket),
            Some(ResponseOverride::JsonStream { item: Some(item) }) => {
                if !self.schemas.contains_key(&item) {
                    return Err(format!(
                        "override names stream item {item:?}, which this version does not define"
                    ));
                }
                return Ok(Response::JsonStream(TypeRef::Named(self.definition(&item))));
            }
            Some(ResponseOverride::JsonStream { item: None }) => {
                let item = schema.map(|s| self.schema_or_ref(s, &hint)).unwrap_or(TypeRef::Any);
                return Ok(Response::JsonStream(item));
            }
            None => {}
        }
        let media: Vec<&str> = success.content.keys().map(String::as_str).collect();
        let streams_output = media
            .iter()
            .any(|m| *m == "application/vnd.docker.raw-stream" || *m == "application/vnd.docker.multiplexed-stream");
        if streams_output {
            return Ok(Response::Output);
        }
        if media
            .iter()
            .any(|m| *m == "application/x-tar" || *m == "application/octet-stream")
        {
            return Ok(Response::Bytes);
        }
        let not_modified = operation.responses.responses.contains_key(&oa::StatusCode::Code(304));
        Ok(match schema {
            None if not_modified => Response::Outcome,
            None => Response::Empty,
            Some(schema) => match self.schema_or_ref(schema, &hint) {
                TypeRef::Binary => Response::Bytes,
                TypeRef::String if !media.contains(&JSON) => Response::Text,
                ty => {
                    if let Some(example) = success.content.values().find_map(|m| m.example.as_ref()) {
                        self.adopt_answer_example(&ty, example);
                    }
                    Response::Json(ty)
                }
            },
        })
    }

    /// Gives the answered type an operation's example answer as its own, unless it has one: a
    /// single value, or the first of a list.
    fn adopt_answer_example(&mut self, answered: &TypeRef, example: &Value) {
        let (name, value) = match (answered, example) {
            (TypeRef::Named(name), value) => (name, value),
            (TypeRef::Array(item), Value::Array(values)) => match (&**item, values.first()) {
                (TypeRef::Named(name), Some(value)) => (name, value),
                _ => return,
            },
            _ => return,
        };
        if let Some(typedef) = self.types.get_mut(name) {
            if typedef.example.is_none() && matches!(typedef.kind, TypeKind::Struct(_)) {
                typedef.example = Some(value.clone());
            }
        }
    }
}

/// The first 2xx response the operation declares.
fn success_response(operation: &oa::Operation) -> Option<&oa::Response> {
    operation
        .responses
        .responses
        .iter()
        .find_map(|(status, response)| match (status, response) {
            (oa::StatusCode::Code(200..=299), oa::ReferenceOr::Item(response)) => Some(response),
            _ => None,
        })
}

fn response_headers(responses: &oa::Responses) -> Vec<ResponseHeader> {
    let by_status = responses
        .responses
        .iter()
        .map(|(status, response)| (status.to_string(), response))
        .chain(
            responses
                .default
                .iter()
                .map(|response| ("default".to_owned(), response)),
        );
    let mut headers = Vec::new();
    for (status, response) in by_status {
        let oa::ReferenceOr::Item(response) = response else {
            continue;
        };
        for (name, header) in &response.headers {
            let oa::ReferenceOr::Item(header) = header else {
                continue;
            };
            let oa::ParameterSchemaOrContent::Schema(oa::ReferenceOr::Item(schema)) = &header.format else {
                continue;
            };
            headers.push(ResponseHeader {
                status: status.clone(),
                name: name.clone(),
                ty: scalar_type(schema),
                values: string_enum(schema).unwrap_or_default(),
                default: schema.schema_data.default.as_ref().map(|default| default.to_string()),
            });
        }
    }
    headers
}

/// The type of a header's schema, which is a scalar: it names no type.
fn scalar_type(schema: &oa::Schema) -> TypeRef {
    match &schema.schema_kind {
        oa::SchemaKind::Type(oa::Type::String(_)) => TypeRef::String,
        oa::SchemaKind::Type(oa::Type::Integer(i)) => TypeRef::Integer(integer_format(&i.format)),
        oa::SchemaKind::Type(oa::Type::Number(_)) => TypeRef::Number,
        oa::SchemaKind::Type(oa::Type::Boolean(_)) => TypeRef::Bool,
        _ => TypeRef::Any,
    }
}

/// The Rust names of the definitions an `allOf` references.
fn bases(schema: &oa::Schema) -> Vec<String> {
    all_of_parts(schema)
        .into_iter()
        .flatten()
        .filter_map(|part| match part {
            oa::ReferenceOr::Reference { reference } => Some(reference),
            oa::ReferenceOr::Item(_) => None,
        })
        .map(|reference| {
            reference
                .trim_start_matches("#/components/schemas/")
                .to_upper_camel_case()
        })
        .collect()
}

type ObjectFields<'s> = (&'s IndexMap<String, oa::ReferenceOr<Box<oa::Schema>>>, &'s Vec<String>);

/// The properties of an object schema that has any.
fn object_fields(schema: &oa::Schema) -> Option<ObjectFields<'_>> {
    match &schema.schema_kind {
        oa::SchemaKind::Type(oa::Type::Object(o)) if !o.properties.is_empty() => Some((&o.properties, &o.required)),
        oa::SchemaKind::Any(any) if !any.properties.is_empty() => Some((&any.properties, &any.required)),
        _ => None,
    }
}

/// The parts of an `allOf`, whether or not the schema also says `type: object`.
fn all_of_parts(schema: &oa::Schema) -> Option<&Vec<oa::ReferenceOr<oa::Schema>>> {
    match &schema.schema_kind {
        oa::SchemaKind::AllOf { all_of } => Some(all_of),
        oa::SchemaKind::Any(any) if !any.all_of.is_empty() => Some(&any.all_of),
        _ => None,
    }
}

fn string_enum(schema: &oa::Schema) -> Option<Vec<String>> {
    match &schema.schema_kind {
        oa::SchemaKind::Type(oa::Type::String(s)) if !s.enumeration.is_empty() => {
            Some(s.enumeration.iter().flatten().cloned().collect())
        }
        _ => None,
    }
}

fn integer_format(format: &oa::VariantOrUnknownOrEmpty<oa::IntegerFormat>) -> IntegerFormat {
    match format {
        oa::VariantOrUnknownOrEmpty::Item(oa::IntegerFormat::Int32) => IntegerFormat::I32,
        oa::VariantOrUnknownOrEmpty::Item(oa::IntegerFormat::Int64) => IntegerFormat::I64,
        oa::VariantOrUnknownOrEmpty::Unknown(name) => integer_format_name(Some(name)),
        oa::VariantOrUnknownOrEmpty::Empty => IntegerFormat::I64,
    }
}

fn integer_format_name(format: Option<&str>) -> IntegerFormat {
    match format {
        Some("int32") => IntegerFormat::I32,
        Some("uint8") => IntegerFormat::U8,
        Some("uint16") => IntegerFormat::U16,
        Some("uint32") => IntegerFormat::U32,
        Some("uint64") => IntegerFormat::U64,
        _ => IntegerFormat::I64,
    }
}

fn is_nullable(schema: Option<&oa::Schema>) -> bool {
    schema.is_some_and(|s| s.schema_data.nullable)
}

fn nullable_if(nullable: bool, ty: TypeRef) -> TypeRef {
    if nullable {
        TypeRef::Nullable(Box::new(ty))
    } else {
        ty
    }
}

fn describe(schema: &oa::Schema) -> Option<String> {
    schema.schema_data.description.clone().filter(|d| !d.trim().is_empty())
}

/// The other keys a property is read from (`x-aliases: [" Parents"]`).
fn aliases(schema: &oa::Schema) -> Vec<String> {
    let listed = schema.schema_data.extensions.get("x-aliases").and_then(Value::as_array);
    listed
        .into_iter()
        .flatten()
        .filter_map(|alias| alias.as_str().map(str::to_owned))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(yaml: &str) -> FilterOverride {
        let common = "versions: \"1.41\"\nwhy: a test\nchecked_by: {untestable: a unit test}\noperation: ThingList\n";
        serde_yaml::from_str(&format!("{common}{yaml}")).unwrap()
    }

    fn listed() -> Vec<FilterKey> {
        filter_prose::read("- `status=(a|b)`\n- `label=key` or `label=key:value`\n").unwrap()
    }

    #[test]
    fn filter_corrections_apply_and_a_stale_one_is_refused() {
        let separator = entry("key: label\nvalue: {kind: label}");
        let removed = entry("key: status\nremove: true");
        let added = entry("key: owner\nvalue: {kind: integer}\ndoc: \"`owner=<uid>`\"");
        let keys = corrected_filters(listed(), &[&separator, &removed, &added]).unwrap();
        let read: Vec<_> = keys.iter().map(|key| (key.name.as_str(), key.value.clone())).collect();
        assert_eq!(
            read,
            [
                (
                    "label",
                    FilterValue::Label {
                        negatable: false,
                        separator: '='
                    }
                ),
                ("owner", FilterValue::Integer)
            ]
        );
        for (yaml, problem) in [
            ("key: status\nvalue: {kind: enum, values: [a, b]}", "changes nothing"),
            ("key: status\nremove: true\ndoc: gone", "`remove` takes neither"),
            (
                "key: owner\nvalue: {kind: integer}",
                "adding one needs `value` and `doc`",
            ),
            ("key: owner\nremove: true", "adding one needs"),
        ] {
            let stale = entry(yaml);
            let error = corrected_filters(listed(), &[&stale]).unwrap_err();
            assert!(error.contains(problem), "{yaml}: {error}");
            assert!(error.starts_with("filter override for `"), "{error}");
        }
    }
}
