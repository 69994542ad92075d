//! The Registry API crate and the `registry` example against the three registries the test
//! script starts: plain HTTP with htpasswd (`DOCKER_TEST_REGISTRY`, which the daemon pushes to
//! and pulls from), TLS with htpasswd (`DOCKER_TEST_TLS_REGISTRY`, the run's CA) and token
//! authentication (`DOCKER_TEST_TOKEN_REGISTRY`, whose token service these tests run:
//! `daemon_tests::token_service`).

use daemon_test_macros::daemon_test;
use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use daemon_tests::faults::{Fault, FaultyProxy};
use daemon_tests::token_service::TokenService;
use daemon_tests::{
    companion_variable, describe_output, docker, drain, program_without_docker_environment, unique_name, wait_at_most,
    TestRegistry,
};
use docker_engine_runtime::registry::{next_page, Digest, Reference};
use docker_engine_runtime::{Body, Endpoint, Error};
use docker_registry_copy::{copy, fetch_manifest, push_from_daemon, BlobReader, BlobSource, CopyOptions};
use docker_registry_v2::{Credentials, Registry, RegistryOptions};

/// The longest a test here may take; the slowest copies a few MiB between local registries.
const TEST_LIMIT: Duration = Duration::from_secs(120);

/// Runs `test` within [`TEST_LIMIT`], unless there is no test daemon (then the test is skipped,
/// or fails under `CI=true`, as every daemon test).
async fn within_limit(test: impl Future<Output = ()>) {
    tokio::time::timeout(TEST_LIMIT, test)
        .await
        .expect("the registry test ended within its time limit");
}

fn password() -> String {
    companion_variable("DOCKER_TEST_REGISTRY_PASSWORD")
}

fn registry_as(address: &str, username: &str, password: &str) -> Registry {
    let options = RegistryOptions {
        credentials: Credentials::Password {
            username: username.into(),
            password: password.into(),
        },
        ca_file: Some(companion_variable("DOCKER_TEST_REGISTRY_CA").into()),
        ..RegistryOptions::default()
    };
    Registry::with_options(address, options).expect("a registry client")
}

fn plain() -> Registry {
    registry_as(&companion_variable("DOCKER_TEST_REGISTRY"), "tester", &password())
}

fn tls() -> Registry {
    registry_as(&companion_variable("DOCKER_TEST_TLS_REGISTRY"), "tester", &password())
}

fn token(user: &str) -> Registry {
    TokenService::get();
    registry_as(&companion_variable("DOCKER_TEST_TOKEN_REGISTRY"), user, &password())
}

fn reference(address_variable: &str, repository: &str, tag: &str) -> Reference {
    format!("{}/{repository}:{tag}", companion_variable(address_variable))
        .parse()
        .expect("a valid reference")
}

/// Stores an image of random content in `repository:tag` through the crate's operations alone:
/// a layer of `layer_size` random bytes (not a real tar; registries do not look), a config and
/// an OCI manifest. Returns the manifest's digest and the layer's.
async fn push_random_image(registry: &Registry, repository: &str, tag: &str, layer_size: usize) -> (Digest, Digest) {
    let layer = random_bytes(layer_size);
    let layer_digest = Digest::of(&layer);
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [layer_digest.to_string()]},
    }))
    .unwrap();
    let config_digest = Digest::of(&config);
    for (digest, bytes) in [(&layer_digest, layer), (&config_digest, config.clone())] {
        let ((), started) = registry.uploads().start(repository).send_with_headers().await.unwrap();
        registry
            .uploads()
            .complete(started.location.expect("an upload location"), digest.as_str())
            .body(Body::from(bytes))
            .send()
            .await
            .unwrap();
    }
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest.to_string(), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest.to_string(), "size": layer_size}],
    }))
    .unwrap();
    let manifest_digest = Digest::of(&manifest);
    let ((), stored) = registry
        .manifests()
        .put(
            repository,
            tag,
            "application/vnd.oci.image.manifest.v1+json",
            Body::from(manifest),
        )
        .send_with_headers()
        .await
        .unwrap();
    assert_eq!(
        stored.docker_content_digest.as_deref(),
        Some(manifest_digest.as_str()),
        "the registry names the manifest by its digest"
    );
    (manifest_digest, layer_digest)
}

fn random_bytes(size: usize) -> Vec<u8> {
    // xorshift from the clock: content no other test or run stores.
    let mut state = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    (0..size)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// The whole blob `digest` of `repository`, read through the crate and checked.
async fn blob_digest(registry: &Registry, repository: &str, digest: &Digest) -> Digest {
    let mut reader = BlobReader::open(registry, repository, digest.clone()).await.unwrap();
    let mut bytes = Vec::new();
    while let Some(piece) = reader.next_piece().await.unwrap() {
        bytes.extend_from_slice(&piece);
    }
    assert_eq!(
        bytes.len() as u64,
        reader.size(),
        "the blob is as long as the registry says"
    );
    Digest::of(&bytes)
}

#[daemon_test]
async fn an_image_of_the_daemon_pushed_by_the_client_goes_through_every_registry_and_back_and_runs() {
    within_limit(async {
        let docker = docker();
        let plain_registry = TestRegistry::from_env();
        let repository = plain_registry.image_with_a_layer_of_its_own(&docker, "relay").await;
        let image = format!("{repository}:v1");
        let name = repository.split_once('/').unwrap().1;
        let options = CopyOptions::default();
        let start = reference("DOCKER_TEST_REGISTRY", name, "v1");

        // The client pushes the daemon's image; a second push finds every blob there and does
        // not read the image.
        let pushed = push_from_daemon(&docker, &image, &plain(), &start, &options)
            .await
            .unwrap();
        assert!(
            pushed.blobs_copied >= 2,
            "the config and the layers are sent: {pushed:?}"
        );
        // The containerd image store (Docker 29's default) names an image by its manifest, which
        // goes as it is; the classic store by its config, for which a manifest is made.
        let id = docker.images().inspect(&image).send().await.unwrap().id.unwrap();
        let digest = pushed.digest.clone().unwrap();
        let (manifest, _, _) = fetch_manifest(&plain(), name, digest.as_str()).await.unwrap();
        let config = docker_registry_copy::parse_manifest(&manifest)
            .unwrap()
            .config
            .unwrap()
            .digest;
        assert!(
            digest.as_str() == id || config == id,
            "the image {id} is the manifest {digest} or its config {config:?}"
        );
        let again = push_from_daemon(&docker, &image, &plain(), &start, &options)
            .await
            .unwrap();
        assert_eq!(
            (again.blobs_copied, again.blobs_present),
            (0, pushed.blobs_copied),
            "{again:?}"
        );
        assert_eq!(again.digest, pushed.digest, "the same manifest");

        // Plain (Basic) to TLS (Basic) to token (Bearer) and back to plain, under a new name.
        let over_tls = reference("DOCKER_TEST_TLS_REGISTRY", name, "v1");
        let with_token = reference("DOCKER_TEST_TOKEN_REGISTRY", name, "v1");
        let back = reference("DOCKER_TEST_REGISTRY", &format!("{name}-back"), "v2");
        let first = copy(&plain(), &start, &tls(), &over_tls, &options).await.unwrap();
        assert!(first.blobs_copied >= 2, "the config and the layers are sent: {first:?}");
        copy(&tls(), &over_tls, &token("tester"), &with_token, &options)
            .await
            .unwrap();
        let returned = copy(&token("tester"), &with_token, &plain(), &back, &options)
            .await
            .unwrap();
        assert_eq!(
            returned.digest, first.digest,
            "the manifest is the same bytes all the way"
        );
        assert_eq!(returned.blobs_copied, first.blobs_copied, "{returned:?}");

        // Within one registry, blobs are mounted from the source repository, not sent.
        let sibling = reference("DOCKER_TEST_TLS_REGISTRY", &format!("{name}-sibling"), "v1");
        let mounted = copy(&tls(), &over_tls, &tls(), &sibling, &options).await.unwrap();
        assert_eq!(mounted.blobs_mounted, first.blobs_copied, "{mounted:?}");
        assert_eq!(mounted.bytes_sent, 0, "{mounted:?}");

        // A second copy finds everything there and sends the manifest alone.
        let again = copy(&plain(), &start, &tls(), &over_tls, &options).await.unwrap();
        assert_eq!((again.blobs_copied, again.bytes_sent), (0, 0), "{again:?}");
        assert_eq!(again.blobs_present, first.blobs_copied, "{again:?}");

        // The daemon pulls the round-tripped image and runs it.
        let back_image = format!("{}/{}:v2", back.registry, back.repository);
        pull(&docker, &back_image, &plain_registry).await;
        let copied_output = unique_file_of(&docker, &back_image).await;
        let original_output = unique_file_of(&docker, &image).await;
        assert!(!copied_output.trim().is_empty(), "the copied image's file is there");
        assert_eq!(copied_output, original_output, "the copied image holds the same file");
    })
    .await;
}

#[daemon_test]
async fn tags_and_the_catalog_page_by_page_and_the_example_lists_them() {
    within_limit(async {
        let registry = tls();
        let repository = unique_name("pages");
        let (digest, _) = push_random_image(&registry, &repository, "t1", 1024).await;
        let (manifest, media_type, _) = fetch_manifest(&registry, &repository, "t1").await.unwrap();
        for tag in ["t2", "t3", "t4", "t5"] {
            registry
                .manifests()
                .put(&repository, tag, media_type.as_str(), Body::from(manifest.clone()))
                .send()
                .await
                .unwrap();
        }
        let (tags, _) = registry.tags().list(&repository).send_with_headers().await.unwrap();
        let mut tags = tags.tags.unwrap_or_default();
        tags.sort();
        assert_eq!(tags, ["t1", "t2", "t3", "t4", "t5"]);

        // The catalog comes in pages of `n`, each after the `last` the `Link` header names.
        // (docker-registry 2.8 pages the catalog; it answers a tag list whole, `n` or not.)
        // Three repositories of this test's own make two pages of two, whatever else runs.
        for sibling in ["a", "b"] {
            push_random_image(&registry, &format!("{repository}-{sibling}"), "t1", 16).await;
        }
        let mut pages: Vec<Vec<String>> = Vec::new();
        let mut last: Option<String> = None;
        loop {
            let mut page = registry.catalog().list().n(2);
            if let Some(last) = last.take() {
                page = page.last(last);
            }
            let (catalog, headers) = page.send_with_headers().await.unwrap();
            pages.push(catalog.repositories.unwrap_or_default());
            match headers.link.as_deref().and_then(next_page) {
                Some(next) => last = Some(next),
                None => break,
            }
        }
        assert!(
            pages.len() >= 2,
            "more than two repositories make more than one page: {pages:?}"
        );
        assert!(pages.iter().all(|page| page.len() <= 2), "{pages:?}");
        let listed: Vec<&String> = pages.iter().flatten().collect();
        assert!(
            listed.windows(2).all(|pair| pair[0] < pair[1]),
            "in order, each once: {listed:?}"
        );
        assert!(listed.contains(&&repository), "{listed:?}");

        let (_, by_digest) = registry
            .manifests()
            .head(
                &repository,
                digest.as_str(),
                "application/vnd.oci.image.manifest.v1+json",
            )
            .send_with_headers()
            .await
            .unwrap();
        assert_eq!(by_digest.docker_content_digest.as_deref(), Some(digest.as_str()));

        let config = config_dir(&[("DOCKER_TEST_TLS_REGISTRY", "tester")]);
        let listed = run_example(
            &config,
            &[
                "tags",
                "--page-size",
                "2",
                &format!("{}/{repository}", companion_variable("DOCKER_TEST_TLS_REGISTRY")),
            ],
        );
        let mut listed: Vec<&str> = listed.lines().collect();
        listed.sort();
        assert_eq!(listed, ["t1", "t2", "t3", "t4", "t5"]);
        let shown = run_example(
            &config,
            &[
                "manifest",
                &format!("{}/{repository}:t3", companion_variable("DOCKER_TEST_TLS_REGISTRY")),
            ],
        );
        let shown: serde_json::Value = serde_json::from_str(&shown).expect("the manifest as JSON");
        assert_eq!(shown["mediaType"], "application/vnd.oci.image.manifest.v1+json");
    })
    .await;
}

/// A Docker configuration folder holding, for each registry variable, the user's credentials.
fn config_dir(registries: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(unique_name("registry-example-config"));
    std::fs::create_dir_all(&dir).unwrap();
    let auths: serde_json::Map<String, serde_json::Value> = registries
        .iter()
        .map(|(variable, user)| {
            let registry = TestRegistry {
                address: companion_variable(variable),
                user: user.to_string(),
                password: password(),
            };
            (
                registry.address.clone(),
                serde_json::json!({"auth": registry.stored_auth()}),
            )
        })
        .collect();
    std::fs::write(dir.join("config.json"), serde_json::json!({"auths": auths}).to_string()).unwrap();
    dir
}

/// Runs the `registry` example with `config` as its Docker configuration; returns its stdout.
fn run_example(config: &std::path::Path, arguments: &[&str]) -> String {
    let output = example_output(config, arguments);
    assert!(output.status.success(), "{}", describe_output(&output));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn example_output(config: &std::path::Path, arguments: &[&str]) -> std::process::Output {
    let mut command = program_without_docker_environment(env!("CARGO_BIN_EXE_registry"));
    command
        .env("DOCKER_CONFIG", config)
        .arg("--ca-file")
        .arg(companion_variable("DOCKER_TEST_REGISTRY_CA"))
        .args(arguments)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    wait_at_most(command.spawn().expect("start the example"), TEST_LIMIT)
}

#[daemon_test]
async fn a_blob_corrupted_on_disk_is_refused_and_nothing_of_it_is_kept() {
    within_limit(async {
        let source = tls();
        let repository = unique_name("corrupt");
        let (_, layer) = push_random_image(&source, &repository, "v1", 256 * 1024).await;
        // The registry stores a blob under its digest; flip one byte of it.
        let hex = layer.as_str().trim_start_matches("sha256:");
        let data = PathBuf::from(companion_variable("DOCKER_TEST_TLS_REGISTRY_STORAGE"))
            .join("docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data");
        let mut bytes = std::fs::read(&data).unwrap_or_else(|e| panic!("{}: {e}", data.display()));
        bytes[1000] ^= 0xff;
        std::fs::write(&data, bytes).unwrap();

        let from = reference("DOCKER_TEST_TLS_REGISTRY", &repository, "v1");
        let to = reference("DOCKER_TEST_TOKEN_REGISTRY", &repository, "v1");
        let error = copy(&source, &from, &token("tester"), &to, &CopyOptions::default())
            .await
            .expect_err("a corrupted blob is refused");
        match &error {
            Error::DigestMismatch { expected, actual, .. } => {
                assert_eq!(expected, layer.as_str());
                assert_ne!(actual, layer.as_str());
            }
            other => panic!("expected a digest mismatch, got {other}"),
        }
        let kept = token("tester").blobs().head(&repository, layer.as_str()).send().await;
        assert!(
            kept.as_ref().is_err_and(|e| e.is_not_found()),
            "the destination kept nothing of it: {kept:?}"
        );
        let tagged = token("tester").manifests().head(&repository, "v1", "*/*").send().await;
        assert!(tagged.is_err(), "no manifest was stored: {tagged:?}");
    })
    .await;
}

/// A fault proxy in front of the plain registry, and the port it listens on.
async fn proxy_to_plain_registry() -> (FaultyProxy, u16) {
    let address = companion_variable("DOCKER_TEST_REGISTRY");
    let (host, port) = address.rsplit_once(':').unwrap();
    let proxy = FaultyProxy::start(&Endpoint::Tcp {
        host: host.into(),
        port: port.parse().unwrap(),
    })
    .await;
    let Endpoint::Tcp { port, .. } = proxy.endpoint.clone() else {
        unreachable!("the proxy listens on TCP")
    };
    (proxy, port)
}

#[daemon_test]
async fn dropped_connections_mid_upload_and_mid_download_are_survived() {
    within_limit(async {
        let source = token("tester");
        let repository = unique_name("resume");
        let (_, layer) = push_random_image(&source, &repository, "v1", 3 * 1024 * 1024 + 77).await;

        // Uploads into the plain registry go through the proxy, which cuts the next connection
        // after 1.5 MiB of requests: halfway through the second chunk.
        let (proxy, proxy_port) = proxy_to_plain_registry().await;
        let through_proxy = registry_as(&format!("127.0.0.1:{proxy_port}"), "tester", &password());
        // One blob at a time, so that the requests share one connection: the config's, then
        // the layer's chunks.
        let options = CopyOptions {
            chunk_size: 1024 * 1024,
            parallel: 1,
            ..CopyOptions::default()
        };
        proxy.set(Fault::CutRequestAfter(3 * 1024 * 1024 / 2));
        let from = reference("DOCKER_TEST_TOKEN_REGISTRY", &repository, "v1");
        let to: Reference = format!("127.0.0.1:{proxy_port}/{repository}:v1").parse().unwrap();
        let report = copy(&source, &from, &through_proxy, &to, &options).await.unwrap();
        assert!(report.resumed >= 1, "the cut was noticed and survived: {report:?}");
        assert!(proxy.connections() >= 2, "the client connected again");
        assert_eq!(
            blob_digest(&plain(), &repository, &layer).await,
            layer,
            "the stored blob is whole"
        );

        // Downloads from the proxy are cut after 1 MiB of the answer, and taken up with Range. (A
        // client of its own, whose first connection is made under the fault.)
        proxy.set(Fault::CloseAfter(1024 * 1024));
        let downloads = registry_as(&format!("127.0.0.1:{proxy_port}"), "tester", &password());
        let mut reader = BlobReader::open(&downloads, &repository, layer.clone()).await.unwrap();
        proxy.set(Fault::Pass);
        let mut bytes = Vec::new();
        let mut reopened = 0;
        loop {
            match reader.next_piece().await {
                Ok(Some(piece)) => bytes.extend_from_slice(&piece),
                Ok(None) => break,
                Err(error) => {
                    assert!(
                        matches!(error, Error::Truncated { .. } | Error::Transport { .. }),
                        "{error}"
                    );
                    reopened += 1;
                    assert!(reopened <= 3, "the download keeps failing: {error}");
                    reader.seek(bytes.len() as u64).await.unwrap();
                }
            }
        }
        assert_eq!(reopened, 1, "one cut, one resumption");
        assert_eq!(Digest::of(&bytes), layer, "the resumed download is whole");

        // A push from the daemon cut off mid-layer, which makes the reference registry drop the
        // upload: the layer is read again (from what the client kept, or from the image saved
        // again) and the push completes. (A proxy of its own, which cuts once.)
        let docker = docker();
        let image = TestRegistry::from_env()
            .image_with_a_layer_of_its_own(&docker, "resume-push")
            .await;
        let name = image.split_once('/').unwrap().1;
        let (pushes_proxy, pushes_port) = proxy_to_plain_registry().await;
        // The busybox layer is about 2 MiB: the cut falls in its third request.
        pushes_proxy.set(Fault::CutRequestAfter(700 * 1024));
        let pushes = registry_as(&format!("127.0.0.1:{pushes_port}"), "tester", &password());
        let to: Reference = format!("127.0.0.1:{pushes_port}/{name}:v1").parse().unwrap();
        let options = CopyOptions {
            chunk_size: 256 * 1024,
            parallel: 1,
            ..CopyOptions::default()
        };
        let report = push_from_daemon(&docker, &format!("{image}:v1"), &pushes, &to, &options)
            .await
            .unwrap();
        assert!(report.resumed >= 1, "the cut was noticed and survived: {report:?}");
        let digest = report.digest.expect("the pushed manifest");
        let (manifest, _, _) = fetch_manifest(&plain(), name, digest.as_str()).await.unwrap();
        let layers = docker_registry_copy::parse_manifest(&manifest)
            .unwrap()
            .layers
            .unwrap_or_default();
        assert!(!layers.is_empty(), "the manifest names its layers");
        for layer in layers {
            let layer: Digest = layer.digest.parse().unwrap();
            assert_eq!(
                blob_digest(&plain(), name, &layer).await,
                layer,
                "the stored layer is whole"
            );
        }
    })
    .await;
}

#[daemon_test]
async fn wrong_credentials_expired_tokens_and_missing_scopes_are_clear_errors() {
    within_limit(async {
        // Basic: a wrong password is the registry's 401, no credentials at all are said so.
        let wrong = registry_as(&companion_variable("DOCKER_TEST_TLS_REGISTRY"), "tester", "wrong");
        let error = wrong
            .base()
            .check()
            .send()
            .await
            .expect_err("a wrong password is refused");
        assert_eq!(error.status(), Some(401), "{error}");
        assert!(error.to_string().contains("UNAUTHORIZED"), "{error}");
        let anonymous = Registry::with_options(
            &companion_variable("DOCKER_TEST_TLS_REGISTRY"),
            RegistryOptions {
                credentials: Credentials::Anonymous,
                ca_file: Some(companion_variable("DOCKER_TEST_REGISTRY_CA").into()),
                ..RegistryOptions::default()
            },
        )
        .unwrap();
        let error = anonymous.base().check().send().await.expect_err("no credentials");
        assert!(
            matches!(&error, Error::Auth { message, .. } if message.contains("user name and password")),
            "{error}"
        );

        // Token: the token service refuses a wrong password, naming itself.
        TokenService::get();
        let wrong = registry_as(&companion_variable("DOCKER_TEST_TOKEN_REGISTRY"), "tester", "wrong");
        let error = wrong.tags().list("any/thing").send().await.expect_err("refused");
        assert!(
            matches!(&error, Error::Auth { realm, message, .. }
                if realm.contains("/token") && message.contains("401")),
            "{error}"
        );

        // A token that has already expired is refused by the registry.
        let repository = unique_name("scopes");
        push_random_image(&token("tester"), &repository, "v1", 1024).await;
        let error = token("expired")
            .tags()
            .list(&repository)
            .send()
            .await
            .expect_err("an expired token is refused");
        assert_eq!(error.status(), Some(401), "{error}");

        // A token without push access to `locked/...` cannot start an upload there.
        let locked = format!("locked/{repository}");
        let error = token("tester")
            .uploads()
            .start(&locked)
            .send()
            .await
            .expect_err("no push scope");
        assert!(matches!(error.status(), Some(401 | 403)), "{error}");

        // Short-lived tokens are fetched again once they expire.
        let brief = token("brief");
        brief.tags().list(&repository).send().await.unwrap();
        brief.tags().list(&repository).send().await.unwrap();
        assert_eq!(
            TokenService::get().issued_to("brief"),
            1,
            "the token is kept while it lasts"
        );
        tokio::time::sleep(Duration::from_secs(3)).await;
        let tags = brief.tags().list(&repository).send().await.unwrap();
        assert_eq!(tags.tags.unwrap_or_default(), ["v1"]);
        assert_eq!(
            TokenService::get().issued_to("brief"),
            2,
            "the expired token was replaced"
        );
    })
    .await;
}

/// Docker 29 keeps images in the containerd image store: an image is named by its manifest (or
/// index), its layers are kept compressed, and it is saved as an OCI layout whose blobs are named
/// by their digests. Images saved that way are served by the fake daemon, pushed to the plain
/// registry, and pulled and run by the test daemon, whatever store it uses.
#[daemon_test]
async fn images_of_the_containerd_store_are_pushed_as_the_daemon_keeps_them_and_run() {
    use docker_engine_v1_41::mock::MockDaemon;
    use docker_engine_v1_41::models::{ImageInspect, ImageInspectRootFs};

    within_limit(async {
        let docker = docker();
        let plain_registry = TestRegistry::from_env();
        let unique = format!("{:016x}\n", random_u64());
        let base = daemon_tests::busybox_rootfs();
        let own = {
            let mut archive = tar::Builder::new(Vec::new());
            let mut header = tar::Header::new_gnu();
            header.set_size(unique.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            archive.append_data(&mut header, "unique", unique.as_bytes()).unwrap();
            archive.into_inner().unwrap()
        };
        let diff_ids = [Digest::of(&base), Digest::of(&own)];
        let layers = [gzip(&base), gzip(&own)];
        let config_for = |architecture: &str| {
            json_bytes(serde_json::json!({
                "architecture": architecture, "os": "linux",
                "config": {"Cmd": ["/bin/sh"]},
                "rootfs": {"type": "layers", "diff_ids": [diff_ids[0].as_str(), diff_ids[1].as_str()]},
            }))
        };
        let manifest_for = |config: &[u8]| {
            json_bytes(serde_json::json!({
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": descriptor("application/vnd.oci.image.config.v1+json", config),
                "layers": layers.iter().map(|layer| descriptor("application/vnd.oci.image.layer.v1.tar+gzip", layer)).collect::<Vec<_>>(),
            }))
        };
        let (amd64_config, arm64_config) = (config_for("amd64"), config_for("arm64"));
        let (amd64, arm64) = (manifest_for(&amd64_config), manifest_for(&arm64_config));
        let platform = |manifest: &[u8], architecture: &str| {
            let mut entry = descriptor("application/vnd.oci.image.manifest.v1+json", manifest);
            entry["platform"] = serde_json::json!({"architecture": architecture, "os": "linux"});
            entry
        };
        let index = json_bytes(serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [platform(&amd64, "amd64"), platform(&arm64, "arm64")],
        }));
        let shared: [&[u8]; 4] = [&layers[0], &layers[1], &amd64_config, &amd64];
        let whole_index = [&shared[..], &[&arm64_config[..], &arm64, &index]].concat();
        let lacking_a_platform = [&shared[..], &[&index[..]]].concat();
        // A save whose config is not what its name says.
        let mut corrupt = saved_layout(&shared, &amd64);
        let config_at = corrupt
            .windows(amd64_config.len())
            .position(|window| window == &amd64_config[..])
            .unwrap();
        corrupt[config_at + 2] ^= 1;
        let saved = std::collections::HashMap::from([
            ("single".to_owned(), (Digest::of(&amd64), saved_layout(&shared, &amd64))),
            ("corrupt".to_owned(), (Digest::of(&amd64), corrupt)),
            ("index".to_owned(), (Digest::of(&index), saved_layout(&whole_index, &index))),
            ("lacking".to_owned(), (Digest::of(&index), saved_layout(&lacking_a_platform, &index))),
        ]);
        let saved = std::sync::Arc::new(saved);

        let mock = MockDaemon::start().await.unwrap();
        let inspected = saved.clone();
        let layer_ids: Vec<String> = diff_ids.iter().map(ToString::to_string).collect();
        mock.images().inspect(move |request| {
            let (id, _) = &inspected[request.path_parameter("name")];
            Ok(ImageInspect {
                id: Some(id.to_string()),
                root_fs: Some(ImageInspectRootFs {
                    type_: "layers".into(),
                    layers: Some(layer_ids.clone()),
                }),
                ..Default::default()
            })
        });
        let served = saved.clone();
        mock.images().get(move |request| {
            let (_, archive) = &served[request.path_parameter("name")];
            // In pieces, as a daemon streams it.
            Ok(archive.chunks(64 * 1024).map(bytes::Bytes::copy_from_slice).collect::<Vec<_>>().into())
        });
        let keeper = mock.docker().unwrap();
        let options = CopyOptions::default();
        let name = unique_name("containerd-store");
        let to = |tag: &str| reference("DOCKER_TEST_REGISTRY", &name, tag);
        let reads = || mock.server().operations().iter().filter(|operation| **operation == "ImageGet").count();

        // The manifest goes as the daemon keeps it, compressed layers and all: the registry
        // names the image by the daemon's id.
        let pushed = push_from_daemon(&keeper, "single", &plain(), &to("v1"), &options).await.unwrap();
        assert_eq!(pushed.digest, Some(Digest::of(&amd64)), "{pushed:?}");
        assert_eq!((pushed.blobs_copied, pushed.blobs_present, pushed.manifests), (3, 0, 1), "{pushed:?}");
        assert_eq!(pushed.bytes_sent, (layers[0].len() + layers[1].len() + amd64_config.len()) as u64);
        // Pushed before, it is tagged again without reading the image.
        let again = push_from_daemon(&keeper, "single", &plain(), &to("v1-again"), &options).await.unwrap();
        assert_eq!((again.blobs_copied, again.blobs_present, &again.digest), (0, 3, &pushed.digest), "{again:?}");
        assert_eq!(reads(), 1, "the image was read once");

        // Of an index whose other platform the daemon does not hold, the platform it holds.
        let lacking = push_from_daemon(&keeper, "lacking", &plain(), &to("v2"), &options).await.unwrap();
        assert_eq!((lacking.blobs_copied, lacking.blobs_present), (0, 3), "{lacking:?}");
        assert_eq!(lacking.digest, pushed.digest, "{lacking:?}");
        // A whole index: each platform's manifest, then the index.
        let whole = push_from_daemon(&keeper, "index", &plain(), &to("v3"), &options).await.unwrap();
        assert_eq!(whole.digest, Some(Digest::of(&index)), "{whole:?}");
        assert_eq!((whole.blobs_copied, whole.blobs_present, whole.manifests), (1, 3, 3), "{whole:?}");
        let listed = fetch_manifest(&plain(), &name, Digest::of(&arm64).as_str()).await.unwrap();
        assert_eq!(listed.0, arm64, "the other platform's manifest as saved");

        // A saved blob that is not what its name says is refused, naming both digests, into a
        // repository that holds none of it.
        let refused = push_from_daemon(&keeper, "corrupt", &plain(), &reference("DOCKER_TEST_REGISTRY", &format!("{name}-corrupt"), "v1"), &options)
            .await
            .unwrap_err();
        let config_digest = Digest::of(&amd64_config);
        assert!(
            matches!(&refused, Error::DigestMismatch { expected, .. } if *expected == config_digest.to_string()),
            "{refused:?}"
        );
        let kept = plain()
            .blobs()
            .head(format!("{name}-corrupt"), config_digest.as_str())
            .send()
            .await;
        assert!(kept.is_err_and(|e| e.is_not_found()), "nothing of it is kept");

        // The test daemon pulls what was pushed and runs it.
        for tag in ["v1", "v2", "v3"] {
            let image = format!("{}/{name}:{tag}", companion_variable("DOCKER_TEST_REGISTRY"));
            pull(&docker, &image, &plain_registry).await;
            assert_eq!(unique_file_of(&docker, &image).await, unique, "{image} holds the file");
        }
    })
    .await;
}

/// The test daemon pulls `image` from the plain registry.
async fn pull(docker: &docker_engine_v1_41::Docker, image: &str, registry: &TestRegistry) {
    let progress = docker
        .images()
        .create()
        .from_image(image)
        .x_registry_auth(registry.auth())
        .send()
        .await
        .unwrap();
    drain(progress).await;
}

/// What `cat /unique` prints in a container of `image`, run to its end.
async fn unique_file_of(docker: &docker_engine_v1_41::Docker, image: &str) -> String {
    let container = daemon_tests::TestContainer::new("relay", "cat /unique")
        .image(image)
        .start(docker)
        .await;
    docker.containers().wait(&container.id).send().await.unwrap();
    let logs = docker
        .containers()
        .logs(&container.id)
        .stdout(true)
        .send()
        .await
        .unwrap();
    let (stdout, _) = logs.read_all().await.unwrap();
    String::from_utf8_lossy(&stdout).into_owned()
}

fn random_u64() -> u64 {
    u64::from_le_bytes(random_bytes(8).try_into().unwrap())
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut encoder, bytes).unwrap();
    encoder.finish().unwrap()
}

fn json_bytes(value: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&value).unwrap()
}

fn descriptor(media_type: &str, bytes: &[u8]) -> serde_json::Value {
    serde_json::json!({"mediaType": media_type, "digest": Digest::of(bytes).as_str(), "size": bytes.len()})
}

/// An OCI layout as the containerd store saves one: the blobs by digest, in the order of their
/// names, then `index.json` naming the image (`top`), `manifest.json` and `oci-layout`.
fn saved_layout(blobs: &[&[u8]], top: &[u8]) -> Vec<u8> {
    let mut files: Vec<(String, Vec<u8>)> = blobs
        .iter()
        .map(|blob| {
            (
                format!(
                    "blobs/sha256/{}",
                    Digest::of(blob).as_str().trim_start_matches("sha256:")
                ),
                blob.to_vec(),
            )
        })
        .collect();
    files.sort();
    files.dedup();
    let top_type = if serde_json::from_slice::<serde_json::Value>(top).unwrap()["manifests"].is_array() {
        "application/vnd.oci.image.index.v1+json"
    } else {
        "application/vnd.oci.image.manifest.v1+json"
    };
    files.push((
        "index.json".into(),
        json_bytes(serde_json::json!({"schemaVersion": 2, "manifests": [descriptor(top_type, top)]})),
    ));
    files.push(("manifest.json".into(), b"[]".to_vec()));
    files.push(("oci-layout".into(), br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec()));
    let mut archive = tar::Builder::new(Vec::new());
    for (name, bytes) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        archive.append_data(&mut header, name, bytes.as_slice()).unwrap();
    }
    archive.into_inner().unwrap()
}
