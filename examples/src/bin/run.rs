//! `docker run` without a terminal: creates a container, attaches to its output before starting
//! it (so no line is lost), streams stdout and stderr to ours, waits, and exits with the
//! container's exit code. With `-i`, our stdin is forwarded and closed at its end, so the
//! process sees end-of-file.
//!
//! ```text
//! echo hi | cargo run -p docker-examples --bin run -- -i --rm -e GREETING=hello busybox sh -c 'cat; echo $GREETING'
//! ```

use std::collections::HashMap;
use std::process::ExitCode;

use clap::Parser;
use docker_engine_v1_41::models::{ContainerCreateBody, HostConfig, PortBinding};
use docker_examples::{connect, copy_output, exit_code, run, Failure};
use tokio::io::AsyncWriteExt;

#[derive(Parser)]
#[command(trailing_var_arg = true)]
struct Args {
    /// Forward stdin to the container.
    #[arg(short, long)]
    interactive: bool,
    /// Remove the container once it has exited.
    #[arg(long)]
    rm: bool,
    /// A name for the container.
    #[arg(long)]
    name: Option<String>,
    /// An environment variable, `NAME=value`; repeat for several.
    #[arg(short, long = "env")]
    env: Vec<String>,
    /// A label, `key=value`; repeat for several.
    #[arg(short, long = "label")]
    label: Vec<String>,
    /// A bind mount or named volume, `source:target[:ro]`; repeat for several.
    #[arg(short, long = "volume")]
    volume: Vec<String>,
    /// Publish a container port, `hostPort:containerPort[/tcp|/udp]`; repeat for several.
    #[arg(short, long = "publish")]
    publish: Vec<String>,
    /// The image to run.
    image: String,
    /// The command and its arguments; the image's default when absent.
    command: Vec<String>,
}

fn main() -> ExitCode {
    run(run_container(Args::parse()))
}

/// `8080:80/tcp` → (`80/tcp`, binding of host port 8080).
fn port_binding(spec: &str) -> Result<(String, PortBinding), Failure> {
    let (host_port, container_port) = spec
        .split_once(':')
        .ok_or_else(|| format!("--publish {spec}: expected hostPort:containerPort"))?;
    let container_port = if container_port.contains('/') {
        container_port.to_owned()
    } else {
        format!("{container_port}/tcp")
    };
    let binding = PortBinding {
        host_ip: None,
        host_port: Some(host_port.to_owned()),
    };
    Ok((container_port, binding))
}

async fn run_container(args: Args) -> Result<ExitCode, Failure> {
    let docker = connect()?;
    let labels = args
        .label
        .iter()
        .map(|label| {
            let (key, value) = label.split_once('=').unwrap_or((label, ""));
            (key.to_owned(), value.to_owned())
        })
        .collect::<HashMap<_, _>>();
    let mut port_bindings: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
    for spec in &args.publish {
        let (port, binding) = port_binding(spec)?;
        port_bindings
            .entry(port)
            .or_default()
            .get_or_insert_with(Vec::new)
            .push(binding);
    }
    let exposed_ports = port_bindings
        .keys()
        .map(|port| (port.clone(), serde_json::json!({})))
        .collect();
    let body = ContainerCreateBody {
        image: Some(args.image.clone()),
        cmd: (!args.command.is_empty()).then_some(args.command),
        env: Some(args.env),
        labels: Some(labels),
        exposed_ports: Some(exposed_ports),
        attach_stdin: Some(args.interactive),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        open_stdin: Some(args.interactive),
        stdin_once: Some(args.interactive),
        host_config: Some(HostConfig {
            binds: Some(args.volume),
            port_bindings: Some(port_bindings),
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut create = docker.containers().create(body);
    if let Some(name) = &args.name {
        create = create.name(name);
    }
    let created = create.send().await?;
    for warning in &created.warnings {
        eprintln!("warning: {warning}");
    }
    let id = created.id;

    let result = attach_start_and_wait(&docker, &id, args.interactive).await;
    if args.rm {
        docker.containers().delete(&id).v(true).force(true).send().await?;
    }
    result
}

async fn attach_start_and_wait(
    docker: &docker_examples::Docker,
    id: &str,
    interactive: bool,
) -> Result<ExitCode, Failure> {
    let session = docker
        .containers()
        .attach(id)
        .stream(true)
        .stdin(interactive)
        .stdout(true)
        .stderr(true)
        .send()
        .await?;
    docker.containers().start(id).send().await?;

    let mut input = session.input;
    let forward_stdin = interactive.then(|| {
        tokio::spawn(async move {
            tokio::io::copy(&mut tokio::io::stdin(), &mut input).await?;
            // Half-closing tells the daemon stdin ended; the process reads end-of-file.
            input.shutdown().await
        })
    });
    copy_output(session.output).await?;
    if let Some(forwarding) = forward_stdin {
        forwarding.abort();
    }

    let waited = docker.containers().wait(id).send().await?;
    if let Some(message) = waited.error.and_then(|e| e.message).filter(|m| !m.is_empty()) {
        return Err(format!("waiting for {id}: {message}").into());
    }
    Ok(exit_code(waited.status_code))
}
