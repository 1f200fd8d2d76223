//! Inbound messages: stored on arrival, before anything else happens.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::ids::{AgentId, InboundId};
use super::schema::inbound_messages;
use super::DbConnection;

/// Processing state of an inbound message.
pub mod status {
    /// Stored, waiting for its agent actor.
    pub const RECEIVED: &str = "received";
    /// Handled: booked, answered or flagged.
    pub const PROCESSED: &str = "processed";
    /// A repeated delivery of an earlier message; never processed.
    pub const DUPLICATE: &str = "duplicate";
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = inbound_messages)]
pub struct InboundMessage {
    pub id: InboundId,
    pub channel: String,
    pub provider_message_id: Option<String>,
    pub sender: String,
    pub recipient: String,
    pub text: String,
    pub received_at: NaiveDateTime,
    pub status: String,
    pub outcome: Option<String>,
    pub agent_id: Option<AgentId>,
    pub duplicate_of: Option<InboundId>,
    pub processed_at: Option<NaiveDateTime>,
    /// `image`, `document`, `audio`, `video` or `sticker` for WhatsApp media.
    pub media_kind: Option<String>,
    /// The Cloud API media id, valid for download for 7 days.
    pub media_id: Option<String>,
    pub media_mime_type: Option<String>,
    /// The file name a WhatsApp document was sent with.
    pub media_filename: Option<String>,
    /// The sender's WhatsApp profile name, cleaned; `None` for SMS.
    pub sender_name: Option<String>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = inbound_messages)]
pub struct NewInboundMessage<'a> {
    pub channel: &'a str,
    pub provider_message_id: Option<&'a str>,
    pub sender: &'a str,
    pub recipient: &'a str,
    pub text: &'a str,
    pub received_at: NaiveDateTime,
    pub status: &'a str,
    pub outcome: Option<&'a str>,
    pub agent_id: Option<AgentId>,
    pub duplicate_of: Option<InboundId>,
    pub processed_at: Option<NaiveDateTime>,
}

/// A WhatsApp message as the webhook stores it: `received` and waiting
/// for processing, or already `processed` with an outcome and
/// `processed_at` when it needs no reply.
#[derive(Debug, Insertable)]
#[diesel(table_name = inbound_messages)]
pub struct NewWhatsAppMessage<'a> {
    pub channel: &'a str,
    pub provider_message_id: &'a str,
    pub sender: &'a str,
    pub recipient: &'a str,
    pub text: &'a str,
    pub received_at: NaiveDateTime,
    pub status: &'a str,
    pub outcome: Option<&'a str>,
    pub processed_at: Option<NaiveDateTime>,
    pub media_kind: Option<&'a str>,
    pub media_id: Option<&'a str>,
    pub media_mime_type: Option<&'a str>,
    pub media_filename: Option<&'a str>,
    pub sender_name: Option<&'a str>,
}

/// A routing entry for a message that waits for processing.
#[derive(Debug, Clone, Copy, Queryable)]
pub struct PendingInbound {
    pub id: InboundId,
    pub agent_id: Option<AgentId>,
}

impl InboundMessage {
    pub fn insert(connection: &mut DbConnection, new: &NewInboundMessage<'_>) -> QueryResult<InboundMessage> {
        diesel::insert_into(inbound_messages::table)
            .values(new)
            .returning(InboundMessage::as_returning())
            .get_result(connection)
    }

    pub fn find(connection: &mut DbConnection, id: InboundId) -> QueryResult<Option<InboundMessage>> {
        inbound_messages::table.find(id).select(InboundMessage::as_select()).first(connection).optional()
    }

    /// Finds the first copy of a message with this provider id received at
    /// or after `since`.
    pub fn find_by_provider_id(
        connection: &mut DbConnection,
        channel: &str,
        provider_id: &str,
        since: NaiveDateTime,
    ) -> QueryResult<Option<InboundId>> {
        inbound_messages::table
            .filter(inbound_messages::channel.eq(channel))
            .filter(inbound_messages::provider_message_id.eq(provider_id))
            .filter(inbound_messages::received_at.ge(since))
            .filter(inbound_messages::duplicate_of.is_null())
            .order(inbound_messages::id.asc())
            .select(inbound_messages::id)
            .first(connection)
            .optional()
    }

    /// Finds the first copy of a message with the same sender and text
    /// received at or after `since`.
    pub fn find_same_text(
        connection: &mut DbConnection,
        channel: &str,
        sender: &str,
        text: &str,
        since: NaiveDateTime,
    ) -> QueryResult<Option<InboundId>> {
        inbound_messages::table
            .filter(inbound_messages::channel.eq(channel))
            .filter(inbound_messages::sender.eq(sender))
            .filter(inbound_messages::received_at.ge(since))
            .filter(inbound_messages::text.eq(text))
            .filter(inbound_messages::duplicate_of.is_null())
            .order(inbound_messages::id.asc())
            .select(inbound_messages::id)
            .first(connection)
            .optional()
    }

    /// Inserts a WhatsApp message unless one with the same message id is
    /// stored already (the unique index `inbound_whatsapp_once`). Returns
    /// the new row's id, or `None` for a repeated delivery.
    pub fn insert_whatsapp_once(
        connection: &mut DbConnection,
        new: &NewWhatsAppMessage<'_>,
    ) -> QueryResult<Option<InboundId>> {
        diesel::insert_into(inbound_messages::table)
            .values(new)
            .on_conflict_do_nothing()
            .returning(inbound_messages::id)
            .get_result(connection)
            .optional()
    }

    /// WhatsApp messages still waiting for processing with ids above
    /// `after`, oldest first.
    pub fn pending_whatsapp_after(
        connection: &mut DbConnection,
        after: InboundId,
        limit: i64,
    ) -> QueryResult<Vec<InboundId>> {
        inbound_messages::table
            .filter(inbound_messages::channel.eq("whatsapp"))
            .filter(inbound_messages::status.eq(status::RECEIVED))
            .filter(inbound_messages::id.gt(after))
            .order(inbound_messages::id.asc())
            .limit(limit)
            .select(inbound_messages::id)
            .load(connection)
    }

    /// SMS still waiting for processing with ids above `after`, oldest
    /// first. WhatsApp messages are processed by client onboarding, not by
    /// the agent actors, so they are left out.
    pub fn pending_after(
        connection: &mut DbConnection,
        after: InboundId,
        limit: i64,
    ) -> QueryResult<Vec<PendingInbound>> {
        inbound_messages::table
            .filter(inbound_messages::channel.ne("whatsapp"))
            .filter(inbound_messages::status.eq(status::RECEIVED))
            .filter(inbound_messages::id.gt(after))
            .order(inbound_messages::id.asc())
            .limit(limit)
            .select((inbound_messages::id, inbound_messages::agent_id))
            .load(connection)
    }

    pub fn count_pending(connection: &mut DbConnection) -> QueryResult<i64> {
        inbound_messages::table.filter(inbound_messages::status.eq(status::RECEIVED)).count().get_result(connection)
    }

    /// Marks a message processed with its outcome. Returns false when it
    /// was not waiting any more, so a second processing changes nothing.
    pub fn mark_processed(
        connection: &mut DbConnection,
        id: InboundId,
        outcome: &str,
        at: NaiveDateTime,
    ) -> QueryResult<bool> {
        let updated =
            diesel::update(inbound_messages::table.find(id).filter(inbound_messages::status.eq(status::RECEIVED)))
                .set((
                    inbound_messages::status.eq(status::PROCESSED),
                    inbound_messages::outcome.eq(outcome),
                    inbound_messages::processed_at.eq(at),
                ))
                .execute(connection)?;
        Ok(updated == 1)
    }
}
