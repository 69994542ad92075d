//! Talks to image registries directly, with no Docker daemon, through the Registry API crate:
//! copies an image (every platform of an index) between registries with a progress bar per
//! blob, skipping what the destination has and mounting what another of its repositories has;
//! lists a repository's tags, page by page; prints a manifest and its digest. It also pushes an
//! image from a Docker daemon, reading the image the daemon saves.
//!
//! Credentials come from Docker's `config.json` (`DOCKER_CONFIG`, else `~/.docker`): `auths`,
//! `credsStore` or `credHelpers`. Registries on `localhost` and `127.0.0.0/8` are reached over
//! plain HTTP unless `--ca-file` (or an `https://` prefix) asks for TLS.
//!
//! ```text
//! cargo run -p docker-examples --bin registry -- copy localhost:5000/app:v1 registry.example.com/app:v1
//! cargo run -p docker-examples --bin registry -- tags localhost:5000/app
//! cargo run -p docker-examples --bin registry -- manifest localhost:5000/app:v1
//! cargo run -p docker-examples --bin registry -- push app:v1 localhost:5000/app:v1
//! ```

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use clap::{Parser, Subcommand};
use docker_engine_runtime::registry::{next_page, Reference};
use docker_examples::{run, Failure};
use docker_registry_copy::{copy, fetch_manifest, push_from_daemon, CopyOptions, Progress, ProgressSink};
use docker_registry_v2::{Registry, RegistryOptions};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

#[derive(Parser)]
struct Args {
    /// A CA certificate (PEM) to trust besides the system's; implies HTTPS on loopback too.
    #[arg(long, global = true)]
    ca_file: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Copy an image, e.g. `localhost:5000/app:v1 registry.example.com/team/app:v1`.
    Copy {
        source: String,
        destination: String,
        /// The size of each upload request in MiB; the most of a blob held in memory.
        #[arg(long, default_value_t = 8)]
        chunk_mib: usize,
        /// Blobs moved at once.
        #[arg(long, default_value_t = 4)]
        parallel: usize,
    },
    /// Push an image from the Docker daemon (DOCKER_HOST, ...) with this client, e.g.
    /// `app:v1 localhost:5000/app:v1`: layers go uncompressed, in an OCI manifest.
    Push {
        image: String,
        destination: String,
        /// The size of each upload request in MiB; the most of a blob held in memory.
        #[arg(long, default_value_t = 8)]
        chunk_mib: usize,
    },
    /// List the tags of a repository, e.g. `localhost:5000/app`.
    Tags {
        repository: String,
        /// Tags asked for per request.
        #[arg(long, default_value_t = 100)]
        page_size: i64,
    },
    /// Print a manifest (pretty JSON) and its digest, e.g. `localhost:5000/app:v1`.
    Manifest { reference: String },
}

fn main() -> ExitCode {
    run(registry(Args::parse()))
}

fn connect(registry: &str, ca_file: &Option<PathBuf>) -> Result<Registry, Failure> {
    let options = RegistryOptions {
        ca_file: ca_file.clone(),
        ..RegistryOptions::default()
    };
    Ok(Registry::with_options(registry, options)?)
}

async fn registry(args: Args) -> Result<ExitCode, Failure> {
    match args.command {
        Command::Copy {
            source,
            destination,
            chunk_mib,
            parallel,
        } => {
            let (from, to): (Reference, Reference) = (source.parse()?, destination.parse()?);
            let source_registry = connect(&from.registry, &args.ca_file)?;
            let destination_registry = connect(&to.registry, &args.ca_file)?;
            let options = CopyOptions {
                chunk_size: chunk_mib.max(1) * 1024 * 1024,
                parallel,
                progress: Some(progress_display()),
                ..CopyOptions::default()
            };
            let report = copy(&source_registry, &from, &destination_registry, &to, &options).await?;
            let digest = report.digest.map(|d| d.to_string()).unwrap_or_default();
            println!(
                "copied {from} to {to} ({digest}): {} manifests, {} blobs sent ({} bytes), {} present, {} mounted, \
                 {} transfers resumed",
                report.manifests,
                report.blobs_copied,
                report.bytes_sent,
                report.blobs_present,
                report.blobs_mounted,
                report.resumed
            );
        }
        Command::Push {
            image,
            destination,
            chunk_mib,
        } => {
            let to: Reference = destination.parse()?;
            let docker = docker_examples::connect()?;
            let registry = connect(&to.registry, &args.ca_file)?;
            let options = CopyOptions {
                chunk_size: chunk_mib.max(1) * 1024 * 1024,
                progress: Some(progress_display()),
                ..CopyOptions::default()
            };
            let report = push_from_daemon(&docker, &image, &registry, &to, &options).await?;
            let digest = report.digest.map(|d| d.to_string()).unwrap_or_default();
            println!(
                "pushed {image} to {to} ({digest}): {} blobs sent ({} bytes), {} present",
                report.blobs_copied, report.bytes_sent, report.blobs_present
            );
        }
        Command::Tags { repository, page_size } => {
            let reference: Reference = repository.parse()?;
            let registry = connect(&reference.registry, &args.ca_file)?;
            let mut last = None;
            loop {
                let mut page = registry.tags().list(&reference.repository).n(page_size);
                if let Some(last) = last.take() {
                    page = page.last(last);
                }
                let (tags, headers) = page.send_with_headers().await?;
                for tag in tags.tags.into_iter().flatten() {
                    println!("{tag}");
                }
                match headers.link.as_deref().and_then(next_page) {
                    Some(next) => last = Some(next),
                    None => break,
                }
            }
        }
        Command::Manifest { reference } => {
            let reference: Reference = reference.parse()?;
            let registry = connect(&reference.registry, &args.ca_file)?;
            let (bytes, media_type, digest) =
                fetch_manifest(&registry, &reference.repository, reference.target()).await?;
            let value: serde_json::Value = serde_json::from_slice(&bytes)?;
            println!("{}", serde_json::to_string_pretty(&value)?);
            eprintln!("{media_type} {digest}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A progress bar per blob on a terminal; off one, a line per blob when it is done.
fn progress_display() -> ProgressSink {
    let terminal = std::io::stderr().is_terminal();
    let bars = MultiProgress::new();
    let style = ProgressStyle::with_template("{prefix:19} [{bar:30}] {bytes:>10}/{total_bytes:10} {msg}")
        .expect("a valid template")
        .progress_chars("=> ");
    let by_digest: Mutex<HashMap<String, ProgressBar>> = Mutex::new(HashMap::new());
    let short = |digest: &str| digest.chars().take(19).collect::<String>();
    Arc::new(move |progress: &Progress| {
        let mut by_digest = by_digest.lock().expect("no panics while locked");
        match progress {
            Progress::Started { digest, size } if terminal => {
                let bar = bars.add(ProgressBar::new(*size).with_style(style.clone()));
                bar.set_prefix(short(digest));
                by_digest.insert(digest.clone(), bar);
            }
            Progress::Sent { digest, sent } => {
                if let Some(bar) = by_digest.get(digest) {
                    bar.set_position(*sent);
                }
            }
            Progress::Done { digest } => match by_digest.remove(digest) {
                Some(bar) => bar.finish_with_message("copied"),
                None => eprintln!("{}: copied", short(digest)),
            },
            Progress::Present { digest } => eprintln!("{}: already there", short(digest)),
            Progress::Mounted { digest } => eprintln!("{}: mounted", short(digest)),
            Progress::Started { .. } => {}
        }
    })
}
