//! What every generated struct, open enumeration and request builder implements alike, written
//! once here: a generated crate names its types, wire names and answers, and the runtime writes
//! the implementations.

/// Implements [`DecodeFields`](crate::DecodeFields) and `Deserialize` for a generated struct:
/// `$name` is the spec's name for it (in error messages), and each wire name (and each alias
/// after it, `"Parents" | " Parents"`) decodes into its field; any other key is read and dropped.
/// The first list names `Option` fields; the `plain` list after it, fields that hold their value
/// itself, which a missing key or `null` leaves at the type's default.
#[macro_export]
macro_rules! decode_fields {
    (
        $type:ident,
        $name:literal,
        { $($wire:literal $(| $alias:literal)* => $field:ident),* $(,)? }
        $(, plain { $($plain_wire:literal $(| $plain_alias:literal)* => $plain_field:ident),* $(,)? })?
    ) => {
        impl $crate::DecodeFields for $type {
            const NAME: &'static str = $name;
            fn decode_field<'de, A: $crate::__serde::de::MapAccess<'de>>(
                &mut self,
                old: &mut Self,
                key: &str,
                map: &mut A,
            ) -> ::core::result::Result<(), A::Error> {
                match key {
                    $($wire $(| $alias)* => map.next_value_seed($crate::Reuse { place: &mut self.$field, old: &mut old.$field })?,)*
                    $($($plain_wire $(| $plain_alias)* => {
                        map.next_value_seed($crate::ReusePlain { place: &mut self.$plain_field, old: &mut old.$plain_field })?
                    })*)?
                    _ => {
                        map.next_value::<$crate::__serde::de::IgnoredAny>()?;
                    }
                }
                Ok(())
            }
        }

        impl<'de> $crate::__serde::Deserialize<'de> for $type {
            fn deserialize<D: $crate::__serde::Deserializer<'de>>(
                deserializer: D,
            ) -> ::core::result::Result<Self, D::Error> {
                $crate::deserialize_fields(deserializer)
            }
        }

        impl<'de> $crate::DecodeInPlace<'de> for $type {
            fn decode_in_place<D: $crate::__serde::Deserializer<'de>>(
                deserializer: D,
                place: &mut Self,
            ) -> ::core::result::Result<(), D::Error> {
                $crate::deserialize_fields_in_place(deserializer, place)
            }
        }
    };
}

/// Implements an open enumeration's methods and conversions for a generated enum of unit
/// variants and `Other(String)`: each listed value is its variant, any other value is kept in
/// `Other` as sent, and values serialize as the daemon spells them.
#[macro_export]
macro_rules! open_enum {
    ($type:ident, { $($value:literal => $variant:ident),* $(,)? }) => {
        impl $type {
            /// The value as the daemon spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $value,)*
                    Self::Other(other) => other,
                }
            }

            fn known(value: &str) -> ::core::option::Option<Self> {
                match value {
                    $($value => Some(Self::$variant),)*
                    _ => None,
                }
            }
        }

        /// The empty value, which a required field the daemon left out decodes to.
        impl ::core::default::Default for $type {
            fn default() -> Self {
                Self::from("")
            }
        }

        impl ::core::convert::From<&str> for $type {
            fn from(value: &str) -> Self {
                Self::known(value).unwrap_or_else(|| Self::Other(value.to_owned()))
            }
        }

        impl ::core::convert::From<::std::string::String> for $type {
            fn from(value: ::std::string::String) -> Self {
                Self::known(&value).unwrap_or(Self::Other(value))
            }
        }

        impl $crate::__serde::Serialize for $type {
            fn serialize<S: $crate::__serde::Serializer>(&self, serializer: S) -> ::core::result::Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> $crate::__serde::Deserialize<'de> for $type {
            fn deserialize<D: $crate::__serde::Deserializer<'de>>(deserializer: D) -> ::core::result::Result<Self, D::Error> {
                $crate::deserialize_open_enum(deserializer)
            }
        }

        impl<'de> $crate::DecodeInPlace<'de> for $type {
            fn decode_in_place<D: $crate::__serde::Deserializer<'de>>(
                deserializer: D,
                place: &mut Self,
            ) -> ::core::result::Result<(), D::Error> {
                *place = $crate::deserialize_open_enum(deserializer)?;
                Ok(())
            }
        }

        impl ::core::convert::From<$type> for ::std::string::String {
            fn from(value: $type) -> ::std::string::String {
                match value {
                    $type::Other(other) => other,
                    known => known.as_str().to_owned(),
                }
            }
        }

        impl ::std::fmt::Display for $type {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// Makes awaiting a generated request builder send it: `IntoFuture` with `send`'s future, boxed.
/// Inline, so that only the operations a program awaits are compiled, in that program: boxing
/// every `send` future in the generated crate took a third of its build.
#[macro_export]
macro_rules! send_on_await {
    ($builder:ident => $output:ty) => {
        impl ::core::future::IntoFuture for $builder {
            type Output = $crate::Result<$output>;
            type IntoFuture =
                ::core::pin::Pin<::std::boxed::Box<dyn ::core::future::Future<Output = Self::Output> + Send>>;
            #[inline]
            fn into_future(self) -> Self::IntoFuture {
                ::std::boxed::Box::pin(self.send())
            }
        }
    };
}

#[cfg(test)]
mod tests {
    #[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
    struct Probe {
        #[serde(rename = "Name", skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        #[serde(rename = "Size", skip_serializing_if = "Option::is_none")]
        size: Option<i64>,
    }
    decode_fields!(Probe, "Probe", { "Name" => name, "Size" => size });

    #[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
    struct Required {
        #[serde(rename = "Note", skip_serializing_if = "Option::is_none")]
        note: Option<String>,
        #[serde(rename = "Id")]
        id: String,
        #[serde(rename = "Scope")]
        scope: Scope,
    }
    decode_fields!(Required, "Required", { "Note" => note }, plain { "Id" => id, "Scope" => scope });

    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Scope {
        Local,
        Global,
        Other(String),
    }
    open_enum!(Scope, { "local" => Local, "global" => Global });

    #[test]
    fn a_struct_reads_its_wire_names_and_skips_the_rest() {
        let probe: Probe = serde_json::from_str(r#"{"Name":"a","Extra":[1],"Size":3}"#).unwrap();
        assert_eq!((probe.name.as_deref(), probe.size), (Some("a"), Some(3)));
        let error = serde_json::from_str::<Probe>("[1]").unwrap_err().to_string();
        assert!(error.contains("struct Probe"), "{error}");
    }

    #[test]
    fn a_plain_field_missing_or_null_is_its_default() {
        let given: Required = serde_json::from_str(r#"{"Id":"abc","Scope":"global"}"#).unwrap();
        assert_eq!(
            (given.id.as_str(), &given.scope, given.note),
            ("abc", &Scope::Global, None)
        );
        for text in [r#"{}"#, r#"{"Id":null,"Scope":null}"#] {
            let missing: Required = serde_json::from_str(text).unwrap();
            assert_eq!(
                missing,
                Required {
                    note: None,
                    id: String::new(),
                    scope: Scope::Other(String::new())
                },
                "{text}"
            );
        }
        let error = serde_json::from_str::<Required>(r#"{"Id":7}"#).unwrap_err().to_string();
        assert!(error.contains("expected a string"), "{error}");
    }

    #[test]
    fn a_plain_field_decoded_in_place_is_what_a_fresh_decode_gives() {
        let mut held: Required = serde_json::from_str(r#"{"Id":"first","Scope":"local"}"#).unwrap();
        for text in [
            r#"{"Id":"second"}"#,
            r#"{"Id":null,"Scope":"global"}"#,
            r#"{"Id":"a","Id":"b"}"#,
        ] {
            let fresh: Required = serde_json::from_str(text).unwrap();
            crate::decoding::DecodeInPlace::decode_in_place(&mut serde_json::Deserializer::from_str(text), &mut held)
                .unwrap();
            assert_eq!(held, fresh, "{text}");
        }
    }

    #[test]
    fn an_enum_keeps_what_it_does_not_list_and_spells_values_back() {
        let scopes: Vec<Scope> = serde_json::from_str(r#"["local","swarm"]"#).unwrap();
        assert_eq!(scopes, [Scope::Local, Scope::Other("swarm".into())]);
        assert_eq!(serde_json::to_string(&scopes).unwrap(), r#"["local","swarm"]"#);
        assert_eq!(Scope::Global.to_string(), "global");
        assert_eq!(String::from(Scope::Other("x".into())), "x");
    }
}
