//! Exports a container's filesystem to a tar file with a progress bar, as `docker export -o`
//! does; the bar's length is the filesystem size the daemon reports, an estimate of the tar's.
//!
//! ```text
//! cargo run -p docker-examples --bin export -- web web.tar
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use docker_examples::{connect, run, Failure};
use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use tokio::io::AsyncWriteExt;

#[derive(Parser)]
struct Args {
    container: String,
    /// Where to write the tar archive.
    output: PathBuf,
}

fn main() -> ExitCode {
    run(export(Args::parse()))
}

async fn export(args: Args) -> Result<ExitCode, Failure> {
    let docker = connect()?;
    let details = docker.containers().inspect(&args.container).size(true).send().await?;
    let estimate = details.size_root_fs.unwrap_or(0).max(0) as u64;
    let bar = ProgressBar::new(estimate).with_style(
        ProgressStyle::with_template("{bytes:>10}/{total_bytes:10} [{bar:40}] {bytes_per_sec:>12} {eta}")?
            .progress_chars("=> "),
    );

    let mut archive = docker.containers().export(&args.container).send().await?;
    let mut file = tokio::fs::File::create(&args.output)
        .await
        .map_err(|e| format!("cannot create {}: {e}", args.output.display()))?;
    let mut written = 0u64;
    while let Some(chunk) = archive.next().await {
        let chunk = chunk?;
        file.write_all(&chunk).await?;
        written += chunk.len() as u64;
        // The tar has headers and padding the size estimate lacks.
        if written > bar.length().unwrap_or(0) {
            bar.set_length(written);
        }
        bar.set_position(written);
    }
    file.flush().await?;
    bar.finish();
    println!("exported {} bytes to {}", written, args.output.display());
    Ok(ExitCode::SUCCESS)
}
