//! Copies files into and out of a container through the archive endpoints, as `docker cp`
//! does; both directions stream, so size is no concern.
//!
//! ```text
//! cargo run -p docker-examples --bin copy -- into web ./site /usr/share/html   # a directory's contents
//! cargo run -p docker-examples --bin copy -- into web ./nginx.conf /etc/nginx  # one file
//! cargo run -p docker-examples --bin copy -- out web /var/log ./logs
//! ```

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use docker_engine_runtime::{tar_directory, tar_files, Body};
use docker_examples::{connect, run, Docker, Failure};

#[derive(Parser)]
struct Args {
    #[command(subcommand)]
    direction: Direction,
}

#[derive(Subcommand)]
enum Direction {
    /// Puts a local file, or a local directory's contents, into a directory of the container.
    Into {
        container: String,
        source: PathBuf,
        /// A directory that exists in the container.
        destination: String,
    },
    /// Gets a file or directory from the container into a local directory.
    Out {
        container: String,
        source: String,
        destination: PathBuf,
    },
}

fn main() -> ExitCode {
    run(copy(Args::parse()))
}

async fn copy(args: Args) -> Result<ExitCode, Failure> {
    let docker = connect()?;
    match args.direction {
        Direction::Into {
            container,
            source,
            destination,
        } => copy_into(&docker, &container, &source, destination).await?,
        Direction::Out {
            container,
            source,
            destination,
        } => copy_out(&docker, &container, source, &destination).await?,
    }
    Ok(ExitCode::SUCCESS)
}

async fn copy_into(docker: &Docker, container: &str, source: &Path, destination: String) -> Result<(), Failure> {
    let body = if source.is_dir() {
        tar_directory(source)
    } else {
        let name = source
            .file_name()
            .and_then(|name| name.to_str())
            .ok_or_else(|| format!("{} names no file", source.display()))?;
        let content = std::fs::read(source).map_err(|e| format!("cannot read {}: {e}", source.display()))?;
        Body::from(tar_files([(name, content)])?)
    };
    docker
        .containers()
        .put_archive(container, &destination, body)
        .send()
        .await?;
    println!("copied {} to {container}:{destination}", source.display());
    Ok(())
}

async fn copy_out(docker: &Docker, container: &str, source: String, destination: &Path) -> Result<(), Failure> {
    let stat = docker.containers().archive_info(container, &source).send().await?;
    let kind = if stat.is_dir() { "directory" } else { "file" };
    let archive = docker.containers().archive(container, &source).send().await?;
    std::fs::create_dir_all(destination).map_err(|e| format!("cannot create {}: {e}", destination.display()))?;
    // tar unpacks from a blocking reader: bridge the body's async reader on a blocking thread.
    let reader = tokio_util::io::SyncIoBridge::new(archive.into_async_read());
    let target = destination.to_owned();
    tokio::task::spawn_blocking(move || tar::Archive::new(reader).unpack(&target))
        .await?
        .map_err(|e| format!("unpacking into {}: {e}", destination.display()))?;
    println!(
        "copied {kind} {container}:{source} ({} bytes) to {}",
        stat.size,
        destination.display()
    );
    Ok(())
}
