//! One run of one workload by one client. Ours and bollard run in this process (a child of the
//! orchestrator, on tokio's default multi-thread runtime, as `#[tokio::main]` gives); curl is
//! given the same work on its command line, and docker-py by `bench/docker_py.py`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use docker_engine_runtime::{Client, Endpoint, Environment, Method, Options, Request, TlsFiles, VersionPolicy};
use docker_engine_v1_41::models::ExecStartConfig;
use docker_engine_v1_41::Docker;
use futures_util::{stream, StreamExt};

use crate::counting;

/// The workers' client names for our client over a transport other than the Unix socket.
pub const OVER_TLS: &str = "ours-tls";
pub const OVER_SSH: &str = "ours-ssh";

/// The endpoint a transport worker reaches the test daemon at, from the test script's variables.
fn endpoint(client: &str) -> Option<Endpoint> {
    match client {
        OVER_TLS => {
            let cert_path = PathBuf::from(daemon_tests::companion_variable("DOCKER_TEST_CERT_PATH"));
            let environment = Environment {
                docker_host: Some(daemon_tests::companion_variable("DOCKER_TEST_TLS_HOST")),
                ..Default::default()
            };
            let Endpoint::Tcp { host, port } = environment.endpoint().unwrap() else {
                panic!("DOCKER_TEST_TLS_HOST is tcp://host:port")
            };
            Some(Endpoint::Tls {
                host,
                port,
                tls: TlsFiles::from_dir(&cert_path).unwrap(),
            })
        }
        OVER_SSH => Some(daemon_tests::ssh_endpoint("daemon", &[])),
        _ => None,
    }
}

pub const PINGS: usize = 5_000;
pub const LISTS: usize = 200;
pub const INSPECTS: usize = 3_000;
pub const INSPECTS_IN_FLIGHT: usize = 32;
pub const EXEC_BYTES: u64 = 2 << 30;
pub const BUILD_LINES: usize = 20_000;
pub const CONNECTS: usize = 50;

/// The docker-py worker, which uses the same amounts.
const DOCKER_PY_WORKER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docker_py.py");

/// The build workload's Dockerfile: a step printing `BUILD_LINES` lines, labelled so the images
/// it leaves can be pruned.
pub fn build_dockerfile(image: &str) -> String {
    format!("FROM {image}\nLABEL suite=bench\nRUN seq 1 {BUILD_LINES}\n")
}

/// The build's output must carry every line; the daemon groups lines into messages as they come,
/// so messages are not counted, lines are.
fn assert_all_lines(output: &str) {
    let last = BUILD_LINES.to_string();
    assert!(
        output.lines().any(|line| line == last),
        "the build output lacks line {last}"
    );
}

/// Where a Rust client's work runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// A spawned task, which the runtime's workers poll: where a server's handlers run.
    Task,
    /// The future `block_on` drives on the calling thread, like the body of `#[tokio::main]`.
    /// The I/O driver lives on a worker, so every time a socket runs dry the calling thread
    /// sleeps and a worker wakes it: two futex calls per wait, for any client.
    BlockOn,
}

impl Placement {
    pub fn argument(self) -> &'static str {
        match self {
            Placement::Task => "task",
            Placement::BlockOn => "block-on",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Placement::Task => "the Rust clients run as a spawned task on tokio's multi-thread runtime",
            Placement::BlockOn => "the Rust clients run in block_on on tokio's multi-thread runtime",
        }
    }
}

/// `bench worker CLIENT WORKLOAD SOCKET TARGET PLACEMENT`: prints `units seconds CPU RSS
/// allocations` (allocations -1 where they are not counted: curl, docker-py).
pub fn run(args: &[String]) {
    let [client, workload, socket, target, placement] = args else {
        panic!("usage: bench worker CLIENT WORKLOAD SOCKET TARGET task|block-on")
    };
    if client == "curl" {
        let started = Instant::now();
        // Reaped by wait4 below, which Child::wait cannot do: it gives no resource usage.
        #[allow(clippy::zombie_processes)]
        let child = curl_command(workload, Path::new(socket), target)
            .stdout(Stdio::null())
            .spawn()
            .expect("curl is installed");
        let (status, cpu_seconds, peak_rss_kib) = wait_with_usage(child.id() as libc::pid_t);
        assert_eq!(status, 0, "curl {workload} failed");
        // 0 units: curl does not count, the orchestrator knows how much work it was.
        // -1 allocations: not counted outside this process.
        println!("0 {} {cpu_seconds} {peak_rss_kib} -1", started.elapsed().as_secs_f64());
        return;
    }
    if client == "docker-py" {
        // Reaped by wait4 below, as curl is.
        #[allow(clippy::zombie_processes)]
        let mut child = Command::new("python3")
            .arg(DOCKER_PY_WORKER)
            .args([workload, socket, target])
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 is installed");
        let mut printed = String::new();
        std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut printed).unwrap();
        let (status, cpu_seconds, peak_rss_kib) = wait_with_usage(child.id() as libc::pid_t);
        assert_eq!(status, 0, "docker-py {workload} failed");
        let [units, seconds] = printed.split_whitespace().collect::<Vec<_>>()[..] else {
            panic!("the docker-py worker printed {printed:?}")
        };
        println!("{units} {seconds} {cpu_seconds} {peak_rss_kib} -1");
        return;
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let work = {
        let (client, workload, socket, target) = (client.clone(), workload.clone(), socket.clone(), target.clone());
        async move {
            match client.as_str() {
                "ours" => ours(&workload, Endpoint::Unix(socket.into()), &target).await,
                "bollard" => with_bollard(&workload, &socket, &target).await,
                other => match endpoint(other) {
                    Some(endpoint) => ours(&workload, endpoint, &target).await,
                    None => panic!("unknown client {other}"),
                },
            }
        }
    };
    let (units, seconds, allocations) = match placement.as_str() {
        "task" => runtime.block_on(async { tokio::spawn(work).await.expect("the workload panicked") }),
        "block-on" => runtime.block_on(work),
        other => panic!("unknown placement {other}"),
    };
    drop(runtime);
    reap_children();
    println!(
        "{units} {seconds} {} {} {allocations}",
        own_cpu_seconds(),
        own_peak_rss_kib()
    );
}

/// Waits for the children the client killed and did not reap yet (over ssh, the ssh
/// processes, which tokio reaps in the background), so their CPU time is counted.
fn reap_children() {
    // SAFETY: waitpid with a null status pointer only reaps our own children.
    while unsafe { libc::waitpid(-1, std::ptr::null_mut(), 0) } > 0 {}
}

fn seconds(time: libc::timeval) -> f64 {
    time.tv_sec as f64 + time.tv_usec as f64 / 1e6
}

/// This process's CPU time and its reaped children's (the ssh processes of an ssh client).
pub(crate) fn own_cpu_seconds() -> f64 {
    [libc::RUSAGE_SELF, libc::RUSAGE_CHILDREN]
        .into_iter()
        .map(|who| {
            // SAFETY: rusage is plain data that getrusage fills in.
            let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
            assert_eq!(unsafe { libc::getrusage(who, &mut usage) }, 0);
            seconds(usage.ru_utime) + seconds(usage.ru_stime)
        })
        .sum()
}

/// `VmHWM`: unlike `ru_maxrss`, it does not include the parent's memory at spawn.
pub(crate) fn own_peak_rss_kib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Waits for `pid`: exit status, CPU seconds and peak RSS in KiB. This worker is small when it
/// spawns curl, python3 or skopeo, so the child's `ru_maxrss`, which starts from the spawner's, is its
/// own.
pub(crate) fn wait_with_usage(pid: libc::pid_t) -> (i32, f64, f64) {
    let mut status = 0;
    // SAFETY: rusage is plain data that wait4 fills in; pid is our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "wait4 failed: {}", std::io::Error::last_os_error());
    let exit = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    (
        exit,
        seconds(usage.ru_utime) + seconds(usage.ru_stime),
        usage.ru_maxrss as f64,
    )
}

/// The body of `request`, raw (to serve it again from the canned server).
pub async fn fetch(docker: &Docker, path: &str, query: &str) -> Vec<u8> {
    let mut request = Request::new(Method::GET, path.to_owned(), "BenchFixture");
    if let Some((name, value)) = query.split_once('=') {
        request = request.query(name, &value);
    }
    docker
        .client()
        .send_bytes(request)
        .await
        .unwrap()
        .read_all()
        .await
        .unwrap()
}

fn pinned_client(endpoint: Endpoint) -> Docker {
    let options = Options {
        version: VersionPolicy::Pinned("1.41".into()),
        ..Default::default()
    };
    Docker::with_client(Client::with_options(endpoint, "1.41", options).unwrap())
}

/// Units handled, seconds and allocations of one run of `workload` by our client.
async fn ours(workload: &str, endpoint: Endpoint, target: &str) -> (u64, f64, u64) {
    if workload == "connect" {
        // Each round a new client, so each first answer waits for a new connection.
        let (started, allocated) = (Instant::now(), counting::allocations());
        for _ in 0..CONNECTS {
            pinned_client(endpoint.clone()).system().ping().send().await.unwrap();
        }
        let allocations = counting::allocations() - allocated;
        return (CONNECTS as u64, started.elapsed().as_secs_f64(), allocations);
    }
    let docker = pinned_client(endpoint);
    let (started, allocated) = (Instant::now(), counting::allocations());
    let units = match workload {
        "ping" => {
            for _ in 0..PINGS {
                docker.system().ping().send().await.unwrap();
            }
            PINGS as u64
        }
        "list" => {
            for _ in 0..LISTS {
                let listed = docker.containers().list().all(true).send().await.unwrap();
                assert!(!listed.is_empty());
            }
            LISTS as u64
        }
        "inspect" => {
            stream::iter(0..INSPECTS)
                .map(|_| docker.containers().inspect(target).send())
                .buffer_unordered(INSPECTS_IN_FLIGHT)
                .for_each(|inspected| async move {
                    inspected.unwrap();
                })
                .await;
            INSPECTS as u64
        }
        "exec" => {
            let config = ExecStartConfig {
                detach: Some(false),
                tty: Some(false),
            };
            let mut session = docker
                .exec()
                .start(target)
                .body(config)
                .tty(false)
                .send()
                .await
                .unwrap();
            let mut bytes = 0;
            while let Some(output) = session.output.next().await {
                bytes += output.unwrap().bytes().len() as u64;
            }
            bytes
        }
        "export" => {
            let mut exported = docker.containers().export(target).send().await.unwrap();
            let mut bytes = 0;
            while let Some(chunk) = exported.next().await {
                bytes += chunk.unwrap().len() as u64;
            }
            bytes
        }
        "build" => {
            let context = std::fs::read(target).unwrap();
            let mut output = docker
                .images()
                .build()
                .nocache(true)
                .body(docker_engine_runtime::Body::from(context))
                .send()
                .await
                .unwrap();
            let mut printed = String::new();
            while let Some(message) = output.next().await {
                printed.push_str(message.unwrap().stream.as_deref().unwrap_or_default());
            }
            assert_all_lines(&printed);
            BUILD_LINES as u64
        }
        "events" => {
            let mut events = docker.system().events().send().await.unwrap();
            let mut messages = 0;
            while let Some(event) = events.next().await {
                event.unwrap();
                messages += 1;
            }
            messages
        }
        "events-reused" => {
            let mut events = docker.system().events().send().await.unwrap();
            let mut event = Default::default();
            let mut messages = 0;
            while let Some(decoded) = events.next_into(&mut event).await {
                decoded.unwrap();
                messages += 1;
            }
            messages
        }
        other => panic!("unknown workload {other}"),
    };
    let allocations = counting::allocations() - allocated;
    (units, started.elapsed().as_secs_f64(), allocations)
}

/// Units handled, seconds and allocations of one run of `workload` by bollard.
async fn with_bollard(workload: &str, socket: &str, target: &str) -> (u64, f64, u64) {
    use bollard::exec::{StartExecOptions, StartExecResults};
    use bollard::query_parameters::{EventsOptions, InspectContainerOptions, ListContainersOptionsBuilder};

    let docker = bollard::Docker::connect_with_unix(socket, 120, bollard::API_DEFAULT_VERSION).unwrap();
    let (started, allocated) = (Instant::now(), counting::allocations());
    let units = match workload {
        "ping" => {
            for _ in 0..PINGS {
                docker.ping().await.unwrap();
            }
            PINGS as u64
        }
        "list" => {
            for _ in 0..LISTS {
                let options = ListContainersOptionsBuilder::default().all(true).build();
                let listed = docker.list_containers(Some(options)).await.unwrap();
                assert!(!listed.is_empty());
            }
            LISTS as u64
        }
        "inspect" => {
            stream::iter(0..INSPECTS)
                .map(|_| docker.inspect_container(target, None::<InspectContainerOptions>))
                .buffer_unordered(INSPECTS_IN_FLIGHT)
                .for_each(|inspected| async move {
                    inspected.unwrap();
                })
                .await;
            INSPECTS as u64
        }
        "exec" => {
            let options = StartExecOptions {
                detach: false,
                tty: false,
                output_capacity: None,
            };
            let StartExecResults::Attached { mut output, .. } = docker.start_exec(target, Some(options)).await.unwrap()
            else {
                panic!("bollard detached")
            };
            let mut bytes = 0;
            while let Some(piece) = output.next().await {
                bytes += piece.unwrap().into_bytes().len() as u64;
            }
            bytes
        }
        "export" => {
            let mut exported = docker.export_container(target);
            let mut bytes = 0;
            while let Some(chunk) = exported.next().await {
                bytes += chunk.unwrap().len() as u64;
            }
            bytes
        }
        "build" => {
            let context = std::fs::read(target).unwrap();
            let options = bollard::query_parameters::BuildImageOptionsBuilder::default()
                .nocache(true)
                .build();
            let mut output = docker.build_image(options, None, Some(bollard::body_full(context.into())));
            let mut printed = String::new();
            while let Some(message) = output.next().await {
                printed.push_str(message.unwrap().stream.as_deref().unwrap_or_default());
            }
            assert_all_lines(&printed);
            BUILD_LINES as u64
        }
        "events" | "events-reused" => {
            let mut events = docker.events(None::<EventsOptions>);
            let mut messages = 0;
            while let Some(event) = events.next().await {
                event.unwrap();
                messages += 1;
            }
            messages
        }
        other => panic!("unknown workload {other}"),
    };
    let allocations = counting::allocations() - allocated;
    (units, started.elapsed().as_secs_f64(), allocations)
}

/// curl doing the same work over the same socket, bodies to stdout (which the caller discards).
fn curl_command(workload: &str, socket: &Path, target: &str) -> Command {
    let mut command = Command::new("curl");
    command
        .args([
            "--silent",
            "--show-error",
            "--no-progress-meter",
            "--fail",
            "--unix-socket",
        ])
        .arg(socket);
    match workload {
        "ping" => command.arg(format!("http://docker/_ping?n=[1-{PINGS}]")),
        "list" => command.arg(format!("http://docker/v1.41/containers/json?all=1&n=[1-{LISTS}]")),
        "inspect" => command
            .args(["--parallel", "--parallel-immediate", "--parallel-max"])
            .arg(INSPECTS_IN_FLIGHT.to_string())
            .arg(format!("http://docker/v1.41/containers/{target}/json?n=[1-{INSPECTS}]")),
        "exec" => command
            .args(["-X", "POST", "-H", "Content-Type: application/json"])
            .args(["--data", r#"{"Detach":false,"Tty":false}"#])
            .arg(format!("http://docker/v1.41/exec/{target}/start")),
        "export" => command.arg(format!("http://docker/v1.41/containers/{target}/export")),
        "build" => command
            .args(["-X", "POST", "-H", "Content-Type: application/x-tar", "--data-binary"])
            .arg(format!("@{target}"))
            .arg("http://docker/v1.41/build?nocache=1"),
        "events" | "events-reused" => command.arg("http://docker/v1.41/events"),
        other => panic!("unknown workload {other}"),
    };
    command
}
