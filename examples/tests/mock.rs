//! The main path of each example against the v1.41 crate's fake daemon, with no Docker anywhere: the
//! program is run as a user would, `DOCKER_HOST` pointing at the mock, and the test checks what
//! it printed and what it asked the mock for.

use std::path::PathBuf;
use std::process::{Output, Stdio};
use std::time::Duration;

use daemon_tests::{describe_output, program_without_docker_environment, unique_name, wait_at_most};
use docker_engine_runtime::mock::{Bytes, MockError, MockSession};
use docker_engine_runtime::{tar_files, Outcome, Output as Piece, PathStat};
use docker_engine_v1_41::mock::MockDaemon;
use docker_engine_v1_41::models::{
    BuildInfo, ContainerConfig, ContainerCreateResponse, ContainerInspectResponse, ContainerState, ContainerSummary,
    ContainerWaitResponse, CreateImageInfo, EventActor, EventMessage, ExecInspectResponse, IdResponse, ImageId,
    ImageSummary, SystemVersion,
};

/// The longest an example may run against the mock.
const LIMIT: Duration = Duration::from_secs(60);

/// Runs the example binary `name` with `args` against `mock` and returns what it did.
macro_rules! run_example {
    ($mock:expr, $name:literal, $args:expr) => {
        run_example(env!(concat!("CARGO_BIN_EXE_", $name)), $mock, $args)
    };
}

async fn run_example(binary: &str, mock: &MockDaemon, args: &[&str]) -> Output {
    run_example_with_input(binary, mock, args, b"").await
}

/// Runs the example with `input` on its standard input, which then ends.
async fn run_example_with_input(binary: &str, mock: &MockDaemon, args: &[&str], input: &'static [u8]) -> Output {
    let mut command = program_without_docker_environment(binary);
    command
        .args(args)
        .env("DOCKER_HOST", mock.server().host())
        .env("DOCKER_CONFIG", scratch_dir("mock-docker-config"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("start the example");
    let mut stdin = child.stdin.take().unwrap();
    std::thread::spawn(move || std::io::Write::write_all(&mut stdin, input));
    // The mock runs on this runtime's workers while the example runs.
    tokio::task::spawn_blocking(move || wait_at_most(child, LIMIT))
        .await
        .unwrap()
}

fn succeeded(output: &Output) -> String {
    assert!(output.status.success(), "{}", describe_output(output));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn scratch_dir(prefix: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(unique_name(prefix));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const ID: &str = "4f1d6c7e8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d";

#[tokio::test(flavor = "multi_thread")]
async fn list_prints_the_images_and_containers_the_daemon_lists() {
    let mock = MockDaemon::start().await.unwrap();
    mock.images().list(|request| {
        assert_eq!(request.filters()?["reference"], ["busybox*"]);
        Ok(vec![ImageSummary {
            id: format!("sha256:{ID}"),
            repo_tags: vec!["busybox:latest".into()],
            size: 1_234_567,
            ..Default::default()
        }])
    });
    mock.containers().list(|request| {
        assert!(request.flag("all"));
        assert_eq!(request.filters()?["label"], ["app=web"]);
        assert_eq!(request.filters()?["ancestor"], ["busybox"]);
        assert_eq!(request.filters()?["status"], ["exited"]);
        Ok(vec![ContainerSummary {
            id: Some(ID.into()),
            names: Some(vec!["/web".into()]),
            image: Some("busybox:latest".into()),
            status: Some("Exited (0) 2 minutes ago".into()),
            ..Default::default()
        }])
    });
    let printed = succeeded(
        &run_example!(
            &mock,
            "list",
            &[
                "--reference",
                "busybox*",
                "--all",
                "--label",
                "app=web",
                "--ancestor",
                "busybox",
                "--status",
                "exited"
            ]
        )
        .await,
    );
    assert!(
        printed.contains("busybox:latest                           4f1d6c7e8a9b       1.2 MB"),
        "{printed}"
    );
    assert!(
        printed.contains("4f1d6c7e8a9b   busybox:latest                 web"),
        "{printed}"
    );
    assert!(printed.contains("Exited (0) 2 minutes ago"), "{printed}");
    assert!(printed.contains("1 images, 1 containers"), "{printed}");
}

#[tokio::test(flavor = "multi_thread")]
async fn events_prints_each_event_and_stops_after_the_count() {
    let mock = MockDaemon::start().await.unwrap();
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    mock.system().events(move |request| {
        assert_eq!(request.filters()?["type"], ["container"]);
        // `--since 10m` reaches the daemon as the Unix seconds it takes, ten minutes back.
        let since: u64 = request.query("since").expect("since").parse().expect("Unix seconds");
        assert!((started - 601..=started - 599).contains(&since), "{since}");
        assert_eq!(request.query("until"), Some("1700000100"));
        Ok(["create", "start", "die"]
            .iter()
            .enumerate()
            .map(|(n, action)| EventMessage {
                type_: Some("container".into()),
                action: Some((*action).into()),
                time: Some(1_700_000_000 + n as i64),
                actor: Some(EventActor {
                    id: Some(ID.into()),
                    attributes: Some([("name".to_owned(), "web".to_owned())].into()),
                }),
                ..Default::default()
            })
            .collect())
    });
    let output = run_example!(
        &mock,
        "events",
        &[
            "--filter",
            "type=container",
            "--count",
            "2",
            "--since",
            "10m",
            "--until",
            "2023-11-14T22:15:00Z"
        ]
    )
    .await;
    let printed = succeeded(&output);
    assert_eq!(
        printed.lines().collect::<Vec<_>>(),
        [
            "1700000000 container create 4f1d6c7e8a9b (web)",
            "1700000001 container start 4f1d6c7e8a9b (web)"
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn export_writes_the_archive_the_daemon_sends() {
    let mock = MockDaemon::start().await.unwrap();
    let archive = Bytes::from((0..300_000u32).map(|n| n as u8).collect::<Vec<_>>());
    mock.containers().inspect(|request| {
        assert_eq!(request.path_parameter("id"), "web");
        Ok(ContainerInspectResponse {
            size_root_fs: Some(300_000),
            ..Default::default()
        })
    });
    let sent = archive.clone();
    mock.containers()
        .export(move |_| Ok(sent.chunks(65_536).map(|chunk| sent.slice_ref(chunk)).collect()));
    let file = scratch_dir("mock-export").join("web.tar");
    let output = run_example!(&mock, "export", &["web", file.to_str().unwrap()]).await;
    assert!(succeeded(&output).contains("exported 300000 bytes"));
    assert_eq!(std::fs::read(&file).unwrap(), archive);
}

#[tokio::test(flavor = "multi_thread")]
async fn import_sends_the_file_and_prints_the_new_image() {
    let mock = MockDaemon::start().await.unwrap();
    let tarball = scratch_dir("mock-import").join("rootfs.tar");
    std::fs::write(&tarball, b"not really a tar, the mock does not care").unwrap();
    mock.images().create(|request| {
        assert_eq!(request.query("fromSrc"), Some("-"));
        assert_eq!(request.query("repo"), Some("mine:v1"));
        assert_eq!(request.query("changes"), Some("CMD [\"sh\"]"));
        assert_eq!(&request.body[..], b"not really a tar, the mock does not care");
        Ok(vec![CreateImageInfo {
            status: Some(format!("sha256:{ID}")),
            ..Default::default()
        }]
        .into())
    });
    let output = run_example!(
        &mock,
        "import",
        &[tarball.to_str().unwrap(), "mine:v1", "--change", "CMD [\"sh\"]"]
    )
    .await;
    assert_eq!(succeeded(&output).trim(), format!("sha256:{ID}"));
}

#[tokio::test(flavor = "multi_thread")]
async fn pull_prints_layer_progress_and_reports_the_daemons_error() {
    let mock = MockDaemon::start().await.unwrap();
    mock.images().create(|request| {
        if request.query("fromImage") == Some("missing") {
            return Err(MockError::not_found(
                "pull access denied for missing, repository does not exist",
            ));
        }
        let layer = |status: &str| CreateImageInfo {
            id: Some("1a93f7c9682e".into()),
            status: Some(status.into()),
            ..Default::default()
        };
        Ok(vec![
            CreateImageInfo {
                status: Some("Pulling from library/busybox".into()),
                id: Some("latest".into()),
                ..Default::default()
            },
            layer("Pulling fs layer"),
            layer("Downloading"),
            layer("Pull complete"),
            CreateImageInfo {
                status: Some("Status: Downloaded newer image for busybox:latest".into()),
                ..Default::default()
            },
        ]
        .into())
    });
    let printed = succeeded(&run_example!(&mock, "pull", &["busybox"]).await);
    assert!(printed.contains("1a93f7c9682e: Pull complete"), "{printed}");
    assert!(
        printed.contains("Status: Downloaded newer image for busybox:latest"),
        "{printed}"
    );
    let failed = run_example!(&mock, "pull", &["missing"]).await;
    assert_eq!(failed.status.code(), Some(1), "{}", describe_output(&failed));
    assert!(String::from_utf8_lossy(&failed.stderr).contains("repository does not exist"));
}

#[tokio::test(flavor = "multi_thread")]
async fn build_sends_the_context_prints_the_output_and_tags_the_image_again() {
    let mock = MockDaemon::start().await.unwrap();
    let context = scratch_dir("mock-build");
    std::fs::write(context.join("Dockerfile"), "FROM busybox\nRUN echo hi\n").unwrap();
    mock.images().build(|request| {
        assert_eq!(request.query("t"), Some("mine:v1"), "the first tag is the build's");
        let mut archive = tar::Archive::new(&request.body[..]);
        let names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|entry| entry.unwrap().path().unwrap().display().to_string())
            .collect();
        assert!(names.iter().any(|name| name == "Dockerfile"), "{names:?}");
        let line = |text: &str| BuildInfo {
            stream: Some(text.into()),
            ..Default::default()
        };
        Ok(vec![
            line("Step 1/2 : FROM busybox\n"),
            line("Step 2/2 : RUN echo hi\n"),
            line("hi\n"),
            BuildInfo {
                aux: Some(
                    serde_json::to_value(ImageId {
                        id: Some(format!("sha256:{ID}")),
                    })
                    .unwrap(),
                ),
                ..Default::default()
            },
            line(&format!("Successfully built {}\n", &ID[..12])),
        ]
        .into())
    });
    mock.images().tag(|request| {
        assert_eq!(request.path_parameter("name"), format!("sha256:{ID}"));
        assert_eq!(
            (request.query("repo"), request.query("tag")),
            (Some("mine"), Some("v2"))
        );
        Ok(())
    });
    let output = run_example!(
        &mock,
        "build_image",
        &[context.to_str().unwrap(), "--tag", "mine:v1", "--tag", "mine:v2"]
    )
    .await;
    let printed = succeeded(&output);
    assert!(printed.contains(&format!("built sha256:{ID}")), "{printed}");
    assert!(printed.contains("Step 2/2 : RUN echo hi"), "{printed}");
    assert!(printed.contains("hi"), "{printed}");
    assert!(
        mock.server().operations().contains(&"ImageTag"),
        "the second tag was added"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn connect_prints_the_daemons_version() {
    let mock = MockDaemon::start().await.unwrap();
    mock.system().version(|_| {
        Ok(SystemVersion {
            version: Some("99.0.0-mock".into()),
            api_version: Some("1.41".into()),
            os: Some("linux".into()),
            arch: Some("amd64".into()),
            ..Default::default()
        })
    });
    let printed = succeeded(&run_example!(&mock, "connect", &[]).await);
    assert!(printed.contains("99.0.0-mock"), "{printed}");
}

#[tokio::test(flavor = "multi_thread")]
async fn run_creates_starts_waits_and_exits_with_the_containers_code() {
    let mock = MockDaemon::start().await.unwrap();
    mock.containers().create(|request| {
        let config = request.body.unwrap_or_default();
        assert_eq!(config.image.as_deref(), Some("busybox"));
        assert_eq!(config.cmd, Some(vec!["sh".into(), "-c".into(), "exit 3".into()]));
        Ok(ContainerCreateResponse {
            id: ID.into(),
            warnings: vec![],
        })
    });
    mock.containers()
        .attach(|_| Ok(vec![docker_engine_runtime::Output::StdOut(Bytes::from_static(b"hello\n"))].into()));
    mock.containers().start(|_| Ok(Outcome::Done));
    mock.containers().wait(|_| {
        Ok(ContainerWaitResponse {
            status_code: 3,
            ..Default::default()
        })
    });
    mock.containers().inspect(|_| {
        Ok(ContainerInspectResponse {
            state: Some(ContainerState {
                exit_code: Some(3),
                ..Default::default()
            }),
            ..Default::default()
        })
    });
    let output = run_example!(&mock, "run", &["busybox", "sh", "-c", "exit 3"]).await;
    assert_eq!(output.status.code(), Some(3), "{}", describe_output(&output));
    assert_eq!(String::from_utf8_lossy(&output.stdout), "hello\n");
}

#[tokio::test(flavor = "multi_thread")]
async fn container_inspects_and_prints_logs_apart() {
    let mock = MockDaemon::start().await.unwrap();
    mock.containers().inspect(|request| {
        Ok(ContainerInspectResponse {
            id: Some(ID.into()),
            name: Some(format!("/{}", request.path_parameter("id"))),
            config: Some(ContainerConfig {
                tty: Some(false),
                ..Default::default()
            }),
            ..Default::default()
        })
    });
    mock.containers().logs(|request| {
        assert_eq!(request.query("tail"), Some("2"));
        Ok(vec![
            Piece::StdOut(Bytes::from_static(b"to stdout\n")),
            Piece::StdErr(Bytes::from_static(b"to stderr\n")),
        ]
        .into())
    });
    let inspected = succeeded(&run_example!(&mock, "container", &["inspect", "web"]).await);
    let details: serde_json::Value = serde_json::from_str(&inspected).unwrap();
    assert_eq!(
        (details["Id"].as_str(), details["Name"].as_str()),
        (Some(ID), Some("/web"))
    );

    // A reader that leaves at once (`container inspect web | head -0`): the example ends as
    // other tools do, by SIGPIPE, without a panic.
    let mut command = program_without_docker_environment(env!("CARGO_BIN_EXE_container"));
    command
        .args(["inspect", "web"])
        .env("DOCKER_HOST", mock.server().host())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("start the example");
    drop(child.stdout.take());
    let output = tokio::task::spawn_blocking(move || wait_at_most(child, LIMIT))
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{}", describe_output(&output));
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        output.status.signal(),
        Some(libc::SIGPIPE),
        "{}",
        describe_output(&output)
    );
    let output = run_example!(&mock, "container", &["logs", "web", "--tail", "2"]).await;
    assert_eq!(succeeded(&output), "to stdout\n");
    assert_eq!(String::from_utf8_lossy(&output.stderr), "to stderr\n");
}

#[tokio::test(flavor = "multi_thread")]
async fn copy_puts_an_archive_in_and_unpacks_one_out() {
    let mock = MockDaemon::start().await.unwrap();
    mock.containers().put_archive(|request| {
        assert_eq!(request.query("path"), Some("/srv"));
        let mut archive = tar::Archive::new(&request.body[..]);
        let mut entry = archive.entries().unwrap().next().unwrap().unwrap();
        assert_eq!(entry.path().unwrap().to_str(), Some("index.html"));
        let mut content = String::new();
        std::io::Read::read_to_string(&mut entry, &mut content).unwrap();
        assert_eq!(content, "<h1>hi</h1>");
        Ok(())
    });
    mock.containers().archive_info(|_| {
        Ok(PathStat {
            name: "hostname".into(),
            size: 5,
            mode: 0o644,
            mtime: "2026-12-01T00:00:00Z".into(),
            link_target: String::new(),
        })
    });
    mock.containers().archive(|request| {
        assert_eq!(request.query("path"), Some("/etc/hostname"));
        Ok(vec![Bytes::from(tar_files([("hostname", b"web1\n".to_vec())]).unwrap())].into())
    });
    let site = scratch_dir("mock-copy-in").join("index.html");
    std::fs::write(&site, "<h1>hi</h1>").unwrap();
    let printed = succeeded(&run_example!(&mock, "copy", &["into", "web", site.to_str().unwrap(), "/srv"]).await);
    assert!(printed.contains("to web:/srv"), "{printed}");
    let out = scratch_dir("mock-copy-out");
    let printed =
        succeeded(&run_example!(&mock, "copy", &["out", "web", "/etc/hostname", out.to_str().unwrap()]).await);
    assert!(printed.contains("copied file web:/etc/hostname (5 bytes)"), "{printed}");
    assert_eq!(std::fs::read_to_string(out.join("hostname")).unwrap(), "web1\n");
}

#[tokio::test(flavor = "multi_thread")]
async fn shell_from_a_pipe_forwards_the_input_and_exits_with_the_commands_code() {
    let mock = MockDaemon::start().await.unwrap();
    mock.exec().create(|request| {
        let config = request.body.unwrap_or_default();
        assert_eq!(config.tty, Some(false), "no terminal: no TTY");
        assert_eq!(config.cmd, Some(vec!["sh".into()]));
        Ok(IdResponse { id: "exec-1".into() })
    });
    mock.exec().start(|_| {
        Ok(MockSession::script()
            .expect_input("echo hi; exit 5\n")
            .send(Piece::StdOut(Bytes::from_static(b"hi\n")))
            .expect_input_end())
    });
    mock.exec().inspect(|request| {
        assert_eq!(request.path_parameter("id"), "exec-1");
        Ok(ExecInspectResponse {
            exit_code: Some(5),
            ..Default::default()
        })
    });
    let output = run_example_with_input(env!("CARGO_BIN_EXE_shell"), &mock, &["web"], b"echo hi; exit 5\n").await;
    assert_eq!(output.status.code(), Some(5), "{}", describe_output(&output));
    assert_eq!(String::from_utf8_lossy(&output.stdout), "hi\n");
    assert_eq!(mock.server().sessions_ended().await, Vec::<String>::new());
}

/// The README's first program is this example, word for word, and runs as it says.
#[tokio::test(flavor = "multi_thread")]
async fn the_readmes_first_program_is_the_example_and_lists_running_containers() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let first = readme
        .split("```rust,no_run\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("the README has a Rust block");
    let example = std::fs::read_to_string(root.join("examples/src/bin/first_program.rs")).unwrap();
    assert_eq!(
        first, example,
        "README.md's first Rust block and examples/src/bin/first_program.rs"
    );

    let mock = MockDaemon::start().await.unwrap();
    mock.containers().list(|request| {
        assert_eq!(request.filters()?["status"], ["running"]);
        Ok(vec![ContainerSummary {
            id: Some(ID.into()),
            names: Some(vec!["/web".into()]),
            image: Some("busybox:latest".into()),
            ..Default::default()
        }])
    });
    let printed = succeeded(&run_example!(&mock, "first_program", &[]).await);
    assert_eq!(printed, "Docker mock speaking API 1.41\nbusybox:latest /web\n");
}
