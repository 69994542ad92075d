//! `bench session`: a BuildKit build of a 200 MiB context (50 files of 4 MiB), its context
//! uploaded as a tar (`version=2` with a body) beside read through a session, and a second
//! session build after one file changed, each in a worker process of its own so that its wall
//! time, CPU time and peak RSS are its own. The build cache is pruned before each first build,
//! so that the daemon holds nothing of the context.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use docker_engine_runtime::buildkit::BuildSession;
use docker_engine_runtime::tar_directory;
use docker_engine_v1_41::models::ImageBuildVersion;
use futures_util::StreamExt;

const FILES: usize = 50;
const FILE_MIB: usize = 4;

/// `bench session-worker tar|session CONTEXT`: one build, printing wall seconds, CPU seconds,
/// peak RSS in KiB, the bytes of files sent and the number of files sent.
pub fn worker(args: &[String]) {
    let [mode, context] = args else {
        panic!("session-worker tar|session CONTEXT")
    };
    let context = PathBuf::from(context);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let docker = daemon_tests::docker();
    let started = Instant::now();
    let (bytes, files) = runtime.block_on(async {
        let build = docker.images().build().dockerfile("Dockerfile").nocache(true);
        match mode.as_str() {
            "tar" => {
                let mut progress = build
                    .version(ImageBuildVersion::V2)
                    .body(tar_directory(&context))
                    .send()
                    .await
                    .expect("the build starts");
                while let Some(message) = progress.next().await {
                    message.expect("the build succeeds");
                }
                (context_bytes(&context), FILES + 1)
            }
            "session" => {
                let mut progress = build
                    .send_in_session(BuildSession::new(&context))
                    .await
                    .expect("the session build starts");
                while let Some(message) = progress.next().await {
                    message.expect("the build succeeds");
                }
                let report = progress.report();
                (report.file_bytes_sent, report.files_sent.len())
            }
            other => panic!("session-worker: {other} is not tar or session"),
        }
    });
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{seconds} {} {} {bytes} {files}",
        crate::workers::own_cpu_seconds(),
        crate::workers::own_peak_rss_kib(),
    );
}

/// The bytes of the files in `context` (the tar sends them and its headers).
fn context_bytes(context: &Path) -> u64 {
    std::fs::read_dir(context)
        .unwrap()
        .map(|entry| entry.unwrap().metadata().unwrap().len())
        .sum()
}

/// What one worker measured.
struct Measured {
    seconds: f64,
    cpu: f64,
    rss_mib: f64,
    bytes: u64,
    files: usize,
}

fn run_worker(mode: &str, context: &Path) -> Measured {
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["session-worker", mode])
        .arg(context)
        .stderr(Stdio::inherit())
        .output()
        .expect("the worker runs");
    assert!(output.status.success(), "the {mode} worker failed");
    let printed = String::from_utf8(output.stdout).unwrap();
    let fields: Vec<&str> = printed.split_whitespace().collect();
    Measured {
        seconds: fields[0].parse().unwrap(),
        cpu: fields[1].parse().unwrap(),
        rss_mib: fields[2].parse::<f64>().unwrap() / 1024.0,
        bytes: fields[3].parse().unwrap(),
        files: fields[4].parse().unwrap(),
    }
}

pub fn run(rounds: usize) {
    let context = std::env::temp_dir().join(daemon_tests::unique_name("bench-session"));
    std::fs::create_dir_all(&context).unwrap();
    std::fs::write(context.join("Dockerfile"), "FROM scratch\nCOPY . /context\n").unwrap();
    // Incompressible, made once: a simple generator is enough for bytes nothing compresses.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for index in 0..FILES {
        let mut bytes = vec![0u8; FILE_MIB << 20];
        for chunk in bytes.chunks_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            chunk.copy_from_slice(&state.to_le_bytes()[..chunk.len()]);
        }
        std::fs::write(context.join(format!("part-{index:02}.bin")), bytes).unwrap();
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let docker = daemon_tests::docker();
    let prune = || {
        runtime.block_on(async {
            docker
                .images()
                .build_prune()
                .all(true)
                .send()
                .await
                .expect("the build cache is pruned");
        })
    };
    let mut rows: Vec<(&str, Vec<Measured>)> = vec![
        ("tar upload (version=2)", Vec::new()),
        ("session, first build", Vec::new()),
        ("session, one file changed", Vec::new()),
    ];
    for round in 0..rounds {
        eprintln!("round {}", round + 1);
        prune();
        rows[0].1.push(run_worker("tar", &context));
        prune();
        rows[1].1.push(run_worker("session", &context));
        std::fs::write(context.join("part-00.bin"), format!("changed in round {round}")).unwrap();
        rows[2].1.push(run_worker("session", &context));
    }
    println!("| 200 MiB context ({FILES} files), medians of {rounds} | wall | CPU | peak RSS | file bytes sent | files sent |");
    println!("|---|---|---|---|---|---|");
    for (name, runs) in &rows {
        let median = |value: fn(&Measured) -> f64| {
            let mut values: Vec<f64> = runs.iter().map(value).collect();
            values.sort_by(|a, b| a.partial_cmp(b).unwrap());
            values[values.len() / 2]
        };
        let range: Vec<f64> = runs.iter().map(|run| run.seconds).collect();
        println!(
            "| {name} | {:.2} s ({:.2}–{:.2}) | {:.2} s | {:.1} MiB | {} | {} |",
            median(|run| run.seconds),
            range.iter().cloned().fold(f64::INFINITY, f64::min),
            range.iter().cloned().fold(0.0, f64::max),
            median(|run| run.cpu),
            median(|run| run.rss_mib),
            median(|run| run.bytes as f64) as u64,
            median(|run| run.files as f64) as usize,
        );
    }
    std::fs::remove_dir_all(context).unwrap();
}
