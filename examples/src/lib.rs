//! What every example shares: connecting as the Docker CLI does, and turning an error into a
//! message and an exit status instead of a panic.

pub mod registry;

use std::future::Future;
use std::process::ExitCode;

use docker_engine_runtime::{Output, OutputStream};
pub use docker_engine_v1_41::Docker;
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

pub type Failure = Box<dyn std::error::Error + Send + Sync>;

/// Connects from `DOCKER_HOST`, `DOCKER_TLS_VERIFY`, `DOCKER_CERT_PATH`, `DOCKER_CONTEXT` and
/// `~/.docker/config.json`, falling back to the local socket.
pub fn connect() -> Result<Docker, Failure> {
    Ok(Docker::from_env()?)
}

/// Runs `program` on a Tokio runtime; an error is printed as `error: ...` with exit status 1.
pub fn run<F>(program: F) -> ExitCode
where
    F: Future<Output = Result<ExitCode, Failure>>,
{
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(program);
    // A read of stdin may still be blocked on its thread; waiting for it would hang the exit.
    runtime.shutdown_background();
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Writes a container's output to ours until it ends: its stderr to our stderr, the rest (or the
/// single stream of a TTY) to our stdout. Each piece is flushed as it comes, for interactive use
/// and because `run` abandons unflushed writes when it shuts the runtime down.
pub async fn copy_output(mut output: OutputStream) -> Result<(), Failure> {
    let (mut stdout, mut stderr) = (tokio::io::stdout(), tokio::io::stderr());
    while let Some(piece) = output.next().await {
        match piece? {
            Output::StdErr(bytes) => {
                stderr.write_all(&bytes).await?;
                stderr.flush().await?;
            }
            other => {
                stdout.write_all(other.bytes()).await?;
                stdout.flush().await?;
            }
        }
    }
    Ok(())
}

/// A container's exit status as this process's own, as `docker run` does: 0–255 pass through.
pub fn exit_code(status: i64) -> ExitCode {
    ExitCode::from(u8::try_from(status).unwrap_or(u8::MAX))
}

/// Shortens a 64-hex-digit id (with or without `sha256:`) to the 12 the CLI shows.
pub fn short_id(id: &str) -> &str {
    let id = id.strip_prefix("sha256:").unwrap_or(id);
    &id[..id.len().min(12)]
}

/// Splits `repository[:tag]`; a colon before the last `/` belongs to a registry's port.
pub fn split_reference(reference: &str) -> (&str, Option<&str>) {
    match reference.rsplit_once(':') {
        Some((repository, tag)) if !tag.contains('/') => (repository, Some(tag)),
        _ => (reference, None),
    }
}
