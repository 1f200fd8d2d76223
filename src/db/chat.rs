//! Chat messages and uploaded files of client requests.
//!
//! A message is stored once per `(request_id, client_message_id)`: the
//! sender's browser or app generates `client_message_id`, so a message
//! resent after a dropped connection returns the stored row instead of a
//! second one. Receipts set `delivered_at` and `read_at` on the other
//! side's messages only.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::client_requests::Viewer;
use super::ids::{ChatFileId, ChatMessageId, ClientId, ClientRequestId};
use super::schema::{chat_files, chat_messages};
use super::staff::StaffId;
use super::DbConnection;

/// Sender values, as stored in `chat_messages.sender`.
pub mod sender {
    pub const CLIENT: &str = "client";
    pub const HELPER: &str = "helper";
}

/// Message kinds, as stored in `chat_messages.kind`.
pub mod kind {
    pub const TEXT: &str = "text";
    pub const FILE: &str = "file";
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Identifiable)]
#[diesel(table_name = chat_messages)]
pub struct ChatMessage {
    pub id: ChatMessageId,
    pub request_id: ClientRequestId,
    /// The id the sender generated; unique within the request.
    pub client_message_id: String,
    /// `client` or `helper`.
    pub sender: String,
    /// The helper who sent it; `None` for the client's messages.
    pub staff_id: Option<StaffId>,
    /// `text` or `file`.
    pub kind: String,
    /// The text, or the caption of a file (may be empty).
    pub body: String,
    pub file_id: Option<ChatFileId>,
    pub sent_at: NaiveDateTime,
    pub delivered_at: Option<NaiveDateTime>,
    pub read_at: Option<NaiveDateTime>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = chat_messages)]
pub struct NewChatMessage<'a> {
    pub request_id: ClientRequestId,
    pub client_message_id: &'a str,
    pub sender: &'a str,
    pub staff_id: Option<StaffId>,
    pub kind: &'a str,
    pub body: &'a str,
    pub file_id: Option<ChatFileId>,
    pub sent_at: NaiveDateTime,
}

/// A page of messages in id order, and whether more exist beyond it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryPage {
    pub messages: Vec<ChatMessage>,
    pub has_more: bool,
}

/// The ids a receipt changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReceiptChange {
    /// Messages that had no delivery time and now have one.
    pub delivered: Vec<ChatMessageId>,
    /// Messages that had no read time and now have one.
    pub read: Vec<ChatMessageId>,
}

impl ChatMessage {
    /// Inserts `new` unless the request already has a message with its
    /// `client_message_id`, and returns the stored row with `true` when this
    /// call created it. Run it inside a write transaction, so the insert and
    /// the read of the stored row see the same state.
    pub fn insert_once(connection: &mut DbConnection, new: &NewChatMessage<'_>) -> QueryResult<(ChatMessage, bool)> {
        let inserted = diesel::insert_into(chat_messages::table)
            .values(new)
            .on_conflict((chat_messages::request_id, chat_messages::client_message_id))
            .do_nothing()
            .execute(connection)?;
        let stored = chat_messages::table
            .filter(chat_messages::request_id.eq(new.request_id))
            .filter(chat_messages::client_message_id.eq(new.client_message_id))
            .select(ChatMessage::as_select())
            .first(connection)?;
        Ok((stored, inserted == 1))
    }

    /// Returns the latest `limit` messages of a request, oldest first.
    pub fn latest(connection: &mut DbConnection, request: ClientRequestId, limit: i64) -> QueryResult<HistoryPage> {
        Self::page_before(connection, request, None, limit)
    }

    /// Returns up to `limit` messages with ids below `before` (all when
    /// `None`), the newest of them, oldest first.
    pub fn page_before(
        connection: &mut DbConnection,
        request: ClientRequestId,
        before: Option<ChatMessageId>,
        limit: i64,
    ) -> QueryResult<HistoryPage> {
        let mut query = chat_messages::table
            .filter(chat_messages::request_id.eq(request))
            .select(ChatMessage::as_select())
            .into_boxed();
        if let Some(before) = before {
            query = query.filter(chat_messages::id.lt(before));
        }
        let mut messages: Vec<ChatMessage> = query.order(chat_messages::id.desc()).limit(limit + 1).load(connection)?;
        let has_more = messages.len() as i64 > limit;
        messages.truncate(limit.max(0) as usize);
        messages.reverse();
        Ok(HistoryPage { messages, has_more })
    }

    /// Returns up to `limit` messages with ids above `after`, oldest first.
    pub fn page_after(
        connection: &mut DbConnection,
        request: ClientRequestId,
        after: ChatMessageId,
        limit: i64,
    ) -> QueryResult<HistoryPage> {
        let mut messages: Vec<ChatMessage> = chat_messages::table
            .filter(chat_messages::request_id.eq(request))
            .filter(chat_messages::id.gt(after))
            .order(chat_messages::id.asc())
            .limit(limit + 1)
            .select(ChatMessage::as_select())
            .load(connection)?;
        let has_more = messages.len() as i64 > limit;
        messages.truncate(limit.max(0) as usize);
        Ok(HistoryPage { messages, has_more })
    }

    /// Returns the messages of a request with the given ids, oldest first.
    pub fn find_many(
        connection: &mut DbConnection,
        request: ClientRequestId,
        ids: &[ChatMessageId],
    ) -> QueryResult<Vec<ChatMessage>> {
        chat_messages::table
            .filter(chat_messages::request_id.eq(request))
            .filter(chat_messages::id.eq_any(ids))
            .order(chat_messages::id.asc())
            .select(ChatMessage::as_select())
            .load(connection)
    }

    /// Marks the messages of the side other than `reader` (a `sender`
    /// value) with ids up to `up_to` as delivered at `now`, and as read too
    /// when `read` is set. Times already stored are kept. Returns the ids
    /// whose delivery or read time this call set. Run it inside a write
    /// transaction.
    pub fn mark(
        connection: &mut DbConnection,
        request: ClientRequestId,
        reader: &str,
        up_to: ChatMessageId,
        read: bool,
        now: NaiveDateTime,
    ) -> QueryResult<ReceiptChange> {
        let others = chat_messages::table
            .filter(chat_messages::request_id.eq(request))
            .filter(chat_messages::sender.ne(reader))
            .filter(chat_messages::id.le(up_to));

        let mut delivered: Vec<ChatMessageId> = diesel::update(others.filter(chat_messages::delivered_at.is_null()))
            .set(chat_messages::delivered_at.eq(Some(now)))
            .returning(chat_messages::id)
            .get_results(connection)?;
        delivered.sort();

        let mut read_ids: Vec<ChatMessageId> = Vec::new();
        if read {
            read_ids = diesel::update(others.filter(chat_messages::read_at.is_null()))
                .set(chat_messages::read_at.eq(Some(now)))
                .returning(chat_messages::id)
                .get_results(connection)?;
            read_ids.sort();
        }
        Ok(ReceiptChange { delivered, read: read_ids })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Identifiable)]
#[diesel(table_name = chat_files)]
pub struct ChatFile {
    pub id: ChatFileId,
    pub request_id: ClientRequestId,
    /// The random file name under `chat.files_dir`.
    pub stored_name: String,
    /// The uploaded name, cleaned of path parts and control characters; only
    /// shown, never used as a path.
    pub original_name: String,
    /// The type sniffed from the bytes.
    pub content_type: String,
    pub size_bytes: i64,
    /// SHA-256 of the content, as 64 hex digits.
    pub sha256: String,
    pub uploaded_by_client: Option<ClientId>,
    pub uploaded_by_staff: Option<StaffId>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = chat_files)]
pub struct NewChatFile<'a> {
    pub request_id: ClientRequestId,
    pub stored_name: &'a str,
    pub original_name: &'a str,
    pub content_type: &'a str,
    pub size_bytes: i64,
    pub sha256: &'a str,
    pub uploaded_by_client: Option<ClientId>,
    pub uploaded_by_staff: Option<StaffId>,
    pub created_at: NaiveDateTime,
}

impl ChatFile {
    pub fn insert(connection: &mut DbConnection, new: &NewChatFile<'_>) -> QueryResult<ChatFile> {
        diesel::insert_into(chat_files::table).values(new).returning(ChatFile::as_returning()).get_result(connection)
    }

    pub fn find(connection: &mut DbConnection, id: ChatFileId) -> QueryResult<Option<ChatFile>> {
        chat_files::table.find(id).select(ChatFile::as_select()).first(connection).optional()
    }

    /// Returns the files with the given ids.
    pub fn find_many(connection: &mut DbConnection, ids: &[ChatFileId]) -> QueryResult<Vec<ChatFile>> {
        chat_files::table.filter(chat_files::id.eq_any(ids)).select(ChatFile::as_select()).load(connection)
    }

    /// Returns the side of the chat that uploaded the file. The table's
    /// check constraint sets exactly one of the two uploader columns.
    pub fn uploader_side(&self) -> UploaderSide {
        if self.uploaded_by_client.is_some() {
            UploaderSide::Client
        } else {
            UploaderSide::Staff
        }
    }

    /// Returns whether a message refers to the file, that is, whether it
    /// has been sent.
    pub fn is_sent(connection: &mut DbConnection, id: ChatFileId) -> QueryResult<bool> {
        diesel::select(diesel::dsl::exists(chat_messages::table.filter(chat_messages::file_id.eq(id))))
            .get_result(connection)
    }

    /// Counts the files of `request` that `side` uploaded and that no
    /// message refers to yet.
    pub fn count_unsent(
        connection: &mut DbConnection,
        request: ClientRequestId,
        side: UploaderSide,
    ) -> QueryResult<i64> {
        // A message may only refer to a file of its own request, so the
        // request's messages are the only ones to look at.
        let sent = chat_messages::table
            .filter(chat_messages::request_id.eq(request))
            .filter(chat_messages::file_id.is_not_null())
            .select(chat_messages::file_id);
        let unsent = chat_files::table
            .filter(chat_files::request_id.eq(request))
            .filter(chat_files::id.nullable().ne_all(sent))
            .into_boxed();
        let unsent = match side {
            UploaderSide::Client => unsent.filter(chat_files::uploaded_by_client.is_not_null()),
            UploaderSide::Staff => unsent.filter(chat_files::uploaded_by_staff.is_not_null()),
        };
        unsent.count().get_result(connection)
    }

    /// Deletes the rows of files created before `cutoff` that no message
    /// refers to, and returns them so their stored files can be removed.
    /// Run it inside a write transaction, so a message cannot start to
    /// refer to a file between the check and the delete.
    pub fn delete_unsent_before(connection: &mut DbConnection, cutoff: NaiveDateTime) -> QueryResult<Vec<ChatFile>> {
        // The subquery skips NULL file ids, because `NOT IN` a list that
        // contains NULL is never true.
        let sent = chat_messages::table.filter(chat_messages::file_id.is_not_null()).select(chat_messages::file_id);
        diesel::delete(
            chat_files::table.filter(chat_files::created_at.lt(cutoff)).filter(chat_files::id.nullable().ne_all(sent)),
        )
        .returning(ChatFile::as_returning())
        .get_results(connection)
    }
}

/// The side of a chat that uploaded a file: the client, or any staff user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploaderSide {
    Client,
    Staff,
}

impl UploaderSide {
    /// Returns the side that `viewer` uploads and posts for.
    pub fn of(viewer: &Viewer) -> Self {
        match viewer {
            Viewer::Client(_) => UploaderSide::Client,
            Viewer::Staff { .. } => UploaderSide::Staff,
        }
    }
}
