//! Flagged messages: everything that could not be handled automatically.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::ids::{AgentId, FlagId, InboundId, TaskId};
use super::schema::flagged_messages;
use super::DbConnection;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = flagged_messages)]
pub struct FlaggedMessage {
    pub id: FlagId,
    pub inbound_message_id: Option<InboundId>,
    pub agent_id: Option<AgentId>,
    pub task_id: Option<TaskId>,
    /// Stable reason code, such as `unknown_case_type`.
    pub reason: String,
    /// What an officer reads.
    pub detail: String,
    pub status: String,
    pub resolved_by: Option<String>,
    pub resolution_note: Option<String>,
    pub resolved_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = flagged_messages)]
pub struct NewFlaggedMessage<'a> {
    pub inbound_message_id: Option<InboundId>,
    pub agent_id: Option<AgentId>,
    pub task_id: Option<TaskId>,
    pub reason: &'a str,
    pub detail: &'a str,
    pub status: &'a str,
    pub created_at: NaiveDateTime,
}

impl FlaggedMessage {
    pub fn insert(connection: &mut DbConnection, new: &NewFlaggedMessage<'_>) -> QueryResult<FlagId> {
        diesel::insert_into(flagged_messages::table).values(new).returning(flagged_messages::id).get_result(connection)
    }

    /// All flags in creation order.
    pub fn all(connection: &mut DbConnection) -> QueryResult<Vec<FlaggedMessage>> {
        flagged_messages::table.order(flagged_messages::id.asc()).select(FlaggedMessage::as_select()).load(connection)
    }

    /// Resolves the open flags of a task with `reason`, e.g. a `no_reply`
    /// flag once the agent's late reply arrived. Returns how many changed.
    pub fn resolve_open_of_task(
        connection: &mut DbConnection,
        task: TaskId,
        reason: &str,
        resolved_by: &str,
        note: &str,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(
            flagged_messages::table
                .filter(flagged_messages::task_id.eq(task))
                .filter(flagged_messages::reason.eq(reason))
                .filter(flagged_messages::status.eq("open")),
        )
        .set((
            flagged_messages::status.eq("resolved"),
            flagged_messages::resolved_by.eq(resolved_by),
            flagged_messages::resolution_note.eq(note),
            flagged_messages::resolved_at.eq(now),
        ))
        .execute(connection)
    }

    pub fn count_open(connection: &mut DbConnection) -> QueryResult<i64> {
        flagged_messages::table.filter(flagged_messages::status.eq("open")).count().get_result(connection)
    }
}
