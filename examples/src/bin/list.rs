//! Lists images and containers, as `docker images` and `docker ps` do, with the daemon's
//! filters.
//!
//! ```text
//! cargo run -p docker-examples --bin list -- --reference 'busybox*' --all --status exited --ancestor busybox
//! ```

use std::process::ExitCode;

use clap::Parser;
use docker_engine_v1_41::filters::{ContainerListFilters, ImageListFilters};
use docker_examples::{connect, run, short_id, Failure};

#[derive(Parser)]
struct Args {
    /// Images whose name matches this reference pattern, e.g. `busybox*` or `repo:tag`.
    #[arg(long)]
    reference: Option<String>,
    /// Only untagged images.
    #[arg(long)]
    dangling: bool,
    /// Containers carrying this label, `key` or `key=value`; repeat for several.
    #[arg(long)]
    label: Vec<String>,
    /// Containers in this state: created, running, paused, restarting, exited, dead.
    #[arg(long)]
    status: Option<String>,
    /// Containers of this image or of an image built from it.
    #[arg(long)]
    ancestor: Option<String>,
    /// Stopped containers too.
    #[arg(long, short)]
    all: bool,
}

fn main() -> ExitCode {
    run(list(Args::parse()))
}

async fn list(args: Args) -> Result<ExitCode, Failure> {
    let docker = connect()?;

    let mut image_filters = ImageListFilters::new();
    if let Some(reference) = &args.reference {
        image_filters = image_filters.reference(reference);
    }
    if args.dangling {
        image_filters = image_filters.dangling(true);
    }
    let images = docker.images().list().filters(image_filters).send().await?;
    println!("{:<40} {:<14} {:>10}", "REPOSITORY:TAG", "IMAGE ID", "SIZE");
    for image in &images {
        let size = format!("{:.1} MB", image.size as f64 / 1e6);
        let id = short_id(&image.id);
        let tags = &image.repo_tags;
        if tags.is_empty() {
            println!("{:<40} {id:<14} {size:>10}", "<none>:<none>");
        }
        for tag in tags {
            println!("{tag:<40} {id:<14} {size:>10}");
        }
    }

    let mut container_filters = ContainerListFilters::new();
    for label in &args.label {
        container_filters = match label.split_once('=') {
            Some((key, value)) => container_filters.label_value(key, value),
            None => container_filters.label(label),
        };
    }
    if let Some(status) = &args.status {
        container_filters = container_filters.status(status.as_str());
    }
    if let Some(image) = &args.ancestor {
        container_filters = container_filters.ancestor(image);
    }
    let containers = docker
        .containers()
        .list()
        .all(args.all)
        .filters(container_filters)
        .send()
        .await?;
    println!();
    println!("{:<14} {:<30} {:<24} STATUS", "CONTAINER ID", "IMAGE", "NAME");
    for container in &containers {
        let name = container
            .names
            .as_deref()
            .and_then(|names| names.first())
            .map(|name| name.trim_start_matches('/'))
            .unwrap_or("");
        println!(
            "{:<14} {:<30} {name:<24} {}",
            short_id(container.id.as_deref().unwrap_or("")),
            container.image.as_deref().unwrap_or(""),
            container.status.as_deref().unwrap_or("")
        );
    }
    println!("\n{} images, {} containers", images.len(), containers.len());
    Ok(ExitCode::SUCCESS)
}
