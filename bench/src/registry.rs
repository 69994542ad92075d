//! `bench registry`: copying a 200 MiB image of four layers from the test script's plain
//! registry (htpasswd) to its token-authenticated one, with our Registry API client (the copy of
//! the `registry` example, in a worker process of its own so that its CPU time and peak RSS are
//! its own) and with skopeo (`skopeo copy`, the same way), beside the daemon doing the same with
//! `docker pull`, `docker tag` and `docker push` (driven through our v1.41 client; its time is the
//! daemon's). Each copy starts from an empty destination registry, and is followed by a second
//! copy (and push) finding every blob there.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

use docker_engine_runtime::registry::{Digest, Reference};
use docker_engine_runtime::Body;
use docker_registry_copy::{copy, CopyOptions};
use docker_registry_v2::{Credentials, Registry, RegistryOptions};

const LAYERS: usize = 4;
const LAYER_MIB: usize = 50;

fn registry(address: &str) -> Registry {
    let options = RegistryOptions {
        credentials: Credentials::Password {
            username: daemon_tests::companion_variable("DOCKER_TEST_REGISTRY_USER"),
            password: daemon_tests::companion_variable("DOCKER_TEST_REGISTRY_PASSWORD"),
        },
        ..RegistryOptions::default()
    };
    Registry::with_options(address, options).expect("a registry client")
}

/// `bench registry-worker ours|skopeo SOURCE DESTINATION`: one copy, printing wall seconds, CPU
/// seconds, peak RSS in KiB and the most heap in use at once in bytes (-1 for skopeo).
pub fn worker(args: &[String]) {
    let [tool, source, destination] = args else {
        panic!("registry-worker ours|skopeo SOURCE DESTINATION")
    };
    if tool == "skopeo" {
        skopeo_worker(source, destination);
        return;
    }
    let (from, to): (Reference, Reference) = (source.parse().unwrap(), destination.parse().unwrap());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let started = Instant::now();
    let report = runtime.block_on(async {
        copy(
            &registry(&from.registry),
            &from,
            &registry(&to.registry),
            &to,
            &CopyOptions::default(),
        )
        .await
        .expect("the copy succeeds")
    });
    let seconds = started.elapsed().as_secs_f64();
    eprintln!("    {report:?}");
    println!(
        "{seconds} {} {} {}",
        crate::workers::own_cpu_seconds(),
        crate::workers::own_peak_rss_kib(),
        crate::counting::peak_heap_bytes()
    );
}

/// skopeo copying the same image with the same credentials, spawned from this small process so
/// that its peak RSS is its own. Both registries speak plain HTTP; no policy or auth file of the
/// machine is read.
fn skopeo_worker(source: &str, destination: &str) {
    let credentials = format!(
        "{}:{}",
        daemon_tests::companion_variable("DOCKER_TEST_REGISTRY_USER"),
        daemon_tests::companion_variable("DOCKER_TEST_REGISTRY_PASSWORD")
    );
    let started = Instant::now();
    // Reaped by wait_with_usage, which Child::wait cannot do: it gives no resource usage.
    #[allow(clippy::zombie_processes)]
    let child = Command::new("skopeo")
        .args(["--insecure-policy", "copy", "--retry-times", "0"])
        .args(["--src-tls-verify=false", "--dest-tls-verify=false"])
        .args(["--src-creds", &credentials, "--dest-creds", &credentials])
        .args(["--authfile", "/dev/null"])
        // As ours does: without it skopeo gzips the uncompressed layers (77 MiB peak RSS, 1.8 s CPU).
        .arg("--preserve-digests")
        .arg(format!("docker://{source}"))
        .arg(format!("docker://{destination}"))
        .stdout(Stdio::null())
        .spawn()
        .expect("skopeo is installed (see README: Benchmarks)");
    let (status, cpu_seconds, peak_rss_kib) = crate::workers::wait_with_usage(child.id() as libc::pid_t);
    assert_eq!(status, 0, "skopeo copy failed");
    println!("{} {cpu_seconds} {peak_rss_kib} -1", started.elapsed().as_secs_f64());
}

pub fn run(rounds: usize) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(orchestrate(rounds));
}

/// What one run measured: wall seconds, and when the run was ours CPU seconds, peak RSS and peak
/// heap in use (MiB).
type Measured = (f64, Option<(f64, f64, f64)>);

async fn orchestrate(rounds: usize) {
    let docker = daemon_tests::docker();
    // The daemon's pushes are authorized by the token service of these tests, run here.
    daemon_tests::token_service::TokenService::get();
    let plain = daemon_tests::companion_variable("DOCKER_TEST_REGISTRY");
    let token = daemon_tests::companion_variable("DOCKER_TEST_TOKEN_REGISTRY");
    let token_storage = PathBuf::from(daemon_tests::companion_variable("DOCKER_TEST_TOKEN_REGISTRY_STORAGE"));
    let repository = daemon_tests::unique_name("bench-copy");
    eprintln!(
        "storing a {} MiB image of {LAYERS} layers in {plain}/{repository}",
        LAYERS * LAYER_MIB
    );
    store_image(&registry(&plain), &repository).await;
    let source = format!("{plain}/{repository}:v1");
    let destination = format!("{token}/{repository}:v1");
    let auth = daemon_tests::TestRegistry::from_env().auth();
    let token_auth = docker_engine_runtime::RegistryAuth {
        server_address: Some(token.clone()),
        ..auth.clone()
    };

    let mut results: BTreeMap<&str, Vec<Measured>> = BTreeMap::new();
    for round in 1..=rounds {
        eprintln!("round {round}/{rounds}");
        for (tool, copy_label, again_label) in [
            ("ours", "ours: copy", "ours: copy again (all there)"),
            ("skopeo", "skopeo: copy", "skopeo: copy again (all there)"),
        ] {
            empty(&token_storage);
            let first = copy_in_worker(tool, &source, &destination);
            results.entry(copy_label).or_default().push(first);
            let again = copy_in_worker(tool, &source, &destination);
            results.entry(again_label).or_default().push(again);
        }

        empty(&token_storage);
        let _ = docker.images().delete(&source).force(true).send().await;
        let _ = docker.images().delete(&destination).force(true).send().await;
        let started = Instant::now();
        daemon_tests::drain(
            docker
                .images()
                .create()
                .from_image(&source)
                .x_registry_auth(auth.clone())
                .send()
                .await
                .unwrap(),
        )
        .await;
        let (destination_repository, tag) = destination.rsplit_once(':').unwrap();
        docker
            .images()
            .tag(&source)
            .repo(destination_repository)
            .tag(tag)
            .send()
            .await
            .unwrap();
        let push = |auth: docker_engine_runtime::RegistryAuth| {
            let docker = docker.clone();
            let repository = destination_repository.to_owned();
            async move {
                let started = Instant::now();
                daemon_tests::drain(docker.images().push(&repository, auth).tag("v1").send().await.unwrap()).await;
                started.elapsed()
            }
        };
        push(token_auth.clone()).await;
        results
            .entry("daemon: pull, tag, push")
            .or_default()
            .push((started.elapsed().as_secs_f64(), None));
        let again = push(token_auth.clone()).await;
        results
            .entry("daemon: push again (all there)")
            .or_default()
            .push((again.as_secs_f64(), None));
    }
    let _ = docker.images().delete(&source).force(true).send().await;
    let _ = docker.images().delete(&destination).force(true).send().await;
    print_table(&results, rounds);
}

/// Runs one copy by `tool` (ours or skopeo) in a worker process of its own.
fn copy_in_worker(tool: &str, source: &str, destination: &str) -> Measured {
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["registry-worker", tool, source, destination])
        .stderr(Stdio::inherit())
        .output()
        .expect("start the registry worker");
    assert!(output.status.success(), "the registry worker failed: {}", output.status);
    let text = String::from_utf8_lossy(&output.stdout);
    let fields: Vec<f64> = text.split_whitespace().map(|f| f.parse().unwrap()).collect();
    let [seconds, cpu, peak_rss_kib, peak_heap] = fields[..] else {
        panic!("the registry worker printed {text:?}")
    };
    (
        seconds,
        Some((cpu, peak_rss_kib / 1024.0, peak_heap / (1024.0 * 1024.0))),
    )
}

/// Removes every blob and repository of the registry whose storage is `storage` (it reads the
/// files on each request, so it holds nothing afterwards).
fn empty(storage: &std::path::Path) {
    let root = storage.join("docker/registry/v2");
    for part in ["blobs", "repositories"] {
        let _ = std::fs::remove_dir_all(root.join(part));
    }
}

/// Stores `repository:v1`: four layers, each a tar of one file of incompressible bytes made for
/// this run, a config naming them, and an OCI manifest.
async fn store_image(registry: &Registry, repository: &str) {
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    let mut descriptors = Vec::new();
    let mut diff_ids = Vec::new();
    for index in 0..LAYERS {
        let content: Vec<u8> = (0..LAYER_MIB * 1024 * 1024)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect();
        let mut archive = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        archive
            .append_data(&mut header, format!("data-{index}"), content.as_slice())
            .unwrap();
        let layer = archive.into_inner().unwrap();
        let digest = put_blob(registry, repository, layer.clone()).await;
        diff_ids.push(digest.to_string());
        descriptors.push(serde_json::json!({
            "mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest.as_str(), "size": layer.len(),
        }));
    }
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux", "config": {},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }))
    .unwrap();
    let config_digest = put_blob(registry, repository, config.clone()).await;
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest.as_str(), "size": config.len()},
        "layers": descriptors,
    }))
    .unwrap();
    registry
        .manifests()
        .put(
            repository,
            "v1",
            "application/vnd.oci.image.manifest.v1+json",
            Body::from(manifest),
        )
        .send()
        .await
        .unwrap();
}

async fn put_blob(registry: &Registry, repository: &str, bytes: Vec<u8>) -> Digest {
    let digest = Digest::of(&bytes);
    let ((), started) = registry.uploads().start(repository).send_with_headers().await.unwrap();
    registry
        .uploads()
        .complete(started.location.expect("an upload location"), digest.as_str())
        .body(Body::from(bytes))
        .send()
        .await
        .unwrap();
    digest
}

fn print_table(results: &BTreeMap<&str, Vec<Measured>>, rounds: usize) {
    println!(
        "copying a {} MiB image of {LAYERS} layers between two local registries, medians of {rounds} rounds \
         (wall time min–max in brackets; the daemon's CPU and memory are not the client's)\n",
        LAYERS * LAYER_MIB
    );
    println!("| run | wall s | CPU s | peak RSS MiB | peak heap MiB |\n|---|---|---|---|---|");
    for (label, runs) in results {
        let mut walls: Vec<f64> = runs.iter().map(|(wall, _)| *wall).collect();
        walls.sort_by(f64::total_cmp);
        let (low, high) = (walls[0], walls[walls.len() - 1]);
        let wall = walls[walls.len() / 2];
        let own = |pick: fn(&(f64, f64, f64)) -> f64| {
            // A negative figure was not measured (skopeo's heap).
            let mut values: Vec<f64> = runs
                .iter()
                .filter_map(|(_, own)| own.as_ref().map(pick))
                .filter(|value| *value >= 0.0)
                .collect();
            values.sort_by(f64::total_cmp);
            values
                .get(values.len() / 2)
                .map_or_else(|| "–".to_owned(), |v| format!("{v:.2}"))
        };
        println!(
            "| {label} | {wall:.2} ({low:.2}–{high:.2}) | {} | {} | {} |",
            own(|(cpu, _, _)| *cpu),
            own(|(_, rss, _)| *rss),
            own(|(_, _, heap)| *heap)
        );
    }
}
