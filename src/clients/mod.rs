//! WhatsApp clients: storing what the Cloud API webhook delivers, and
//! onboarding the people who write, with a portal login and one-time
//! password sent back on WhatsApp.
//!
//! The webhook stores messages as `received` and responds with 200 before
//! they are processed. Processing runs right after, and [`process_pending`]
//! picks up anything a crash or an error left `received`, at start-up and
//! then every [`SWEEP_INTERVAL`].

pub mod credentials;
pub mod keywords;
pub mod onboarding;

use std::time::Duration;

use actix::Addr;
use chrono::{DateTime, NaiveDateTime};

use crate::actors::outbox::{flag_failed_message, Outbox, Wake};

use crate::channels::whatsapp::payload::{IncomingMessage, StatusReport};
use crate::db::ids::InboundId;
use crate::db::inbound::{status, InboundMessage, NewWhatsAppMessage};
use crate::db::outbound::{status as outbound_status, OutboundMessage};
use crate::db::{write_transaction, DbConnection, DbError};
use crate::engine::Engine;
use crate::sms::phone::mask_phone;
pub use onboarding::{Onboarded, OnboardingError, CHANNEL};

/// How often the sweeper looks for stored WhatsApp messages without a
/// reply.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(60);

/// Messages loaded per query by [`process_pending`].
const PENDING_BATCH: i64 = 500;

/// The result of storing one webhook call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredNotification {
    /// Messages stored for the first time, in payload order.
    pub new: Vec<InboundId>,
    /// Messages stored as processed because they need no reply, such as
    /// reactions.
    pub not_answered: usize,
    /// Messages whose id was stored before (a repeated delivery).
    pub repeated: usize,
    /// Status reports applied to an outbound message.
    pub statuses_applied: usize,
    /// Status report ids that match no outbound message.
    pub unknown_statuses: Vec<String>,
}

/// Returns the stored sender: `+` and the digits of a wa_id, or the
/// business-scoped user id as it came.
fn sender_of(whatsapp_id: &str) -> String {
    if !whatsapp_id.is_empty() && whatsapp_id.bytes().all(|byte| byte.is_ascii_digit()) {
        format!("+{whatsapp_id}")
    } else {
        whatsapp_id.to_owned()
    }
}

/// Returns the outcome stored for a message type that gets no reply: a
/// reaction to an earlier message, a type the Cloud API cannot deliver
/// (`unsupported`), or a `system` notice such as a changed number. A reply
/// to those would repeat the portal link after every thumbs-up.
fn outcome_without_reply(kind: &str) -> Option<&'static str> {
    match kind {
        "reaction" => Some("reaction_stored"),
        "unsupported" => Some("unsupported_stored"),
        "system" => Some("system_stored"),
        _ => None,
    }
}

/// Returns the text stored for a message. For a tapped button or list row
/// it is the label. When only the value the button was defined with is a
/// keyword, as a `PASSWORD` payload on a "Get a new password" button, the
/// value is stored instead, so the reply treats the tap as the keyword.
fn text_to_store(message: &IncomingMessage) -> &str {
    match &message.reply_value {
        Some(value) if keywords::parse(&message.text).is_none() && keywords::parse(value).is_some() => value,
        _ => &message.text,
    }
}

/// Stores the messages and applies the status reports of one webhook call
/// in one write transaction. A message id that is already stored is
/// skipped, so a retried delivery changes nothing.
pub fn store_notification(
    connection: &mut DbConnection,
    messages: &[IncomingMessage],
    statuses: &[StatusReport],
    now: NaiveDateTime,
) -> diesel::QueryResult<StoredNotification> {
    write_transaction(connection, |connection| {
        let mut stored = StoredNotification::default();
        for message in messages {
            let sender = sender_of(&message.whatsapp_id);
            let media = message.media.as_ref();
            let no_reply = outcome_without_reply(&message.kind);
            let inserted = InboundMessage::insert_whatsapp_once(
                connection,
                &NewWhatsAppMessage {
                    channel: CHANNEL,
                    provider_message_id: &message.message_id,
                    sender: &sender,
                    recipient: &message.phone_number_id,
                    text: text_to_store(message),
                    received_at: now,
                    status: if no_reply.is_some() { status::PROCESSED } else { status::RECEIVED },
                    outcome: no_reply,
                    processed_at: no_reply.map(|_| now),
                    media_kind: media.map(|media| media.kind),
                    media_id: media.and_then(|media| media.id.as_deref()),
                    media_mime_type: media.and_then(|media| media.mime_type.as_deref()),
                    media_filename: media.and_then(|media| media.filename.as_deref()),
                    sender_name: Some(message.profile_name.as_str()).filter(|name| !name.is_empty()),
                },
            )?;
            match (inserted, no_reply) {
                (Some(_), Some(_)) => stored.not_answered += 1,
                (Some(id), None) => stored.new.push(id),
                (None, _) => stored.repeated += 1,
            }
        }
        for report in statuses {
            if apply_status(connection, report, now)? {
                stored.statuses_applied += 1;
            } else {
                stored.unknown_statuses.push(report.message_id.clone());
            }
        }
        Ok(stored)
    })
}

/// Applies one status report. Returns false when no outbound message has
/// its id. `sent` changes nothing, because the send API's response
/// already marked the message sent.
fn apply_status(connection: &mut DbConnection, report: &StatusReport, now: NaiveDateTime) -> diesel::QueryResult<bool> {
    let Some(message) = OutboundMessage::find_by_provider_id(connection, CHANNEL, &report.message_id)? else {
        return Ok(false);
    };
    let at = report.timestamp.and_then(|secs| DateTime::from_timestamp(secs, 0)).map_or(now, |time| time.naive_utc());
    match report.status.as_str() {
        "delivered" => {
            OutboundMessage::record_delivered(connection, message.id, at)?;
        }
        "read" => {
            OutboundMessage::record_read(connection, message.id, at)?;
        }
        "failed" => {
            let error = report.error.as_deref().unwrap_or("WhatsApp reported the message failed without an error");
            let error = format!("WhatsApp reported failure: {error}");
            OutboundMessage::mark_failed(connection, message.id, &error, now)?;
            // A repeated report must not raise a second flag.
            if message.status != outbound_status::FAILED {
                flag_failed_message(connection, message.id, &error, now)?;
            }
        }
        "sent" => {}
        other => tracing::info!(outbound_id = %message.id, status = other, "ignored unknown WhatsApp status"),
    }
    Ok(true)
}

/// Replies to one stored message and logs the result. An error leaves the
/// message `received` for the next sweep.
pub async fn process(engine: &Engine, id: InboundId) -> Option<Onboarded> {
    let context = engine.booking.clone();
    let now = engine.clock.now_naive();
    let result = engine.database.run(move |connection| onboarding::reply_to(connection, &context, id, now)).await;
    match result {
        Ok(Some(onboarded)) => {
            tracing::info!(inbound_id = %id, outcome = onboarded.outcome(), "replied to WhatsApp message {id}");
            Some(onboarded)
        }
        Ok(None) => None,
        Err(error) => {
            tracing::error!(inbound_id = %id, %error, "replying to WhatsApp message {id} failed; the next sweep retries it");
            None
        }
    }
}

/// Replies to every stored WhatsApp message still waiting, oldest first,
/// and returns how many got a reply now.
pub async fn process_pending(engine: &Engine) -> Result<usize, DbError> {
    let mut after = InboundId(0);
    let mut replied = 0;
    loop {
        let batch = engine
            .database
            .run(move |connection| {
                InboundMessage::pending_whatsapp_after(connection, after, PENDING_BATCH).map_err(DbError::from)
            })
            .await?;
        let complete = batch.len() < PENDING_BATCH as usize;
        for id in &batch {
            if process(engine, *id).await.is_some() {
                replied += 1;
            }
        }
        match batch.last() {
            Some(last) if !complete => after = *last,
            _ => return Ok(replied),
        }
    }
}

/// Starts the background task that replies to stored messages still
/// waiting, now and every [`SWEEP_INTERVAL`], and wakes `outbox` after
/// queueing replies. It must run inside an actix or tokio runtime, and it
/// ends with that runtime.
pub fn spawn_sweeper(engine: Engine, outbox: Addr<Outbox>) {
    actix_rt::spawn(async move {
        let mut interval = actix_rt::time::interval(SWEEP_INTERVAL);
        loop {
            interval.tick().await;
            match process_pending(&engine).await {
                Ok(0) => {}
                Ok(count) => {
                    tracing::info!(count, "replied to stored WhatsApp messages that were still waiting");
                    outbox.do_send(Wake);
                }
                Err(error) => tracing::error!(%error, "looking for unanswered WhatsApp messages failed"),
            }
        }
    });
}

/// Logs a masked sender, for handlers that report per-message results.
pub fn masked_sender(whatsapp_id: &str) -> String {
    mask_phone(&sender_of(whatsapp_id))
}
