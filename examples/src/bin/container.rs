//! Everyday operations on one container, as the `docker container` commands do them.
//!
//! ```text
//! cargo run -p docker-examples --bin container -- inspect web
//! cargo run -p docker-examples --bin container -- top web
//! cargo run -p docker-examples --bin container -- stats web db
//! cargo run -p docker-examples --bin container -- logs --follow --tail 20 --timestamps web
//! cargo run -p docker-examples --bin container -- rename web web-old
//! cargo run -p docker-examples --bin container -- pause web
//! cargo run -p docker-examples --bin container -- unpause web
//! cargo run -p docker-examples --bin container -- kill --signal SIGHUP web
//! cargo run -p docker-examples --bin container -- rm --force web
//! ```

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use docker_engine_v1_41::models::{ContainerCpuStats, ContainerStatsResponse};
use docker_examples::{connect, copy_output, run, Docker, Failure};
use futures_util::{stream, StreamExt};

#[derive(Parser)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Prints everything the daemon knows of the container, as JSON.
    Inspect {
        container: String,
    },
    /// Lists the container's processes.
    Top {
        container: String,
        /// Options for `ps`, e.g. `-ef` or `aux`.
        #[arg(long)]
        ps_args: Option<String>,
    },
    /// A live table of CPU, memory, network and disk use, refreshed as samples arrive.
    Stats {
        #[arg(required = true)]
        containers: Vec<String>,
        /// Stop after this many samples of each container.
        #[arg(long)]
        samples: Option<usize>,
    },
    /// Prints the container's output.
    Logs {
        container: String,
        /// Keep printing new output until the container stops.
        #[arg(short, long)]
        follow: bool,
        /// Only the last N lines.
        #[arg(long)]
        tail: Option<String>,
        /// Prefix every line with its time.
        #[arg(short, long)]
        timestamps: bool,
        /// Only output since this Unix time, in seconds.
        #[arg(long)]
        since: Option<i64>,
    },
    Rename {
        container: String,
        new_name: String,
    },
    Pause {
        container: String,
    },
    Unpause {
        container: String,
    },
    /// Sends a signal to the container's main process.
    Kill {
        container: String,
        /// A name (`SIGHUP`, `HUP`) or number; the daemon's default is SIGKILL.
        #[arg(short, long)]
        signal: Option<String>,
    },
    /// Removes the container.
    Rm {
        container: String,
        /// Kill it first if it runs.
        #[arg(short, long)]
        force: bool,
        /// Remove its anonymous volumes too.
        #[arg(short, long)]
        volumes: bool,
    },
}

fn main() -> ExitCode {
    run(dispatch(Args::parse()))
}

async fn dispatch(args: Args) -> Result<ExitCode, Failure> {
    let docker = connect()?;
    let containers = docker.containers();
    match args.command {
        Command::Inspect { container } => {
            let details = containers.inspect(container).send().await?;
            println!("{}", serde_json::to_string_pretty(&details)?);
        }
        Command::Top { container, ps_args } => {
            let mut request = containers.top(container);
            if let Some(ps_args) = ps_args {
                request = request.ps_args(ps_args);
            }
            let top = request.send().await?;
            println!("{}", top.titles.unwrap_or_default().join("\t"));
            for process in top.processes.unwrap_or_default() {
                println!("{}", process.join("\t"));
            }
        }
        Command::Stats { containers, samples } => stats(&docker, containers, samples).await?,
        Command::Logs {
            container,
            follow,
            tail,
            timestamps,
            since,
        } => logs(&docker, &container, follow, tail, timestamps, since).await?,
        Command::Rename { container, new_name } => containers.rename(container, new_name).send().await?,
        Command::Pause { container } => containers.pause(container).send().await?,
        Command::Unpause { container } => containers.unpause(container).send().await?,
        Command::Kill { container, signal } => {
            let mut request = containers.kill(container);
            if let Some(signal) = signal {
                request = request.signal(signal);
            }
            request.send().await?
        }
        Command::Rm {
            container,
            force,
            volumes,
        } => containers.delete(container).force(force).v(volumes).send().await?,
    }
    Ok(ExitCode::SUCCESS)
}

async fn logs(
    docker: &Docker,
    container: &str,
    follow: bool,
    tail: Option<String>,
    timestamps: bool,
    since: Option<i64>,
) -> Result<(), Failure> {
    // A container with a TTY has one unframed output stream, which the client tells apart
    // from stdout and stderr frames by its first bytes.
    let mut request = docker
        .containers()
        .logs(container)
        .stdout(true)
        .stderr(true)
        .follow(follow)
        .timestamps(timestamps);
    if let Some(tail) = tail {
        request = request.tail(tail);
    }
    if let Some(since) = since {
        request = request.since(since);
    }
    copy_output(request.send().await?).await
}

/// One row of the stats table, computed as the Docker CLI computes it.
struct Row {
    cpu_percent: f64,
    memory_used: f64,
    memory_limit: f64,
    network: (f64, f64),
    block: (f64, f64),
    pids: u64,
}

impl Row {
    fn from_sample(sample: &ContainerStatsResponse) -> Row {
        let (cpu, precpu) = (
            sample.cpu_stats.clone().unwrap_or_default(),
            sample.precpu_stats.clone().unwrap_or_default(),
        );
        let total_usage =
            |stats: &ContainerCpuStats| stats.cpu_usage.as_ref().and_then(|u| u.total_usage).unwrap_or(0) as f64;
        let cpu_delta = total_usage(&cpu) - total_usage(&precpu);
        let system_delta = cpu.system_cpu_usage.unwrap_or(0) as f64 - precpu.system_cpu_usage.unwrap_or(0) as f64;
        let online_cpus = match cpu.online_cpus {
            Some(cpus) if cpus > 0 => f64::from(cpus),
            _ => cpu
                .cpu_usage
                .as_ref()
                .and_then(|usage| usage.percpu_usage.as_ref())
                .map_or(1.0, |cpus| cpus.len() as f64),
        };
        let cpu_percent = if cpu_delta > 0.0 && system_delta > 0.0 {
            cpu_delta / system_delta * online_cpus * 100.0
        } else {
            0.0
        };
        let memory = sample.memory_stats.clone().unwrap_or_default();
        let memory_stat = |name: &str| {
            memory
                .stats
                .as_ref()
                .and_then(|stats| stats.get(name).copied().flatten())
                .unwrap_or(0) as f64
        };
        // Page cache is not the container's own use: cgroup v2 calls it inactive_file, v1 cache.
        let cache = match memory_stat("inactive_file") {
            0.0 => memory_stat("cache"),
            inactive => inactive,
        };
        let memory_used = (memory.usage.unwrap_or(0) as f64 - cache).max(0.0);
        let network =
            sample
                .networks
                .iter()
                .flat_map(|networks| networks.values())
                .fold((0.0, 0.0), |(rx, tx), interface| {
                    (
                        rx + interface.rx_bytes.unwrap_or(0) as f64,
                        tx + interface.tx_bytes.unwrap_or(0) as f64,
                    )
                });
        let block = sample
            .blkio_stats
            .as_ref()
            .and_then(|blkio| blkio.io_service_bytes_recursive.as_ref())
            .into_iter()
            .flatten()
            .fold((0.0, 0.0), |(read, write), entry| {
                let bytes = entry.value.unwrap_or(0) as f64;
                match entry.op.as_deref().map(str::to_ascii_lowercase).as_deref() {
                    Some("read") => (read + bytes, write),
                    Some("write") => (read, write + bytes),
                    _ => (read, write),
                }
            });
        Row {
            cpu_percent,
            memory_used,
            memory_limit: memory.limit.unwrap_or(0) as f64,
            network,
            block,
            pids: sample.pids_stats.as_ref().and_then(|pids| pids.current).unwrap_or(0),
        }
    }
}

fn human(bytes: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1}{}", UNITS[unit])
}

async fn stats(docker: &Docker, containers: Vec<String>, samples: Option<usize>) -> Result<(), Failure> {
    let mut streams = Vec::new();
    for container in containers {
        let samples_of_one = docker.containers().stats(&container).stream(true).send().await?;
        let limited = samples_of_one.take(samples.unwrap_or(usize::MAX));
        streams.push(limited.map(move |sample| (container.clone(), sample)).boxed());
    }
    let mut merged = stream::select_all(streams);
    let refresh_in_place = std::io::stdout().is_terminal();
    let mut table: BTreeMap<String, Row> = BTreeMap::new();
    while let Some((container, sample)) = merged.next().await {
        table.insert(container, Row::from_sample(&sample?));
        let mut out = std::io::stdout().lock();
        if refresh_in_place {
            write!(out, "\x1b[2J\x1b[H")?;
        }
        writeln!(
            out,
            "{:<20} {:>7} {:>22} {:>20} {:>20} {:>5}",
            "CONTAINER", "CPU %", "MEM USAGE / LIMIT", "NET I/O", "BLOCK I/O", "PIDS"
        )?;
        for (name, row) in &table {
            writeln!(
                out,
                "{name:<20} {:>6.2}% {:>22} {:>20} {:>20} {:>5}",
                row.cpu_percent,
                format!("{} / {}", human(row.memory_used), human(row.memory_limit)),
                format!("{} / {}", human(row.network.0), human(row.network.1)),
                format!("{} / {}", human(row.block.0), human(row.block.1)),
                row.pids
            )?;
        }
        out.flush()?;
    }
    Ok(())
}
