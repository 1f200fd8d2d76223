//! Queries behind the staff dashboard. Every function takes the caller's
//! [`Scope`] and applies it in SQL, so a page cannot show or change rows of
//! a corporation its user may not see.
//!
//! What belongs to a corporation:
//! - a task, through the facility of its slot;
//! - a flag, through its task, or through its agent's facilities when it
//!   has no task; a flag with neither (an unknown sender) is admin-only;
//! - an outbound SMS, through its task, or through the agent of the inbound
//!   message it replies to;
//! - an agent, through its facilities, so it may belong to several.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::flags::FlaggedMessage;
use super::followups::{self, FollowUp};
use super::ids::{AgentId, CaseTypeId, CorporationId, FacilityId, FlagId, InboundId, TaskId};
use super::inbound::InboundMessage;
use super::organisation::{Agent, CaseType, Corporation, Facility};
use super::outbound::{self, OutboundMessage};
use super::schema::{
    agent_facilities, agents, case_types, corporations, facilities, flagged_messages, follow_ups, inbound_messages,
    outbound_messages, slots, tasks,
};
use super::slots::Slot;
use super::staff::Scope;
use super::tasks::{status as task_status, Task, TaskTransition};
use super::{write_transaction, DbConnection};

/// Flag states as stored.
pub mod flag_status {
    /// Waiting for an officer.
    pub const OPEN: &str = "open";
    /// Closed after the problem was fixed.
    pub const RESOLVED: &str = "resolved";
    /// Closed by an officer without a fix, with a note.
    pub const DISMISSED: &str = "dismissed";
}

/// The facilities and agents of an officer's corporations, or `None` for
/// an admin, who may see every corporation. Queries filter with `IN (...)`
/// lists of these ids instead of joins to the assignment tables.
// NOTE: each id is one bound parameter. SQLite (3.32 and later) allows
// 32766 per statement and PostgreSQL 65535, far above the facilities and
// agents of a few corporations, but not unlimited.
pub(crate) struct Visible {
    pub(crate) facilities: Vec<FacilityId>,
    pub(crate) agents: Vec<Option<AgentId>>,
}

pub(crate) fn visible(connection: &mut DbConnection, scope: &Scope) -> QueryResult<Option<Visible>> {
    let Scope::Corporations(corporations) = scope else {
        return Ok(None);
    };
    let facilities: Vec<FacilityId> = facilities::table
        .filter(facilities::corporation_id.eq_any(corporations))
        .select(facilities::id)
        .load(connection)?;
    let agents: Vec<AgentId> = agent_facilities::table
        .filter(agent_facilities::facility_id.eq_any(&facilities))
        .select(agent_facilities::agent_id)
        .distinct()
        .load(connection)?;
    Ok(Some(Visible { facilities, agents: agents.into_iter().map(Some).collect() }))
}

/// Sort column of the task list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TaskSort {
    /// By appointment start.
    #[default]
    Appointment,
    /// By the time the booking was made.
    Booked,
    Status,
    Beneficiary,
    Agent,
}

/// Conditions on the task list; `None` means no condition.
#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    pub corporation: Option<CorporationId>,
    pub facility: Option<FacilityId>,
    pub case_type: Option<CaseTypeId>,
    /// A stored task status, such as `booked`.
    pub status: Option<String>,
    pub agent: Option<AgentId>,
    /// Appointments starting at or after this UTC time.
    pub starts_from: Option<NaiveDateTime>,
    /// Appointments starting before this UTC time.
    pub starts_before: Option<NaiveDateTime>,
    pub sort: TaskSort,
    pub descending: bool,
}

/// One line of the task list.
#[derive(Debug, Clone, Queryable)]
pub struct TaskListRow {
    pub id: TaskId,
    pub status: String,
    pub beneficiary_name: String,
    pub reschedule_count: i32,
    pub booked_at: NaiveDateTime,
    /// UTC start of the appointment.
    pub starts_at: NaiveDateTime,
    pub facility_code: String,
    pub facility_name: String,
    pub case_code: String,
    pub agent_id: AgentId,
    pub agent_name: String,
}

/// One page of rows and the number of rows on all pages.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub rows: Vec<T>,
    pub total: i64,
}

/// Lists the tasks in scope that match `filter`, `limit` rows from
/// `offset`, ordered by `filter.sort` and then by id.
pub fn list_tasks(
    connection: &mut DbConnection,
    scope: &Scope,
    filter: &TaskFilter,
    limit: i64,
    offset: i64,
) -> QueryResult<Page<TaskListRow>> {
    list_tasks_in(connection, scope, filter, None, limit, offset)
}

/// Like [`list_tasks`], and limited to the tasks of `category` when one is
/// given.
pub fn list_tasks_in(
    connection: &mut DbConnection,
    scope: &Scope,
    filter: &TaskFilter,
    category: Option<TaskCategory>,
    limit: i64,
    offset: i64,
) -> QueryResult<Page<TaskListRow>> {
    let visible = visible(connection, scope)?;
    let build = || {
        let mut query = tasks::table
            .inner_join(facilities::table)
            .inner_join(slots::table)
            .inner_join(case_types::table)
            .inner_join(agents::table)
            .into_boxed();
        if let Some(visible) = &visible {
            query = query.filter(tasks::facility_id.eq_any(visible.facilities.clone()));
        }
        query = match category {
            None => query,
            Some(TaskCategory::Flagged) => query
                .filter(tasks::status.ne(task_status::CANCELLED))
                .filter(tasks::status.eq(task_status::ESCALATED).or(tasks::id.eq_any(tasks_with_open_flag_query()))),
            Some(category) => query
                .filter(tasks::status.eq(category.status()))
                .filter(diesel::dsl::not(tasks::id.eq_any(tasks_with_open_flag_query()))),
        };
        if let Some(corporation) = filter.corporation {
            query = query.filter(facilities::corporation_id.eq(corporation));
        }
        if let Some(facility) = filter.facility {
            query = query.filter(tasks::facility_id.eq(facility));
        }
        if let Some(case_type) = filter.case_type {
            query = query.filter(tasks::case_type_id.eq(case_type));
        }
        if let Some(status) = &filter.status {
            query = query.filter(tasks::status.eq(status.clone()));
        }
        if let Some(agent) = filter.agent {
            query = query.filter(tasks::agent_id.eq(agent));
        }
        if let Some(from) = filter.starts_from {
            query = query.filter(slots::starts_at.ge(from));
        }
        if let Some(before) = filter.starts_before {
            query = query.filter(slots::starts_at.lt(before));
        }
        query
    };

    let total = build().count().get_result(connection)?;
    let mut query = build();
    query = match (filter.sort, filter.descending) {
        (TaskSort::Appointment, false) => query.order_by(slots::starts_at.asc()),
        (TaskSort::Appointment, true) => query.order_by(slots::starts_at.desc()),
        (TaskSort::Booked, false) => query.order_by(tasks::created_at.asc()),
        (TaskSort::Booked, true) => query.order_by(tasks::created_at.desc()),
        (TaskSort::Status, false) => query.order_by(tasks::status.asc()),
        (TaskSort::Status, true) => query.order_by(tasks::status.desc()),
        (TaskSort::Beneficiary, false) => query.order_by(tasks::beneficiary_name.asc()),
        (TaskSort::Beneficiary, true) => query.order_by(tasks::beneficiary_name.desc()),
        (TaskSort::Agent, false) => query.order_by(agents::name.asc()),
        (TaskSort::Agent, true) => query.order_by(agents::name.desc()),
    };
    query =
        if filter.descending { query.then_order_by(tasks::id.desc()) } else { query.then_order_by(tasks::id.asc()) };
    let rows = query
        .select((
            tasks::id,
            tasks::status,
            tasks::beneficiary_name,
            tasks::reschedule_count,
            tasks::created_at,
            slots::starts_at,
            facilities::code,
            facilities::name,
            case_types::code,
            agents::id,
            agents::name,
        ))
        .limit(limit)
        .offset(offset)
        .load(connection)?;
    Ok(Page { rows, total })
}

/// A work queue of the officer API: what a task needs from an officer.
/// A task is in at most one category, and a cancelled task is in none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskCategory {
    /// Booked and not followed up yet, without an open flag.
    New,
    /// Follow-up sent and waiting for the agent's reply, without an open
    /// flag.
    FollowUpDue,
    /// Completed, without an open flag.
    Completed,
    /// Escalated, or in any other status with an open flag.
    Flagged,
}

impl TaskCategory {
    /// Returns the stored task status of a category other than
    /// [`TaskCategory::Flagged`].
    fn status(self) -> &'static str {
        match self {
            TaskCategory::New => task_status::BOOKED,
            TaskCategory::FollowUpDue => task_status::FOLLOW_UP_SENT,
            TaskCategory::Completed => task_status::COMPLETED,
            TaskCategory::Flagged => task_status::ESCALATED,
        }
    }

    /// Returns the category of a task with the stored `status`, or `None`
    /// for a cancelled task.
    pub fn of(status: &str, has_open_flag: bool) -> Option<TaskCategory> {
        if status == task_status::CANCELLED {
            return None;
        }
        if has_open_flag || status == task_status::ESCALATED {
            return Some(TaskCategory::Flagged);
        }
        match status {
            task_status::BOOKED => Some(TaskCategory::New),
            task_status::FOLLOW_UP_SENT => Some(TaskCategory::FollowUpDue),
            task_status::COMPLETED => Some(TaskCategory::Completed),
            _ => None,
        }
    }
}

/// Selects the ids of the tasks that have an open flag.
fn tasks_with_open_flag_query(
) -> flagged_messages::BoxedQuery<'static, <DbConnection as diesel::Connection>::Backend, diesel::sql_types::Integer> {
    flagged_messages::table
        .filter(flagged_messages::status.eq(flag_status::OPEN))
        .filter(flagged_messages::task_id.is_not_null())
        .select(flagged_messages::task_id.assume_not_null())
        .into_boxed()
}

/// Returns which of the tasks `ids` are in scope and have an open flag.
pub fn tasks_with_open_flags(connection: &mut DbConnection, scope: &Scope, ids: &[TaskId]) -> QueryResult<Vec<TaskId>> {
    let visible = visible(connection, scope)?;
    let mut query = tasks::table
        .filter(tasks::id.eq_any(ids))
        .filter(tasks::id.eq_any(tasks_with_open_flag_query()))
        .select(tasks::id)
        .into_boxed();
    if let Some(visible) = &visible {
        query = query.filter(tasks::facility_id.eq_any(visible.facilities.clone()));
    }
    query.load(connection)
}

/// A task with everything that happened to it.
#[derive(Debug, Clone)]
pub struct TaskDetail {
    pub task: Task,
    pub facility: Facility,
    pub corporation: Corporation,
    pub case_type: CaseType,
    pub agent: Agent,
    pub slot: Slot,
    pub transitions: Vec<TaskTransition>,
    /// The booking SMS, follow-up replies and every other inbound message
    /// a transition or outbound message of the task refers to, oldest first.
    pub inbound: Vec<InboundMessage>,
    pub outbound: Vec<OutboundMessage>,
    pub follow_ups: Vec<FollowUp>,
    pub flags: Vec<FlaggedMessage>,
}

/// Loads a task and its history, or `None` when there is no such task in
/// scope. A task of another corporation and a missing one look the same.
pub fn find_task(connection: &mut DbConnection, scope: &Scope, id: TaskId) -> QueryResult<Option<TaskDetail>> {
    let visible = visible(connection, scope)?;
    let mut query = tasks::table
        .inner_join(facilities::table.inner_join(corporations::table))
        .inner_join(case_types::table)
        .inner_join(agents::table)
        .inner_join(slots::table)
        .filter(tasks::id.eq(id))
        .into_boxed();
    if let Some(visible) = &visible {
        query = query.filter(tasks::facility_id.eq_any(visible.facilities.clone()));
    }
    let found = query
        .select((
            Task::as_select(),
            Facility::as_select(),
            Corporation::as_select(),
            CaseType::as_select(),
            Agent::as_select(),
            Slot::as_select(),
        ))
        .first::<(Task, Facility, Corporation, CaseType, Agent, Slot)>(connection)
        .optional()?;
    let Some((task, facility, corporation, case_type, agent, slot)) = found else {
        return Ok(None);
    };

    let transitions = TaskTransition::of_task(connection, id)?;
    let outbound: Vec<OutboundMessage> = outbound_messages::table
        .filter(outbound_messages::task_id.eq(id))
        .order(outbound_messages::id.asc())
        .select(OutboundMessage::as_select())
        .load(connection)?;
    let follow_ups: Vec<FollowUp> = follow_ups::table
        .filter(follow_ups::task_id.eq(id))
        .order(follow_ups::id.asc())
        .select(FollowUp::as_select())
        .load(connection)?;
    let flags: Vec<FlaggedMessage> = flagged_messages::table
        .filter(flagged_messages::task_id.eq(id))
        .order(flagged_messages::id.asc())
        .select(FlaggedMessage::as_select())
        .load(connection)?;

    let mut inbound_ids: Vec<InboundId> = task.inbound_message_id.into_iter().collect();
    inbound_ids.extend(transitions.iter().filter_map(|transition| transition.inbound_message_id));
    inbound_ids.extend(outbound.iter().filter_map(|message| message.inbound_message_id));
    inbound_ids.extend(follow_ups.iter().filter_map(|follow_up| follow_up.reply_inbound_id));
    inbound_ids.extend(flags.iter().filter_map(|flag| flag.inbound_message_id));
    inbound_ids.sort_unstable();
    inbound_ids.dedup();
    let inbound: Vec<InboundMessage> = inbound_messages::table
        .filter(inbound_messages::id.eq_any(&inbound_ids))
        .order((inbound_messages::received_at.asc(), inbound_messages::id.asc()))
        .select(InboundMessage::as_select())
        .load(connection)?;

    Ok(Some(TaskDetail {
        task,
        facility,
        corporation,
        case_type,
        agent,
        slot,
        transitions,
        inbound,
        outbound,
        follow_ups,
        flags,
    }))
}

/// Subset of flags that the flag list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FlagView {
    /// Flags waiting for an officer.
    #[default]
    Open,
    /// Resolved and dismissed flags.
    Closed,
    All,
}

/// One line of the flag list.
#[derive(Debug, Clone, Queryable)]
pub struct FlagListRow {
    #[diesel(embed)]
    pub flag: FlaggedMessage,
    pub agent_name: Option<String>,
    /// Sender of the flagged message, E.164 when it parsed as a phone.
    pub sender: Option<String>,
    pub text: Option<String>,
}

/// Lists the flags in scope, newest first, `limit` rows from `offset`.
pub fn list_flags(
    connection: &mut DbConnection,
    scope: &Scope,
    view: FlagView,
    limit: i64,
    offset: i64,
) -> QueryResult<Page<FlagListRow>> {
    let visible = visible(connection, scope)?;
    let build = || {
        let mut query = flagged_messages::table
            .left_join(tasks::table)
            .left_join(agents::table)
            .left_join(inbound_messages::table)
            .into_boxed();
        if let Some(visible) = &visible {
            query = query.filter(tasks::facility_id.eq_any(visible.facilities.clone()).or(
                flagged_messages::task_id.is_null().and(flagged_messages::agent_id.eq_any(visible.agents.clone())),
            ));
        }
        match view {
            FlagView::Open => query.filter(flagged_messages::status.eq(flag_status::OPEN)),
            FlagView::Closed => query.filter(flagged_messages::status.ne(flag_status::OPEN)),
            FlagView::All => query,
        }
    };

    let total = build().count().get_result(connection)?;
    let rows = build()
        .order_by(flagged_messages::id.desc())
        .select((
            FlaggedMessage::as_select(),
            agents::name.nullable(),
            inbound_messages::sender.nullable(),
            inbound_messages::text.nullable(),
        ))
        .limit(limit)
        .offset(offset)
        .load(connection)?;
    Ok(Page { rows, total })
}

/// Finds a flag in scope.
pub fn find_flag(connection: &mut DbConnection, scope: &Scope, id: FlagId) -> QueryResult<Option<FlaggedMessage>> {
    let visible = visible(connection, scope)?;
    let mut query = flagged_messages::table.left_join(tasks::table).filter(flagged_messages::id.eq(id)).into_boxed();
    if let Some(visible) = &visible {
        query =
            query.filter(tasks::facility_id.eq_any(visible.facilities.clone()).or(
                flagged_messages::task_id.is_null().and(flagged_messages::agent_id.eq_any(visible.agents.clone())),
            ));
    }
    query.select(FlaggedMessage::as_select()).first(connection).optional()
}

/// Finds a flag in scope with the agent's name and the flagged message, as
/// a line of the flag list shows them.
pub fn find_flag_row(connection: &mut DbConnection, scope: &Scope, id: FlagId) -> QueryResult<Option<FlagListRow>> {
    let Some(flag) = find_flag(connection, scope, id)? else {
        return Ok(None);
    };
    let agent_name = match flag.agent_id {
        Some(agent) => agents::table.find(agent).select(agents::name).first::<String>(connection).optional()?,
        None => None,
    };
    let message = match flag.inbound_message_id {
        Some(inbound) => inbound_messages::table
            .find(inbound)
            .select((inbound_messages::sender, inbound_messages::text))
            .first::<(String, String)>(connection)
            .optional()?,
        None => None,
    };
    let (sender, text) = message.unzip();
    Ok(Some(FlagListRow { flag, agent_name, sender, text }))
}

/// The result of dismissing a flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dismissal {
    Dismissed,
    /// The flag was resolved or dismissed before; nothing changed.
    AlreadyClosed,
    /// No such flag in scope.
    NotFound,
}

/// Closes an open flag in scope as dismissed, recording who (`by`), why
/// (`note`) and when.
pub fn dismiss_flag(
    connection: &mut DbConnection,
    scope: &Scope,
    id: FlagId,
    by: &str,
    note: &str,
    now: NaiveDateTime,
) -> QueryResult<Dismissal> {
    write_transaction(connection, |connection| {
        if find_flag(connection, scope, id)?.is_none() {
            return Ok(Dismissal::NotFound);
        }
        let updated =
            diesel::update(flagged_messages::table.find(id).filter(flagged_messages::status.eq(flag_status::OPEN)))
                .set((
                    flagged_messages::status.eq(flag_status::DISMISSED),
                    flagged_messages::resolved_by.eq(by),
                    flagged_messages::resolution_note.eq(note),
                    flagged_messages::resolved_at.eq(now),
                ))
                .execute(connection)?;
        Ok(if updated == 1 { Dismissal::Dismissed } else { Dismissal::AlreadyClosed })
    })
}

/// The numbers on the dashboard home page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HomeCounts {
    /// Tasks created in the given day.
    pub booked_today: i64,
    pub open_flags: i64,
    /// Outbound messages that failed since the given time.
    pub failed_sms: i64,
    /// Follow-ups sent and not answered yet.
    pub awaiting_reply: i64,
}

/// Counts what the home page shows: tasks booked in `[day_start,
/// day_end)`, open flags, SMS failed since `failed_since` and open
/// follow-ups, all in scope.
pub fn home_counts(
    connection: &mut DbConnection,
    scope: &Scope,
    day_start: NaiveDateTime,
    day_end: NaiveDateTime,
    failed_since: NaiveDateTime,
) -> QueryResult<HomeCounts> {
    let visible = visible(connection, scope)?;

    let mut booked =
        tasks::table.filter(tasks::created_at.ge(day_start)).filter(tasks::created_at.lt(day_end)).into_boxed();
    let mut flags = flagged_messages::table
        .left_join(tasks::table)
        .filter(flagged_messages::status.eq(flag_status::OPEN))
        .into_boxed();
    let mut failed = outbound_messages::table
        .left_join(tasks::table)
        .left_join(inbound_messages::table)
        .filter(outbound_messages::status.eq(outbound::status::FAILED))
        .filter(outbound_messages::updated_at.ge(failed_since))
        .into_boxed();
    let mut awaiting =
        follow_ups::table.inner_join(tasks::table).filter(follow_ups::status.eq(followups::status::OPEN)).into_boxed();

    if let Some(visible) = &visible {
        booked = booked.filter(tasks::facility_id.eq_any(visible.facilities.clone()));
        flags =
            flags.filter(tasks::facility_id.eq_any(visible.facilities.clone()).or(
                flagged_messages::task_id.is_null().and(flagged_messages::agent_id.eq_any(visible.agents.clone())),
            ));
        failed =
            failed.filter(tasks::facility_id.eq_any(visible.facilities.clone()).or(
                outbound_messages::task_id.is_null().and(inbound_messages::agent_id.eq_any(visible.agents.clone())),
            ));
        awaiting = awaiting.filter(tasks::facility_id.eq_any(visible.facilities.clone()));
    }

    Ok(HomeCounts {
        booked_today: booked.count().get_result(connection)?,
        open_flags: flags.count().get_result(connection)?,
        failed_sms: failed.count().get_result(connection)?,
        awaiting_reply: awaiting.count().get_result(connection)?,
    })
}

/// The choices of the task list filters, limited to the scope.
#[derive(Debug, Clone, Default)]
pub struct FilterChoices {
    pub corporations: Vec<Corporation>,
    pub facilities: Vec<Facility>,
    pub case_types: Vec<CaseType>,
    pub agents: Vec<Agent>,
}

/// Lists the corporations in scope, ordered by name.
pub fn corporations(connection: &mut DbConnection, scope: &Scope) -> QueryResult<Vec<Corporation>> {
    let mut query = corporations::table.order(corporations::name.asc()).into_boxed();
    if let Scope::Corporations(ids) = scope {
        query = query.filter(corporations::id.eq_any(ids.clone()));
    }
    query.select(Corporation::as_select()).load(connection)
}

/// Loads the corporations, facilities and agents in scope, and every case
/// type, each ordered by name.
pub fn filter_choices(connection: &mut DbConnection, scope: &Scope) -> QueryResult<FilterChoices> {
    let visible = visible(connection, scope)?;

    let mut facility_query = facilities::table.order(facilities::name.asc()).into_boxed();
    let mut agent_query = agents::table.order((agents::name.asc(), agents::id.asc())).into_boxed();
    if let Some(visible) = &visible {
        facility_query = facility_query.filter(facilities::id.eq_any(visible.facilities.clone()));
        let agent_ids: Vec<AgentId> = visible.agents.iter().flatten().copied().collect();
        agent_query = agent_query.filter(agents::id.eq_any(agent_ids));
    }

    Ok(FilterChoices {
        corporations: corporations(connection, scope)?,
        facilities: facility_query.select(Facility::as_select()).load(connection)?,
        case_types: case_types::table.order(case_types::name.asc()).select(CaseType::as_select()).load(connection)?,
        agents: agent_query.select(Agent::as_select()).load(connection)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_categories_follow_status_and_open_flags() {
        let cases = [
            (task_status::BOOKED, false, Some(TaskCategory::New)),
            (task_status::FOLLOW_UP_SENT, false, Some(TaskCategory::FollowUpDue)),
            (task_status::COMPLETED, false, Some(TaskCategory::Completed)),
            (task_status::ESCALATED, false, Some(TaskCategory::Flagged)),
            (task_status::BOOKED, true, Some(TaskCategory::Flagged)),
            (task_status::COMPLETED, true, Some(TaskCategory::Flagged)),
            (task_status::CANCELLED, false, None),
            (task_status::CANCELLED, true, None),
        ];
        for (status, has_open_flag, expected) in cases {
            assert_eq!(TaskCategory::of(status, has_open_flag), expected, "{status}, open flag: {has_open_flag}");
        }
    }
}
