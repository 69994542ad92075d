//! Swarm recipes: init, inspect, update, unlock key, nodes (the peer daemon of the test script
//! joining as a worker, leaving and being removed), services, tasks, service and task logs,
//! secrets, configs; leave at the end, also when an assertion fails. One test, because a
//! daemon is in one swarm at a time.

use std::time::Duration;

use daemon_tests::{busybox_image, docker, unique_name};
use docker_engine_runtime::{Error, Filters};
use docker_engine_v1_41::models::{
    ConfigCreateBody, NodeSpec, SecretCreateBody, ServiceCreateBody, ServiceUpdateBody, SwarmInitRequest,
    SwarmJoinRequest, SwarmUnlockRequest, TaskSpec, TaskSpecContainerSpec,
};
use docker_engine_v1_41::Docker;

/// Makes the daemon leave the swarm when dropped, with a client and runtime of its own.
struct LeaveSwarm(fn() -> Docker);

impl Drop for LeaveSwarm {
    fn drop(&mut self) {
        daemon_tests::clean_up(self.0, |docker| async move {
            let _ = docker.swarm().leave().force(true).send().await;
        });
    }
}

async fn eventually<T, F, Fut>(what: &str, mut attempt: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..120 {
        if let Some(value) = attempt().await {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn swarm_version(docker: &Docker) -> i64 {
    let swarm = docker.swarm().inspect().send().await.unwrap();
    swarm.version.and_then(|v| v.index).unwrap() as i64
}

#[tokio::test]
async fn single_node_swarm() {
    let Some(docker) = docker() else { return };
    let image = busybox_image(&docker).await;
    // Advertised where the peer daemon, in its own network namespace, reaches this one.
    let (manager_address, peer_address) = daemon_tests::swarm_addresses();
    let init = SwarmInitRequest {
        listen_addr: Some(format!("{manager_address}:2377")),
        advertise_addr: Some(manager_address.clone()),
        ..Default::default()
    };
    let initialized = docker.swarm().init(init).send().await;
    if daemon_tests::unimplemented_on_podman(&initialized) {
        return;
    }
    let node_id = initialized.unwrap();
    let _leave = LeaveSwarm(daemon_tests::test_docker);
    assert!(!node_id.is_empty());

    let again = docker
        .swarm()
        .init(SwarmInitRequest::default())
        .send()
        .await
        .unwrap_err();
    assert_eq!(again.status(), Some(503), "{again}");
    let join = SwarmJoinRequest {
        remote_addrs: Some(vec!["127.0.0.1:1".into()]),
        ..Default::default()
    };
    assert!(docker.swarm().join(join).send().await.is_err());
    let unlock = SwarmUnlockRequest {
        unlock_key: Some("SWMKEY-1-nope".into()),
    };
    assert!(
        docker.swarm().unlock(unlock).send().await.is_err(),
        "an unlocked swarm refuses unlock"
    );

    // Update the swarm's spec (autolock on) and read the unlock key.
    let spec = docker.swarm().inspect().send().await.unwrap().spec.unwrap();
    let mut locked = spec.clone();
    locked
        .encryption_config
        .get_or_insert_with(Default::default)
        .auto_lock_managers = Some(true);
    docker
        .swarm()
        .update(swarm_version(&docker).await, locked)
        .send()
        .await
        .unwrap();
    let key = docker.swarm().unlockkey().send().await.unwrap();
    assert!(key.unlock_key.unwrap_or_default().starts_with("SWMKEY-"));
    docker
        .swarm()
        .update(swarm_version(&docker).await, spec)
        .send()
        .await
        .unwrap();

    // Nodes.
    let nodes = docker.nodes().list().send().await.unwrap();
    assert_eq!(nodes.len(), 1);
    // The manager updates its own node object too (status, heartbeats): an update made against
    // a version it has just replaced is refused as out of sequence, and is made again.
    for attempt in 1.. {
        let node = docker.nodes().inspect(&node_id).send().await.unwrap();
        let version = node.version.and_then(|v| v.index).unwrap() as i64;
        let mut node_spec: NodeSpec = node.spec.unwrap();
        node_spec.labels = Some([("zone".to_owned(), "test".to_owned())].into());
        match docker.nodes().update(&node_id, version).body(node_spec).send().await {
            Ok(()) => break,
            Err(Error::Daemon { message, .. }) if message.contains("out of sequence") && attempt < 5 => continue,
            Err(error) => panic!("NodeUpdate: {error}"),
        }
    }
    let labels = docker
        .nodes()
        .inspect(&node_id)
        .send()
        .await
        .unwrap()
        .spec
        .unwrap()
        .labels
        .unwrap();
    assert_eq!(labels.get("zone").map(String::as_str), Some("test"));
    let delete_self = docker.nodes().delete(&node_id).send().await.unwrap_err();
    assert!(
        matches!(delete_self, Error::Daemon { .. }),
        "a manager cannot remove itself: {delete_self}"
    );

    // The peer daemon joins as a worker, then leaves, and its node is removed.
    let peer = daemon_tests::peer_docker();
    let tokens = docker.swarm().inspect().send().await.unwrap().join_tokens.unwrap();
    let join = SwarmJoinRequest {
        listen_addr: Some(format!("{peer_address}:2377")),
        advertise_addr: Some(peer_address.clone()),
        remote_addrs: Some(vec![format!("{manager_address}:2377")]),
        join_token: tokens.worker,
        ..Default::default()
    };
    peer.swarm().join(join).send().await.unwrap();
    let _peer_leaves = LeaveSwarm(daemon_tests::peer_docker);
    let worker_id = eventually("the worker in the node list", || async {
        let nodes = docker.nodes().list().send().await.unwrap();
        nodes.into_iter().find_map(|node| node.id.filter(|id| *id != node_id))
    })
    .await;
    let worker = docker.nodes().inspect(&worker_id).send().await.unwrap();
    assert_eq!(
        worker.status.and_then(|s| s.addr).as_deref(),
        Some(peer_address.as_str())
    );
    peer.swarm().leave().send().await.unwrap();
    docker.nodes().delete(&worker_id).force(true).send().await.unwrap();
    assert!(docker
        .nodes()
        .inspect(&worker_id)
        .send()
        .await
        .unwrap_err()
        .is_not_found());

    // Services, tasks and their logs.
    let name = unique_name("svc");
    let service = ServiceCreateBody {
        name: Some(name.clone()),
        task_template: Some(TaskSpec {
            container_spec: Some(TaskSpecContainerSpec {
                image: Some(image.into()),
                command: Some(vec!["sh".into(), "-c".into(), "echo service-says-hi; sleep 300".into()]),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    let service_id = docker.services().create(service).send().await.unwrap().id.unwrap();
    let listed = docker
        .services()
        .list()
        .filters(Filters::new().name(&name))
        .send()
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    let task = eventually("a running task", || async {
        let tasks = docker
            .tasks()
            .list()
            .filters(Filters::new().add("service", &name))
            .send()
            .await
            .unwrap();
        tasks
            .into_iter()
            .find(|t| t.status.as_ref().and_then(|s| s.state.as_ref()).map(|s| s.as_str()) == Some("running"))
    })
    .await;
    let task_id = task.id.unwrap();
    assert_eq!(
        docker
            .tasks()
            .inspect(&task_id)
            .send()
            .await
            .unwrap()
            .service_id
            .as_deref(),
        Some(service_id.as_str())
    );

    let logs = eventually("service logs", || async {
        let logs = docker.services().logs(&service_id).stdout(true).send().await.unwrap();
        let (stdout, _) = logs.read_all().await.unwrap();
        String::from_utf8_lossy(&stdout)
            .contains("service-says-hi")
            .then_some(stdout)
    })
    .await;
    assert!(!logs.is_empty());
    let task_logs = docker.tasks().logs(&task_id).stdout(true).send().await.unwrap();
    let (stdout, _) = task_logs.read_all().await.unwrap();
    assert!(String::from_utf8_lossy(&stdout).contains("service-says-hi"));

    let inspected = docker.services().inspect(&service_id).send().await.unwrap();
    let version = inspected.version.and_then(|v| v.index).unwrap() as i64;
    let spec = inspected.spec.unwrap();
    let update = ServiceUpdateBody {
        name: spec.name,
        labels: Some([("updated".to_owned(), "yes".to_owned())].into()),
        task_template: spec.task_template,
        mode: spec.mode,
        ..Default::default()
    };
    let response = docker
        .services()
        .update(&service_id, version, update)
        .send()
        .await
        .unwrap();
    assert!(response.warnings.unwrap_or_default().is_empty());
    let labels = docker
        .services()
        .inspect(&service_id)
        .send()
        .await
        .unwrap()
        .spec
        .unwrap()
        .labels
        .unwrap();
    assert_eq!(labels.get("updated").map(String::as_str), Some("yes"));
    docker.services().delete(&service_id).send().await.unwrap();

    // Secrets and configs.
    let secret = SecretCreateBody {
        name: Some(unique_name("secret")),
        data: Some("c2VjcmV0".into()),
        ..Default::default()
    };
    let secret_id = docker.secrets().create().body(secret).send().await.unwrap().id.unwrap();
    assert_eq!(docker.secrets().list().send().await.unwrap().len(), 1);
    let inspected = docker.secrets().inspect(&secret_id).send().await.unwrap();
    let version = inspected.version.and_then(|v| v.index).unwrap() as i64;
    let mut spec = inspected.spec.unwrap();
    spec.labels = Some([("rotated".to_owned(), "no".to_owned())].into());
    docker
        .secrets()
        .update(&secret_id, version)
        .body(spec)
        .send()
        .await
        .unwrap();
    docker.secrets().delete(&secret_id).send().await.unwrap();

    let config = ConfigCreateBody {
        name: Some(unique_name("config")),
        data: Some("Y29uZmln".into()),
        ..Default::default()
    };
    let config_id = docker.configs().create().body(config).send().await.unwrap().id.unwrap();
    assert_eq!(docker.configs().list().send().await.unwrap().len(), 1);
    let inspected = docker.configs().inspect(&config_id).send().await.unwrap();
    assert_eq!(
        inspected.spec.as_ref().and_then(|s| s.data.as_deref()),
        Some("Y29uZmln")
    );
    let version = inspected.version.and_then(|v| v.index).unwrap() as i64;
    let mut spec = inspected.spec.unwrap();
    spec.labels = Some([("edited".to_owned(), "yes".to_owned())].into());
    docker
        .configs()
        .update(&config_id, version)
        .body(spec)
        .send()
        .await
        .unwrap();
    docker.configs().delete(&config_id).send().await.unwrap();

    docker.swarm().leave().force(true).send().await.unwrap();
    let outside = docker.swarm().inspect().send().await.unwrap_err();
    assert_eq!(outside.status(), Some(503), "{outside}");
}
