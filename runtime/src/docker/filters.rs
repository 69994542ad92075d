//! The `filters` query parameter of lists, prunes and the event stream: [`Filters`], a map any
//! program can build, and what the typed filter of each generated operation is made of (its
//! keys' descriptions, [`FilterTime`], and `filter_type!`).

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

/// Filter keys mapped to the values to match, sent as the JSON of a `map[string][]string`, the
/// encoding the specs document. Several values of one key match any of them; a key with no
/// values is a flag (`inuse`).
///
/// Each generated crate has a typed filter for every operation that takes filters, which knows
/// that version's keys (`ContainerListFilters`); this one is for filters built at run time, and
/// converts into any of them.
///
/// ```
/// let filters = docker_engine_runtime::Filters::new().add("label", "app=web").add("status", "running");
/// assert_eq!(filters.to_json(), r#"{"label":["app=web"],"status":["running"]}"#);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Filters(BTreeMap<String, Vec<String>>);

impl Filters {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `value` to the filter `key`.
    pub fn add(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.0.entry(key.into()).or_default().push(value.into());
        self
    }

    /// Sets the flag `key`: the key present, with no value.
    pub fn add_flag(mut self, key: impl Into<String>) -> Self {
        self.0.entry(key.into()).or_default();
        self
    }

    /// The values of `key`, in the order added; `None` when the key is absent.
    pub fn values(&self, key: &str) -> Option<&[String]> {
        self.0.get(key).map(Vec::as_slice)
    }

    /// The keys set, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.0).expect("a map of strings always serializes")
    }
}

/// A point in time as the daemon reads it in `until` and `since` filters: Unix seconds, a date
/// as written, or a duration counted back from the daemon's clock (not this machine's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterTime {
    /// This long before the daemon's present, sent as a Go duration (`90s`).
    Ago(Duration),
    /// This moment, sent as Unix seconds with nanoseconds.
    At(SystemTime),
    /// Sent as written (`2024-01-02T15:04:05Z`, `2024-01-02`).
    Written(String),
}

impl From<Duration> for FilterTime {
    fn from(ago: Duration) -> Self {
        FilterTime::Ago(ago)
    }
}

impl From<SystemTime> for FilterTime {
    fn from(at: SystemTime) -> Self {
        FilterTime::At(at)
    }
}

impl From<&str> for FilterTime {
    fn from(written: &str) -> Self {
        FilterTime::Written(written.to_owned())
    }
}

impl From<String> for FilterTime {
    fn from(written: String) -> Self {
        FilterTime::Written(written)
    }
}

impl fmt::Display for FilterTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FilterTime::Ago(ago) => f.write_str(&go_duration(*ago)),
            FilterTime::At(at) => match at.duration_since(UNIX_EPOCH) {
                Ok(since) => write!(f, "{}.{:09}", since.as_secs(), since.subsec_nanos()),
                Err(before) => {
                    let before = before.duration();
                    write!(f, "-{}.{:09}", before.as_secs(), before.subsec_nanos())
                }
            },
            FilterTime::Written(written) => f.write_str(written),
        }
    }
}

impl FilterTime {
    /// The time as a duration back from now, for a filter that reads only durations (the build
    /// cache's `until`): `Ago` as it is, `At` measured on this machine's clock (a moment to come
    /// is no time back), `Written` as written.
    pub fn to_go_duration(&self) -> String {
        match self {
            FilterTime::Ago(ago) => go_duration(*ago),
            FilterTime::At(at) => go_duration(SystemTime::now().duration_since(*at).unwrap_or_default()),
            FilterTime::Written(written) => written.clone(),
        }
    }
}

/// A duration as Go's `time.ParseDuration` reads it: whole seconds as `90s`, anything finer in
/// nanoseconds.
pub fn go_duration(duration: Duration) -> String {
    if duration.subsec_nanos() == 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{}ns", duration.as_nanos())
    }
}

/// One key of a generated filter type, as the spec of its version describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FilterKey {
    pub name: &'static str,
    pub form: FilterForm,
}

impl FilterKey {
    pub const fn new(name: &'static str, form: FilterForm) -> Self {
        FilterKey { name, form }
    }
}

/// What a filter key's values look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterForm {
    Text,
    /// One of these values (others are sent as written).
    Enum(&'static [&'static str]),
    Bool,
    Integer,
    /// A label's key alone, or key, separator and value; `negatable` where `label!=` matches
    /// objects without it.
    Label {
        negatable: bool,
        separator: char,
    },
    /// A [`FilterTime`].
    Timestamp,
    /// A Go duration only.
    Duration,
    /// The key alone.
    Flag,
}

/// Declares a generated operation's filter type: a [`Filters`] that the methods of that
/// operation's keys (generated beside it, with its `KEYS`) fill, plus `other` for keys a newer
/// daemon takes and the conversions from and to [`Filters`].
#[macro_export]
macro_rules! filter_type {
    ($(#[$attribute:meta])* $type:ident) => {
        $(#[$attribute])*
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        pub struct $type($crate::Filters);

        impl $type {
            pub fn new() -> Self {
                Self::default()
            }

            /// Adds `value` to a key this version's spec does not list (one a newer daemon
            /// takes).
            pub fn other(self, key: impl Into<::std::string::String>, value: impl Into<::std::string::String>) -> Self {
                Self(self.0.add(key, value))
            }

            pub fn is_empty(&self) -> bool {
                self.0.is_empty()
            }

            /// The keys and values set.
            pub fn as_filters(&self) -> &$crate::Filters {
                &self.0
            }
        }

        impl ::core::convert::From<$crate::Filters> for $type {
            fn from(filters: $crate::Filters) -> Self {
                Self(filters)
            }
        }

        impl ::core::convert::From<$type> for $crate::Filters {
            fn from(filters: $type) -> Self {
                filters.0
            }
        }

        impl $crate::__serde::Serialize for $type {
            fn serialize<S: $crate::__serde::Serializer>(&self, serializer: S) -> ::core::result::Result<S::Ok, S::Error> {
                self.0.serialize(serializer)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_grouped_by_key_and_a_flag_has_none() {
        let filters = Filters::new().add("label", "a=1").add("label", "b").add_flag("inuse");
        assert_eq!(filters.to_json(), r#"{"inuse":[],"label":["a=1","b"]}"#);
        assert_eq!(filters.values("label"), Some(&["a=1".to_owned(), "b".to_owned()][..]));
        assert_eq!(filters.values("inuse"), Some(&[][..]));
        assert_eq!(filters.keys().collect::<Vec<_>>(), ["inuse", "label"]);
    }

    #[test]
    fn times_are_written_as_the_daemon_reads_them() {
        assert_eq!(FilterTime::from(Duration::from_secs(5400)).to_string(), "5400s");
        assert_eq!(
            FilterTime::from(Duration::from_millis(1500)).to_string(),
            "1500000000ns"
        );
        let at = UNIX_EPOCH + Duration::new(1_700_000_000, 5);
        assert_eq!(FilterTime::from(at).to_string(), "1700000000.000000005");
        assert_eq!(FilterTime::from("2024-01-02").to_string(), "2024-01-02");
    }

    #[test]
    fn a_duration_only_filter_takes_any_time_as_a_duration_back_from_now() {
        assert_eq!(FilterTime::from(Duration::from_secs(90)).to_go_duration(), "90s");
        assert_eq!(FilterTime::from("24h").to_go_duration(), "24h");
        let hour_ago = SystemTime::now() - Duration::from_secs(3600);
        let text = FilterTime::from(hour_ago).to_go_duration();
        let nanos: u128 = text.strip_suffix("ns").unwrap().parse().unwrap();
        assert!((3_600_000_000_000..3_700_000_000_000).contains(&nanos), "{text}");
        let to_come = SystemTime::now() + Duration::from_secs(60);
        assert_eq!(FilterTime::from(to_come).to_go_duration(), "0s");
    }

    filter_type!(
        /// Filters of a made-up operation.
        ExampleFilters
    );

    #[test]
    fn a_filter_type_converts_from_and_to_filters_and_serializes_as_them() {
        let typed = ExampleFilters::from(Filters::new().add("status", "running")).other("until", "10m");
        assert_eq!(
            serde_json::to_string(&typed).unwrap(),
            r#"{"status":["running"],"until":["10m"]}"#
        );
        assert!(!typed.is_empty() && ExampleFilters::new().is_empty());
        assert_eq!(Filters::from(typed).values("until"), Some(&["10m".to_owned()][..]));
    }
}
