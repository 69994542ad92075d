//! Watches the daemon's events, as `docker events` does, with its filters.
//!
//! ```text
//! cargo run -p docker-examples --bin events -- --filter type=container --filter event=start --filter event=die
//! cargo run -p docker-examples --bin events -- --since 10m --until 0s   # past events, then exit
//! ```

use std::process::ExitCode;

use clap::Parser;
use docker_engine_v1_41::Filters;
use docker_examples::{connect, run, short_id, unix_seconds, Failure};
use futures_util::StreamExt;

#[derive(Parser)]
struct Args {
    /// `key=value`, e.g. `type=container`, `event=die`, `container=web`, `label=app=shop`;
    /// repeated keys match any of their values.
    #[arg(short, long)]
    filter: Vec<String>,
    /// Events since this time: Unix seconds, RFC 3339, or a duration ago such as `10m`.
    #[arg(long)]
    since: Option<String>,
    /// Stop at this time, in the same forms; without it the watch goes on.
    #[arg(long)]
    until: Option<String>,
    /// Stop after this many events.
    #[arg(long)]
    count: Option<usize>,
}

fn main() -> ExitCode {
    run(watch(Args::parse()))
}

async fn watch(args: Args) -> Result<ExitCode, Failure> {
    let docker = connect()?;
    let mut filters = Filters::new();
    for filter in &args.filter {
        let (key, value) = filter
            .split_once('=')
            .ok_or_else(|| format!("--filter {filter}: expected key=value"))?;
        filters = filters.add(key, value);
    }
    let mut request = docker.system().events().filters(filters);
    // The daemon takes Unix seconds; the CLI's other forms are converted here, as it does.
    let now = std::time::SystemTime::now();
    if let Some(since) = args.since {
        request = request.since(unix_seconds(&since, now).map_err(|e| format!("--since: {e}"))?);
    }
    if let Some(until) = args.until {
        request = request.until(unix_seconds(&until, now).map_err(|e| format!("--until: {e}"))?);
    }
    let events = request.send().await?;
    let mut events = events.take(args.count.unwrap_or(usize::MAX));
    while let Some(event) = events.next().await {
        let event = event?;
        let actor = event.actor.unwrap_or_default();
        let name = actor
            .attributes
            .as_ref()
            .and_then(|attributes| attributes.get("name"))
            .map(|name| format!(" ({name})"))
            .unwrap_or_default();
        println!(
            "{} {} {} {}{name}",
            event.time.unwrap_or(0),
            event.type_.map(|t| t.to_string()).unwrap_or_default(),
            event.action.unwrap_or_default(),
            short_id(actor.id.as_deref().unwrap_or("")),
        );
    }
    Ok(ExitCode::SUCCESS)
}
