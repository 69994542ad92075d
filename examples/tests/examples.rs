//! Runs every example program against the test daemon as a user would from a shell, and checks
//! what it prints, what it did to the daemon, and its exit status.

use daemon_test_macros::daemon_test;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use daemon_tests::{
    busybox_image, busybox_rootfs, companion_variable, describe_output, docker, drain,
    program_without_docker_environment, server, tls_context_config, unique_name, wait_at_most, Server, TestContainer,
    TestRegistry,
};
use docker_engine_v1_41::filters::ContainerListFilters;
use docker_engine_v1_41::Docker;

/// The example binary `name`, with a clean Docker environment pointing at the test daemon.
macro_rules! example {
    ($name:literal) => {
        example_command(env!(concat!("CARGO_BIN_EXE_", $name)))
    };
}

fn example_command(binary: &str) -> Command {
    let mut command = program_without_docker_environment(binary);
    command
        .env("DOCKER_HOST", companion_variable("DOCKER_TEST_HOST"))
        .env("DOCKER_CONFIG", scratch_dir("empty-docker-config"))
        .stdin(Stdio::null());
    command
}

/// Runs the command to its end, feeding it `input`.
fn finish(mut command: Command, input: &[u8]) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the example");
    child.stdin.take().unwrap().write_all(input).unwrap();
    wait_at_most(child, EXAMPLE_TIME_LIMIT)
}

/// The longest an example may run in these tests (the slowest, a pull, takes a few seconds).
const EXAMPLE_TIME_LIMIT: std::time::Duration = std::time::Duration::from_secs(120);

fn succeed(command: Command) -> String {
    let output = finish(command, b"");
    assert!(output.status.success(), "{}", describe_output(&output));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn scratch_dir(prefix: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(unique_name(prefix));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn container_name(docker: &Docker, id: &str) -> String {
    let name = docker.containers().inspect(id).send().await.unwrap().name.unwrap();
    name.trim_start_matches('/').to_owned()
}

#[daemon_test]
async fn the_first_program_names_the_daemon_and_lists_a_running_container() {
    let docker = docker();
    let container = TestContainer::new("example-first", "sleep 60").start(&docker).await;
    let name = container_name(&docker, &container.id).await;
    let printed = succeed(example!("first_program"));
    let first = printed.lines().next().unwrap_or_default();
    let daemon = daemon_tests::facts();
    assert_eq!(
        first,
        format!("Docker {} speaking API {}", daemon.version, daemon.api_version),
        "{printed}"
    );
    assert!(printed.contains(&format!("/{name}")), "{printed}");
}

#[daemon_test]
async fn list_filters_images_by_reference_and_containers_by_label_and_status() {
    let docker = docker();
    let image = busybox_image(&docker).await;
    let container = TestContainer::new("example-list", "true").create(&docker).await;
    let name = container_name(&docker, &container.id).await;
    let mut list = example!("list");
    list.args([
        "--reference",
        image,
        "--label",
        "suite=daemon-tests",
        "--status",
        "created",
        "--all",
    ]);
    let printed = succeed(list);
    assert!(printed.contains(image), "{printed}");
    assert!(printed.contains(&name), "{printed}");
    assert!(printed.contains("1 images"), "{printed}");
}

#[daemon_test]
async fn pull_reports_the_daemons_error_without_a_registry() {
    let mut pull = example!("pull");
    // Nothing listens on the discard port: the daemon fails at once, whatever the network.
    pull.arg("127.0.0.1:9/nothing/here:latest");
    let output = finish(pull, b"");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{}", describe_output(&output));
    let how = match server() {
        Server::Docker => "error: ImageCreate: daemon answered",
        // Podman answers 200 and reports the failure in the progress stream.
        Server::Podman => "error: ImageCreate: the daemon reported an error in the stream",
    };
    assert!(stderr.starts_with(how), "{stderr}");
    assert!(stderr.contains("127.0.0.1:9"), "{stderr}");
}

#[daemon_test]
async fn pull_from_the_test_registry_with_credentials_from_helpers_and_auths() {
    let docker = docker();
    let registry = TestRegistry::from_env();
    // An image with a layer of its own, pushed, then deleted here so every pull downloads it.
    let repository = registry.image_with_a_layer_of_its_own(&docker, "example-pull").await;
    let reference = format!("{repository}:v1");
    let pushed = docker
        .images()
        .push(&repository, registry.auth())
        .tag("v1")
        .send()
        .await
        .unwrap();
    drain(pushed).await;

    // A credential helper speaking the helpers' protocol: `get`, the server on stdin, JSON out.
    let helpers = scratch_dir("credential-helpers");
    let helper = helpers.join("docker-credential-dct-test");
    let script = format!(
        "#!/bin/sh\n[ \"$1\" = get ] || exit 1\nread server\n[ \"$server\" = {address} ] || {{ echo 'credentials not found in native keychain'; exit 1; }}\nprintf '{{\"ServerURL\":\"%s\",\"Username\":\"{user}\",\"Secret\":\"{password}\"}}' \"$server\"\n",
        address = registry.address,
        user = registry.user,
        password = registry.password,
    );
    std::fs::write(&helper, script).unwrap();
    std::fs::set_permissions(&helper, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", helpers.display(), std::env::var("PATH").unwrap_or_default());
    let stored = registry.stored_auth();
    let configs = [
        ("credsStore", serde_json::json!({"credsStore": "dct-test"})),
        (
            "credHelpers",
            serde_json::json!({"credHelpers": {registry.address.clone(): "dct-test"}}),
        ),
        (
            "auths",
            serde_json::json!({"auths": {registry.address.clone(): {"auth": stored}}}),
        ),
    ];
    for (source, config) in configs {
        docker.images().delete(&reference).send().await.unwrap();
        let config_dir = scratch_dir("pull-config");
        std::fs::write(config_dir.join("config.json"), config.to_string()).unwrap();
        let mut pull = example!("pull");
        pull.env("DOCKER_CONFIG", &config_dir)
            .env("PATH", &path)
            .arg(&reference);
        let printed = succeed(pull);
        if server() == Server::Docker {
            assert!(
                printed.contains(&format!("Pulling from {}", repository.split_once('/').unwrap().1)),
                "{source}: {printed}"
            );
            let layer_lines: Vec<_> = printed
                .lines()
                .filter(|line| line.ends_with(": Pull complete"))
                .collect();
            // The daemon hands each watcher only a layer's latest status, so steps such as
            // "Download complete" may be skipped when they follow each other quickly; the
            // layer's last status is always sent.
            assert_eq!(layer_lines.len(), 1, "{source}: the image's own layer, once: {printed}");
        } else {
            // Podman's progress names no repository and ends each layer at its download.
            assert!(printed.contains("Download complete"), "{source}: {printed}");
        }
        assert!(docker.images().inspect(&reference).send().await.is_ok(), "{source}");
        std::fs::remove_dir_all(config_dir).unwrap();
    }

    // Without credentials, the registry's refusal is the example's error.
    docker.images().delete(&reference).send().await.unwrap();
    let mut pull = example!("pull");
    pull.arg(&reference);
    let output = finish(pull, b"");
    assert_eq!(output.status.code(), Some(1), "{}", describe_output(&output));
    let refusal = match server() {
        Server::Docker => "no basic auth credentials",
        Server::Podman => "authentication required",
    };
    assert!(
        String::from_utf8_lossy(&output.stderr).contains(refusal),
        "{}",
        describe_output(&output)
    );
    std::fs::remove_dir_all(helpers).unwrap();
}

#[daemon_test]
async fn import_from_a_tar_file_applies_changes() {
    let docker = docker();
    let dir = scratch_dir("example-import");
    let tarball = dir.join("rootfs.tar");
    std::fs::write(&tarball, busybox_rootfs()).unwrap();
    let reference = format!("{}:imported", unique_name("example-import"));
    let mut import = example!("import");
    import
        .arg(&tarball)
        .arg(&reference)
        .args(["--change", r#"CMD ["sh", "-c", "echo imported"]"#])
        .args(["--change", "ENV STAGE=imported"]);
    let printed = succeed(import);
    assert!(printed.trim().starts_with("sha256:"), "{printed}");
    let image = docker.images().inspect(&reference).send().await.unwrap();
    assert_eq!(image.id.as_deref(), Some(printed.trim()));
    let config = image.config.unwrap();
    assert_eq!(config.cmd.unwrap(), ["sh", "-c", "echo imported"]);
    assert!(config.env.unwrap().contains(&"STAGE=imported".to_owned()));
    docker.images().delete(&reference).send().await.unwrap();
    std::fs::remove_dir_all(dir).unwrap();
}

#[daemon_test]
async fn build_streams_the_output_tags_and_surfaces_a_failing_step() {
    let docker = docker();
    let image = busybox_image(&docker).await;
    let context = scratch_dir("example-build");
    std::fs::write(context.join("greeting.txt"), "hello from the context\n").unwrap();
    std::fs::write(
        context.join("Dockerfile"),
        format!("FROM {image}\nCOPY greeting.txt /greeting.txt\nRUN cat /greeting.txt\n"),
    )
    .unwrap();
    let tag = format!("{}:built", unique_name("example-build"));
    let mut build = example!("build_image");
    build.arg(&context).args(["--tag", &tag]);
    let printed = succeed(build);
    // Podman builds with Buildah, which numbers its steps its own way.
    let step = match server() {
        Server::Docker => "Step 3/3 : RUN cat /greeting.txt",
        Server::Podman => "STEP 3/3: RUN cat /greeting.txt",
    };
    assert!(printed.contains(step), "{printed}");
    assert!(printed.contains("hello from the context"), "{printed}");
    let built = printed.lines().last().unwrap().strip_prefix("built ").unwrap();
    let tagged = docker.images().inspect(&tag).send().await.unwrap();
    assert_eq!(tagged.id.as_deref(), Some(built));
    docker.images().delete(&tag).send().await.unwrap();

    // With BuildKit, the steps are numbered and timed as the CLI's plain progress shows them.
    // Without the cache, as BuildKit keeps its own across runs against one daemon, and a cached
    // RUN step prints nothing.
    let mut buildkit = example!("build_image");
    buildkit.arg(&context).args(["--tag", &tag, "--buildkit", "--no-cache"]);
    let printed = succeed(buildkit);
    match server() {
        Server::Docker => check_buildkit_steps(&printed),
        // Buildah whatever the builder asked for: its own output, as without --buildkit.
        Server::Podman => assert!(printed.contains(step), "{printed}"),
    }
    let built = printed.lines().last().unwrap().strip_prefix("built ").unwrap();
    assert_eq!(
        docker.images().inspect(&tag).send().await.unwrap().id.as_deref(),
        Some(built)
    );
    docker.images().delete(&tag).send().await.unwrap();

    if server() == Server::Docker {
        check_session_parts(image, &context);
    }

    std::fs::write(context.join("Dockerfile"), format!("FROM {image}\nRUN exit 7\n")).unwrap();
    let mut failing = example!("build_image");
    failing.arg(&context);
    let output = finish(failing, b"");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{}", describe_output(&output));
    let failure = match server() {
        Server::Docker => "returned a non-zero code: 7",
        Server::Podman => "exit status 7",
    };
    assert!(stderr.contains(failure), "{stderr}");
    std::fs::remove_dir_all(context).unwrap();
}

/// A BuildKit build through the example's session: a secret from a file outside the context
/// and a local output holding what the build made of it.
fn check_session_parts(image: &str, context: &std::path::Path) {
    std::fs::write(
        context.join("Dockerfile.export"),
        format!(
            "FROM {image} AS make\nRUN --mount=type=secret,id=greeting,required=true cp /run/secrets/greeting /made.txt\n\
             FROM scratch\nCOPY --from=make /made.txt /\n"
        ),
    )
    .unwrap();
    let elsewhere = scratch_dir("example-build-secret");
    std::fs::write(elsewhere.join("greeting"), "from the secret\n").unwrap();
    let out = elsewhere.join("out");
    let mut export = example!("build_image");
    export
        .arg(context)
        .args(["-f", "Dockerfile.export", "--buildkit", "--no-cache"]);
    export
        .arg("--secret")
        .arg(format!("id=greeting,src={}", elsewhere.join("greeting").display()));
    export.arg("--output").arg(format!("type=local,dest={}", out.display()));
    let printed = succeed(export);
    assert!(printed.contains("session: listed "), "{printed}");
    assert!(printed.contains(&format!("exported to {}", out.display())), "{printed}");
    assert_eq!(
        std::fs::read_to_string(out.join("made.txt")).unwrap(),
        "from the secret\n"
    );

    let mut classic = example!("build_image");
    classic.arg(context).args(["--secret", "id=greeting,env=HOME"]);
    let output = finish(classic, b"");
    assert_eq!(output.status.code(), Some(1), "{}", describe_output(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("need --buildkit"),
        "{}",
        describe_output(&output)
    );
    std::fs::remove_dir_all(elsewhere).unwrap();
}

/// BuildKit's steps as the CLI's plain progress shows them: numbered, the RUN step's output
/// under its number, and its end timed.
fn check_buildkit_steps(printed: &str) {
    let run_step = printed
        .lines()
        .find(|line| line.starts_with('#') && line.ends_with("RUN cat /greeting.txt"))
        .unwrap_or_else(|| panic!("the RUN step is announced: {printed}"));
    let number = run_step.split_whitespace().next().unwrap();
    assert!(
        printed
            .lines()
            .any(|line| line.starts_with(&format!("{number} ")) && line.ends_with(" hello from the context")),
        "its output is shown under its number: {printed}"
    );
    assert!(
        printed.lines().any(|line| line.starts_with(&format!("{number} DONE "))),
        "{printed}"
    );
}

#[daemon_test]
async fn run_forwards_stdin_separates_streams_and_exits_with_the_containers_code() {
    let docker = docker();
    let image = busybox_image(&docker).await;
    let label = unique_name("example-run");
    let mut run = example!("run");
    run.args(["-i", "--rm", "-e", "GREETING=hello", "-l", &label, image])
        .args(["sh", "-c", "cat; echo $GREETING >&2; exit 4"]);
    let output = finish(run, b"piped in\n");
    assert_eq!(output.status.code(), Some(4), "{}", describe_output(&output));
    assert_eq!(String::from_utf8_lossy(&output.stdout), "piped in\n");
    assert_eq!(String::from_utf8_lossy(&output.stderr), "hello\n");
    let left = docker
        .containers()
        .list()
        .all(true)
        .filters(ContainerListFilters::new().label(&label))
        .send()
        .await
        .unwrap();
    assert!(left.is_empty(), "--rm left {left:?}");
}

#[daemon_test]
async fn container_operations_from_inspect_to_remove() {
    let docker = docker();
    let container = TestContainer::new("example-ops", "echo started; echo warming >&2; sleep 300")
        .start(&docker)
        .await;
    let name = container_name(&docker, &container.id).await;
    let ops = |args: &[&str]| {
        let mut command = example!("container");
        command.args(args);
        succeed(command)
    };

    let inspected: serde_json::Value = serde_json::from_str(&ops(&["inspect", &name])).unwrap();
    assert_eq!(inspected["Id"], container.id.as_str());
    assert_eq!(inspected["State"]["Running"], true);

    let top = ops(&["top", &name]);
    assert!(top.lines().next().unwrap().contains("PID"), "{top}");
    assert!(top.contains("sleep 300"), "{top}");

    let stats = ops(&["stats", "--samples", "2", &name]);
    assert!(stats.contains("CPU %"), "{stats}");
    let rows: Vec<_> = stats.lines().filter(|line| line.starts_with(&name)).collect();
    assert_eq!(rows.len(), 2, "{stats}");
    assert!(rows[1].contains(" / "), "{stats}");

    let mut logs = example!("container");
    logs.args(["logs", "--timestamps", &name]);
    let output = finish(logs, b"");
    assert!(output.status.success(), "{}", describe_output(&output));
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(stdout.trim_end().ends_with(" started"), "{stdout}");
    assert!(stdout.starts_with("20"), "a timestamp leads: {stdout}");
    assert!(stderr.trim_end().ends_with(" warming"), "{stderr}");

    let renamed = unique_name("example-renamed");
    ops(&["rename", &name, &renamed]);
    assert_eq!(container_name(&docker, &container.id).await, renamed);

    ops(&["pause", &renamed]);
    let state = docker
        .containers()
        .inspect(&renamed)
        .send()
        .await
        .unwrap()
        .state
        .unwrap();
    assert_eq!(state.paused, Some(true));
    ops(&["unpause", &renamed]);
    let state = docker
        .containers()
        .inspect(&renamed)
        .send()
        .await
        .unwrap()
        .state
        .unwrap();
    assert_eq!(state.paused, Some(false));

    ops(&["kill", "--signal", "SIGKILL", &renamed]);
    let waited = docker.containers().wait(&renamed).send().await.unwrap();
    assert_eq!(waited.status_code, 137);

    // Following the logs of a stopped container ends with its output. Which of the two lines
    // is last depends on which pipe the daemon read first.
    let mut followed = example!("container");
    followed.args(["logs", "--follow", "--tail", "1", &renamed]);
    let output = finish(followed, b"");
    assert!(output.status.success(), "{}", describe_output(&output));
    let last_line = [output.stdout, output.stderr].concat();
    let last_line = String::from_utf8_lossy(&last_line);
    assert!(last_line == "started\n" || last_line == "warming\n", "{last_line:?}");

    ops(&["rm", "--force", "--volumes", &renamed]);
    let gone = docker.containers().inspect(&container.id).send().await.unwrap_err();
    assert!(gone.is_not_found(), "{gone}");

    let mut missing = example!("container");
    missing.args(["pause", &renamed]);
    let output = finish(missing, b"");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("error: ContainerPause: daemon answered 404"),
        "{stderr}"
    );
}

#[daemon_test]
async fn shell_runs_in_a_tty_from_a_terminal_and_without_one_from_a_pipe() {
    let docker = docker();
    let container = TestContainer::new("example-shell", "sleep 300").start(&docker).await;

    let mut piped = example!("shell");
    piped.args(["--workdir", "/tmp", &container.id, "sh"]);
    let output = finish(piped, b"echo in $(pwd): $(tty)\necho oops >&2\nexit 3\n");
    assert_eq!(output.status.code(), Some(3), "{}", describe_output(&output));
    assert_eq!(String::from_utf8_lossy(&output.stdout), "in /tmp: not a tty\n");
    assert_eq!(String::from_utf8_lossy(&output.stderr), "oops\n");

    // util-linux `script` gives the example a pseudo-terminal for stdin, as a user's shell would.
    let example = example!("shell");
    let mut in_terminal = Command::new("script");
    in_terminal.envs(example.get_envs().filter_map(|(name, value)| Some((name, value?))));
    let command_line = format!("{} {} sh", example.get_program().to_str().unwrap(), container.id);
    in_terminal.args(["--quiet", "--return", "--command", &command_line, "/dev/null"]);
    let output = finish(in_terminal, b"echo on $(tty)\nexit 5\n");
    assert_eq!(output.status.code(), Some(5), "{}", describe_output(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("on /dev/pts/"), "{stdout}");
}

#[daemon_test]
async fn copy_into_and_out_of_a_container_and_export_it() {
    let docker = docker();
    let container = TestContainer::new("example-copy", "sleep 300").start(&docker).await;
    let id = container.id.as_str();
    let local = scratch_dir("example-copy");
    let site = local.join("site");
    std::fs::create_dir_all(site.join("css")).unwrap();
    std::fs::write(site.join("index.html"), "<h1>hi</h1>\n").unwrap();
    std::fs::write(site.join("css/site.css"), "h1 { color: red }\n").unwrap();
    std::fs::write(local.join("single.txt"), "just one file\n").unwrap();

    let copy = |args: &[&str]| {
        let mut command = example!("copy");
        command.args(args);
        succeed(command)
    };
    copy(&["into", id, site.to_str().unwrap(), "/tmp"]);
    copy(&["into", id, local.join("single.txt").to_str().unwrap(), "/tmp"]);
    let out = local.join("out");
    let printed = copy(&["out", id, "/tmp", out.to_str().unwrap()]);
    assert!(printed.starts_with("copied directory"), "{printed}");
    assert_eq!(
        std::fs::read_to_string(out.join("tmp/index.html")).unwrap(),
        "<h1>hi</h1>\n"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("tmp/css/site.css")).unwrap(),
        "h1 { color: red }\n"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("tmp/single.txt")).unwrap(),
        "just one file\n"
    );

    let mut missing = example!("copy");
    missing.args(["out", id, "/no/such/path", out.to_str().unwrap()]);
    let output = finish(missing, b"");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("ContainerArchiveInfo") && stderr.contains("404"),
        "{stderr}"
    );

    let tarball = local.join("exported.tar");
    let mut export = example!("export");
    export.arg(id).arg(&tarball);
    let printed = succeed(export);
    let size = std::fs::metadata(&tarball).unwrap().len();
    assert!(printed.contains(&format!("exported {size} bytes")), "{printed}");
    let mut archive = tar::Archive::new(std::fs::File::open(&tarball).unwrap());
    let names: Vec<String> = archive
        .entries()
        .unwrap()
        .map(|entry| entry.unwrap().path().unwrap().display().to_string())
        .collect();
    assert!(names.iter().any(|name| name == "bin/busybox"), "{names:?}");
    assert!(names.iter().any(|name| name == "tmp/index.html"), "{names:?}");
    std::fs::remove_dir_all(local).unwrap();
}

#[daemon_test]
async fn events_with_filters_see_the_containers_start_and_die() {
    let docker = docker();
    let container = TestContainer::new("example-events", "exit 0").create(&docker).await;
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 1;
    let mut events = example!("events");
    events.args([
        "--filter",
        "type=container",
        "--filter",
        &format!("container={}", container.id),
    ]);
    // Podman 4.3 matches a container's exit to the filter `event=died` (its own name for it),
    // though it reports the event as `die`.
    let died = match server() {
        Server::Docker => "event=die",
        Server::Podman => "event=died",
    };
    events.args(["--filter", "event=start", "--filter", died]);
    events.args(["--since", &since.to_string(), "--count", "2"]);
    let child = events.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    docker.containers().start(&container.id).send().await.unwrap();
    let output = wait_at_most(child, EXAMPLE_TIME_LIMIT);
    assert!(output.status.success(), "{}", describe_output(&output));
    let printed = String::from_utf8_lossy(&output.stdout);
    let short = &container.id[..12];
    let lines: Vec<_> = printed.lines().collect();
    assert_eq!(lines.len(), 2, "{printed}");
    assert!(lines[0].contains(&format!("container start {short}")), "{printed}");
    assert!(lines[1].contains(&format!("container die {short}")), "{printed}");
}

#[daemon_test]
async fn connect_over_tcp_mutual_tls_and_a_context() {
    let tcp_host = companion_variable("DOCKER_TEST_TCP_HOST");
    let tls_host = companion_variable("DOCKER_TEST_TLS_HOST");

    let mut over_tcp = example!("connect");
    over_tcp.env("DOCKER_HOST", &tcp_host);
    let printed = succeed(over_tcp);
    assert!(printed.contains(&format!("endpoint: {tcp_host}\n")), "{printed}");
    assert!(printed.contains("speaking API 1.41"), "{printed}");

    let mut over_tls = example!("connect");
    over_tls
        .env("DOCKER_HOST", &tls_host)
        .env("DOCKER_TLS_VERIFY", "1")
        .env("DOCKER_CERT_PATH", companion_variable("DOCKER_TEST_CERT_PATH"));
    let printed = succeed(over_tls);
    assert!(printed.contains(&format!("endpoint: {tls_host} (TLS)")), "{printed}");

    let config_dir = tls_context_config("examples-tls");
    let mut from_context = example!("connect");
    from_context
        .env("DOCKER_CONFIG", &config_dir)
        .args(["--context", "examples-tls"]);
    let printed = succeed(from_context);
    assert!(printed.contains(&format!("endpoint: {tls_host} (TLS)")), "{printed}");

    let mut without_certificate = example!("connect");
    without_certificate
        .env("DOCKER_HOST", &tls_host)
        .env("DOCKER_TLS_VERIFY", "1")
        .env("DOCKER_CERT_PATH", &config_dir);
    let output = finish(without_certificate, b"");
    assert_eq!(output.status.code(), Some(1), "{}", describe_output(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("ca.pem"), "{stderr}");
    std::fs::remove_dir_all(config_dir).unwrap();
}

#[daemon_test]
async fn connect_over_ssh_and_without_ssh() {
    let ssh_host = companion_variable("DOCKER_TEST_SSH_HOST");
    let ssh_dir = PathBuf::from(companion_variable("DOCKER_TEST_SSH_DIR"));
    // The example runs `ssh` from PATH as the CLI does; this one adds the run's configuration
    // and key, so the user's own ssh files are never read.
    let wrapper = scratch_dir("ssh-wrapper");
    let script = format!(
        "#!/bin/sh\nexec /usr/bin/ssh -F {} -i {} \"$@\"\n",
        ssh_dir.join("ssh_config").display(),
        ssh_dir.join("daemon").display()
    );
    std::fs::write(wrapper.join("ssh"), script).unwrap();
    std::fs::set_permissions(wrapper.join("ssh"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", wrapper.display(), std::env::var("PATH").unwrap_or_default());
    let mut over_ssh = example!("connect");
    over_ssh.env("DOCKER_HOST", &ssh_host).env("PATH", &path);
    let printed = succeed(over_ssh);
    assert!(printed.contains(&format!("endpoint: {ssh_host}\n")), "{printed}");
    assert!(printed.contains("speaking API 1.41"), "{printed}");

    let no_ssh = scratch_dir("no-ssh");
    let mut without_ssh = example!("connect");
    without_ssh.env("DOCKER_HOST", &ssh_host).env("PATH", &no_ssh);
    let output = finish(without_ssh, b"");
    assert_eq!(output.status.code(), Some(1), "{}", describe_output(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("no `ssh` on PATH"),
        "{}",
        describe_output(&output)
    );
    std::fs::remove_dir_all(wrapper).unwrap();
    std::fs::remove_dir_all(no_ssh).unwrap();
}
