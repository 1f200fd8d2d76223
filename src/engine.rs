//! The shared handles every actor and handler works with.

use std::sync::Arc;

use crate::booking::intake::{store_arrival, store_rejected_request, Arrival, Stored};
use crate::booking::{process_inbound, BookingContext, Outcome};
use crate::clock::SharedClock;
use crate::config::Settings;
use crate::db::ids::{InboundId, TaskId};
use crate::db::{write_transaction, Database, DbError};
use crate::followup::reply::{apply_reply, ReplyOutcome};
use crate::followup::run::{run_due, RunSummary};
use crate::sms::Catalog;

/// Database, settings, catalogues and clock, cheap to clone.
#[derive(Debug, Clone)]
pub struct Engine {
    pub database: Database,
    pub settings: Arc<Settings>,
    pub booking: BookingContext,
    pub clock: SharedClock,
}

impl Engine {
    pub fn new(database: Database, settings: Arc<Settings>, catalog: Arc<Catalog>, clock: SharedClock) -> Self {
        let booking = BookingContext { zone: settings.zone(), settings: settings.clone(), catalog };
        Self { database, settings, booking, clock }
    }

    /// Stores an arriving message durably and returns its id.
    pub async fn receive(&self, arrival: Arrival) -> Result<Stored, DbError> {
        let settings = self.settings.clone();
        let now = self.clock.now_naive();
        self.database
            .run(move |connection| store_arrival(connection, &settings.sms, &arrival, now).map_err(DbError::from))
            .await
    }

    /// Stores a request that cannot be processed (no sender) as a processed
    /// message with an `invalid_format` flag, and returns its id.
    pub async fn store_rejected(&self, arrival: Arrival, detail: String) -> Result<InboundId, DbError> {
        let now = self.clock.now_naive();
        self.database
            .run(move |connection| store_rejected_request(connection, &arrival, &detail, now).map_err(DbError::from))
            .await
    }

    /// Applies a follow-up reply to its task; the task actor calls this.
    pub async fn apply_reply(&self, id: InboundId, task_id: TaskId) -> Result<ReplyOutcome, DbError> {
        let context = self.booking.clone();
        let now = self.clock.now_naive();
        self.database
            .run(move |connection| {
                write_transaction(connection, |connection| apply_reply(connection, &context, id, task_id, now))
                    .map_err(DbError::from)
            })
            .await
    }

    /// Runs the scheduler's due work once.
    pub async fn run_scheduler(&self, max_batches: Option<usize>) -> Result<RunSummary, DbError> {
        let context = self.booking.clone();
        let now = self.clock.now_naive();
        self.database
            .run(move |connection| run_due(connection, &context, now, max_batches).map_err(DbError::from))
            .await
    }

    /// Processes one stored message; `None` if it was handled before.
    pub async fn process(&self, id: InboundId) -> Result<Option<Outcome>, DbError> {
        let context = self.booking.clone();
        let now = self.clock.now_naive();
        self.database.run(move |connection| process_inbound(connection, &context, id, now).map_err(DbError::from)).await
    }
}
