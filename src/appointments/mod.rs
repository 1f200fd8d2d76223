//! What happens to an appointment task after booking: the state machine
//! and the operations that move a task through it. Each operation runs
//! inside the caller's write transaction and changes the task only through
//! a conditional update on its stored status, so a scheduler run, a task
//! actor and a command-line change never overwrite each other.

pub mod lifecycle;
pub mod slots;

use std::collections::HashMap;

use chrono::{Days, Duration, NaiveDateTime, TimeZone as _};
use diesel::QueryResult;

use crate::booking::{enqueue_sms, render_or_fallback, take_earliest_slot, Appointment, BookingContext};
use crate::db::flags::{FlaggedMessage, NewFlaggedMessage};
use crate::db::ids::{AgentId, CaseTypeId, FacilityId, FlagId, InboundId, SlotId};
use crate::db::organisation::{Agent, CaseType, Facility};
use crate::db::slots::{local_to_utc, Slot};
use crate::db::tasks::{Beneficiary, Task, TaskChanges};
use crate::db::DbConnection;
use crate::sms::Language;

pub use lifecycle::{InvalidTransition, TaskEvent, TaskStatus};

/// The facts needed to text about a task's current appointment.
#[derive(Debug, Clone)]
pub struct TaskView {
    pub task: Task,
    pub agent: Agent,
    pub agent_language: Language,
    pub patient_language: Language,
    pub appointment: Appointment,
    pub case_type: CaseType,
}

impl TaskView {
    /// Loads the task's agent, slot, facility and case type.
    pub fn load(connection: &mut DbConnection, context: &BookingContext, task: Task) -> QueryResult<Self> {
        Self::load_cached(connection, context, task, &mut ViewCache::default())
    }

    /// Loads like [`TaskView::load`], reusing rows that `cache` already has.
    /// Scheduler runs share one cache per batch, because many tasks share
    /// their slot, facility, case type and agent.
    pub fn load_cached(
        connection: &mut DbConnection,
        context: &BookingContext,
        task: Task,
        cache: &mut ViewCache,
    ) -> QueryResult<Self> {
        let slot = match cache.slots.get(&task.slot_id) {
            Some(slot) => slot.clone(),
            None => {
                let slot = Slot::find(connection, task.slot_id)?;
                cache.slots.insert(slot.id, slot.clone());
                slot
            }
        };
        let facility = match cache.facilities.get(&slot.facility_id) {
            Some(facility) => facility.clone(),
            None => {
                let facility = Facility::find(connection, slot.facility_id)?;
                cache.facilities.insert(facility.id, facility.clone());
                facility
            }
        };
        let case_type = match cache.case_types.get(&task.case_type_id) {
            Some(case_type) => case_type.clone(),
            None => {
                let case_type = CaseType::find(connection, task.case_type_id)?;
                cache.case_types.insert(case_type.id, case_type.clone());
                case_type
            }
        };
        let agent = match cache.agents.get(&task.agent_id) {
            Some(agent) => agent.clone(),
            None => {
                let agent = Agent::find(connection, task.agent_id)?.ok_or(diesel::result::Error::NotFound)?;
                cache.agents.insert(agent.id, agent.clone());
                agent
            }
        };
        let agent_language = agent.language.parse().unwrap_or(context.settings.agents.default_language);
        let patient_language = Beneficiary::language_of(connection, &task.beneficiary_phone)?
            .and_then(|code| code.parse().ok())
            .unwrap_or(agent_language);
        let appointment = Appointment::new(context.zone, &slot, &facility, &case_type, &task.beneficiary_name);
        Ok(Self { task, agent, agent_language, patient_language, appointment, case_type })
    }

    /// The task's current status.
    pub fn status(&self) -> Option<TaskStatus> {
        TaskStatus::parse(&self.task.status)
    }
}

/// Rows shared by many task views, kept for the length of one batch.
#[derive(Debug, Default)]
pub struct ViewCache {
    slots: HashMap<SlotId, Slot>,
    facilities: HashMap<FacilityId, Facility>,
    case_types: HashMap<CaseTypeId, CaseType>,
    agents: HashMap<AgentId, Agent>,
}

/// A change to a task that the state machine or a concurrent change
/// prevented; nothing was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotApplied {
    #[error(transparent)]
    Invalid(#[from] InvalidTransition),
    #[error("the task changed while this change was being made; nothing was written")]
    Concurrent,
    #[error("the task has an unknown status '{0}'")]
    UnknownStatus(String),
}

/// Applies `event` to a task with a conditional update and records the
/// transition.
#[expect(clippy::too_many_arguments, reason = "the transition record needs each of these")]
pub fn apply_event(
    connection: &mut DbConnection,
    task: &Task,
    event: TaskEvent,
    changes: TaskChanges,
    actor: &str,
    cause: &str,
    inbound: Option<InboundId>,
    now: NaiveDateTime,
) -> QueryResult<Result<TaskStatus, NotApplied>> {
    let Some(from) = TaskStatus::parse(&task.status) else {
        return Ok(Err(NotApplied::UnknownStatus(task.status.clone())));
    };
    let to = match from.apply(event) {
        Ok(to) => to,
        Err(invalid) => return Ok(Err(invalid.into())),
    };
    if Task::transition(connection, task.id, from.as_str(), to.as_str(), changes, actor, cause, inbound, now)? {
        Ok(Ok(to))
    } else {
        Ok(Err(NotApplied::Concurrent))
    }
}

/// Flags a task for an officer and moves it to `escalated`.
pub fn escalate(
    connection: &mut DbConnection,
    task: &Task,
    reason: &str,
    detail: &str,
    actor: &str,
    inbound: Option<InboundId>,
    now: NaiveDateTime,
) -> QueryResult<Result<FlagId, NotApplied>> {
    if let Err(not_applied) =
        apply_event(connection, task, TaskEvent::Escalated, TaskChanges::default(), actor, detail, inbound, now)?
    {
        return Ok(Err(not_applied));
    }
    let flag_id = FlaggedMessage::insert(
        connection,
        &NewFlaggedMessage {
            inbound_message_id: inbound,
            agent_id: Some(task.agent_id),
            task_id: Some(task.id),
            reason,
            detail,
            status: "open",
            created_at: now,
        },
    )?;
    tracing::info!(task_id = %task.id, flag_id = %flag_id, reason, "escalated task {} to an officer", task.id);
    Ok(Ok(flag_id))
}

/// The earliest start a rebooked task may get: the next local day, and at
/// least the booking lead time from now.
pub fn rebook_not_before(context: &BookingContext, now: NaiveDateTime) -> NaiveDateTime {
    let local_today = context.zone.from_utc_datetime(&now).date_naive();
    let tomorrow = local_today
        .checked_add_days(Days::new(1))
        .and_then(|date| local_to_utc(context.zone, date, chrono::NaiveTime::MIN))
        .unwrap_or(now);
    let lead = now + Duration::minutes(i64::from(context.settings.booking.min_lead_minutes));
    tomorrow.max(lead)
}

/// Moves a task to the earliest free slot of its case type at its agent's
/// facilities starting at or after `not_before`, and texts the patient
/// with `patient_template`. Returns the new slot, or `None` when nothing is
/// free (then nothing was written).
#[expect(clippy::too_many_arguments, reason = "the transition record needs each of these")]
pub fn move_to_free_slot(
    connection: &mut DbConnection,
    context: &BookingContext,
    view: &TaskView,
    event: TaskEvent,
    not_before: NaiveDateTime,
    patient_template: &'static str,
    actor: &str,
    cause: &str,
    inbound: Option<InboundId>,
    now: NaiveDateTime,
) -> QueryResult<Result<Option<Slot>, NotApplied>> {
    // A facility the agent asked for is kept; otherwise any of the agent's.
    let facilities: Vec<_> = match view.task.requested_facility_id {
        Some(requested) => vec![requested],
        None => Facility::of_agent(connection, view.agent.id)?.iter().map(|facility| facility.id).collect(),
    };
    let facilities = if facilities.is_empty() { vec![view.task.facility_id] } else { facilities };
    let Some(slot) = take_earliest_slot(connection, &view.case_type, &facilities, not_before)? else {
        return Ok(Ok(None));
    };
    let changes =
        TaskChanges { slot: Some((slot.id, slot.facility_id)), count_reschedule: event == TaskEvent::Rescheduled };
    if let Err(not_applied) = apply_event(connection, &view.task, event, changes, actor, cause, inbound, now)? {
        // The transaction is rolled back by the caller's error path only on
        // errors, so give the place back explicitly.
        Slot::release_place(connection, slot.id)?;
        return Ok(Err(not_applied));
    }
    Slot::release_place(connection, view.task.slot_id)?;

    let facility = Facility::find(connection, slot.facility_id)?;
    let appointment = Appointment::new(context.zone, &slot, &facility, &view.case_type, &view.task.beneficiary_name);
    let text = appointment.render(&context.catalog, view.patient_language, patient_template);
    enqueue_sms(connection, &view.task.beneficiary_phone, text, Some(view.task.id), inbound, now)?;
    Ok(Ok(Some(slot)))
}

/// Renders an agent SMS for a task with extra arguments.
pub fn render_for_agent(
    context: &BookingContext,
    view: &TaskView,
    template_id: &'static str,
    extra: &[(&str, &str)],
) -> crate::sms::RenderedText {
    let phone = crate::sms::PhoneNumber::parse_e164(&view.task.beneficiary_phone)
        .map(|phone| phone.national().to_owned())
        .unwrap_or_else(|_| view.task.beneficiary_phone.clone());
    let mut args: Vec<(&str, &str)> = vec![
        ("name", view.appointment.name.as_str()),
        ("facility", view.appointment.facility.as_str()),
        ("address", view.appointment.address.as_str()),
        ("date", view.appointment.date.as_str()),
        ("time", view.appointment.time.as_str()),
        ("case", view.appointment.case_code.as_str()),
        ("phone", phone.as_str()),
    ];
    args.extend_from_slice(extra);
    let rendered = render_or_fallback(&context.catalog, view.agent_language, template_id, &args);
    crate::sms::RenderedText { text: rendered.text, ..rendered }
}
