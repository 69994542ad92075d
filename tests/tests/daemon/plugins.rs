//! A managed plugin made from a busybox root filesystem, taken through its whole life on the
//! success path: create, list, inspect, set, enable, disable, push to the test registry,
//! privileges, pull, upgrade, delete.

use daemon_test_macros::daemon_test;
use daemon_tests::{busybox_rootfs, docker, drain, TestRegistry};
use docker_engine_runtime::{Body, Client, Method, Request};

const SOCKET: &str = "test.sock";

/// The status of the daemon's refusal of a malformed parameter: measured, dockerd 20.10 answers
/// 500 and Docker 29 400 (the same parse errors, classed as the client's).
fn bad_input_status() -> u16 {
    match daemon_tests::facts().major() {
        29.. => 400,
        _ => 500,
    }
}

#[daemon_test]
async fn a_plugin_is_created_configured_enabled_pushed_pulled_upgraded_and_removed() {
    let docker = docker();
    let registry = TestRegistry::from_env();
    let plugins = docker.plugins();
    let name = format!("{}:latest", registry.repository("plugin"));

    let created = plugins
        .create(&name)
        .body(Body::from(plugin_context(&name)))
        .send()
        .await;
    if daemon_tests::unimplemented_on_podman(&created) {
        return;
    }
    created.unwrap();
    let _guard = PluginGuard(name.clone());
    let listed = plugins.list().send().await.unwrap();
    assert!(listed.iter().any(|p| p.name == name), "{listed:?}");
    let inspected = plugins.inspect(&name).send().await.unwrap();
    assert!(!inspected.enabled);
    let config = inspected.config;
    let interface = config.interface;
    assert_eq!(interface.socket, SOCKET);
    assert_eq!(interface.types, ["docker.volumedriver/1.0"]);

    plugins.set(&name).body(vec!["DEBUG=1".into()]).send().await.unwrap();
    let settings = plugins.inspect(&name).send().await.unwrap().settings;
    assert!(settings.env.contains(&"DEBUG=1".to_owned()));

    // The spec says `timeout` defaults to 0; the daemon refuses a request without it, which
    // is why the override makes it required.
    let without_timeout = Request::new(Method::POST, format!("/plugins/{name}/enable"), "PluginEnable");
    let refused = docker.client().send_empty(without_timeout).await.unwrap_err();
    assert_eq!(refused.status(), Some(bad_input_status()), "{refused}");
    assert!(refused.to_string().contains("strconv.Atoi"), "{refused}");
    plugins.enable(&name, 30).send().await.unwrap();
    assert!(plugins.inspect(&name).send().await.unwrap().enabled);
    plugins.disable(&name).send().await.unwrap();
    assert!(!plugins.inspect(&name).send().await.unwrap().enabled);

    let pushed = drain(
        plugins
            .push(&name)
            .x_registry_auth(registry.auth())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(
        pushed
            .iter()
            .any(|m| m.aux.as_ref().and_then(|a| a.digest.as_ref()).is_some()),
        "{pushed:?}"
    );

    let privileges = plugins
        .get_privileges(&name)
        .x_registry_auth(registry.auth())
        .send()
        .await
        .unwrap();
    let network = privileges.iter().find(|p| p.name.as_deref() == Some("network"));
    assert_eq!(
        network.and_then(|p| p.value.clone()),
        Some(vec!["host".to_owned()]),
        "{privileges:?}"
    );
    let anonymous = plugins.get_privileges(&name).send().await.unwrap();
    assert_eq!(
        anonymous,
        vec![],
        "without credentials the daemon answers no privileges"
    );
    // 1.25 and 1.26 specs call the parameter `name`; the daemon reads only `remote`, and
    // without it finds no reference.
    let named = Request::new(Method::GET, "/plugins/privileges".into(), "GetPluginPrivileges").query("name", &name);
    let refused = docker.client().send_empty(named).await.unwrap_err();
    assert_eq!(refused.status(), Some(bad_input_status()), "{refused}");
    assert!(refused.to_string().contains("invalid reference format"), "{refused}");
    // Where the daemon still accepts 1.25 (its refusal of older crates is the versions tests').
    if daemon_tests::facts().accepts(docker_engine_v1_25::API_VERSION) {
        let endpoint = daemon_tests::daemon();
        let v1_25 =
            docker_engine_v1_25::Docker::with_client(Client::new(endpoint, docker_engine_v1_25::API_VERSION).unwrap());
        let old_privileges = v1_25
            .plugins()
            .get_privileges(&name)
            .x_registry_auth(registry.auth())
            .send()
            .await
            .unwrap();
        assert_eq!(
            serde_json::to_value(old_privileges).unwrap(),
            serde_json::to_value(&privileges).unwrap()
        );
    }

    // Upgrading to the same reference replaces the plugin's files with the pushed ones.
    let upgraded = plugins
        .upgrade(&name, &name)
        .x_registry_auth(registry.auth())
        .body(privileges.clone())
        .send()
        .await
        .unwrap();
    drain(upgraded).await;

    plugins.delete(&name).send().await.unwrap();
    assert!(plugins.inspect(&name).send().await.unwrap_err().is_not_found());
    // Pulled back under a local alias, as `docker plugin install --alias` does.
    let alias = format!("{}:latest", daemon_tests::unique_name("plugin-alias"));
    let _alias_guard = PluginGuard(alias.clone());
    let pulled = plugins
        .pull(&name)
        .name(&alias)
        .x_registry_auth(registry.auth())
        .body(privileges)
        .send()
        .await
        .unwrap();
    drain(pulled).await;
    let reinstalled = plugins.inspect(&alias).send().await.unwrap();
    assert_eq!(
        reinstalled.plugin_reference.as_deref(),
        Some(name.as_str()),
        "{reinstalled:?}"
    );
    // dockerd 20.10 answers a removal with an empty body where the spec promises the plugin.
    plugins.delete(&alias).force(true).send().await.unwrap();
    assert!(plugins.inspect(&alias).send().await.unwrap_err().is_not_found());
}

/// Removes the plugin when dropped, so a failing test leaves nothing behind.
struct PluginGuard(String);

impl Drop for PluginGuard {
    fn drop(&mut self) {
        let name = self.0.clone();
        daemon_tests::clean_up(daemon_tests::docker, |docker| async move {
            let _ = docker.plugins().delete(&name).force(true).send().await;
        });
    }
}

/// The plugin's build context: `config.json` declaring a volume driver interface, a setting
/// and host networking, and `rootfs/` holding busybox, the listener with its libraries, and
/// the plugin's name (the daemon refuses a second plugin whose files are the same as one it has).
pub(crate) fn plugin_context(name: &str) -> Vec<u8> {
    let listener = env!("CARGO_BIN_EXE_plugin-socket");
    let config = serde_json::json!({
        "description": "a volume plugin made by the daemon tests",
        "documentation": "https://docs.docker.com/engine/extend/config/",
        "entrypoint": ["/bin/plugin-socket", format!("/run/docker/plugins/{SOCKET}")],
        "interface": {"types": ["docker.volumedriver/1.0"], "socket": SOCKET},
        "network": {"type": "host"},
        "env": [{"name": "DEBUG", "description": "log more", "settable": ["value"], "value": "0"}],
        "args": {"name": "args", "description": "", "settable": null, "value": null},
        "linux": {"capabilities": null, "allowAllDevices": false, "devices": null},
    });
    let mut archive = tar::Builder::new(Vec::new());
    append_file(&mut archive, "config.json", config.to_string().as_bytes(), 0o644);
    append_file(&mut archive, "rootfs/etc/plugin-name", name.as_bytes(), 0o644);
    let rootfs = busybox_rootfs();
    for entry in tar::Archive::new(rootfs.as_slice()).entries().unwrap() {
        let mut entry = entry.unwrap();
        let mut header = entry.header().clone();
        let path = std::path::Path::new("rootfs").join(entry.path().unwrap());
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut data).unwrap();
        if header.entry_type() == tar::EntryType::Symlink {
            let target = entry.link_name().unwrap().unwrap().into_owned();
            archive.append_link(&mut header, path, target).unwrap();
        } else {
            archive.append_data(&mut header, path, data.as_slice()).unwrap();
        }
    }
    append_file(
        &mut archive,
        "rootfs/bin/plugin-socket",
        &std::fs::read(listener).unwrap(),
        0o755,
    );
    for library in shared_libraries(listener) {
        let inside = format!("rootfs{library}");
        append_file(&mut archive, &inside, &std::fs::read(&library).unwrap(), 0o755);
    }
    archive.into_inner().unwrap()
}

fn append_file(archive: &mut tar::Builder<Vec<u8>>, path: &str, data: &[u8], mode: u32) {
    let mut header = tar::Header::new_gnu();
    header.set_size(data.len() as u64);
    header.set_mode(mode);
    header.set_cksum();
    archive.append_data(&mut header, path, data).unwrap();
}

/// The shared libraries `program` loads, loader included, as `ldd` lists them.
fn shared_libraries(program: &str) -> Vec<String> {
    let output = std::process::Command::new("ldd")
        .arg(program)
        .output()
        .expect("ldd (libc-bin)");
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .filter_map(|line| {
            let path = line.split("=>").last()?.split_whitespace().next()?;
            path.starts_with('/').then(|| path.to_owned())
        })
        .collect()
}
