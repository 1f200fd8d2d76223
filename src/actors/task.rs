//! One actor per live appointment task that has work: it applies the
//! task's lifecycle events one at a time. The state machine lives in
//! [`crate::appointments::lifecycle`]; the actor keeps the last status it
//! saw, loaded from the database when it starts, and every change is a
//! conditional update on the stored status, so the database stays the
//! source of truth. The scheduler's bulk follow-ups bypass the actors and
//! rely on the same conditional updates.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use actix::prelude::*;

use crate::appointments::TaskStatus;
use crate::db::ids::{InboundId, TaskId};
use crate::db::tasks::Task;
use crate::db::DbError;
use crate::engine::Engine;
use crate::followup::reply::ReplyOutcome;

/// How often a task actor checks whether it has been idle long enough.
const IDLE_CHECK_INTERVAL: Duration = Duration::from_secs(5);

/// Apply the follow-up reply stored as `inbound_id` to task `task_id`.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "Result<ReplyOutcome, DbError>")]
pub struct ApplyReply {
    pub inbound_id: InboundId,
    pub task_id: TaskId,
}

#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
struct TaskIdle {
    task_id: TaskId,
    handled: u64,
}

#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
struct Retire;

/// Number of live task actors.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "usize")]
pub struct LiveTasks;

#[derive(Debug)]
pub struct TaskActor {
    task_id: TaskId,
    engine: Engine,
    registry: Addr<TaskRegistry>,
    /// The status after the last change this actor saw; `None` until loaded.
    status: Option<TaskStatus>,
    handled: u64,
    last_active: Instant,
    idle_timeout: Duration,
}

impl Actor for TaskActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let engine = self.engine.clone();
        let task_id = self.task_id;
        let load = async move {
            engine.database.run(move |connection| Task::find(connection, task_id).map_err(DbError::from)).await
        };
        ctx.wait(load.into_actor(self).map(|result, actor, _ctx| match result {
            Ok(task) => actor.status = task.and_then(|task| TaskStatus::parse(&task.status)),
            Err(error) => tracing::error!(%error, task_id = %actor.task_id, "loading task {} failed", actor.task_id),
        }));
        let check = IDLE_CHECK_INTERVAL.min(self.idle_timeout.max(Duration::from_millis(10)));
        ctx.run_interval(check, |actor, _ctx| {
            if actor.last_active.elapsed() >= actor.idle_timeout {
                actor.registry.do_send(TaskIdle { task_id: actor.task_id, handled: actor.handled });
            }
        });
        tracing::debug!(task_id = %self.task_id, status = ?self.status, "task actor started");
    }
}

impl Handler<ApplyReply> for TaskActor {
    type Result = AtomicResponse<Self, Result<ReplyOutcome, DbError>>;

    fn handle(&mut self, message: ApplyReply, _ctx: &mut Self::Context) -> Self::Result {
        let engine = self.engine.clone();
        let task_id = self.task_id;
        let work = async move {
            let outcome = engine.apply_reply(message.inbound_id, message.task_id).await;
            let status = engine
                .database
                .run(move |connection| Task::find(connection, task_id).map_err(DbError::from))
                .await
                .ok()
                .flatten()
                .and_then(|task| TaskStatus::parse(&task.status));
            (outcome, status)
        };
        AtomicResponse::new(Box::pin(work.into_actor(self).map(|(outcome, status), actor, _ctx| {
            actor.handled += 1;
            actor.last_active = Instant::now();
            if status.is_some() {
                actor.status = status;
            }
            outcome
        })))
    }
}

impl Handler<Retire> for TaskActor {
    type Result = ();

    fn handle(&mut self, _message: Retire, ctx: &mut Self::Context) {
        ctx.stop();
    }
}

#[derive(Debug)]
struct Entry {
    address: Addr<TaskActor>,
    dispatched: u64,
}

/// Spawns task actors on demand and retires idle ones.
#[derive(Debug)]
pub struct TaskRegistry {
    engine: Engine,
    actors: HashMap<TaskId, Entry>,
}

impl TaskRegistry {
    pub fn new(engine: Engine) -> Self {
        Self { engine, actors: HashMap::new() }
    }
}

impl Actor for TaskRegistry {
    type Context = Context<Self>;
}

impl Handler<ApplyReply> for TaskRegistry {
    type Result = ResponseFuture<Result<ReplyOutcome, DbError>>;

    fn handle(&mut self, message: ApplyReply, ctx: &mut Self::Context) -> Self::Result {
        let registry = ctx.address();
        let engine = self.engine.clone();
        let entry = self.actors.entry(message.task_id).or_insert_with(|| {
            let idle_timeout = Duration::from_secs(engine.settings.agents.idle_timeout_secs);
            let actor = TaskActor {
                task_id: message.task_id,
                engine,
                registry,
                status: None,
                handled: 0,
                last_active: Instant::now(),
                idle_timeout,
            };
            Entry { address: actor.start(), dispatched: 0 }
        });
        entry.dispatched += 1;
        let address = entry.address.clone();
        Box::pin(async move {
            address.send(message).await.map_err(|error| {
                DbError::Unavailable(crate::db::Unavailable::TaskFailed(format!("task actor stopped: {error}")))
            })?
        })
    }
}

impl Handler<TaskIdle> for TaskRegistry {
    type Result = ();

    fn handle(&mut self, message: TaskIdle, _ctx: &mut Self::Context) {
        let Some(entry) = self.actors.get(&message.task_id) else { return };
        if entry.dispatched != message.handled {
            return;
        }
        if let Some(entry) = self.actors.remove(&message.task_id) {
            entry.address.do_send(Retire);
        }
    }
}

impl Handler<LiveTasks> for TaskRegistry {
    type Result = usize;

    fn handle(&mut self, _message: LiveTasks, _ctx: &mut Self::Context) -> usize {
        self.actors.len()
    }
}
