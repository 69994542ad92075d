//! Against the registry the test script starts (the reference Registry HTTP API v2 server with
//! htpasswd authentication): push, distribution inspect, pull back with credentials from a
//! Docker configuration, login with right and wrong passwords, and search.

use daemon_test_macros::daemon_test;
use daemon_tests::{docker, drain, server, unimplemented_on_podman, unique_name, Server, TestRegistry};
use docker_engine_runtime::DockerConfig;
use docker_engine_v1_41::models::AuthConfig;

#[daemon_test]
async fn push_inspect_remotely_delete_and_pull_back_with_stored_credentials() {
    let docker = docker();
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
        // Docker 29 pushes from the containerd image store, its default, which sends no `aux`:
        // the digest is only in the last status, `v1: digest: sha256:... size: 744`.
        Server::Docker if daemon_tests::facts().major() >= 29 => {
            assert!(
                pushed
                    .iter()
                    .any(|m| m.id.is_some() && m.status.as_deref() == Some("Pushed")),
                "each layer's progress names it: {pushed:?}"
            );
            let last = pushed
                .iter()
                .rev()
                .find_map(|m| m.status.as_deref())
                .unwrap_or_default();
            let digest = last
                .strip_prefix("v1: digest: ")
                .and_then(|rest| rest.split(' ').next());
            digest
                .unwrap_or_else(|| panic!("the push names its digest: {pushed:?}"))
                .to_owned()
        }
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
        let descriptor = remote.descriptor;
        assert_eq!(descriptor.digest.as_deref(), Some(digest.as_str()));
        let platforms = remote.platforms;
        match daemon_tests::facts().major() {
            // Docker 29 pushes an OCI manifest, and reads platforms only from Docker's own
            // manifest types (moby's distribution router), so it lists none.
            29.. => {
                let oci = "application/vnd.oci.image.manifest.v1+json";
                assert_eq!(descriptor.media_type.as_deref(), Some(oci));
                assert!(platforms.is_empty(), "{platforms:?}");
            }
            _ => assert!(!platforms.is_empty()),
        }
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

#[daemon_test]
async fn login_succeeds_with_the_password_and_fails_clearly_without_it() {
    let docker = docker();
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
    assert_eq!(answer.status, "Login Succeeded");

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

#[daemon_test]
async fn search_reports_what_the_registry_answers() {
    let docker = docker();
    let registry = TestRegistry::from_env();
    let error = docker
        .images()
        .search(format!("{}/busybox", registry.address))
        .send()
        .await
        .unwrap_err();
    let expected = match server() {
        // Docker searches through the registry's v1 search endpoint, which only Docker Hub
        // serves; the reference registry answers 404, and the daemon passes that on (in lower
        // case from Docker 29).
        Server::Docker if daemon_tests::facts().major() >= 29 => "unexpected status code 404",
        Server::Docker => "Unexpected status code 404",
        // Podman lists the registry's v2 catalog, which this registry serves only with
        // credentials, and Podman 4.3 sends none (not even those of X-Registry-Auth).
        Server::Podman => "authentication required",
    };
    assert!(error.to_string().contains(expected), "{error}");
}

/// A registry's v1 search endpoint, as Docker Hub serves it, on a loopback port of the test's
/// own: `GET /v1/_ping` (the daemon's check of the endpoint) and `GET /v1/search?q=&n=`, two
/// results per request, naming what was asked (`library/TERM`, official, 42 stars;
/// `someone/TERM`, automated, 3 stars); what else arrives (the daemon's HTTPS attempt first) is
/// closed. Returns the address and the request lines seen.
pub(crate) async fn serve_v1_search() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let requests = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut connection, _)) = listener.accept().await else {
                return;
            };
            let requests = requests.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buffer = [0u8; 4096];
                while !head.windows(4).any(|window| window == b"\r\n\r\n") {
                    match connection.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(read) => head.extend_from_slice(&buffer[..read]),
                    }
                    if !head.starts_with(b"GET ") || head.len() > 64 * 1024 {
                        return;
                    }
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                let line = head.lines().next().unwrap_or_default().to_owned();
                requests.lock().unwrap().push(line.clone());
                let target = line.split(' ').nth(1).unwrap_or_default();
                let body = if target.starts_with("/v1/_ping") {
                    "{}".to_owned()
                } else if let Some(query) = target.strip_prefix("/v1/search?") {
                    let term = query
                        .split('&')
                        .find_map(|pair| pair.strip_prefix("q="))
                        .unwrap_or_default();
                    serde_json::json!({
                        "num_results": 2,
                        "query": term,
                        "results": [{
                            "name": format!("library/{term}"),
                            "description": "found by the test's v1 search endpoint",
                            "star_count": 42,
                            "is_official": true,
                            "is_automated": false,
                        }, {
                            "name": format!("someone/{term}"),
                            "description": "also found",
                            "star_count": 3,
                            "is_official": false,
                            "is_automated": true,
                        }],
                    })
                    .to_string()
                } else {
                    let _ = connection
                        .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                        .await;
                    return;
                };
                let answer = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = connection.write_all(answer.as_bytes()).await;
            });
        }
    });
    (address, seen)
}

#[daemon_test]
async fn search_reads_the_results_of_a_registry_that_serves_v1_search() {
    let docker = docker();
    if server() == Server::Podman {
        // Podman runs in a network namespace of its own, where the test's port is not; and it
        // searches a registry's v2 catalog, not the v1 endpoint (the test above checks that).
        return;
    }
    let (address, seen) = serve_v1_search().await;
    let search = docker.images().search(format!("{address}/busybox")).limit(7).send();
    let results = tokio::time::timeout(std::time::Duration::from_secs(60), search)
        .await
        .expect("the daemon answers the search within a minute")
        .expect("the daemon searches the test's endpoint");
    assert_eq!(results.len(), 2, "{results:?}");
    let found = &results[0];
    assert!(
        found.name.as_deref().unwrap_or_default().ends_with("library/busybox"),
        "{found:?}"
    );
    assert_eq!(found.star_count, Some(42));
    assert_eq!(found.is_official, Some(true));
    assert_eq!(
        found.description.as_deref(),
        Some("found by the test's v1 search endpoint")
    );
    let seen = seen.lock().unwrap().clone();
    assert!(
        seen.iter()
            .any(|line| line.starts_with("GET /v1/search?") && line.contains("q=busybox") && line.contains("n=7")),
        "{seen:?}"
    );
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
