//! The harness of the daemon tests: how to reach the test daemon, and a busybox image made
//! without a registry.

pub mod faults;
pub mod token_service;

use std::sync::atomic::{AtomicU32, Ordering};

use docker_engine_runtime::{Body, Endpoint, Environment};
use docker_engine_v1_41::Docker;
use futures_util::StreamExt;
use tokio::sync::OnceCell;

/// The image every test runs, imported from the host's static busybox.
pub const BUSYBOX: &str = "docker-client-test/busybox:latest";

/// The test daemon from `DOCKER_TEST_HOST` (as `DOCKER_HOST` is written). Without it the test
/// is skipped, except under `CI=true`, where a missing daemon is a failure.
pub fn daemon() -> Option<Endpoint> {
    match std::env::var("DOCKER_TEST_HOST") {
        Ok(host) if !host.is_empty() => {
            let environment = Environment {
                docker_host: Some(host),
                ..Environment::from_process()
            };
            Some(
                environment
                    .endpoint()
                    .expect("DOCKER_TEST_HOST is a valid DOCKER_HOST value"),
            )
        }
        _ if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("CI=true but DOCKER_TEST_HOST is not set: the daemon tests need a daemon (run .ci/run)")
        }
        _ => {
            eprintln!("skipped: set DOCKER_TEST_HOST (or run scripts/test-with-daemon.sh) to run daemon tests");
            None
        }
    }
}

/// The kind of server behind `DOCKER_TEST_HOST`, as `DOCKER_TEST_SERVER` says (`docker` when
/// unset). Where the servers differ on purpose, tests check each one's own behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    Docker,
    Podman,
}

pub fn server() -> Server {
    match std::env::var("DOCKER_TEST_SERVER").as_deref() {
        Ok("podman") => Server::Podman,
        Ok("docker") | Err(_) => Server::Docker,
        Ok(other) => panic!("DOCKER_TEST_SERVER is {other:?}; expected docker or podman"),
    }
}

/// The name the server lists an image under: Podman qualifies a name given without a registry
/// as Docker does only in what it sends to registries, with `docker.io/`, and `library/` for a
/// name of one component.
pub fn listed_name(image: &str) -> String {
    match server() {
        Server::Docker => image.to_owned(),
        Server::Podman if image.contains('/') => format!("docker.io/{image}"),
        Server::Podman => format!("docker.io/library/{image}"),
    }
}

/// Runs a prune, asked again while Podman trips over an object removed meanwhile. Podman 4.3's
/// prunes look up every container or image and fail when another test removes one between the
/// listing and the lookup ("... does not exist in database", "image not known"); asked again,
/// they prune. Docker's answer is returned as it comes.
pub async fn prune_despite_concurrent_removals<T, F, Fut>(prune: F) -> docker_engine_runtime::Result<T>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = docker_engine_runtime::Result<T>>,
{
    let mut report = prune().await;
    for _ in 0..5 {
        match &report {
            Err(error) if server() == Server::Podman => {
                let said = error.to_string();
                assert!(
                    said.contains("does not exist in database") || said.contains("image not known"),
                    "{said}"
                );
                report = prune().await;
            }
            _ => break,
        }
    }
    report
}

/// Whether `error` is how Podman refuses an operation it does not implement: a route it does
/// not have (read by the runtime as an operation not offered), 404 "... is not supported"
/// (plugins), or 503 "Podman does not support ..." (swarm).
pub fn podman_does_not_implement(error: &docker_engine_runtime::Error) -> bool {
    use docker_engine_runtime::Error;
    match error {
        Error::UnsupportedVersion { .. } => true,
        Error::Daemon {
            status: 404, message, ..
        } => message.ends_with("is not supported"),
        Error::Daemon {
            status: 503, message, ..
        } => message.starts_with("Podman does not support"),
        _ => false,
    }
}

/// On Podman, checks that `result` is its refusal of an operation it does not implement and
/// answers true, so the test stops there; on Docker, answers false.
pub fn unimplemented_on_podman<T: std::fmt::Debug>(result: &docker_engine_runtime::Result<T>) -> bool {
    if server() != Server::Podman {
        return false;
    }
    match result {
        Err(error) => assert!(podman_does_not_implement(error), "{error:?}"),
        Ok(value) => panic!("Podman answered an operation it does not implement: {value:?}"),
    }
    true
}

/// A variable the test script sets beside `DOCKER_TEST_HOST`; required once a daemon is there.
pub fn companion_variable(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("DOCKER_TEST_HOST is set but {name} is not (see scripts/test-with-daemon.sh)"))
}

/// A fresh Docker configuration folder holding one context, `name`, for the test daemon's
/// mutual-TLS endpoint, laid out as `docker context create` does: the meta file under the
/// SHA-256 of the name, the TLS files beside it. Nothing selects it yet.
pub fn tls_context_config(name: &str) -> std::path::PathBuf {
    let config_dir = context_config(name, &companion_variable("DOCKER_TEST_TLS_HOST"));
    let tls_dir = config_dir.join("contexts/tls").join(sha256_hex(name)).join("docker");
    std::fs::create_dir_all(&tls_dir).unwrap();
    let cert_dir = std::path::PathBuf::from(companion_variable("DOCKER_TEST_CERT_PATH"));
    for file in ["ca.pem", "cert.pem", "key.pem"] {
        std::fs::copy(cert_dir.join(file), tls_dir.join(file)).unwrap();
    }
    config_dir
}

/// A new Docker configuration folder holding the context `name`, whose docker endpoint is
/// `host`, laid out as `docker context create` writes it.
pub fn context_config(name: &str, host: &str) -> std::path::PathBuf {
    let config_dir = std::env::temp_dir().join(unique_name("docker-config"));
    let meta_dir = config_dir.join("contexts/meta").join(sha256_hex(name));
    std::fs::create_dir_all(&meta_dir).unwrap();
    let meta = serde_json::json!({
        "Name": name,
        "Metadata": {},
        "Endpoints": {"docker": {"Host": host, "SkipTLSVerify": false}},
    });
    std::fs::write(meta_dir.join("meta.json"), meta.to_string()).unwrap();
    config_dir
}

/// The digest with the system's `sha256sum`, so the harness needs no hashing crate.
fn sha256_hex(text: &str) -> String {
    use std::io::Write;
    let output = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            child.stdin.take().unwrap().write_all(text.as_bytes())?;
            child.wait_with_output()
        })
        .expect("sha256sum (coreutils)");
    String::from_utf8(output.stdout).unwrap()[..64].to_owned()
}

/// The run's ssh files: client configuration, known_hosts and keys.
pub fn ssh_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(companion_variable("DOCKER_TEST_SSH_DIR"))
}

/// `DOCKER_TEST_SSH_HOST` as `DOCKER_HOST` would give it.
pub fn ssh_target() -> docker_engine_runtime::SshTarget {
    let environment = Environment {
        docker_host: Some(companion_variable("DOCKER_TEST_SSH_HOST")),
        ..Default::default()
    };
    match environment.endpoint().unwrap() {
        Endpoint::Ssh(target) => target,
        other => panic!("DOCKER_TEST_SSH_HOST should be ssh://user@host:port, got {other}"),
    }
}

/// The test sshd with the run's configuration and the key `key` (whose sessions get the
/// environment of one case, see the test script), plus `extra` ssh arguments.
pub fn ssh_endpoint(key: &str, extra: &[&str]) -> Endpoint {
    let mut target = ssh_target();
    let dir = ssh_dir();
    target.options = [
        "-F",
        &dir.join("ssh_config").to_string_lossy(),
        "-i",
        &dir.join(key).to_string_lossy(),
    ]
    .into_iter()
    .chain(extra.iter().copied())
    .map(String::from)
    .collect();
    Endpoint::Ssh(target)
}

/// A v1.41 client for `endpoint` that records the operations it sends.
pub fn docker_at(endpoint: Endpoint) -> Result<Docker, docker_engine_runtime::Error> {
    let options = docker_engine_runtime::Options {
        observer: coverage_recorder(),
        ..Default::default()
    };
    let client = docker_engine_runtime::Client::with_options(endpoint, docker_engine_v1_41::API_VERSION, options)?;
    Ok(Docker::with_client(client))
}

/// JSON answers saved per operation and test process, for decoding again with newer crates.
const SAVED_BODIES_PER_OPERATION: usize = 8;

/// With `DOCKER_TEST_COVERAGE_DIR` set, an observer appending to `<dir>/<pid>.txt` a line
/// `sent OPERATION` the first time this process sends an operation and `succeeded OPERATION`
/// the first time one succeeds all the way through (the `coverage` program adds them up), and
/// saving the JSON answers under `<dir>/bodies/OPERATION/`.
fn coverage_recorder() -> Option<docker_engine_runtime::RequestObserver> {
    use docker_engine_runtime::Observation;
    use std::collections::{HashMap, HashSet};
    use std::io::Write;
    use std::sync::{Arc, Mutex};
    #[derive(Default)]
    struct Seen {
        lines: HashSet<(&'static str, &'static str)>,
        bodies: HashMap<&'static str, usize>,
    }
    static SEEN: Mutex<Option<Seen>> = Mutex::new(None);
    let dir = std::path::PathBuf::from(std::env::var_os("DOCKER_TEST_COVERAGE_DIR")?);
    std::fs::create_dir_all(&dir).expect("coverage folder");
    let file = dir.join(format!("{}.txt", std::process::id()));
    Some(Arc::new(move |observation: &Observation<'_>| {
        let operation = observation.operation();
        let (event, json) = match observation {
            Observation::Sent { .. } => ("sent", None),
            // Only a 2xx, or a session's 101, counts: a 304 (already started) did nothing.
            Observation::Succeeded { status, json, .. } if *status < 300 => ("succeeded", *json),
            _ => return,
        };
        let mut seen = SEEN.lock().unwrap();
        let seen = seen.get_or_insert_with(Seen::default);
        if seen.lines.insert((event, operation)) {
            let mut out = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&file)
                .expect("coverage file");
            writeln!(out, "{event} {operation}").expect("write coverage");
        }
        if let Some(json) = json {
            let saved = seen.bodies.entry(operation).or_default();
            if *saved < SAVED_BODIES_PER_OPERATION {
                *saved += 1;
                let folder = dir.join("bodies").join(operation);
                std::fs::create_dir_all(&folder).expect("bodies folder");
                let name = format!("{}-{}.json", std::process::id(), saved);
                std::fs::write(folder.join(name), json).expect("save body");
            }
        }
    }))
}

pub fn docker() -> Option<Docker> {
    Some(docker_at(daemon()?).expect("client"))
}

/// A name no other test (or earlier run) uses.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    format!(
        "dct-{prefix}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A root filesystem tar holding busybox and the applets the tests call.
pub fn busybox_rootfs() -> Vec<u8> {
    let path = std::env::var("DOCKER_TEST_BUSYBOX").unwrap_or_else(|_| "/bin/busybox".into());
    let binary =
        std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read busybox at {path}: {e} (install busybox-static)"));
    let mut archive = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(binary.len() as u64);
    header.set_mode(0o755);
    header.set_cksum();
    archive
        .append_data(&mut header, "bin/busybox", binary.as_slice())
        .unwrap();
    for applet in [
        "sh", "echo", "cat", "sleep", "ls", "env", "true", "false", "dd", "seq", "top", "ps", "wc", "tail",
    ] {
        let mut link = tar::Header::new_gnu();
        link.set_entry_type(tar::EntryType::Symlink);
        link.set_size(0);
        link.set_mode(0o777);
        archive
            .append_link(&mut link, format!("bin/{applet}"), "busybox")
            .unwrap();
    }
    for dir in ["tmp", "etc", "proc", "sys", "dev"] {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Directory);
        header.set_size(0);
        header.set_mode(0o755);
        archive
            .append_data(&mut header, format!("{dir}/"), std::io::empty())
            .unwrap();
    }
    archive.into_inner().unwrap()
}

/// Imports the busybox image once per test process.
pub async fn busybox_image(docker: &Docker) -> &'static str {
    static IMPORTED: OnceCell<()> = OnceCell::const_new();
    IMPORTED
        .get_or_init(|| async {
            let (repo, tag) = BUSYBOX.rsplit_once(':').unwrap();
            let mut progress = docker
                .images()
                .create()
                .from_src("-")
                .repo(repo)
                .tag(tag)
                .body(Body::from(busybox_rootfs()))
                .send()
                .await
                .expect("import busybox");
            while let Some(message) = progress.next().await {
                message.expect("import progress");
            }
        })
        .await;
    BUSYBOX
}

/// Removes a container when dropped, so a failing test leaves nothing behind.
pub struct ContainerGuard {
    pub id: String,
}

impl Drop for ContainerGuard {
    fn drop(&mut self) {
        let id = self.id.clone();
        clean_up(test_docker, |docker| async move {
            let _ = docker.containers().delete(&id).force(true).v(true).send().await;
        });
    }
}

/// The test daemon's client, where a daemon is known to be there (in guards).
pub fn test_docker() -> Docker {
    docker().expect("guards exist only with a daemon")
}

/// Runs `cleanup` on a thread with a client (from `connect`) and a runtime of its own, for the
/// `Drop` of test guards: the test's runtime is blocked while a guard runs, and the test's
/// client has pooled connections driven by that runtime.
pub fn clean_up<F, Fut>(connect: fn() -> Docker, cleanup: F)
where
    F: FnOnce(Docker) -> Fut + Send + 'static,
    Fut: std::future::Future,
{
    let _ = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(cleanup(connect()));
    })
    .join();
}

/// Creates (but does not start) a busybox container running `command` with `sh -c`.
pub async fn create_busybox(docker: &Docker, prefix: &str, command: &str) -> ContainerGuard {
    let image = busybox_image(docker).await;
    create_container(docker, image, prefix, command).await
}

/// Creates (but does not start) a container of `image`, which has busybox, running `command`
/// with `sh -c`.
pub async fn create_container(docker: &Docker, image: &str, prefix: &str, command: &str) -> ContainerGuard {
    let body = docker_engine_v1_41::models::ContainerCreateBody {
        image: Some(image.into()),
        cmd: Some(vec!["sh".into(), "-c".into(), command.into()]),
        labels: Some([("suite".to_owned(), "daemon-tests".to_owned())].into()),
        ..Default::default()
    };
    let created = docker
        .containers()
        .create(body)
        .name(unique_name(prefix))
        .send()
        .await
        .expect("create container");
    ContainerGuard {
        id: created.id.expect("created container has an id"),
    }
}

/// The registry the test script starts (`DOCKER_TEST_REGISTRY`), with the user it made.
pub struct TestRegistry {
    /// `host:port`, as image references name it.
    pub address: String,
    pub user: String,
    pub password: String,
}

impl TestRegistry {
    pub fn from_env() -> Self {
        TestRegistry {
            address: companion_variable("DOCKER_TEST_REGISTRY"),
            user: companion_variable("DOCKER_TEST_REGISTRY_USER"),
            password: companion_variable("DOCKER_TEST_REGISTRY_PASSWORD"),
        }
    }

    pub fn auth(&self) -> docker_engine_runtime::RegistryAuth {
        docker_engine_runtime::RegistryAuth {
            server_address: Some(self.address.clone()),
            ..docker_engine_runtime::RegistryAuth::password(&self.user, &self.password)
        }
    }

    /// A repository of this registry no other test uses.
    pub fn repository(&self, prefix: &str) -> String {
        format!("{}/{}", self.address, unique_name(prefix))
    }

    /// The `auth` value of `config.json` for this registry's user: base64 of `user:password`.
    pub fn stored_auth(&self) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", self.user, self.password))
    }

    /// Commits, as `REPOSITORY:v1` of a new repository of this registry (not pushed yet), an
    /// image with a layer of its own, so that pulling it after a push downloads something.
    /// Returns the repository.
    pub async fn image_with_a_layer_of_its_own(&self, docker: &Docker, prefix: &str) -> String {
        let repository = self.repository(prefix);
        let container = create_busybox(docker, prefix, "echo $RANDOM$RANDOM > /unique").await;
        docker.containers().start(&container.id).send().await.unwrap();
        docker.containers().wait(&container.id).send().await.unwrap();
        docker
            .images()
            .commit()
            .container(&container.id)
            .repo(&repository)
            .tag("v1")
            .send()
            .await
            .unwrap();
        repository
    }
}

/// How long a progress stream (a push, a pull, a plugin install) may take to end.
const PROGRESS_LIMIT: std::time::Duration = std::time::Duration::from_secs(120);

/// Reads a JSON progress stream to its end, failing the test on any error message, or when it
/// has not ended within two minutes.
pub async fn drain<T: serde::de::DeserializeOwned>(mut stream: docker_engine_runtime::JsonStream<T>) -> Vec<T> {
    let read = async {
        let mut messages = Vec::new();
        while let Some(message) = stream.next().await {
            messages.push(message.expect("progress message"));
        }
        messages
    };
    tokio::time::timeout(PROGRESS_LIMIT, read)
        .await
        .expect("the progress stream ends within its time limit")
}

/// The second daemon the test script starts in a network namespace of its own
/// (`DOCKER_TEST_PEER_HOST`), for the swarm tests to join.
pub fn peer_docker() -> Docker {
    let environment = Environment {
        docker_host: Some(companion_variable("DOCKER_TEST_PEER_HOST")),
        ..Environment::from_process()
    };
    docker_at(
        environment
            .endpoint()
            .expect("DOCKER_TEST_PEER_HOST is a valid DOCKER_HOST value"),
    )
    .expect("client")
}

/// The addresses the test daemon (the manager) and its peer reach each other at.
pub fn swarm_addresses() -> (String, String) {
    (
        companion_variable("DOCKER_TEST_MANAGER_ADDRESS"),
        companion_variable("DOCKER_TEST_PEER_ADDRESS"),
    )
}

/// Ping, list, and an exec whose stdin is half-closed: proves requests, pooling and hijacking.
pub async fn transport_smoke(docker: &Docker) {
    use tokio::io::AsyncWriteExt;
    assert_eq!(docker.system().ping().send().await.unwrap(), "OK");
    for _ in 0..3 {
        docker.containers().list().all(true).send().await.unwrap();
    }
    let image = busybox_image(docker).await;
    let body = docker_engine_v1_41::models::ContainerCreateBody {
        image: Some(image.into()),
        cmd: Some(vec!["sleep".into(), "30".into()]),
        ..Default::default()
    };
    let id = docker
        .containers()
        .create(body)
        .name(unique_name("smoke"))
        .send()
        .await
        .unwrap()
        .id
        .unwrap();
    docker.containers().start(&id).send().await.unwrap();
    let exec = docker_engine_v1_41::models::ExecConfig {
        attach_stdin: Some(true),
        attach_stdout: Some(true),
        cmd: Some(vec!["cat".into()]),
        ..Default::default()
    };
    let exec_id = docker
        .exec()
        .container_exec(&id, exec)
        .send()
        .await
        .unwrap()
        .id
        .unwrap();
    let mut session = docker
        .exec()
        .start(&exec_id)
        .body(docker_engine_v1_41::models::ExecStartConfig::default())
        .send()
        .await
        .unwrap();
    session.input.write_all(b"echoed back").await.unwrap();
    session.input.shutdown().await.unwrap();
    let (stdout, _) = session.output.read_all().await.unwrap();
    assert_eq!(stdout, b"echoed back");
    docker.containers().delete(&id).force(true).send().await.unwrap();
}

/// Runs `command` in the running container `id` to its end, its output read and dropped; the
/// exec's id, for inspecting it.
pub async fn exec_to_the_end(docker: &Docker, id: &str, command: &[&str]) -> String {
    let exec = docker_engine_v1_41::models::ExecConfig {
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        cmd: Some(command.iter().map(|part| part.to_string()).collect()),
        ..Default::default()
    };
    let exec_id = docker.exec().container_exec(id, exec).send().await.unwrap().id.unwrap();
    let session = docker
        .exec()
        .start(&exec_id)
        .body(docker_engine_v1_41::models::ExecStartConfig::default())
        .send()
        .await
        .unwrap();
    session.output.read_all().await.unwrap();
    exec_id
}

/// The child's output once it exits; a child still running after `limit` is killed, and the
/// test fails saying so, rather than waiting forever.
pub fn wait_at_most(child: std::process::Child, limit: std::time::Duration) -> std::process::Output {
    let pid = child.id().to_string();
    let (exited, exit_seen) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        let expired = exit_seen.recv_timeout(limit) == Err(std::sync::mpsc::RecvTimeoutError::Timeout);
        if expired {
            let _ = std::process::Command::new("kill").args(["-KILL", &pid]).status();
        }
        expired
    });
    let output = child.wait_with_output().unwrap();
    let _ = exited.send(());
    assert!(
        !watchdog.join().unwrap(),
        "the program ran longer than {limit:?} and was killed: {}",
        describe_output(&output)
    );
    output
}

/// A child's exit status and output, for a failure message.
pub fn describe_output(output: &std::process::Output) -> String {
    format!(
        "{}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// `program` with none of the Docker CLI's variables a program under test would otherwise take
/// from the test's own environment but `DOCKER_HOST`, which the caller sets.
pub fn program_without_docker_environment(program: &str) -> std::process::Command {
    let mut command = std::process::Command::new(program);
    for variable in [
        "DOCKER_TLS_VERIFY",
        "DOCKER_CERT_PATH",
        "DOCKER_CONTEXT",
        "DOCKER_API_VERSION",
    ] {
        command.env_remove(variable);
    }
    command
}
