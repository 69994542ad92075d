//! Decoding the generated crates' open enumerations, whose values the spec lists but the daemon
//! may extend.

use std::fmt;
use std::marker::PhantomData;

/// Deserializes an open enumeration from the string the daemon sent: a listed value becomes its
/// variant without allocating, as serde's `from = "String"` would for every value; an unlisted
/// one is kept (`From<String>` takes an owned string without copying it again).
pub fn deserialize_open_enum<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: for<'a> From<&'a str> + From<String>,
{
    struct OpenEnumVisitor<T>(PhantomData<T>);

    impl<T> serde::de::Visitor<'_> for OpenEnumVisitor<T>
    where
        T: for<'a> From<&'a str> + From<String>,
    {
        type Value = T;

        fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
            formatter.write_str("a string")
        }

        fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<T, E> {
            Ok(T::from(value))
        }

        fn visit_string<E: serde::de::Error>(self, value: String) -> Result<T, E> {
            Ok(T::from(value))
        }
    }

    deserializer.deserialize_str(OpenEnumVisitor(PhantomData))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    enum Scope {
        Local,
        Other(String),
    }

    impl From<&str> for Scope {
        fn from(value: &str) -> Self {
            match value {
                "local" => Scope::Local,
                other => Scope::Other(other.to_owned()),
            }
        }
    }

    impl From<String> for Scope {
        fn from(value: String) -> Self {
            match value.as_str() {
                "local" => Scope::Local,
                _ => Scope::Other(value),
            }
        }
    }

    fn decode(json: &str) -> Result<Scope, serde_json::Error> {
        deserialize_open_enum(&mut serde_json::Deserializer::from_str(json))
    }

    #[test]
    fn listed_and_unlisted_values_decode_from_borrowed_and_owned_strings() {
        assert_eq!(decode(r#""local""#).unwrap(), Scope::Local);
        assert_eq!(decode(r#""swarm""#).unwrap(), Scope::Other("swarm".into()));
        // An escape makes serde_json hand over an owned string.
        assert_eq!(decode(r#""loc\u0061l""#).unwrap(), Scope::Local);
        assert_eq!(decode(r#""sw\u0061rm""#).unwrap(), Scope::Other("swarm".into()));
        let from_value = deserialize_open_enum::<_, Scope>(serde_json::json!("local")).unwrap();
        assert_eq!(from_value, Scope::Local);
    }

    #[test]
    fn a_value_that_is_not_a_string_is_an_error() {
        let error = decode("42").unwrap_err().to_string();
        assert!(error.contains("expected a string"), "{error}");
    }
}
