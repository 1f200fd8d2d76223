//! One actor per agent: it processes that agent's messages one at a time in
//! the order the registry dispatched them, and asks the registry to retire
//! it after a quiet period.

use std::time::{Duration, Instant};

use actix::prelude::*;
use tracing::Instrument as _;

use super::outbox::{Outbox, Wake};
use super::registry::{AgentIdle, AgentRegistry, Dispatch, RouteKey};
use super::task::{ApplyReply, TaskRegistry};
use crate::booking::Outcome;
use crate::db::ids::InboundId;
use crate::engine::Engine;

/// How often an agent actor checks whether it has been idle long enough.
const IDLE_CHECK_INTERVAL: Duration = Duration::from_secs(5);

/// How long a message whose processing failed waits before it is tried
/// again.
const RETRY_DELAY: Duration = Duration::from_secs(1);

/// Process one stored message.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct ProcessMessage(pub InboundId);

/// Stop now; sent by the registry after it has forgotten this actor.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct Retire;

#[derive(Debug)]
pub struct AgentActor {
    key: RouteKey,
    engine: Engine,
    registry: Addr<AgentRegistry>,
    outbox: Option<Addr<Outbox>>,
    tasks: Addr<TaskRegistry>,
    /// Messages handled so far; the registry compares it with the number it
    /// dispatched before retiring the actor.
    processed: u64,
    last_active: Instant,
    idle_timeout: Duration,
}

impl AgentActor {
    pub fn new(
        key: RouteKey,
        engine: Engine,
        registry: Addr<AgentRegistry>,
        outbox: Option<Addr<Outbox>>,
        tasks: Addr<TaskRegistry>,
    ) -> Self {
        let idle_timeout = Duration::from_secs(engine.settings.agents.idle_timeout_secs);
        Self { key, engine, registry, outbox, tasks, processed: 0, last_active: Instant::now(), idle_timeout }
    }
}

impl Actor for AgentActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        tracing::debug!(route = %self.key, "agent actor started");
        let check = IDLE_CHECK_INTERVAL.min(self.idle_timeout.max(Duration::from_millis(10)));
        ctx.run_interval(check, |actor, _ctx| {
            if actor.last_active.elapsed() >= actor.idle_timeout {
                actor.registry.do_send(AgentIdle { key: actor.key, processed: actor.processed });
            }
        });
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        tracing::debug!(route = %self.key, processed = self.processed, "agent actor stopped");
    }
}

impl Handler<ProcessMessage> for AgentActor {
    type Result = AtomicResponse<Self, ()>;

    /// Runs the whole processing before the next message is looked at, so
    /// one agent's messages never overtake each other.
    fn handle(&mut self, message: ProcessMessage, _ctx: &mut Self::Context) -> Self::Result {
        let engine = self.engine.clone();
        let tasks = self.tasks.clone();
        let key = self.key;
        let span = tracing::info_span!("agent_message", route = %key, inbound_id = %message.0);
        let work = async move {
            let mut failed = false;
            match engine.process(message.0).await {
                Ok(Some(Outcome::Booked { task_id })) => tracing::debug!(%task_id, "message booked"),
                Ok(Some(Outcome::AlreadyBooked { task_id })) => tracing::debug!(%task_id, "booking was a repeat"),
                Ok(Some(Outcome::Flagged { flag_id, reason })) => tracing::debug!(%flag_id, reason, "message flagged"),
                Ok(Some(Outcome::ForTask { task_id })) => {
                    // Waiting here keeps this agent's later messages behind
                    // the reply, so a correction cannot overtake it.
                    match tasks.send(ApplyReply { inbound_id: message.0, task_id }).await {
                        Ok(Ok(outcome)) => tracing::debug!(%task_id, outcome = outcome.as_str(), "reply applied"),
                        Ok(Err(error)) => {
                            failed = true;
                            tracing::error!(
                                %error,
                                %task_id,
                                "applying reply {} to task {} failed; retrying it shortly",
                                message.0,
                                task_id
                            );
                        }
                        Err(error) => {
                            tracing::error!(%error, %task_id, "task registry unavailable; the registry sweep retries the reply")
                        }
                    }
                }
                Ok(None) => tracing::debug!("message was processed before"),
                Err(error) => {
                    failed = true;
                    tracing::error!(
                        %error,
                        inbound_id = %message.0,
                        "processing message {} failed; it stays stored and is retried shortly",
                        message.0
                    );
                }
            }
            failed
        }
        .instrument(span);
        AtomicResponse::new(Box::pin(work.into_actor(self).map(move |failed, actor, ctx| {
            actor.processed += 1;
            actor.last_active = Instant::now();
            if failed {
                // Dispatched again through the registry, which keeps its count
                // of messages in flight right; the sweep remains the backstop.
                let agent_id = match actor.key {
                    RouteKey::Agent(id) => Some(id),
                    RouteKey::Unregistered => None,
                };
                let registry = actor.registry.clone();
                ctx.run_later(RETRY_DELAY, move |_actor, _ctx| {
                    registry.do_send(Dispatch { id: message.0, agent_id });
                });
            }
            if let Some(outbox) = &actor.outbox {
                outbox.do_send(Wake);
            }
        })))
    }
}

impl Handler<Retire> for AgentActor {
    type Result = ();

    fn handle(&mut self, _message: Retire, ctx: &mut Self::Context) {
        ctx.stop();
    }
}
