use docker_engine_v1_41::filters::{ContainerListFilters, ContainerListStatusFilter};
use docker_engine_v1_41::Docker;

#[tokio::main]
async fn main() -> Result<(), docker_engine_v1_41::Error> {
    // DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH and contexts, as the Docker CLI reads them.
    let docker = Docker::from_env()?;
    let version = docker.system().version().send().await?;
    println!(
        "Docker {} speaking API {}",
        version.version.unwrap_or_default(),
        version.api_version.unwrap_or_default()
    );
    let running = ContainerListFilters::new().status(ContainerListStatusFilter::Running);
    for container in docker.containers().list().filters(running).send().await? {
        let names = container.names.unwrap_or_default().join(", ");
        println!("{} {names}", container.image.unwrap_or_default());
    }
    Ok(())
}
