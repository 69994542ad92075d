//! Typed response headers, from a peer the client does not control: each one an answer
//! declares is absent, read as its type, or an error naming it; never another header's value.
#![no_main]

use docker_engine_runtime::{header_value, FromHeaders, HeaderMap};
use docker_engine_v1_41::operations::SystemPingHeaders;
use docker_registry_v2::operations::{BlobGetHeaders, ManifestGetHeaders, UploadStatusHeaders};
use libfuzzer_sys::fuzz_target;

/// Headers the generated structs below read, and one none of them does.
const NAMES: &[&str] = &[
    "content-length",
    "content-type",
    "content-range",
    "docker-content-digest",
    "location",
    "range",
    "docker-upload-uuid",
    "api-version",
    "docker-experimental",
    "builder-version",
    "x-other",
];

/// Each line `N value` adds a header: `N`, a byte, picks its name; the rest is its value.
fn headers(input: &[u8]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for line in input.split(|byte| *byte == b'\n') {
        let Some((pick, value)) = line.split_first() else {
            continue;
        };
        let Ok(value) = value.try_into() else { continue };
        headers.append(NAMES[*pick as usize % NAMES.len()], value);
    }
    headers
}

/// `header_value` for one name and type agrees with the header map: absent is `None`, read is
/// what the text parses to, refused names the header.
fn agrees<T: docker_engine_runtime::HeaderText + PartialEq + std::fmt::Debug>(
    headers: &HeaderMap,
    name: &'static str,
    expected: impl Fn(&str) -> Option<T>,
) {
    let read = header_value::<T>("Fuzz", headers, name);
    match (headers.get(name), read) {
        (None, Ok(None)) => {}
        (Some(value), Ok(Some(read))) => {
            let text = value.to_str().expect("only text is read");
            assert_eq!(Some(read), expected(text.trim()), "{name}: {value:?}");
        }
        (Some(value), Err(error)) => {
            assert!(
                error.to_string().contains(&format!("header {name}")),
                "{name}: {value:?}: {error}"
            );
            if let Ok(text) = value.to_str() {
                assert_eq!(expected(text.trim()), None, "{name}: {value:?} refused: {error}");
            }
        }
        (value, read) => panic!("{name}: {value:?} read as {read:?}"),
    }
}

fuzz_target!(|input: &[u8]| {
    let headers = headers(input);
    agrees::<String>(&headers, "docker-content-digest", |text| Some(text.to_owned()));
    agrees::<i64>(&headers, "content-length", |text| text.parse().ok());
    // Go's `strconv.ParseBool`, as the daemon reads its own flags.
    agrees::<bool>(&headers, "docker-experimental", |text| match text {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    });

    // The generated structs: a field is set exactly when its header is there and reads.
    if let Ok(manifest) = ManifestGetHeaders::from_headers("ManifestGet", &headers) {
        assert_eq!(manifest.content_type.is_some(), headers.contains_key("content-type"));
        assert_eq!(
            manifest.docker_content_digest.is_some(),
            headers.contains_key("docker-content-digest")
        );
        assert_eq!(
            manifest.content_length.is_some(),
            headers.contains_key("content-length")
        );
    }
    if let Ok(blob) = BlobGetHeaders::from_headers("BlobGet", &headers) {
        assert_eq!(blob.content_range.is_some(), headers.contains_key("content-range"));
    }
    if let Ok(upload) = UploadStatusHeaders::from_headers("UploadStatus", &headers) {
        let location = headers
            .get("location")
            .map(|value| value.to_str().unwrap().trim().to_owned());
        assert_eq!(upload.location, location);
        assert_eq!(upload.range.is_some(), headers.contains_key("range"));
    }
    if let Err(error) = SystemPingHeaders::from_headers("SystemPing", &headers) {
        let message = error.to_string();
        assert!(
            NAMES.iter().any(|name| message.contains(&format!("header {name}"))),
            "{message}"
        );
    }
});
