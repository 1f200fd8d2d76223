//! The outbox actor: claims due messages from the durable queue, hands them
//! to the provider, and records each result. A message in flight when the
//! process dies is sent again after restart, so it may reach the phone
//! twice. A message whose send is recorded is never claimed again.

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use chrono::NaiveDateTime;
use futures_util::stream::{self, StreamExt as _};

use crate::channels::{OutgoingSms, Recipient, SendError, SmsProvider};
use crate::db::ids::OutboundId;
use crate::db::outbound::OutboundMessage;
use crate::db::{write_transaction, DbError};
use crate::engine::Engine;

/// Asks the outbox to look for due messages now instead of at its next poll.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct Wake;

/// The provider of each channel, chosen by the channel of each message.
#[derive(Debug, Clone)]
pub struct Providers {
    pub sms: Arc<dyn SmsProvider>,
    /// `None` when WhatsApp is disabled; its messages then fail permanently.
    pub whatsapp: Option<Arc<dyn SmsProvider>>,
}

impl Providers {
    fn for_channel(&self, channel: &str) -> Result<&Arc<dyn SmsProvider>, SendError> {
        match channel {
            "sms" => Ok(&self.sms),
            "whatsapp" => self.whatsapp.as_ref().ok_or_else(|| {
                SendError::Permanent(
                    "no WhatsApp provider: set whatsapp.enabled = true and the Cloud API settings".to_owned(),
                )
            }),
            other => Err(SendError::Permanent(format!("no provider for channel '{other}'"))),
        }
    }
}

/// The outbox actor.
#[derive(Debug)]
pub struct Outbox {
    engine: Engine,
    providers: Providers,
    /// A round is running; new wake-ups only set `wake_again`.
    busy: bool,
    wake_again: bool,
}

impl Outbox {
    pub fn new(engine: Engine, provider: Arc<dyn SmsProvider>) -> Self {
        let providers = Providers { sms: provider, whatsapp: None };
        Self { engine, providers, busy: false, wake_again: false }
    }

    /// Sends messages of channel `whatsapp` through `provider`.
    pub fn with_whatsapp(mut self, provider: Arc<dyn SmsProvider>) -> Self {
        self.providers.whatsapp = Some(provider);
        self
    }

    fn start_round(&mut self, ctx: &mut Context<Self>) {
        if self.busy {
            self.wake_again = true;
            return;
        }
        self.busy = true;
        self.wake_again = false;
        let round = deliver_due(self.engine.clone(), self.providers.clone());
        ctx.spawn(round.into_actor(self).map(|result, actor, ctx| {
            actor.busy = false;
            let full_batch = match result {
                Ok(handled) => handled >= actor.engine.settings.outbox.batch_size as usize,
                Err(error) => {
                    tracing::error!(%error, "outbox round failed; retrying at the next poll");
                    false
                }
            };
            if full_batch || actor.wake_again {
                actor.start_round(ctx);
            }
        }));
    }
}

impl Actor for Outbox {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let provider = self.providers.sms.name();
        let whatsapp = self.providers.whatsapp.as_ref().map(|provider| provider.name());
        tracing::info!(provider, whatsapp, "outbox started");
        let engine = self.engine.clone();
        let recover = async move {
            let now = engine.clock.now_naive();
            engine
                .database
                .run(move |connection| OutboundMessage::requeue_in_flight(connection, now).map_err(DbError::from))
                .await
        };
        ctx.wait(recover.into_actor(self).map(|result, _, _| match result {
            Ok(0) => {}
            Ok(count) => tracing::warn!(
                count,
                "requeued messages that were in flight when the server stopped; they may be sent twice"
            ),
            Err(error) => tracing::error!(%error, "requeueing in-flight messages failed"),
        }));
        let interval = Duration::from_millis(self.engine.settings.outbox.poll_interval_ms);
        ctx.run_interval(interval, |actor, ctx| actor.start_round(ctx));
        self.start_round(ctx);
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        tracing::info!("outbox stopped");
    }
}

impl Handler<Wake> for Outbox {
    type Result = ();

    fn handle(&mut self, _message: Wake, ctx: &mut Self::Context) {
        self.start_round(ctx);
    }
}

/// The result of one send attempt of a claimed message.
#[derive(Debug)]
enum Delivery {
    Sent { provider_message_id: Option<String> },
    Retry { error: String, next_attempt_at: NaiveDateTime },
    Failed { error: String },
}

/// Claims one batch of due messages, sends them with bounded concurrency,
/// and records the results. Returns how many messages were handled.
pub async fn deliver_due(engine: Engine, providers: Providers) -> Result<usize, DbError> {
    let settings = engine.settings.outbox.clone();
    let now = engine.clock.now_naive();
    let limit = i64::from(settings.batch_size);
    let claimed = engine
        .database
        .run(move |connection| {
            write_transaction(connection, |connection| OutboundMessage::claim_due(connection, now, limit))
                .map_err(DbError::from)
        })
        .await?;
    if claimed.is_empty() {
        return Ok(0);
    }

    let results: Vec<(OutboundId, Delivery)> = stream::iter(claimed)
        .map(|message| {
            let provider = providers.for_channel(&message.channel).cloned();
            let engine = engine.clone();
            let settings = settings.clone();
            async move {
                let (delivery, provider_name) = match &provider {
                    Ok(provider) => (send_one(provider.as_ref(), &message).await, provider.name()),
                    Err(error) => (Err(error.clone()), "none"),
                };
                let now = engine.clock.now_naive();
                let delivery = match delivery {
                    Ok(accepted) => Delivery::Sent { provider_message_id: accepted.provider_message_id },
                    Err(SendError::Permanent(error)) => Delivery::Failed { error },
                    Err(SendError::Temporary(error))
                        if message.attempts >= i32::try_from(settings.max_attempts).unwrap_or(i32::MAX) =>
                    {
                        Delivery::Failed { error: format!("{error} (gave up after {} attempts)", message.attempts) }
                    }
                    Err(SendError::Temporary(error)) => {
                        let delay = backoff(message.attempts, settings.backoff_initial_secs, settings.backoff_max_secs);
                        Delivery::Retry { error, next_attempt_at: now + delay }
                    }
                };
                log_delivery(&message, &delivery, provider_name);
                (message.id, delivery)
            }
        })
        .buffer_unordered(settings.concurrency)
        .collect()
        .await;

    let handled = results.len();
    let now = engine.clock.now_naive();
    engine
        .database
        .run(move |connection| {
            write_transaction(connection, |connection| {
                for (id, delivery) in &results {
                    match delivery {
                        Delivery::Sent { provider_message_id } => {
                            OutboundMessage::mark_sent(connection, *id, provider_message_id.as_deref(), now)?;
                        }
                        Delivery::Retry { error, next_attempt_at } => {
                            OutboundMessage::mark_retry(connection, *id, error, *next_attempt_at, now)?;
                        }
                        Delivery::Failed { error } => {
                            OutboundMessage::mark_failed(connection, *id, error, now)?;
                            flag_failed_message(connection, *id, error, now)?;
                        }
                    }
                }
                Ok::<_, DbError>(())
            })
        })
        .await?;
    Ok(handled)
}

/// Flags an SMS or WhatsApp message that failed for good, so an officer
/// learns that a patient, agent or client never got it. The flag names the
/// task when there is one.
pub(crate) fn flag_failed_message(
    connection: &mut crate::db::DbConnection,
    id: OutboundId,
    error: &str,
    now: NaiveDateTime,
) -> diesel::QueryResult<()> {
    let Some(message) = OutboundMessage::find(connection, id)? else { return Ok(()) };
    let agent_id = match message.task_id {
        Some(task) => crate::db::tasks::Task::find(connection, task)?.map(|task| task.agent_id),
        None => None,
    };
    let kind = if message.channel == "whatsapp" { "WhatsApp message" } else { "SMS" };
    let detail = format!(
        "{kind} {} ({}) to {} failed after {} attempts: {error}",
        message.id,
        message.template_id,
        crate::sms::phone::mask_phone(&message.recipient),
        message.attempts
    );
    crate::db::flags::FlaggedMessage::insert(
        connection,
        &crate::db::flags::NewFlaggedMessage {
            inbound_message_id: message.inbound_message_id,
            agent_id,
            task_id: message.task_id,
            reason: "sms_failed",
            detail: &detail,
            status: "open",
            created_at: now,
        },
    )?;
    Ok(())
}

async fn send_one(
    provider: &dyn SmsProvider,
    message: &OutboundMessage,
) -> Result<crate::channels::Accepted, SendError> {
    let to = Recipient::parse(&message.channel, &message.recipient).map_err(SendError::Permanent)?;
    let sms = OutgoingSms {
        outbound_id: message.id.0,
        to,
        text: message.text.clone(),
        template_id: message.template_id.clone(),
    };
    provider.send(&sms).await
}

fn log_delivery(message: &OutboundMessage, delivery: &Delivery, provider: &str) {
    let to = crate::sms::phone::mask_phone(&message.recipient);
    let channel = if message.channel == "whatsapp" { "WhatsApp message" } else { "SMS" };
    match delivery {
        Delivery::Sent { .. } => {
            tracing::info!(outbound_id = %message.id, provider, %to, attempt = message.attempts, "sent {channel} {}", message.id);
        }
        Delivery::Retry { error, next_attempt_at } => tracing::warn!(
            outbound_id = %message.id,
            provider,
            attempt = message.attempts,
            %next_attempt_at,
            %error,
            "sending {channel} {} failed; will retry",
            message.id
        ),
        Delivery::Failed { error } => tracing::error!(
            outbound_id = %message.id,
            provider,
            attempt = message.attempts,
            %error,
            "sending {channel} {} failed for good",
            message.id
        ),
    }
}

/// The delay before attempt `attempts + 1`: `initial * 2^(attempts - 1)`,
/// capped at `max`.
pub fn backoff(attempts: i32, initial_secs: u64, max_secs: u64) -> chrono::Duration {
    let exponent = u32::try_from(attempts.saturating_sub(1)).unwrap_or(0).min(30);
    let secs = initial_secs.saturating_mul(1_u64 << exponent).min(max_secs);
    chrono::Duration::seconds(i64::try_from(secs).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let delays: Vec<i64> = (1..=8).map(|attempt| backoff(attempt, 30, 600).num_seconds()).collect();
        assert_eq!(delays, vec![30, 60, 120, 240, 480, 600, 600, 600]);
    }
}
