//! Queries behind the dashboard's outbox page. Like [`super::scoped`],
//! every function takes the caller's [`Scope`]: an outbound message
//! belongs to the corporation of its task's facility, or, without a task,
//! to the corporations of the agent whose inbound message it replies to. A
//! message with neither (a reply to an unknown sender) is admin-only.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::ids::{OutboundId, TaskId};
use super::outbound::{status, OutboundMessage};
use super::schema::{inbound_messages, outbound_messages, tasks};
use super::scoped::{visible, Page};
use super::staff::Scope;
use super::{write_transaction, DbConnection};

/// Conditions on the outbox list; `None` means no condition.
#[derive(Debug, Clone, Default)]
pub struct OutboxFilter {
    /// A stored status, such as `failed`.
    pub status: Option<String>,
    /// An exact recipient, E.164.
    pub recipient: Option<String>,
    pub task: Option<TaskId>,
    /// Messages created at or after this UTC time.
    pub created_from: Option<NaiveDateTime>,
    /// Messages created before this UTC time.
    pub created_before: Option<NaiveDateTime>,
}

type BoxedOutbound<'a> = diesel::helper_types::IntoBoxed<
    'a,
    diesel::helper_types::LeftJoin<
        diesel::helper_types::LeftJoin<outbound_messages::table, tasks::table>,
        inbound_messages::table,
    >,
    <DbConnection as diesel::Connection>::Backend,
>;

/// Returns the outbound messages in scope as a boxed query, so the list
/// and the resend apply the same rule.
fn in_scope(connection: &mut DbConnection, scope: &Scope) -> QueryResult<BoxedOutbound<'static>> {
    let visible = visible(connection, scope)?;
    let mut query = outbound_messages::table.left_join(tasks::table).left_join(inbound_messages::table).into_boxed();
    if let Some(visible) = visible {
        query = query.filter(
            tasks::facility_id
                .eq_any(visible.facilities)
                .or(outbound_messages::task_id.is_null().and(inbound_messages::agent_id.eq_any(visible.agents))),
        );
    }
    Ok(query)
}

/// Lists the outbound messages in scope that match `filter`, newest
/// first, `limit` rows from `offset`.
pub fn list_outbound(
    connection: &mut DbConnection,
    scope: &Scope,
    filter: &OutboxFilter,
    limit: i64,
    offset: i64,
) -> QueryResult<Page<OutboundMessage>> {
    let filtered = |connection: &mut DbConnection| -> QueryResult<BoxedOutbound<'static>> {
        let mut query = in_scope(connection, scope)?;
        if let Some(status) = &filter.status {
            query = query.filter(outbound_messages::status.eq(status.clone()));
        }
        if let Some(recipient) = &filter.recipient {
            query = query.filter(outbound_messages::recipient.eq(recipient.clone()));
        }
        if let Some(task) = filter.task {
            query = query.filter(outbound_messages::task_id.eq(task));
        }
        if let Some(from) = filter.created_from {
            query = query.filter(outbound_messages::created_at.ge(from));
        }
        if let Some(before) = filter.created_before {
            query = query.filter(outbound_messages::created_at.lt(before));
        }
        Ok(query)
    };

    let total = filtered(connection)?.count().get_result(connection)?;
    let rows = filtered(connection)?
        .order_by(outbound_messages::id.desc())
        .select(OutboundMessage::as_select())
        .limit(limit)
        .offset(offset)
        .load(connection)?;
    Ok(Page { rows, total })
}

/// Finds an outbound message in scope.
pub fn find_outbound(
    connection: &mut DbConnection,
    scope: &Scope,
    id: OutboundId,
) -> QueryResult<Option<OutboundMessage>> {
    in_scope(connection, scope)?
        .filter(outbound_messages::id.eq(id))
        .select(OutboundMessage::as_select())
        .first(connection)
        .optional()
}

/// The result of resending a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resend {
    /// Back in the queue with its attempts reset.
    Requeued,
    /// The message is not `failed` (any more); nothing changed.
    NotFailed,
    /// No such message in scope.
    NotFound,
}

/// Puts a failed message in scope back in the queue and records who (`by`)
/// did it, in one write transaction.
pub fn resend(
    connection: &mut DbConnection,
    scope: &Scope,
    id: OutboundId,
    by: &str,
    now: NaiveDateTime,
) -> QueryResult<Resend> {
    write_transaction(connection, |connection| {
        let Some(message) = find_outbound(connection, scope, id)? else {
            return Ok(Resend::NotFound);
        };
        if message.status != status::FAILED {
            return Ok(Resend::NotFailed);
        }
        Ok(if OutboundMessage::requeue_failed(connection, &message, by, now)? {
            Resend::Requeued
        } else {
            Resend::NotFailed
        })
    })
}
