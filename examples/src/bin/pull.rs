//! Pulls an image with a progress bar per layer, as `docker pull` does, using the credentials
//! of `~/.docker/config.json` (or `DOCKER_CONFIG`) for the image's registry: `auths`, the
//! `credsStore` or a registry's `credHelpers` program. Off a terminal it prints each layer's
//! changes of status on a line of their own, as the CLI's plain output does.
//!
//! ```text
//! cargo run -p docker-examples --bin pull -- busybox:latest
//! ```

use std::collections::HashMap;
use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use docker_engine_runtime::{registry_of, DockerConfig, Environment, JsonStream};
use docker_engine_v1_41::models::CreateImageInfo;
use docker_examples::{connect, run, Failure};
use futures_util::StreamExt;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

#[derive(Parser)]
struct Args {
    /// The image to pull, e.g. `busybox`, `busybox:1.36` or `registry.example.com/team/app:v2`.
    image: String,
    /// Platform to pull, e.g. `linux/arm64`, when the image has several.
    #[arg(long)]
    platform: Option<String>,
}

fn main() -> ExitCode {
    run(pull(Args::parse()))
}

async fn pull(args: Args) -> Result<ExitCode, Failure> {
    let docker = connect()?;
    let mut request = docker.images().create().from_image(&args.image);
    if let Some(platform) = &args.platform {
        request = request.platform(platform);
    }
    if let Some(dir) = Environment::from_process().config_dir() {
        let registry = registry_of(&args.image);
        if let Some(auth) = DockerConfig::load(&dir)?.credentials(registry)? {
            request = request.x_registry_auth(auth);
        }
    }
    // An unreachable registry is the daemon's error, reported here with what it says.
    let mut progress = request.send().await?;
    if !std::io::stderr().is_terminal() {
        return plain(progress).await;
    }

    let bars = MultiProgress::new();
    let style = ProgressStyle::with_template("{prefix:12} {msg:20} [{bar:30}] {bytes:>10}/{total_bytes:10}")?
        .progress_chars("=> ");
    let mut layers: HashMap<String, ProgressBar> = HashMap::new();
    while let Some(message) = progress.next().await {
        let message = message?;
        let status = message.status.unwrap_or_default();
        let (layer, detail) = match (message.id, message.progress_detail) {
            (Some(layer), Some(detail)) => (layer, detail),
            (id, _) => {
                // Lines about the whole image: "Pulling from ...", "Digest: ...", "Status: ...".
                let prefix = id.map(|id| format!("{id}: ")).unwrap_or_default();
                bars.println(format!("{prefix}{status}"))?;
                continue;
            }
        };
        let bar = layers.entry(layer.clone()).or_insert_with(|| {
            let bar = bars.add(ProgressBar::new(0).with_style(style.clone()));
            bar.set_prefix(layer);
            bar
        });
        if let (Some(current), Some(total)) = (detail.current, detail.total) {
            bar.set_length(total.max(0) as u64);
            bar.set_position(current.max(0) as u64);
        }
        bar.set_message(status);
    }
    for bar in layers.values() {
        bar.finish();
    }
    Ok(ExitCode::SUCCESS)
}

/// One line per change of a layer's status (`1a93f7c9682e: Pull complete`), and the lines about
/// the whole image; the byte counts of a download in progress are left out.
async fn plain(mut progress: JsonStream<CreateImageInfo>) -> Result<ExitCode, Failure> {
    let mut last_status: HashMap<String, String> = HashMap::new();
    while let Some(message) = progress.next().await {
        let message = message?;
        let status = message.status.unwrap_or_default();
        match message.id {
            Some(id) if message.progress_detail.is_some() => {
                if last_status.insert(id.clone(), status.clone()).as_deref() != Some(status.as_str()) {
                    println!("{id}: {status}");
                }
            }
            Some(id) => println!("{id}: {status}"),
            None => println!("{status}"),
        }
    }
    Ok(ExitCode::SUCCESS)
}
