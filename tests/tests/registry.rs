//! Against the registry the test script starts (the reference Registry HTTP API v2 server with
//! htpasswd authentication): push, distribution inspect, pull back with credentials from a
//! Docker configuration, login with right and wrong passwords, and search.

use daemon_tests::{docker, drain, server, unimplemented_on_podman, unique_name, Server, TestRegistry};
use docker_engine_runtime::DockerConfig;
use docker_engine_v1_41::models::AuthConfig;

#[tokio::test]
async fn push_inspect_remotely_delete_and_pull_back_with_stored_credentials() {
    let Some(docker) = docker() else { return };
    let registry = TestRegistry::from_env();
    let repository = registry.image_with_a_layer_of_its_own(&docker, "busybox").await;
    let reference = format!("{repository}:v1");

    let pushed = drain(
        docker
            .images()
            .push(&repository, registry.auth())
            .tag("v1")
            .send()
            .await
            .unwrap(),
    )
    .await;
    let digest = match server() {
        Server::Docker => {
            let result = pushed
                .iter()
                .find_map(|message| message.aux.clone())
                .unwrap_or_else(|| panic!("the push names its digest: {pushed:?}"));
            assert_eq!(result.tag.as_deref(), Some("v1"));
            assert!(
                // A layer this registry already holds in another repository is mounted, not sent.
                pushed.iter().any(|m| m.id.is_some()
                    && matches!(m.status.as_deref(), Some(s) if s == "Pushed" || s.starts_with("Mounted from"))),
                "each layer's progress names it: {pushed:?}"
            );
            result.digest.expect("pushed digest")
        }
        // Podman sends no per-layer progress and no `aux`: the digest is only in the last
        // status, "v1: digest: sha256:... size: 579".
        Server::Podman => pushed
            .iter()
            .filter_map(|message| message.status.as_deref()?.strip_prefix("v1: digest: "))
            .find_map(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("the push names its digest: {pushed:?}"))
            .to_owned(),
    };
    assert!(digest.starts_with("sha256:"), "{digest}");

    let remote = docker
        .distribution()
        .inspect(&reference)
        .x_registry_auth(registry.auth())
        .send()
        .await;
    if !unimplemented_on_podman(&remote) {
        let remote = remote.unwrap();
        let descriptor = remote.descriptor.expect("a descriptor");
        assert_eq!(descriptor.digest.as_deref(), Some(digest.as_str()));
        assert!(!remote.platforms.unwrap_or_default().is_empty());
        let denied = docker.distribution().inspect(&reference).send().await.unwrap_err();
        assert!(denied.to_string().contains("no basic auth credentials"), "{denied}");
    }

    docker.images().delete(&reference).send().await.unwrap();
    assert!(docker
        .images()
        .inspect(&reference)
        .send()
        .await
        .unwrap_err()
        .is_not_found());

    // The credentials come from config.json's `auths`, as the CLI stores them after a login.
    let config_dir = std::env::temp_dir().join(unique_name("registry-config"));
    std::fs::create_dir_all(&config_dir).unwrap();
    let config = serde_json::json!({"auths": {registry.address.clone(): {"auth": registry.stored_auth()}}});
    std::fs::write(config_dir.join("config.json"), config.to_string()).unwrap();
    let auth = DockerConfig::load(&config_dir)
        .unwrap()
        .credentials(&registry.address)
        .unwrap()
        .expect("credentials for the test registry");
    assert_eq!(auth.username.as_deref(), Some(registry.user.as_str()));

    let pulled = drain(
        docker
            .images()
            .create()
            .from_image(&repository)
            .tag("v1")
            .x_registry_auth(auth)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let (digest_said, layer_done) = match server() {
        Server::Docker => (true, "Pull complete"),
        // Podman names no digest in its pull progress, and ends each layer at its download.
        Server::Podman => (false, "Download complete"),
    };
    let statuses: Vec<_> = pulled.iter().filter_map(|m| m.status.as_deref()).collect();
    assert_eq!(
        statuses.iter().any(|s| s.contains(&digest)),
        digest_said,
        "the pull reports the digest pushed: {statuses:?}"
    );
    assert!(
        pulled
            .iter()
            .any(|m| m.id.is_some() && m.status.as_deref() == Some(layer_done)),
        "each layer's progress names it: {pulled:?}"
    );
    let inspected = docker.images().inspect(&reference).send().await.unwrap();
    assert!(
        inspected
            .repo_digests
            .unwrap_or_default()
            .iter()
            .any(|d| d.ends_with(&digest)),
        "the pulled image has the pushed digest"
    );

    // Without credentials the registry refuses, and the daemon says so.
    docker.images().delete(&reference).send().await.unwrap();
    let refused = docker.images().create().from_image(&repository).tag("v1").send().await;
    let error = match refused {
        Err(error) => error,
        Ok(stream) => drain_error(stream).await,
    };
    assert!(
        error.to_string().contains("no basic auth credentials")
            || error.to_string().contains("authentication required"),
        "{error}"
    );
    std::fs::remove_dir_all(config_dir).unwrap();
}

#[tokio::test]
async fn login_succeeds_with_the_password_and_fails_clearly_without_it() {
    let Some(docker) = docker() else { return };
    let registry = TestRegistry::from_env();
    // Podman's login ignores registries.conf's `insecure` and speaks HTTPS, except to a
    // registry named `localhost:PORT`, which it treats as local testing and asks over HTTP.
    let address = match server() {
        Server::Docker => registry.address.clone(),
        Server::Podman => registry.address.replace("127.0.0.1", "localhost"),
    };
    let login = |password: &str| AuthConfig {
        username: Some(registry.user.clone()),
        password: Some(password.to_owned()),
        serveraddress: Some(address.clone()),
        ..Default::default()
    };
    let answer = docker
        .system()
        .auth()
        .body(login(&registry.password))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status.as_deref(), Some("Login Succeeded"));

    // dockerd 20.10 answers 500 with the registry's refusal; newer daemons answer 401.
    let error = docker.system().auth().body(login("wrong")).send().await.unwrap_err();
    match &error {
        docker_engine_runtime::Error::Daemon { status, message, .. } => {
            assert!(matches!(status, 401 | 500), "{error}");
            assert!(message.contains("401 Unauthorized"), "{error}");
        }
        other => panic!("a refused login is the daemon's error: {other:?}"),
    }
}

#[tokio::test]
async fn search_reports_what_the_registry_answers() {
    let Some(docker) = docker() else { return };
    let registry = TestRegistry::from_env();
    let error = docker
        .images()
        .search(format!("{}/busybox", registry.address))
        .send()
        .await
        .unwrap_err();
    let expected = match server() {
        // Docker searches through the registry's v1 search endpoint, which only Docker Hub
        // serves; the reference registry answers 404, and the daemon passes that on.
        Server::Docker => "Unexpected status code 404",
        // Podman lists the registry's v2 catalog, which this registry serves only with
        // credentials, and Podman 4.3 sends none (not even those of X-Registry-Auth).
        Server::Podman => "authentication required",
    };
    assert!(error.to_string().contains(expected), "{error}");
}

async fn drain_error<T: serde::de::DeserializeOwned>(
    mut stream: docker_engine_runtime::JsonStream<T>,
) -> docker_engine_runtime::Error {
    use futures_util::StreamExt;
    while let Some(item) = stream.next().await {
        if let Err(error) = item {
            return error;
        }
    }
    panic!("the stream ended without an error")
}
