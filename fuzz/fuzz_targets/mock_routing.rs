//! The fake daemon's routing, on requests of any method and path: each is answered by a route
//! of that method or by the unknown-route answer. And the client and the fake daemon agree:
//! any path parameters and filters a client sends (v1.41's routes) are read back as sent.
#![no_main]

use std::collections::{BTreeMap, BTreeSet};

use docker_engine_runtime::mock::fuzzing::{query, route, sent};
use docker_engine_runtime::mock::MockRequest;
use docker_engine_runtime::{path_segment, HeaderMap, Method, Request};
use docker_engine_v1_41::ROUTES;
use libfuzzer_sys::fuzz_target;

const METHODS: &[&str] = &["GET", "POST", "DELETE", "HEAD", "PUT"];

fn filters_read(query_string: &str) -> Result<BTreeMap<String, Vec<String>>, String> {
    let request = MockRequest {
        operation: "Fuzz",
        path: BTreeMap::new(),
        query: query(query_string),
        headers: HeaderMap::new(),
        body: (),
    };
    request.filters().map_err(|e| e.message)
}

/// Any request: routed to a route of its method, with parameters that are not empty, or not.
fn any_request(method: &str, text: &str) {
    let (path, query_string) = text.split_once('?').unwrap_or((text, ""));
    if let Some((found, parameters)) = route(ROUTES, method, path) {
        assert!(
            found.method == method || (method == "HEAD" && found.path == "/_ping"),
            "{method} {path}: {found:?}"
        );
        for (name, value) in &parameters {
            assert!(
                found.path.contains(&format!("{{{name}}}")),
                "{path}: {name} of {found:?}"
            );
            assert!(!value.is_empty(), "{path}: {name} is empty");
            if !path.contains('%') {
                assert!(path.contains(value.as_str()), "{path}: {name} = {value:?}");
            }
        }
    }
    if let Err(message) = filters_read(query_string) {
        assert!(message.contains("invalid filter"), "{message}");
    }
}

/// A request as a client sends it: the route's parameters percent-encoded, filters as JSON in
/// either form the daemon reads. The fake daemon must read back what was sent.
fn client_request(pick: u16, values: Vec<&str>) {
    let template = &ROUTES[pick as usize % ROUTES.len()];
    let names: Vec<&str> = template
        .path
        .split('/')
        .filter_map(|part| part.strip_prefix('{')?.strip_suffix('}'))
        .collect();
    let (given, filter_values) = values.split_at(names.len().min(values.len()));
    if given.len() < names.len() {
        return;
    }
    let mut path = template.path.to_owned();
    for (name, value) in names.iter().zip(given) {
        let Ok(segment) = path_segment("Fuzz", name, value) else {
            return;
        };
        path = path.replace(&format!("{{{name}}}"), &segment);
    }
    let mut filters: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for pair in filter_values.chunks(2) {
        filters
            .entry(pair[0].to_owned())
            .or_default()
            .extend(pair.get(1).map(|v| v.to_string()));
    }
    let sets: BTreeMap<&String, BTreeMap<&String, bool>> = filters
        .iter()
        .map(|(key, values)| (key, values.iter().map(|v| (v, true)).collect()))
        .collect();
    let method = Method::from_bytes(template.method.as_bytes()).unwrap();
    for as_sets in [false, true] {
        let request = Request::new(method.clone(), path.clone(), "Fuzz");
        let request = match as_sets {
            false => request.query_json("filters", &filters),
            true => request.query_json("filters", &sets),
        }
        .unwrap();
        let uri = sent(&request, "1.41");
        let (sent_path, sent_query) = uri.split_once('?').unwrap_or((&uri, ""));
        let (found, parameters) =
            route(ROUTES, template.method, sent_path).unwrap_or_else(|| panic!("{uri} is not routed"));
        if found.path == template.path {
            let expected: BTreeMap<&str, String> =
                names.iter().copied().zip(given.iter().map(|v| v.to_string())).collect();
            assert_eq!(parameters, expected, "{uri}");
        } else {
            // Another route wins only where a value is one of its fixed segments
            // (`/images/search` over `/images/{name}`).
            let fixed: BTreeSet<&str> = found.path.split('/').filter(|part| !part.starts_with('{')).collect();
            assert!(
                given.iter().any(|value| fixed.contains(value)),
                "{uri}: {found:?} over {template:?}"
            );
        }
        let read = filters_read(sent_query).unwrap_or_else(|e| panic!("{uri}: {e}"));
        let expected: BTreeMap<String, Vec<String>> = match as_sets {
            false => filters.clone(),
            true => sets
                .iter()
                .map(|(key, set)| (key.to_string(), set.keys().map(|v| v.to_string()).collect()))
                .collect(),
        };
        assert_eq!(read, expected, "{uri}");
    }
}

fuzz_target!(|input: &[u8]| {
    let Some((&mode, rest)) = input.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    match mode % 2 {
        0 => any_request(METHODS[(mode / 2) as usize % METHODS.len()], text),
        _ => {
            let mut values = text.split('\0');
            let pick = values.next().map_or(0, |first| {
                first
                    .bytes()
                    .fold(0u16, |n, b| n.wrapping_mul(31).wrapping_add(b as u16))
            });
            client_request(pick, values.collect());
        }
    }
});
