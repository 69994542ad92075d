//! What the workloads run on, made through our client before the runs and removed after.

use std::path::PathBuf;

use docker_engine_runtime::tar_files;
use docker_engine_v1_41::filters::ImagePruneFilters;
use docker_engine_v1_41::models::{ContainerCreateBody, ExecConfig};
use docker_engine_v1_41::Docker;

use crate::workers;

/// A container holding 1 GiB, made by `create`, and the size of its export.
pub async fn export_fixture(docker: &Docker, create: ContainerCreateBody) -> (String, u64) {
    eprintln!("writing 1 GiB into a container to export");
    let export = docker.containers().create(create).send().await.unwrap().id;
    docker.containers().start(&export).send().await.unwrap();
    docker.containers().wait(&export).send().await.unwrap();
    // Counted as it streams: holding it would inflate the workers' measured RSS, which
    // starts from this process's at spawn.
    let mut exported = docker.containers().export(&export).send().await.unwrap();
    let mut export_bytes = 0;
    while let Some(chunk) = futures_util::StreamExt::next(&mut exported).await {
        export_bytes += chunk.unwrap().len() as u64;
    }
    (export, export_bytes)
}

/// What the workloads run on, made through our client and removed at the end.
pub struct Fixtures {
    pub containers: Vec<String>,
    pub inspect_target: String,
    pub export_container: String,
    pub export_bytes: u64,
    pub exec_container: String,
    /// A tar file holding the build workload's Dockerfile, for every client to send.
    pub build_context: PathBuf,
    pub list_json: Vec<u8>,
    pub inspect_json: Vec<u8>,
}

const LISTED_CONTAINERS: usize = 300;

impl Fixtures {
    pub async fn create(docker: &Docker) -> Fixtures {
        let image = daemon_tests::busybox_image(docker).await;
        let create = |command: &str| ContainerCreateBody {
            image: Some(image.into()),
            cmd: Some(vec!["sh".into(), "-c".into(), command.into()]),
            labels: Some([("suite".to_owned(), "bench".to_owned())].into()),
            ..Default::default()
        };
        eprintln!("creating {LISTED_CONTAINERS} containers to list");
        let mut containers = Vec::new();
        for _ in 0..LISTED_CONTAINERS {
            let created = docker.containers().create(create("true")).send().await.unwrap();
            containers.push(created.id);
        }
        let inspect_target = containers[0].clone();

        let (export, export_bytes) =
            export_fixture(docker, create("dd if=/dev/zero of=/big bs=1M count=1024 2>/dev/null")).await;
        containers.push(export.clone());

        let exec_container = docker
            .containers()
            .create(create("sleep 100000"))
            .send()
            .await
            .unwrap()
            .id;
        docker.containers().start(&exec_container).send().await.unwrap();
        containers.push(exec_container.clone());

        let build_context = std::env::temp_dir().join(format!("bench-build-{}.tar", std::process::id()));
        let dockerfile = workers::build_dockerfile(image);
        std::fs::write(&build_context, tar_files([("Dockerfile", dockerfile)]).unwrap()).unwrap();

        let list_json = workers::fetch(docker, "/containers/json", "all=1").await;
        let inspect_json = workers::fetch(docker, &format!("/containers/{inspect_target}/json"), "").await;
        Fixtures {
            containers,
            inspect_target,
            export_container: export,
            export_bytes,
            exec_container,
            build_context,
            list_json,
            inspect_json,
        }
    }

    /// A fresh exec writing 2 GiB of zeros to stdout (an exec starts only once).
    pub async fn new_exec(&self, docker: &Docker) -> String {
        let config = ExecConfig {
            attach_stdout: Some(true),
            cmd: Some(vec![
                "dd".into(),
                "if=/dev/zero".into(),
                "bs=1M".into(),
                format!("count={}", workers::EXEC_BYTES >> 20),
            ]),
            ..Default::default()
        };
        docker
            .exec()
            .create(&self.exec_container, config)
            .send()
            .await
            .unwrap()
            .id
    }

    pub async fn remove(self, docker: &Docker) {
        for id in &self.containers {
            docker.containers().delete(id).force(true).send().await.unwrap();
        }
        let built = ImagePruneFilters::new().label_value("suite", "bench").dangling(true);
        docker.images().prune().filters(built).send().await.unwrap();
        let _ = std::fs::remove_file(&self.build_context);
    }
}
