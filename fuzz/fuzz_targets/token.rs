//! A token service's answer, from a server the client does not control: it is read or refused
//! with a reason, and a token read is one the answer holds, kept no longer than it says.
#![no_main]

use docker_engine_runtime::registry::fuzzing::token_answer;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    match token_answer(body) {
        Ok((token, lifetime, authorization, kept_for)) => {
            let answer: serde_json::Value = serde_json::from_slice(body).expect("a token is read from JSON only");
            let given = |key: &str| answer.get(key).and_then(|value| value.as_str()) == Some(token.as_str());
            assert!(!token.is_empty() && (given("token") || given("access_token")), "{token:?} from {answer}");
            assert_eq!(authorization.as_bytes(), format!("Bearer {token}").as_bytes());
            assert!(kept_for <= lifetime, "kept {kept_for:?} of {lifetime:?}");
        }
        Err(reason) => assert!(!reason.is_empty()),
    }
});
