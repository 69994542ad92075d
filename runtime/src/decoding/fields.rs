//! The `Deserialize` every generated struct shares: an object read key by key into the struct's
//! default, each known key's value decoded into its field, unknown keys skipped. serde's derive
//! wrote about three times the code per struct (a field enum, a sequence visitor, a slot per
//! field), and type-checking it was most of a generated crate's build.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

/// A generated struct's fields, decoded one key at a time.
pub trait DecodeFields: Default {
    /// The struct's name, for error messages.
    const NAME: &'static str;

    /// Decodes the value of `key` (the name on the wire) from `map` into its field, in the value
    /// that field held in `old` when it held one; the value of a key the struct does not know is
    /// read and dropped.
    fn decode_field<'de, A: MapAccess<'de>>(&mut self, old: &mut Self, key: &str, map: &mut A) -> Result<(), A::Error>;
}

/// Deserializes a generated struct from an object. A missing or `null` field is `None`; of a
/// key given twice, the last value is kept.
pub fn deserialize_fields<'de, D: Deserializer<'de>, T: DecodeFields>(deserializer: D) -> Result<T, D::Error> {
    let mut value = T::default();
    deserializer.deserialize_map(FieldsVisitor(&mut value))?;
    Ok(value)
}

/// Deserializes a generated struct from an object into `place`, each field decoded into what
/// it held (see [`DecodeInPlace`](super::DecodeInPlace)); a field the object lacks is `None`.
pub fn deserialize_fields_in_place<'de, D: Deserializer<'de>, T: DecodeFields>(
    deserializer: D,
    place: &mut T,
) -> Result<(), D::Error> {
    deserializer.deserialize_map(FieldsVisitor(place))
}

struct FieldsVisitor<'a, T>(&'a mut T);

impl<'de, T: DecodeFields> Visitor<'de> for FieldsVisitor<'_, T> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        write!(formatter, "struct {}", T::NAME)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        // Every field starts as `None`; the values they held are there to decode into.
        let mut old = std::mem::take(self.0);
        while let Some(Key(key)) = map.next_key()? {
            self.0.decode_field(&mut old, &key, &mut map)?;
        }
        Ok(())
    }
}

/// An object key, borrowed from the input where it can be (no escapes), so decoding a struct
/// allocates nothing for its keys.
pub(super) struct Key<'de>(pub(super) Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key<'de>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a field name")
    }

    fn visit_borrowed_str<E: de::Error>(self, key: &'de str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Borrowed(key)))
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Owned(key.to_owned())))
    }

    fn visit_string<E: de::Error>(self, key: String) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Owned(key)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the generator writes for a struct with a string, a nested struct and a list.
    #[derive(Debug, Default, PartialEq)]
    struct Thing {
        name: Option<String>,
        inner: Option<Box<Thing>>,
        tags: Option<Vec<String>>,
    }

    impl DecodeFields for Thing {
        const NAME: &'static str = "Thing";

        fn decode_field<'de, A: MapAccess<'de>>(
            &mut self,
            old: &mut Self,
            key: &str,
            map: &mut A,
        ) -> Result<(), A::Error> {
            use crate::decoding::in_place::Reuse;
            match key {
                "Name" => map.next_value_seed(Reuse {
                    place: &mut self.name,
                    old: &mut old.name,
                })?,
                "Inner" => map.next_value_seed(Reuse {
                    place: &mut self.inner,
                    old: &mut old.inner,
                })?,
                "Tags" => map.next_value_seed(Reuse {
                    place: &mut self.tags,
                    old: &mut old.tags,
                })?,
                _ => {
                    map.next_value::<de::IgnoredAny>()?;
                }
            }
            Ok(())
        }
    }

    impl<'de> Deserialize<'de> for Thing {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            deserialize_fields(deserializer)
        }
    }

    impl<'de> crate::decoding::DecodeInPlace<'de> for Thing {
        fn decode_in_place<D: Deserializer<'de>>(deserializer: D, place: &mut Self) -> Result<(), D::Error> {
            deserialize_fields_in_place(deserializer, place)
        }
    }

    #[test]
    fn a_struct_decoded_in_place_is_the_struct_decoded_anew() {
        use crate::decoding::DecodeInPlace;
        let mut held = Thing::default();
        for json in [
            r#"{"Name": "a", "Inner": {"Name": "b", "Tags": ["t", "u"]}, "Tags": ["x"]}"#,
            r#"{"Inner": {"Tags": ["v"]}}"#,
            r#"{"Name": "c", "Inner": null, "Tags": []}"#,
            r#"{"Name": "d", "Name": "e", "Unknown": 1}"#,
            "{}",
        ] {
            let fresh: Thing = serde_json::from_str(json).unwrap();
            Thing::decode_in_place(&mut serde_json::Deserializer::from_str(json), &mut held).unwrap();
            assert_eq!(held, fresh, "{json}");
        }
        let error = Thing::decode_in_place(&mut serde_json::Deserializer::from_str("[1]"), &mut held).unwrap_err();
        assert!(error.to_string().contains("expected struct Thing"), "{error}");
    }

    #[test]
    fn known_keys_fill_fields_and_the_rest_is_skipped() {
        let json = r#"{"Unknown": {"deep": [1, {"x": null}]}, "Name": "a", "Inner": {"Name": "b", "Tags": ["t"]}, "Tags": null}"#;
        let thing: Thing = serde_json::from_str(json).unwrap();
        assert_eq!(thing.name.as_deref(), Some("a"));
        assert_eq!(thing.tags, None, "null is None");
        let inner = thing.inner.unwrap();
        assert_eq!(
            (inner.name.as_deref(), inner.tags),
            (Some("b"), Some(vec!["t".to_owned()]))
        );
        assert_eq!(serde_json::from_str::<Thing>("{}").unwrap(), Thing::default());
    }

    #[test]
    fn escaped_keys_owned_values_and_repeated_keys() {
        // A key with an escape cannot be borrowed from the input; it still matches.
        let thing: Thing = serde_json::from_str(r#"{"N\u0061me": "escaped"}"#).unwrap();
        assert_eq!(thing.name.as_deref(), Some("escaped"));
        // From a JSON value the keys are owned strings.
        let value = serde_json::json!({"Name": "from a value", "Tags": ["x"]});
        let thing: Thing = serde_json::from_value(value).unwrap();
        assert_eq!(thing.name.as_deref(), Some("from a value"));
        let thing: Thing = serde_json::from_str(r#"{"Name": "first", "Name": "last"}"#).unwrap();
        assert_eq!(thing.name.as_deref(), Some("last"));
    }

    #[test]
    fn what_is_not_an_object_is_an_error_naming_the_struct() {
        for json in ["[1, 2]", "\"text\"", "3"] {
            let error = serde_json::from_str::<Thing>(json).unwrap_err().to_string();
            assert!(error.contains("expected struct Thing"), "{json}: {error}");
        }
        let error = serde_json::from_str::<Thing>(r#"{"Name": 5}"#).unwrap_err().to_string();
        assert!(
            error.contains("invalid type: integer `5`, expected a string"),
            "{error}"
        );
    }
}
