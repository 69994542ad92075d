//! What differs between the API families the generator serves, in one place: where a spec and
//! its crate live, the crate's names, the templates of its manifest and README, and which
//! source files it gets. The emitter asks here rather than branching on the family itself.

use crate::ir::Api;
use crate::ApiVersion;

/// Which API a spec describes: it decides where the spec and its crate live, and how the crate
/// reaches its server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ApiFamily {
    /// The Docker Engine API (`specs/vX.YY/`): paths under a negotiated `/vX.YY` prefix, patched
    /// by `codegen/overrides.yaml`.
    Engine,
    /// The Registry HTTP API (`specs/registry/vN/`): paths as written, no negotiation, challenge
    /// authentication.
    Registry,
}

impl ApiFamily {
    /// The spec's path under `specs/`.
    pub fn spec_path(self, version: ApiVersion) -> String {
        match self {
            ApiFamily::Engine => format!("v{version}/swagger.yaml"),
            ApiFamily::Registry => format!("registry/v{}/swagger.yaml", version.major),
        }
    }

    /// The folder of the version's generated crate under `generated-client/`.
    pub fn crate_folder(self, version: ApiVersion) -> String {
        match self {
            ApiFamily::Engine => version.crate_folder(),
            ApiFamily::Registry => format!("registry_v{}", version.major),
        }
    }

    /// The name of the version's crate, e.g. `docker-engine-v1-41` or `docker-registry-v2`.
    pub fn crate_name(self, version: ApiVersion) -> String {
        match self {
            ApiFamily::Engine => format!("docker-engine-v{}-{}", version.major, version.minor),
            ApiFamily::Registry => format!("docker-registry-v{}", version.major),
        }
    }

    /// The crate's client type, the root of every accessor.
    pub fn client_type(self) -> &'static str {
        match self {
            ApiFamily::Engine => "Docker",
            ApiFamily::Registry => "Registry",
        }
    }

    /// The source files a crate of this family gets, by path under the crate's folder.
    pub(crate) fn sources(self) -> &'static [(&'static str, Source)] {
        match self {
            ApiFamily::Engine => &[
                ("src/models.rs", Source::Models),
                ("src/operations.rs", Source::Operations),
                ("src/filters.rs", Source::Filters),
                ("src/lib.rs", Source::DockerLib),
                ("src/mock.rs", Source::Mock),
                ("src/examples.rs", Source::Examples),
            ],
            ApiFamily::Registry => &[
                ("src/models.rs", Source::Models),
                ("src/operations.rs", Source::Operations),
                ("src/lib.rs", Source::RegistryLib),
            ],
        }
    }

    /// The crate's `Cargo.toml`.
    pub(crate) fn cargo_toml(self, api: &Api, runtime_version: &str) -> String {
        let name = self.crate_name(api.version);
        let (description, keywords, features, runtime_options) = match self {
            ApiFamily::Engine => (
                format!("Typed client for Docker Engine API v{}", api.version),
                r#"["docker", "docker-engine", "containers", "api-client", "podman"]"#,
                include_str!("../templates/engine-features.toml"),
                "default-features = false",
            ),
            ApiFamily::Registry => (
                format!(
                    "Typed client for the Registry HTTP API v{}, which image registries serve",
                    api.version.major
                ),
                r#"["docker", "registry", "oci", "containers", "api-client"]"#,
                include_str!("../templates/registry-features.toml"),
                r#"default-features = false, features = ["registry"]"#,
            ),
        };
        fill(
            include_str!("../templates/Cargo.toml"),
            &[
                ("name", &name),
                ("runtime_version", runtime_version),
                ("description", &description),
                ("keywords", keywords),
                ("features", features),
                ("runtime_options", runtime_options),
            ],
        )
    }

    /// The crate's README, which crates.io and docs.rs show: what it reaches, how to depend on
    /// it and connect, its features, and how its version relates to the API's.
    pub(crate) fn readme(self, api: &Api, runtime_version: &str) -> String {
        let name = self.crate_name(api.version);
        let ident = name.replace('-', "_");
        let major_minor = runtime_version
            .rsplit_once('.')
            .map_or(runtime_version, |(head, _)| head);
        match self {
            ApiFamily::Engine => {
                let version = api.version.to_string();
                let native = match DOCKER_RELEASES.iter().find(|(api_version, _)| *api_version == version) {
                    Some((_, releases)) => {
                        format!("Docker Engine {releases} speaks API v{version} as its highest version.")
                    }
                    None => {
                        format!("No Docker Engine release is listed for API v{version} in Docker's version matrix yet.")
                    }
                };
                fill(
                    include_str!("../templates/engine-README.md"),
                    &[
                        ("name", &name),
                        ("ident", &ident),
                        ("version", &version),
                        ("native", &native),
                        ("major_minor", major_minor),
                        ("runtime_version", runtime_version),
                    ],
                )
            }
            ApiFamily::Registry => fill(
                include_str!("../templates/registry-README.md"),
                &[
                    ("name", &name),
                    ("ident", &ident),
                    ("major", &api.version.major.to_string()),
                    ("major_minor", major_minor),
                ],
            ),
        }
    }
}

/// The source files a generated crate can hold, each written by its own part of the emitter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    Models,
    Operations,
    /// An Engine crate's typed filters, one type per operation that takes `filters`.
    Filters,
    /// `lib.rs` of an Engine crate: `Docker`, connected to a daemon.
    DockerLib,
    /// `lib.rs` of a Registry crate: `Registry`, connected to a registry by address.
    RegistryLib,
    Mock,
    /// `example()` of every model of an Engine crate, for the fake daemon's answers.
    Examples,
}

/// `template` with each `{key}` replaced by its value; a key the template lacks is a bug of the
/// generator, found by every generation.
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut text = template.to_owned();
    for (key, value) in values {
        let placeholder = format!("{{{key}}}");
        assert!(text.contains(&placeholder), "the template has no {placeholder}");
        text = text.replace(&placeholder, value);
    }
    text
}

/// The Docker Engine releases whose highest API version each version is, from Docker's API
/// version matrix; a version missing here has no release listed there yet.
const DOCKER_RELEASES: &[(&str, &str)] = &[
    ("1.25", "1.13"),
    ("1.26", "1.13.1 and 17.03"),
    ("1.27", "17.03.1"),
    ("1.28", "17.04"),
    ("1.29", "17.05"),
    ("1.30", "17.06"),
    ("1.31", "17.07"),
    ("1.32", "17.09"),
    ("1.33", "17.10"),
    ("1.34", "17.11"),
    ("1.35", "17.12"),
    ("1.36", "18.02"),
    ("1.37", "18.03 to 18.05"),
    ("1.38", "18.06"),
    ("1.39", "18.09"),
    ("1.40", "19.03"),
    ("1.41", "20.10"),
    ("1.42", "23.0"),
    ("1.43", "24.0"),
    ("1.44", "25.0"),
    ("1.45", "26.0 and 26.1"),
    ("1.46", "27.0 and 27.1"),
    ("1.47", "27.2 to 27.5"),
    ("1.48", "28.0"),
    ("1.49", "28.1"),
    ("1.50", "28.2"),
    ("1.51", "28.3 to 28.5"),
    ("1.52", "29.0 and 29.1"),
    ("1.53", "29.2"),
];
