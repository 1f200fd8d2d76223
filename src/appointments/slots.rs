//! Managing slot series and slots: creating a series, editing or
//! cancelling one slot or the rest of its series. Cancelling a booked slot
//! moves its tasks to the next free slot and tells the patients, or flags
//! the tasks for an officer when nothing is free.

use chrono::{Days, NaiveDate, NaiveDateTime, NaiveTime, TimeZone as _};
use diesel::QueryResult;

use super::{escalate, move_to_free_slot, render_for_agent, TaskEvent, TaskView};
use crate::booking::{enqueue_sms, BookingContext};
use crate::db::ids::SlotId;
use crate::db::organisation::{CaseType, Facility};
use crate::db::slots::{local_to_utc, NewSlotSeries, Recurrence, Slot, SlotSeries};
use crate::db::tasks::{actor, Task};
use crate::db::{write_transaction, DbConnection};

/// A request to create a slot series, as an admin states it.
#[derive(Debug, Clone)]
pub struct SeriesRequest {
    pub facility_code: String,
    pub case_code: String,
    pub first_date: NaiveDate,
    /// Local time in the business zone.
    pub start_time: NaiveTime,
    pub capacity: i32,
    pub recurrence: Recurrence,
    pub end_date: Option<NaiveDate>,
    pub occurrences: Option<i32>,
}

/// The reasons a slot change is rejected.
#[derive(Debug, thiserror::Error)]
pub enum SlotError {
    #[error("facility code '{0}' is unknown: use the short code of an existing facility")]
    UnknownFacility(String),
    #[error("case code '{0}' is unknown: use the code of an existing case type")]
    UnknownCaseType(String),
    #[error("capacity {0} is invalid: use a whole number of at least 1")]
    InvalidCapacity(i32),
    #[error(
        "capacity {capacity} is below the {booked} places already booked in slot {slot}: cancel or move bookings first"
    )]
    CapacityBelowBooked { slot: i32, capacity: i32, booked: i32 },
    #[error("slot count {0} is invalid: use a whole number of at least 1")]
    InvalidCount(i32),
    #[error("the first date {first} is in the past (today is {today}): use today or a later date")]
    FirstDateInPast { first: NaiveDate, today: NaiveDate },
    #[error("a recurring series needs an end: give an end date or a number of slots")]
    MissingEnd,
    #[error("the end date {end} is before the first date {first}")]
    EndBeforeStart { first: NaiveDate, end: NaiveDate },
    #[error("slot {slot} would start at {starts} with bookings in it, less than the booking lead time from now: choose a later time")]
    TooSoon { slot: i32, starts: String },
    #[error("slot {0} not found")]
    SlotNotFound(i32),
    #[error("slot {0} is cancelled already")]
    AlreadyCancelled(i32),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// Counts of what a cancellation changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CancelSummary {
    pub slots: usize,
    pub moved: usize,
    pub flagged: usize,
}

/// Creates a series and its slots up to the scheduler horizon.
pub fn create_series(
    connection: &mut DbConnection,
    context: &BookingContext,
    request: &SeriesRequest,
    now: NaiveDateTime,
) -> Result<(SlotSeries, usize), SlotError> {
    if request.capacity < 1 {
        return Err(SlotError::InvalidCapacity(request.capacity));
    }
    if let Some(count) = request.occurrences.filter(|count| *count < 1) {
        return Err(SlotError::InvalidCount(count));
    }
    let today = context.zone.from_utc_datetime(&now).date_naive();
    if request.first_date < today {
        return Err(SlotError::FirstDateInPast { first: request.first_date, today });
    }
    if request.recurrence != Recurrence::Never && request.end_date.is_none() && request.occurrences.is_none() {
        return Err(SlotError::MissingEnd);
    }
    if let Some(end) = request.end_date.filter(|end| *end < request.first_date) {
        return Err(SlotError::EndBeforeStart { first: request.first_date, end });
    }
    write_transaction(connection, |connection| {
        let facility = Facility::find_by_code(connection, &request.facility_code)?
            .ok_or_else(|| SlotError::UnknownFacility(request.facility_code.clone()))?;
        let case_type = CaseType::find_by_code(connection, &request.case_code)?
            .ok_or_else(|| SlotError::UnknownCaseType(request.case_code.clone()))?;
        let series = SlotSeries::insert(
            connection,
            &NewSlotSeries {
                facility_id: facility.id,
                case_type_id: case_type.id,
                first_date: request.first_date,
                start_time: request.start_time,
                capacity: request.capacity,
                recurrence: request.recurrence.as_str(),
                end_date: request.end_date,
                occurrences: request.occurrences,
                created_at: now,
            },
        )?;
        let today = context.zone.from_utc_datetime(&now).date_naive();
        let horizon_days = u64::from(context.settings.scheduler.horizon_days);
        let horizon = today.checked_add_days(Days::new(horizon_days)).unwrap_or(today).max(request.first_date);
        let created = series.materialise(connection, context.zone, horizon, now)?;
        tracing::info!(series_id = %series.id, slots = created, "created slot series {} with {created} slots", series.id);
        Ok((series, created))
    })
}

/// Cancels one slot, or with `rest` this slot and every later slot of its
/// series (and ends the series there).
pub fn cancel(
    connection: &mut DbConnection,
    context: &BookingContext,
    slot_id: SlotId,
    rest: bool,
    now: NaiveDateTime,
) -> Result<CancelSummary, SlotError> {
    write_transaction(connection, |connection| {
        let slot = find_slot(connection, slot_id)?;
        if slot.cancelled && !rest {
            return Err(SlotError::AlreadyCancelled(slot_id.0));
        }
        let targets = if rest { Slot::rest_of_series(connection, &slot)? } else { vec![slot.clone()] };
        if rest {
            let local_date = context.zone.from_utc_datetime(&slot.starts_at).date_naive();
            SlotSeries::end_after(connection, slot.series_id, local_date.checked_sub_days(Days::new(1)))?;
        }

        // All slots are cancelled before any task moves, so no task is moved
        // into a slot that this same cancellation removes.
        let mut summary = CancelSummary::default();
        for target in &targets {
            Slot::mark_cancelled(connection, target.id)?;
            summary.slots += 1;
        }
        for target in &targets {
            // Only appointments still ahead move; a task that already got its
            // follow-up is settled by the agent's reply.
            for task in Task::booked_in_slot(connection, target.id)? {
                if move_task_away(connection, context, task, target, now)? {
                    summary.moved += 1;
                } else {
                    summary.flagged += 1;
                }
            }
        }
        tracing::info!(slot_id = %slot_id, slots = summary.slots, moved = summary.moved, flagged = summary.flagged, "cancelled slots");
        Ok(summary)
    })
}

/// Moves a task out of a cancelled slot. Returns false when it was flagged
/// because no slot was free.
fn move_task_away(
    connection: &mut DbConnection,
    context: &BookingContext,
    task: Task,
    cancelled: &Slot,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let view = TaskView::load(connection, context, task)?;
    let not_before = now + chrono::Duration::minutes(i64::from(context.settings.booking.min_lead_minutes));
    let cause = format!("slot {} cancelled", cancelled.id);
    let moved = move_to_free_slot(
        connection,
        context,
        &view,
        TaskEvent::SlotMoved,
        not_before,
        "patient-appointment-changed",
        actor::OFFICER,
        &cause,
        None,
        now,
    )?;
    if let Ok(Some(_)) = moved {
        let rebooked = Task::find(connection, view.task.id)?.ok_or(diesel::result::Error::NotFound)?;
        let new_view = TaskView::load(connection, context, rebooked)?;
        let text = render_for_agent(context, &new_view, "agent-rescheduled", &[]);
        enqueue_sms(connection, &view.agent.phone, text, Some(view.task.id), None, now)?;
        return Ok(true);
    }
    let detail = format!(
        "slot {} was cancelled and no free {} slot was found for task {} of {}",
        cancelled.id, view.case_type.code, view.task.id, view.task.beneficiary_name
    );
    if let Err(not_applied) = escalate(connection, &view.task, "no_free_slot", &detail, actor::OFFICER, None, now)? {
        tracing::warn!(task_id = %view.task.id, %not_applied, "task of cancelled slot {} not escalated", cancelled.id);
        return Ok(false);
    }
    let text = render_for_agent(context, &view, "agent-no-free-slot", &[]);
    enqueue_sms(connection, &view.agent.phone, text, Some(view.task.id), None, now)?;
    let text = view.appointment.render(&context.catalog, view.patient_language, "patient-appointment-cancelled");
    enqueue_sms(connection, &view.task.beneficiary_phone, text, Some(view.task.id), None, now)?;
    Ok(false)
}

/// Changes the capacity and/or local start time of one slot, or with
/// `rest` of this and every later slot of its series. Patients of moved
/// slots are sent the new time.
pub fn edit(
    connection: &mut DbConnection,
    context: &BookingContext,
    slot_id: SlotId,
    capacity: Option<i32>,
    start_time: Option<NaiveTime>,
    rest: bool,
    now: NaiveDateTime,
) -> Result<usize, SlotError> {
    if let Some(capacity) = capacity.filter(|capacity| *capacity < 1) {
        return Err(SlotError::InvalidCapacity(capacity));
    }
    write_transaction(connection, |connection| {
        let slot = find_slot(connection, slot_id)?;
        if slot.cancelled {
            return Err(SlotError::AlreadyCancelled(slot_id.0));
        }
        let targets = if rest { Slot::rest_of_series(connection, &slot)? } else { vec![slot.clone()] };
        if rest {
            let series = SlotSeries::find(connection, slot.series_id)?;
            SlotSeries::update_template(
                connection,
                series.id,
                start_time.unwrap_or(series.start_time),
                capacity.unwrap_or(series.capacity),
            )?;
        }
        let mut changed = 0;
        for target in targets {
            let new_capacity = capacity.unwrap_or(target.capacity);
            if new_capacity < target.booked {
                return Err(SlotError::CapacityBelowBooked {
                    slot: target.id.0,
                    capacity: new_capacity,
                    booked: target.booked,
                });
            }
            let local = context.zone.from_utc_datetime(&target.starts_at);
            let new_start = match start_time {
                Some(time) => local_to_utc(context.zone, local.date_naive(), time).unwrap_or(target.starts_at),
                None => target.starts_at,
            };
            let earliest = now + chrono::Duration::minutes(i64::from(context.settings.booking.min_lead_minutes));
            if new_start != target.starts_at && target.booked > 0 && new_start < earliest {
                let starts = context.zone.from_utc_datetime(&new_start).format("%d-%m-%Y %H:%M").to_string();
                return Err(SlotError::TooSoon { slot: target.id.0, starts });
            }
            Slot::update(connection, target.id, new_capacity, new_start)?;
            if new_start != target.starts_at {
                for task in Task::booked_in_slot(connection, target.id)? {
                    let view = TaskView::load(connection, context, task)?;
                    let text =
                        view.appointment.render(&context.catalog, view.patient_language, "patient-appointment-changed");
                    enqueue_sms(connection, &view.task.beneficiary_phone, text, Some(view.task.id), None, now)?;
                    let text = render_for_agent(context, &view, "agent-rescheduled", &[]);
                    enqueue_sms(connection, &view.agent.phone, text, Some(view.task.id), None, now)?;
                }
            }
            changed += 1;
        }
        Ok(changed)
    })
}

fn find_slot(connection: &mut DbConnection, slot_id: SlotId) -> Result<Slot, SlotError> {
    match Slot::find(connection, slot_id) {
        Ok(slot) => Ok(slot),
        Err(diesel::result::Error::NotFound) => Err(SlotError::SlotNotFound(slot_id.0)),
        Err(error) => Err(error.into()),
    }
}
