//! BuildKit, as a client of the daemon's builder meets it: the progress a build reports
//! ([`Aux`], [`StatusResponse`]) and the session that serves a build what it asks the client for
//! ([`BuildSession`]: the context, secrets, ssh agents, registry credentials, outputs).

mod filesync;
mod grpc;
mod memory;
mod patterns;
mod progress;
mod session;

pub use progress::{Aux, StatusResponse, Timestamp, Vertex, VertexLog, VertexStatus, VertexWarning, TRACE_ID};
#[cfg(fuzzing)]
pub use session::fuzzing;
pub use session::{
    BuildOutput, BuildSession, RunningSession, SecretSource, SessionBuild, SessionReport, REMOTE_CLIENT_SESSION,
};
