//! Follow-ups and reminders: one row per task and appointment slot, which
//! is also the claim that keeps them from being sent twice.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::ids::{InboundId, OutboundId, SlotId, TaskId};
use super::schema::{follow_ups, reminders};
use super::DbConnection;

/// Follow-up states as stored.
pub mod status {
    /// Sent, waiting for the agent's reply.
    pub const OPEN: &str = "open";
    /// The agent replied SC or RS.
    pub const ANSWERED: &str = "answered";
    /// No reply in time; the task was escalated.
    pub const EXPIRED: &str = "expired";
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = follow_ups)]
pub struct FollowUp {
    pub id: i32,
    pub task_id: TaskId,
    pub slot_id: SlotId,
    pub tracking_id: String,
    pub status: String,
    pub sent_at: NaiveDateTime,
    /// `SC` or `RS`.
    pub reply: Option<String>,
    pub reply_inbound_id: Option<InboundId>,
    pub replied_at: Option<NaiveDateTime>,
}

/// The result of trying to claim a follow-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// This caller owns the new follow-up and must send it.
    Claimed,
    /// A follow-up for this task and slot exists already.
    AlreadyClaimed,
    /// The tracking id is in use by another open follow-up; try another.
    TrackingIdTaken,
}

impl FollowUp {
    /// Inserts the follow-up unless one exists for the task and slot. The
    /// insert skips conflicts, so concurrent schedulers on SQLite or
    /// PostgreSQL cannot both claim it.
    pub fn claim(
        connection: &mut DbConnection,
        task: TaskId,
        slot: SlotId,
        tracking_id: &str,
        now: NaiveDateTime,
    ) -> QueryResult<Claim> {
        let inserted = diesel::insert_into(follow_ups::table)
            .values((
                follow_ups::task_id.eq(task),
                follow_ups::slot_id.eq(slot),
                follow_ups::tracking_id.eq(tracking_id),
                follow_ups::status.eq(status::OPEN),
                follow_ups::sent_at.eq(now),
            ))
            .on_conflict_do_nothing()
            .execute(connection)?;
        if inserted == 1 {
            return Ok(Claim::Claimed);
        }
        let exists: i64 = follow_ups::table
            .filter(follow_ups::task_id.eq(task))
            .filter(follow_ups::slot_id.eq(slot))
            .count()
            .get_result(connection)?;
        Ok(if exists > 0 { Claim::AlreadyClaimed } else { Claim::TrackingIdTaken })
    }

    /// The newest follow-up with this tracking id, open or not.
    pub fn find_by_tracking_id(connection: &mut DbConnection, tracking_id: &str) -> QueryResult<Option<FollowUp>> {
        follow_ups::table
            .filter(follow_ups::tracking_id.eq(tracking_id))
            .order(follow_ups::id.desc())
            .select(FollowUp::as_select())
            .first(connection)
            .optional()
    }

    pub fn find(connection: &mut DbConnection, id: i32) -> QueryResult<Option<FollowUp>> {
        follow_ups::table.find(id).select(FollowUp::as_select()).first(connection).optional()
    }

    /// Records the agent's reply to an open follow-up, or a late reply to
    /// one that expired.
    pub fn mark_answered(
        connection: &mut DbConnection,
        id: i32,
        reply: &str,
        inbound: InboundId,
        now: NaiveDateTime,
    ) -> QueryResult<bool> {
        let updated = diesel::update(follow_ups::table.find(id).filter(follow_ups::status.ne(status::ANSWERED)))
            .set((
                follow_ups::status.eq(status::ANSWERED),
                follow_ups::reply.eq(reply),
                follow_ups::reply_inbound_id.eq(inbound),
                follow_ups::replied_at.eq(now),
            ))
            .execute(connection)?;
        Ok(updated == 1)
    }

    /// Open follow-ups sent before `cutoff`, oldest first.
    pub fn overdue(connection: &mut DbConnection, cutoff: NaiveDateTime, limit: i64) -> QueryResult<Vec<FollowUp>> {
        follow_ups::table
            .filter(follow_ups::status.eq(status::OPEN))
            .filter(follow_ups::sent_at.lt(cutoff))
            .order(follow_ups::id.asc())
            .limit(limit)
            .select(FollowUp::as_select())
            .load(connection)
    }

    pub fn mark_expired(connection: &mut DbConnection, id: i32) -> QueryResult<bool> {
        let updated = diesel::update(follow_ups::table.find(id).filter(follow_ups::status.eq(status::OPEN)))
            .set(follow_ups::status.eq(status::EXPIRED))
            .execute(connection)?;
        Ok(updated == 1)
    }

    /// Closes the open follow-ups of a task, e.g. when it is cancelled.
    pub fn expire_open_of_task(connection: &mut DbConnection, task: TaskId) -> QueryResult<usize> {
        diesel::update(
            follow_ups::table.filter(follow_ups::task_id.eq(task)).filter(follow_ups::status.eq(status::OPEN)),
        )
        .set(follow_ups::status.eq(status::EXPIRED))
        .execute(connection)
    }

    /// All follow-ups in creation order.
    pub fn all(connection: &mut DbConnection) -> QueryResult<Vec<FollowUp>> {
        follow_ups::table.order(follow_ups::id.asc()).select(FollowUp::as_select()).load(connection)
    }
}

/// Claims the reminder of a task's slot. Returns false if it was claimed
/// before, so the caller must not send it.
pub fn claim_reminder(
    connection: &mut DbConnection,
    task: TaskId,
    slot: SlotId,
    outbound: Option<OutboundId>,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let inserted = diesel::insert_into(reminders::table)
        .values((
            reminders::task_id.eq(task),
            reminders::slot_id.eq(slot),
            reminders::outbound_message_id.eq(outbound),
            reminders::created_at.eq(now),
        ))
        .on_conflict_do_nothing()
        .execute(connection)?;
    Ok(inserted == 1)
}

/// Links a claimed reminder to the SMS queued for it.
pub fn link_reminder(
    connection: &mut DbConnection,
    task: TaskId,
    slot: SlotId,
    outbound: OutboundId,
) -> QueryResult<usize> {
    diesel::update(reminders::table.filter(reminders::task_id.eq(task)).filter(reminders::slot_id.eq(slot)))
        .set(reminders::outbound_message_id.eq(outbound))
        .execute(connection)
}
