//! WebSocket sessions (`/containers/{id}/attach/ws`) in the recorder and the replay, with the
//! `websocket` feature: the client masks its frames with keys it draws at random, and the daemon's
//! handshake answer depends on a key the client draws too, so neither side's bytes can be played
//! back as recorded. Both are taken apart with tungstenite instead, and a session is recorded and
//! replayed message by message.

use futures_util::{SinkExt, StreamExt};
use std::sync::Mutex;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role};
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::WebSocketStream;

use super::answer::{MockError, Payload, Reply, SessionStep};
use super::record::{Content, SessionEvent, WebSocketMessage};

/// A WebSocket answer with the `Sec-WebSocket-Accept` that answers the request's
/// `Sec-WebSocket-Key` `key` (a request without one is refused with a 400, as dockerd refuses it);
/// other answers as they are.
pub(super) fn accept(reply: Reply, key: Option<&http::HeaderValue>) -> Reply {
    if !matches!(reply.payload, Payload::WebSocket(_)) {
        return reply;
    }
    let Some(key) = key.map(|key| key.as_bytes()) else {
        return Reply::error(&MockError::bad_request(
            "not a WebSocket handshake: no Sec-WebSocket-Key",
        ));
    };
    let mut reply = reply;
    reply.headers.push((
        "Sec-WebSocket-Accept".into(),
        tungstenite::handshake::derive_accept_key(key),
    ));
    reply
}

/// Passes a WebSocket session's messages both ways until both sides have closed, noting each
/// before it is passed on. Pings are answered by each side's own end and not passed on.
pub(super) async fn relay<C, D>(client: C, daemon: D) -> Vec<SessionEvent>
where
    C: AsyncRead + AsyncWrite + Unpin,
    D: AsyncRead + AsyncWrite + Unpin,
{
    let transcript = Mutex::new(Vec::new());
    let client = WebSocketStream::from_raw_socket(client, Role::Server, None).await;
    let daemon = WebSocketStream::from_raw_socket(daemon, Role::Client, None).await;
    let (mut to_client, mut from_client) = client.split();
    let (mut to_daemon, mut from_daemon) = daemon.split();
    let note = |event| transcript.lock().expect("session transcript").push(event);
    let up = async {
        while let Some(Ok(message)) = from_client.next().await {
            let Some(kept) = WebSocketMessage::of(&message) else {
                continue;
            };
            note(SessionEvent::ClientMessage(kept));
            if to_daemon.send(message).await.is_err() {
                break;
            }
        }
        note(SessionEvent::ClientClosed);
        let _ = to_daemon.close().await;
    };
    let down = async {
        while let Some(Ok(message)) = from_daemon.next().await {
            let Some(kept) = WebSocketMessage::of(&message) else {
                continue;
            };
            note(SessionEvent::DaemonMessage(kept));
            if to_client.send(message).await.is_err() {
                break;
            }
        }
        note(SessionEvent::DaemonClosed);
        let _ = to_client.close().await;
    };
    tokio::join!(up, down);
    transcript.into_inner().expect("session transcript")
}

impl WebSocketMessage {
    /// What a recording keeps of a message: its kind and payload; `None` for the close handshake
    /// and pings, which each side's end handles.
    fn of(message: &Message) -> Option<WebSocketMessage> {
        match message {
            Message::Text(text) => Some(WebSocketMessage::Text(text.as_str().to_owned())),
            Message::Binary(bytes) => Some(WebSocketMessage::Binary(Content::of(bytes))),
            Message::Close(_) | Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => None,
        }
    }
}

/// Plays a session's steps as WebSocket messages on the taken-over connection: output as one
/// binary message each (never multiplexed, as dockerd sends it), input compared by payload,
/// however the client divided it into messages.
/// A step that fails ends the session with a close message saying why (code 1011), as a daemon
/// ends one on an error, so the client sees an end rather than a reset.
pub(super) async fn play<C: AsyncRead + AsyncWrite + Unpin>(
    connection: C,
    steps: Vec<SessionStep>,
) -> Result<(), String> {
    let mut socket = WebSocketStream::from_raw_socket(connection, Role::Server, None).await;
    let played = play_steps(&mut socket, steps).await;
    let close = played.as_ref().err().map(|problem| CloseFrame {
        code: CloseCode::Error,
        reason: close_reason(problem).into(),
    });
    let _ = socket.close(close).await;
    played
}

/// A close message's reason holds at most 123 bytes: the problem's start, cut at a character.
fn close_reason(problem: &str) -> String {
    let mut end = problem.len().min(123);
    while !problem.is_char_boundary(end) {
        end -= 1;
    }
    problem[..end].to_owned()
}

async fn play_steps<C: AsyncRead + AsyncWrite + Unpin>(
    socket: &mut WebSocketStream<C>,
    steps: Vec<SessionStep>,
) -> Result<(), String> {
    let sending = |e: tungstenite::Error| format!("sending output: {e}");
    for step in steps {
        match step {
            SessionStep::Send(piece) => socket
                .send(Message::Binary(piece.bytes().clone()))
                .await
                .map_err(sending)?,
            SessionStep::Raw(bytes) => socket.send(Message::Binary(bytes)).await.map_err(sending)?,
            SessionStep::Message(WebSocketMessage::Text(text)) => {
                socket.send(Message::text(text)).await.map_err(sending)?
            }
            SessionStep::Message(WebSocketMessage::Binary(content)) => {
                socket.send(Message::Binary(content.bytes()?)).await.map_err(sending)?
            }
            SessionStep::Expect(expected) => {
                let mut received = Vec::new();
                while received.len() < expected.len() {
                    match next_payload(socket).await? {
                        Some(payload) => received.extend_from_slice(&payload),
                        None => break,
                    }
                }
                if received != expected {
                    return Err(format!(
                        "expected the input {:?}, got {:?}",
                        String::from_utf8_lossy(&expected),
                        String::from_utf8_lossy(&received)
                    ));
                }
            }
            SessionStep::ExpectEnd => {
                if let Some(more) = next_payload(socket).await? {
                    return Err(format!(
                        "expected the input to end, got {:?} more",
                        String::from_utf8_lossy(&more)
                    ));
                }
            }
            SessionStep::CloseOutput => socket
                .close(None)
                .await
                .map_err(|e| format!("closing the output: {e}"))?,
        }
    }
    Ok(())
}

/// The next message's payload from the client, `None` once it has closed, within the session's
/// limit.
async fn next_payload<C: AsyncRead + AsyncWrite + Unpin>(
    socket: &mut WebSocketStream<C>,
) -> Result<Option<bytes::Bytes>, String> {
    loop {
        let next = tokio::time::timeout(super::SESSION_LIMIT, socket.next())
            .await
            .map_err(|_| format!("the client sent nothing within {:?}", super::SESSION_LIMIT))?;
        match next {
            // tungstenite queues the answer to a close; it goes out with the next flush.
            Some(Ok(Message::Close(_))) => {
                let _ = socket.flush().await;
                return Ok(None);
            }
            None => return Ok(None),
            Some(Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed)) => return Ok(None),
            Some(Err(e)) => return Err(format!("reading the input: {e}")),
            Some(Ok(Message::Binary(bytes))) => return Ok(Some(bytes)),
            Some(Ok(Message::Text(text))) => return Ok(Some(bytes::Bytes::copy_from_slice(text.as_bytes()))),
            Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
        }
    }
}
