//! A BuildKit session with the target as the daemon: calls of any served method but FetchToken
//! (and others)
//! with any metadata and any bytes as their gRPC messages. Every call ends with a gRPC status;
//! nothing is sent from outside the context, nothing written outside the output folders, the
//! context is left as it was, and a secret goes only to whoever asks for it by its id.
#![no_main]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;
use docker_engine_runtime::buildkit::fuzzing::{serve_session, METHODS};
use docker_engine_runtime::buildkit::BuildOutput;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use libfuzzer_sys::fuzz_target;

/// Metadata keys the session reads, and one it does not.
const KEYS: &[&str] = &[
    "dir-name",
    "include-patterns",
    "exclude-patterns",
    "followpaths",
    "include-patterns-encoded",
    "buildkit-attachable-exporter-id",
    "buildkit.ssh.id",
    "x-other",
];

/// One call as the input describes it.
struct Call {
    method: String,
    metadata: Vec<(&'static str, Vec<u8>)>,
    body: Vec<u8>,
}

/// Reads calls from the input: a method byte, metadata entries (key byte, length, value), then
/// body pieces (kind, length, bytes): even kinds are framed as one gRPC message, odd ones sent
/// as they are.
fn calls(mut input: &[u8]) -> Vec<Call> {
    let mut take = |count: usize| -> Option<Vec<u8>> {
        let count = count.min(input.len());
        let (taken, rest) = input.split_at(count);
        input = rest;
        (count > 0).then(|| taken.to_vec())
    };
    let mut calls = Vec::new();
    while calls.len() < 4 {
        let Some(method) = take(1) else { break };
        // FetchToken is left out: it would fetch from whatever realm the input names.
        let method = METHODS
            .get(method[0] as usize % (METHODS.len() + 1))
            .filter(|method| !method.ends_with("/FetchToken"))
            .map_or("/moby.other.v1.Service/Call".to_owned(), |method| (*method).to_owned());
        let mut metadata = Vec::new();
        for _ in 0..take(1).map_or(0, |n| n[0] % 4) {
            let (Some(key), Some(length)) = (take(1), take(1)) else {
                break;
            };
            let value = take(length[0] as usize % 64).unwrap_or_default();
            metadata.push((KEYS[key[0] as usize % KEYS.len()], value));
        }
        let mut body = Vec::new();
        for _ in 0..take(1).map_or(0, |n| n[0] % 8) {
            let (Some(kind), Some(length)) = (take(1), take(1)) else {
                break;
            };
            let piece = take(length[0] as usize).unwrap_or_default();
            if kind[0] % 2 == 0 {
                body.push(0);
                body.extend_from_slice(&(piece.len() as u32).to_be_bytes());
            }
            body.extend_from_slice(&piece);
        }
        calls.push(Call { method, metadata, body });
    }
    calls
}

/// The folders of one process's runs: a context holding a link out of it, beside a file it
/// must never send, and the output folder and file.
struct Folders {
    base: PathBuf,
    context: PathBuf,
    output: PathBuf,
    tar: PathBuf,
    context_files: BTreeMap<PathBuf, Vec<u8>>,
}

fn folders() -> &'static Folders {
    static FOLDERS: OnceLock<Folders> = OnceLock::new();
    FOLDERS.get_or_init(|| {
        let base = std::env::temp_dir().join(format!("fuzz-session-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let context = base.join("context");
        std::fs::create_dir_all(context.join("src")).unwrap();
        std::fs::write(context.join("Dockerfile"), "FROM busybox\nCOPY . /src\n").unwrap();
        std::fs::write(context.join("src/main.rs"), "fn main() {}\n").unwrap();
        std::fs::write(context.join(".dockerignore"), "*.log\n").unwrap();
        std::os::unix::fs::symlink("..", context.join("up")).unwrap();
        std::os::unix::fs::symlink("src/main.rs", context.join("main")).unwrap();
        std::fs::write(base.join("outside.txt"), "never sent").unwrap();
        let context = context.canonicalize().unwrap();
        let context_files = contents(&context);
        Folders {
            output: base.join("output"),
            tar: base.join("output.tar"),
            base,
            context,
            context_files,
        }
    })
}

/// Every entry under `root` (links not followed) with a file's contents or a link's target.
fn contents(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut found = BTreeMap::new();
    let mut pending = vec![root.to_owned()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let metadata = std::fs::symlink_metadata(&path).unwrap();
            let held = if metadata.is_symlink() {
                std::fs::read_link(&path).unwrap().into_os_string().into_encoded_bytes()
            } else if metadata.is_dir() {
                pending.push(path.clone());
                Vec::new()
            } else {
                std::fs::read(&path).unwrap_or_default()
            };
            found.insert(path, held);
        }
    }
    found
}

fuzz_target!(|input: &[u8]| {
    let calls = calls(input);
    if calls.is_empty() {
        return;
    }
    let folders = folders();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (daemon, session) = tokio::io::duplex(1 << 16);
        let outputs = vec![
            BuildOutput::Local(folders.output.clone()),
            BuildOutput::Tar(folders.tar.clone()),
        ];
        let serving = tokio::spawn(serve_session(TokioIo::new(session), folders.context.clone(), outputs));
        let (mut sender, connection) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(daemon))
                .await
                .expect("the session speaks HTTP/2");
        tokio::spawn(connection);
        for call in &calls {
            let mut request = http::Request::builder()
                .method("POST")
                .uri(format!("http://session{}", call.method))
                .header("content-type", "application/grpc");
            for (key, value) in &call.metadata {
                if let Ok(value) = http::HeaderValue::from_bytes(value) {
                    request = request.header(*key, value);
                }
            }
            let request = request.body(Full::new(Bytes::from(call.body.clone()))).unwrap();
            let answer = async {
                let response = sender
                    .send_request(request)
                    .await
                    .expect("the session answers every call");
                response.into_body().collect().await.expect("the answer is read whole")
            };
            let answer = tokio::time::timeout(Duration::from_secs(10), answer)
                .await
                .unwrap_or_else(|_| panic!("{} did not end within 10 s", call.method));
            let status = answer
                .trailers()
                .and_then(|trailers| trailers.get("grpc-status"))
                .cloned();
            let status = status.unwrap_or_else(|| panic!("{} ended without a gRPC status", call.method));
            let code: u32 = status.to_str().unwrap().parse().unwrap();
            assert!(code <= 16, "{}: status {code}", call.method);
            let data = answer.to_bytes();
            if data.windows(6).any(|window| window == b"s3cret") {
                assert!(call.method.ends_with("/GetSecret") && call.body.windows(5).any(|w| w == b"token"));
            }
        }
        drop(sender);
        let report = tokio::time::timeout(Duration::from_secs(10), serving)
            .await
            .expect("the session ends when the daemon hangs up")
            .unwrap();
        for sent in &report.files_sent {
            let (folder, path) = sent.split_once('/').expect("folder/path");
            assert!(folder == "context" || folder == "dockerfile", "{sent}");
            let full = folders.context.join(path).canonicalize().unwrap();
            assert!(
                full.starts_with(&folders.context) && full.is_file(),
                "{sent} is {}",
                full.display()
            );
        }
    });
    assert_eq!(contents(&folders.context), folders.context_files, "the context changed");
    for entry in std::fs::read_dir(&folders.base).unwrap() {
        let name = entry.unwrap().file_name();
        let name = name.to_str().unwrap();
        assert!(
            ["context", "output", "output.tar", "outside.txt"].contains(&name),
            "{name} written outside"
        );
    }
    assert_eq!(std::fs::read(folders.base.join("outside.txt")).unwrap(), b"never sent");
    let _ = std::fs::remove_dir_all(&folders.output);
});
