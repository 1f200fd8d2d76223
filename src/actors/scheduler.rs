//! The scheduler actor: every few seconds it runs whatever is due
//! (follow-ups, reminders, escalations, recurring slots), and at start-up
//! and then every hour it deletes old chat files that no message refers
//! to. Each run is idempotent and claims its work in the database, so
//! several servers may run schedulers on the same database.

use std::time::Duration;

use actix::prelude::*;

use super::outbox::{Outbox, Wake};
use crate::chat;
use crate::db::DbError;
use crate::engine::Engine;
use crate::followup::run::RunSummary;

/// Run the due work now and answer with what was done. Scenario replay and
/// tests send it after moving the virtual clock.
#[derive(Message, Debug, Clone, Copy, Default)]
#[rtype(result = "Result<RunSummary, DbError>")]
pub struct RunNow {
    /// Stop after this many follow-up batches, as a crash would.
    pub max_batches: Option<usize>,
}

#[derive(Debug)]
pub struct Scheduler {
    engine: Engine,
    outbox: Option<Addr<Outbox>>,
}

impl Scheduler {
    pub fn new(engine: Engine, outbox: Option<Addr<Outbox>>) -> Self {
        Self { engine, outbox }
    }
}

impl Actor for Scheduler {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let interval = Duration::from_secs(self.engine.settings.scheduler.tick_secs);
        tracing::info!(
            follow_up_time = %self.engine.settings.scheduler.follow_up_time,
            zone = %self.engine.settings.time.zone,
            "scheduler started"
        );
        ctx.run_interval(interval, |_actor, ctx| {
            ctx.address().do_send(RunNow::default());
        });
        ctx.address().do_send(RunNow::default());

        // The first sweep runs at start-up, so files left unsent before a
        // restart do not wait a full interval.
        spawn_unsent_file_sweep(self.engine.clone());
        ctx.run_interval(chat::files::SWEEP_INTERVAL, |actor, _ctx| {
            spawn_unsent_file_sweep(actor.engine.clone());
        });
    }
}

/// Starts one run of [`chat::files::sweep_unsent`] in the background.
fn spawn_unsent_file_sweep(engine: Engine) {
    // The sweep logs its own outcome and errors.
    actix::spawn(async move {
        let _ = chat::files::sweep_unsent(&engine, engine.clock.now_naive()).await;
    });
}

impl Handler<RunNow> for Scheduler {
    type Result = AtomicResponse<Self, Result<RunSummary, DbError>>;

    /// Runs are atomic: a tick that arrives during a run waits for it.
    fn handle(&mut self, message: RunNow, _ctx: &mut Self::Context) -> Self::Result {
        let engine = self.engine.clone();
        let work = async move { engine.run_scheduler(message.max_batches).await };
        AtomicResponse::new(Box::pin(work.into_actor(self).map(|result, actor, _ctx| {
            match &result {
                Ok(summary) if !summary.is_empty() => {
                    if let Some(outbox) = &actor.outbox {
                        outbox.do_send(Wake);
                    }
                }
                Ok(_) => {}
                Err(error) => tracing::error!(%error, "scheduler run failed; the next tick retries"),
            }
            result
        })))
    }
}
