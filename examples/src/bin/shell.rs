//! An interactive shell in a running container, as `docker exec -it` gives: a TTY in the
//! container, our terminal in raw mode (keys go through as typed, Ctrl-C included), and the
//! container's TTY resized whenever our window is. Exits with the shell's exit code.
//!
//! When stdin is not a terminal (a script piped in), the command runs without a TTY, as with
//! `docker exec -i`: a TTY would end the session when the input ends, before the shell has
//! read it, and stdout and stderr stay apart.
//!
//! ```text
//! cargo run -p docker-examples --bin shell -- web
//! cargo run -p docker-examples --bin shell -- --user nobody web sh -l
//! ```

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use docker_engine_v1_41::models::{ExecConfig, ExecStartConfig};
use docker_examples::{connect, copy_output, exit_code, run, Docker, Failure};
use tokio::io::AsyncWriteExt;
use tokio::signal::unix::{signal, SignalKind};

#[derive(Parser)]
#[command(trailing_var_arg = true)]
struct Args {
    /// Run as this user (`name`, `uid` or `uid:gid`).
    #[arg(short, long)]
    user: Option<String>,
    /// The working directory inside the container.
    #[arg(short, long)]
    workdir: Option<String>,
    /// The running container.
    container: String,
    /// The command to run; `sh` when absent.
    command: Vec<String>,
}

fn main() -> ExitCode {
    run(shell(Args::parse()))
}

/// Raw mode for as long as it lives; the terminal is restored however the shell ends.
struct RawTerminal;

impl RawTerminal {
    fn enable() -> std::io::Result<RawTerminal> {
        crossterm::terminal::enable_raw_mode()?;
        Ok(RawTerminal)
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        let _ = crossterm::terminal::disable_raw_mode();
    }
}

async fn resize_to_terminal(docker: &Docker, exec_id: &str) -> Result<(), Failure> {
    let (columns, rows) = crossterm::terminal::size()?;
    docker
        .exec()
        .resize(exec_id, rows.into(), columns.into())
        .send()
        .await?;
    Ok(())
}

async fn shell(args: Args) -> Result<ExitCode, Failure> {
    let docker = connect()?;
    let command = if args.command.is_empty() {
        vec!["sh".to_owned()]
    } else {
        args.command
    };
    let interactive = std::io::stdin().is_terminal();
    let config = ExecConfig {
        attach_stdin: Some(true),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        tty: Some(interactive),
        cmd: Some(command),
        user: args.user,
        working_dir: args.workdir,
        env: std::env::var("TERM").ok().map(|term| vec![format!("TERM={term}")]),
        ..Default::default()
    };
    let exec_id = docker.exec().create(&args.container, config).send().await?.id;
    let start = ExecStartConfig {
        tty: Some(interactive),
        ..Default::default()
    };
    let session = docker.exec().start(&exec_id).body(start).send().await?;

    let raw_terminal = interactive.then(RawTerminal::enable).transpose()?;
    let resizing = if interactive {
        resize_to_terminal(&docker, &exec_id).await?;
        let mut window_changes = signal(SignalKind::window_change())?;
        let (docker, exec_id) = (docker.clone(), exec_id.clone());
        Some(tokio::spawn(async move {
            while window_changes.recv().await.is_some() {
                // The exec may have ended between the signal and the call: nothing to resize.
                let _ = resize_to_terminal(&docker, &exec_id).await;
            }
        }))
    } else {
        None
    };

    let mut input = session.input;
    let forwarding = tokio::spawn(async move {
        tokio::io::copy(&mut tokio::io::stdin(), &mut input).await?;
        input.shutdown().await
    });
    let outcome = copy_output(session.output).await;
    forwarding.abort();
    if let Some(resizing) = resizing {
        resizing.abort();
    }
    drop(raw_terminal);
    outcome?;

    let inspected = docker.exec().inspect(&exec_id).send().await?;
    Ok(exit_code(inspected.exit_code.unwrap_or(0)))
}
