//! Builds an image from a directory, as `docker build` does: the directory is tarred on the fly
//! and streamed to the daemon, the build's output is streamed to the terminal, and the image is
//! tagged.
//!
//! ```text
//! cargo run -p docker-examples --bin build_image -- ./context --tag myapp:dev
//! ```

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use docker_engine_runtime::tar_directory;
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
    // The API takes several tags as the `t` parameter repeated; this version's spec lists one.
    if let Some(tag) = args.tag.first() {
        request = request.t(tag);
    }
    let mut output = request.send().await?;
    let mut image_id = None;
    let mut terminal = std::io::stdout().lock();
    while let Some(message) = output.next().await {
        // A failing step ends the stream with the daemon's error, e.g. "The command '/bin/sh -c
        // false' returned a non-zero code: 1".
        let message = message?;
        if let Some(text) = message.stream {
            terminal.write_all(text.as_bytes())?;
            terminal.flush()?;
        }
        if let Some(aux) = message.aux {
            image_id = aux.id;
        }
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
