//! The busybox image every test runs, made without a registry, and containers of it that are
//! removed when a test ends, however it ends.

use std::sync::atomic::{AtomicU32, Ordering};

use docker_engine_runtime::Body;
use docker_engine_v1_41::models::{ContainerCreateBody, PortBinding};
use docker_engine_v1_41::Docker;
use futures_util::StreamExt;
use tokio::sync::OnceCell;

use crate::servers::docker;

/// The image every test runs, imported from the host's static busybox.
pub const BUSYBOX: &str = "docker-client-test/busybox:latest";

/// A name no other test (or earlier run) uses.
pub fn unique_name(prefix: &str) -> String {
    if let Some(name) = crate::replay::session_name(prefix) {
        return name;
    }
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    format!(
        "dct-{prefix}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A root filesystem tar holding busybox and the applets the tests call.
pub fn busybox_rootfs() -> Vec<u8> {
    let path = std::env::var("DOCKER_TEST_BUSYBOX").unwrap_or_else(|_| "/bin/busybox".into());
    let binary =
        std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read busybox at {path}: {e} (install busybox-static)"));
    let mut archive = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(binary.len() as u64);
    header.set_mode(0o755);
    header.set_cksum();
    archive
        .append_data(&mut header, "bin/busybox", binary.as_slice())
        .unwrap();
    for applet in [
        "sh", "echo", "cat", "sleep", "ls", "env", "true", "false", "dd", "seq", "top", "ps", "wc", "tail",
    ] {
        let mut link = tar::Header::new_gnu();
        link.set_entry_type(tar::EntryType::Symlink);
        link.set_size(0);
        link.set_mode(0o777);
        archive
            .append_link(&mut link, format!("bin/{applet}"), "busybox")
            .unwrap();
    }
    for dir in ["tmp", "etc", "proc", "sys", "dev"] {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Directory);
        header.set_size(0);
        header.set_mode(0o755);
        archive
            .append_data(&mut header, format!("{dir}/"), std::io::empty())
            .unwrap();
    }
    archive.into_inner().unwrap()
}

/// Imports the busybox image once per test process; a replay takes it as imported.
pub async fn busybox_image(docker: &Docker) -> &'static str {
    if let crate::replay::Mode::Replaying(_) = crate::replay::mode() {
        return BUSYBOX;
    }
    static IMPORTED: OnceCell<()> = OnceCell::const_new();
    IMPORTED
        .get_or_init(|| async {
            let (repo, tag) = BUSYBOX.rsplit_once(':').unwrap();
            let mut progress = docker
                .images()
                .create()
                .from_src("-")
                .repo(repo)
                .tag(tag)
                .body(Body::from(busybox_rootfs()))
                .send()
                .await
                .expect("import busybox");
            while let Some(message) = progress.next().await {
                message.expect("import progress");
            }
        })
        .await;
    BUSYBOX
}

/// Removes a container when dropped, so a failing test leaves nothing behind.
pub struct ContainerGuard {
    pub id: String,
}

impl Drop for ContainerGuard {
    fn drop(&mut self) {
        let id = self.id.clone();
        clean_up(docker, |docker| async move {
            let _ = docker.containers().delete(&id).force(true).v(true).send().await;
        });
    }
}

/// Runs `cleanup` on a thread with a client (from `connect`) and a runtime of its own, for the
/// `Drop` of test guards: the test's runtime is blocked while a guard runs, and the test's
/// client has pooled connections driven by that runtime.
pub fn clean_up<F, Fut>(connect: fn() -> Docker, cleanup: F)
where
    F: FnOnce(Docker) -> Fut + Send + 'static,
    Fut: std::future::Future,
{
    // A replay's daemon holds nothing to remove.
    if let crate::replay::Mode::Replaying(_) = crate::replay::mode() {
        return;
    }
    let _ = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(cleanup(connect()));
    })
    .join();
}

/// A container a test makes: `sh -c COMMAND` in the busybox image (or another image holding
/// busybox), named after a prefix and labelled as the suite's; `create` or `start` it, and the
/// guard they return removes it when dropped.
pub struct TestContainer {
    prefix: String,
    image: Option<String>,
    body: ContainerCreateBody,
}

impl TestContainer {
    pub fn new(prefix: &str, command: &str) -> Self {
        TestContainer {
            prefix: prefix.to_owned(),
            image: None,
            body: ContainerCreateBody {
                cmd: Some(vec!["sh".into(), "-c".into(), command.into()]),
                labels: Some([("suite".to_owned(), "daemon-tests".to_owned())].into()),
                ..Default::default()
            },
        }
    }

    /// An image other than busybox; it must hold busybox's `sh`.
    pub fn image(mut self, image: &str) -> Self {
        self.image = Some(image.to_owned());
        self
    }

    pub fn tty(mut self) -> Self {
        self.body.tty = Some(true);
        self
    }

    pub fn label(mut self, key: &str, value: &str) -> Self {
        self.body
            .labels
            .get_or_insert_with(Default::default)
            .insert(key.to_owned(), value.to_owned());
        self
    }

    /// Exposes `port` (`8080/tcp`) and publishes it on a loopback port the daemon chooses.
    pub fn publish(mut self, port: &str) -> Self {
        self.body
            .exposed_ports
            .get_or_insert_with(Default::default)
            .insert(port.to_owned(), serde_json::json!({}));
        let binding = PortBinding {
            host_ip: Some("127.0.0.1".into()),
            host_port: Some(String::new()),
        };
        self.body
            .host_config
            .get_or_insert_with(Default::default)
            .port_bindings
            .get_or_insert_with(Default::default)
            .insert(port.to_owned(), Some(vec![binding]));
        self
    }

    /// Any other setting, on the body as it stands.
    pub fn with(mut self, configure: impl FnOnce(&mut ContainerCreateBody)) -> Self {
        configure(&mut self.body);
        self
    }

    pub async fn create(self, docker: &Docker) -> ContainerGuard {
        let image = match self.image {
            Some(image) => image,
            None => busybox_image(docker).await.to_owned(),
        };
        let body = ContainerCreateBody {
            image: Some(image),
            ..self.body
        };
        let created = docker
            .containers()
            .create(body)
            .name(unique_name(&self.prefix))
            .send()
            .await
            .unwrap_or_else(|error| panic!("creating the {} container: {error}", self.prefix));
        ContainerGuard { id: created.id }
    }

    pub async fn start(self, docker: &Docker) -> ContainerGuard {
        let prefix = self.prefix.clone();
        let container = self.create(docker).await;
        docker
            .containers()
            .start(&container.id)
            .send()
            .await
            .unwrap_or_else(|error| panic!("starting the {prefix} container: {error}"));
        container
    }
}

/// Waits for container `id` to exit, then until the daemon lists it as exited (at most ten
/// seconds): Docker wakes a wait before it updates the copy of its containers that listings read
/// (moby's `handleContainerExit` stops the container, then checkpoints it), so a listing right
/// after a wait may still show the container running.
pub async fn wait_until_listed_as_exited(docker: &Docker, id: &str) {
    docker
        .containers()
        .wait(id)
        .send()
        .await
        .expect("wait for the container");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let listed = docker
            .containers()
            .list()
            .all(true)
            .send()
            .await
            .expect("list containers");
        let state = listed
            .iter()
            .find(|container| container.id.as_deref() == Some(id))
            .and_then(|container| container.state.clone());
        if state.as_deref() == Some("exited") {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "container {id} exited but is listed as {state:?} ten seconds later"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
