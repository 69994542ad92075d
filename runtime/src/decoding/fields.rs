//! The `Deserialize` every generated struct shares: an object read key by key into the struct's
//! default, each known key's value decoded into its field, unknown keys skipped. serde's derive
//! wrote about three times the code per struct (a field enum, a sequence visitor, a slot per
//! field), and type-checking it was most of a generated crate's build.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

/// A generated struct's fields, decoded one key at a time.
pub trait DecodeFields: Default {
    /// The struct's name, for error messages.
    const NAME: &'static str;

    /// Decodes the value of `key` (the name on the wire) from `map` into its field; the value of
    /// a key the struct does not know is read and dropped.
    fn decode_field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error>;
}

/// Deserializes a generated struct from an object. A missing or `null` field is `None`; of a
/// key given twice, the last value is kept.
pub fn deserialize_fields<'de, D: Deserializer<'de>, T: DecodeFields>(deserializer: D) -> Result<T, D::Error> {
    deserializer.deserialize_map(FieldsVisitor(PhantomData))
}

struct FieldsVisitor<T>(PhantomData<T>);

impl<'de, T: DecodeFields> Visitor<'de> for FieldsVisitor<T> {
    type Value = T;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        write!(formatter, "struct {}", T::NAME)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
        let mut value = T::default();
        while let Some(Key(key)) = map.next_key()? {
            value.decode_field(&key, &mut map)?;
        }
        Ok(value)
    }
}

/// An object key, borrowed from the input where it can be (no escapes), so decoding a struct
/// allocates nothing for its keys.
struct Key<'de>(Cow<'de, str>);

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

        fn decode_field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
            match key {
                "Name" => self.name = map.next_value()?,
                "Inner" => self.inner = map.next_value()?,
                "Tags" => self.tags = map.next_value()?,
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
