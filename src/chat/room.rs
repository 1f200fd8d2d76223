//! One chat room actor per request, and the registry that owns them.
//!
//! The room stores every message in a write transaction before it sends it
//! to the members. It handles one message at a time, because each handler
//! runs as an [`AtomicResponse`]. So members see messages in id order, and a
//! join's history and the live messages after it neither overlap nor leave
//! a gap. A member is a WebSocket session with a bounded queue; a session
//! whose queue is full is dropped, so one slow reader never stalls the room.

use std::collections::HashMap;
use std::sync::Arc;

use actix::prelude::*;
use tokio::sync::mpsc;

use super::credential::{CheckKind, Credential};
use super::protocol::{load_views, MessageView, PostInput, ServerFrame};
use super::ChatError;
use crate::db::chat::{self, ChatFile, ChatMessage, NewChatMessage, UploaderSide};
use crate::db::client_requests::{ClientRequest, Viewer};
use crate::db::ids::{ChatFileId, ChatMessageId, ClientRequestId};
use crate::db::staff::{Scope, StaffId, StaffUser};
use crate::db::{write_transaction, DbError};
use crate::engine::Engine;

/// Maximum messages sent when a member rejoins with `?after=`. A member that
/// missed more gets `has_more: true` and loads the rest with `older` or the
/// REST history.
pub const MAX_MISSED_MESSAGES: i64 = 1_000;

/// Attempts to reach a room that stopped between lookup and delivery.
const ROOM_ATTEMPTS: usize = 3;

/// Identifies a member session within the process.
pub type MemberId = u64;

/// An item on a member's queue.
#[derive(Debug, Clone)]
pub enum Outgoing {
    Frame(Arc<ServerFrame>),
    /// Close the WebSocket with this reason.
    Close(String),
}

#[derive(Debug)]
struct Member {
    viewer: Viewer,
    credential: Credential,
    queue: mpsc::Sender<Outgoing>,
}

/// The chat room of one request.
#[derive(Debug)]
pub struct ChatRoom {
    request_id: ClientRequestId,
    engine: Engine,
    registry: Addr<ChatRooms>,
    members: HashMap<MemberId, Member>,
    idle_reported: bool,
}

impl Actor for ChatRoom {
    type Context = Context<Self>;

    fn started(&mut self, _ctx: &mut Self::Context) {
        tracing::debug!(request_id = %self.request_id, "chat room started");
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        tracing::debug!(request_id = %self.request_id, "chat room stopped");
    }
}

impl ChatRoom {
    fn new(request_id: ClientRequestId, engine: Engine, registry: Addr<ChatRooms>) -> Self {
        Self { request_id, engine, registry, members: HashMap::new(), idle_reported: false }
    }

    /// Puts `frame` on one member's queue; a member whose queue is full or
    /// closed is removed, which closes its session.
    fn send_to(&mut self, member: MemberId, frame: Arc<ServerFrame>) {
        let Some(entry) = self.members.get(&member) else {
            return;
        };
        if !self.offer(member, &entry.queue, Outgoing::Frame(frame)) {
            self.members.remove(&member);
        }
    }

    /// Puts `frame` on every member's queue, dropping members that cannot
    /// take it.
    fn broadcast(&mut self, frame: ServerFrame) {
        let frame = Arc::new(frame);
        let request_id = self.request_id;
        self.members
            .retain(|member, entry| offer_to(request_id, *member, &entry.queue, Outgoing::Frame(frame.clone())));
    }

    fn offer(&self, member: MemberId, queue: &mpsc::Sender<Outgoing>, item: Outgoing) -> bool {
        offer_to(self.request_id, member, queue, item)
    }

    /// Tells the registry that the room has no members, once per idle spell.
    fn report_if_idle(&mut self) {
        if self.members.is_empty() && !self.idle_reported {
            self.idle_reported = true;
            self.registry.do_send(RoomIdle { request_id: self.request_id });
        }
    }
}

fn offer_to(request_id: ClientRequestId, member: MemberId, queue: &mpsc::Sender<Outgoing>, item: Outgoing) -> bool {
    match queue.try_send(item) {
        Ok(()) => true,
        Err(mpsc::error::TrySendError::Full(_)) => {
            tracing::warn!(%request_id, member, "dropped a chat session whose outgoing queue is full");
            false
        }
        Err(mpsc::error::TrySendError::Closed(_)) => false,
    }
}

/// Adds a member after checking that its viewer may see the request, and
/// puts the history on its queue first: every message after `after`, or the
/// latest page.
#[derive(Message, Debug)]
#[rtype(result = "Result<(), ChatError>")]
pub struct Join {
    pub member: MemberId,
    pub viewer: Viewer,
    pub credential: Credential,
    pub queue: mpsc::Sender<Outgoing>,
    pub after: Option<ChatMessageId>,
}

impl Handler<Join> for ChatRoom {
    type Result = AtomicResponse<Self, Result<(), ChatError>>;

    fn handle(&mut self, join: Join, _ctx: &mut Self::Context) -> Self::Result {
        let request_id = self.request_id;
        let database = self.engine.database.clone();
        let page_size = i64::from(self.engine.settings.chat.history_page.max(1));
        let viewer = join.viewer.clone();
        let after = join.after;
        let load = async move {
            database
                .run(move |connection| {
                    let Some(request) = ClientRequest::visible(connection, &viewer, request_id)? else {
                        return Ok(None);
                    };
                    let page = match after {
                        Some(after) => ChatMessage::page_after(connection, request_id, after, MAX_MISSED_MESSAGES)?,
                        None => ChatMessage::latest(connection, request_id, page_size)?,
                    };
                    let views = load_views(connection, &request, &page.messages, "")?;
                    let status =
                        ServerFrame::Status { status: request.status.clone(), can_write: viewer.can_write(&request) };
                    Ok::<_, DbError>(Some((views, page.has_more, status)))
                })
                .await
        };
        AtomicResponse::new(Box::pin(load.into_actor(self).map(move |loaded, room, _ctx| {
            let result = match loaded {
                Err(error) => Err(ChatError::from(error)),
                Ok(None) => Err(ChatError::request_not_found(request_id)),
                Ok(Some((messages, has_more, status))) => {
                    let history = Arc::new(ServerFrame::History { messages, has_more });
                    // The status follows the history, so a tab that reconnects
                    // learns what changed while it was away, such as a close.
                    if room.offer(join.member, &join.queue, Outgoing::Frame(history))
                        && room.offer(join.member, &join.queue, Outgoing::Frame(Arc::new(status)))
                    {
                        let member = Member { viewer: join.viewer, credential: join.credential, queue: join.queue };
                        room.members.insert(join.member, member);
                        room.idle_reported = false;
                    }
                    Ok(())
                }
            };
            room.report_if_idle();
            result
        })))
    }
}

/// Removes a member whose session ended.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct Leave {
    pub member: MemberId,
}

impl Handler<Leave> for ChatRoom {
    type Result = ();

    fn handle(&mut self, leave: Leave, _ctx: &mut Self::Context) {
        self.members.remove(&leave.member);
        self.report_if_idle();
    }
}

/// Stores a message and sends it to the members. A message whose
/// `client_message_id` is already stored is returned as stored and sent
/// again only to `member`, the session that resent it. Returns the view
/// (file paths without a prefix) and whether this call stored it.
#[derive(Message, Debug)]
#[rtype(result = "Result<(MessageView, bool), ChatError>")]
pub struct Post {
    pub viewer: Viewer,
    pub input: PostInput,
    pub member: Option<MemberId>,
    /// The sign-in of a WebSocket sender, checked in the transaction that
    /// stores the message; `None` for a REST post, whose request was
    /// authenticated just before.
    pub credential: Option<Credential>,
}

impl Handler<Post> for ChatRoom {
    type Result = AtomicResponse<Self, Result<(MessageView, bool), ChatError>>;

    fn handle(&mut self, post: Post, _ctx: &mut Self::Context) -> Self::Result {
        let request_id = self.request_id;
        let database = self.engine.database.clone();
        let now = self.engine.clock.now_naive();
        let engine = self.engine.clone();
        let viewer = post.viewer;
        let input = post.input;
        let member = post.member;
        let credential = post.credential;
        let store = async move {
            database
                .run(move |connection| {
                    write_transaction(connection, |connection| {
                        if let Some(credential) = &credential {
                            if !credential.is_live(connection, &engine, now, CheckKind::Activity)? {
                                return Err(ChatError::SignInEnded(credential.ended_reason()));
                            }
                        }
                        store_message(connection, request_id, &viewer, &input, now)
                    })
                })
                .await
        };
        AtomicResponse::new(Box::pin(store.into_actor(self).map(move |stored, room, _ctx| {
            if let Ok((view, created)) = &stored {
                let frame = ServerFrame::Message { message: Box::new(view.clone()) };
                if *created {
                    room.broadcast(frame);
                } else if let Some(member) = member {
                    room.send_to(member, Arc::new(frame));
                }
            }
            room.report_if_idle();
            stored
        })))
    }
}

/// Checks that `viewer` may post `input` in request `request_id` and stores
/// it once. Runs inside the room's write transaction.
fn store_message(
    connection: &mut crate::db::DbConnection,
    request_id: ClientRequestId,
    viewer: &Viewer,
    input: &PostInput,
    now: chrono::NaiveDateTime,
) -> Result<(MessageView, bool), ChatError> {
    let Some(request) = ClientRequest::visible(connection, viewer, request_id)? else {
        return Err(ChatError::request_not_found(request_id));
    };
    if !viewer.can_write(&request) {
        return Err(ChatError::Forbidden(read_only_reason(&request)));
    }
    if let Some(file_id) = input.file_id {
        check_attachment(connection, request_id, viewer, file_id)?;
    }
    let (sender, staff_id) = match viewer {
        Viewer::Client(_) => (chat::sender::CLIENT, None),
        Viewer::Staff { id, .. } => (chat::sender::HELPER, Some(*id)),
    };
    let new = NewChatMessage {
        request_id,
        client_message_id: &input.client_message_id,
        sender,
        staff_id,
        kind: if input.file_id.is_some() { chat::kind::FILE } else { chat::kind::TEXT },
        body: &input.text,
        file_id: input.file_id,
        sent_at: now,
    };
    let (message, created) = ChatMessage::insert_once(connection, &new)?;
    let same_message = message.sender == sender
        && message.staff_id == staff_id
        && message.body == input.text
        && message.file_id == input.file_id;
    if !created && !same_message {
        return Err(ChatError::BadRequest(format!(
            "client_id '{}' already names another message in request {request_id}: give every message a new id",
            input.client_message_id
        )));
    }
    let view = load_views(connection, &request, std::slice::from_ref(&message), "")?.into_iter().next();
    let view = view.ok_or_else(|| ChatError::Internal(anyhow::anyhow!("stored message {} has no view", message.id)))?;
    Ok((view, created))
}

/// Checks that a message of `viewer` in request `request_id` may carry file
/// `file_id`: the file must belong to the request and have been uploaded by
/// the viewer's side, so neither side can send the other's upload as its
/// own. Runs in the write transaction that stores the message, so the file
/// cannot change or be swept between this check and the insert.
fn check_attachment(
    connection: &mut crate::db::DbConnection,
    request_id: ClientRequestId,
    viewer: &Viewer,
    file_id: ChatFileId,
) -> Result<(), ChatError> {
    let file = ChatFile::find(connection, file_id)?.filter(|file| file.request_id == request_id);
    let Some(file) = file else {
        return Err(ChatError::BadRequest(format!(
            "file {file_id} does not belong to request {request_id}: upload the file to this request first"
        )));
    };
    if file.uploader_side() != UploaderSide::of(viewer) {
        let uploader = match file.uploader_side() {
            UploaderSide::Client => "the client",
            UploaderSide::Staff => "staff",
        };
        return Err(ChatError::BadRequest(format!(
            "file {file_id} of request {request_id} was uploaded by {uploader}, and a message can only carry a \
             file uploaded by its sender's side: upload the file yourself and send the id that upload returns"
        )));
    }
    Ok(())
}

/// Explains to a viewer who may see a request why they may not post in it.
pub fn read_only_reason(request: &ClientRequest) -> String {
    if request.status == crate::db::client_requests::status::CLOSED {
        format!("request {} is closed: its chat can be read but takes no new messages", request.id)
    } else {
        format!(
            "you may read the chat of request {} but not post: only the client and the helper who took the request may post",
            request.id
        )
    }
}

/// Marks the other side's messages up to `up_to` as delivered, and as read
/// when `read` is set, then sends the changed ids to every member.
#[derive(Message, Debug)]
#[rtype(result = "Result<(), ChatError>")]
pub struct Receipt {
    pub viewer: Viewer,
    pub up_to: ChatMessageId,
    pub read: bool,
}

impl Handler<Receipt> for ChatRoom {
    type Result = AtomicResponse<Self, Result<(), ChatError>>;

    fn handle(&mut self, receipt: Receipt, _ctx: &mut Self::Context) -> Self::Result {
        let request_id = self.request_id;
        let database = self.engine.database.clone();
        let now = self.engine.clock.now_naive();
        let store = async move {
            database
                .run(move |connection| {
                    write_transaction(connection, |connection| {
                        let Some(request) = ClientRequest::visible(connection, &receipt.viewer, request_id)? else {
                            return Err(ChatError::request_not_found(request_id));
                        };
                        let reader = match &receipt.viewer {
                            Viewer::Client(_) => chat::sender::CLIENT,
                            Viewer::Staff { id, .. } if request.helper_id == Some(*id) => chat::sender::HELPER,
                            Viewer::Staff { .. } => {
                                return Err(ChatError::Forbidden(format!(
                                    "only the client and the helper who took request {request_id} send receipts"
                                )))
                            }
                        };
                        Ok(ChatMessage::mark(connection, request_id, reader, receipt.up_to, receipt.read, now)?)
                    })
                })
                .await
        };
        AtomicResponse::new(Box::pin(store.into_actor(self).map(move |changed, room, _ctx| {
            let changed = changed?;
            let at = super::protocol::rfc3339(now);
            if !changed.delivered.is_empty() {
                room.broadcast(ServerFrame::Receipt {
                    ids: changed.delivered,
                    delivered_at: Some(at.clone()),
                    read_at: None,
                });
            }
            if !changed.read.is_empty() {
                room.broadcast(ServerFrame::Receipt { ids: changed.read, delivered_at: None, read_at: Some(at) });
            }
            room.report_if_idle();
            Ok(())
        })))
    }
}

/// Sends one member the page of messages before `before`.
#[derive(Message, Debug)]
#[rtype(result = "Result<(), ChatError>")]
pub struct Older {
    pub member: MemberId,
    pub viewer: Viewer,
    pub before: ChatMessageId,
}

impl Handler<Older> for ChatRoom {
    type Result = AtomicResponse<Self, Result<(), ChatError>>;

    fn handle(&mut self, older: Older, _ctx: &mut Self::Context) -> Self::Result {
        let request_id = self.request_id;
        let database = self.engine.database.clone();
        let page_size = i64::from(self.engine.settings.chat.history_page.max(1));
        let viewer = older.viewer;
        let before = older.before;
        let load = async move {
            database
                .run(move |connection| {
                    let Some(request) = ClientRequest::visible(connection, &viewer, request_id)? else {
                        return Err(ChatError::request_not_found(request_id));
                    };
                    let page = ChatMessage::page_before(connection, request_id, Some(before), page_size)?;
                    let messages = load_views(connection, &request, &page.messages, "")?;
                    Ok(ServerFrame::History { messages, has_more: page.has_more })
                })
                .await
        };
        AtomicResponse::new(Box::pin(load.into_actor(self).map(move |frame, room, _ctx| {
            room.send_to(older.member, Arc::new(frame?));
            Ok(())
        })))
    }
}

/// Checks every member against the request's current state and its own
/// sign-in. Members who can no longer see the request, or whose sign-in
/// ended, are disconnected. The rest get a `status` frame.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct CheckAccess;

impl Handler<CheckAccess> for ChatRoom {
    type Result = AtomicResponse<Self, ()>;

    fn handle(&mut self, _check: CheckAccess, _ctx: &mut Self::Context) -> Self::Result {
        let request_id = self.request_id;
        let database = self.engine.database.clone();
        let engine = self.engine.clone();
        let now = self.engine.clock.now_naive();
        let credentials: Vec<(MemberId, Credential)> =
            self.members.iter().map(|(member, entry)| (*member, entry.credential.clone())).collect();
        let staff: Vec<StaffId> = self
            .members
            .values()
            .filter_map(|entry| match &entry.viewer {
                Viewer::Staff { id, .. } => Some(*id),
                Viewer::Client(_) => None,
            })
            .collect();
        let load = async move {
            database
                .run(move |connection| {
                    let request = ClientRequest::find(connection, request_id)?;
                    let mut ended = Vec::new();
                    for (member, credential) in &credentials {
                        if !credential.is_live(connection, &engine, now, CheckKind::Periodic)? {
                            ended.push(*member);
                        }
                    }
                    // An admin may have changed a member's role or
                    // corporations since they joined.
                    let mut scopes = HashMap::new();
                    for id in staff {
                        if let Some(user) = StaffUser::find(connection, id)? {
                            scopes.insert(id, Scope::of(connection, &user)?);
                        }
                    }
                    Ok::<_, DbError>((request, ended, scopes))
                })
                .await
        };
        AtomicResponse::new(Box::pin(load.into_actor(self).map(move |loaded, room, _ctx| {
            let (request, ended, scopes) = match loaded {
                Ok(loaded) => loaded,
                Err(error) => {
                    // Keeping members whose access may be gone is worse than
                    // making them reconnect, so every session is closed.
                    tracing::error!(%error, %request_id, "re-checking chat access failed; closing every session");
                    (None, Vec::new(), HashMap::new())
                }
            };
            let members = std::mem::take(&mut room.members);
            for (member, mut entry) in members {
                if let Viewer::Staff { id, scope } = &mut entry.viewer {
                    match scopes.get(id) {
                        Some(fresh) => *scope = fresh.clone(),
                        None => *scope = Scope::Corporations(Vec::new()),
                    }
                }
                if ended.contains(&member) {
                    tracing::info!(%request_id, member, credential = ?entry.credential, "closed a chat session whose sign-in ended");
                    room.offer(member, &entry.queue, Outgoing::Close(entry.credential.ended_reason()));
                    continue;
                }
                let keep = request.as_ref().filter(|request| entry.viewer.can_see(request));
                match keep {
                    Some(request) => {
                        let frame = ServerFrame::Status {
                            status: request.status.clone(),
                            can_write: entry.viewer.can_write(request),
                        };
                        if room.offer(member, &entry.queue, Outgoing::Frame(Arc::new(frame))) {
                            room.members.insert(member, entry);
                        }
                    }
                    None => {
                        tracing::info!(%request_id, member, "closed a chat session that lost access to its request");
                        let reason = format!("you no longer have access to request {request_id}");
                        room.offer(member, &entry.queue, Outgoing::Close(reason));
                    }
                }
            }
            room.report_if_idle();
        })))
    }
}

/// Stops the room if it still has no members; replies whether it stopped.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "bool")]
struct StopIfIdle;

impl Handler<StopIfIdle> for ChatRoom {
    type Result = bool;

    fn handle(&mut self, _stop: StopIfIdle, ctx: &mut Self::Context) -> bool {
        if self.members.is_empty() {
            ctx.stop();
            true
        } else {
            false
        }
    }
}

/// Owns the chat rooms: starts a room on first use and stops it when it has
/// no members.
#[derive(Debug)]
pub struct ChatRooms {
    engine: Engine,
    rooms: HashMap<ClientRequestId, Addr<ChatRoom>>,
}

impl ChatRooms {
    pub fn new(engine: Engine) -> Self {
        Self { engine, rooms: HashMap::new() }
    }
}

impl Actor for ChatRooms {
    type Context = Context<Self>;

    fn started(&mut self, _ctx: &mut Self::Context) {
        tracing::info!("chat room registry started");
    }
}

/// Returns the room of a request, starting it if needed.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "Addr<ChatRoom>")]
pub struct GetRoom {
    pub request_id: ClientRequestId,
}

impl Handler<GetRoom> for ChatRooms {
    type Result = MessageResult<GetRoom>;

    fn handle(&mut self, get: GetRoom, ctx: &mut Self::Context) -> Self::Result {
        let engine = self.engine.clone();
        let registry = ctx.address();
        let room =
            self.rooms.entry(get.request_id).or_insert_with(|| ChatRoom::new(get.request_id, engine, registry).start());
        MessageResult(room.clone())
    }
}

/// Sent by a room that has no members.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
struct RoomIdle {
    request_id: ClientRequestId,
}

impl Handler<RoomIdle> for ChatRooms {
    type Result = ();

    /// Asks the room to stop and waits for its reply before handing out
    /// addresses again, so a join that reaches a stopping room is retried
    /// on a new one.
    fn handle(&mut self, idle: RoomIdle, ctx: &mut Self::Context) {
        let Some(room) = self.rooms.get(&idle.request_id).cloned() else {
            return;
        };
        let request_id = idle.request_id;
        // NOTE: while the room finishes a database call the registry waits
        // too, so a slow database delays joins to every room for that time.
        ctx.wait(room.send(StopIfIdle).into_actor(self).map(move |stopped, registry, _ctx| {
            // An error means the room has already stopped.
            if stopped.unwrap_or(true) {
                registry.rooms.remove(&request_id);
            }
        }));
    }
}

/// Makes the room of a request, if it is running, re-check its members.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct AccessChanged {
    pub request_id: ClientRequestId,
}

impl Handler<AccessChanged> for ChatRooms {
    type Result = ();

    fn handle(&mut self, changed: AccessChanged, _ctx: &mut Self::Context) {
        if let Some(room) = self.rooms.get(&changed.request_id) {
            room.do_send(CheckAccess);
        }
    }
}

/// Makes every running room re-check its members, after a change that may
/// touch many requests, such as an officer's corporations.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct AccessChangedEverywhere;

impl Handler<AccessChangedEverywhere> for ChatRooms {
    type Result = ();

    fn handle(&mut self, _changed: AccessChangedEverywhere, _ctx: &mut Self::Context) {
        for room in self.rooms.values() {
            room.do_send(CheckAccess);
        }
    }
}

/// Number of running rooms, for tests and status pages.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "usize")]
pub struct LiveRooms;

impl Handler<LiveRooms> for ChatRooms {
    type Result = usize;

    fn handle(&mut self, _live: LiveRooms, _ctx: &mut Self::Context) -> usize {
        self.rooms.len()
    }
}

/// Sends a message to the room of `request_id` and returns the room with
/// its reply. A room that stopped between lookup and delivery is looked
/// up again, up to [`ROOM_ATTEMPTS`] times.
pub async fn ask_room<M, F>(
    registry: &Addr<ChatRooms>,
    request_id: ClientRequestId,
    make: F,
) -> Result<(Addr<ChatRoom>, M::Result), ChatError>
where
    M: Message + Send + 'static,
    M::Result: Send,
    ChatRoom: Handler<M>,
    F: Fn() -> M,
{
    for _ in 0..ROOM_ATTEMPTS {
        let room = registry
            .send(GetRoom { request_id })
            .await
            .map_err(|error| ChatError::Internal(anyhow::anyhow!("chat room registry stopped: {error}")))?;
        match room.send(make()).await {
            Ok(answer) => return Ok((room, answer)),
            Err(MailboxError::Closed) => continue,
            Err(MailboxError::Timeout) => {
                return Err(ChatError::Internal(anyhow::anyhow!("chat room of request {request_id} timed out")))
            }
        }
    }
    Err(ChatError::Internal(anyhow::anyhow!("chat room of request {request_id} kept stopping")))
}
