//! What a daemon sends must decode into the generated v1.41 models, and go back unchanged. No
//! daemon needed: these are the bytes a daemon sends.

use docker_engine_v1_41::models::{EventMessage, EventMessageScope, EventMessageType};

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

#[test]
fn an_enum_field_holding_a_number_is_an_error_naming_what_was_expected() {
    let error = serde_json::from_str::<EventMessage>(r#"{"Type":42}"#)
        .unwrap_err()
        .to_string();
    assert!(error.contains("expected a string"), "{error}");
}
