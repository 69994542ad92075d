//! The tests that drive real servers through the generated clients: the test daemon (dockerd
//! or Podman, from `DOCKER_TEST_HOST`), the registries, the peer daemon and the sshd the test
//! script starts. One binary, one module per subject: the workspace is linked once.
//!
//! libtest runs tests in the order of their names, so each module's tests run together, as
//! they did when each module was a binary of its own.

mod buildkit;
mod containers;
mod daemon_dies;
mod extras;
mod faults;
mod filters;
mod images;
mod lifecycle;
mod load;
mod plugins;
mod reads;
mod registry;
mod resources;
mod ssh;
mod states;
mod swarm;
mod transports;
mod versions;
