//! Storing arrivals: every inbound message is written before anything else
//! happens to it, repeated deliveries are recognised, and the routing hint
//! for the agent actors is resolved.

use chrono::{Duration, NaiveDateTime};
use diesel::QueryResult;

use crate::config::SmsSettings;
use crate::db::flags::{FlaggedMessage, NewFlaggedMessage};
use crate::db::ids::{AgentId, InboundId};
use crate::db::inbound::{status, InboundMessage, NewInboundMessage};
use crate::db::organisation::Agent;
use crate::db::{write_transaction, DbConnection};
use crate::sms::phone::ascii_digits;
use crate::sms::PhoneNumber;

/// A message as a channel delivered it.
#[derive(Debug, Clone)]
pub struct Arrival {
    pub channel: &'static str,
    pub provider_message_id: Option<String>,
    pub sender: String,
    pub recipient: String,
    pub text: String,
}

/// The stored message and whether it repeats an earlier one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    pub id: InboundId,
    /// The first copy, when this delivery is a repeat.
    pub duplicate_of: Option<InboundId>,
    /// The agent whose actor processes the message, when known.
    pub agent_id: Option<AgentId>,
}

/// Stores an arrival in one write transaction. A repeat (same provider id
/// within the id window, or without an id the same sender and text within
/// the text window) is stored as `duplicate` and never processed.
pub fn store_arrival(
    connection: &mut DbConnection,
    settings: &SmsSettings,
    arrival: &Arrival,
    now: NaiveDateTime,
) -> QueryResult<Stored> {
    write_transaction(connection, |connection| {
        let duplicate_of = match arrival.provider_message_id.as_deref().filter(|id| !id.is_empty()) {
            Some(provider_id) => {
                let since = now - Duration::hours(i64::from(settings.duplicate_id_window_hours));
                InboundMessage::find_by_provider_id(connection, arrival.channel, provider_id, since)?
            }
            None => {
                let since = now - Duration::seconds(i64::from(settings.duplicate_text_window_secs));
                InboundMessage::find_same_text(connection, arrival.channel, &arrival.sender, &arrival.text, since)?
            }
        };
        let agent_id = match duplicate_of {
            Some(_) => None,
            None => routing_agent(connection, arrival)?,
        };

        let stored = InboundMessage::insert(
            connection,
            &NewInboundMessage {
                channel: arrival.channel,
                provider_message_id: arrival.provider_message_id.as_deref(),
                sender: &arrival.sender,
                recipient: &arrival.recipient,
                text: &arrival.text,
                received_at: now,
                status: if duplicate_of.is_some() { status::DUPLICATE } else { status::RECEIVED },
                outcome: duplicate_of.map(|_| "duplicate"),
                agent_id,
                duplicate_of,
                processed_at: duplicate_of.map(|_| now),
            },
        )?;
        Ok(Stored { id: stored.id, duplicate_of, agent_id })
    })
}

/// Finds the agent whose actor should process a message: the id typed at
/// the start of a booking, or else the agent registered with the sender's
/// phone. Only registered agents count, so a random number never spawns an
/// actor of its own.
fn routing_agent(connection: &mut DbConnection, arrival: &Arrival) -> QueryResult<Option<AgentId>> {
    let first_word = arrival
        .text
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '*' | '#'))
        .find(|word| !word.is_empty())
        .map(ascii_digits);
    if let Some(id) = first_word.and_then(|word| word.parse::<i32>().ok()).filter(|id| *id > 0) {
        if let Some(agent) = Agent::find(connection, AgentId(id))? {
            return Ok(Some(agent.id));
        }
    }
    match PhoneNumber::parse_e164(&arrival.sender) {
        Ok(phone) => Ok(Agent::find_by_phone(connection, phone.as_str())?.map(|agent| agent.id)),
        Err(_) => Ok(None),
    }
}

/// Stores a request that cannot be processed, such as one without a
/// sender, as already processed with outcome `flagged`, together with an
/// `invalid_format` flag that carries `detail`.
pub fn store_rejected_request(
    connection: &mut DbConnection,
    arrival: &Arrival,
    detail: &str,
    now: NaiveDateTime,
) -> QueryResult<InboundId> {
    write_transaction(connection, |connection| {
        let stored = InboundMessage::insert(
            connection,
            &NewInboundMessage {
                channel: arrival.channel,
                provider_message_id: arrival.provider_message_id.as_deref(),
                sender: &arrival.sender,
                recipient: &arrival.recipient,
                text: &arrival.text,
                received_at: now,
                status: status::PROCESSED,
                outcome: Some("flagged"),
                agent_id: None,
                duplicate_of: None,
                processed_at: Some(now),
            },
        )?;
        FlaggedMessage::insert(
            connection,
            &NewFlaggedMessage {
                inbound_message_id: Some(stored.id),
                agent_id: None,
                task_id: None,
                reason: "invalid_format",
                detail,
                status: "open",
                created_at: now,
            },
        )?;
        Ok(stored.id)
    })
}
