//! `example()` of the v1.41 models (the `mock` feature): the spec's example answers, whole,
//! with every field they leave out filled, and values that go through the decoders unchanged.

use std::path::Path;

use docker_engine_v1_41::models::{
    ContainerInspectResponse, ContainerSummary, ContainerTopResponse, ExecInspectResponse, Network, Port, Secret,
    SystemInfo,
};
use serde::Serialize;
use serde_json::Value;

fn spec() -> Value {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs/v1.41/swagger.yaml");
    codegen::spec::read(&file).unwrap()
}

/// Where `ours` differs from what the spec gives in `expected`, as JSON pointers; keys the model
/// has no field for are kept apart, as no example can carry them.
fn differences(expected: &Value, ours: &Value, at: &str, differ: &mut Vec<String>, unknown: &mut Vec<String>) {
    match (expected, ours) {
        (Value::Object(expected), Value::Object(ours)) => {
            for (key, value) in expected {
                let at = format!("{at}/{key}");
                match ours.get(key) {
                    Some(ours) => differences(value, ours, &at, differ, unknown),
                    None => unknown.push(at),
                }
            }
        }
        (Value::Array(expected), Value::Array(ours)) if expected.len() == ours.len() => {
            for (index, (value, ours)) in expected.iter().zip(ours).enumerate() {
                differences(value, ours, &format!("{at}/{index}"), differ, unknown);
            }
        }
        (Value::Number(expected), Value::Number(ours)) if expected.as_f64() == ours.as_f64() => {}
        (expected, ours) if expected == ours => {}
        (expected, ours) => differ.push(format!("{at}: the spec gives {expected}, the example has {ours}")),
    }
}

/// Every value in `value` is set: the example leaves no field as `null`.
fn nulls(value: &Value, at: &str, found: &mut Vec<String>) {
    match value {
        Value::Null => found.push(at.to_owned()),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .for_each(|(index, item)| nulls(item, &format!("{at}/{index}"), found)),
        Value::Object(entries) => entries
            .iter()
            .for_each(|(key, entry)| nulls(entry, &format!("{at}/{key}"), found)),
        _ => {}
    }
}

/// Checks `example` against the spec's value at `pointer`, and that it decodes back to itself.
fn check<T>(spec: &Value, pointer: &str, example: T) -> Vec<String>
where
    T: Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let expected = spec
        .pointer(pointer)
        .unwrap_or_else(|| panic!("the spec has {pointer}"));
    let ours = serde_json::to_value(&example).unwrap();
    let (mut differ, mut unknown) = (Vec::new(), Vec::new());
    differences(expected, &ours, "", &mut differ, &mut unknown);
    assert!(differ.is_empty(), "{pointer}:\n{}", differ.join("\n"));
    let mut found = Vec::new();
    nulls(&ours, "", &mut found);
    assert!(found.is_empty(), "{pointer}: unset {found:?}");
    let decoded: T = serde_json::from_value(ours).unwrap();
    assert_eq!(decoded, example);
    unknown
}

#[test]
fn examples_are_the_specs_answers_with_every_other_field_filled() {
    let spec = spec();
    let answer = |path: &str| {
        format!(
            "/paths/{}/get/responses/200/examples/application~1json",
            path.replace('/', "~1")
        )
    };
    let mut unknown = Vec::new();
    unknown.extend(check(
        &spec,
        &answer("/containers/{id}/json"),
        ContainerInspectResponse::example(),
    ));
    unknown.extend(check(
        &spec,
        &format!("{}/0", answer("/containers/json")),
        ContainerSummary::example(),
    ));
    unknown.extend(check(
        &spec,
        &answer("/containers/{id}/top"),
        ContainerTopResponse::example(),
    ));
    unknown.extend(check(&spec, &answer("/exec/{id}/json"), ExecInspectResponse::example()));
    unknown.extend(check(&spec, &format!("{}/0", answer("/networks")), Network::example()));
    unknown.extend(check(&spec, &answer("/secrets/{id}"), Secret::example()));
    unknown.extend(check(&spec, "/definitions/Port/example", Port::example()));
    // What the v1.41 spec's examples hold that its models do not: two Windows fields the
    // definition no longer has, and a key misspelled with a quote; each example leaves them out.
    assert_eq!(
        unknown,
        [
            "/HostConfig/MaximumIOps",
            "/HostConfig/MaximumIOBps",
            "/HostConfig/DeviceRequests/0/DeviceIDs\""
        ]
    );

    // A model the spec gives no whole example of: its fields' examples, the rest filled.
    let info = SystemInfo::example();
    assert_eq!(info.operating_system.as_deref(), Some("Alpine Linux v3.5"));
    assert_eq!(info.ncpu, Some(4));
    let logging = ContainerInspectResponse::example()
        .host_config
        .unwrap()
        .log_config
        .unwrap();
    assert_eq!(logging.type_.map(String::from).as_deref(), Some("json-file"));
    let mut found = Vec::new();
    nulls(&serde_json::to_value(&info).unwrap(), "", &mut found);
    assert!(found.is_empty(), "unset {found:?}");
}

#[test]
fn a_test_changes_what_it_needs_and_keeps_the_rest() {
    let web = ContainerSummary {
        names: Some(vec!["/web".into()]),
        ..ContainerSummary::example()
    };
    assert_eq!(web.names, Some(vec!["/web".to_owned()]));
    assert_eq!(web.image, ContainerSummary::example().image);
    assert!(web.host_config.is_some() && web.network_settings.is_some() && web.mounts.is_some());
}
