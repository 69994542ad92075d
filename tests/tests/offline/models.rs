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

/// A build cache record as Docker 29 sends it (`GET /system/df`, `BuildCache`): its parents under
/// `" Parents"`, with a leading space. Every crate that has the field reads them (an override).
#[test]
fn build_cache_parents_are_read_under_the_key_docker_29_sends() {
    let sent = r#"{"ID":"ykzpb0c2ew"," Parents":["q4mtg4grb0","x7v0ulx4rk"],"Type":"regular",
        "Description":"mount / from exec /bin/sh -c make","InUse":false,"Shared":false,"Size":4096,
        "CreatedAt":"2026-12-01T10:00:00Z","LastUsedAt":"2026-12-01T10:00:01Z","UsageCount":1}"#;
    macro_rules! parents_read {
        ($($krate:ident),*) => {$({
            let record: $krate::models::BuildCache = serde_json::from_str(sent).unwrap();
            let parents = record.parents.clone().unwrap_or_default();
            assert_eq!(parents, ["q4mtg4grb0", "x7v0ulx4rk"], "{}", stringify!($krate));
            // Written back under the spec's key.
            let written = serde_json::to_value(&record).unwrap();
            assert_eq!(written["Parents"][1], "x7v0ulx4rk", "{}", stringify!($krate));
            assert!(written.get(" Parents").is_none());
        })*};
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
