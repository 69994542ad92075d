//! Builds an image from a directory, as `docker build` does, and streams the build's output to
//! the terminal. The classic builder gets the directory as a tar made on the fly; with
//! `--buildkit` the daemon builds with BuildKit and reads the directory through a session
//! instead, asking only for the files it lacks (a second build sends what changed), and the
//! session serves the build's secrets (`--secret`), ssh agents (`--ssh`) and outputs
//! (`--output`). BuildKit's progress is shown as the CLI's plain progress (`--progress=plain`)
//! shows it: each step numbered, its output, its time.
//!
//! ```text
//! cargo run -p docker-examples --bin build_image -- ./context --tag myapp:dev [--buildkit]
//!     [--secret id=token,src=./token.txt] [--secret id=key,env=API_KEY] [--ssh default]
//!     [--output type=local,dest=./out | --output type=tar,dest=./out.tar]
//! ```

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use docker_engine_runtime::buildkit::{
    Aux, BuildOutput, BuildSession, SecretSource, StatusResponse, Timestamp, REMOTE_CLIENT_SESSION,
};
use docker_engine_runtime::{tar_directory, Error};
use docker_engine_v1_41::models::BuildInfo;
use docker_engine_v1_41::models::ImageBuildVersion;
use docker_examples::{connect, run, split_reference, Failure};
use futures_util::{Stream, StreamExt};

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
    /// A secret for `RUN --mount=type=secret`: `id=ID,src=FILE` or `id=ID,env=VARIABLE`
    /// (BuildKit only); repeat for several.
    #[arg(long, value_parser = parse_secret)]
    secret: Vec<(String, SecretSource)>,
    /// An ssh agent for `RUN --mount=type=ssh`: `default` (the agent of SSH_AUTH_SOCK) or
    /// `ID=SOCKET` (BuildKit only); repeat for several.
    #[arg(long, value_parser = parse_ssh)]
    ssh: Vec<(String, Option<PathBuf>)>,
    /// Where the result goes instead of an image: `type=local,dest=FOLDER` or
    /// `type=tar,dest=FILE` (BuildKit only).
    #[arg(long, value_parser = parse_output)]
    output: Option<BuildOutput>,
}

/// `key=value,key=value` as a map.
fn fields(text: &str) -> Result<HashMap<&str, &str>, String> {
    text.split(',')
        .map(|field| {
            field
                .split_once('=')
                .ok_or_else(|| format!("{field:?} is not key=value"))
        })
        .collect()
}

fn parse_secret(text: &str) -> Result<(String, SecretSource), String> {
    let fields = fields(text)?;
    let id = fields.get("id").ok_or("a secret needs id=ID")?.to_string();
    let source = match (fields.get("src").or(fields.get("source")), fields.get("env")) {
        (Some(file), None) => SecretSource::File(PathBuf::from(file)),
        (None, Some(variable)) => SecretSource::Env(variable.to_string()),
        _ => return Err(format!("secret {id:?} needs one of src=FILE or env=VARIABLE")),
    };
    Ok((id, source))
}

fn parse_ssh(text: &str) -> Result<(String, Option<PathBuf>), String> {
    Ok(match text.split_once('=') {
        Some((id, socket)) => (id.to_owned(), Some(PathBuf::from(socket))),
        None => (text.to_owned(), None),
    })
}

fn parse_output(text: &str) -> Result<BuildOutput, String> {
    let fields = fields(text)?;
    let dest = PathBuf::from(fields.get("dest").ok_or("an output needs dest=PATH")?);
    match fields.get("type").copied() {
        Some("local") => Ok(BuildOutput::Local(dest)),
        Some("tar") => Ok(BuildOutput::Tar(dest)),
        other => Err(format!("the output type {other:?} is not local or tar")),
    }
}

fn main() -> ExitCode {
    run(build(Args::parse()))
}

async fn build(args: Args) -> Result<ExitCode, Failure> {
    if !args.context.join(&args.file).is_file() {
        return Err(format!("no {} in {}", args.file, args.context.display()).into());
    }
    let session_only = !args.secret.is_empty() || !args.ssh.is_empty() || args.output.is_some();
    if session_only && !args.buildkit {
        return Err("--secret, --ssh and --output need --buildkit".into());
    }
    let docker = connect()?;
    let mut request = docker.images().build().dockerfile(&args.file).nocache(args.no_cache);
    // The API takes several tags as the `t` parameter repeated; this version's spec lists one.
    if let Some(tag) = args.tag.first() {
        request = request.t(tag);
    }
    let mut session = None;
    if args.buildkit {
        let mut parts = BuildSession::new(&args.context);
        for (id, source) in args.secret {
            parts = parts.secret(id, source);
        }
        for (id, socket) in args.ssh {
            parts = parts.ssh(id, socket);
        }
        if let Some(output) = args.output.clone() {
            parts = parts.output(output);
        }
        request = request.version(ImageBuildVersion::V2);
        match parts.start(docker.client()).await {
            Ok(running) => {
                request = request.session(running.id()).remote(REMOTE_CLIENT_SESSION);
                if let Some(outputs) = running.outputs() {
                    request = request.outputs(outputs);
                }
                session = Some(running);
            }
            // Podman builds with Buildah, which has no sessions: the context goes as a tar.
            Err(error @ (Error::UnsupportedVersion { .. } | Error::Daemon { .. })) if !session_only => {
                eprintln!("the daemon opens no BuildKit session ({error}); sending the context as a tar");
                request = request.body(tar_directory(&args.context));
            }
            Err(error) => return Err(error.into()),
        }
    } else {
        request = request.body(tar_directory(&args.context));
    }
    let progress = request.send().await?;
    let mut steps = PlainProgress::default();
    let image_id = match session {
        // The session ends with the build's stream, or when this program leaves early.
        Some(session) => {
            let mut build = session.attach(progress);
            let shown = show(&mut build, &mut steps).await;
            let report = build.report();
            println!(
                "session: listed {} entries, sent {} files ({} bytes)",
                report.entries_listed,
                report.files_sent.len(),
                report.file_bytes_sent
            );
            if shown.is_err() {
                for problem in &report.problems {
                    eprintln!("the session refused {problem}");
                }
            }
            shown?
        }
        None => show(&mut { progress }, &mut steps).await?,
    };
    if let Some(output) = &args.output {
        let (BuildOutput::Local(dest) | BuildOutput::Tar(dest)) = output;
        println!("exported to {}", dest.display());
        return Ok(ExitCode::SUCCESS);
    }
    let image_id = image_id.ok_or("the build ended without naming the image it built")?;
    for tag in args.tag.iter().skip(1) {
        let (repository, tag) = split_reference(tag);
        let tag = tag.unwrap_or("latest");
        docker.images().tag(&image_id).repo(repository).tag(tag).send().await?;
    }
    println!("built {image_id}");
    Ok(ExitCode::SUCCESS)
}

/// Prints the build's messages as they come; returns the id of the image built, if one was.
async fn show(
    output: &mut (impl Stream<Item = docker_engine_runtime::Result<BuildInfo>> + Unpin),
    steps: &mut PlainProgress,
) -> Result<Option<String>, Failure> {
    let mut image_id = None;
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
    Ok(image_id)
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
