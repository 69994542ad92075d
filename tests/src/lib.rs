//! The harness of the tests that drive real servers, one module per concern; the tests import
//! its names from the crate root.

mod busybox;
mod coverage;
mod endpoints;
pub mod faults;
mod podman;
mod processes;
mod recipes;
mod registry;
pub mod replay;
mod servers;
pub mod token_service;

pub use busybox::{
    busybox_image, busybox_rootfs, clean_up, unique_name, wait_until_listed_as_exited, ContainerGuard, TestContainer,
    BUSYBOX,
};
pub use endpoints::{context_config, ssh_dir, ssh_endpoint, ssh_target, tls_context_config};
pub use podman::{events_until, listed_name, podman_does_not_implement, unimplemented_on_podman};
pub use processes::{describe_output, program_without_docker_environment, wait_at_most};
pub use recipes::{exec_to_the_end, transport_smoke};
pub use registry::{drain, TestRegistry};
pub use replay::TestSession;
pub use servers::{
    companion_variable, daemon, docker, docker_at, facts, peer_docker, server, swarm_addresses, DaemonFacts, Server,
    ONE_DATA_USAGE, ONE_SWARM,
};
