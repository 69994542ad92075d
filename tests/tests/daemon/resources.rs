//! Networks, volumes and system recipes: create, inspect, list with filters, connect and
//! disconnect, prune, remove; events, data usage, the auth error path.

use daemon_test_macros::daemon_test;
use daemon_tests::{docker, unique_name, TestContainer};
use docker_engine_runtime::Error;
use docker_engine_v1_41::filters::{
    NetworkListFilters, NetworkPruneFilters, SystemEventsFilters, SystemEventsTypeFilter, VolumeListFilters,
    VolumePruneFilters,
};
use docker_engine_v1_41::models::{
    AuthConfig, EventMessageType, NetworkConnectRequest, NetworkCreateRequest, NetworkDisconnectRequest,
    SecretCreateBody, SecretSpec, VolumeCreateOptions,
};
use futures_util::StreamExt;

#[daemon_test]
async fn network_create_inspect_list_connect_disconnect_remove() {
    let docker = docker();
    let name = unique_name("net");
    let body = NetworkCreateRequest {
        name: name.clone(),
        check_duplicate: Some(true),
        labels: Some([("suite".to_owned(), "daemon-tests".to_owned())].into()),
        ..Default::default()
    };
    let created = docker.networks().create(body).send().await.unwrap();
    let network_id = created.id.unwrap();

    let listed = docker
        .networks()
        .list()
        .filters(NetworkListFilters::new().name(&name))
        .send()
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id.as_deref(), Some(network_id.as_str()));

    let container = TestContainer::new("netc", "sleep 60").start(&docker).await;
    let connect = NetworkConnectRequest {
        container: Some(container.id.clone()),
        ..Default::default()
    };
    docker.networks().connect(&network_id, connect).send().await.unwrap();
    let inspected = docker.networks().inspect(&network_id).send().await.unwrap();
    assert!(inspected.containers.unwrap_or_default().contains_key(&container.id));

    let disconnect = NetworkDisconnectRequest {
        container: Some(container.id.clone()),
        force: Some(true),
    };
    docker
        .networks()
        .disconnect(&network_id, disconnect)
        .send()
        .await
        .unwrap();
    let inspected = docker.networks().inspect(&network_id).send().await.unwrap();
    assert!(!inspected.containers.unwrap_or_default().contains_key(&container.id));

    docker.networks().delete(&network_id).send().await.unwrap();
    let gone = docker.networks().inspect(&network_id).send().await.unwrap_err();
    assert!(gone.is_not_found(), "{gone}");
}

#[daemon_test]
async fn network_prune_removes_unused_labelled_networks() {
    let docker = docker();
    let label = unique_name("netprune");
    let body = NetworkCreateRequest {
        name: unique_name("pruned"),
        labels: Some([(label.clone(), "1".to_owned())].into()),
        ..Default::default()
    };
    docker.networks().create(body).send().await.unwrap();
    let report = docker
        .networks()
        .prune()
        .filters(NetworkPruneFilters::new().label(&label))
        .send()
        .await
        .unwrap();
    assert_eq!(report.networks_deleted.map(|n| n.len()), Some(1));
}

#[daemon_test]
async fn volume_create_inspect_list_prune_remove() {
    let docker = docker();
    let name = unique_name("vol");
    let label = unique_name("vollabel");
    let body = VolumeCreateOptions {
        name: Some(name.clone()),
        labels: Some([(label.clone(), "yes".to_owned())].into()),
        ..Default::default()
    };
    let created = docker.volumes().create(body).send().await.unwrap();
    assert_eq!(created.name, name);
    let inspected = docker.volumes().inspect(&name).send().await.unwrap();
    assert_eq!(inspected.driver, "local");
    let listed = docker
        .volumes()
        .list()
        .filters(VolumeListFilters::new().label(&label))
        .send()
        .await
        .unwrap();
    let volumes = listed.volumes.unwrap_or_default();
    assert_eq!(volumes.len(), 1, "{volumes:?}");

    let unused = VolumeCreateOptions {
        name: Some(unique_name("unused")),
        labels: Some([(label.clone(), "prune".to_owned())].into()),
        ..Default::default()
    };
    docker.volumes().create(unused).send().await.unwrap();
    let report = docker
        .volumes()
        .prune()
        .filters(VolumePruneFilters::new().label_value(&label, "prune"))
        .send()
        .await
        .unwrap();
    assert_eq!(report.volumes_deleted.map(|v| v.len()), Some(1));

    docker.volumes().delete(&name).send().await.unwrap();
    assert!(docker.volumes().inspect(&name).send().await.unwrap_err().is_not_found());
}

#[daemon_test]
async fn a_filtered_event_stream_sees_the_container_start_and_die() {
    let docker = docker();
    let container = TestContainer::new("events", "exit 0").create(&docker).await;
    let filters = SystemEventsFilters::new()
        .container(&container.id)
        .type_(SystemEventsTypeFilter::Container);
    let since = unix_seconds();
    let mut events = docker.system().events().filters(filters.clone()).send().await.unwrap();
    docker.containers().start(&container.id).send().await.unwrap();
    let mut actions = Vec::new();
    while !actions.iter().any(|a| a == "die") {
        let next = tokio::time::timeout(std::time::Duration::from_secs(20), events.next()).await;
        let event = next.expect("events arrive").expect("the stream stays open").unwrap();
        assert_eq!(event.type_, Some(EventMessageType::Container));
        assert_eq!(event.actor.and_then(|a| a.id).as_deref(), Some(container.id.as_str()));
        actions.push(event.action.unwrap_or_default());
    }
    assert!(actions.iter().any(|a| a == "start"), "{actions:?}");

    // The same events read back from the past: with `until`, the daemon ends the stream.
    let past = docker
        .system()
        .events()
        .filters(filters)
        .since(since.to_string())
        .until(daemon_tests::events_until())
        .send()
        .await
        .unwrap();
    let replayed = tokio::time::timeout(std::time::Duration::from_secs(20), past.collect::<Vec<_>>())
        .await
        .expect("a stream with `until` ends by itself");
    let replayed: Vec<String> = replayed
        .into_iter()
        .map(|e| e.unwrap().action.unwrap_or_default())
        .collect();
    // `since` is in whole seconds, so the container's create may come first, and Podman may
    // report its `cleanup` after the `die` the live stream stopped at.
    assert!(
        replayed.windows(actions.len()).any(|window| window == actions),
        "{replayed:?} after {actions:?}"
    );
}

fn unix_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[daemon_test]
async fn data_usage_lists_images_and_containers() {
    let docker = docker();
    let _container = TestContainer::new("df", "true").create(&docker).await;
    let usage = {
        let _alone = daemon_tests::ONE_DATA_USAGE.lock().await;
        docker.system().data_usage().send().await.unwrap()
    };
    assert!(!usage.images.unwrap_or_default().is_empty());
    assert!(!usage.containers.unwrap_or_default().is_empty());
}

#[daemon_test]
async fn auth_against_an_unreachable_registry_is_a_daemon_error() {
    let docker = docker();
    let credentials = AuthConfig {
        username: Some("nobody".into()),
        password: Some("wrong".into()),
        serveraddress: Some("https://127.0.0.1:1/".into()),
        ..Default::default()
    };
    let error = docker.system().auth().body(credentials).send().await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::Daemon {
                operation: "SystemAuth",
                ..
            }
        ),
        "{error:?}"
    );
}

#[daemon_test]
async fn search_and_distribution_report_the_missing_network() {
    let docker = docker();
    let search = docker.images().search("busybox").limit(1).send().await.unwrap_err();
    assert!(
        matches!(
            search,
            Error::Daemon {
                operation: "ImageSearch",
                ..
            }
        ),
        "{search:?}"
    );
    let distribution = docker
        .distribution()
        .inspect("busybox:latest")
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            distribution,
            Error::Daemon {
                operation: "DistributionInspect",
                ..
            }
        ),
        "{distribution:?}"
    );
    let plugins = docker.plugins().list().send().await;
    if daemon_tests::unimplemented_on_podman(&plugins) {
        return;
    }
    // Other tests install plugins of their own (named `dct-...`) while this one runs.
    let installed: Vec<_> = plugins
        .unwrap()
        .into_iter()
        .filter(|plugin| !plugin.name.starts_with("dct-"))
        .collect();
    assert!(
        installed.is_empty(),
        "no plugins are installed on the test daemon but the suite's: {installed:?}"
    );
}

/// Docker keeps secrets only in a swarm; Podman keeps them without one, and does not update them.
#[daemon_test]
async fn secrets_without_a_swarm() {
    let docker = docker();
    let secrets = docker.secrets();
    if daemon_tests::server() == daemon_tests::Server::Docker {
        // Held so that no other test has put the daemon in a swarm meanwhile.
        let _no_swarm = daemon_tests::ONE_SWARM.lock().await;
        let refused = secrets.list().send().await.unwrap_err();
        match &refused {
            Error::Daemon {
                status: 503, message, ..
            } => {
                assert!(message.contains("not a swarm manager"), "{refused}")
            }
            other => panic!("expected the swarm refusal, got {other:?}"),
        }
        return;
    }
    let name = unique_name("secret");
    let body = SecretCreateBody {
        name: Some(name.clone()),
        labels: Some([("suite".to_owned(), "daemon-tests".to_owned())].into()),
        data: Some("c2VjcmV0IGRhdGE=".into()),
        ..Default::default()
    };
    let id = secrets.create().body(body).send().await.unwrap().id.unwrap();
    let listed = secrets.list().send().await.unwrap();
    assert!(
        listed.iter().any(|s| s.id.as_deref() == Some(id.as_str())),
        "{listed:?}"
    );
    let inspected = secrets.inspect(&name).send().await.unwrap();
    assert_eq!(inspected.id.as_deref(), Some(id.as_str()));
    let spec = inspected.spec.unwrap();
    assert_eq!(spec.name.as_deref(), Some(name.as_str()));
    assert_eq!(
        spec.labels.unwrap_or_default().get("suite").map(String::as_str),
        Some("daemon-tests")
    );
    let version = i64::try_from(inspected.version.and_then(|v| v.index).unwrap()).unwrap();
    let renamed = SecretSpec {
        name: Some(name.clone()),
        ..Default::default()
    };
    let update = secrets.update(&id, version).body(renamed).send().await.unwrap_err();
    match &update {
        Error::Daemon {
            status: 501, message, ..
        } => assert_eq!(message, "update is not supported"),
        other => panic!("Podman does not update secrets: {other:?}"),
    }
    secrets.delete(&id).send().await.unwrap();
    assert!(secrets.inspect(&id).send().await.unwrap_err().is_not_found());
}
