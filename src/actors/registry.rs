//! The registry routes each stored message to the actor of its agent,
//! spawning actors on demand and retiring idle ones. At start it dispatches
//! every message that was stored but not processed before a restart.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use actix::prelude::*;

use super::agent::{AgentActor, ProcessMessage, Retire};
use super::outbox::Outbox;
use super::task::TaskRegistry;
use crate::db::ids::{AgentId, InboundId};
use crate::db::inbound::{InboundMessage, PendingInbound};
use crate::db::DbError;
use crate::engine::Engine;

/// How often the registry looks for stored messages that no actor holds,
/// for example after a processing error.
const SWEEP_INTERVAL: Duration = Duration::from_secs(60);

/// Messages loaded per query when recovering after a restart.
const RECOVERY_BATCH: i64 = 1_000;

/// The key of the actor that processes a message: the agent's own, or one
/// shared actor for senders that are not registered agents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RouteKey {
    Agent(AgentId),
    Unregistered,
}

impl fmt::Display for RouteKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RouteKey::Agent(id) => write!(f, "agent-{id}"),
            RouteKey::Unregistered => f.write_str("unregistered"),
        }
    }
}

impl From<Option<AgentId>> for RouteKey {
    fn from(agent: Option<AgentId>) -> Self {
        agent.map_or(RouteKey::Unregistered, RouteKey::Agent)
    }
}

/// Route a stored message to its actor.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct Dispatch {
    pub id: InboundId,
    pub agent_id: Option<AgentId>,
}

/// Sent by an agent actor that has been idle; `processed` lets the registry
/// see whether messages are still on their way to it.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct AgentIdle {
    pub key: RouteKey,
    pub processed: u64,
}

/// Dispatch every stored message that is not processed yet, oldest first.
/// Answers with the number dispatched.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "Result<usize, DbError>")]
pub struct DispatchPending;

/// Number of live agent actors, for tests and status pages.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "usize")]
pub struct LiveActors;

#[derive(Debug)]
struct Entry {
    address: Addr<AgentActor>,
    dispatched: u64,
}

#[derive(Debug)]
pub struct AgentRegistry {
    engine: Engine,
    outbox: Option<Addr<Outbox>>,
    tasks: Addr<TaskRegistry>,
    actors: HashMap<RouteKey, Entry>,
}

impl AgentRegistry {
    pub fn new(engine: Engine, outbox: Option<Addr<Outbox>>, tasks: Addr<TaskRegistry>) -> Self {
        Self { engine, outbox, tasks, actors: HashMap::new() }
    }

    fn dispatch(&mut self, id: InboundId, key: RouteKey, ctx: &mut Context<Self>) {
        let entry = self.actors.entry(key).or_insert_with(|| {
            let actor =
                AgentActor::new(key, self.engine.clone(), ctx.address(), self.outbox.clone(), self.tasks.clone());
            Entry { address: actor.start(), dispatched: 0 }
        });
        entry.dispatched += 1;
        entry.address.do_send(ProcessMessage(id));
    }
}

async fn load_pending(engine: Engine) -> Result<Vec<PendingInbound>, DbError> {
    let mut all: Vec<PendingInbound> = Vec::new();
    loop {
        let after = all.last().map_or(InboundId(0), |last| last.id);
        let batch = engine
            .database
            .run(move |connection| {
                InboundMessage::pending_after(connection, after, RECOVERY_BATCH).map_err(DbError::from)
            })
            .await?;
        let complete = batch.len() < RECOVERY_BATCH as usize;
        all.extend(batch);
        if complete {
            return Ok(all);
        }
    }
}

impl Actor for AgentRegistry {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        tracing::info!("agent registry started");
        ctx.run_interval(SWEEP_INTERVAL, |actor, ctx| {
            let engine = actor.engine.clone();
            ctx.spawn(load_pending(engine).into_actor(actor).map(|result, actor, ctx| match result {
                Ok(pending) => {
                    if !pending.is_empty() {
                        tracing::info!(
                            count = pending.len(),
                            "sweep found unprocessed messages; dispatching them again"
                        );
                    }
                    for row in pending {
                        actor.dispatch(row.id, row.agent_id.into(), ctx);
                    }
                }
                Err(error) => tracing::error!(%error, "sweep for unprocessed messages failed"),
            }));
        });
    }
}

impl Handler<Dispatch> for AgentRegistry {
    type Result = ();

    fn handle(&mut self, message: Dispatch, ctx: &mut Self::Context) {
        self.dispatch(message.id, message.agent_id.into(), ctx);
    }
}

impl Handler<AgentIdle> for AgentRegistry {
    type Result = ();

    fn handle(&mut self, message: AgentIdle, _ctx: &mut Self::Context) {
        let Some(entry) = self.actors.get(&message.key) else { return };
        // Messages dispatched after the actor reported idle are still in its
        // mailbox; it must stay until it has processed them.
        if entry.dispatched != message.processed {
            return;
        }
        if let Some(entry) = self.actors.remove(&message.key) {
            entry.address.do_send(Retire);
        }
    }
}

impl Handler<DispatchPending> for AgentRegistry {
    type Result = ResponseActFuture<Self, Result<usize, DbError>>;

    fn handle(&mut self, _message: DispatchPending, _ctx: &mut Self::Context) -> Self::Result {
        let engine = self.engine.clone();
        Box::pin(load_pending(engine).into_actor(self).map(|result, actor, ctx| {
            let pending = result?;
            let count = pending.len();
            for row in pending {
                actor.dispatch(row.id, row.agent_id.into(), ctx);
            }
            Ok(count)
        }))
    }
}

impl Handler<LiveActors> for AgentRegistry {
    type Result = usize;

    fn handle(&mut self, _message: LiveActors, _ctx: &mut Self::Context) -> usize {
        self.actors.len()
    }
}
