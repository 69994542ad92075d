//! A proxy between a client and the test daemon that misbehaves on request: it cuts, stalls,
//! trickles, splits or resets the daemon's answers, or answers itself.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use docker_engine_runtime::Endpoint;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UnixStream};
use tokio::sync::Notify;

/// What the proxy does to each new connection's traffic from the daemon.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Forward everything unchanged.
    Pass,
    /// Forward this many bytes of the daemon's answer, then close both sides.
    CloseAfter(usize),
    /// Read the request and never answer.
    Stall,
    /// Forward the answer one byte per write.
    Trickle,
    /// Forward the answer in writes of pseudo-random sizes (1 to 1,500 bytes) from this seed.
    Split(u64),
    /// Answer with these bytes without asking the daemon, then close.
    Canned(Vec<u8>),
    /// Forward this many bytes of what the client sends on a connection, then close both sides
    /// (a connection dropped mid-upload). Only the first connection to send that much is cut.
    CutRequestAfter(usize),
}

/// Where the proxy forwards to.
#[derive(Debug, Clone)]
enum Upstream {
    Unix(PathBuf),
    Tcp(String, u16),
}

impl Upstream {
    async fn connect(
        &self,
    ) -> std::io::Result<(
        Box<dyn tokio::io::AsyncRead + Send + Unpin>,
        Box<dyn tokio::io::AsyncWrite + Send + Unpin>,
    )> {
        Ok(match self {
            Upstream::Unix(path) => {
                let (read, write) = UnixStream::connect(path).await?.into_split();
                (Box::new(read), Box::new(write))
            }
            Upstream::Tcp(host, port) => {
                let (read, write) = TcpStream::connect((host.as_str(), *port)).await?.into_split();
                (Box::new(read), Box::new(write))
            }
        })
    }
}

/// A TCP proxy on `127.0.0.1` in front of the test daemon's Unix socket, or of a TCP server.
pub struct FaultyProxy {
    pub endpoint: Endpoint,
    fault: Arc<Mutex<Fault>>,
    connections: Arc<AtomicUsize>,
    reset: Arc<Notify>,
    forwarded: Arc<Mutex<Vec<u8>>>,
}

impl FaultyProxy {
    /// Starts the proxy on the current runtime, in front of `daemon` (a Unix socket or plain
    /// TCP endpoint).
    pub async fn start(daemon: &Endpoint) -> FaultyProxy {
        let upstream = match daemon {
            Endpoint::Unix(socket) => Upstream::Unix(socket.clone()),
            Endpoint::Tcp { host, port } => Upstream::Tcp(host.clone(), *port),
            other => panic!("the fault proxy forwards to a Unix socket or plain TCP, not {other}"),
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let proxy = FaultyProxy {
            endpoint: Endpoint::Tcp {
                host: "127.0.0.1".into(),
                port,
            },
            fault: Arc::new(Mutex::new(Fault::Pass)),
            connections: Arc::new(AtomicUsize::new(0)),
            reset: Arc::new(Notify::new()),
            forwarded: Arc::new(Mutex::new(Vec::new())),
        };
        let (fault, connections, reset, forwarded) = (
            proxy.fault.clone(),
            proxy.connections.clone(),
            proxy.reset.clone(),
            proxy.forwarded.clone(),
        );
        let request_cut = Arc::new(std::sync::atomic::AtomicBool::new(false));
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                connections.fetch_add(1, Ordering::SeqCst);
                let fault = fault.lock().unwrap().clone();
                let cut = FaultState {
                    reset: reset.clone(),
                    forwarded: forwarded.clone(),
                    request_cut: request_cut.clone(),
                };
                tokio::spawn(serve(client, upstream.clone(), fault, cut));
            }
        });
        proxy
    }

    /// The fault applied to connections opened from now on.
    pub fn set(&self, fault: Fault) {
        *self.fault.lock().unwrap() = fault;
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// What the last connection under [`Fault::CloseAfter`] received from the daemon before the cut.
    pub fn forwarded_before_cut(&self) -> Vec<u8> {
        self.forwarded.lock().unwrap().clone()
    }

    /// Resets (TCP RST) every open connection now.
    pub fn reset_all(&self) {
        self.reset.notify_waiters();
    }
}

/// What the connections of one proxy share.
struct FaultState {
    reset: Arc<Notify>,
    forwarded: Arc<Mutex<Vec<u8>>>,
    /// Set once a connection was cut under [`Fault::CutRequestAfter`].
    request_cut: Arc<std::sync::atomic::AtomicBool>,
}

async fn serve(client: TcpStream, upstream: Upstream, fault: Fault, state: FaultState) {
    let FaultState {
        reset,
        forwarded,
        request_cut,
    } = state;
    let _ = client.set_nodelay(true);
    let (mut client_read, mut client_write) = client.into_split();
    if let Fault::Canned(answer) = &fault {
        let mut request = vec![0; 64 * 1024];
        let _ = client_read.read(&mut request).await;
        let _ = client_write.write_all(answer).await;
        return;
    }
    let Ok((mut daemon_read, mut daemon_write)) = upstream.connect().await else {
        return;
    };
    let upstream = async {
        if let Fault::CutRequestAfter(limit) = fault {
            let mut buffer = vec![0; 64 * 1024];
            let mut sent = 0;
            loop {
                let read = match client_read.read(&mut buffer).await {
                    Ok(0) | Err(_) => break,
                    Ok(read) => read,
                };
                if sent + read >= limit && !request_cut.swap(true, Ordering::SeqCst) {
                    let _ = daemon_write.write_all(&buffer[..limit - sent]).await;
                    // Returning drops both connections' halves: either side sees it closed.
                    return;
                }
                if daemon_write.write_all(&buffer[..read]).await.is_err() {
                    break;
                }
                sent += read;
            }
            let _ = daemon_write.shutdown().await;
            return std::future::pending::<()>().await;
        }
        let _ = tokio::io::copy(&mut client_read, &mut daemon_write).await;
        let _ = daemon_write.shutdown().await;
        // Keep the connection up until the answer is done.
        std::future::pending::<()>().await
    };
    let downstream = async {
        let mut sent = 0usize;
        if matches!(fault, Fault::CloseAfter(_)) {
            forwarded.lock().unwrap().clear();
        }
        let mut random = match fault {
            Fault::Split(seed) => seed | 1,
            _ => 1,
        };
        let mut buffer = vec![0; 64 * 1024];
        loop {
            if matches!(fault, Fault::Stall) {
                return std::future::pending::<()>().await;
            }
            let read = match daemon_read.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(read) => read,
            };
            let mut chunk = &buffer[..read];
            if let Fault::CloseAfter(limit) = fault {
                let allowed = limit.saturating_sub(sent).min(chunk.len());
                let _ = client_write.write_all(&chunk[..allowed]).await;
                forwarded.lock().unwrap().extend_from_slice(&chunk[..allowed]);
                sent += allowed;
                if sent >= limit {
                    return;
                }
                continue;
            }
            while !chunk.is_empty() {
                let size = match fault {
                    Fault::Trickle => 1,
                    Fault::Split(_) => {
                        // xorshift: repeatable split points without a random number crate.
                        random ^= random << 13;
                        random ^= random >> 7;
                        random ^= random << 17;
                        1 + (random % 1500) as usize
                    }
                    _ => chunk.len(),
                }
                .min(chunk.len());
                if client_write.write_all(&chunk[..size]).await.is_err() {
                    return;
                }
                if matches!(fault, Fault::Trickle | Fault::Split(_)) {
                    tokio::time::sleep(Duration::from_micros(50)).await;
                }
                chunk = &chunk[size..];
            }
        }
    };
    let reset_now = tokio::select! {
        _ = upstream => false,
        _ = downstream => false,
        _ = reset.notified() => true,
    };
    if reset_now {
        if let Ok(client) = client_read.reunite(client_write) {
            // Closing with a zero linger time sends RST instead of FIN. (The deprecation warns
            // that a non-zero linger blocks the thread on drop; a zero one never waits.)
            #[allow(deprecated)]
            let _ = client.set_linger(Some(Duration::ZERO));
        }
    }
}
