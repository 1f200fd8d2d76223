//! One WebSocket connection to a chat room: reads the member's frames,
//! writes the room's frames, and keeps the connection alive with pings.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use actix::Addr;
use actix_ws::{AggregatedMessage, CloseCode, CloseReason, Session};
use futures_util::StreamExt as _;
use tokio::sync::mpsc;

use super::credential::{CheckKind, Credential, RECHECK_INTERVAL};
use super::protocol::{ClientFrame, ServerFrame};
use super::room::{ask_room, ChatRoom, ChatRooms, Join, Leave, MemberId, Older, Outgoing, Post, Receipt};
use super::ChatError;
use crate::db::client_requests::Viewer;
use crate::db::ids::{ChatMessageId, ClientRequestId};
use crate::db::DbError;
use crate::engine::Engine;

/// How often the server pings the client.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(5);

/// A client that has sent nothing, not even a pong, for this long is
/// disconnected.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(15);

/// Frames a room may queue for one session before the session is dropped as
/// too slow.
pub const OUTGOING_QUEUE: usize = 64;

/// Largest frame accepted from a client, in bytes: a 4096-character text in
/// four-byte UTF-8 plus its JSON fits well within it. A larger frame closes
/// the socket with [`CloseCode::Size`] (1009).
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

static NEXT_MEMBER: AtomicU64 = AtomicU64::new(1);

/// The settings of one session's connection.
#[derive(Debug, Clone)]
pub struct SessionSetup {
    pub engine: Engine,
    pub registry: Addr<ChatRooms>,
    pub request_id: ClientRequestId,
    pub viewer: Viewer,
    /// The sign-in that opened the socket, checked again while it is open.
    pub credential: Credential,
    pub after: Option<ChatMessageId>,
    /// Path that file ids are appended to in this area, e.g. `/portal/files/`.
    pub files_prefix: String,
}

/// Runs a session until the client leaves, times out, loses access or
/// falls behind.
pub async fn run(setup: SessionSetup, mut session: Session, stream: actix_ws::MessageStream) {
    let member: MemberId = NEXT_MEMBER.fetch_add(1, Ordering::Relaxed);
    let request_id = setup.request_id;
    let (queue, mut outgoing) = mpsc::channel::<Outgoing>(OUTGOING_QUEUE);

    let joined = ask_room(&setup.registry, request_id, || Join {
        member,
        viewer: setup.viewer.clone(),
        credential: setup.credential.clone(),
        queue: queue.clone(),
        after: setup.after,
    })
    .await;
    // Only the room keeps a sender, so the queue closes when the room drops
    // this member.
    drop(queue);
    let room = match joined {
        Ok((room, Ok(()))) => room,
        Ok((_, Err(error))) | Err(error) => {
            let message = error_message(&error);
            let _ = session.text(ServerFrame::Error { message: message.clone(), client_id: None }.to_text("")).await;
            let _ = session.close(Some(CloseReason { code: CloseCode::Policy, description: Some(message) })).await;
            return;
        }
    };
    tracing::debug!(%request_id, member, "chat session joined");

    let mut stream =
        stream.max_frame_size(MAX_FRAME_BYTES).aggregate_continuations().max_continuation_size(MAX_FRAME_BYTES);
    let mut heartbeat = tokio::time::interval(HEARTBEAT_INTERVAL);
    let mut recheck = tokio::time::interval_at(tokio::time::Instant::now() + RECHECK_INTERVAL, RECHECK_INTERVAL);
    let mut last_heard = Instant::now();

    let close_reason: Option<CloseReason> = loop {
        tokio::select! {
            _ = heartbeat.tick() => {
                if last_heard.elapsed() > CLIENT_TIMEOUT {
                    tracing::info!(%request_id, member, "closed a chat session that sent no pong within the timeout");
                    break Some(CloseReason { code: CloseCode::Away, description: Some("no pong within the timeout".into()) });
                }
                if session.ping(b"").await.is_err() {
                    break None;
                }
            }
            _ = recheck.tick() => {
                if !sign_in_is_live(&setup).await {
                    tracing::info!(%request_id, member, credential = ?setup.credential, "closed a chat session whose sign-in ended");
                    break Some(sign_in_ended(&setup.credential));
                }
            }
            item = outgoing.recv() => match item {
                Some(Outgoing::Frame(frame)) => {
                    if session.text(frame.to_text(&setup.files_prefix)).await.is_err() {
                        break None;
                    }
                }
                Some(Outgoing::Close(reason)) => {
                    break Some(CloseReason { code: CloseCode::Policy, description: Some(reason) });
                }
                None => {
                    break Some(CloseReason {
                        code: CloseCode::Again,
                        description: Some("the session fell behind the chat; reconnect with ?after=<last id>".into()),
                    });
                }
            },
            message = stream.next() => match message {
                None => break None,
                Some(Err(error)) => {
                    tracing::info!(%request_id, member, %error, "closed a chat session after a protocol error");
                    break Some(protocol_close(&error));
                }
                Some(Ok(message)) => {
                    last_heard = Instant::now();
                    match message {
                        AggregatedMessage::Text(text) => match handle_frame(&setup, &room, member, &text).await {
                            Handled::Done => {}
                            Handled::Rejected { message, client_id } => {
                                let frame = ServerFrame::Error { message, client_id }.to_text("");
                                if session.text(frame).await.is_err() {
                                    break None;
                                }
                            }
                            Handled::SignInEnded => {
                                tracing::info!(%request_id, member, credential = ?setup.credential, "closed a chat session that posted after its sign-in ended");
                                break Some(sign_in_ended(&setup.credential));
                            }
                        },
                        AggregatedMessage::Binary(_) => {
                            let message = "binary frames are not accepted: send JSON text frames".to_owned();
                            let frame = ServerFrame::Error { message, client_id: None };
                            if session.text(frame.to_text("")).await.is_err() {
                                break None;
                            }
                        }
                        AggregatedMessage::Ping(bytes) => {
                            if session.pong(&bytes).await.is_err() {
                                break None;
                            }
                        }
                        AggregatedMessage::Pong(_) => {}
                        AggregatedMessage::Close(_) => break None,
                    }
                }
            },
        }
    };

    room.do_send(Leave { member });
    let _ = session.close(close_reason).await;
    tracing::debug!(%request_id, member, "chat session ended");
}

/// The outcome of one text frame.
enum Handled {
    Done,
    /// The frame was rejected: the text of the error frame and, when the
    /// frame must not be sent again, its `client_id`.
    Rejected {
        message: String,
        client_id: Option<String>,
    },
    /// A `send` arrived after the sign-in ended; nothing was stored.
    SignInEnded,
}

/// Handles one text frame.
async fn handle_frame(setup: &SessionSetup, room: &Addr<ChatRoom>, member: MemberId, text: &str) -> Handled {
    let frame = match ClientFrame::parse(text) {
        Ok(frame) => frame,
        Err(rejected) => return Handled::Rejected { message: rejected.message, client_id: rejected.client_id },
    };
    let viewer = setup.viewer.clone();
    let mut client_id = None;
    let answer = match frame {
        ClientFrame::Send(input) => {
            client_id = Some(input.client_message_id.clone());
            // The room checks the sign-in inside the transaction that
            // stores the message, so no message is stored after it ended.
            let post = Post { viewer, input, member: Some(member), credential: Some(setup.credential.clone()) };
            room.send(post).await.map(|stored| stored.map(|_| ()))
        }
        ClientFrame::Seen { up_to } => room.send(Receipt { viewer, up_to, read: true }).await,
        ClientFrame::Delivered { up_to } => room.send(Receipt { viewer, up_to, read: false }).await,
        ClientFrame::Older { before } => room.send(Older { member, viewer, before }).await,
    };
    match answer {
        Ok(Ok(())) => Handled::Done,
        Ok(Err(ChatError::SignInEnded(_))) => Handled::SignInEnded,
        Ok(Err(error)) => {
            // Only a rejection is final; after a busy database the sender
            // keeps the message and sends it again.
            let rejected = matches!(error, ChatError::BadRequest(_) | ChatError::Forbidden(_) | ChatError::NotFound(_));
            Handled::Rejected { message: error_message(&error), client_id: client_id.filter(|_| rejected) }
        }
        Err(error) => Handled::Rejected {
            message: format!("the chat room is not available ({error}); reconnect"),
            client_id: None,
        },
    }
}

/// Runs the periodic check of the session's sign-in. A failed database call
/// keeps the socket open, because the next check or `send` tries again.
async fn sign_in_is_live(setup: &SessionSetup) -> bool {
    let engine = setup.engine.clone();
    let credential = setup.credential.clone();
    let now = engine.clock.now_naive();
    let checked = setup
        .engine
        .database
        .run(move |connection| credential.is_live(connection, &engine, now, CheckKind::Periodic).map_err(DbError::from))
        .await;
    match checked {
        Ok(live) => live,
        Err(error) => {
            tracing::warn!(request_id = %setup.request_id, %error, "checking a chat session's sign-in failed; keeping it open until the next check");
            true
        }
    }
}

/// Builds the close frame of a session whose sign-in ended: 1008 (policy
/// violation) with the reason.
fn sign_in_ended(credential: &Credential) -> CloseReason {
    CloseReason { code: CloseCode::Policy, description: Some(credential.ended_reason()) }
}

/// Builds the close frame after a frame the server could not read: 1009
/// (message too big) for a frame over [`MAX_FRAME_BYTES`], 1007 (invalid
/// payload) for text that is not UTF-8, and 1002 (protocol error) for the
/// rest.
fn protocol_close(error: &actix_ws::ProtocolError) -> CloseReason {
    use actix_ws::ProtocolError;

    let (code, description) = match error {
        ProtocolError::Overflow => (CloseCode::Size, too_large()),
        // NOTE: actix-ws 0.4 reports a message of continuation frames over
        // the limit only as an `io::Error` with this text.
        ProtocolError::Io(io) if io.to_string().contains("maximum continuation size") => (CloseCode::Size, too_large()),
        ProtocolError::Io(io) if io.kind() == std::io::ErrorKind::InvalidData => {
            (CloseCode::Invalid, "the text frame is not valid UTF-8".to_owned())
        }
        other => (CloseCode::Protocol, other.to_string()),
    };
    CloseReason { code, description: Some(description) }
}

fn too_large() -> String {
    format!("the frame is larger than the limit of {MAX_FRAME_BYTES} bytes")
}

/// Returns the text shown to a member for a failed request. Internal
/// details are logged, not shown.
fn error_message(error: &ChatError) -> String {
    match error {
        ChatError::Internal(cause) => {
            tracing::error!(error = format!("{cause:#}"), "chat request failed");
            "the request failed; the error has been logged, try again later".to_owned()
        }
        ChatError::Unavailable(cause) => {
            tracing::error!(error = %cause, "chat request failed: database unavailable");
            "the database is busy; try again in a moment".to_owned()
        }
        other => other.to_string(),
    }
}
