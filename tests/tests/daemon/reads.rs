//! Every generated crate, 1.25 to 1.54, reads what the server sends about real objects in
//! states worth reading: a running container with an exec, published ports, a volume and a
//! network of its own; a paused one; one that exited with an error; one never started; an image
//! with several tags. Crates newer than the server negotiate down and decode its answers with
//! their own models. Every failure of every crate is collected, so one run lists them all.

use daemon_test_macros::daemon_test;
use std::time::Duration;

use daemon_tests::{
    busybox_image, clean_up, daemon, docker, exec_to_the_end, server, unique_name, ContainerGuard, Server,
    TestContainer,
};
use docker_engine_runtime::{Client, Endpoint, Options};
use docker_engine_v1_41::models::{
    EndpointSettings, ExecConfig, HealthConfig, Ipam, IpamConfig, NetworkCreateRequest, NetworkingConfig,
    VolumeCreateOptions,
};
use docker_engine_v1_41::Docker;
use futures_util::{FutureExt, StreamExt};

/// The whole test, world and every crate's reads, stays within this.
const LIMIT: Duration = Duration::from_secs(300);

/// The objects every crate reads. Containers go first when it is dropped, then the network,
/// volume and tags they hold.
struct World {
    running: ContainerGuard,
    paused: ContainerGuard,
    exited: ContainerGuard,
    created: ContainerGuard,
    /// An exec that ran to its end.
    exec_id: String,
    /// An exec created and never started.
    pending_exec_id: String,
    label: String,
    /// Unix time before the first object was made, to read the events since.
    since: i64,
    named: Named,
}

/// The network, volume and image tags of the world, removed when dropped.
struct Named {
    network: String,
    volume: String,
    tags: [String; 2],
}

impl Drop for Named {
    fn drop(&mut self) {
        let (network, volume, tags) = (self.network.clone(), self.volume.clone(), self.tags.clone());
        clean_up(docker, |docker| async move {
            for tag in tags {
                let _ = docker.images().delete(tag).send().await;
            }
            let _ = docker.networks().delete(network).send().await;
            let _ = docker.volumes().delete(volume).force(true).send().await;
        });
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

async fn build_world(docker: &Docker) -> World {
    let since = now() - 1;
    let image = busybox_image(docker).await;
    let label = unique_name("reads");
    let labels = || {
        Some(
            [
                (label.clone(), "1".to_owned()),
                ("suite".to_owned(), "daemon-tests".to_owned()),
            ]
            .into(),
        )
    };
    let repository = unique_name("reads-image");
    let named = Named {
        network: unique_name("reads-net"),
        volume: unique_name("reads-vol"),
        tags: [format!("{repository}:one"), format!("{repository}:two")],
    };
    for tag in &named.tags {
        let (repo, name) = tag.rsplit_once(':').unwrap();
        docker.images().tag(image).repo(repo).tag(name).send().await.unwrap();
    }
    // A subnet of its own, with an auxiliary address and a driver option, so that every field
    // of the IPAM configuration is sent back.
    let subnet = format!("10.{}.{}", 200 + std::process::id() % 50, std::process::id() % 250);
    let network = NetworkCreateRequest {
        name: named.network.clone(),
        labels: labels(),
        ipam: Some(Ipam {
            driver: Some("default".into()),
            config: Some(vec![IpamConfig {
                subnet: Some(format!("{subnet}.0/24")),
                gateway: Some(format!("{subnet}.1")),
                auxiliary_addresses: Some([("reserved".to_owned(), format!("{subnet}.5"))].into()),
                ..Default::default()
            }]),
            options: Some([("reads".to_owned(), "yes".to_owned())].into()),
        }),
        ..Default::default()
    };
    docker.networks().create(network).send().await.unwrap();
    let volume = VolumeCreateOptions {
        name: Some(named.volume.clone()),
        labels: labels(),
        ..Default::default()
    };
    docker.volumes().create(volume).send().await.unwrap();

    let running_command = "echo out; echo err >&2; echo kept > /data/file; echo changed > /tmp/file; exec sleep 300";
    let running = TestContainer::new("reads-running", running_command)
        .label(&label, "1")
        .publish("80/tcp")
        .with(|body| {
            body.healthcheck = Some(HealthConfig {
                test: Some(vec!["CMD".into(), "true".into()]),
                interval: Some(1_000_000_000),
                ..Default::default()
            });
            let host_config = body.host_config.get_or_insert_with(Default::default);
            host_config.binds = Some(vec![format!("{}:/data", named.volume)]);
            body.networking_config = Some(NetworkingConfig {
                endpoints_config: Some(
                    [(
                        named.network.clone(),
                        EndpointSettings {
                            aliases: Some(vec!["reader".into()]),
                            ..Default::default()
                        },
                    )]
                    .into(),
                ),
            });
        })
        .start(docker)
        .await;
    let exec_id = exec_to_the_end(docker, &running.id, &["true"]).await;
    // A finished exec leaves the container's ExecIDs (only its own inspect remains); one never
    // started stays listed.
    let pending_exec = ExecConfig {
        cmd: Some(vec!["true".into()]),
        ..Default::default()
    };
    let pending_exec_id = docker.exec().create(&running.id, pending_exec).send().await.unwrap().id;

    let paused = TestContainer::new("reads-paused", "echo paused; exec sleep 300")
        .label(&label, "1")
        .start(docker)
        .await;
    docker.containers().pause(&paused.id).send().await.unwrap();
    let exited = TestContainer::new("reads-exited", "echo bye; echo failing >&2; exit 3")
        .label(&label, "1")
        .start(docker)
        .await;
    daemon_tests::wait_until_listed_as_exited(docker, &exited.id).await;
    let created = TestContainer::new("reads-created", "true")
        .label(&label, "1")
        .create(docker)
        .await;
    // The running container has written its files and, on Docker, passed its first health
    // check. Podman 4.3 runs health checks from systemd timers, which its service here has
    // not, so the status stays "starting".
    if server() == Server::Docker {
        for _ in 0..100 {
            let inspected = docker.containers().inspect(&running.id).send().await.unwrap();
            if wire(&inspected)["State"]["Health"]["Status"] == "healthy" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    World {
        running,
        paused,
        exited,
        created,
        exec_id,
        pending_exec_id,
        label,
        since,
        named,
    }
}

/// A typed value as it goes on the wire, so checks read the same whatever a crate names its
/// types: what a crate's model drops is missing here.
fn wire<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).expect("models serialize")
}

/// What went wrong while one crate read the world.
struct Reads {
    krate: &'static str,
    failures: Vec<String>,
}

impl Reads {
    /// The value, or `None` with the error noted.
    fn answer<T>(&mut self, read: &str, result: docker_engine_runtime::Result<T>) -> Option<T> {
        result
            .inspect_err(|error| self.failures.push(format!("{} {read}: {error}", self.krate)))
            .ok()
    }

    fn expect(&mut self, read: &str, holds: bool, seen: impl std::fmt::Display) {
        if !holds {
            self.failures.push(format!("{} {read}: got {seen}", self.krate));
        }
    }
}

fn has_name(list: &serde_json::Value, field: &str, name: &str) -> bool {
    list.as_array()
        .is_some_and(|items| items.iter().any(|item| item[field] == name))
}

macro_rules! crate_reads {
    ($($module:ident => $krate:ident),* $(,)?) => {
        $(mod $module {
            use super::*;
            use $krate::filters::{ContainerListFilters, NetworkListFilters, SystemEventsFilters, VolumeListFilters};

            pub async fn reads(endpoint: Endpoint, world: &World, until: i64) -> Vec<String> {
                let options = Options {
                    request_timeout: Some(Duration::from_secs(60)),
                    ..Default::default()
                };
                let client = Client::with_options(endpoint, $krate::API_VERSION, options).unwrap();
                let docker = $krate::Docker::with_client(client);
                let mut reads = Reads { krate: stringify!($krate), failures: Vec::new() };
                let r = &mut reads;
                // Docker 29 accepts 1.40 and later: an older crate's requests are refused, naming both versions.
                if !daemon_tests::facts().accepts($krate::API_VERSION) {
                    let refused = docker.system().info().send().await.map(|_| ());
                    let said = matches!(&refused, Err(docker_engine_runtime::Error::VersionTooOld { .. }));
                    r.expect("SystemInfo is refused as too old", said, format!("{refused:?}"));
                    return reads.failures;
                }

                let events = docker
                    .system()
                    .events()
                    .since(world.since.to_string())
                    .until(until.to_string())
                    // Not by label: Podman 4.3 matches no event to a label filter.
                    .filters(SystemEventsFilters::new().container(&world.paused.id))
                    .send()
                    .await;
                if let Some(events) = r.answer("SystemEvents", events) {
                    let read = tokio::time::timeout(Duration::from_secs(30), events.collect::<Vec<_>>()).await;
                    match read {
                        Ok(events) => {
                            let mut actions = Vec::new();
                            for event in events {
                                if let Some(event) = r.answer("SystemEvents (message)", event) {
                                    actions.push(wire(&event)["Action"].clone());
                                }
                            }
                            let seen = serde_json::Value::from(actions);
                            r.expect("SystemEvents has the pause", seen.as_array().is_some_and(|a| a.contains(&"pause".into())), seen);
                        }
                        Err(_) => r.expect("SystemEvents ends at until", false, "no end in 30 s"),
                    }
                }

                if let Some(pong) = r.answer("SystemPing", docker.system().ping().send().await) {
                    r.expect("SystemPing answers OK", pong == "OK", pong);
                }
                r.answer("SystemVersion", docker.system().version().send().await);
                if let Some(info) = r.answer("SystemInfo", docker.system().info().send().await) {
                    let paused = wire(&info)["ContainersPaused"].clone();
                    r.expect("SystemInfo counts the paused container", paused.as_i64() >= Some(1), paused);
                }
                let usage = {
                    let _alone = daemon_tests::ONE_DATA_USAGE.lock().await;
                    docker.system().data_usage().send().await
                };
                if let Some(usage) = r.answer("SystemDataUsage", usage) {
                    let usage = wire(&usage);
                    r.expect("SystemDataUsage lists the volume", has_name(&usage["Volumes"], "Name", &world.named.volume), &usage["Volumes"]);
                    r.expect("SystemDataUsage lists the container", has_name(&usage["Containers"], "Id", &world.running.id), &usage["Containers"]);
                }

                let containers = docker.containers();
                let listed = containers.list().all(true).size(true).filters(ContainerListFilters::new().label(&world.label)).send().await;
                if let Some(listed) = r.answer("ContainerList", listed) {
                    let listed = wire(&listed);
                    for (id, state) in world.states() {
                        let entry = listed.as_array().and_then(|all| all.iter().find(|c| c["Id"] == id));
                        let seen = entry.map(|c| c["State"].clone()).unwrap_or_default();
                        r.expect(&format!("ContainerList shows the {state} container"), seen == state, seen);
                    }
                    let running = listed.as_array().and_then(|all| all.iter().find(|c| c["Id"] == world.running.id.as_str()));
                    let ports = running.map(|c| c["Ports"].clone()).unwrap_or_default();
                    let published = ports.as_array().is_some_and(|ports| ports.iter().any(|p| p["PublicPort"].as_i64() > Some(0)));
                    r.expect("ContainerList shows the published port", published, ports);
                }
                for (id, state) in world.states() {
                    let read = format!("ContainerInspect ({state})");
                    let Some(inspected) = r.answer(&read, containers.inspect(id).size(true).send().await) else { continue };
                    let inspected = wire(&inspected);
                    r.expect(&read, inspected["Id"] == id && inspected["State"]["Status"] == state, &inspected["State"]);
                }
                if let Some(inspected) = r.answer("ContainerInspect", containers.inspect(&world.running.id).send().await) {
                    let inspected = wire(&inspected);
                    let exec_ids = &inspected["ExecIDs"];
                    let listed = exec_ids.as_array().is_some_and(|ids| ids.contains(&world.pending_exec_id.as_str().into()));
                    r.expect("ContainerInspect has the pending exec", listed, exec_ids);
                    r.expect("ContainerInspect has the volume", has_name(&inspected["Mounts"], "Name", &world.named.volume), &inspected["Mounts"]);
                    let health = &inspected["State"]["Health"]["Status"];
                    let expected = match server() {
                        Server::Docker => "healthy",
                        Server::Podman => "starting",
                    };
                    r.expect("ContainerInspect has the health", health == expected, health);
                    let settings = &inspected["NetworkSettings"];
                    r.expect("ContainerInspect has the network", settings["Networks"].get(&world.named.network).is_some(), &settings["Networks"]);
                    let host_port = &settings["Ports"]["80/tcp"][0]["HostPort"];
                    r.expect("ContainerInspect has the published port", host_port.as_str().is_some_and(|p| !p.is_empty()), host_port);
                }
                if let Some(inspected) = r.answer("ContainerInspect", containers.inspect(&world.exited.id).send().await) {
                    let code = wire(&inspected)["State"]["ExitCode"].clone();
                    r.expect("ContainerInspect has the exit code", code == 3, code);
                }
                if let Some(top) = r.answer("ContainerTop", containers.top(&world.running.id).send().await) {
                    let processes = wire(&top)["Processes"].clone();
                    r.expect("ContainerTop lists the sleep", processes.to_string().contains("sleep"), processes);
                }
                let logs = containers.logs(&world.running.id).stdout(true).stderr(true).send().await;
                if let Some(logs) = r.answer("ContainerLogs", logs) {
                    if let Some((stdout, stderr)) = r.answer("ContainerLogs (read)", logs.read_all().await) {
                        let both = (String::from_utf8_lossy(&stdout).into_owned(), String::from_utf8_lossy(&stderr).into_owned());
                        r.expect("ContainerLogs splits the streams", both == ("out\n".into(), "err\n".into()), format!("{both:?}"));
                    }
                }
                if let Some(changes) = r.answer("ContainerChanges", containers.changes(&world.running.id).send().await) {
                    let changes = wire(&changes);
                    r.expect("ContainerChanges has /tmp/file", has_name(&changes, "Path", "/tmp/file"), changes);
                }
                if let Some(mut stats) = r.answer("ContainerStats", containers.stats(&world.running.id).stream(false).send().await) {
                    match tokio::time::timeout(Duration::from_secs(30), stats.next()).await {
                        Ok(Some(sample)) => {
                            if let Some(sample) = r.answer("ContainerStats (sample)", sample) {
                                let memory = wire(&sample)["memory_stats"]["usage"].clone();
                                r.expect("ContainerStats has the memory used", memory.as_i64() > Some(0), memory);
                            }
                        }
                        outcome => r.expect("ContainerStats sends a sample", false, format!("{outcome:?}")),
                    }
                }
                if let Some(exec) = r.answer("ExecInspect", docker.exec().inspect(&world.exec_id).send().await) {
                    let exec = wire(&exec);
                    r.expect("ExecInspect names the container", exec["ContainerID"] == world.running.id.as_str(), &exec["ContainerID"]);
                    r.expect("ExecInspect has the exit code", exec["ExitCode"] == 0, &exec["ExitCode"]);
                }

                let tagged = || world.named.tags.iter().map(|tag| daemon_tests::listed_name(tag)).collect::<Vec<_>>();
                if let Some(images) = r.answer("ImageList", docker.images().list().send().await) {
                    let images = wire(&images);
                    let entry = images.as_array().and_then(|all| all.iter().find(|i| i["RepoTags"].to_string().contains(&tagged()[0])));
                    let tags = entry.map(|i| i["RepoTags"].clone()).unwrap_or_default();
                    r.expect("ImageList shows both tags", tagged().iter().all(|t| tags.to_string().contains(t.as_str())), tags);
                }
                if let Some(image) = r.answer("ImageInspect", docker.images().inspect(&world.named.tags[0]).send().await) {
                    let tags = wire(&image)["RepoTags"].clone();
                    r.expect("ImageInspect shows both tags", tagged().iter().all(|t| tags.to_string().contains(t.as_str())), tags);
                }
                if let Some(history) = r.answer("ImageHistory", docker.images().history(&world.named.tags[1]).send().await) {
                    r.expect("ImageHistory has the import", !history.is_empty(), history.len());
                }

                let networks = docker.networks().list().filters(NetworkListFilters::new().name(&world.named.network)).send().await;
                if let Some(networks) = r.answer("NetworkList", networks) {
                    let networks = wire(&networks);
                    r.expect("NetworkList finds the network", has_name(&networks, "Name", &world.named.network), networks);
                }
                if let Some(network) = r.answer("NetworkInspect", docker.networks().inspect(&world.named.network).send().await) {
                    let network = wire(&network);
                    let attached = &network["Containers"];
                    r.expect("NetworkInspect has the container", attached.get(&world.running.id).is_some(), attached);
                    let aux = &network["IPAM"]["Config"][0]["AuxiliaryAddresses"]["reserved"];
                    // Podman 4.3 (netavark) keeps no auxiliary addresses.
                    let kept = match server() {
                        Server::Docker => aux.as_str().is_some_and(|a| a.ends_with(".5")),
                        Server::Podman => aux.is_null(),
                    };
                    r.expect("NetworkInspect has the auxiliary address", kept, aux);
                }
                let volumes = docker.volumes().list().filters(VolumeListFilters::new().name(&world.named.volume)).send().await;
                if let Some(volumes) = r.answer("VolumeList", volumes) {
                    let volumes = wire(&volumes)["Volumes"].clone();
                    r.expect("VolumeList finds the volume", has_name(&volumes, "Name", &world.named.volume), volumes);
                }
                if let Some(volume) = r.answer("VolumeInspect", docker.volumes().inspect(&world.named.volume).send().await) {
                    let labels = wire(&volume)["Labels"].clone();
                    r.expect("VolumeInspect has the label", labels.get(&world.label).is_some(), labels);
                }

                reads.failures
            }
        })*

        /// Every crate's reads at once. Each asks first for the events until a moment ahead:
        /// Podman 4.3 answers nothing for an `until` already past when asked.
        async fn every_crate_reads(world: &World) -> Vec<String> {
            let until = now() + 3;
            futures_util::future::join_all([$($module::reads(daemon(), world, until).boxed_local()),*])
                .await
                .concat()
        }
    };
}

crate_reads! {
    v1_25 => docker_engine_v1_25, v1_26 => docker_engine_v1_26, v1_27 => docker_engine_v1_27,
    v1_28 => docker_engine_v1_28, v1_29 => docker_engine_v1_29, v1_30 => docker_engine_v1_30,
    v1_31 => docker_engine_v1_31, v1_32 => docker_engine_v1_32, v1_33 => docker_engine_v1_33,
    v1_34 => docker_engine_v1_34, v1_35 => docker_engine_v1_35, v1_36 => docker_engine_v1_36,
    v1_37 => docker_engine_v1_37, v1_38 => docker_engine_v1_38, v1_39 => docker_engine_v1_39,
    v1_40 => docker_engine_v1_40, v1_41 => docker_engine_v1_41, v1_42 => docker_engine_v1_42,
    v1_43 => docker_engine_v1_43, v1_44 => docker_engine_v1_44, v1_45 => docker_engine_v1_45,
    v1_46 => docker_engine_v1_46, v1_47 => docker_engine_v1_47, v1_48 => docker_engine_v1_48,
    v1_49 => docker_engine_v1_49, v1_50 => docker_engine_v1_50, v1_51 => docker_engine_v1_51,
    v1_52 => docker_engine_v1_52, v1_53 => docker_engine_v1_53, v1_54 => docker_engine_v1_54,
}

impl World {
    /// Each container's id and the state it is in.
    fn states(&self) -> [(&str, &'static str); 4] {
        [
            (self.running.id.as_str(), "running"),
            (self.paused.id.as_str(), "paused"),
            (self.exited.id.as_str(), "exited"),
            (self.created.id.as_str(), "created"),
        ]
    }
}

#[daemon_test]
async fn every_crate_reads_a_populated_server() {
    let docker = docker();
    let run = async {
        let world = build_world(&docker).await;
        every_crate_reads(&world).await
    };
    let failures = tokio::time::timeout(LIMIT, run)
        .await
        .unwrap_or_else(|_| panic!("the reads took more than {LIMIT:?}"));
    assert!(
        failures.is_empty(),
        "{} failed reads:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
