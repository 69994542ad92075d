//! What a daemon sends must decode into the generated v1.41 models, and go back unchanged. No
//! daemon needed: these are the bytes a daemon sends.

use docker_engine_v1_41::models::{
    ContainerCreateResponse, ContainerWaitResponse, EventMessage, EventMessageScope, EventMessageType, Port, PortType,
};

#[test]
fn listed_enum_values_become_variants_and_unlisted_ones_are_kept_and_sent_back() {
    let listed: EventMessage = serde_json::from_str(r#"{"Type":"container","scope":"local"}"#).unwrap();
    assert_eq!(listed.type_, Some(EventMessageType::Container));
    assert_eq!(listed.scope, Some(EventMessageScope::Local));

    let sent = r#"{"Type":"quantum-widget","scope":"galaxy"}"#;
    let unlisted: EventMessage = serde_json::from_str(sent).unwrap();
    assert_eq!(unlisted.type_, Some(EventMessageType::Other("quantum-widget".into())));
    assert_eq!(unlisted.scope.as_ref().map(EventMessageScope::as_str), Some("galaxy"));
    assert_eq!(serde_json::to_string(&unlisted).unwrap(), sent);

    // Through serde_json::Value too, which hands over owned strings.
    let value = serde_json::json!({"Type": "network", "scope": "galaxy"});
    let from_value: EventMessage = serde_json::from_value(value.clone()).unwrap();
    assert_eq!(from_value.type_, Some(EventMessageType::Network));
    assert_eq!(serde_json::to_value(&from_value).unwrap(), value);

    assert_eq!(EventMessageType::from("volume"), EventMessageType::Volume);
    assert_eq!(String::from(EventMessageType::Other("x".into())), "x");
}

#[test]
fn nulls_legacy_fields_and_absent_fields_decode() {
    let sent = r#"{"status":"start","id":"abc","from":"busybox","Type":null,"Action":"start",
        "Actor":{"ID":"abc","Attributes":null},"time":1700000000}"#;
    let event: EventMessage = serde_json::from_str(sent).unwrap();
    assert_eq!(event.type_, None);
    assert_eq!(event.action.as_deref(), Some("start"));
    assert_eq!(event.actor.unwrap().attributes, None);
    assert_eq!(event.scope, None);
}

/// dockerd 20.10 answers a create without warnings with `"Warnings":null`, which the spec
/// requires to be an array; a field the spec requires is a plain value, and such a value reads
/// as its default.
#[test]
fn a_required_field_is_plain_and_reads_as_its_default_when_left_out_or_null() {
    let created: ContainerCreateResponse = serde_json::from_str(r#"{"Id":"4f1c","Warnings":null}"#).unwrap();
    assert_eq!((created.id.as_str(), created.warnings.len()), ("4f1c", 0));
    let waited: ContainerWaitResponse = serde_json::from_str("{}").unwrap();
    assert_eq!((waited.status_code, waited.error), (0, None));
    let port: Port = serde_json::from_str(r#"{"PrivatePort":80}"#).unwrap();
    assert_eq!(
        (port.private_port, &port.type_, port.public_port),
        (80, &PortType::Other(String::new()), None)
    );
    // Written back, a plain field is always sent; an unset Option never is.
    assert_eq!(serde_json::to_string(&port).unwrap(), r#"{"PrivatePort":80,"Type":""}"#);
}

#[test]
fn an_enum_field_holding_a_number_is_an_error_naming_what_was_expected() {
    let error = serde_json::from_str::<EventMessage>(r#"{"Type":42}"#)
        .unwrap_err()
        .to_string();
    assert!(error.contains("expected a string"), "{error}");
}

/// Build cache records as Docker 29.5.3 sent them (`GET /system/df`, recorded by a run of the
/// suite): their parents under `" Parents"`, with a leading space. Every crate that has the field
/// reads them (an override), and writes them back under the spec's key.
#[test]
fn build_cache_parents_are_read_under_the_key_docker_29_sends() {
    let recorded = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/answers/docker-29.5.3/SystemDataUsage/24479-1.json"
    );
    let usage: serde_json::Value = serde_json::from_slice(&std::fs::read(recorded).unwrap()).unwrap();
    let records = usage["BuildCache"].as_array().expect("the build cache records");
    let sent: Vec<&serde_json::Value> = records
        .iter()
        .filter(|record| record.get(" Parents").is_some())
        .collect();
    assert!(!sent.is_empty() && records.iter().all(|record| record.get("Parents").is_none()));
    macro_rules! parents_read {
        ($($krate:ident),*) => {$(
            for record in &sent {
                let decoded: $krate::models::BuildCache = serde_json::from_value((*record).clone()).unwrap();
                let parents = decoded.parents.clone().unwrap_or_default();
                assert_eq!(serde_json::json!(parents), record[" Parents"], "{}", stringify!($krate));
                let written = serde_json::to_value(&decoded).unwrap();
                assert_eq!(written["Parents"], record[" Parents"], "{}", stringify!($krate));
                assert!(written.get(" Parents").is_none());
            }
        )*};
    }
    parents_read!(
        docker_engine_v1_42,
        docker_engine_v1_43,
        docker_engine_v1_44,
        docker_engine_v1_45,
        docker_engine_v1_46,
        docker_engine_v1_47,
        docker_engine_v1_48,
        docker_engine_v1_49,
        docker_engine_v1_50,
        docker_engine_v1_51,
        docker_engine_v1_52,
        docker_engine_v1_53,
        docker_engine_v1_54
    );
}
