//! The durable outbox of messages to send.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::ids::{InboundId, OutboundId, TaskId};
use super::schema::{outbound_messages, outbound_resends};
use super::DbConnection;

/// Delivery states as stored.
pub mod status {
    /// Waiting for `next_attempt_at`.
    pub const QUEUED: &str = "queued";
    /// Handed to the provider, whose result is not recorded yet.
    pub const SENDING: &str = "sending";
    /// Accepted by the provider.
    pub const SENT: &str = "sent";
    /// Given up after the last attempt or a permanent error.
    pub const FAILED: &str = "failed";
    /// The provider reported delivery to the phone.
    pub const DELIVERED: &str = "delivered";
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = outbound_messages)]
pub struct OutboundMessage {
    pub id: OutboundId,
    pub channel: String,
    pub recipient: String,
    pub text: String,
    pub template_id: String,
    pub language: String,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub provider_message_id: Option<String>,
    pub last_error: Option<String>,
    pub task_id: Option<TaskId>,
    pub inbound_message_id: Option<InboundId>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// When WhatsApp reported that the recipient read the message.
    pub read_at: Option<NaiveDateTime>,
    /// When the provider reported delivery to the phone.
    pub delivered_at: Option<NaiveDateTime>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = outbound_messages)]
pub struct NewOutboundMessage<'a> {
    pub channel: &'a str,
    pub recipient: &'a str,
    pub text: &'a str,
    pub template_id: &'a str,
    pub language: &'a str,
    pub status: &'a str,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub task_id: Option<TaskId>,
    pub inbound_message_id: Option<InboundId>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl OutboundMessage {
    pub fn enqueue(connection: &mut DbConnection, new: &NewOutboundMessage<'_>) -> QueryResult<OutboundId> {
        diesel::insert_into(outbound_messages::table)
            .values(new)
            .returning(outbound_messages::id)
            .get_result(connection)
    }

    pub fn find(connection: &mut DbConnection, id: OutboundId) -> QueryResult<Option<OutboundMessage>> {
        outbound_messages::table.find(id).select(OutboundMessage::as_select()).first(connection).optional()
    }

    /// Claims up to `limit` queued messages that are due: marks them
    /// `sending`, counts the attempt, and returns them. Run it inside a
    /// write transaction so two outboxes never claim the same row.
    pub fn claim_due(
        connection: &mut DbConnection,
        now: NaiveDateTime,
        limit: i64,
    ) -> QueryResult<Vec<OutboundMessage>> {
        let due: Vec<OutboundId> = outbound_messages::table
            .filter(outbound_messages::status.eq(status::QUEUED))
            .filter(outbound_messages::next_attempt_at.le(now))
            .order((outbound_messages::next_attempt_at.asc(), outbound_messages::id.asc()))
            .limit(limit)
            .select(outbound_messages::id)
            .load(connection)?;
        if due.is_empty() {
            return Ok(Vec::new());
        }
        diesel::update(
            outbound_messages::table
                .filter(outbound_messages::id.eq_any(&due))
                .filter(outbound_messages::status.eq(status::QUEUED)),
        )
        .set((
            outbound_messages::status.eq(status::SENDING),
            outbound_messages::attempts.eq(outbound_messages::attempts + 1),
            outbound_messages::updated_at.eq(now),
        ))
        .execute(connection)?;
        outbound_messages::table
            .filter(outbound_messages::id.eq_any(&due))
            .filter(outbound_messages::status.eq(status::SENDING))
            .order(outbound_messages::id.asc())
            .select(OutboundMessage::as_select())
            .load(connection)
    }

    pub fn mark_sent(
        connection: &mut DbConnection,
        id: OutboundId,
        provider_id: Option<&str>,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(outbound_messages::table.find(id))
            .set((
                outbound_messages::status.eq(status::SENT),
                outbound_messages::provider_message_id.eq(provider_id),
                outbound_messages::last_error.eq(None::<String>),
                outbound_messages::updated_at.eq(now),
            ))
            .execute(connection)
    }

    /// Puts a message back in the queue after a failed attempt.
    pub fn mark_retry(
        connection: &mut DbConnection,
        id: OutboundId,
        error: &str,
        next_attempt_at: NaiveDateTime,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(outbound_messages::table.find(id))
            .set((
                outbound_messages::status.eq(status::QUEUED),
                outbound_messages::last_error.eq(error),
                outbound_messages::next_attempt_at.eq(next_attempt_at),
                outbound_messages::updated_at.eq(now),
            ))
            .execute(connection)
    }

    pub fn mark_failed(
        connection: &mut DbConnection,
        id: OutboundId,
        error: &str,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(outbound_messages::table.find(id))
            .set((
                outbound_messages::status.eq(status::FAILED),
                outbound_messages::last_error.eq(error),
                outbound_messages::updated_at.eq(now),
            ))
            .execute(connection)
    }

    pub fn mark_delivered(connection: &mut DbConnection, id: OutboundId, now: NaiveDateTime) -> QueryResult<usize> {
        diesel::update(
            outbound_messages::table.find(id).filter(outbound_messages::status.eq_any([status::SENT, status::SENDING])),
        )
        .set((outbound_messages::status.eq(status::DELIVERED), outbound_messages::updated_at.eq(now)))
        .execute(connection)
    }

    /// Finds a message by the id its provider returned on the channel.
    pub fn find_by_provider_id(
        connection: &mut DbConnection,
        channel: &str,
        provider_id: &str,
    ) -> QueryResult<Option<OutboundMessage>> {
        outbound_messages::table
            .filter(outbound_messages::channel.eq(channel))
            .filter(outbound_messages::provider_message_id.eq(provider_id))
            .order(outbound_messages::id.asc())
            .select(OutboundMessage::as_select())
            .first(connection)
            .optional()
    }

    /// Records a delivery report: the status becomes `delivered` unless the
    /// message already failed, and `delivered_at` keeps the first report.
    pub fn record_delivered(connection: &mut DbConnection, id: OutboundId, at: NaiveDateTime) -> QueryResult<usize> {
        diesel::update(
            outbound_messages::table.find(id).filter(outbound_messages::status.eq_any([status::SENT, status::SENDING])),
        )
        .set(outbound_messages::status.eq(status::DELIVERED))
        .execute(connection)?;
        diesel::update(outbound_messages::table.find(id).filter(outbound_messages::delivered_at.is_null()))
            .set((outbound_messages::delivered_at.eq(at), outbound_messages::updated_at.eq(at)))
            .execute(connection)
    }

    /// Records a read report. A read message was delivered too, and read
    /// reports may arrive before delivery reports, so this also records the
    /// delivery when none was recorded.
    pub fn record_read(connection: &mut DbConnection, id: OutboundId, at: NaiveDateTime) -> QueryResult<usize> {
        Self::record_delivered(connection, id, at)?;
        diesel::update(outbound_messages::table.find(id).filter(outbound_messages::read_at.is_null()))
            .set((outbound_messages::read_at.eq(at), outbound_messages::updated_at.eq(at)))
            .execute(connection)
    }

    /// Returns messages left `sending` by a crash to the queue. Such a
    /// message may have reached the provider already, so it can go out twice.
    pub fn requeue_in_flight(connection: &mut DbConnection, now: NaiveDateTime) -> QueryResult<usize> {
        diesel::update(outbound_messages::table.filter(outbound_messages::status.eq(status::SENDING)))
            .set((
                outbound_messages::status.eq(status::QUEUED),
                outbound_messages::next_attempt_at.eq(now),
                outbound_messages::updated_at.eq(now),
            ))
            .execute(connection)
    }

    /// The earliest `next_attempt_at` of a queued message, if any.
    pub fn next_due(connection: &mut DbConnection) -> QueryResult<Option<NaiveDateTime>> {
        outbound_messages::table
            .filter(outbound_messages::status.eq(status::QUEUED))
            .select(diesel::dsl::min(outbound_messages::next_attempt_at))
            .first(connection)
    }

    /// Number of messages that are queued and due, or being sent.
    pub fn count_due(connection: &mut DbConnection, now: NaiveDateTime) -> QueryResult<i64> {
        outbound_messages::table
            .filter(
                outbound_messages::status
                    .eq(status::SENDING)
                    .or(outbound_messages::status.eq(status::QUEUED).and(outbound_messages::next_attempt_at.le(now))),
            )
            .count()
            .get_result(connection)
    }

    /// All messages in creation order.
    pub fn all(connection: &mut DbConnection) -> QueryResult<Vec<OutboundMessage>> {
        outbound_messages::table
            .order(outbound_messages::id.asc())
            .select(OutboundMessage::as_select())
            .load(connection)
    }
}

/// A failed message that a staff user put back in the queue, with what it
/// had before.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = outbound_resends)]
pub struct OutboundResend {
    pub id: i32,
    pub outbound_message_id: OutboundId,
    /// Email of the staff user.
    pub resent_by: String,
    pub previous_attempts: i32,
    /// The provider error the message failed with.
    pub previous_error: Option<String>,
    pub created_at: NaiveDateTime,
}

impl OutboundMessage {
    /// Puts a failed message back in the queue, due at `now`, with its
    /// attempt count reset to 0, and records who did it and what the
    /// message had before. Returns false, and changes nothing, when the
    /// message is not `failed`. Run it inside a write transaction.
    pub fn requeue_failed(
        connection: &mut DbConnection,
        message: &OutboundMessage,
        resent_by: &str,
        now: NaiveDateTime,
    ) -> QueryResult<bool> {
        let updated = diesel::update(
            outbound_messages::table.find(message.id).filter(outbound_messages::status.eq(status::FAILED)),
        )
        .set((
            outbound_messages::status.eq(status::QUEUED),
            outbound_messages::attempts.eq(0),
            outbound_messages::next_attempt_at.eq(now),
            outbound_messages::last_error.eq(None::<String>),
            outbound_messages::updated_at.eq(now),
        ))
        .execute(connection)?;
        if updated == 0 {
            return Ok(false);
        }
        diesel::insert_into(outbound_resends::table)
            .values((
                outbound_resends::outbound_message_id.eq(message.id),
                outbound_resends::resent_by.eq(resent_by),
                outbound_resends::previous_attempts.eq(message.attempts),
                outbound_resends::previous_error.eq(message.last_error.as_deref()),
                outbound_resends::created_at.eq(now),
            ))
            .execute(connection)?;
        Ok(true)
    }
}

impl OutboundResend {
    /// Lists the resends of the given messages, oldest first.
    pub fn of_messages(connection: &mut DbConnection, messages: &[OutboundId]) -> QueryResult<Vec<OutboundResend>> {
        outbound_resends::table
            .filter(outbound_resends::outbound_message_id.eq_any(messages))
            .order(outbound_resends::id.asc())
            .select(OutboundResend::as_select())
            .load(connection)
    }
}
