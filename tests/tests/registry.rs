//! Against the registry the test script starts (the reference Registry HTTP API v2 server with
//! htpasswd authentication): push, distribution inspect, pull back with credentials from a
//! Docker configuration, login with right and wrong passwords, and search.

use daemon_tests::{docker, drain, unique_name, TestRegistry};
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
    let result = pushed
        .iter()
        .find_map(|message| message.aux.clone())
        .unwrap_or_else(|| panic!("the push names its digest: {pushed:?}"));
    assert_eq!(result.tag.as_deref(), Some("v1"));
    let digest = result.digest.expect("pushed digest");
    assert!(digest.starts_with("sha256:"), "{digest}");
    assert!(
        // A layer this registry already holds in another repository is mounted, not sent.
        pushed.iter().any(|m| m.id.is_some()
            && matches!(m.status.as_deref(), Some(s) if s == "Pushed" || s.starts_with("Mounted from"))),
        "each layer's progress names it: {pushed:?}"
    );

    let remote = docker
        .distribution()
        .inspect(&reference)
        .x_registry_auth(registry.auth())
        .send()
        .await
        .unwrap();
    let descriptor = remote.descriptor.expect("a descriptor");
    assert_eq!(descriptor.digest.as_deref(), Some(digest.as_str()));
    assert!(!remote.platforms.unwrap_or_default().is_empty());
    let denied = docker.distribution().inspect(&reference).send().await.unwrap_err();
    assert!(denied.to_string().contains("no basic auth credentials"), "{denied}");

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
    let statuses: Vec<_> = pulled.iter().filter_map(|m| m.status.as_deref()).collect();
    assert!(
        statuses.iter().any(|s| s.contains(&digest)),
        "the pull reports the digest pushed: {statuses:?}"
    );
    assert!(
        pulled
            .iter()
            .any(|m| m.id.is_some() && m.status.as_deref() == Some("Pull complete")),
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
    let login = |password: &str| AuthConfig {
        username: Some(registry.user.clone()),
        password: Some(password.to_owned()),
        serveraddress: Some(registry.address.clone()),
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
    // The daemon searches through the registry's v1 search endpoint, which only Docker Hub
    // serves; the reference registry answers 404, and the daemon passes that on.
    let error = docker
        .images()
        .search(format!("{}/busybox", registry.address))
        .send()
        .await
        .unwrap_err();
    assert!(error.to_string().contains("Unexpected status code 404"), "{error}");
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
