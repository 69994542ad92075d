//! Decoding into a value already held, keeping what it allocated: a string's buffer, a list's
//! elements, a map's keys and values, a struct's fields, each as deep as they go. A program
//! reading events, logs or progress keeps one message at a time; decoding each into the last
//! one's value ([`JsonStream::next_into`](crate::JsonStream::next_into)) spares the allocations
//! of all but what grew. The value decoded is always what a fresh decode would give: a field the
//! new message lacks is `None`, an entry it lacks is gone.

use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::fields::Key;

/// A type that decodes into a value of itself already held, reusing its allocations.
pub trait DecodeInPlace<'de>: Deserialize<'de> {
    /// Decodes into `place`, which ends up as [`Deserialize::deserialize`] would have made it.
    /// On an error, what `place` holds is unspecified (but valid).
    fn decode_in_place<D: Deserializer<'de>>(deserializer: D, place: &mut Self) -> Result<(), D::Error>;
}

/// Types that hold no allocation to keep are decoded anew.
macro_rules! decoded_anew {
    ($($type:ty),*) => {$(
        impl<'de> DecodeInPlace<'de> for $type {
            fn decode_in_place<D: Deserializer<'de>>(deserializer: D, place: &mut Self) -> Result<(), D::Error> {
                *place = Self::deserialize(deserializer)?;
                Ok(())
            }
        }
    )*};
}
decoded_anew!(bool, i8, i16, i32, i64, u8, u16, u32, u64, f32, f64, serde_json::Value);

impl<'de> DecodeInPlace<'de> for String {
    fn decode_in_place<D: Deserializer<'de>>(deserializer: D, place: &mut Self) -> Result<(), D::Error> {
        // serde's own: the text replaces the string's, in its buffer.
        String::deserialize_in_place(deserializer, place)
    }
}

impl<'de, T: DecodeInPlace<'de>> DecodeInPlace<'de> for Box<T> {
    fn decode_in_place<D: Deserializer<'de>>(deserializer: D, place: &mut Self) -> Result<(), D::Error> {
        T::decode_in_place(deserializer, place)
    }
}

impl<'de, T: DecodeInPlace<'de>> DecodeInPlace<'de> for Option<T> {
    fn decode_in_place<D: Deserializer<'de>>(deserializer: D, place: &mut Self) -> Result<(), D::Error> {
        let mut old = place.take();
        Reuse { place, old: &mut old }.deserialize(deserializer)
    }
}

/// Decodes an optional field into `place` from the value `old` held before: `null` is `None`,
/// anything else is decoded into `old`'s value, when there was one.
pub struct Reuse<'a, T> {
    pub place: &'a mut Option<T>,
    pub old: &'a mut Option<T>,
}

impl<'de, T: DecodeInPlace<'de>> DeserializeSeed<'de> for Reuse<'_, T> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de, T: DecodeInPlace<'de>> Visitor<'de> for Reuse<'_, T> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("an optional value")
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<(), E> {
        *self.place = None;
        Ok(())
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        self.visit_none()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        *self.place = Some(match self.old.take() {
            Some(mut value) => {
                T::decode_in_place(deserializer, &mut value)?;
                value
            }
            None => T::deserialize(deserializer)?,
        });
        Ok(())
    }
}

/// Decodes a field that holds its value itself (one the spec requires) into `place` from the
/// value `old` held before: `null` is the type's default, as a missing field is.
pub struct ReusePlain<'a, T> {
    pub place: &'a mut T,
    pub old: &'a mut T,
}

impl<'de, T: DecodeInPlace<'de> + Default> DeserializeSeed<'de> for ReusePlain<'_, T> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de, T: DecodeInPlace<'de> + Default> Visitor<'de> for ReusePlain<'_, T> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a value or null")
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<(), E> {
        *self.place = T::default();
        Ok(())
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        self.visit_none()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        std::mem::swap(self.place, self.old);
        T::decode_in_place(deserializer, self.place)
    }
}

/// Decodes into a value held, as a seed.
struct InPlace<'a, T>(&'a mut T);

impl<'de, T: DecodeInPlace<'de>> DeserializeSeed<'de> for InPlace<'_, T> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        T::decode_in_place(deserializer, self.0)
    }
}

impl<'de, T: DecodeInPlace<'de>> DecodeInPlace<'de> for Vec<T> {
    fn decode_in_place<D: Deserializer<'de>>(deserializer: D, place: &mut Self) -> Result<(), D::Error> {
        deserializer.deserialize_seq(ListVisitor(place))
    }
}

struct ListVisitor<'a, T>(&'a mut Vec<T>);

impl<'de, T: DecodeInPlace<'de>> Visitor<'de> for ListVisitor<'_, T> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a list")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let list = self.0;
        let mut decoded = 0;
        // The elements held are decoded into; more are pushed, fewer truncate the list.
        while decoded < list.len() {
            if seq.next_element_seed(InPlace(&mut list[decoded]))?.is_none() {
                list.truncate(decoded);
                return Ok(());
            }
            decoded += 1;
        }
        while let Some(element) = seq.next_element()? {
            list.push(element);
        }
        Ok(())
    }
}

impl<'de, V: DecodeInPlace<'de>> DecodeInPlace<'de> for HashMap<String, V> {
    fn decode_in_place<D: Deserializer<'de>>(deserializer: D, place: &mut Self) -> Result<(), D::Error> {
        deserializer.deserialize_map(MapVisitor(place, PhantomData))
    }
}

struct MapVisitor<'a, V>(&'a mut HashMap<String, V>, PhantomData<V>);

impl<'de, V: DecodeInPlace<'de>> Visitor<'de> for MapVisitor<'_, V> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a map")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let place = self.0;
        // The table is kept, emptied, and the last message's entries lend their key and value
        // buffers to this one's, whatever their keys: each is hashed once, on insertion, and a
        // message with the last one's keys allocates nothing. Only the first few are lent, so
        // that they can wait on the stack.
        let mut spare: [Option<(String, V)>; LENT_ENTRIES] = [const { None }; LENT_ENTRIES];
        let mut spares = 0;
        for entry in place.drain().take(LENT_ENTRIES) {
            spare[spares] = Some(entry);
            spares += 1;
        }
        while let Some(Key(key)) = map.next_key()? {
            let lent = spares.checked_sub(1).and_then(|last| {
                spares = last;
                spare[last].take()
            });
            let entry = match lent {
                Some((mut lent_key, mut value)) => {
                    lent_key.clear();
                    lent_key.push_str(&key);
                    map.next_value_seed(InPlace(&mut value))?;
                    (lent_key, value)
                }
                None => (key.into_owned(), map.next_value()?),
            };
            place.insert(entry.0, entry.1);
        }
        Ok(())
    }
}

/// How many entries of a map's last message lend their buffers to the next.
const LENT_ENTRIES: usize = 8;

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes each of `messages` into one value and anew, and checks they agree.
    fn agree<T>(messages: &[&str])
    where
        T: for<'de> DecodeInPlace<'de> + Default + PartialEq + fmt::Debug,
    {
        let mut held = T::default();
        for message in messages {
            let fresh: T = serde_json::from_str(message).unwrap();
            let mut deserializer = serde_json::Deserializer::from_str(message);
            T::decode_in_place(&mut deserializer, &mut held).unwrap();
            deserializer.end().unwrap();
            assert_eq!(held, fresh, "{message}");
        }
    }

    #[test]
    fn values_decoded_in_place_are_what_fresh_decodes_give() {
        agree::<Option<String>>(&[r#""a""#, "null", r#""longer""#, r#""b""#]);
        agree::<Vec<String>>(&[r#"["a","b"]"#, r#"["c"]"#, r#"["d","e","f"]"#, "[]"]);
        agree::<Vec<Option<i64>>>(&["[1,null,3]", "[null]", "[4,5]"]);
        agree::<HashMap<String, String>>(&[
            r#"{"image":"a","name":"x"}"#,
            r#"{"name":"y","exitCode":"0"}"#,
            "{}",
            r#"{"image":"b"}"#,
        ]);
        agree::<HashMap<String, Vec<String>>>(&[r#"{"a":["1","2"]}"#, r#"{"a":["3"],"b":[]}"#]);
        agree::<Box<u64>>(&["1", "2"]);
        agree::<serde_json::Value>(&[r#"{"a":1}"#, "[true]"]);
    }

    #[test]
    fn strings_lists_and_maps_keep_their_allocations() {
        let mut text = String::with_capacity(64);
        let buffer = text.as_ptr();
        String::decode_in_place(&mut serde_json::Deserializer::from_str(r#""short""#), &mut text).unwrap();
        assert_eq!((text.as_str(), text.as_ptr()), ("short", buffer));

        let mut map: HashMap<String, String> = serde_json::from_str(r#"{"name":"some container"}"#).unwrap();
        let value = map["name"].as_ptr();
        let json = r#"{"name":"other"}"#;
        HashMap::decode_in_place(&mut serde_json::Deserializer::from_str(json), &mut map).unwrap();
        assert_eq!((map["name"].as_str(), map["name"].as_ptr()), ("other", value));
        // Another key takes the buffers, and the table is the same.
        let (key, table) = (map.keys().next().unwrap().as_ptr(), map.capacity());
        let json = r#"{"image":"busybox"}"#;
        HashMap::decode_in_place(&mut serde_json::Deserializer::from_str(json), &mut map).unwrap();
        let (new_key, new_value) = map.iter().next().unwrap();
        assert_eq!((new_key.as_str(), new_value.as_str()), ("image", "busybox"));
        assert_eq!(
            (new_key.as_ptr(), new_value.as_ptr(), map.capacity()),
            (key, value, table)
        );
    }

    #[test]
    fn a_wrong_type_is_an_error_as_when_decoding_anew() {
        let mut held: Vec<String> = vec!["a".into()];
        let error = Vec::decode_in_place(&mut serde_json::Deserializer::from_str("[1]"), &mut held).unwrap_err();
        assert!(error.to_string().contains("expected a string"), "{error}");
        let mut held: HashMap<String, String> = HashMap::new();
        let error = HashMap::decode_in_place(&mut serde_json::Deserializer::from_str("[]"), &mut held).unwrap_err();
        assert!(error.to_string().contains("expected a map"), "{error}");
    }
}
