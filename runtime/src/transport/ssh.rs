//! `ssh://` endpoints, reached as the Docker CLI reaches them: the system's `ssh` client runs
//! `docker system dial-stdio` on the remote host, and HTTP goes over ssh's stdin and stdout.
//! Using the system client keeps the user's `~/.ssh/config`, agent, `known_hosts` and
//! ProxyJump working as they set them up, and needs no SSH library.

use std::io;
use std::pin::Pin;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use crate::error::{Error, Result};
use crate::transport::address::split_host_port;

/// A remote daemon reached over SSH.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshTarget {
    pub user: Option<String>,
    pub host: String,
    /// Unset, ssh's own default or configuration applies.
    pub port: Option<u16>,
    /// Arguments given to `ssh` before the destination (`-F FILE`, `-i KEY`, `-o NAME=VALUE`),
    /// for a program that wants settings apart from the user's ssh configuration.
    pub options: Vec<String>,
}

impl SshTarget {
    /// Parses what follows `ssh://` as the CLI does: `[user@]host[:port]`, nothing else.
    pub(crate) fn parse(address: &str, rest: &str) -> Result<Self> {
        let refuse = |why: &str| Error::Config(format!("DOCKER_HOST {address:?}: {why}"));
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.contains(['/', '?', '#']) {
            return Err(refuse(
                "an ssh:// address takes no path or query, only [user@]host[:port]",
            ));
        }
        let (user, host_port) = match authority.rsplit_once('@') {
            Some((user, _)) if user.contains(':') => {
                return Err(refuse(
                    "a password in the address is not supported; use a key or the ssh agent",
                ))
            }
            Some((user, host_port)) if !user.is_empty() => (Some(user.to_owned()), host_port),
            Some(_) => return Err(refuse("the user before @ is empty")),
            None => (None, authority),
        };
        let (host, port) = split_host_port(host_port).map_err(refuse)?;
        Ok(SshTarget {
            user,
            host: host.to_owned(),
            port,
            options: Vec::new(),
        })
    }

    /// `ssh [options] -o ConnectTimeout=30 [-l user] [-p port] -- host docker system dial-stdio`,
    /// without `-t`, so ssh's stdin and stdout carry the bytes as they are.
    fn command(&self) -> Command {
        let mut command = Command::new("ssh");
        command.args(&self.options).args(["-o", "ConnectTimeout=30"]);
        if let Some(user) = &self.user {
            command.args(["-l", user]);
        }
        if let Some(port) = self.port {
            command.args(["-p", &port.to_string()]);
        }
        command
            .args(["--", &self.host, "docker", "system", "dial-stdio"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        command
    }

    /// Starts ssh and checks the whole way to the daemon with `HEAD /_ping` before the
    /// connection is used, so that authentication, a missing remote `docker` and a daemon that
    /// is down fail here, within the caller's connect timeout, with what ssh printed.
    pub(crate) async fn connect(&self) -> io::Result<SshStream> {
        let mut child = self.command().spawn().map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => io::Error::new(
                e.kind(),
                "no `ssh` on PATH: ssh:// endpoints run the system's OpenSSH client (install openssh-client)",
            ),
            _ => io::Error::new(e.kind(), format!("cannot run ssh: {e}")),
        })?;
        let (Some(stdin), Some(stdout), Some(stderr)) = (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            unreachable!("all three are piped by SshTarget::command");
        };
        let said = Arc::new(Mutex::new(Vec::new()));
        let stderr_closed = tokio::spawn(keep_the_end_of(stderr, said.clone()));
        let mut stream = SshStream {
            child,
            stdin: Some(stdin),
            stdout,
        };
        match probe(&mut stream).await {
            Ok(()) => Ok(stream),
            Err(problem) => {
                // ssh closes stderr when it exits; what it said names the cause.
                let exit = tokio::time::timeout(std::time::Duration::from_secs(5), async {
                    let _ = stderr_closed.await;
                    stream.child.wait().await.ok()
                })
                .await
                .ok()
                .flatten();
                let said = String::from_utf8_lossy(&said.lock().expect("not poisoned"))
                    .trim()
                    .to_owned();
                let cause = if said.is_empty() { problem.to_string() } else { said };
                let destination = self.destination();
                let message = match exit {
                    Some(status) => {
                        format!("ssh to {destination} ended ({status}) before the daemon answered: {cause}")
                    }
                    None => format!("ssh to {destination} brought no answer from the daemon: {cause}"),
                };
                Err(io::Error::new(problem.kind(), message))
            }
        }
    }

    fn destination(&self) -> String {
        let user = self.user.as_ref().map_or(String::new(), |user| format!("{user}@"));
        let port = self.port.map_or(String::new(), |port| format!(":{port}"));
        format!("{user}{}{port}", self.host)
    }
}

impl std::fmt::Display for SshTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ssh://{}", self.destination())
    }
}

/// The most of ssh's error output kept for an error message.
const STDERR_KEPT: usize = 4096;

/// Reads ssh's stderr to its end (so ssh never blocks writing warnings), keeping its last bytes.
async fn keep_the_end_of(mut stderr: tokio::process::ChildStderr, said: Arc<Mutex<Vec<u8>>>) {
    let mut chunk = [0u8; 1024];
    while let Ok(read @ 1..) = stderr.read(&mut chunk).await {
        let mut said = said.lock().expect("not poisoned");
        said.extend_from_slice(&chunk[..read]);
        let excess = said.len().saturating_sub(STDERR_KEPT);
        said.drain(..excess);
    }
}

/// Sends `HEAD /_ping` and reads the answer's head; a HEAD answer has no body, so the connection
/// is left at the start of the next exchange.
async fn probe(stream: &mut SshStream) -> io::Result<()> {
    stream
        .write_all(b"HEAD /_ping HTTP/1.1\r\nHost: docker\r\nUser-Agent: docker-engine-runtime\r\n\r\n")
        .await?;
    let mut head = Vec::new();
    let mut chunk = [0u8; 512];
    // The daemon sends nothing after the head until it is asked again, so a read never takes
    // bytes of the next exchange.
    while !head.ends_with(b"\r\n\r\n") {
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the connection closed"));
        }
        head.extend_from_slice(&chunk[..read]);
        if head.len() > 16 * 1024 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "no end to the answer's head",
            ));
        }
    }
    if !head.starts_with(b"HTTP/1.") {
        let start = String::from_utf8_lossy(&head[..head.len().min(80)]).into_owned();
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("the remote end does not speak HTTP: {start:?}"),
        ));
    }
    Ok(())
}

/// One ssh process carrying one connection; dropping it kills the process, which tokio then
/// reaps.
pub(crate) struct SshStream {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: ChildStdout,
}

impl AsyncRead for SshStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stdout).poll_read(cx, buf)
    }
}

impl AsyncWrite for SshStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().stdin {
            Some(stdin) => Pin::new(stdin).poll_write(cx, buf),
            None => Poll::Ready(Err(io::ErrorKind::BrokenPipe.into())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().stdin {
            Some(stdin) => Pin::new(stdin).poll_flush(cx),
            None => Poll::Ready(Ok(())),
        }
    }

    /// Closes ssh's stdin: the remote `dial-stdio` half-closes its connection to the daemon, as
    /// a Unix socket's shutdown would, and the answer still comes back on stdout.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Some(stdin) = &mut this.stdin {
            std::task::ready!(Pin::new(stdin).poll_flush(cx))?;
        }
        this.stdin = None;
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(rest: &str) -> crate::error::Result<SshTarget> {
        SshTarget::parse(&format!("ssh://{rest}"), rest)
    }

    #[test]
    fn parses_user_host_and_port_as_the_cli_does() {
        let target = parse("me@example.com:2222").unwrap();
        assert_eq!(
            (target.user.as_deref(), target.host.as_str(), target.port),
            (Some("me"), "example.com", Some(2222))
        );
        let target = parse("example.com").unwrap();
        assert_eq!((target.user, target.port), (None, None));
        let target = parse("root@[::1]:22/").unwrap();
        assert_eq!((target.host.as_str(), target.port), ("::1", Some(22)));
        assert_eq!(parse("a@b:7").unwrap().to_string(), "ssh://a@b:7");
    }

    #[test]
    fn refuses_paths_queries_passwords_and_bad_ports() {
        for (bad, why) in [
            ("host/var/run/docker.sock", "no path"),
            ("host:22/path", "no path"),
            ("host?socket=x", "no path"),
            ("me:secret@host", "password"),
            ("host:ssh", "port"),
            ("@host", "user"),
            ("", "no host"),
        ] {
            let error = parse(bad).unwrap_err().to_string();
            assert!(error.contains(why) && error.contains("DOCKER_HOST"), "{bad}: {error}");
        }
    }

    #[test]
    fn the_command_is_the_clis() {
        let target = SshTarget {
            options: vec!["-F".into(), "/run/config".into()],
            ..parse("me@host:2222").unwrap()
        };
        let command = target.command();
        let args: Vec<_> = command.as_std().get_args().map(|a| a.to_str().unwrap()).collect();
        assert_eq!(command.as_std().get_program(), "ssh");
        assert_eq!(
            args,
            [
                "-F",
                "/run/config",
                "-o",
                "ConnectTimeout=30",
                "-l",
                "me",
                "-p",
                "2222",
                "--",
                "host",
                "docker",
                "system",
                "dial-stdio"
            ]
        );
    }
}
