//! Builds an image from a directory, as `docker build` does: the directory is tarred on the fly
//! and streamed to the daemon, the build's output is streamed to the terminal, and the image is
//! tagged. With `--buildkit` the daemon builds with BuildKit, whose progress is shown as the
//! CLI's plain progress (`--progress=plain`) shows it: each step numbered, its output, its time.
//!
//! ```text
//! cargo run -p docker-examples --bin build_image -- ./context --tag myapp:dev [--buildkit]
//! ```

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use docker_engine_runtime::buildkit::{Aux, StatusResponse, Timestamp};
use docker_engine_runtime::tar_directory;
use docker_engine_v1_41::models::ImageBuildVersion;
use docker_examples::{connect, run, split_reference, Failure};
use futures_util::StreamExt;

#[derive(Parser)]
struct Args {
    /// The build context: a directory holding the Dockerfile and the files it copies.
    context: PathBuf,
    /// The name to tag the image with, `repository[:tag]`; repeat for several.
    #[arg(long, short)]
    tag: Vec<String>,
    /// The Dockerfile's path within the context.
    #[arg(long, short, default_value = "Dockerfile")]
    file: String,
    /// Build without the cache.
    #[arg(long)]
    no_cache: bool,
    /// Build with BuildKit (the API's builder version 2) instead of the classic builder.
    #[arg(long)]
    buildkit: bool,
}

fn main() -> ExitCode {
    run(build(Args::parse()))
}

async fn build(args: Args) -> Result<ExitCode, Failure> {
    if !args.context.join(&args.file).is_file() {
        return Err(format!("no {} in {}", args.file, args.context.display()).into());
    }
    let docker = connect()?;
    let mut request = docker
        .images()
        .build()
        .dockerfile(&args.file)
        .nocache(args.no_cache)
        .body(tar_directory(&args.context));
    if args.buildkit {
        request = request.version(ImageBuildVersion::V2);
    }
    // The API takes several tags as the `t` parameter repeated; this version's spec lists one.
    if let Some(tag) = args.tag.first() {
        request = request.t(tag);
    }
    let mut output = request.send().await?;
    let mut image_id = None;
    let mut steps = PlainProgress::default();
    let mut terminal = std::io::stdout().lock();
    while let Some(message) = output.next().await {
        // A failing step ends the stream with the daemon's error, e.g. "The command '/bin/sh -c
        // false' returned a non-zero code: 1".
        let message = message?;
        if let Some(text) = message.stream {
            terminal.write_all(text.as_bytes())?;
        }
        if let Some(aux) = &message.aux {
            match Aux::read("ImageBuild", message.id.as_deref(), aux)? {
                Aux::Image { id } => image_id = Some(id),
                Aux::Trace(status) => steps.print(&status, &mut terminal)?,
                Aux::Other(_) => {}
            }
        }
        terminal.flush()?;
    }
    drop(terminal);
    let image_id = image_id.ok_or("the build ended without naming the image it built")?;
    for tag in args.tag.iter().skip(1) {
        let (repository, tag) = split_reference(tag);
        let tag = tag.unwrap_or("latest");
        docker.images().tag(&image_id).repo(repository).tag(tag).send().await?;
    }
    println!("built {image_id}");
    Ok(ExitCode::SUCCESS)
}

/// BuildKit's progress as lines: `#N name` when step N starts, its output, and `#N DONE 0.3s`,
/// `#N CACHED` or `#N ERROR: ...` when it ends.
#[derive(Default)]
struct PlainProgress {
    numbers: HashMap<String, usize>,
    started: HashMap<String, Timestamp>,
    ended: Vec<String>,
}

impl PlainProgress {
    fn number(&mut self, digest: &str) -> usize {
        let next = self.numbers.len() + 1;
        *self.numbers.entry(digest.to_owned()).or_insert(next)
    }

    fn print(&mut self, status: &StatusResponse, out: &mut impl Write) -> std::io::Result<()> {
        for vertex in &status.vertexes {
            let number = self.number(&vertex.digest);
            if !self.started.contains_key(&vertex.digest) && (vertex.started.is_some() || vertex.cached) {
                self.started
                    .insert(vertex.digest.clone(), vertex.started.unwrap_or_default());
                writeln!(out, "#{number} {}", vertex.name)?;
            }
        }
        for task in status.statuses.iter().filter(|task| task.completed.is_some()) {
            let number = self.number(&task.vertex);
            writeln!(
                out,
                "#{number} {} done",
                if task.name.is_empty() { &task.id } else { &task.name }
            )?;
        }
        for log in &status.logs {
            let number = self.number(&log.vertex);
            let since_start = match (self.started.get(&log.vertex), log.timestamp) {
                (Some(started), Some(at)) => at.seconds_since(started),
                _ => 0.0,
            };
            for line in String::from_utf8_lossy(&log.msg).lines() {
                writeln!(out, "#{number} {since_start:.3} {line}")?;
            }
        }
        for vertex in &status.vertexes {
            if self.ended.contains(&vertex.digest) {
                continue;
            }
            let number = self.number(&vertex.digest);
            if vertex.cached {
                writeln!(out, "#{number} CACHED")?;
            } else if !vertex.error.is_empty() {
                writeln!(out, "#{number} ERROR: {}", vertex.error)?;
            } else if let (Some(started), Some(completed)) = (vertex.started, vertex.completed) {
                writeln!(out, "#{number} DONE {:.1}s", completed.seconds_since(&started))?;
            } else {
                continue;
            }
            self.ended.push(vertex.digest.clone());
        }
        for warning in &status.warnings {
            writeln!(out, "WARNING: {}", String::from_utf8_lossy(&warning.short))?;
        }
        Ok(())
    }
}
