//! Load: many requests in flight over every transport with a bounded number of connections,
//! and many event subscribers opened and dropped leaving no connection or task behind. One test,
//! so that no other test of this process disturbs the counts of open files and tasks.

use std::time::Instant;

use daemon_tests::faults::FaultyProxy;
use daemon_tests::{companion_variable, daemon, docker_at};
use docker_engine_runtime::{Endpoint, Environment, Options, TlsFiles};
use docker_engine_v1_41::Docker;
use futures_util::{stream, StreamExt};

const REQUESTS: usize = 10_000;
const IN_FLIGHT: usize = 64;
const SUBSCRIBERS: usize = 1_000;
/// One connection per request in flight, and the one version negotiation used first.
const CONNECTION_BOUND: usize = IN_FLIGHT + 1;

fn open_files() -> usize {
    std::fs::read_dir("/proc/self/fd").expect("/proc/self/fd").count()
}

fn companion_endpoint(variable: &str, tls: Option<TlsFiles>) -> Endpoint {
    let environment = Environment {
        docker_host: Some(companion_variable(variable)),
        ..Default::default()
    };
    match (environment.endpoint().unwrap(), tls) {
        (Endpoint::Tcp { host, port }, Some(tls)) => Endpoint::Tls { host, port, tls },
        (endpoint, _) => endpoint,
    }
}

/// Waits up to five seconds for the open files to fall back to `baseline`, give or take two:
/// the count is of the whole process, which opens some files of its own (the runtime's).
async fn files_settled_to(baseline: usize) -> usize {
    let mut open = open_files();
    for _ in 0..50 {
        if open <= baseline + 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        open = open_files();
    }
    open
}

/// Sends `REQUESTS` pings, `IN_FLIGHT` at a time; every one must succeed.
async fn ping_flood(docker: &Docker, transport: &str) {
    let started = Instant::now();
    let failures: Vec<String> = stream::iter(0..REQUESTS)
        .map(|_| async { docker.system().ping().send().await })
        .buffer_unordered(IN_FLIGHT)
        .filter_map(|result| async move { result.err().map(|e| e.to_string()) })
        .collect()
        .await;
    let elapsed = started.elapsed();
    assert!(
        failures.is_empty(),
        "{transport}: {} failures, first: {}",
        failures.len(),
        failures[0]
    );
    eprintln!(
        "{transport}: {REQUESTS} pings, {IN_FLIGHT} in flight, in {elapsed:.2?} ({:.0} req/s)",
        REQUESTS as f64 / elapsed.as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "counts the open files of its process, so the test script runs it in a process of its own"]
async fn many_requests_and_subscribers_leave_nothing_behind() {
    let unix = daemon();

    let proxy = FaultyProxy::start(&unix).await;
    let through_proxy = docker_at(proxy.endpoint.clone()).unwrap();
    ping_flood(&through_proxy, "tcp via counting proxy").await;
    let cold = proxy.connections();
    ping_flood(&through_proxy, "tcp via counting proxy, warm pool").await;
    let warm = proxy.connections() - cold;
    eprintln!("connections opened for {IN_FLIGHT} in flight: {cold} from a cold pool, {warm} more from a warm one");
    // A request takes an idle connection or dials one; a connection goes back to the pool as its
    // response ends, so a burst opens no more connections than it has requests in flight.
    assert!(cold <= CONNECTION_BOUND, "{cold} connections for {IN_FLIGHT} in flight");
    assert!(warm <= IN_FLIGHT / 8, "a warm pool opened {warm} more connections");

    let tls = TlsFiles::from_dir(&std::path::PathBuf::from(companion_variable("DOCKER_TEST_CERT_PATH"))).unwrap();
    let transports = [
        ("unix", unix.clone()),
        ("tcp", companion_endpoint("DOCKER_TEST_TCP_HOST", None)),
        ("tls", companion_endpoint("DOCKER_TEST_TLS_HOST", Some(tls))),
    ];
    for (name, endpoint) in transports {
        let files_before = open_files();
        let docker = docker_at(endpoint).unwrap();
        ping_flood(&docker, name).await;
        let idle_cap = Options::default().max_idle_connections;
        let files_after_flood = files_settled_to(files_before + idle_cap).await;
        assert!(
            files_after_flood <= files_before + idle_cap + 2,
            "{name}: {files_after_flood} files open after the flood, {files_before} before; \
             the pool keeps at most {idle_cap} idle connections"
        );
        drop(docker);
        let files_after_drop = files_settled_to(files_before).await;
        eprintln!(
            "{name}: open files {files_before} before, {files_after_flood} after the flood, \
             {files_after_drop} after dropping the client"
        );
        assert!(
            files_after_drop <= files_before + 2,
            "{name}: dropping the client left {files_after_drop} files open, {files_before} before"
        );
    }

    let docker = docker_at(unix).unwrap();
    docker.system().ping().send().await.unwrap();
    let metrics = tokio::runtime::Handle::current().metrics();
    let (files_before, tasks_before) = (open_files(), metrics.num_alive_tasks());
    let started = Instant::now();
    let subscribers: Vec<_> = stream::iter(0..SUBSCRIBERS)
        .map(|_| docker.system().events().send())
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await;
    let opened = subscribers.iter().filter(|s| s.is_ok()).count();
    assert_eq!(opened, SUBSCRIBERS, "{:?}", subscribers.iter().find(|s| s.is_err()));
    let files_while_open = open_files();
    drop(subscribers);
    let files_after = files_settled_to(files_before).await;
    let tasks_after = metrics.num_alive_tasks();
    eprintln!(
        "{SUBSCRIBERS} event subscribers opened in {:.2?}: open files {files_before} before, \
         {files_while_open} while open, {files_after} after dropping; tasks {tasks_before} before, {tasks_after} after",
        started.elapsed()
    );
    // The first subscribers reuse the idle connections of the requests before them, and a
    // connection of an earlier flood may still be closing when `files_before` is counted.
    assert!(
        files_while_open + 4 >= files_before + SUBSCRIBERS,
        "each subscriber holds a connection: {files_while_open} open, {files_before} before"
    );
    assert!(
        files_after <= files_before + 2,
        "leaked connections: {files_after} open, {files_before} before"
    );
    assert!(
        tasks_after <= tasks_before + 2,
        "leaked tasks: {tasks_after} alive, {tasks_before} before"
    );
}
