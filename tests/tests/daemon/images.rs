//! Image recipes: build, history, tag, save/load, delete, prune.

use daemon_test_macros::daemon_test;
use daemon_tests::{busybox_image, docker, listed_name, server, unique_name, Server};
use docker_engine_runtime::buildkit::{Aux, TRACE_ID};
use docker_engine_runtime::{tar_directory, tar_files, Body, Error};
use docker_engine_v1_41::filters::{ImageListFilters, ImagePruneFilters};
use docker_engine_v1_41::models::ImageBuildVersion;
use futures_util::StreamExt;

#[daemon_test]
async fn build_from_a_tar_context_streams_typed_output_and_tags_the_image() {
    let docker = docker();
    let base = busybox_image(&docker).await;
    let tag = format!("{}:v1", unique_name("built"));
    let context_dir = std::env::temp_dir().join(unique_name("context"));
    std::fs::create_dir_all(context_dir.join("files")).unwrap();
    let dockerfile = format!(
        "FROM {base}\nCOPY files/greeting.txt /greeting.txt\nRUN echo built-by-test > /built.txt\nLABEL purpose=test\n"
    );
    std::fs::write(context_dir.join("Dockerfile"), dockerfile).unwrap();
    std::fs::write(context_dir.join("files/greeting.txt"), "hello from the context\n").unwrap();
    let mut build = docker
        .images()
        .build()
        .t(&tag)
        .labels([("from".to_owned(), "daemon-tests".to_owned())].into())
        .rm(true)
        .body(tar_directory(&context_dir))
        .send()
        .await
        .unwrap();
    let mut output = String::new();
    let mut image_id = None;
    while let Some(message) = build.next().await {
        let message = message.unwrap();
        output.push_str(message.stream.as_deref().unwrap_or(""));
        if let Some(Aux::Image { id }) = message.aux.map(|aux| Aux::read("ImageBuild", None, &aux).unwrap()) {
            image_id = Some(id);
        }
    }
    assert!(output.contains("Successfully tagged") || image_id.is_some(), "{output}");
    std::fs::remove_dir_all(&context_dir).unwrap();

    let inspected = docker.images().inspect(&tag).send().await.unwrap();
    let labels = inspected
        .config
        .as_ref()
        .and_then(|c| c.labels.clone())
        .unwrap_or_default();
    assert_eq!(labels.get("purpose").map(String::as_str), Some("test"));
    assert_eq!(labels.get("from").map(String::as_str), Some("daemon-tests"));

    let history = docker.images().history(&tag).send().await.unwrap();
    assert!(
        history.iter().any(|layer| layer.created_by.contains("built-by-test")),
        "{history:?}"
    );

    let alias = format!("{}:alias", unique_name("tagged"));
    let (repo, alias_tag) = alias.rsplit_once(':').unwrap();
    docker
        .images()
        .tag(&tag)
        .repo(repo)
        .tag(alias_tag)
        .send()
        .await
        .unwrap();
    let listed = docker
        .images()
        .list()
        .filters(ImageListFilters::new().reference(&alias))
        .send()
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);

    let deleted = docker.images().delete(&alias).send().await.unwrap();
    assert!(
        deleted
            .iter()
            .any(|d| d.untagged.as_deref() == Some(listed_name(&alias).as_str())),
        "{deleted:?}"
    );
    docker.images().delete(&tag).force(true).send().await.unwrap();
    let gone = docker.images().inspect(&tag).send().await.unwrap_err();
    assert!(gone.is_not_found(), "{gone}");
}

#[daemon_test]
async fn a_failing_build_surfaces_its_error_from_the_stream() {
    let docker = docker();
    let base = busybox_image(&docker).await;
    let dockerfile = format!("FROM {base}\nRUN echo about to fail && exit 7\n");
    let context = tar_files([("Dockerfile", dockerfile.as_bytes())]).unwrap();
    let mut build = docker
        .images()
        .build()
        .rm(true)
        .forcerm(true)
        .body(Body::from(context))
        .send()
        .await
        .unwrap();
    let mut failure = None;
    while let Some(message) = build.next().await {
        if let Err(error) = message {
            failure = Some(error);
        }
    }
    let expected = match server() {
        Server::Docker => "non-zero code: 7",
        // Podman builds with Buildah, which words it its own way.
        Server::Podman => "exit status 7",
    };
    match failure {
        Some(Error::Stream { message, .. }) => assert!(message.contains(expected), "{message}"),
        other => panic!("expected the build's error, got {other:?}"),
    }
}

#[daemon_test]
async fn save_and_load_round_trip_an_image() {
    let docker = docker();
    let image = busybox_image(&docker).await;
    let tarball = docker
        .images()
        .get(image)
        .send()
        .await
        .unwrap()
        .read_all()
        .await
        .unwrap();
    assert!(tarball.len() > 512, "an image archive is a tar of layers");
    assert!(tar::Archive::new(tarball.as_slice()).entries().unwrap().any(|e| e
        .unwrap()
        .path()
        .unwrap()
        .ends_with("manifest.json")));

    let mut loaded = docker.images().load().body(Body::from(tarball)).send().await.unwrap();
    let mut said = String::new();
    while let Some(message) = loaded.next().await {
        said.push_str(message.unwrap().stream.as_deref().unwrap_or(""));
    }
    assert!(said.contains(image) || said.contains("Loaded image"), "{said}");
}

#[daemon_test]
async fn prune_removes_dangling_images_only() {
    let docker = docker();
    let base = busybox_image(&docker).await;
    let marker = unique_name("prune");
    let dockerfile = format!("FROM {base}\nLABEL dangling={marker}\n");
    let context = tar_files([("Dockerfile", dockerfile.as_bytes())]).unwrap();
    let mut build = docker.images().build().body(Body::from(context)).send().await.unwrap();
    let mut built = None;
    while let Some(message) = build.next().await {
        let message = message.unwrap();
        if let Some(aux) = &message.aux {
            if let Aux::Image { id } = Aux::read("ImageBuild", message.id.as_deref(), aux).unwrap() {
                built = Some(id);
            }
        }
    }
    let built = built.expect("the build names its image");
    // Only this test's image: pruning every dangling image would take the intermediate images
    // of builds other tests run at the same time.
    let only_this_image = ImagePruneFilters::new().dangling(true).label_value("dangling", &marker);
    let report = docker.images().prune().filters(only_this_image).send().await.unwrap();
    assert!(
        report.images_deleted.is_some_and(|d| !d.is_empty()),
        "the untagged build is pruned"
    );
    let gone = docker.images().inspect(&built).send().await.unwrap_err();
    assert!(gone.is_not_found(), "{gone}");
    docker
        .images()
        .inspect(base)
        .send()
        .await
        .expect("tagged images survive");
}

#[daemon_test]
async fn buildkit_builds_stream_typed_traces_and_name_the_image() {
    let docker = docker();
    let base = busybox_image(&docker).await;
    let tag = format!("{}:bk", unique_name("buildkit"));
    let marker = unique_name("marker");
    let dockerfile = format!(
        "FROM {base}\nCOPY greeting.txt /greeting.txt\nRUN cat /greeting.txt && echo {marker} && echo to-stderr >&2\n"
    );
    let context = tar_files([
        ("Dockerfile", dockerfile.as_bytes()),
        ("greeting.txt", &b"hello from BuildKit\n"[..]),
    ])
    .unwrap();
    let mut build = docker
        .images()
        .build()
        .version(ImageBuildVersion::V2)
        .t(&tag)
        .body(Body::from(context))
        .send()
        .await
        .unwrap();
    let (mut traces, mut image_id, mut vertexes, mut logs) = (0, None, Vec::new(), String::new());
    let mut stream = String::new();
    let read = async {
        while let Some(message) = build.next().await {
            let message = message.unwrap();
            stream.push_str(message.stream.as_deref().unwrap_or(""));
            let Some(aux) = message.aux else { continue };
            match Aux::read("ImageBuild", message.id.as_deref(), &aux).unwrap() {
                Aux::Trace(status) => {
                    assert_eq!(message.id.as_deref(), Some(TRACE_ID));
                    traces += 1;
                    vertexes.extend(status.vertexes);
                    for log in status.logs {
                        logs.push_str(&String::from_utf8_lossy(&log.msg));
                    }
                }
                Aux::Image { id } => image_id = Some(id),
                Aux::Other(other) => panic!("unexpected aux {other}"),
            }
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(120), read)
        .await
        .expect("the build ends");
    if server() == Server::Podman {
        // Podman builds with Buildah whatever `version` asks: classic stream output, and the
        // image in `aux` as the classic builder sends it.
        assert_eq!(traces, 0);
        assert!(
            stream.contains("hello from BuildKit") && stream.contains(&marker) && stream.contains("to-stderr"),
            "{stream}"
        );
    } else {
        assert!(traces > 0, "BuildKit progress arrives as traces");
        check_the_run_step(&vertexes, &logs, &marker);
    }
    let image_id = image_id.expect("the build names its image");
    let inspected = docker.images().inspect(&tag).send().await.unwrap();
    assert_eq!(inspected.id.as_deref(), Some(image_id.as_str()));
    docker.images().delete(&tag).send().await.unwrap();

    let failing = format!("FROM {base}\nRUN echo about to fail && false\n");
    let context = tar_files([("Dockerfile", failing.as_bytes())]).unwrap();
    let mut build = docker
        .images()
        .build()
        .version(ImageBuildVersion::V2)
        .body(Body::from(context))
        .send()
        .await
        .unwrap();
    let mut failure = None;
    while let Some(message) = build.next().await {
        if let Err(error) = message {
            failure = Some(error);
        }
    }
    let failure = failure.expect("a failing step fails the build");
    assert!(matches!(failure, Error::Stream { .. }), "{failure:?}");
    let expected = match server() {
        Server::Docker => "exit code: 1",
        Server::Podman => "exit status 1",
    };
    assert!(failure.to_string().contains(expected), "{failure}");
}

/// BuildKit's record of the RUN step: started, completed without error, its output logged.
fn check_the_run_step(vertexes: &[docker_engine_runtime::buildkit::Vertex], logs: &str, marker: &str) {
    let run = vertexes
        .iter()
        .find(|v| v.name.contains("RUN cat /greeting.txt") && v.completed.is_some())
        .unwrap_or_else(|| panic!("the RUN step completes: {vertexes:?}"));
    assert!(run.error.is_empty() && run.started.is_some(), "{run:?}");
    assert!(
        logs.contains("hello from BuildKit") && logs.contains(marker) && logs.contains("to-stderr"),
        "{logs}"
    );
}
