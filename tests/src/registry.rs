//! The registry the test script starts, and reading progress streams (push, pull, plugin
//! install) to their end.

use docker_engine_v1_41::Docker;
use futures_util::StreamExt;

use crate::busybox::{unique_name, TestContainer};
use crate::servers::companion_variable;

/// The registry the test script starts (`DOCKER_TEST_REGISTRY`), with the user it made.
pub struct TestRegistry {
    /// `host:port`, as image references name it.
    pub address: String,
    pub user: String,
    pub password: String,
}

impl TestRegistry {
    pub fn from_env() -> Self {
        TestRegistry {
            address: companion_variable("DOCKER_TEST_REGISTRY"),
            user: companion_variable("DOCKER_TEST_REGISTRY_USER"),
            password: companion_variable("DOCKER_TEST_REGISTRY_PASSWORD"),
        }
    }

    pub fn auth(&self) -> docker_engine_runtime::RegistryAuth {
        docker_engine_runtime::RegistryAuth {
            server_address: Some(self.address.clone()),
            ..docker_engine_runtime::RegistryAuth::password(&self.user, &self.password)
        }
    }

    /// A repository of this registry no other test uses.
    pub fn repository(&self, prefix: &str) -> String {
        format!("{}/{}", self.address, unique_name(prefix))
    }

    /// The `auth` value of `config.json` for this registry's user: base64 of `user:password`.
    pub fn stored_auth(&self) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", self.user, self.password))
    }

    /// Commits, as `REPOSITORY:v1` of a new repository of this registry (not pushed yet), an
    /// image with a layer of its own, so that pulling it after a push downloads something.
    /// Returns the repository.
    pub async fn image_with_a_layer_of_its_own(&self, docker: &Docker, prefix: &str) -> String {
        let repository = self.repository(prefix);
        let container = TestContainer::new(prefix, "echo $RANDOM$RANDOM > /unique")
            .start(docker)
            .await;
        docker.containers().wait(&container.id).send().await.unwrap();
        docker
            .images()
            .commit()
            .container(&container.id)
            .repo(&repository)
            .tag("v1")
            .send()
            .await
            .unwrap();
        repository
    }
}

/// How long a progress stream (a push, a pull, a plugin install) may take to end.
const PROGRESS_LIMIT: std::time::Duration = std::time::Duration::from_secs(120);

/// Reads a JSON progress stream to its end, failing the test on any error message, or when it
/// has not ended within two minutes.
pub async fn drain<T: serde::de::DeserializeOwned>(mut stream: docker_engine_runtime::JsonStream<T>) -> Vec<T> {
    let read = async {
        let mut messages = Vec::new();
        while let Some(message) = stream.next().await {
            messages.push(message.expect("progress message"));
        }
        messages
    };
    tokio::time::timeout(PROGRESS_LIMIT, read)
        .await
        .expect("the progress stream ends within its time limit")
}
