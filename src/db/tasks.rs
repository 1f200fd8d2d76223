//! Appointment tasks, their transitions and the beneficiaries they serve.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::ids::{AgentId, BeneficiaryId, CaseTypeId, FacilityId, InboundId, SlotId, TaskId};
use super::schema::{beneficiaries, task_transitions, tasks};
use super::DbConnection;

/// Task lifecycle states as stored.
pub mod status {
    pub const BOOKED: &str = "booked";
    pub const FOLLOW_UP_SENT: &str = "follow_up_sent";
    pub const COMPLETED: &str = "completed";
    pub const ESCALATED: &str = "escalated";
    pub const CANCELLED: &str = "cancelled";
}

/// The actors that cause task transitions.
pub mod actor {
    pub const AGENT_SMS: &str = "agent_sms";
    pub const SCHEDULER: &str = "scheduler";
    pub const OFFICER: &str = "officer";
    pub const SYSTEM: &str = "system";
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = tasks)]
pub struct Task {
    pub id: TaskId,
    pub agent_id: AgentId,
    pub case_type_id: CaseTypeId,
    pub facility_id: FacilityId,
    pub slot_id: SlotId,
    pub beneficiary_id: BeneficiaryId,
    pub beneficiary_name: String,
    pub beneficiary_phone: String,
    pub status: String,
    pub reschedule_count: i32,
    pub inbound_message_id: Option<InboundId>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The facility the agent named in the booking; moves stay there.
    pub requested_facility_id: Option<FacilityId>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = tasks)]
pub struct NewTask<'a> {
    pub agent_id: AgentId,
    pub case_type_id: CaseTypeId,
    pub facility_id: FacilityId,
    pub slot_id: SlotId,
    pub beneficiary_id: BeneficiaryId,
    pub beneficiary_name: &'a str,
    pub beneficiary_phone: &'a str,
    pub status: &'a str,
    pub reschedule_count: i32,
    pub inbound_message_id: Option<InboundId>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The facility the agent named in the booking; moves stay there.
    pub requested_facility_id: Option<FacilityId>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = task_transitions)]
pub struct TaskTransition {
    pub id: i32,
    pub task_id: TaskId,
    pub from_status: Option<String>,
    pub to_status: String,
    pub actor: String,
    pub cause: String,
    pub inbound_message_id: Option<InboundId>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = task_transitions)]
pub struct NewTaskTransition<'a> {
    pub task_id: TaskId,
    pub from_status: Option<&'a str>,
    pub to_status: &'a str,
    pub actor: &'a str,
    pub cause: &'a str,
    pub inbound_message_id: Option<InboundId>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = beneficiaries)]
pub struct Beneficiary {
    pub id: BeneficiaryId,
    pub phone: String,
    pub name: String,
    pub language: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl Task {
    /// Inserts a task together with the transition that created it.
    pub fn create(connection: &mut DbConnection, new: &NewTask<'_>, actor: &str, cause: &str) -> QueryResult<Task> {
        let task: Task =
            diesel::insert_into(tasks::table).values(new).returning(Task::as_returning()).get_result(connection)?;
        TaskTransition::record(
            connection,
            &NewTaskTransition {
                task_id: task.id,
                from_status: None,
                to_status: &task.status,
                actor,
                cause,
                inbound_message_id: new.inbound_message_id,
                created_at: new.created_at,
            },
        )?;
        Ok(task)
    }

    pub fn find(connection: &mut DbConnection, id: TaskId) -> QueryResult<Option<Task>> {
        tasks::table.find(id).select(Task::as_select()).first(connection).optional()
    }

    pub fn count(connection: &mut DbConnection) -> QueryResult<i64> {
        tasks::table.count().get_result(connection)
    }

    /// All tasks in creation order.
    pub fn all(connection: &mut DbConnection) -> QueryResult<Vec<Task>> {
        tasks::table.order(tasks::id.asc()).select(Task::as_select()).load(connection)
    }
}

/// Column changes that go with a status transition.
#[derive(Debug, Clone, Copy, Default)]
pub struct TaskChanges {
    /// The new slot and its facility, when the task moves.
    pub slot: Option<(SlotId, FacilityId)>,
    /// Count this change as a reschedule.
    pub count_reschedule: bool,
}

impl Task {
    /// Changes the status from `from` to `to` (with `changes`) only if the
    /// stored status is still `from`, and records the transition. Returns
    /// false when another change came first, so nothing was written.
    #[expect(clippy::too_many_arguments, reason = "each argument is a column of the transition record")]
    pub fn transition(
        connection: &mut DbConnection,
        id: TaskId,
        from: &str,
        to: &str,
        changes: TaskChanges,
        actor: &str,
        cause: &str,
        inbound: Option<InboundId>,
        now: NaiveDateTime,
    ) -> QueryResult<bool> {
        let target = tasks::table.find(id).filter(tasks::status.eq(from));
        let increment = i32::from(changes.count_reschedule);
        let updated = match changes.slot {
            Some((slot, facility)) => diesel::update(target)
                .set((
                    tasks::status.eq(to),
                    tasks::slot_id.eq(slot),
                    tasks::facility_id.eq(facility),
                    tasks::reschedule_count.eq(tasks::reschedule_count + increment),
                    tasks::updated_at.eq(now),
                ))
                .execute(connection)?,
            None => diesel::update(target)
                .set((
                    tasks::status.eq(to),
                    tasks::reschedule_count.eq(tasks::reschedule_count + increment),
                    tasks::updated_at.eq(now),
                ))
                .execute(connection)?,
        };
        if updated == 0 {
            return Ok(false);
        }
        TaskTransition::record(
            connection,
            &NewTaskTransition {
                task_id: id,
                from_status: Some(from),
                to_status: to,
                actor,
                cause,
                inbound_message_id: inbound,
                created_at: now,
            },
        )?;
        Ok(true)
    }

    /// The beneficiary's booked task of this case type whose slot starts
    /// after `now`, if any.
    pub fn upcoming_for(
        connection: &mut DbConnection,
        phone: &str,
        case_type: CaseTypeId,
        now: NaiveDateTime,
    ) -> QueryResult<Option<Task>> {
        use super::schema::slots;
        tasks::table
            .inner_join(slots::table.on(slots::id.eq(tasks::slot_id)))
            .filter(tasks::beneficiary_phone.eq(phone))
            .filter(tasks::case_type_id.eq(case_type))
            .filter(tasks::status.eq(status::BOOKED))
            .filter(slots::starts_at.gt(now))
            .order(slots::starts_at.asc())
            .select(Task::as_select())
            .first(connection)
            .optional()
    }

    /// Tasks in a slot whose appointment is still ahead (status `booked`).
    pub fn booked_in_slot(connection: &mut DbConnection, slot: SlotId) -> QueryResult<Vec<Task>> {
        tasks::table
            .filter(tasks::slot_id.eq(slot))
            .filter(tasks::status.eq(status::BOOKED))
            .order(tasks::id.asc())
            .select(Task::as_select())
            .load(connection)
    }
}

impl TaskTransition {
    pub fn record(connection: &mut DbConnection, new: &NewTaskTransition<'_>) -> QueryResult<usize> {
        diesel::insert_into(task_transitions::table).values(new).execute(connection)
    }

    pub fn of_task(connection: &mut DbConnection, task: TaskId) -> QueryResult<Vec<TaskTransition>> {
        task_transitions::table
            .filter(task_transitions::task_id.eq(task))
            .order(task_transitions::id.asc())
            .select(TaskTransition::as_select())
            .load(connection)
    }
}

impl Beneficiary {
    /// Finds the beneficiary with this phone, creating one with `name` if
    /// there is none. An existing beneficiary keeps its recorded name.
    pub fn find_or_create(
        connection: &mut DbConnection,
        phone: &str,
        name: &str,
        now: NaiveDateTime,
    ) -> QueryResult<Beneficiary> {
        if let Some(existing) = beneficiaries::table
            .filter(beneficiaries::phone.eq(phone))
            .select(Beneficiary::as_select())
            .first(connection)
            .optional()?
        {
            return Ok(existing);
        }
        diesel::insert_into(beneficiaries::table)
            .values((
                beneficiaries::phone.eq(phone),
                beneficiaries::name.eq(name),
                beneficiaries::created_at.eq(now),
                beneficiaries::updated_at.eq(now),
            ))
            .returning(Beneficiary::as_returning())
            .get_result(connection)
    }

    /// The recorded language of the beneficiary with this phone, if any.
    pub fn language_of(connection: &mut DbConnection, phone: &str) -> QueryResult<Option<String>> {
        beneficiaries::table
            .filter(beneficiaries::phone.eq(phone))
            .select(beneficiaries::language)
            .first::<Option<String>>(connection)
            .optional()
            .map(Option::flatten)
    }

    /// Records the language a beneficiary reads.
    pub fn set_language(
        connection: &mut DbConnection,
        phone: &str,
        language: &str,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(beneficiaries::table.filter(beneficiaries::phone.eq(phone)))
            .set((beneficiaries::language.eq(language), beneficiaries::updated_at.eq(now)))
            .execute(connection)
    }
}
