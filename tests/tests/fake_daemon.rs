//! The v1.41 crate's fake daemon, driven by its own client: typed answers for each kind of
//! response, errors, operations left unset, the request log and version negotiation, with no
//! daemon; and a session recorded against the test daemon, replayed without it.

use daemon_test_macros::daemon_test;
use std::time::Duration;

use daemon_tests::{busybox_image, daemon, docker_at, unique_name};
use docker_engine_runtime::mock::{Bytes, MockError, MockSession, MockStream, Recorder};
use docker_engine_runtime::{Client, Environment, Error, Outcome, Output, PathStat, USER_AGENT};
use docker_engine_v1_41::mock::MockDaemon;
use docker_engine_v1_41::models::{
    ContainerCreateBody, ContainerCreateResponse, ContainerSummary, EventActor, EventMessage, ExecStartConfig,
};
use docker_engine_v1_41::Docker;
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

/// Each test's whole exchange stays within this.
const LIMIT: Duration = Duration::from_secs(30);

async fn within<T>(work: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(LIMIT, work)
        .await
        .expect("the mock exchange took too long")
}

fn summary(id: &str, state: &str) -> ContainerSummary {
    ContainerSummary {
        id: Some(id.into()),
        names: Some(vec![format!("/{id}")]),
        state: Some(state.into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn typed_answers_reach_the_client_and_requests_are_logged() {
    within(async {
        let mock = MockDaemon::start().await.unwrap();
        mock.containers().list(|request| {
            let running_only = !request.flag("all");
            let wanted = request.filters()?.remove("label").unwrap_or_default();
            assert_eq!(wanted, ["app=web"]);
            let all = vec![summary("a", "running"), summary("b", "exited")];
            Ok(all
                .into_iter()
                .filter(|c| !running_only || c.state.as_deref() == Some("running"))
                .collect())
        });
        mock.containers().create(|request| {
            if request.query("name") == Some("taken") {
                return Err(MockError::conflict(
                    "Conflict. The container name \"/taken\" is already in use",
                ));
            }
            let body = request.body.ok_or_else(|| MockError::bad_request("no config"))?;
            Ok(ContainerCreateResponse {
                id: format!("id-of-{}", body.image.unwrap_or_default()),
                warnings: vec![],
            })
        });
        let docker = mock.docker().unwrap();

        let filters = docker_engine_runtime::Filters::new().add("label", "app=web");
        let listed = docker
            .containers()
            .list()
            .all(true)
            .filters(filters.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(listed, vec![summary("a", "running"), summary("b", "exited")]);
        let running = docker.containers().list().filters(filters).send().await.unwrap();
        assert_eq!(running.len(), 1);

        let config = ContainerCreateBody {
            image: Some("busybox".into()),
            ..Default::default()
        };
        let created = docker
            .containers()
            .create(config.clone())
            .name("web")
            .send()
            .await
            .unwrap();
        assert_eq!(created.id, "id-of-busybox");
        match docker.containers().create(config).name("taken").send().await {
            Err(Error::Daemon {
                status: 409, message, ..
            }) => assert!(message.contains("already in use"), "{message}"),
            other => panic!("expected the mock's 409, got {other:?}"),
        }

        let requests = mock.server().requests();
        let operations: Vec<_> = requests.iter().filter_map(|r| r.operation).collect();
        assert_eq!(
            operations,
            [
                "SystemPingHead",
                "ContainerList",
                "ContainerList",
                "ContainerCreate",
                "ContainerCreate"
            ],
            "the client negotiated once, then sent each request"
        );
        let create = &requests[3];
        assert_eq!(
            (create.method.as_str(), create.path.as_str()),
            ("POST", "/v1.41/containers/create")
        );
        assert_eq!(create.query, [("name".to_owned(), "web".to_owned())]);
        let sent: serde_json::Value = serde_json::from_slice(&create.body).unwrap();
        assert_eq!(sent["Image"], "busybox");
    })
    .await
}

/// Starting a container already running answers 304 with no body, as dockerd does; the client
/// tells it from a start (204), which `send_outcome` reads from the status alone.
#[tokio::test]
async fn a_start_of_a_running_container_is_told_from_a_start() {
    within(async {
        let mock = MockDaemon::start().await.unwrap();
        mock.containers().start(|request| match request.path_parameter("id") {
            "running" => Ok(Outcome::AlreadyDone),
            _ => Ok(Outcome::Done),
        });
        let docker = mock.docker().unwrap();
        assert_eq!(
            docker.containers().start("running").await.unwrap(),
            Outcome::AlreadyDone
        );
        assert_eq!(docker.containers().start("stopped").await.unwrap(), Outcome::Done);
    })
    .await
}

/// What a test subscriber saw: each span's name and fields (as recorded, in order), and each
/// event's fields.
#[derive(Default)]
struct Seen {
    spans: Vec<(&'static str, Vec<(String, String)>)>,
    events: Vec<Vec<(String, String)>>,
}

struct Fields<'a>(&'a mut Vec<(String, String)>);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push((field.name().to_owned(), format!("{value:?}")));
    }

    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.push((field.name().to_owned(), value.to_owned()));
    }
}

/// Keeps every span and event in `Seen`.
struct Keeper(std::sync::Arc<std::sync::Mutex<Seen>>);

impl tracing::Subscriber for Keeper {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let mut seen = self.0.lock().unwrap();
        let mut fields = Vec::new();
        span.record(&mut Fields(&mut fields));
        seen.spans.push((span.metadata().name(), fields));
        tracing::span::Id::from_u64(seen.spans.len() as u64)
    }

    fn record(&self, span: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        let mut seen = self.0.lock().unwrap();
        let index = span.into_u64() as usize - 1;
        values.record(&mut Fields(&mut seen.spans[index].1));
    }

    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}

    fn event(&self, event: &tracing::Event<'_>) {
        let mut fields = Vec::new();
        event.record(&mut Fields(&mut fields));
        self.0.lock().unwrap().events.push(fields);
    }

    fn enter(&self, _: &tracing::span::Id) {}

    fn exit(&self, _: &tracing::span::Id) {}
}

/// With the `tracing` feature, each request is a `docker_request` span with its operation,
/// method, path, API version and status (or error), and negotiation is an event.
#[tokio::test]
async fn each_request_is_a_span_with_its_operation_status_and_version() {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Seen::default()));
    let _default = tracing::subscriber::set_default(Keeper(seen.clone()));
    within(async {
        let mock = MockDaemon::start().await.unwrap();
        let docker = mock.docker().unwrap();
        docker.system().version().await.unwrap();
        docker.containers().inspect("nope").await.unwrap_err();
    })
    .await;
    let seen = seen.lock().unwrap();
    let field = |fields: &[(String, String)], name: &str| {
        fields
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    };
    let requests: Vec<_> = seen
        .spans
        .iter()
        .filter(|(name, _)| *name == "docker_request")
        .collect();
    let described: Vec<_> = requests
        .iter()
        .map(|(_, fields)| {
            ["operation", "method", "path", "api_version", "status"].map(|name| field(fields, name).unwrap_or_default())
        })
        .collect();
    assert_eq!(
        described,
        [
            ["SystemVersion", "GET", "/version", "1.41", "200"],
            ["ContainerInspect", "GET", "/containers/nope/json", "1.41", "501"],
        ]
    );
    let error = field(&requests[1].1, "error").unwrap_or_default();
    assert!(error.contains("no answer is set for ContainerInspect"), "{error}");
    let negotiated = seen
        .events
        .iter()
        .find(|fields| field(fields, "message").as_deref() == Some("negotiated the API version"))
        .expect("an event for the negotiation");
    assert_eq!(field(negotiated, "chosen").as_deref(), Some("1.41"));
}

/// Every request carries the client's User-Agent; a client made from the environment adds the
/// `HttpHeaders` of the CLI's `config.json`, as the Docker CLI does, and one that cannot be sent
/// is an error naming the file.
#[tokio::test]
async fn requests_carry_the_user_agent_and_the_cli_configs_http_headers() {
    within(async {
        let mock = MockDaemon::start().await.unwrap();
        let config_dir = std::env::temp_dir().join(unique_name("docker-config"));
        std::fs::create_dir_all(&config_dir).unwrap();
        let config = config_dir.join("config.json");
        std::fs::write(&config, r#"{"HttpHeaders":{"X-Meta-Source":"nightly"}}"#).unwrap();
        let environment = Environment {
            docker_host: Some(mock.server().endpoint().to_string()),
            docker_config: Some(config_dir.clone()),
            ..Default::default()
        };
        let client = Client::from_environment(&environment, docker_engine_v1_41::API_VERSION).unwrap();
        Docker::with_client(client).system().version().await.unwrap();
        let requests = mock.server().requests();
        assert!(!requests.is_empty());
        for request in &requests {
            assert_eq!(
                request.headers["user-agent"], USER_AGENT,
                "{} {}",
                request.method, request.path
            );
            assert_eq!(
                request.headers["x-meta-source"], "nightly",
                "{} {}",
                request.method, request.path
            );
        }
        assert!(USER_AGENT.starts_with("docker-engine-rs/0."), "{USER_AGENT}");

        std::fs::write(&config, r#"{"HttpHeaders":{"Bad Name":"x"}}"#).unwrap();
        let error = Client::from_environment(&environment, docker_engine_v1_41::API_VERSION).unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains(&config.display().to_string()) && message.contains("\"Bad Name\""),
            "{message}"
        );
        std::fs::remove_dir_all(&config_dir).unwrap();
    })
    .await
}

#[tokio::test]
async fn an_unset_operation_names_its_setter_and_a_missing_object_is_a_daemon_error() {
    within(async {
        let mock = MockDaemon::start().await.unwrap();
        mock.containers().inspect(|request| {
            Err(MockError::not_found(format!(
                "No such container: {}",
                request.path_parameter("id")
            )))
        });
        let docker = mock.docker().unwrap();
        match docker.containers().inspect("nope").send().await {
            Err(Error::Daemon {
                status: 404, message, ..
            }) => assert_eq!(message, "No such container: nope"),
            other => panic!("expected the mock's 404, got {other:?}"),
        }
        match docker.images().inspect("docker.io/library/busybox:latest").send().await {
            Err(error @ Error::Daemon { status: 501, .. }) => {
                assert_eq!(
                    error.to_string(),
                    "ImageInspect: daemon answered 501: no answer is set for ImageInspect in the fake daemon; \
                     set one with MockDaemon::images().inspect"
                );
            }
            other => panic!("expected the unset operation's 501 naming the setter, got {other:?}"),
        }
        let logged = mock.server().requests().pop().unwrap();
        assert_eq!(logged.path, "/v1.41/images/docker.io%2Flibrary%2Fbusybox%3Alatest/json");

        mock.volumes().inspect(|request| {
            assert_eq!(request.path_parameter("name"), "expected", "the test's own assertion");
            Err(MockError::not_found("unreachable"))
        });
        match docker.volumes().inspect("other").send().await {
            Err(Error::Daemon { status: 500, message, .. }) => assert!(
                message.starts_with("the mock's answer to VolumeInspect panicked: assertion `left == right` failed: the test's own assertion"),
                "{message}"
            ),
            other => panic!("expected the handler's panic as an error answer, got {other:?}"),
        }
    })
    .await
}

#[tokio::test]
async fn streams_output_and_bytes_arrive_as_given() {
    within(async {
        let mock = MockDaemon::start().await.unwrap();
        mock.system().events(|request| {
            assert_eq!(request.query("since"), Some("10"));
            Ok((1..=3)
                .map(|n| EventMessage {
                    action: Some("start".into()),
                    actor: Some(EventActor {
                        id: Some(format!("c{n}")),
                        ..Default::default()
                    }),
                    ..Default::default()
                })
                .collect())
        });
        mock.containers().logs(|_| {
            Ok(vec![
                Output::StdOut(Bytes::from_static(b"out 1\n")),
                Output::StdErr(Bytes::from_static(b"err 1\n")),
                Output::StdOut(Bytes::from_static(b"out 2\n")),
            ]
            .into())
        });
        let archive = Bytes::from(vec![7u8; 100_000]);
        let exported = archive.clone();
        mock.containers()
            .export(move |_| Ok(vec![exported.slice(..60_000), exported.slice(60_000..)].into()));
        mock.exec().start(|request| {
            let config = request.body.unwrap_or_default();
            assert_eq!(config.detach, Some(false));
            Ok(vec![Output::StdOut(Bytes::from_static(b"hello from exec\n"))].into())
        });
        mock.containers().archive_info(|request| {
            Ok(PathStat {
                name: request.query("path").unwrap_or_default().trim_start_matches('/').into(),
                size: 4,
                mode: 0o644,
                mtime: "2026-12-01T00:00:00Z".into(),
                link_target: String::new(),
            })
        });
        let docker = mock.docker().unwrap();

        let events: Vec<_> = docker
            .system()
            .events()
            .since("10")
            .send()
            .await
            .unwrap()
            .collect()
            .await;
        let actors: Vec<_> = events
            .into_iter()
            .map(|e| e.unwrap().actor.unwrap().id.unwrap())
            .collect();
        assert_eq!(actors, ["c1", "c2", "c3"]);

        let logs: Vec<_> = docker
            .containers()
            .logs("c1")
            .stdout(true)
            .stderr(true)
            .send()
            .await
            .unwrap()
            .collect()
            .await;
        let logs: Vec<Output> = logs.into_iter().map(Result::unwrap).collect();
        assert_eq!(
            logs,
            [
                Output::StdOut(Bytes::from_static(b"out 1\n")),
                Output::StdErr(Bytes::from_static(b"err 1\n")),
                Output::StdOut(Bytes::from_static(b"out 2\n"))
            ]
        );

        let mut export = docker.containers().export("c1").send().await.unwrap();
        let mut received = Vec::new();
        while let Some(chunk) = export.next().await {
            received.extend_from_slice(&chunk.unwrap());
        }
        assert_eq!(received, archive);

        let config = ExecStartConfig {
            detach: Some(false),
            ..Default::default()
        };
        let session = docker.exec().start("e1").body(config).send().await.unwrap();
        let output: Vec<_> = session.output.collect().await;
        assert_eq!(output.len(), 1);
        assert_eq!(output[0].as_ref().unwrap().bytes(), "hello from exec\n");

        let stat = docker
            .containers()
            .archive_info("c1", "/etc/hostname")
            .send()
            .await
            .unwrap();
        assert_eq!((stat.name.as_str(), stat.size), ("etc/hostname", 4));
    })
    .await
}

#[tokio::test]
async fn clients_negotiate_down_to_an_older_mock() {
    within(async {
        let mock = MockDaemon::start().await.unwrap();
        mock.server().set_api_version("1.40");
        let docker = mock.docker().unwrap();
        let version = docker.system().version().send().await.unwrap();
        assert_eq!(version.api_version.as_deref(), Some("1.40"));
        let paths: Vec<_> = mock.server().requests().into_iter().map(|r| r.path).collect();
        assert_eq!(paths, ["/_ping", "/v1.40/version"], "negotiated from the ping's header");

        let pinned = docker_engine_runtime::Client::with_options(
            mock.server().endpoint(),
            docker_engine_v1_41::API_VERSION,
            docker_engine_runtime::Options {
                version: docker_engine_runtime::VersionPolicy::Pinned("1.41".into()),
                ..Default::default()
            },
        )
        .unwrap();
        let pinned = docker_engine_v1_41::Docker::with_client(pinned);
        match pinned.system().version().send().await {
            Err(Error::Daemon {
                status: 400, message, ..
            }) => {
                assert_eq!(
                    message,
                    "client version 1.41 is too new. Maximum supported API version is 1.40"
                )
            }
            other => panic!("expected the daemon's refusal of a newer version, got {other:?}"),
        }
    })
    .await
}

#[tokio::test]
async fn a_version_below_the_daemons_minimum_is_refused_naming_both_for_every_kind_of_request() {
    within(async {
        let mock = MockDaemon::start().await.unwrap();
        // As Docker 29 does: it accepts 1.40 and later.
        mock.server().set_minimum_api_version("1.40");
        let pinned = docker_engine_runtime::Client::with_options(
            mock.server().endpoint(),
            docker_engine_v1_41::API_VERSION,
            docker_engine_runtime::Options {
                version: docker_engine_runtime::VersionPolicy::Pinned("1.39".into()),
                ..Default::default()
            },
        )
        .unwrap();
        let old = docker_engine_v1_41::Docker::with_client(pinned);
        let refused = |error: Error| match error {
            Error::VersionTooOld { version, minimum, .. } => {
                assert_eq!((version.as_str(), minimum.as_str()), ("1.39", "1.40"));
            }
            other => panic!("expected the refusal of an old version, got {other:?}"),
        };
        // A JSON answer carries dockerd's words; a HEAD answer has no body, and the client
        // reads the minimum from /version.
        refused(old.system().info().send().await.unwrap_err());
        refused(old.containers().archive_info("web", "/etc").send().await.unwrap_err());
        let message = old.system().info().send().await.unwrap_err().to_string();
        assert!(
            message.contains("from 1.40") && message.contains("used 1.39"),
            "{message}"
        );
        // At the minimum, nothing is refused for its version.
        mock.containers().inspect(|_| Ok(Default::default()));
        mock.docker().unwrap().containers().inspect("web").send().await.unwrap();
    })
    .await
}

#[tokio::test]
async fn a_live_stream_sends_events_as_the_test_makes_them() {
    within(async {
        let mock = MockDaemon::start_tcp().await.unwrap();
        assert!(
            mock.server().host().starts_with("tcp://127.0.0.1:"),
            "{}",
            mock.server().host()
        );
        let (send, receive) = tokio::sync::mpsc::unbounded_channel::<EventMessage>();
        let receive = std::sync::Mutex::new(Some(receive));
        mock.system().events(move |_| {
            let mut receive = receive
                .lock()
                .unwrap()
                .take()
                .ok_or_else(|| MockError::server_error("one watcher only"))?;
            Ok(MockStream::live(futures_util::stream::poll_fn(move |cx| {
                receive.poll_recv(cx)
            })))
        });
        let docker = mock.docker().unwrap();
        let mut events = docker.system().events().send().await.unwrap();
        for action in ["start", "die"] {
            send.send(EventMessage {
                action: Some(action.into()),
                ..Default::default()
            })
            .unwrap();
            let event = events.next().await.unwrap().unwrap();
            assert_eq!(
                event.action.as_deref(),
                Some(action),
                "each event arrives as it is sent"
            );
        }
        drop(send);
        assert!(events.next().await.is_none(), "the stream ends with the test's");
    })
    .await
}

#[tokio::test]
async fn a_scripted_session_takes_the_connection_over_and_checks_the_input() {
    within(async {
        let mock = MockDaemon::start().await.unwrap();
        mock.exec().start(|_| {
            Ok(MockSession::script()
                .send(Output::StdOut(Bytes::from_static(b"ready\n")))
                .expect_input("ping\n")
                .send(Output::StdErr(Bytes::from_static(b"pong\n")))
                .expect_input_end())
        });
        let docker = mock.docker().unwrap();
        let config = ExecStartConfig {
            detach: Some(false),
            ..Default::default()
        };
        let mut session = docker.exec().start("e1").body(config.clone()).send().await.unwrap();
        let ready = session.output.next().await.unwrap().unwrap();
        assert_eq!(ready, Output::StdOut(Bytes::from_static(b"ready\n")));
        session.input.write_all(b"ping\n").await.unwrap();
        let pong = session.output.next().await.unwrap().unwrap();
        assert_eq!(pong, Output::StdErr(Bytes::from_static(b"pong\n")));
        session.input.shutdown().await.unwrap();
        assert!(
            session.output.next().await.is_none(),
            "the mock closes the session after its script"
        );
        assert_eq!(mock.server().sessions_ended().await, Vec::<String>::new());

        // Other input than the script expects ends the session and is reported.
        let mut session = docker.exec().start("e2").body(config).send().await.unwrap();
        session.output.next().await.unwrap().unwrap();
        session.input.write_all(b"pang\n").await.unwrap();
        assert!(session.output.next().await.is_none(), "the session ends");
        assert_eq!(
            mock.server().sessions_ended().await,
            [r#"ExecStart: expected the input "ping\n", got "pang\n""#]
        );
    })
    .await
}

#[tokio::test]
async fn a_scripted_websocket_attach_sends_messages_and_checks_the_input() {
    within(async {
        let mock = MockDaemon::start().await.unwrap();
        mock.containers().attach_websocket(|request| {
            assert_eq!(request.query("stdin"), Some("true"));
            Ok(MockSession::script()
                .send(Output::StdOut(Bytes::from_static(b"ready\n")))
                .expect_input("ping\n")
                .send(Output::StdErr(Bytes::from_static(b"pong\n")))
                .expect_input_end())
        });
        let docker = mock.docker().unwrap();
        let attach = docker
            .containers()
            .attach_websocket("web")
            .stdin(true)
            .stdout(true)
            .stream(true);
        let mut session = attach.send().await.unwrap();
        assert_eq!(session.output.framing(), docker_engine_runtime::Framing::Raw);
        let ready = session.output.next().await.unwrap().unwrap();
        assert_eq!(ready.bytes(), "ready\n");
        // Written in two messages, compared as one input.
        session.input.write_all(b"pi").await.unwrap();
        session.input.write_all(b"ng\n").await.unwrap();
        session.input.flush().await.unwrap();
        let pong = session.output.next().await.unwrap().unwrap();
        assert_eq!(pong.bytes(), "pong\n", "unframed: the stream is not told apart");
        session.input.shutdown().await.unwrap();
        let end = session.output.next().await;
        assert!(end.is_none(), "the script's end closes the session: {end:?}");
        assert_eq!(mock.server().sessions_ended().await, Vec::<String>::new());

        let mut session = docker
            .containers()
            .attach_websocket("web")
            .stdin(true)
            .send()
            .await
            .unwrap();
        session.output.next().await.unwrap().unwrap();
        session.input.write_all(b"pang\n").await.unwrap();
        session.input.flush().await.unwrap();
        assert!(session.output.next().await.is_none(), "other input ends the session");
        assert_eq!(
            mock.server().sessions_ended().await,
            [r#"ContainerAttachWebsocket: expected the input "ping\n", got "pang\n""#]
        );
    })
    .await
}

/// What a client saw of a short container life: create, attach (a hijacked session, input
/// written and closed, output read to its end), start, wait, logs, inspect, delete.
async fn container_session(docker: &Docker, image: &str, name: &str, input: &[u8]) -> Vec<String> {
    let created = docker
        .containers()
        .create(session_config(image))
        .name(name)
        .send()
        .await;
    let id = created.unwrap().id;
    let attach = docker
        .containers()
        .attach(&id)
        .stream(true)
        .stdin(true)
        .stdout(true)
        .stderr(true);
    let mut attached = attach.send().await.unwrap();
    docker.containers().start(&id).send().await.unwrap();
    attached.input.write_all(input).await.unwrap();
    attached.input.shutdown().await.unwrap();
    let mut attached_output = Vec::new();
    while let Some(piece) = attached.output.next().await {
        attached_output.push(piece.unwrap());
    }
    // Output of two streams comes in no fixed order between them.
    attached_output.sort_by_key(|piece| format!("{piece:?}"));
    let waited = docker.containers().wait(&id).send().await.unwrap();
    let logs: Vec<_> = docker
        .containers()
        .logs(&id)
        .stdout(true)
        .stderr(true)
        .send()
        .await
        .unwrap()
        .collect()
        .await;
    let inspected = docker.containers().inspect(&id).send().await.unwrap();
    docker.containers().delete(&id).send().await.unwrap();
    let mut seen = vec![id, format!("waited {:?}", waited.status_code)];
    seen.extend(attached_output.into_iter().map(|piece| format!("attached {piece:?}")));
    seen.extend(logs.into_iter().map(|piece| format!("{:?}", piece.unwrap())));
    seen.push(format!(
        "{:?} {:?}",
        inspected.name,
        inspected.state.and_then(|s| s.exit_code)
    ));
    seen
}

/// A container that writes to both streams, reads a line and says what it read.
fn session_config(image: &str) -> ContainerCreateBody {
    ContainerCreateBody {
        image: Some(image.into()),
        cmd: Some(vec![
            "sh".into(),
            "-c".into(),
            "echo out; echo err >&2; read line; echo \"read $line\"; exit 4".into(),
        ]),
        open_stdin: Some(true),
        stdin_once: Some(true),
        attach_stdin: Some(true),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        ..Default::default()
    }
}

#[daemon_test]
async fn a_session_recorded_against_the_daemon_replays_without_it() {
    let endpoint = daemon();
    within(async {
        let docker = docker_at(endpoint.clone()).unwrap();
        let image = busybox_image(&docker).await;
        let name = unique_name("recorded");
        let file = std::env::temp_dir().join(format!("{name}.jsonl"));

        let recorder = Recorder::start(&endpoint, &file).await.unwrap();
        let through_recorder =
            Docker::with_client(Client::new(recorder.endpoint(), docker_engine_v1_41::API_VERSION).unwrap());
        let live = container_session(&through_recorder, image, &name, b"typed\n").await;
        drop(through_recorder);
        drop(recorder);
        assert_eq!(live[1], "waited 4");
        // Every header a client may read is kept: the server's `Server` on the first ping too.
        let recording = std::fs::read_to_string(&file).unwrap();
        let ping: serde_json::Value = serde_json::from_str(recording.lines().next().unwrap()).unwrap();
        let server = ping["headers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|header| header[0] == "server")
            .and_then(|header| header[1].as_str())
            .map(str::to_owned);
        let product = match daemon_tests::server() {
            daemon_tests::Server::Docker => "Docker/",
            daemon_tests::Server::Podman => "Libpod/",
        };
        assert!(server.as_deref().is_some_and(|s| s.starts_with(product)), "{ping}");
        assert!(
            live.contains(&format!("StdErr({:?})", Bytes::from_static(b"err\n"))),
            "{live:?}"
        );
        // The server may send both lines of stdout in one frame (Podman did once): `out\nread typed\n`.
        assert!(
            live.iter()
                .any(|item| item.starts_with("attached StdOut(") && item.contains(r"read typed\n")),
            "the attached session carried the input and its answer: {live:?}"
        );

        let mock = MockDaemon::replay_in_order(&file).await.unwrap();
        let replayed = container_session(&mock.docker().unwrap(), image, &name, b"typed\n").await;
        assert_eq!(replayed, live, "the replay answers as the daemon did");
        mock.server().replay_outcome().await.unwrap();
        assert_eq!(
            mock.server().operations(),
            [
                "SystemPingHead",
                "ContainerCreate",
                "ContainerAttach",
                "ContainerStart",
                "ContainerWait",
                "ContainerLogs",
                "ContainerInspect",
                "ContainerDelete"
            ]
        );

        // By content, a client that pings first, and again as it connects, is answered too.
        let mock = MockDaemon::replay(&file).await.unwrap();
        let docker = mock.docker().unwrap();
        docker.system().ping_head().send().await.unwrap();
        let replayed = container_session(&docker, image, &name, b"typed\n").await;
        assert_eq!(replayed, live, "the replay by content answers as the daemon did");
        mock.server().replay_outcome().await.unwrap();
        assert_eq!(mock.server().operations()[..2], ["SystemPingHead", "SystemPingHead"]);
        let refused = docker.containers().list().send().await.unwrap_err();
        assert!(
            refused
                .to_string()
                .contains("request 10, GET /v1.41/containers/json, matches no recorded exchange left"),
            "{refused}"
        );

        // In order, another request than the one recorded is refused, and reported.
        let mock = MockDaemon::replay_in_order(&file).await.unwrap();
        let docker = mock.docker().unwrap();
        match docker.containers().list().send().await {
            Err(Error::Daemon {
                status: 500, message, ..
            }) => assert!(
                message.contains("request 2 differs from the recording: expected POST /v1.41/containers/create"),
                "{message}"
            ),
            other => panic!("expected the replay to refuse the request, got {other:?}"),
        }
        let outcome = mock.server().replay_outcome().await.unwrap_err();
        assert!(outcome.contains("got GET /v1.41/containers/json"), "{outcome}");
        assert!(
            outcome.contains("7 recorded exchanges were never requested"),
            "{outcome}"
        );

        // A session given other input than recorded ends, and the replay says so.
        let mock = MockDaemon::replay(&file).await.unwrap();
        let docker = mock.docker().unwrap();
        let created = docker
            .containers()
            .create(session_config(image))
            .name(&name)
            .send()
            .await;
        let id = created.unwrap().id;
        let attach = docker
            .containers()
            .attach(&id)
            .stream(true)
            .stdin(true)
            .stdout(true)
            .stderr(true);
        let mut attached = attach.send().await.unwrap();
        attached.input.write_all(b"wrong\n").await.unwrap();
        attached.input.shutdown().await.unwrap();
        while attached.output.next().await.is_some() {}
        drop(attached);
        let outcome = mock.server().replay_outcome().await.unwrap_err();
        assert!(
            outcome.contains(r#"ContainerAttach: expected the input "typed\n", got "wrong\n""#),
            "{outcome}"
        );
        std::fs::remove_file(&file).unwrap();
    })
    .await
}

/// A WebSocket attach (`/containers/{id}/attach/ws`) as a client sees it: input sent, the
/// console read to the end, the exit code.
async fn websocket_session(docker: &Docker, image: &str, name: &str, input: &[u8]) -> Option<(String, i64)> {
    let created = docker
        .containers()
        .create(session_config(image))
        .name(name)
        .send()
        .await;
    let id = created.unwrap().id;
    let attach = docker
        .containers()
        .attach_websocket(&id)
        .stdin(true)
        .stdout(true)
        .stderr(true)
        .stream(true);
    let attached = attach.send().await;
    if daemon_tests::unimplemented_on_podman(&attached) {
        docker.containers().delete(&id).send().await.unwrap();
        return None;
    }
    let mut session = attached.unwrap();
    docker.containers().start(&id).send().await.unwrap();
    session.input.write_all(input).await.unwrap();
    session.input.flush().await.unwrap();
    let console = session.output.read_all().await.unwrap();
    let waited = docker.containers().wait(&id).send().await.unwrap();
    docker.containers().delete(&id).send().await.unwrap();
    Some((String::from_utf8_lossy(&console.0).into_owned(), waited.status_code))
}

#[daemon_test]
async fn a_websocket_attach_recorded_against_the_daemon_replays_without_it() {
    let endpoint = daemon();
    within(async {
        let docker = docker_at(endpoint.clone()).unwrap();
        let image = busybox_image(&docker).await;
        let name = unique_name("recorded-ws");
        let file = std::env::temp_dir().join(format!("{name}.jsonl"));

        let recorder = Recorder::start(&endpoint, &file).await.unwrap();
        let through_recorder =
            Docker::with_client(Client::new(recorder.endpoint(), docker_engine_v1_41::API_VERSION).unwrap());
        let Some(live) = websocket_session(&through_recorder, image, &name, b"typed\n").await else {
            return;
        };
        drop(through_recorder);
        drop(recorder);
        assert!(live.0.contains("read typed") && live.0.contains("err"), "{live:?}");
        assert_eq!(live.1, 4);
        let recording = std::fs::read_to_string(&file).unwrap();
        assert!(
            recording.contains(r#"{"client_message":{"binary":"typed\n"}}"#),
            "the session is kept message by message: {recording}"
        );

        // The client draws a new handshake key and new masks; the replay accepts them.
        let mock = MockDaemon::replay(&file).await.unwrap();
        let replayed = websocket_session(&mock.docker().unwrap(), image, &name, b"typed\n").await;
        assert_eq!(replayed.as_ref(), Some(&live), "the replay answers as the daemon did");
        mock.server().replay_outcome().await.unwrap();

        let mock = MockDaemon::replay(&file).await.unwrap();
        websocket_session(&mock.docker().unwrap(), image, &name, b"wrong\n").await;
        let outcome = mock.server().replay_outcome().await.unwrap_err();
        assert!(
            outcome.contains(r#"ContainerAttachWebsocket: expected the input "typed\n", got "wrong\n""#),
            "{outcome}"
        );
        std::fs::remove_file(&file).unwrap();
    })
    .await
}

/// Whether the Docker CLI is installed; without it a test says it skips, and under `CI=true`,
/// where it is installed, fails.
fn docker_cli_installed() -> bool {
    let installed = std::process::Command::new("docker").arg("--version").output().is_ok();
    if !installed {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "the Docker CLI is not installed, and CI runs this test with it"
        );
        eprintln!("skipped: the Docker CLI is not installed");
    }
    installed
}

/// Runs the Docker CLI against `host` with `arguments`, within a minute, with a config folder
/// of its own and nothing on its standard input; its standard output, or a panic with what it
/// printed.
fn docker_cli(host: &str, config: &std::path::Path, arguments: &[&str]) -> String {
    docker_cli_with_input(host, config, arguments, b"")
}

/// Like [`docker_cli`], with `input` written to the CLI's standard input, then closed.
fn docker_cli_with_input(host: &str, config: &std::path::Path, arguments: &[&str], input: &[u8]) -> String {
    use std::io::Write;
    let mut child = daemon_tests::program_without_docker_environment("docker")
        .env("DOCKER_CONFIG", config)
        .args(["--host", host])
        .args(arguments)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the docker CLI starts");
    let mut stdin = child.stdin.take().expect("the CLI's standard input");
    stdin.write_all(input).expect("the CLI reads its standard input");
    drop(stdin);
    let output = daemon_tests::wait_at_most(child, Duration::from_secs(60));
    assert!(
        output.status.success(),
        "docker {arguments:?}: {}",
        daemon_tests::describe_output(&output)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The Docker CLI (28.2.2 on these machines and CI's), a client nobody here wrote, against the
/// fake daemon of v1.50, the newest version it speaks: it negotiates, lists, inspects and
/// creates with the answers the test set, and its requests decode into the crate's types.
#[tokio::test(flavor = "multi_thread")]
async fn the_docker_cli_runs_against_the_fake_daemon() {
    use docker_engine_v1_50::mock::MockDaemon;
    use docker_engine_v1_50::models as v1_50;
    if !docker_cli_installed() {
        return;
    }
    let mock = MockDaemon::start().await.unwrap();
    const ID: &str = "4f1d6c7e8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d";
    mock.system().info(|_| {
        Ok(v1_50::SystemInfo {
            name: Some("fake-host".into()),
            server_version: Some("mock".into()),
            operating_system: Some("Fake OS".into()),
            containers: Some(1),
            ..Default::default()
        })
    });
    mock.containers().list(|request| {
        assert!(request.flag("all"));
        // The CLI sends filters as a map of sets, not the specs' lists; both read alike.
        assert_eq!(request.filters()?["label"], ["app=web"]);
        Ok(vec![v1_50::ContainerSummary {
            id: Some(ID.into()),
            names: Some(vec!["/web".into()]),
            image: Some("busybox:latest".into()),
            state: Some(v1_50::ContainerSummaryState::Exited),
            status: Some("Exited (0) 2 minutes ago".into()),
            ..Default::default()
        }])
    });
    mock.containers().inspect(|request| {
        assert_eq!(request.path["id"], "web");
        // Fields the test does not set are the spec's example, as the CLI's template reads one.
        Ok(v1_50::ContainerInspectResponse {
            id: Some(ID.into()),
            name: Some("/web".into()),
            image: Some("sha256:1234".into()),
            state: Some(v1_50::ContainerState {
                status: Some(v1_50::ContainerStateStatus::Exited),
                exit_code: Some(3),
                ..v1_50::ContainerState::example()
            }),
            ..v1_50::ContainerInspectResponse::example()
        })
    });
    mock.containers().create(|request| {
        assert_eq!(request.query("name"), Some("made"));
        let body = request.body.ok_or_else(|| MockError::bad_request("no config"))?;
        assert_eq!(body.image.as_deref(), Some("busybox"));
        assert_eq!(body.cmd, Some(vec!["echo".to_owned(), "hi".to_owned()]));
        Ok(v1_50::ContainerCreateResponse {
            id: ID.into(),
            warnings: vec![],
        })
    });
    mock.images().list(|_| {
        Ok(vec![v1_50::ImageSummary {
            id: format!("sha256:{ID}"),
            repo_tags: vec!["busybox:latest".into()],
            created: 1_700_000_000,
            size: 1_234_567,
            ..Default::default()
        }])
    });
    mock.volumes().list(|_| {
        Ok(v1_50::VolumeListResponse {
            volumes: Some(vec![v1_50::Volume {
                name: "data".into(),
                driver: "local".into(),
                ..Default::default()
            }]),
            warnings: None,
        })
    });
    let docker_engine_runtime::Endpoint::Unix(socket) = mock.server().endpoint() else {
        unreachable!("the fake daemon listens on a Unix socket")
    };
    let host = format!("unix://{}", socket.display());
    let config = std::env::temp_dir().join(unique_name("cli-config"));
    std::fs::create_dir_all(&config).unwrap();
    let cli = |arguments: &'static [&'static str]| {
        let (host, config) = (host.clone(), config.clone());
        tokio::task::spawn_blocking(move || docker_cli(&host, &config, arguments))
    };
    let version = cli(&["version", "--format", "{{.Server.APIVersion}} {{.Server.Os}}"])
        .await
        .unwrap();
    assert_eq!(version.trim(), "1.50 linux");
    let info = cli(&["info", "--format", "{{.Name}} {{.OperatingSystem}} {{.Containers}}"])
        .await
        .unwrap();
    assert_eq!(info.trim(), "fake-host Fake OS 1");
    let listed = cli(&[
        "ps",
        "-a",
        "--filter",
        "label=app=web",
        "--format",
        "{{.ID}} {{.Names}} {{.Status}}",
    ]);
    assert_eq!(
        listed.await.unwrap().trim(),
        "4f1d6c7e8a9b web Exited (0) 2 minutes ago"
    );
    let state = cli(&[
        "container",
        "inspect",
        "--format",
        "{{.State.Status}} {{.State.ExitCode}} {{.HostConfig.LogConfig.Type}}",
        "web",
    ]);
    let logging = v1_50::ContainerInspectResponse::example()
        .host_config
        .unwrap()
        .log_config
        .unwrap();
    let driver = String::from(logging.type_.unwrap());
    assert!(!driver.is_empty());
    assert_eq!(state.await.unwrap().trim(), format!("exited 3 {driver}"));
    let created = cli(&["create", "--name", "made", "busybox", "echo", "hi"])
        .await
        .unwrap();
    assert_eq!(created.trim(), ID);
    let images = cli(&["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"])
        .await
        .unwrap();
    assert_eq!(images.trim(), "busybox:latest 4f1d6c7e8a9b");
    let volumes = cli(&["volume", "ls", "--format", "{{.Driver}} {{.Name}}"])
        .await
        .unwrap();
    assert_eq!(volumes.trim(), "local data");
    let operations = mock.server().operations();
    for expected in [
        "SystemPingHead",
        "SystemVersion",
        "SystemInfo",
        "ContainerList",
        "ContainerCreate",
    ] {
        assert!(operations.contains(&expected), "{expected} in {operations:?}");
    }
    let versioned = mock
        .server()
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/v1.50/"))
        .count();
    assert!(
        versioned > 5,
        "the CLI negotiated v1.50: {:?}",
        mock.server().requests()
    );
    std::fs::remove_dir_all(&config).unwrap();
}

/// The CLI's commands recorded through a `Recorder` in front of the test daemon, then run again
/// against a replay of the recording: the same output, each command's pings and version reads
/// answered wherever they come, and the hijacked sessions of `run --rm` and `exec` (output, and
/// input piped to `exec -i`) played again.
#[daemon_test(flavor = "multi_thread")]
async fn the_docker_cli_replays_a_session_recorded_against_the_daemon() {
    daemon_tests::replay::cannot_replay("runs the Docker CLI");
    let endpoint = daemon();
    if !docker_cli_installed() {
        return;
    }
    let image = busybox_image(&docker_at(endpoint.clone()).unwrap()).await;
    let name = unique_name("cli-recorded");
    let file = std::env::temp_dir().join(format!("{name}.jsonl"));
    let config = std::env::temp_dir().join(&name);
    std::fs::create_dir_all(&config).unwrap();
    let commands: Vec<(Vec<&str>, &[u8])> = vec![
        (
            vec!["run", "--rm", image, "sh", "-c", "echo hi; echo to-stderr >&2"],
            b"",
        ),
        (vec!["run", "-d", "--name", &name, image, "sleep", "120"], b""),
        (vec!["exec", &name, "sh", "-c", "echo from exec"], b""),
        (vec!["exec", "-i", &name, "sh", "-c", "tr a-z A-Z"], b"piped in\n"),
        (vec!["rm", "-f", &name], b""),
    ];
    let commands: Vec<(Vec<String>, Vec<u8>)> = commands
        .into_iter()
        .map(|(arguments, input)| (arguments.into_iter().map(str::to_owned).collect(), input.to_vec()))
        .chain(
            COMMANDS
                .iter()
                .map(|arguments| (arguments.iter().map(|a| a.to_string()).collect(), Vec::new())),
        )
        .collect();
    const COMMANDS: &[&[&str]] = &[
        &["version", "--format", "{{.Server.APIVersion}}"],
        &["info", "--format", "{{.ServerVersion}} {{.OSType}}"],
        &[
            "ps",
            "-a",
            "--filter",
            "label=no-container-has-this",
            "--format",
            "{{.ID}}",
        ],
        &[
            "images",
            "--filter",
            "reference=docker-client-test/*",
            "--format",
            "{{.Repository}}:{{.Tag}}",
        ],
        &[
            "volume",
            "ls",
            "--filter",
            "label=no-volume-has-this",
            "--format",
            "{{.Name}}",
        ],
    ];
    let run_all = |host: String| {
        let config = config.clone();
        let commands = commands.clone();
        tokio::task::spawn_blocking(move || {
            commands
                .iter()
                .map(|(arguments, input)| {
                    let arguments: Vec<&str> = arguments.iter().map(String::as_str).collect();
                    docker_cli_with_input(&host, &config, &arguments, input)
                })
                .collect::<Vec<_>>()
        })
    };
    let recorder = Recorder::start(&endpoint, &file).await.unwrap();
    let docker_engine_runtime::Endpoint::Unix(socket) = recorder.endpoint() else {
        unreachable!("the recorder listens on a Unix socket")
    };
    let live = run_all(format!("unix://{}", socket.display())).await.unwrap();
    drop(recorder);
    assert_eq!(live[0], "hi\n", "run --rm printed the container's output: {live:?}");
    assert_eq!(live[2], "from exec\n", "{live:?}");
    assert_eq!(live[3], "PIPED IN\n", "exec -i sent its input: {live:?}");
    let daemon = daemon_tests::facts();
    assert!(
        live[5].trim() == daemon.api_version && live[6].contains("linux"),
        "{live:?}"
    );

    let mock = MockDaemon::replay(&file).await.unwrap();
    let docker_engine_runtime::Endpoint::Unix(socket) = mock.server().endpoint() else {
        unreachable!("the fake daemon listens on a Unix socket")
    };
    let replayed = run_all(format!("unix://{}", socket.display())).await.unwrap();
    assert_eq!(replayed, live, "the replay prints what the daemon's answers printed");
    mock.server().replay_outcome().await.unwrap();
    std::fs::remove_file(&file).unwrap();
    std::fs::remove_dir_all(&config).unwrap();
}
