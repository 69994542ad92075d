//! Our client over each transport to the same daemon, round by round: sequential pings (W1),
//! the 1 GiB export (W5), and the time to the first answer of a new client (N1), which for ssh
//! is an ssh process started, authenticated and running `docker system dial-stdio`.
//!
//! The Unix socket and mutual TLS reach dockerd itself; ssh reaches it through the test sshd
//! and the docker CLI on the same machine, so what ssh adds is its processes and encryption,
//! not a network. The plain TCP endpoint is left out: the test script serves it through socat,
//! which would be measured with it.

use std::collections::BTreeMap;

use docker_engine_runtime::Endpoint;
use docker_engine_v1_41::models::ContainerCreateBody;

use crate::figures::{run_once, summarize, Sample, Summary};
use crate::fixtures::export_fixture;
use crate::workers::{self, OVER_SSH, OVER_TLS};

struct Workload {
    label: &'static str,
    name: &'static str,
}

const WORKLOADS: [Workload; 3] = [
    Workload {
        label: "W1 sequential _ping ×5000",
        name: "ping",
    },
    Workload {
        label: "W5 export 1 GiB container",
        name: "export",
    },
    Workload {
        label: "N1 first answer of a new client ×50",
        name: "connect",
    },
];

pub fn run(rounds: usize) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(orchestrate(rounds));
}

async fn orchestrate(rounds: usize) {
    let endpoint = daemon_tests::daemon();
    let Endpoint::Unix(socket) = &endpoint else {
        panic!("the transports are compared with the daemon's Unix socket; DOCKER_TEST_HOST is {endpoint}")
    };
    let mut transports = vec![("Unix socket", "ours"), ("mutual TLS", OVER_TLS)];
    if std::env::var_os("DOCKER_TEST_SSH_HOST").is_some() {
        transports.push(("ssh", OVER_SSH));
    } else {
        eprintln!("ssh left out: DOCKER_TEST_SSH_HOST is not set (the test script sets it)");
    }
    let docker = daemon_tests::docker_at(endpoint.clone()).unwrap();
    let image = daemon_tests::busybox_image(&docker).await;
    let create = ContainerCreateBody {
        image: Some(image.into()),
        cmd: Some(vec![
            "sh".into(),
            "-c".into(),
            "dd if=/dev/zero of=/big bs=1M count=1024 2>/dev/null".into(),
        ]),
        ..Default::default()
    };
    let (export, export_bytes) = export_fixture(&docker, create).await;

    let mut results: BTreeMap<(usize, usize), Vec<Sample>> = BTreeMap::new();
    for round in 1..=rounds {
        eprintln!("round {round}/{rounds}");
        for (workload_index, workload) in WORKLOADS.iter().enumerate() {
            for (transport_index, (_, client)) in transports.iter().enumerate() {
                let (target, expected_units) = match workload.name {
                    "ping" => (String::new(), workers::PINGS as f64),
                    "export" => (export.clone(), export_bytes as f64),
                    _ => (String::new(), workers::CONNECTS as f64),
                };
                let placement = workers::Placement::Task;
                let sample = run_once(client, workload.name, socket, &target, expected_units, placement);
                results
                    .entry((workload_index, transport_index))
                    .or_default()
                    .push(sample);
            }
        }
    }
    docker.containers().delete(&export).force(true).send().await.unwrap();
    print_table(&results, &transports, rounds);
}

fn print_table(results: &BTreeMap<(usize, usize), Vec<Sample>>, transports: &[(&str, &str)], rounds: usize) {
    println!(
        "our client over each transport, medians of {rounds} rounds; rate min–max in brackets; \
         CPU includes the ssh processes; N1 is milliseconds per new client's first answer\n"
    );
    println!("| workload | transport | rate | CPU s | peak RSS MiB | vs Unix socket |\n|---|---|---|---|---|---|");
    for (workload_index, workload) in WORKLOADS.iter().enumerate() {
        let summary = |transport_index: usize| summarize(&results[&(workload_index, transport_index)]);
        let unix_rate = summary(0).rate;
        for (transport_index, (transport, _)) in transports.iter().enumerate() {
            let Summary {
                rate,
                low,
                high,
                cpu_seconds: cpu,
                peak_rss_mib: rss,
                ..
            } = summary(transport_index);
            let shown = match workload.name {
                // Slower is larger here: per-connection milliseconds, the range reversed.
                "connect" => format!("{:.1} ms ({:.1}–{:.1})", 1e3 / rate, 1e3 / high, 1e3 / low),
                "export" => format!("{rate:.1} MB/s ({low:.1}–{high:.1})"),
                _ => format!("{rate:.1} req/s ({low:.1}–{high:.1})"),
            };
            println!(
                "| {} | {transport} | {shown} | {cpu:.2} | {rss:.1} | {:.2}× |",
                workload.label,
                rate / unix_rate
            );
        }
    }
}
