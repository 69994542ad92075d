//! What every example shares: connecting as the Docker CLI does, and turning an error into a
//! message and an exit status instead of a panic.

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
/// Output to a closed pipe ends the program as it ends other tools, by SIGPIPE.
pub fn run<F>(program: F) -> ExitCode
where
    F: Future<Output = Result<ExitCode, Failure>>,
{
    // A print to a reader that left (`container inspect web | head`) panics in Rust, which
    // ignores SIGPIPE so that a closed socket is an error rather than death; that one panic is
    // kept quiet here, and the program ends as other tools end, by SIGPIPE.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !closed_stdout(info.payload()) {
            default_hook(info);
        }
    }));
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| runtime.block_on(program)));
    // A read of stdin may still be blocked on its thread; waiting for it would hang the exit.
    runtime.shutdown_background();
    match outcome {
        Ok(Ok(code)) => code,
        Ok(Err(e))
            if e.downcast_ref::<std::io::Error>().map(std::io::Error::kind) == Some(std::io::ErrorKind::BrokenPipe) =>
        {
            end_by_sigpipe()
        }
        Ok(Err(e)) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
        Err(panic) if closed_stdout(panic.as_ref()) => end_by_sigpipe(),
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// Whether a panic is `println!`'s on a standard output whose reader has left.
fn closed_stdout(payload: &(dyn std::any::Any + Send)) -> bool {
    let message = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or_default();
    message.starts_with("failed printing to stdout") && message.contains("Broken pipe")
}

/// Ends the process by SIGPIPE, as a program that wrote to a closed pipe ends by default.
fn end_by_sigpipe() -> ExitCode {
    // SAFETY: restores the signal's default action and raises it; nothing runs after it.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        libc::raise(libc::SIGPIPE);
    }
    ExitCode::from(141)
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

/// A time as the Docker CLI takes it for `--since` and `--until` (Unix seconds with an optional
/// fraction, an RFC 3339 time, or a duration before `now` such as `10m` or `1h30m`), as the Unix
/// seconds the daemon takes.
pub fn unix_seconds(text: &str, now: std::time::SystemTime) -> Result<String, Failure> {
    let text = text.trim();
    if !text.is_empty() && text.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return Ok(text.to_owned());
    }
    let now = now.duration_since(std::time::UNIX_EPOCH)?.as_secs_f64();
    if let Some(ago) = duration_seconds(text) {
        return Ok(format!("{:.0}", (now - ago).floor()));
    }
    if let Some(seconds) = rfc3339_seconds(text) {
        return Ok(seconds.to_string());
    }
    Err(format!("{text:?} is not Unix seconds, an RFC 3339 time or a duration such as 10m").into())
}

/// `1h30m`, `10m`, `2.5s`, `0s` in seconds (Go's duration units from `ns` to `h`).
fn duration_seconds(text: &str) -> Option<f64> {
    let mut total = 0.0;
    let mut rest = text;
    while !rest.is_empty() {
        let number_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let number: f64 = rest[..number_end].parse().ok()?;
        rest = &rest[number_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_end] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            _ => return None,
        };
        total += number * scale;
        rest = &rest[unit_end..];
    }
    (!text.is_empty()).then_some(total)
}

/// `2026-12-01T20:30:00Z`, with an optional fraction and a `Z` or `±hh:mm` offset.
fn rfc3339_seconds(text: &str) -> Option<i64> {
    let number = |range: std::ops::Range<usize>| text.get(range)?.parse::<i64>().ok();
    let bytes = text.as_bytes();
    if bytes.len() < 20 || bytes[4] != b'-' || bytes[7] != b'-' || !matches!(bytes[10], b'T' | b't' | b' ') {
        return None;
    }
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    let mut zone = &text[19..];
    if let Some(fraction) = zone.strip_prefix('.') {
        zone = fraction.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    let offset = match zone {
        "Z" | "z" => 0,
        _ => {
            let sign = match zone.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let (hours, minutes) = zone[1..].split_once(':')?;
            sign * (hours.parse::<i64>().ok()? * 3600 + minutes.parse::<i64>().ok()? * 60)
        }
    };
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    // Days from 1970-01-01 to the date, by the civil calendar.
    let (y, m) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * m + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - offset)
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

/// The README's Rust blocks, each compiled by `cargo test --doc` against this crate's
/// dependencies (the v1.41 crate with `mock` and `buildkit`, the Registry crate), so that what a
/// user copies from it builds as it stands.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeSnippets;

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn times_are_read_as_the_cli_reads_them() {
        let now = UNIX_EPOCH + Duration::from_secs(1_764_620_000);
        assert_eq!(unix_seconds("1764600000", now).unwrap(), "1764600000");
        assert_eq!(unix_seconds("1764600000.5", now).unwrap(), "1764600000.5");
        assert_eq!(unix_seconds("10m", now).unwrap(), "1764619400");
        assert_eq!(unix_seconds("1h30m", now).unwrap(), "1764614600");
        assert_eq!(unix_seconds("0s", now).unwrap(), "1764620000");
        assert_eq!(unix_seconds("1970-01-01T00:00:00Z", now).unwrap(), "0");
        assert_eq!(unix_seconds("2026-12-01T20:30:00Z", now).unwrap(), "1796157000");
        assert_eq!(
            unix_seconds("2026-12-01T21:30:00.123+01:00", now).unwrap(),
            "1796157000"
        );
        assert_eq!(unix_seconds("2000-02-29T00:00:00-00:30", now).unwrap(), "951784200");
        for bad in ["", "yesterday", "10 minutes", "2026-13-01T00:00:00Z", "2026-12-01"] {
            let error = unix_seconds(bad, now).unwrap_err().to_string();
            assert!(error.contains("not Unix seconds"), "{bad}: {error}");
        }
    }
}
