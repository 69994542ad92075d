//! A Unix-socket server answering from memory with what the daemon once said, so that the
//! client-only workloads measure clients rather than the daemon.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};

pub const EVENTS: usize = 200_000;

/// Answers per route, each a complete HTTP/1.1 response with keep-alive.
struct Answers {
    ping: Vec<u8>,
    list: Vec<u8>,
    inspect: Vec<u8>,
    events: Vec<u8>,
}

/// The running server; dropping it stops it and removes its socket.
pub struct Server {
    path: PathBuf,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    pub fn start(path: &Path, list_json: &[u8], inspect_json: &[u8]) -> Server {
        let answers = Arc::new(Answers {
            ping: response("text/plain; charset=utf-8", b"OK"),
            list: response("application/json", list_json),
            inspect: response("application/json", inspect_json),
            events: chunked_response("application/json", &event_lines()),
        });
        let _ = std::fs::remove_file(path);
        let listener = std::os::unix::net::UnixListener::bind(path).expect("bind the canned socket");
        listener.set_nonblocking(true).unwrap();
        let (shutdown, stop) = tokio::sync::oneshot::channel();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = UnixListener::from_std(listener).unwrap();
                tokio::select! {
                    _ = stop => {}
                    _ = async {
                        while let Ok((stream, _)) = listener.accept().await {
                            tokio::spawn(serve(stream, answers.clone()));
                        }
                    } => {}
                }
            });
        });
        Server {
            path: path.to_owned(),
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.shutdown.take().map(|stop| stop.send(()));
        let _ = self.thread.take().map(std::thread::JoinHandle::join);
        let _ = std::fs::remove_file(&self.path);
    }
}

fn response(content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut answer = format!(
        "HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    answer.extend_from_slice(body);
    answer
}

/// A chunked response with one chunk per message, as the daemon flushes each event.
fn chunked_response(content_type: &str, messages: &[Vec<u8>]) -> Vec<u8> {
    let mut answer = format!(
        "HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Type: {content_type}\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    .into_bytes();
    for message in messages {
        answer.extend_from_slice(format!("{:x}\r\n", message.len()).as_bytes());
        answer.extend_from_slice(message);
        answer.extend_from_slice(b"\r\n");
    }
    answer.extend_from_slice(b"0\r\n\r\n");
    answer
}

/// `EVENTS` container events in the daemon's JSON-lines shape, each with its newline.
fn event_lines() -> Vec<Vec<u8>> {
    let mut lines = Vec::new();
    for n in 0..EVENTS {
        let id = format!("{n:064x}");
        let event = serde_json::json!({
            "status": "start", "id": id, "from": "busybox:latest", "Type": "container", "Action": "start",
            "Actor": {"ID": id, "Attributes": {"image": "busybox:latest", "name": format!("bench-{n}")}},
            "scope": "local", "time": 1_700_000_000 + n, "timeNano": 1_700_000_000_000_000_000u64 + n as u64,
        });
        let mut line = serde_json::to_vec(&event).unwrap();
        line.push(b'\n');
        lines.push(line);
    }
    lines
}

async fn serve(mut stream: UnixStream, answers: Arc<Answers>) {
    let mut buffer = Vec::with_capacity(4096);
    loop {
        let head_end = loop {
            if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break end + 4;
            }
            let mut chunk = [0; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(read) => buffer.extend_from_slice(&chunk[..read]),
            }
        };
        let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
        buffer.drain(..head_end);
        let path = head.split_whitespace().nth(1).unwrap_or("");
        let path = path.split('?').next().unwrap_or(path);
        let answer = if path.ends_with("/_ping") {
            &answers.ping
        } else if path.ends_with("/containers/json") {
            &answers.list
        } else if path.ends_with("/json") {
            &answers.inspect
        } else if path.ends_with("/events") {
            &answers.events
        } else {
            return;
        };
        if stream.write_all(answer).await.is_err() {
            return;
        }
    }
}
