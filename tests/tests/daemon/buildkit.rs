//! Builds through a BuildKit session (`POST /session`, then `POST /build?session=ID`): the
//! context read from a folder on demand, secrets, ssh agents, registry credentials and outputs
//! served by the client, against the test daemon's BuildKit. Podman has no sessions: its
//! answer is asserted.

use daemon_test_macros::daemon_test;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use daemon_tests::token_service::TokenService;
use daemon_tests::{
    busybox_image, companion_variable, docker, server, unimplemented_on_podman, unique_name, wait_at_most, Server,
};
use docker_engine_runtime::buildkit::{
    Aux, BuildOutput, BuildSession, SecretSource, SessionReport, REMOTE_CLIENT_SESSION,
};
use docker_engine_runtime::{Error, TarEntry};
use docker_engine_v1_41::models::ImageBuildVersion;
use docker_engine_v1_41::Docker;
use futures_util::StreamExt;

/// How long one build may take.
const BUILD_LIMIT: Duration = Duration::from_secs(180);

/// What a session build ended with.
struct Built {
    /// The image built, or the build's error.
    outcome: Result<Option<String>, Error>,
    /// The output of the build's steps.
    logs: String,
    report: SessionReport,
}

/// Builds through `session` with the crate's one call, tagging the image `tag`.
async fn build(docker: &Docker, session: BuildSession, tag: Option<&str>, no_cache: bool) -> Built {
    let mut request = docker.images().build().nocache(no_cache);
    if let Some(tag) = tag {
        request = request.t(tag);
    }
    let mut progress = tokio::time::timeout(BUILD_LIMIT, request.send_in_session(session))
        .await
        .expect("the session opens and the build starts within the limit")
        .expect("the session build starts");
    let mut logs = String::new();
    let read = async {
        let mut image = None;
        while let Some(message) = progress.next().await {
            let message = message?;
            let Some(aux) = message.aux else { continue };
            match Aux::read("ImageBuild", message.id.as_deref(), &aux)? {
                Aux::Trace(status) => {
                    for log in status.logs {
                        logs.push_str(&String::from_utf8_lossy(&log.msg));
                    }
                }
                Aux::Image { id } => image = Some(id),
                Aux::Other(_) => {}
            }
        }
        Ok(image)
    };
    let outcome = tokio::time::timeout(BUILD_LIMIT, read)
        .await
        .expect("the build ends within its limit");
    let report = progress.report();
    Built { outcome, logs, report }
}

/// A folder of its own for a test, emptied first.
fn scratch(prefix: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(unique_name(prefix));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, path: &str, contents: impl AsRef<[u8]>) {
    let path = dir.join(path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, contents).unwrap();
}

/// The files of the context folder the session sent, without the `.dockerignore` that the
/// frontend reads first.
fn context_files_sent(report: &SessionReport) -> Vec<&str> {
    report
        .files_sent
        .iter()
        .filter_map(|path| path.strip_prefix("context/"))
        .filter(|path| *path != ".dockerignore")
        .collect()
}

/// On Podman, opening a session is refused as an operation it does not implement; true there.
async fn podman_has_no_sessions(docker: &Docker) -> bool {
    if server() != Server::Podman {
        return false;
    }
    let dir = scratch("podman-session");
    let opened = BuildSession::new(&dir).start(docker.client()).await;
    assert!(unimplemented_on_podman(&opened));
    true
}

/// The test daemon, its busybox image and a folder for the test's context; `None` where the
/// test has nothing more to do: on Podman, once its refusal is checked.
async fn session_test(prefix: &str) -> Option<(Docker, &'static str, PathBuf)> {
    let docker = docker();
    if podman_has_no_sessions(&docker).await {
        return None;
    }
    let base = busybox_image(&docker).await;
    Some((docker, base, scratch(prefix)))
}

#[daemon_test]
async fn a_session_build_reads_its_context_from_the_folder_and_a_second_build_sends_only_what_changed() {
    let Some((docker, base, context)) = session_test("session-context").await else {
        return;
    };
    write(
        &context,
        "Dockerfile",
        format!("FROM {base}\nCOPY . /ctx\nRUN find /ctx -type f | sort && cat /ctx/changing.txt\n"),
    );
    write(&context, ".dockerignore", "*.log\nignored/\n!ignored/kept.txt\n");
    write(&context, "changing.txt", "first\n");
    write(&context, "same.txt", "same\n");
    write(&context, "src/main.rs", "fn main() {}\n");
    write(&context, "debug.log", "never sent\n");
    write(&context, "ignored/secret.key", "never sent either\n");
    write(&context, "ignored/kept.txt", "an exception\n");
    let tag = format!("{}:session", unique_name("session"));

    let first = build(&docker, BuildSession::new(&context), Some(&tag), true).await;
    let image = first
        .outcome
        .expect("the build succeeds")
        .expect("the build names its image");
    let mut sent = context_files_sent(&first.report);
    sent.sort();
    assert_eq!(
        sent,
        [
            "Dockerfile",
            "changing.txt",
            "ignored/kept.txt",
            "same.txt",
            "src/main.rs"
        ],
        "{:?}",
        first.report
    );
    assert!(first.report.problems.is_empty(), "{:?}", first.report.problems);
    for listed in [
        "/ctx/Dockerfile",
        "/ctx/changing.txt",
        "/ctx/ignored/kept.txt",
        "/ctx/src/main.rs",
        "first",
    ] {
        assert!(first.logs.contains(listed), "{listed} in {}", first.logs);
    }
    for never in ["debug.log", "secret.key"] {
        assert!(!first.logs.contains(never), "{never} in {}", first.logs);
    }
    let inspected = docker.images().inspect(&tag).send().await.unwrap();
    assert_eq!(inspected.id.as_deref(), Some(image.as_str()));

    // The daemon keeps what it received under the session's shared key: a second build of the
    // same folder after one file changed asks for that file alone.
    write(&context, "changing.txt", "second, longer\n");
    let second = build(&docker, BuildSession::new(&context), Some(&tag), true).await;
    second.outcome.expect("the second build succeeds");
    assert_eq!(
        context_files_sent(&second.report),
        ["changing.txt"],
        "{:?}",
        second.report
    );
    assert_eq!(
        second.report.file_bytes_sent,
        "second, longer\n".len() as u64 + first_dockerfile_bytes(&second.report, &context)
    );
    assert!(second.logs.contains("second, longer"), "{}", second.logs);
    docker.images().delete(&tag).send().await.unwrap();
    std::fs::remove_dir_all(context).unwrap();
}

#[daemon_test]
async fn a_session_build_from_files_in_memory_sends_them_and_a_changed_one_of_the_same_size_again() {
    let Some((docker, base, _)) = session_test("session-memory").await else {
        return;
    };
    let context = |greeting: &str| {
        BuildSession::in_memory([
            TarEntry::file("greeting.txt", greeting.to_owned()),
            TarEntry::file("bin/hello", "#!/bin/sh\ncat /app/greeting.txt\n").mode(0o755),
            TarEntry::symlink("latest", "bin/hello"),
        ])
        .dockerfile_in_memory(format!(
            "FROM {base}\nCOPY . /app\nRUN ls -l /app/latest && /app/latest\n"
        ))
    };
    let tag = format!("{}:memory", unique_name("session-memory"));
    let first = build(&docker, context("hello from memory\n"), Some(&tag), false).await;
    first.outcome.expect("the build succeeds");
    let mut sent = context_files_sent(&first.report);
    sent.sort();
    assert_eq!(sent, ["bin/hello", "greeting.txt"], "{:?}", first.report);
    assert!(
        first.report.files_sent.contains(&"dockerfile/Dockerfile".to_owned()),
        "{:?}",
        first.report
    );
    assert!(first.logs.contains("hello from memory"), "{}", first.logs);
    assert!(first.logs.contains("latest -> bin/hello"), "{}", first.logs);

    // Same size, other bytes: sent again (each tree is newer than the last), so the step's cache
    // does not hold and the build prints the new greeting.
    let second = build(&docker, context("hello from MEMORY\n"), Some(&tag), false).await;
    second.outcome.expect("the second build succeeds");
    assert!(
        context_files_sent(&second.report).contains(&"greeting.txt"),
        "{:?}",
        second.report
    );
    assert!(second.logs.contains("hello from MEMORY"), "{}", second.logs);
    docker.images().delete(&tag).send().await.unwrap();
}

/// The bytes of the Dockerfile and `.dockerignore`, when the session sent them again.
fn first_dockerfile_bytes(report: &SessionReport, context: &Path) -> u64 {
    report
        .files_sent
        .iter()
        .filter(|path| path.starts_with("dockerfile/") || path.as_str() == "context/.dockerignore")
        .map(|path| {
            let name = path.split_once('/').unwrap().1;
            std::fs::metadata(context.join(name)).unwrap().len()
        })
        .sum()
}

#[daemon_test]
async fn a_secret_reaches_its_step_and_no_layer_and_a_missing_one_is_named() {
    let Some((docker, base, context)) = session_test("session-secret").await else {
        return;
    };
    let secret = unique_name("the-secret-value");
    // The step compares digests: the Dockerfile, kept in the image's history, must not hold
    // the secret itself.
    let digest: String = ring::digest::digest(&ring::digest::SHA256, secret.as_bytes())
        .as_ref()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    write(
        &context,
        "Dockerfile",
        format!(
            "FROM {base}\nRUN --mount=type=secret,id=token,required=true \
             test \"$(sha256sum < /run/secrets/token | cut -d' ' -f1)\" = {digest} \
             && echo secret-checked && echo done > /proof\n"
        ),
    );
    let secret_file = context.join("..").join(unique_name("token"));
    std::fs::write(&secret_file, &secret).unwrap();
    let tag = format!("{}:secret", unique_name("secret"));
    let session = BuildSession::new(&context).secret("token", SecretSource::File(secret_file.clone()));
    let built = build(&docker, session, Some(&tag), true).await;
    built.outcome.expect("the build with its secret succeeds");
    assert!(built.logs.contains("secret-checked"), "{}", built.logs);
    assert_eq!(built.report.secrets_asked, ["token"]);
    // The secret is in no layer: the saved image does not hold its bytes.
    let mut saved = docker.images().get(&tag).send().await.unwrap();
    let mut image = Vec::new();
    while let Some(chunk) = saved.next().await {
        image.extend_from_slice(&chunk.unwrap());
    }
    assert!(image.len() > 100_000, "the saved image holds busybox");
    assert!(
        !contains(&image, secret.as_bytes()),
        "the secret's bytes are in the saved image"
    );
    assert!(
        contains(&image, b"done\n") || contains(&image, b"proof"),
        "the step's own file is"
    );
    docker.images().delete(&tag).send().await.unwrap();

    // Without the secret, the build fails naming it, and the session says which it lacked.
    let missing = build(&docker, BuildSession::new(&context), None, true).await;
    let error = missing
        .outcome
        .expect_err("a required secret that is missing fails the build");
    assert!(error.to_string().contains("token"), "{error}");
    assert!(
        missing
            .report
            .problems
            .iter()
            .any(|problem| problem.contains("GetSecret") && problem.contains("\"token\"")),
        "{:?}",
        missing.report.problems
    );

    // A secret file that cannot be read is refused before anything is sent.
    let unreadable = BuildSession::new(&context)
        .secret("token", SecretSource::File(context.join("no-such-file")))
        .start(docker.client())
        .await
        .expect_err("an unreadable secret file is refused");
    let message = unreadable.to_string();
    assert!(
        message.contains("\"token\"") && message.contains("no-such-file"),
        "{message}"
    );
    std::fs::remove_file(secret_file).unwrap();
    std::fs::remove_dir_all(context).unwrap();
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

#[daemon_test]
async fn local_and_tar_outputs_hold_the_files_the_dockerfile_made() {
    let Some((docker, base, context)) = session_test("session-output").await else {
        return;
    };
    write(
        &context,
        "Dockerfile",
        format!(
            "FROM {base} AS make\nRUN mkdir -p /out/bin && echo artifact > /out/bin/result.txt && chmod 750 /out/bin/result.txt \
             && ln -s result.txt /out/bin/latest\nFROM scratch\nCOPY --from=make /out /\n"
        ),
    );
    let local = context.join("out");
    let built = build(
        &docker,
        BuildSession::new(&context).output(BuildOutput::Local(local.clone())),
        None,
        false,
    )
    .await;
    built.outcome.expect("the build with a local output succeeds");
    assert_eq!(
        std::fs::read_to_string(local.join("bin/result.txt")).unwrap(),
        "artifact\n"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(local.join("bin/result.txt"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o750);
    assert_eq!(
        std::fs::read_link(local.join("bin/latest")).unwrap(),
        Path::new("result.txt")
    );
    assert_eq!(built.report.files_received, 1, "{:?}", built.report);

    let tar_file = context.join("out.tar");
    let built = build(
        &docker,
        BuildSession::new(&context).output(BuildOutput::Tar(tar_file.clone())),
        None,
        false,
    )
    .await;
    built.outcome.expect("the build with a tar output succeeds");
    let mut archive = tar::Archive::new(std::fs::File::open(&tar_file).unwrap());
    let mut entries = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        let mut contents = String::new();
        if entry.header().entry_type().is_file() {
            std::io::Read::read_to_string(&mut entry, &mut contents).unwrap();
        }
        entries.push((path, contents));
    }
    assert!(
        entries.contains(&("bin/result.txt".to_owned(), "artifact\n".to_owned())),
        "{entries:?}"
    );
    assert!(entries.iter().any(|(path, _)| path == "bin/latest"), "{entries:?}");
    std::fs::remove_dir_all(context).unwrap();
}

/// An ssh-agent of the test's own with one key, stopped when dropped.
struct Agent {
    process: std::process::Child,
    socket: PathBuf,
}

impl Agent {
    fn start(dir: &Path) -> Agent {
        let socket = dir.join("agent.sock");
        let process = Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&socket)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("ssh-agent runs (openssh-client)");
        let agent = Agent { process, socket };
        for _ in 0..100 {
            if agent.socket.exists() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(agent.socket.exists(), "ssh-agent made no socket within 5 s");
        let key = dir.join("key");
        let made = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "session-test", "-f"])
            .arg(&key)
            .status()
            .unwrap();
        assert!(made.success());
        let added = Command::new("ssh-add")
            .arg(&key)
            .env("SSH_AUTH_SOCK", &agent.socket)
            .output()
            .unwrap();
        assert!(
            added.status.success(),
            "ssh-add: {}",
            String::from_utf8_lossy(&added.stderr)
        );
        agent
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// A static program that asks the agent at `SSH_AUTH_SOCK` for its identities, as `ssh-add
/// -l` does, and prints the answer's type and count: busybox has no Unix socket client.
const AGENT_PROBE: &str = r#"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
static int read_all(int fd, unsigned char *buffer, size_t length) {
    size_t done = 0;
    while (done < length) {
        ssize_t got = read(fd, buffer + done, length - done);
        if (got <= 0) return -1;
        done += (size_t)got;
    }
    return 0;
}
int main(void) {
    const char *path = getenv("SSH_AUTH_SOCK");
    if (!path) { puts("no SSH_AUTH_SOCK"); return 2; }
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un address;
    memset(&address, 0, sizeof address);
    address.sun_family = AF_UNIX;
    strncpy(address.sun_path, path, sizeof address.sun_path - 1);
    if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0) { perror("connect"); return 3; }
    unsigned char request[5] = {0, 0, 0, 1, 11};
    if (write(fd, request, 5) != 5) { perror("write"); return 4; }
    unsigned char head[9];
    if (read_all(fd, head, 9) != 0) { puts("short answer"); return 5; }
    unsigned count = ((unsigned)head[5] << 24) | (head[6] << 16) | (head[7] << 8) | head[8];
    printf("agent answer %d with %u identities\n", head[4], count);
    return 0;
}
"#;

#[daemon_test]
async fn ssh_forwarding_reaches_the_agent_the_test_started() {
    let Some((docker, base, context)) = session_test("session-ssh").await else {
        return;
    };
    let agent_dir = scratch("session-agent");
    let agent = Agent::start(&agent_dir);
    std::fs::write(agent_dir.join("probe.c"), AGENT_PROBE).unwrap();
    let compiled = wait_at_most(
        Command::new("cc")
            .args(["-static", "-O1", "-o"])
            .arg(context.join("probe"))
            .arg(agent_dir.join("probe.c"))
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("a C compiler (cc) builds the agent probe"),
        Duration::from_secs(60),
    );
    assert!(
        compiled.status.success(),
        "cc: {}",
        String::from_utf8_lossy(&compiled.stderr)
    );
    write(
        &context,
        "Dockerfile",
        format!("FROM {base}\nCOPY probe /probe\nRUN --mount=type=ssh /probe\n"),
    );
    let session = BuildSession::new(&context).ssh("default", Some(agent.socket.clone()));
    let built = build(&docker, session, None, true).await;
    if let Err(error) = &built.outcome {
        panic!(
            "the build with ssh forwarding fails: {error}\n{}\n{:?}",
            built.logs, built.report
        );
    }
    // 12 is SSH2_AGENT_IDENTITIES_ANSWER: the agent itself answered, through the session.
    assert!(
        built.logs.contains("agent answer 12 with 1 identities"),
        "{}",
        built.logs
    );
    assert!(built.report.agent_connections >= 1, "{:?}", built.report);

    // A mount of an agent the session was not given fails the step (dockerd 20.10's BuildKit
    // mounts the socket and the probe's connection is refused); the session names the agent.
    let missing = build(&docker, BuildSession::new(&context), None, true).await;
    let error = missing.outcome.expect_err("a missing agent fails the build");
    assert!(error.to_string().contains("/probe"), "{error}");
    assert!(
        missing
            .report
            .problems
            .iter()
            .any(|problem| problem.contains("ssh agent \"default\"")),
        "{:?}",
        missing.report.problems
    );
    drop(agent);
    std::fs::remove_dir_all(context).unwrap();
    std::fs::remove_dir_all(agent_dir).unwrap();
}

#[daemon_test]
async fn a_private_base_image_is_pulled_with_credentials_given_only_to_the_session() {
    let Some((docker, base, context)) = session_test("session-private").await else {
        return;
    };
    TokenService::get();
    let registry = companion_variable("DOCKER_TEST_TOKEN_REGISTRY");
    let password = companion_variable("DOCKER_TEST_REGISTRY_PASSWORD");
    let private = format!("{registry}/{}", unique_name("private-base"));
    docker.images().tag(base).repo(&private).tag("v1").send().await.unwrap();
    let auth = docker_engine_runtime::RegistryAuth {
        server_address: Some(registry.clone()),
        ..docker_engine_runtime::RegistryAuth::password("tester", &password)
    };
    let pushed = docker.images().push(&private, auth).tag("v1").send().await.unwrap();
    daemon_tests::drain(pushed).await;
    // Only the registry holds the base image now.
    docker.images().delete(format!("{private}:v1")).send().await.unwrap();

    write(
        &context,
        "Dockerfile",
        format!("FROM {private}:v1\nRUN echo built-on-the-private-base\n"),
    );

    // A wrong password first (BuildKit keeps a base it pulled once): the pull is refused.
    // dockerd 20.10's BuildKit asks the session for the login (Credentials) and fetches the
    // token itself; later ones ask the session to fetch it (FetchToken).
    let session = BuildSession::new(&context)
        .stored_credentials(false)
        .registry_login(&registry, "tester", "wrong");
    let denied = build(&docker, session, None, true).await;
    let error = denied.outcome.expect_err("a denied credential fails the build");
    assert!(error.to_string().contains("401 Unauthorized"), "{error}");
    let asked = |report: &SessionReport| {
        report.credentials_asked.contains(&registry) || report.tokens_fetched.contains(&registry)
    };
    assert!(asked(&denied.report), "{:?}", denied.report);

    let issued_before = TokenService::get().issued_to("tester");
    let session = BuildSession::new(&context)
        .stored_credentials(false)
        .registry_login(&registry, "tester", &password);
    let built = build(&docker, session, None, true).await;
    built.outcome.expect("the build pulls its private base");
    assert!(built.logs.contains("built-on-the-private-base"), "{}", built.logs);
    assert!(asked(&built.report), "{:?}", built.report);
    assert!(
        TokenService::get().issued_to("tester") > issued_before,
        "the token service issued a token to the session's user"
    );
    std::fs::remove_dir_all(context).unwrap();
}

/// Whether a process of this machine has `marker` in its command line.
fn a_process_mentions(marker: &str) -> bool {
    std::fs::read_dir("/proc").unwrap().flatten().any(|entry| {
        std::fs::read(entry.path().join("cmdline")).is_ok_and(|cmdline| contains(&cmdline, marker.as_bytes()))
    })
}

#[daemon_test]
async fn dropping_a_build_midway_ends_its_session_and_its_step() {
    let Some((docker, base, context)) = session_test("session-drop").await else {
        return;
    };
    // The step's shell names the marker, so its process can be looked for.
    let marker = unique_name("long-step");
    write(
        &context,
        "Dockerfile",
        format!("FROM {base}\nRUN echo started && sleep 120 && echo {marker}\n"),
    );
    let opened = tokio::time::timeout(BUILD_LIMIT, BuildSession::new(&context).start(docker.client()));
    let running = opened.await.expect("the session opens within the limit").unwrap();
    assert!(running.is_open());
    let started = docker
        .images()
        .build()
        .version(ImageBuildVersion::V2)
        .session(running.id())
        .remote(REMOTE_CLIENT_SESSION)
        .nocache(true)
        .send();
    let progress = tokio::time::timeout(BUILD_LIMIT, started)
        .await
        .expect("the build starts within the limit")
        .unwrap();
    let mut progress = running.attach(progress);
    let started = async {
        while let Some(message) = progress.next().await {
            let message = message.unwrap();
            let Some(aux) = message.aux else { continue };
            if let Aux::Trace(status) = Aux::read("ImageBuild", message.id.as_deref(), &aux).unwrap() {
                if status
                    .logs
                    .iter()
                    .any(|log| String::from_utf8_lossy(&log.msg).contains("started"))
                {
                    return;
                }
            }
        }
        panic!("the build ended before its step started");
    };
    tokio::time::timeout(BUILD_LIMIT, started)
        .await
        .expect("the step starts");
    assert!(a_process_mentions(&marker), "the step runs");
    // The daemon checks the session's health every five seconds while the build runs.
    let checked = async {
        while progress.report().health_checks == 0 {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(20), checked)
        .await
        .expect("the daemon checks the session's health within 20 s");
    drop(progress);
    // The daemon cancels the build when its request and session go away: the step's process
    // ends long before its sleep would.
    let ended = async {
        while a_process_mentions(&marker) {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(60), ended)
        .await
        .expect("the dropped build's step ends within a minute");
    std::fs::remove_dir_all(context).unwrap();
}
