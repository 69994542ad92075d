//! Connects as the Docker CLI does and says where and to what: from `DOCKER_HOST` (a Unix
//! socket, `tcp://` plain, mutual TLS with `DOCKER_TLS_VERIFY=1` and the `ca.pem`, `cert.pem`
//! and `key.pem` of `DOCKER_CERT_PATH`, or `ssh://[user@]host[:port]` through the system's ssh
//! client), from a Docker context, or from the local socket.
//!
//! ```text
//! DOCKER_HOST=tcp://build-host:2376 DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=~/certs \
//!     cargo run -p docker-examples --bin connect
//! DOCKER_HOST=ssh://me@build-host cargo run -p docker-examples --bin connect
//! cargo run -p docker-examples --bin connect -- --context remote
//! ```

use std::process::ExitCode;

use clap::Parser;
use docker_engine_runtime::{Client, DockerConfig, Environment};
use docker_engine_v1_41::API_VERSION;
use docker_examples::{connect, run, Docker, Failure};

#[derive(Parser)]
struct Args {
    /// Use this context of the Docker configuration (`docker context ls`) instead of the
    /// environment.
    #[arg(long)]
    context: Option<String>,
}

fn main() -> ExitCode {
    run(describe(Args::parse()))
}

async fn describe(args: Args) -> Result<ExitCode, Failure> {
    let docker = match &args.context {
        Some(context) => {
            let dir = Environment::from_process()
                .config_dir()
                .ok_or("no Docker configuration folder: set DOCKER_CONFIG or HOME")?;
            let endpoint = DockerConfig::load(&dir)?.context_endpoint(context)?;
            Docker::with_client(Client::new(endpoint, API_VERSION)?)
        }
        None => connect()?,
    };
    let version = docker.system().version().send().await?;
    let negotiated = docker.client().api_version().await?;
    println!("endpoint: {}", docker.client().endpoint());
    println!(
        "daemon: Docker {} ({}/{}), API {} (minimum {})",
        version.version.as_deref().unwrap_or("?"),
        version.os.as_deref().unwrap_or("?"),
        version.arch.as_deref().unwrap_or("?"),
        version.api_version.as_deref().unwrap_or("?"),
        version.min_api_version.as_deref().unwrap_or("?"),
    );
    println!("speaking API {negotiated}");
    Ok(ExitCode::SUCCESS)
}
