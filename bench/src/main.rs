//! Our v1.41 client beside bollard, curl and docker-py (where Python has it), on the same
//! daemon, alternating round by round.
//!
//! `bench` sets up fixtures on the test daemon (`DOCKER_TEST_HOST`), runs every workload once
//! per client per round, each run in a child process so that its CPU time and peak RSS are its
//! own, prints the table and removes what it made. `bench worker CLIENT WORKLOAD SOCKET TARGET
//! PLACEMENT` is one such run; it prints the units it handled, seconds, CPU seconds and peak RSS
//! in KiB. The Rust clients run as a task on the runtime's workers, or with `--block-on` as the
//! future `block_on` drives, as in the body of `#[tokio::main]`.
//!
//! `bench transports` runs our client alone over each transport to the same daemon.
//!
//! `bench registry` copies a 200 MiB image between two of the test script's registries with our
//! Registry API client, beside the daemon's pull, tag and push (`registry.rs`).
//!
//! `bench session` builds a 200 MiB context with BuildKit, uploaded as a tar and read through a
//! session (`session.rs`).
//!
//! `bench build-times` needs no daemon: it times generation (G1) and clean builds of a program
//! using our crate and one using bollard (G2).

mod build_times;
mod canned;
mod counting;
mod figures;
mod fixtures;
mod registry;
mod session;
mod transports;
mod workers;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};

use docker_engine_runtime::Endpoint;

use crate::figures::{run_once, summarize, Sample, Summary};
use crate::fixtures::Fixtures;

#[global_allocator]
static ALLOCATOR: counting::Counting = counting::Counting;

/// The clients every run compares; docker-py joins them where Python can import it.
const CLIENTS: [&str; 3] = ["ours", "bollard", "curl"];
const DOCKER_PY: &str = "docker-py";

fn clients() -> Vec<&'static str> {
    let mut clients = CLIENTS.to_vec();
    let importable = Command::new("python3")
        .args(["-c", "import docker"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if importable {
        clients.push(DOCKER_PY);
    } else {
        eprintln!("docker-py left out: `python3 -c 'import docker'` fails (`pip install docker` adds it)");
    }
    clients
}

/// One workload: what it is called in the table, what a worker does, and on what.
struct Workload {
    label: &'static str,
    name: &'static str,
    unit: &'static str,
    /// Units per run, known ahead for curl, whose output is not counted.
    units: f64,
    canned: bool,
}

const WORKLOADS: &[Workload] = &[
    Workload {
        label: "W1 sequential _ping ×5000",
        name: "ping",
        unit: "req/s",
        units: workers::PINGS as f64,
        canned: false,
    },
    Workload {
        label: "W2 list 300 containers ×200",
        name: "list",
        unit: "req/s",
        units: workers::LISTS as f64,
        canned: false,
    },
    Workload {
        label: "W3 inspect ×3000, 32 in flight",
        name: "inspect",
        unit: "req/s",
        units: workers::INSPECTS as f64,
        canned: false,
    },
    Workload {
        label: "W4 exec output 2 GiB, multiplexed",
        name: "exec",
        unit: "MB/s",
        units: workers::EXEC_BYTES as f64,
        canned: false,
    },
    Workload {
        label: "W5 export 1 GiB container",
        name: "export",
        unit: "MB/s",
        units: 0.0,
        canned: false,
    },
    Workload {
        label: "W6 build printing 20,000 lines",
        name: "build",
        unit: "lines/s",
        units: workers::BUILD_LINES as f64,
        canned: false,
    },
    Workload {
        label: "C1 canned _ping ×5000",
        name: "ping",
        unit: "req/s",
        units: workers::PINGS as f64,
        canned: true,
    },
    Workload {
        label: "C2 canned list (300) ×200",
        name: "list",
        unit: "req/s",
        units: workers::LISTS as f64,
        canned: true,
    },
    Workload {
        label: "C3 canned inspect ×3000, 32 in flight",
        name: "inspect",
        unit: "req/s",
        units: workers::INSPECTS as f64,
        canned: true,
    },
    Workload {
        label: "C4 canned event stream, 200,000 messages",
        name: "events",
        unit: "msg/s",
        units: canned::EVENTS as f64,
        canned: true,
    },
    // The same stream, ours decoding each message into the last one's value (`next_into`); the
    // others have no such call and read it as in C4.
    Workload {
        label: "C5 canned event stream, one value reused",
        name: "events-reused",
        unit: "msg/s",
        units: canned::EVENTS as f64,
        canned: true,
    },
];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("worker") {
        workers::run(&args[2..]);
        return;
    }
    if args.get(1).map(String::as_str) == Some("session-worker") {
        session::worker(&args[2..]);
        return;
    }
    if args.get(1).map(String::as_str) == Some("registry-worker") {
        registry::worker(&args[2..]);
        return;
    }
    let rounds = args
        .iter()
        .position(|a| a == "--rounds")
        .and_then(|i| args.get(i + 1))
        .map(|n| n.parse().expect("--rounds takes a number"));
    if args.get(1).map(String::as_str) == Some("build-times") {
        build_times::run(rounds.unwrap_or(3));
        return;
    }
    if args.get(1).map(String::as_str) == Some("transports") {
        transports::run(rounds.unwrap_or(5));
        return;
    }
    if args.get(1).map(String::as_str) == Some("registry") {
        registry::run(rounds.unwrap_or(3));
        return;
    }
    if args.get(1).map(String::as_str) == Some("session") {
        session::run(rounds.unwrap_or(3));
        return;
    }
    let rounds = rounds.unwrap_or(5);
    let only: Option<&str> = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .map(String::as_str);
    let placement = if args.iter().any(|a| a == "--block-on") {
        workers::Placement::BlockOn
    } else {
        workers::Placement::Task
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(orchestrate(rounds, only, placement));
}

async fn orchestrate(rounds: usize, only: Option<&str>, placement: workers::Placement) {
    let endpoint = daemon_tests::daemon();
    let Endpoint::Unix(socket) = &endpoint else {
        panic!("the benchmark compares clients over the daemon's Unix socket; DOCKER_TEST_HOST is {endpoint}")
    };
    let docker = daemon_tests::docker_at(endpoint.clone()).unwrap();
    let fixtures = Fixtures::create(&docker).await;
    let canned_socket = std::env::temp_dir().join(format!("bench-canned-{}.sock", std::process::id()));
    let canned = canned::Server::start(&canned_socket, &fixtures.list_json, &fixtures.inspect_json);

    let clients = clients();
    let mut results: BTreeMap<(usize, &str), Vec<Sample>> = BTreeMap::new();
    for round in 1..=rounds {
        eprintln!("round {round}/{rounds}");
        for (index, workload) in WORKLOADS.iter().enumerate() {
            if only.is_some_and(|only| !workload.label.starts_with(only)) {
                continue;
            }
            for &client in &clients {
                let target = match workload.name {
                    "exec" => fixtures.new_exec(&docker).await,
                    "export" => fixtures.export_container.clone(),
                    "build" => fixtures.build_context.display().to_string(),
                    "inspect" => fixtures.inspect_target.clone(),
                    _ => String::new(),
                };
                let socket = if workload.canned { &canned_socket } else { socket };
                let expected_units = match workload.name {
                    "export" => fixtures.export_bytes as f64,
                    _ => workload.units,
                };
                let sample = run_once(client, workload.name, socket, &target, expected_units, placement);
                results.entry((index, client)).or_default().push(sample);
            }
        }
    }
    drop(canned);
    fixtures.remove(&docker).await;
    print_table(&results, &clients, rounds, placement);
}

fn print_table(
    results: &BTreeMap<(usize, &str), Vec<Sample>>,
    clients: &[&str],
    rounds: usize,
    placement: workers::Placement,
) {
    println!(
        "medians of {rounds} rounds; {}; rate min–max in brackets; ratios are of median rates\n",
        placement.description()
    );
    println!(
        "| workload | client | rate | CPU s | peak RSS MiB | allocations per unit | vs curl | vs bollard |\n|---|---|---|---|---|---|---|---|"
    );
    for (index, workload) in WORKLOADS.iter().enumerate() {
        let summary = |client: &str| results.get(&(index, client)).map(|samples| summarize(samples));
        let (Some(curl), Some(bollard)) = (summary("curl"), summary("bollard")) else {
            continue;
        };
        for &client in clients {
            let Summary {
                rate,
                low,
                high,
                cpu_seconds,
                peak_rss_mib,
                allocations_per_unit,
            } = summary(client).unwrap();
            let allocations = allocations_per_unit.map_or_else(|| "–".to_owned(), |a| format!("{a:.1}"));
            println!(
                "| {} | {client} | {rate:.1} {} ({low:.1}–{high:.1}) | {cpu_seconds:.2} | {peak_rss_mib:.1} | {allocations} | {:.2}× | {:.2}× |",
                workload.label,
                workload.unit,
                rate / curl.rate,
                rate / bollard.rate
            );
        }
    }
}
