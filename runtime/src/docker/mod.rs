//! The Docker daemon's conventions above HTTP: where the daemon is (the CLI's environment and
//! contexts), `config.json` and its credential helpers, the typed values of query strings and
//! headers, the daemon's streaming bodies and hijacked sessions, path stats, and tar archives
//! of build contexts.

#[cfg(feature = "archive")]
mod archive;
pub(crate) mod config;
pub(crate) mod environment;
pub(crate) mod filters;
pub(crate) mod params;
mod path_stat;
pub(crate) mod session;
pub(crate) mod streams;

// What a session build from memory reads of an entry (`buildkit` turns `archive` on).
#[cfg(feature = "buildkit")]
pub(crate) use archive::TarEntryKind;
#[cfg(feature = "archive")]
pub use archive::{tar_directory, tar_entries, tar_files, TarEntry};
pub use config::{registry_of, DockerConfig, DEFAULT_CONTEXT, DOCKER_HUB_SERVER};
pub use environment::{Environment, DEFAULT_SOCKET};
pub use filters::{go_duration, FilterForm, FilterKey, FilterTime, Filters};
pub use params::{RegistryAuth, RegistryConfig};
pub use path_stat::PathStat;
pub use session::{Session, SessionInput};
pub use streams::{ByteStream, Framing, JsonStream, Output, OutputStream};
