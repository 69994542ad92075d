//! Swagger 2.0 front end: reads a Docker Engine API `swagger.yaml` and converts it into an
//! `openapiv3::OpenAPI` document, the model every later stage works on.
//!
//! The conversion is explicit rather than generic: body parameters become request bodies,
//! `produces`/`consumes` become media types, `#/definitions/` becomes `#/components/schemas/`,
//! `x-nullable` becomes `nullable` and `type: file` becomes a binary string. Anything the
//! conversion cannot represent is an error located by a JSON pointer into the source file.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use openapiv3 as oa;
use serde::Deserialize;
use serde_json::Value;

/// A problem in a spec file, located by the file and a JSON pointer into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    pub file: PathBuf,
    pub pointer: String,
    pub problem: String,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.pointer.is_empty() {
            write!(f, "{}: {}", self.file.display(), self.problem)
        } else {
            write!(f, "{} at {}: {}", self.file.display(), self.pointer, self.problem)
        }
    }
}

impl std::error::Error for SpecError {}

/// The envelope of a Swagger 2.0 document; schemas stay as JSON until they are converted so that
/// each failure can be located.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Swagger2 {
    swagger: String,
    info: oa::Info,
    #[serde(default)]
    base_path: Option<String>,
    #[serde(default)]
    produces: Vec<String>,
    #[serde(default)]
    consumes: Vec<String>,
    #[serde(default)]
    tags: Vec<oa::Tag>,
    #[serde(default)]
    definitions: IndexMap<String, Value>,
    #[serde(default)]
    paths: IndexMap<String, IndexMap<String, Value>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Operation2 {
    #[serde(default)]
    operation_id: Option<String>,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    produces: Option<Vec<String>>,
    #[serde(default)]
    consumes: Option<Vec<String>>,
    #[serde(default)]
    parameters: Vec<Value>,
    #[serde(default)]
    responses: IndexMap<String, Value>,
    #[serde(default)]
    deprecated: bool,
    /// Everything else, of which the `x-` extensions are kept.
    #[serde(flatten)]
    rest: IndexMap<String, Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Parameter2 {
    name: String,
    #[serde(rename = "in")]
    location: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    required: bool,
    #[serde(default)]
    schema: Option<Value>,
    #[serde(default)]
    collection_format: Option<String>,
    #[serde(flatten)]
    rest: serde_json::Map<String, Value>,
}

#[derive(Deserialize)]
struct Response2 {
    #[serde(default)]
    description: String,
    #[serde(default)]
    schema: Option<Value>,
    #[serde(default)]
    headers: IndexMap<String, Value>,
    /// Example answers by media type.
    #[serde(default)]
    examples: IndexMap<String, Value>,
}

const HTTP_METHODS: [&str; 7] = ["get", "put", "post", "delete", "options", "head", "patch"];
/// Keys of a non-body Swagger 2.0 parameter that describe its type; they form its schema.
const PARAMETER_SCHEMA_KEYS: [&str; 12] = [
    "type",
    "format",
    "items",
    "default",
    "enum",
    "minimum",
    "maximum",
    "pattern",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
];

/// Reads the spec at `path` as a JSON document, before any fix-up or conversion.
pub fn read(path: &Path) -> Result<Value, SpecError> {
    let text = std::fs::read_to_string(path).map_err(|e| SpecError {
        file: path.to_owned(),
        pointer: String::new(),
        problem: format!("cannot read: {e}"),
    })?;
    parse_yaml(path, &text)
}

/// Parses YAML `text` into JSON; `file` only names the source in errors.
pub fn parse_yaml(file: &Path, text: &str) -> Result<Value, SpecError> {
    let error = |problem: String| SpecError {
        file: file.to_owned(),
        pointer: String::new(),
        problem,
    };
    // Straight into JSON values, with no YAML tree between: a third of reading a spec. A key is
    // read as the text it is written with (`200:` as "200").
    serde_yaml::from_str(text).map_err(|e| {
        let at = e
            .location()
            .map(|l| format!(" (line {}, column {})", l.line(), l.column()));
        error(format!("invalid YAML{}: {e}", at.unwrap_or_default()))
    })
}

/// Converts a Swagger 2.0 document into OpenAPI 3; `file` only names the source in errors.
pub fn convert(file: &Path, document: Value) -> Result<oa::OpenAPI, SpecError> {
    Converter { file }.convert(document)
}

struct Converter<'a> {
    file: &'a Path,
}

impl Converter<'_> {
    fn error(&self, pointer: impl Into<String>, problem: impl Into<String>) -> SpecError {
        SpecError {
            file: self.file.to_owned(),
            pointer: pointer.into(),
            problem: problem.into(),
        }
    }

    fn convert(&self, document: Value) -> Result<oa::OpenAPI, SpecError> {
        self.check_references(&document)?;
        let doc: Swagger2 =
            serde_json::from_value(document).map_err(|e| self.error("", format!("not a Swagger 2.0 document: {e}")))?;
        if doc.swagger != "2.0" {
            return Err(self.error("/swagger", format!("expected \"2.0\", found {:?}", doc.swagger)));
        }

        let mut components = oa::Components::default();
        for (name, schema) in &doc.definitions {
            let pointer = format!("/definitions/{}", escape_pointer(name));
            components.schemas.insert(name.clone(), self.schema(&pointer, schema)?);
        }

        let mut paths = oa::Paths::default();
        let mut operation_ids = IndexMap::<String, String>::new();
        for (template, methods) in &doc.paths {
            let mut item = oa::PathItem::default();
            for (method, raw) in methods {
                let pointer = format!("/paths/{}/{method}", escape_pointer(template));
                if !HTTP_METHODS.contains(&method.as_str()) {
                    if method == "parameters" || method.starts_with("x-") {
                        return Err(self.error(pointer, "path-level parameters are not supported"));
                    }
                    return Err(self.error(pointer, format!("unknown HTTP method {method:?}")));
                }
                let operation = self.operation(&pointer, template, raw, &doc)?;
                let id = operation.operation_id.clone().unwrap_or_default();
                if let Some(first) = operation_ids.insert(id.clone(), pointer.clone()) {
                    return Err(self.error(
                        format!("{pointer}/operationId"),
                        format!("duplicate operationId {id:?}, first used at {first}"),
                    ));
                }
                let slot = match method.as_str() {
                    "get" => &mut item.get,
                    "put" => &mut item.put,
                    "post" => &mut item.post,
                    "delete" => &mut item.delete,
                    "options" => &mut item.options,
                    "head" => &mut item.head,
                    _ => &mut item.patch,
                };
                *slot = Some(operation);
            }
            paths.paths.insert(template.clone(), oa::ReferenceOr::Item(item));
        }

        let mut info = doc.info;
        info.extensions
            .insert("x-base-path".into(), Value::from(doc.base_path.unwrap_or_default()));
        let api = oa::OpenAPI {
            openapi: "3.0.3".into(),
            info,
            paths,
            components: Some(components),
            tags: doc.tags,
            ..Default::default()
        };
        Ok(api)
    }

    fn operation(
        &self,
        pointer: &str,
        template: &str,
        raw: &Value,
        doc: &Swagger2,
    ) -> Result<oa::Operation, SpecError> {
        let op: Operation2 =
            serde_json::from_value(raw.clone()).map_err(|e| self.error(pointer, format!("not an operation: {e}")))?;
        let Some(operation_id) = op.operation_id.clone() else {
            return Err(self.error(pointer, "operation has no operationId"));
        };
        let produces = op.produces.as_ref().unwrap_or(&doc.produces);
        let consumes = op.consumes.as_ref().unwrap_or(&doc.consumes);

        let mut parameters = Vec::new();
        let mut request_body = None;
        let mut path_parameters = BTreeSet::new();
        for (index, raw_parameter) in op.parameters.iter().enumerate() {
            let at = format!("{pointer}/parameters/{index}");
            let parameter: Parameter2 = serde_json::from_value(raw_parameter.clone())
                .map_err(|e| self.error(&at, format!("not a parameter: {e}")))?;
            if parameter.location == "body" {
                let schema = parameter
                    .schema
                    .as_ref()
                    .ok_or_else(|| self.error(&at, "body parameter has no schema"))?;
                let schema = self.schema(&format!("{at}/schema"), schema)?;
                let content = consumes
                    .iter()
                    .map(|media| {
                        let media_type = oa::MediaType {
                            schema: Some(schema.clone()),
                            ..Default::default()
                        };
                        (media.clone(), media_type)
                    })
                    .collect();
                let mut extensions = IndexMap::new();
                extensions.insert("x-parameter-name".into(), Value::from(parameter.name.clone()));
                request_body = Some(oa::ReferenceOr::Item(oa::RequestBody {
                    description: parameter.description,
                    content,
                    required: parameter.required,
                    extensions,
                }));
                continue;
            }
            if parameter.location == "path" {
                path_parameters.insert(parameter.name.clone());
            }
            parameters.push(oa::ReferenceOr::Item(self.parameter(&at, parameter)?));
        }

        let in_template: BTreeSet<String> = template
            .split('{')
            .skip(1)
            .filter_map(|rest| rest.split_once('}').map(|(name, _)| name.to_owned()))
            .collect();
        if let Some(missing) = in_template.difference(&path_parameters).next() {
            return Err(self.error(
                format!("{pointer}/parameters"),
                format!("path template {template:?} uses {{{missing}}} but no path parameter declares it"),
            ));
        }
        if let Some(extra) = path_parameters.difference(&in_template).next() {
            return Err(self.error(
                format!("{pointer}/parameters"),
                format!("path parameter {extra:?} does not appear in the path template {template:?}"),
            ));
        }

        let mut responses = oa::Responses::default();
        for (status, raw_response) in &op.responses {
            let at = format!("{pointer}/responses/{status}");
            let response: Response2 = serde_json::from_value(raw_response.clone())
                .map_err(|e| self.error(&at, format!("not a response: {e}")))?;
            let mut content = IndexMap::new();
            let schema = match &response.schema {
                Some(schema) => Some(self.schema(&format!("{at}/schema"), schema)?),
                None => None,
            };
            for media in produces {
                content.insert(
                    media.clone(),
                    oa::MediaType {
                        schema: schema.clone(),
                        example: response.examples.get(media).cloned(),
                        ..Default::default()
                    },
                );
            }
            let mut headers = IndexMap::new();
            for (name, header) in &response.headers {
                let header_pointer = format!("{at}/headers/{}", escape_pointer(name));
                let schema = self.schema(&header_pointer, header)?;
                let description = header.get("description").and_then(Value::as_str).map(String::from);
                headers.insert(
                    name.clone(),
                    oa::ReferenceOr::Item(oa::Header {
                        description,
                        style: oa::HeaderStyle::Simple,
                        required: false,
                        deprecated: None,
                        format: oa::ParameterSchemaOrContent::Schema(schema),
                        example: None,
                        examples: IndexMap::new(),
                        extensions: IndexMap::new(),
                    }),
                );
            }
            let code = if status == "default" {
                responses.default = Some(oa::ReferenceOr::Item(oa::Response {
                    description: response.description,
                    headers,
                    content,
                    ..Default::default()
                }));
                continue;
            } else {
                status
                    .parse::<u16>()
                    .map_err(|_| self.error(&at, format!("status code {status:?} is not a number")))?
            };
            responses.responses.insert(
                oa::StatusCode::Code(code),
                oa::ReferenceOr::Item(oa::Response {
                    description: response.description,
                    headers,
                    content,
                    ..Default::default()
                }),
            );
        }

        Ok(oa::Operation {
            tags: op.tags,
            summary: op.summary,
            description: op.description,
            operation_id: Some(operation_id),
            parameters,
            request_body,
            responses,
            deprecated: op.deprecated,
            extensions: op.rest.into_iter().filter(|(key, _)| key.starts_with("x-")).collect(),
            ..Default::default()
        })
    }

    fn parameter(&self, pointer: &str, parameter: Parameter2) -> Result<oa::Parameter, SpecError> {
        let schema_json: serde_json::Map<String, Value> = parameter
            .rest
            .iter()
            .filter(|(key, _)| PARAMETER_SCHEMA_KEYS.contains(&key.as_str()) || key.starts_with("x-"))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect();
        if !schema_json.contains_key("type") {
            return Err(self.error(pointer, format!("parameter {:?} has no type", parameter.name)));
        }
        let schema = self.schema(pointer, &Value::Object(schema_json))?;
        let explode = match parameter.collection_format.as_deref() {
            None | Some("csv") => None,
            Some("multi") => Some(true),
            Some(other) => {
                return Err(self.error(
                    format!("{pointer}/collectionFormat"),
                    format!("collection format {other:?} is not supported"),
                ))
            }
        };
        let data = oa::ParameterData {
            name: parameter.name,
            description: parameter.description,
            required: parameter.required,
            deprecated: None,
            format: oa::ParameterSchemaOrContent::Schema(schema),
            example: None,
            examples: IndexMap::new(),
            explode,
            extensions: IndexMap::new(),
        };
        Ok(match parameter.location.as_str() {
            "query" => oa::Parameter::Query {
                parameter_data: data,
                allow_reserved: false,
                style: oa::QueryStyle::Form,
                allow_empty_value: None,
            },
            "path" => oa::Parameter::Path {
                parameter_data: data,
                style: oa::PathStyle::Simple,
            },
            "header" => oa::Parameter::Header {
                parameter_data: data,
                style: oa::HeaderStyle::Simple,
            },
            other => {
                return Err(self.error(
                    format!("{pointer}/in"),
                    format!("parameter location {other:?} is not supported"),
                ))
            }
        })
    }

    /// Converts one Swagger 2.0 schema (with its nested schemas) into an openapiv3 schema.
    fn schema(&self, pointer: &str, raw: &Value) -> Result<oa::ReferenceOr<oa::Schema>, SpecError> {
        let converted = self.rewrite_schema(pointer, raw)?;
        serde_json::from_value(converted).map_err(|e| self.error(pointer, format!("invalid schema: {e}")))
    }

    fn rewrite_schema(&self, pointer: &str, raw: &Value) -> Result<Value, SpecError> {
        let Value::Object(map) = raw else {
            return Err(self.error(pointer, "a schema must be an object"));
        };
        let mut out = serde_json::Map::new();
        for (key, value) in map {
            // Written only where it is needed: most keys are copied as they are.
            let at = || format!("{pointer}/{}", escape_pointer(key));
            match key.as_str() {
                "$ref" => {
                    let target = value
                        .as_str()
                        .and_then(|r| r.strip_prefix("#/definitions/"))
                        .ok_or_else(|| self.error(at(), format!("unsupported reference {value}")))?;
                    out.insert(key.clone(), Value::from(format!("#/components/schemas/{target}")));
                }
                "x-nullable" => {
                    out.insert("nullable".into(), value.clone());
                }
                "type" if value == "file" => {
                    out.insert("type".into(), Value::from("string"));
                    out.insert("format".into(), Value::from("binary"));
                }
                "type" if !value.is_string() => {
                    return Err(self.error(at(), format!("type must be a single name, found {value}")));
                }
                "items" | "additionalProperties" | "not" if value.is_object() => {
                    out.insert(key.clone(), self.rewrite_schema(&at(), value)?);
                }
                "properties" => {
                    let at = at();
                    let Value::Object(properties) = value else {
                        return Err(self.error(at, "properties must be a map"));
                    };
                    let mut rewritten = serde_json::Map::new();
                    for (name, schema) in properties {
                        let property_pointer = format!("{at}/{}", escape_pointer(name));
                        rewritten.insert(name.clone(), self.rewrite_schema(&property_pointer, schema)?);
                    }
                    out.insert(key.clone(), Value::Object(rewritten));
                }
                "allOf" | "oneOf" | "anyOf" => {
                    let at = at();
                    let Value::Array(parts) = value else {
                        return Err(self.error(at, format!("{key} must be a list")));
                    };
                    let parts = parts
                        .iter()
                        .enumerate()
                        .map(|(i, part)| self.rewrite_schema(&format!("{at}/{i}"), part))
                        .collect::<Result<Vec<_>, _>>()?;
                    out.insert(key.clone(), Value::Array(parts));
                }
                _ => {
                    out.insert(key.clone(), value.clone());
                }
            }
        }
        // A schema with properties but no type is an object in every Docker spec.
        if !out.contains_key("type") && !out.contains_key("$ref") && out.contains_key("properties") {
            out.insert("type".into(), Value::from("object"));
        }
        Ok(out.into())
    }

    /// Every `$ref` to `#/definitions/` must name a definition that exists. The source document
    /// is walked, not the converted one, which would have to be serialized again; a pointer is
    /// written only for the reference that dangles.
    fn check_references(&self, document: &Value) -> Result<(), SpecError> {
        enum Step<'v> {
            Key(&'v str),
            Index(usize),
        }
        fn dangling<'v>(
            value: &'v Value,
            defined: &serde_json::Map<String, Value>,
            path: &mut Vec<Step<'v>>,
        ) -> Option<String> {
            match value {
                Value::Object(map) => {
                    if let Some(name) = map
                        .get("$ref")
                        .and_then(Value::as_str)
                        .and_then(|r| r.strip_prefix("#/definitions/"))
                    {
                        if !defined.contains_key(name) {
                            return Some(name.to_owned());
                        }
                    }
                    for (key, child) in map {
                        path.push(Step::Key(key));
                        if let Some(name) = dangling(child, defined, path) {
                            return Some(name);
                        }
                        path.pop();
                    }
                }
                Value::Array(items) => {
                    for (index, child) in items.iter().enumerate() {
                        path.push(Step::Index(index));
                        if let Some(name) = dangling(child, defined, path) {
                            return Some(name);
                        }
                        path.pop();
                    }
                }
                _ => {}
            }
            None
        }
        let empty = serde_json::Map::new();
        let defined = document.get("definitions").and_then(Value::as_object).unwrap_or(&empty);
        let mut path = Vec::new();
        let Some(name) = dangling(document, defined, &mut path) else {
            return Ok(());
        };
        let pointer: String = path
            .iter()
            .map(|step| match step {
                Step::Key(key) => format!("/{}", escape_pointer(key)),
                Step::Index(index) => format!("/{index}"),
            })
            .collect();
        Err(self.error(pointer, format!("dangling reference to #/definitions/{name}")))
    }
}

/// A JSON pointer's segment for `segment` (RFC 6901: `~` as `~0`, `/` as `~1`).
pub(crate) fn escape_pointer(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_fixture(text: &str) -> Result<oa::OpenAPI, SpecError> {
        let file = Path::new("fixture.yaml");
        convert(file, parse_yaml(file, text)?)
    }

    const MINIMAL: &str = r##"
swagger: "2.0"
info: {title: t, version: "1.0"}
basePath: /v1.0
produces: [application/json]
consumes: [application/json]
definitions:
  Thing:
    type: object
    x-nullable: true
    properties:
      Size: {type: integer, format: int64}
      Kind: {type: file}
paths:
  /things/{id}:
    post:
      operationId: ThingUpdate
      parameters:
        - {name: id, in: path, required: true, type: string}
        - {name: names, in: query, type: array, items: {type: string}, collectionFormat: multi}
        - {name: body, in: body, required: true, schema: {$ref: "#/definitions/Thing"}}
      responses:
        200:
          description: ok
          schema: {$ref: "#/definitions/Thing"}
"##;

    #[test]
    fn converts_body_parameter_into_request_body_and_rewrites_references() {
        let api = parse_fixture(MINIMAL).unwrap();
        let item = api.paths.paths["/things/{id}"].as_item().unwrap();
        let op = item.post.as_ref().unwrap();
        assert_eq!(op.parameters.len(), 2);
        let body = match op.request_body.as_ref().unwrap() {
            oa::ReferenceOr::Item(body) => body,
            _ => panic!("body should be inline"),
        };
        assert!(body.required);
        let schema = body.content["application/json"].schema.as_ref().unwrap();
        assert_eq!(
            schema,
            &oa::ReferenceOr::Reference {
                reference: "#/components/schemas/Thing".into()
            }
        );
        assert_eq!(api.info.extensions["x-base-path"], "/v1.0");
    }

    #[test]
    fn converts_nullable_file_type_and_collection_format() {
        let api = parse_fixture(MINIMAL).unwrap();
        let thing = api.components.as_ref().unwrap().schemas["Thing"].as_item().unwrap();
        assert!(thing.schema_data.nullable);
        let json = serde_json::to_value(thing).unwrap();
        assert_eq!(json["properties"]["Kind"]["format"], "binary");
        let op = api.paths.paths["/things/{id}"]
            .as_item()
            .unwrap()
            .post
            .as_ref()
            .unwrap();
        let names = match op.parameters[1].as_item().unwrap() {
            oa::Parameter::Query { parameter_data, .. } => parameter_data,
            other => panic!("expected a query parameter, got {other:?}"),
        };
        assert_eq!(names.explode, Some(true));
    }

    #[test]
    fn reports_dangling_reference_with_its_location() {
        let text = MINIMAL.replace(
            "Size: {type: integer, format: int64}",
            "Size: {$ref: \"#/definitions/Nope\"}",
        );
        let error = parse_fixture(&text).unwrap_err();
        assert_eq!(error.pointer, "/definitions/Thing/properties/Size");
        assert_eq!(error.problem, "dangling reference to #/definitions/Nope");
        assert!(error.to_string().starts_with("fixture.yaml at /definitions/Thing"));
    }

    #[test]
    fn reports_duplicate_operation_ids() {
        let text = format!(
            "{MINIMAL}  /other:\n    get:\n      operationId: ThingUpdate\n      responses: {{200: {{description: ok}}}}\n"
        );
        let error = parse_fixture(&text).unwrap_err();
        assert_eq!(error.pointer, "/paths/~1other/get/operationId");
        assert!(
            error.problem.contains("duplicate operationId \"ThingUpdate\""),
            "{error}"
        );
    }

    #[test]
    fn reports_path_parameter_missing_from_template() {
        let text = MINIMAL.replace("/things/{id}:", "/things:");
        let error = parse_fixture(&text).unwrap_err();
        assert_eq!(error.pointer, "/paths/~1things/post/parameters");
        assert!(error.problem.contains("\"id\" does not appear"), "{error}");
    }

    #[test]
    fn reports_invalid_yaml_with_line() {
        let error = parse_fixture("swagger: \"2.0\"\ninfo: [unclosed\n").unwrap_err();
        assert!(error.problem.starts_with("invalid YAML (line"), "{error}");
    }

    #[test]
    fn reports_unsupported_constructs() {
        let text = MINIMAL.replace("collectionFormat: multi", "collectionFormat: tsv");
        let error = parse_fixture(&text).unwrap_err();
        assert_eq!(
            error.pointer,
            "/paths/~1things~1{id}/post/parameters/1/collectionFormat"
        );
        let text = MINIMAL.replace("{type: integer, format: int64}", "{type: [integer, string]}");
        let error = parse_fixture(&text).unwrap_err();
        assert_eq!(error.pointer, "/definitions/Thing/properties/Size/type");
    }
}
