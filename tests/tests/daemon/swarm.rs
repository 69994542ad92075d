//! Swarm recipes: init, inspect, update, unlock key, nodes (the peer daemon of the test script
//! joining as a worker, leaving and being removed), services, tasks, service and task logs,
//! secrets, configs; leave at the end, also when an assertion fails. One test, because a
//! daemon is in one swarm at a time.

use daemon_test_macros::daemon_test;
use std::time::Duration;

use daemon_tests::{busybox_image, docker, unique_name};
use docker_engine_runtime::Error;
use docker_engine_v1_41::filters::{ServiceListFilters, TaskListFilters};
use docker_engine_v1_41::models::{
    ConfigCreateBody, NodeSpec, SecretCreateBody, ServiceCreateBody, ServiceUpdateBody, SwarmInitRequest,
    SwarmJoinRequest, SwarmUnlockRequest, TaskSpec, TaskSpecContainerSpec,
};
use docker_engine_v1_41::Docker;

/// Makes the daemon leave the swarm when dropped, with a client and runtime of its own.
pub(crate) struct LeaveSwarm(pub(crate) fn() -> Docker);

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

#[daemon_test]
async fn single_node_swarm() {
    let docker = docker();
    let _one_swarm = daemon_tests::ONE_SWARM.lock().await;
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
    let _leave = LeaveSwarm(daemon_tests::docker);
    assert!(!node_id.is_empty());

    let again = docker
        .swarm()
        .init(SwarmInitRequest::default())
        .send()
        .await
        .unwrap_err();
    assert_eq!(again.status(), Some(503), "{again}");
    let join = SwarmJoinRequest {
        remote_addrs: vec!["127.0.0.1:1".into()],
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
        listen_addr: format!("{peer_address}:2377"),
        advertise_addr: Some(peer_address.clone()),
        remote_addrs: vec![format!("{manager_address}:2377")],
        join_token: tokens.worker.expect("a swarm has a worker join token"),
        ..Default::default()
    };
    match peer.swarm().join(join).send().await {
        Ok(()) => {}
        // A daemon that has waited long enough answers 503 and goes on joining, as it says;
        // the node list below shows when the worker is in.
        Err(Error::Daemon {
            status: 503, message, ..
        }) if message.contains("continue in the background") => {}
        Err(other) => panic!("the peer joins the swarm: {other}"),
    }
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
        .filters(ServiceListFilters::new().name(&name))
        .send()
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    let task = eventually("a running task", || async {
        let tasks = docker
            .tasks()
            .list()
            .filters(TaskListFilters::new().service(&name))
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

/// A dockerd of the test's own in a network namespace of its own (two daemons in one namespace
/// break each other's bridge), which the test can stop and start again with the same state.
/// Dropped, it stops and its namespace and folder go.
struct OwnDaemon {
    dir: std::path::PathBuf,
    namespace: String,
    process: Option<std::process::Child>,
}

/// How long the test's own daemon may take to answer after it starts.
const DAEMON_START_LIMIT: Duration = Duration::from_secs(60);

impl OwnDaemon {
    fn new(name: &str) -> OwnDaemon {
        daemon_tests::replay::cannot_replay("starts a dockerd of its own");
        let dir = std::env::temp_dir().join(unique_name(name));
        std::fs::create_dir_all(&dir).unwrap();
        let namespace = format!("dct-{name}-{}", std::process::id());
        let ip = |args: &[&str]| {
            let status = std::process::Command::new("ip")
                .args(args)
                .status()
                .expect("ip (iproute2) runs");
            assert!(status.success(), "ip {}", args.join(" "));
        };
        ip(&["netns", "add", &namespace]);
        let daemon = OwnDaemon {
            dir,
            namespace,
            process: None,
        };
        ip(&["-n", &daemon.namespace, "link", "set", "lo", "up"]);
        // An address to advertise that is no loopback (swarm refuses those): one end of a veth
        // pair whose both ends stay in the namespace.
        ip(&[
            "-n",
            &daemon.namespace,
            "link",
            "add",
            "dct-lock0",
            "type",
            "veth",
            "peer",
            "name",
            "dct-lock1",
        ]);
        ip(&[
            "-n",
            &daemon.namespace,
            "addr",
            "add",
            &format!("{}/30", Self::ADDRESS),
            "dev",
            "dct-lock0",
        ]);
        ip(&["-n", &daemon.namespace, "link", "set", "dct-lock0", "up"]);
        ip(&["-n", &daemon.namespace, "link", "set", "dct-lock1", "up"]);
        daemon
    }

    /// The address of the daemon's namespace.
    const ADDRESS: &'static str = "10.233.0.1";

    fn socket(&self) -> std::path::PathBuf {
        self.dir.join("docker.sock")
    }

    async fn start(&mut self) -> Docker {
        let log = std::fs::File::create(self.dir.join("dockerd.log")).unwrap();
        let process = std::process::Command::new("nsenter")
            .arg(format!("--net=/run/netns/{}", self.namespace))
            .arg("dockerd")
            .arg("--data-root")
            .arg(self.dir.join("data"))
            .arg("--exec-root")
            .arg(self.dir.join("exec"))
            .arg("--pidfile")
            .arg(self.dir.join("dockerd.pid"))
            .arg("--host")
            .arg(format!("unix://{}", self.socket().display()))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("dockerd runs (docker.io)");
        self.process = Some(process);
        let docker = daemon_tests::docker_at(docker_engine_runtime::Endpoint::Unix(self.socket())).unwrap();
        let started = std::time::Instant::now();
        while docker.system().ping().send().await.is_err() {
            if let Some(status) = self.process.as_mut().unwrap().try_wait().unwrap() {
                panic!("the test's dockerd exited ({status}): {}", self.log());
            }
            assert!(
                started.elapsed() < DAEMON_START_LIMIT,
                "the test's dockerd did not answer within {DAEMON_START_LIMIT:?}: {}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        docker
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("dockerd.log")).unwrap_or_default()
    }

    /// Stops the daemon (SIGTERM, then SIGKILL after 30 s) and waits for it to exit.
    fn stop(&mut self) {
        let Some(mut process) = self.process.take() else { return };
        let _ = std::process::Command::new("kill")
            .arg(process.id().to_string())
            .status();
        let waited = std::time::Instant::now();
        while process.try_wait().unwrap().is_none() {
            if waited.elapsed() > Duration::from_secs(30) {
                let _ = process.kill();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for OwnDaemon {
    fn drop(&mut self) {
        self.stop();
        let _ = std::process::Command::new("ip")
            .args(["netns", "del", &self.namespace])
            .status();
        if let Ok(mounts) = std::fs::read_to_string("/proc/mounts") {
            let dir = self.dir.to_string_lossy().into_owned();
            let mut under: Vec<&str> = mounts
                .lines()
                .filter_map(|line| line.split(' ').nth(1))
                .filter(|mount| mount.starts_with(&dir))
                .collect();
            under.sort_by(|a, b| b.cmp(a));
            for mount in under {
                let _ = std::process::Command::new("umount").args(["-l", mount]).status();
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[daemon_test]
async fn a_locked_manager_restarted_is_unlocked_with_its_key() {
    // The daemon is the test's own; on Podman's pass there is nothing more to learn from it.
    if daemon_tests::server() == daemon_tests::Server::Podman {
        return;
    }
    let mut own = OwnDaemon::new("lock");
    // Each daemon start has its own limit; the swarm's calls all together have this one.
    tokio::time::timeout(Duration::from_secs(240), lock_restart_and_unlock(&mut own))
        .await
        .expect("the locked swarm test ends within four minutes");
}

async fn lock_restart_and_unlock(own: &mut OwnDaemon) {
    let docker = own.start().await;
    let init = SwarmInitRequest {
        listen_addr: Some(format!("{}:2377", OwnDaemon::ADDRESS)),
        advertise_addr: Some(OwnDaemon::ADDRESS.into()),
        spec: Some(docker_engine_v1_41::models::SwarmSpec {
            encryption_config: Some(docker_engine_v1_41::models::SwarmSpecEncryptionConfig {
                auto_lock_managers: Some(true),
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    docker
        .swarm()
        .init(init)
        .send()
        .await
        .expect("the swarm starts, locked on restart");
    let key = docker.swarm().unlockkey().send().await.unwrap().unlock_key.unwrap();
    assert!(key.starts_with("SWMKEY-"), "{key}");

    own.stop();
    let docker = own.start().await;
    let state = |docker: Docker| async move {
        let info = docker.system().info().send().await.unwrap();
        format!("{:?}", info.swarm.and_then(|swarm| swarm.local_node_state))
    };
    assert!(
        state(docker.clone()).await.to_lowercase().contains("locked"),
        "the restarted manager is locked"
    );
    let wrong = SwarmUnlockRequest {
        unlock_key: Some("SWMKEY-1-not-the-key".into()),
    };
    let refused = docker.swarm().unlock(wrong).send().await.unwrap_err();
    assert!(refused.to_string().contains("key"), "{refused}");
    let right = SwarmUnlockRequest { unlock_key: Some(key) };
    docker
        .swarm()
        .unlock(right)
        .send()
        .await
        .expect("the key unlocks the manager");
    eventually("the unlocked manager to be active", || {
        let docker = docker.clone();
        async move { state(docker).await.to_lowercase().contains("active").then_some(()) }
    })
    .await;
    docker.swarm().leave().force(true).send().await.unwrap();
}
