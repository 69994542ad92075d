//! What generated models and operations call to decode answers: bodies into types, structs
//! whose fields are read one by one ([`DecodeFields`]), enums that keep values they do not know.

mod fields;
mod in_place;
mod macros;
mod open_enum;

pub use fields::{deserialize_fields, deserialize_fields_in_place, DecodeFields};
pub use in_place::{DecodeInPlace, Reuse, ReusePlain};
pub use open_enum::deserialize_open_enum;

use serde::de::DeserializeOwned;

use crate::error::{decode, decode_error, Result};

/// Decodes the body of a success answer that is one JSON document into `T`. A body that is
/// empty or `null` means there is nothing to tell, and is read as the type's default (an empty
/// list, a model with no field set): dockerd answers a plugin removal with no body, and the
/// changes of an untouched container with `null`, where the spec promises an object and a list.
pub fn decode_answer<T: DeserializeOwned + Default>(operation: &'static str, body: &[u8]) -> Result<T> {
    if says_nothing(body) {
        return Ok(T::default());
    }
    decode(operation, body)
}

/// Decodes `body` into `place`, keeping what `place` allocated (see [`DecodeInPlace`]).
pub(crate) fn decode_into<T: for<'de> DecodeInPlace<'de>>(
    operation: &'static str,
    body: &[u8],
    place: &mut T,
) -> Result<()> {
    let decoded = match simdutf8::basic::from_utf8(body) {
        Ok(text) => {
            let mut deserializer = serde_json::Deserializer::from_str(text);
            T::decode_in_place(&mut deserializer, place).and_then(|()| deserializer.end())
        }
        Err(_) => {
            let mut deserializer = serde_json::Deserializer::from_slice(body);
            T::decode_in_place(&mut deserializer, place).and_then(|()| deserializer.end())
        }
    };
    decoded.map_err(|error| decode_error(operation, std::any::type_name::<T>(), body, &error))
}

/// Whether a JSON body is empty or `null`, around white space.
fn says_nothing(body: &[u8]) -> bool {
    let text = body.trim_ascii();
    text.is_empty() || text == b"null"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_null_bodies_say_nothing() {
        for body in [&b""[..], b"null", b" \n", b"null\n"] {
            assert!(says_nothing(body), "{body:?}");
        }
        for body in [&b"[]"[..], b"{}", b"nul", b"\"null\""] {
            assert!(!says_nothing(body), "{body:?}");
        }
    }
}
