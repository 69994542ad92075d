//! Each container operation on a created, running, paused and exited container. What the daemon
//! accepts decodes into its typed value; what it refuses is an error with the status and the
//! words of its message. Every deviation is collected, so one run lists them all.

use daemon_test_macros::daemon_test;
use std::fmt::Debug;
use std::time::Duration;

use daemon_tests::{docker, server, ContainerGuard, DaemonFacts, Server, TestContainer};
use docker_engine_runtime::{Outcome as Change, Result};
use docker_engine_v1_41::models::{ContainerStateStatus, ContainerUpdateBody, ExecConfig};
use docker_engine_v1_41::Docker;
use futures_util::StreamExt;

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    Created,
    Running,
    Paused,
    Exited,
}

const STATES: [State; 4] = [State::Created, State::Running, State::Paused, State::Exited];

/// What the daemon does with an operation in a state.
#[derive(Debug, Clone, Copy)]
enum Outcome {
    Succeeds,
    /// Accepted with nothing to do: 304 (a container already started, already stopped).
    AlreadySo,
    /// Refused with this status and a message containing these words.
    Refused(u16, &'static str),
    /// Refused as an operation the server does not implement.
    NotImplemented,
    /// Answered with frames whose lengths do not match their bytes, so the stream ends inside
    /// a frame.
    Malformed,
}
use Outcome::{AlreadySo, Malformed, NotImplemented, Refused, Succeeds};

const NOT_RUNNING: Outcome = Refused(409, "is not running");
const IS_PAUSED: Outcome = Refused(409, "is paused");
const NOT_PAUSED: Outcome = Refused(500, "is not paused");

/// The command every container runs: one line of output, then a wait long enough for the test.
const COMMAND: &str = "echo hello; exec sleep 300";

async fn container_in(docker: &Docker, state: State) -> ContainerGuard {
    let container = TestContainer::new("state", COMMAND).create(docker).await;
    let containers = docker.containers();
    if state != State::Created {
        containers.start(&container.id).send().await.unwrap();
    }
    match state {
        State::Paused => containers.pause(&container.id).send().await.unwrap(),
        State::Exited => {
            containers.kill(&container.id).send().await.unwrap();
            containers.wait(&container.id).send().await.unwrap();
        }
        State::Created | State::Running => {}
    }
    container
}

async fn status_of(docker: &Docker, id: &str) -> Option<ContainerStateStatus> {
    docker.containers().inspect(id).send().await.unwrap().state?.status
}

fn expected_status(state: State) -> ContainerStateStatus {
    match state {
        State::Created => ContainerStateStatus::Created,
        State::Running => ContainerStateStatus::Running,
        State::Paused => ContainerStateStatus::Paused,
        State::Exited => ContainerStateStatus::Exited,
    }
}

/// Compares what happened with what was expected; a deviation is added to `deviations`.
/// Returns the value when the operation succeeded as expected.
fn check<T: Debug>(
    deviations: &mut Vec<String>,
    operation: &str,
    state: State,
    result: Result<T>,
    expected: Outcome,
) -> Option<T> {
    match (result, expected) {
        (Ok(value), Succeeds) => return Some(value),
        (Err(error), Refused(status, words)) if error.status() == Some(status) && error.to_string().contains(words) => {
        }
        (Err(error), NotImplemented) if daemon_tests::podman_does_not_implement(&error) => {}
        (Err(docker_engine_runtime::Error::Truncated { .. }), Malformed) => {}
        (result, expected) => deviations.push(format!(
            "{operation} on a {state:?} container: expected {expected:?}, got {result:?}"
        )),
    }
    None
}

#[daemon_test]
async fn read_operations_in_every_state() {
    let docker = docker();
    let containers = docker.containers();
    let mut deviations = Vec::new();
    for state in STATES {
        let container = container_in(&docker, state).await;
        let id = container.id.as_str();
        let running = matches!(state, State::Running | State::Paused);
        let podman = server() == Server::Podman;
        let deviations = &mut deviations;

        let inspected = check(
            deviations,
            "inspect",
            state,
            containers.inspect(id).send().await,
            Succeeds,
        );
        let status = inspected.and_then(|i| i.state).and_then(|s| s.status);
        if status != Some(expected_status(state)) {
            deviations.push(format!("a {state:?} container is inspected as {status:?}"));
        }

        let top = containers.top(id).send().await;
        // Podman answers every state, listing processes only of a running container.
        let top_outcome = if running || podman { Succeeds } else { NOT_RUNNING };
        let lists_processes = state == State::Running || (state == State::Paused && !podman);
        if let Some(top) = check(deviations, "top", state, top, top_outcome) {
            if top.processes.unwrap_or_default().is_empty() == lists_processes {
                deviations.push(format!(
                    "top of a {state:?} container: processes listed: {}",
                    !lists_processes
                ));
            }
        }

        let logs = match containers.logs(id).stdout(true).send().await {
            Ok(output) => output.read_all().await,
            Err(error) => Err(error),
        };
        if let Some((stdout, _)) = check(deviations, "logs", state, logs, Succeeds) {
            let expected: &[u8] = if state == State::Created { b"" } else { b"hello\n" };
            if stdout != expected {
                deviations.push(format!(
                    "logs of a {state:?} container: {:?}",
                    String::from_utf8_lossy(&stdout)
                ));
            }
        }

        check(
            deviations,
            "changes",
            state,
            containers.changes(id).send().await,
            Succeeds,
        );

        let exported = match containers.export(id).send().await {
            Ok(bytes) => bytes.read_all().await,
            Err(error) => Err(error),
        };
        if let Some(tar) = check(deviations, "export", state, exported, Succeeds) {
            let has_busybox = tar::Archive::new(tar.as_slice()).entries().is_ok_and(|mut entries| {
                entries.any(|e| e.is_ok_and(|e| e.path().is_ok_and(|p| p.ends_with("busybox"))))
            });
            if !has_busybox {
                deviations.push(format!("the export of a {state:?} container has no bin/busybox"));
            }
        }

        let stats = match containers.stats(id).stream(false).send().await {
            Ok(mut stream) => stream.next().await,
            Err(error) => Some(Err(error)),
        };
        // Podman answers an empty 200 for a container not running.
        let none_expected = podman && matches!(state, State::Created | State::Exited);
        let stats = match stats {
            None if none_expected => None,
            None => {
                deviations.push(format!("no stats for a {state:?} container"));
                None
            }
            Some(stats) => check(deviations, "stats", state, stats, Succeeds),
        };
        if let Some(stats) = stats {
            // Only a container with processes has a process count.
            let counted = stats.pids_stats.and_then(|p| p.current).unwrap_or(0) > 0;
            if counted != running {
                deviations.push(format!("stats of a {state:?} container: pids {counted}"));
            }
        }

        let info = containers.archive_info(id, "/bin").send().await;
        if let Some(stat) = check(deviations, "archive_info", state, info, Succeeds) {
            if stat.name != "bin" {
                deviations.push(format!("archive_info of /bin in a {state:?} container: {stat:?}"));
            }
        }
        let archive = match containers.archive(id, "/bin/sh").send().await {
            Ok(bytes) => bytes.read_all().await,
            Err(error) => Err(error),
        };
        check(deviations, "archive", state, archive, Succeeds);

        let resized = containers.resize(id, 30, 100).send().await;
        let resize_outcome = match state {
            State::Running => Succeeds,
            // Podman 4.3 refuses these saying it resizes "created or running containers".
            _ if podman => Refused(409, "can only resize created or running containers"),
            State::Paused => Succeeds,
            State::Created | State::Exited => NOT_RUNNING,
        };
        check(deviations, "resize", state, resized, resize_outcome);

        let attached = match containers.attach(id).logs(true).stream(false).stdout(true).send().await {
            Ok(session) => session.output.read_all().await,
            Err(error) => Err(error),
        };
        let attach_outcome = match state {
            State::Paused if podman => Refused(500, "can only attach to created or running containers"),
            State::Paused => IS_PAUSED,
            // Podman 4.3 replays a container's log in frames one byte shorter than what
            // follows their headers ("hello\n" under a length of 5).
            State::Running | State::Exited if podman => Malformed,
            _ => Succeeds,
        };
        if let Some((stdout, _)) = check(deviations, "attach (logs)", state, attached, attach_outcome) {
            let expected: &[u8] = if state == State::Created { b"" } else { b"hello\n" };
            if stdout != expected {
                deviations.push(format!("attach with logs to a {state:?} container: {stdout:?}"));
            }
        }

        let update = ContainerUpdateBody {
            cpu_shares: Some(512),
            ..Default::default()
        };
        check(
            deviations,
            "update",
            state,
            containers.update(id, update).send().await,
            if podman { NotImplemented } else { Succeeds },
        );

        let wait = tokio::time::timeout(Duration::from_secs(2), containers.wait(id).send()).await;
        match (wait, running) {
            (Err(_elapsed), true) => {}
            (Ok(waited), false) => {
                check(deviations, "wait", state, waited, Succeeds);
            }
            (wait, _) => deviations.push(format!("wait on a {state:?} container: {wait:?}")),
        }

        let exec = ExecConfig {
            cmd: Some(vec!["true".into()]),
            ..Default::default()
        };
        let exec_outcome = match state {
            State::Running => Succeeds,
            State::Created | State::Exited if podman => Refused(500, "container state improper"),
            State::Paused => IS_PAUSED,
            State::Created | State::Exited => NOT_RUNNING,
        };
        check(
            deviations,
            "exec create",
            state,
            docker.exec().create(id, exec).send().await,
            exec_outcome,
        );
    }
    assert!(deviations.is_empty(), "{}", deviations.join("\n"));
}

/// The operations that move a container from one state to another.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Transition {
    Start,
    Stop,
    Restart,
    Kill,
    Pause,
    Unpause,
    Delete,
}

impl Transition {
    fn outcome(self, state: State, facts: &DaemonFacts) -> Outcome {
        match (facts.server, self.docker_outcome(state)) {
            // Podman refuses with a 500 where Docker answers 409, and also refuses to stop or
            // restart a paused container, which Docker does.
            (Server::Podman, Refused(409, _)) => Refused(500, "container state improper"),
            (Server::Podman, _) if matches!(self, Transition::Stop | Transition::Restart) && state == State::Paused => {
                Refused(500, "container state improper")
            }
            // Podman stops a container never started (204) where Docker has nothing to do (304).
            (Server::Podman, AlreadySo) if self == Transition::Stop && state == State::Created => Succeeds,
            // Docker 25 reworded its refusals to remove a container still running.
            (Server::Docker, Refused(409, _)) if self == Transition::Delete && facts.major() >= 25 => match state {
                State::Paused => Refused(409, "container is paused and must be unpaused first"),
                _ => Refused(
                    409,
                    "container is running: stop the container before removing or force remove",
                ),
            },
            (_, outcome) => outcome,
        }
    }

    fn docker_outcome(self, state: State) -> Outcome {
        use State::*;
        match (self, state) {
            // Starting a running container and stopping one not running answer 304, not an error.
            (Transition::Start, Created | Exited) => Succeeds,
            (Transition::Start, Running) => AlreadySo,
            (Transition::Start, Paused) => Refused(409, "cannot start a paused container"),
            (Transition::Stop, Created | Exited) => AlreadySo,
            (Transition::Stop | Transition::Restart, _) => Succeeds,
            (Transition::Kill, Running | Paused) => Succeeds,
            (Transition::Kill | Transition::Pause, Created | Exited) => NOT_RUNNING,
            (Transition::Pause, Running) => Succeeds,
            (Transition::Pause, Paused) => Refused(409, "is already paused"),
            (Transition::Unpause, Paused) => Succeeds,
            (Transition::Unpause, Created | Running | Exited) => NOT_PAUSED,
            (Transition::Delete, Created | Exited) => Succeeds,
            (Transition::Delete, Running) => Refused(409, "cannot remove a running container"),
            (Transition::Delete, Paused) => Refused(409, "cannot remove a paused container"),
        }
    }

    /// The state the container is in once the transition succeeded (`None`: it is gone).
    fn destination(self, from: State) -> Option<State> {
        match self {
            Transition::Start | Transition::Restart | Transition::Unpause => Some(State::Running),
            Transition::Stop if from == State::Created => Some(State::Created),
            Transition::Stop | Transition::Kill => Some(State::Exited),
            Transition::Pause => Some(State::Paused),
            Transition::Delete => None,
        }
    }

    async fn apply(self, docker: &Docker, id: &str) -> Result<Change> {
        let containers = docker.containers();
        let done = |answer: Result<()>| answer.map(|()| Change::Done);
        match self {
            Transition::Start => containers.start(id).send().await,
            Transition::Stop => containers.stop(id).t(1).send().await,
            Transition::Restart => done(containers.restart(id).t(1).send().await),
            Transition::Kill => done(containers.kill(id).send().await),
            Transition::Pause => done(containers.pause(id).send().await),
            Transition::Unpause => done(containers.unpause(id).send().await),
            Transition::Delete => done(containers.delete(id).send().await),
        }
    }
}

#[daemon_test]
async fn transitions_from_every_state() {
    let docker = docker();
    let transitions = [
        Transition::Start,
        Transition::Stop,
        Transition::Restart,
        Transition::Kill,
        Transition::Pause,
        Transition::Unpause,
        Transition::Delete,
    ];
    let cases = STATES
        .into_iter()
        .flat_map(|state| transitions.map(|transition| (state, transition)));
    let deviations = futures_util::stream::iter(cases)
        .map(|(state, transition)| {
            let docker = docker.clone();
            async move {
                let mut deviations = Vec::new();
                let container = container_in(&docker, state).await;
                let operation = format!("{transition:?}");
                let result = transition.apply(&docker, &container.id).await;
                let expected = transition.outcome(state, daemon_tests::facts());
                let succeeded = match (result, expected) {
                    (Ok(change), Succeeds | AlreadySo) => {
                        let told = match expected {
                            AlreadySo => Change::AlreadyDone,
                            _ => Change::Done,
                        };
                        if change != told {
                            deviations.push(format!(
                                "{operation} on a {state:?} container: expected {expected:?}, got {change:?}"
                            ));
                        }
                        true
                    }
                    (result, expected) => check(&mut deviations, &operation, state, result, expected).is_some(),
                };
                if succeeded {
                    if transition == Transition::Kill {
                        docker.containers().wait(&container.id).send().await.unwrap();
                    }
                    let reached = match transition.destination(state) {
                        Some(destination) => {
                            status_of(&docker, &container.id).await == Some(expected_status(destination))
                        }
                        None => docker
                            .containers()
                            .inspect(&container.id)
                            .send()
                            .await
                            .is_err_and(|e| e.is_not_found()),
                    };
                    if !reached {
                        deviations.push(format!(
                            "{operation} from {state:?} did not reach {:?}",
                            transition.destination(state)
                        ));
                    }
                }
                deviations
            }
        })
        .buffer_unordered(4)
        .concat()
        .await;
    assert!(deviations.is_empty(), "{}", deviations.join("\n"));
}
