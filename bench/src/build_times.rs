//! G1 and G2, which need no daemon: how long generating every crate takes, and how long a clean
//! debug build of a small program takes with our v1.41 crate and with bollard.
//!
//! G1 runs the release `xtask generate --out` into a temporary folder, so the tree is untouched,
//! twice over: cold, with a layout cache of its own that is empty each round, and warm, with one
//! a first unmeasured run filled (the usual case: most runs lay out what the last one did).
//! G2 builds two equivalent programs (connect from the environment, print the daemon's version),
//! each in a fresh target folder with the workspace's lockfile, so both get the same versions of
//! shared dependencies. Incremental compilation is off: a crate taken from a registry is never
//! compiled incrementally, and our crate, a path dependency here, would otherwise pay for writing
//! an incremental cache that bollard does not. After each clean build, the client crate alone is
//! compiled again (`cargo clean -p` then `cargo build -p`), its dependencies already built.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

const OURS_MAIN: &str = r#"#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let docker = docker_engine_v1_41::Docker::from_env()?;
    let version = docker.system().version().send().await?;
    println!("{:?}", version.api_version);
    Ok(())
}
"#;

const BOLLARD_MAIN: &str = r#"#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let docker = bollard::Docker::connect_with_defaults()?;
    let version = docker.version().await?;
    println!("{:?}", version.api_version);
    Ok(())
}
"#;

/// One of the two programs of G2.
struct Program {
    client: &'static str,
    /// The crate whose own compile time is reported beside the whole build's.
    client_crate: &'static str,
    dependency: String,
    main: &'static str,
}

/// What one clean build measured.
struct BuildSample {
    wall_seconds: f64,
    crates: usize,
    client_crate_seconds: f64,
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("bench lives in the workspace")
        .to_owned()
}

pub fn run(rounds: usize) {
    let root = workspace_root();
    let scratch = std::env::temp_dir().join(format!("bench-build-times-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();

    let cold = time_generation(&root, &scratch, rounds, false);
    let warm = time_generation(&root, &scratch, rounds, true);
    let programs = [
        Program {
            client: "ours",
            client_crate: "docker-engine-v1-41",
            dependency: format!(
                "docker-engine-v1-41 = {{ path = {:?} }}",
                root.join("generated-client/v1_41").display().to_string()
            ),
            main: OURS_MAIN,
        },
        Program {
            client: "bollard",
            client_crate: "bollard-stubs",
            dependency: "bollard = \"0.21\"".into(),
            main: BOLLARD_MAIN,
        },
    ];
    let mut builds: Vec<Vec<BuildSample>> = programs.iter().map(|_| Vec::new()).collect();
    for round in 1..=rounds {
        for (program, samples) in programs.iter().zip(&mut builds) {
            eprintln!("round {round}/{rounds}: clean build with {}", program.client);
            samples.push(clean_build(&root, &scratch, program));
        }
    }
    std::fs::remove_dir_all(&scratch).unwrap();

    println!("medians of {rounds} rounds; min–max in brackets\n");
    println!("| measure | client | seconds | crates compiled |\n|---|---|---|---|");
    println!(
        "| G1 generate all 31 crates, nothing laid out before (release xtask, wall) | ours | {} | |",
        spread(&cold)
    );
    println!(
        "| G1 generate all 31 crates, layouts remembered (release xtask, wall) | ours | {} | |",
        spread(&warm)
    );
    for (program, samples) in programs.iter().zip(&builds) {
        let walls: Vec<f64> = samples.iter().map(|s| s.wall_seconds).collect();
        let crates = samples[0].crates;
        println!(
            "| G2 clean debug build of a program (wall) | {} | {} | {crates} |",
            program.client,
            spread(&walls)
        );
    }
    for (program, samples) in programs.iter().zip(&builds) {
        let own: Vec<f64> = samples.iter().map(|s| s.client_crate_seconds).collect();
        println!(
            "| G2 `{}` alone, dependencies built (wall) | {} | {} | 1 |",
            program.client_crate,
            program.client,
            spread(&own)
        );
    }
}

/// Runs `xtask generate --out` once per round and returns the wall seconds of each, with the
/// layout cache empty each round (`warm` false) or filled by a first run (`warm` true).
fn time_generation(root: &Path, scratch: &Path, rounds: usize, warm: bool) -> Vec<f64> {
    eprintln!("building xtask (release)");
    cargo(root, &["build", "--quiet", "--release", "-p", "xtask"], &[]);
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let xtask = target.join("release/xtask");
    let out = scratch.join("generated");
    // The cache lives in the target folder xtask is told of; the binary is already built.
    let cache_dir = scratch.join("generation-cache");
    let generate = || {
        let started = Instant::now();
        let status = Command::new(&xtask)
            .current_dir(root)
            .env("CARGO_TARGET_DIR", &cache_dir)
            .args(["generate", "--out"])
            .arg(&out)
            .stdout(Stdio::null())
            .status()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", xtask.display()));
        assert!(status.success(), "xtask generate failed: {status}");
        started.elapsed().as_secs_f64()
    };
    let _ = std::fs::remove_dir_all(&cache_dir);
    if warm {
        generate();
    }
    (0..rounds)
        .map(|_| {
            if !warm {
                let _ = std::fs::remove_dir_all(&cache_dir);
            }
            generate()
        })
        .collect()
}

fn clean_build(root: &Path, scratch: &Path, program: &Program) -> BuildSample {
    let project = scratch.join(program.client);
    std::fs::create_dir_all(project.join("src")).unwrap();
    std::fs::write(
        project.join("Cargo.toml"),
        format!(
            "[package]\nname = \"build-time-{}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
             [dependencies]\n{}\ntokio = {{ version = \"1\", features = [\"macros\", \"rt-multi-thread\"] }}\n\n\
             [workspace]\n",
            program.client, program.dependency
        ),
    )
    .unwrap();
    std::fs::write(project.join("src/main.rs"), program.main).unwrap();
    std::fs::copy(root.join("Cargo.lock"), project.join("Cargo.lock")).unwrap();
    let target = project.join("target");
    let _ = std::fs::remove_dir_all(&target);
    let environment = [
        ("CARGO_TARGET_DIR", target.as_os_str()),
        ("CARGO_INCREMENTAL", "0".as_ref()),
    ];

    let started = Instant::now();
    cargo(&project, &["build", "--quiet", "--timings"], &environment);
    let wall_seconds = started.elapsed().as_secs_f64();
    let crates = compiled_crates(&target.join("cargo-timings/cargo-timing.html"));

    cargo(
        &project,
        &["clean", "--quiet", "-p", program.client_crate],
        &environment,
    );
    let started = Instant::now();
    cargo(
        &project,
        &["build", "--quiet", "-p", program.client_crate],
        &environment,
    );
    let client_crate_seconds = started.elapsed().as_secs_f64();

    std::fs::remove_dir_all(&target).unwrap();
    BuildSample {
        wall_seconds,
        crates,
        client_crate_seconds,
    }
}

fn cargo(directory: &Path, args: &[&str], environment: &[(&str, &std::ffi::OsStr)]) {
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(args)
        .current_dir(directory)
        .envs(environment.iter().copied())
        .status()
        .unwrap_or_else(|e| panic!("cannot run cargo: {e}"));
    assert!(
        status.success(),
        "cargo {} in {} failed: {status}",
        args.join(" "),
        directory.display()
    );
}

/// How many crates (libraries, build scripts and the program itself counted once each) the
/// build compiled, from the unit list in cargo's `--timings` report.
fn compiled_crates(report: &Path) -> usize {
    #[derive(serde::Deserialize)]
    struct Unit {
        name: String,
        version: String,
    }
    let html = std::fs::read_to_string(report).unwrap_or_else(|e| panic!("{}: {e}", report.display()));
    let start = html
        .find("const UNIT_DATA = ")
        .unwrap_or_else(|| panic!("{}: no UNIT_DATA in cargo's timings report", report.display()))
        + "const UNIT_DATA = ".len();
    let mut values = serde_json::Deserializer::from_str(&html[start..]).into_iter::<Vec<Unit>>();
    let units = values
        .next()
        .expect("UNIT_DATA holds a list")
        .unwrap_or_else(|e| panic!("{}: UNIT_DATA: {e}", report.display()));
    let mut crates: Vec<(String, String)> = units.into_iter().map(|u| (u.name, u.version)).collect();
    crates.sort();
    crates.dedup();
    crates.len()
}

/// The median with the range: `1.29 (1.26–1.32)`.
fn spread(values: &[f64]) -> String {
    let mut sorted = values.to_vec();
    let median = crate::figures::median(&mut sorted);
    format!("{median:.2} ({:.2}–{:.2})", sorted[0], sorted[sorted.len() - 1])
}
