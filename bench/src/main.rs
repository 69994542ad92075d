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
mod registry;
mod session;
mod transports;
mod workers;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use docker_engine_runtime::{tar_files, Endpoint, Filters};
use docker_engine_v1_41::models::{ContainerCreateBody, ExecConfig};
use docker_engine_v1_41::Docker;

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
];

/// What one run of one client measured.
#[derive(Debug, Clone, Copy)]
struct Sample {
    rate: f64,
    cpu_seconds: f64,
    peak_rss_mib: f64,
    /// Allocations per unit of work, where counted (the Rust clients).
    allocations_per_unit: Option<f64>,
}

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
    let endpoint = daemon_tests::daemon().expect("the benchmark needs DOCKER_TEST_HOST (see README: Benchmarks)");
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

/// Runs one client on one workload in a worker process, which measures it.
fn run_once(
    client: &str,
    workload: &str,
    socket: &Path,
    target: &str,
    expected_units: f64,
    placement: workers::Placement,
) -> Sample {
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["worker", client, workload])
        .arg(socket)
        .arg(target)
        .arg(placement.argument())
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("cannot start the {client} worker: {e}"));
    assert!(output.status.success(), "{client} {workload} failed: {}", output.status);
    let text = String::from_utf8_lossy(&output.stdout);
    let fields: Vec<f64> = text.split_whitespace().map(|f| f.parse().unwrap()).collect();
    let [units, seconds, cpu_seconds, peak_rss_kib, allocations] = fields[..] else {
        panic!("the {client} worker printed {text:?}")
    };
    // curl's output is not counted: it did the known amount of work or failed.
    let units = if units == 0.0 { expected_units } else { units };
    assert!(
        expected_units == 0.0 || units == expected_units,
        "{client} {workload}: handled {units} units, expected {expected_units}"
    );
    let scale = if workload == "exec" || workload == "export" {
        1e6
    } else {
        1.0
    };
    Sample {
        rate: units / seconds / scale,
        cpu_seconds,
        peak_rss_mib: peak_rss_kib / 1024.0,
        // Per request, message or line; per MB for the byte streams.
        allocations_per_unit: (allocations >= 0.0).then(|| allocations / (units / scale)),
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

/// What a table row says of one client's runs of one workload.
struct Summary {
    rate: f64,
    low: f64,
    high: f64,
    cpu_seconds: f64,
    peak_rss_mib: f64,
    allocations_per_unit: Option<f64>,
}

/// Medians of the runs, and the range of their rates.
fn summarize(samples: &[Sample]) -> Summary {
    let mut rates: Vec<f64> = samples.iter().map(|s| s.rate).collect();
    let mut cpu: Vec<f64> = samples.iter().map(|s| s.cpu_seconds).collect();
    let mut rss: Vec<f64> = samples.iter().map(|s| s.peak_rss_mib).collect();
    let mut allocations: Vec<f64> = samples.iter().filter_map(|s| s.allocations_per_unit).collect();
    Summary {
        low: rates.iter().cloned().fold(f64::MAX, f64::min),
        high: rates.iter().cloned().fold(0.0, f64::max),
        rate: median(&mut rates),
        cpu_seconds: median(&mut cpu),
        peak_rss_mib: median(&mut rss),
        allocations_per_unit: (!allocations.is_empty()).then(|| median(&mut allocations)),
    }
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

/// A container holding 1 GiB, made by `create`, and the size of its export.
async fn export_fixture(docker: &Docker, create: ContainerCreateBody) -> (String, u64) {
    eprintln!("writing 1 GiB into a container to export");
    let export = docker.containers().create(create).send().await.unwrap().id.unwrap();
    docker.containers().start(&export).send().await.unwrap();
    docker.containers().wait(&export).send().await.unwrap();
    // Counted as it streams: holding it would inflate the workers' measured RSS, which
    // starts from this process's at spawn.
    let mut exported = docker.containers().export(&export).send().await.unwrap();
    let mut export_bytes = 0;
    while let Some(chunk) = futures_util::StreamExt::next(&mut exported).await {
        export_bytes += chunk.unwrap().len() as u64;
    }
    (export, export_bytes)
}

/// What the workloads run on, made through our client and removed at the end.
struct Fixtures {
    containers: Vec<String>,
    inspect_target: String,
    export_container: String,
    export_bytes: u64,
    exec_container: String,
    /// A tar file holding the build workload's Dockerfile, for every client to send.
    build_context: PathBuf,
    list_json: Vec<u8>,
    inspect_json: Vec<u8>,
}

const LISTED_CONTAINERS: usize = 300;

impl Fixtures {
    async fn create(docker: &Docker) -> Fixtures {
        let image = daemon_tests::busybox_image(docker).await;
        let create = |command: &str| ContainerCreateBody {
            image: Some(image.into()),
            cmd: Some(vec!["sh".into(), "-c".into(), command.into()]),
            labels: Some([("suite".to_owned(), "bench".to_owned())].into()),
            ..Default::default()
        };
        eprintln!("creating {LISTED_CONTAINERS} containers to list");
        let mut containers = Vec::new();
        for _ in 0..LISTED_CONTAINERS {
            let created = docker.containers().create(create("true")).send().await.unwrap();
            containers.push(created.id.unwrap());
        }
        let inspect_target = containers[0].clone();

        let (export, export_bytes) =
            export_fixture(docker, create("dd if=/dev/zero of=/big bs=1M count=1024 2>/dev/null")).await;
        containers.push(export.clone());

        let exec_container = docker
            .containers()
            .create(create("sleep 100000"))
            .send()
            .await
            .unwrap()
            .id
            .unwrap();
        docker.containers().start(&exec_container).send().await.unwrap();
        containers.push(exec_container.clone());

        let build_context = std::env::temp_dir().join(format!("bench-build-{}.tar", std::process::id()));
        let dockerfile = workers::build_dockerfile(image);
        std::fs::write(&build_context, tar_files([("Dockerfile", dockerfile)]).unwrap()).unwrap();

        let list_json = workers::fetch(docker, "/containers/json", "all=1").await;
        let inspect_json = workers::fetch(docker, &format!("/containers/{inspect_target}/json"), "").await;
        Fixtures {
            containers,
            inspect_target,
            export_container: export,
            export_bytes,
            exec_container,
            build_context,
            list_json,
            inspect_json,
        }
    }

    /// A fresh exec writing 2 GiB of zeros to stdout (an exec starts only once).
    async fn new_exec(&self, docker: &Docker) -> String {
        let config = ExecConfig {
            attach_stdout: Some(true),
            cmd: Some(vec![
                "dd".into(),
                "if=/dev/zero".into(),
                "bs=1M".into(),
                format!("count={}", workers::EXEC_BYTES >> 20),
            ]),
            ..Default::default()
        };
        docker
            .exec()
            .container_exec(&self.exec_container, config)
            .send()
            .await
            .unwrap()
            .id
            .unwrap()
    }

    async fn remove(self, docker: &Docker) {
        for id in &self.containers {
            docker.containers().delete(id).force(true).send().await.unwrap();
        }
        let built = Filters::new().label("suite=bench").dangling(true);
        docker.images().prune().filters(built).send().await.unwrap();
        let _ = std::fs::remove_file(&self.build_context);
    }
}
