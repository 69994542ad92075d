//! Imports an image from a root filesystem tarball, as `docker import` does; the file is
//! streamed, never read into memory whole.
//!
//! ```text
//! cargo run -p docker-examples --bin import -- rootfs.tar myimage:latest --change 'CMD ["sh"]'
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use docker_engine_runtime::Body;
use docker_examples::{connect, run, Failure};
use futures_util::StreamExt;

#[derive(Parser)]
struct Args {
    /// A tar archive (optionally gzip, bzip2 or xz compressed) of the image's root filesystem.
    file: PathBuf,
    /// The name to give the image, `repository[:tag]`.
    reference: String,
    /// A Dockerfile instruction to apply, e.g. `CMD ["sh"]` or `ENV A=b`; repeat for several.
    #[arg(long)]
    change: Vec<String>,
    /// The commit message recorded in the image's history.
    #[arg(long)]
    message: Option<String>,
}

fn main() -> ExitCode {
    run(import(Args::parse()))
}

async fn import(args: Args) -> Result<ExitCode, Failure> {
    let docker = connect()?;
    let file = tokio::fs::File::open(&args.file)
        .await
        .map_err(|e| format!("cannot open {}: {e}", args.file.display()))?;
    // The whole reference goes in `repo`, as the Docker CLI sends it: Podman 4.3 ignores `tag`
    // on import and names the image `:latest`.
    let mut request = docker
        .images()
        .create()
        .from_src("-")
        .repo(&args.reference)
        .changes(args.change)
        .body(Body::from_reader(file));
    if let Some(message) = args.message {
        request = request.message(message);
    }
    let mut progress = request.send().await?;
    let mut image_id = None;
    while let Some(message) = progress.next().await {
        // The last message's status is the new image's id.
        image_id = message?.status.or(image_id);
    }
    let image_id = image_id.ok_or("the daemon ended the import without naming the image")?;
    println!("{image_id}");
    Ok(ExitCode::SUCCESS)
}
