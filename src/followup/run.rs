//! The scheduler's work, as functions over a connection so that the
//! scheduler actor, tests and the benchmark run exactly the same code.
//!
//! Every piece is idempotent and claims its work with a unique row
//! (follow-up or reminder per task and slot) inserted with
//! `ON CONFLICT DO NOTHING`, in small transactions. A run that crashes
//! halfway leaves whole batches behind, and the next run does the rest.
//! Two schedulers on the same database never queue the same SMS twice.

use chrono::{Days, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone as _};
use chrono_tz::Tz;
use diesel::prelude::*;

use super::tracking;
use crate::appointments::{self, TaskEvent, TaskView, ViewCache};
use crate::booking::{enqueue_sms, BookingContext};
use crate::db::followups::{claim_reminder, link_reminder, Claim, FollowUp};
use crate::db::ids::TaskId;
use crate::db::schema::{follow_ups, reminders, slot_series, slots, tasks};
use crate::db::slots::{local_to_utc, SlotSeries};
use crate::db::tasks::{actor, status as task_status, Task};
use crate::db::{write_transaction, DbConnection};

/// Counts of what one scheduler run sent and created.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunSummary {
    pub follow_ups: usize,
    pub reminders: usize,
    pub escalations: usize,
    pub slots_created: usize,
}

impl RunSummary {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// The latest business date whose follow-ups are due at `now`: today once
/// the follow-up time has passed, otherwise yesterday.
pub fn latest_follow_up_date(zone: Tz, now: NaiveDateTime, at: NaiveTime) -> NaiveDate {
    let local = zone.from_utc_datetime(&now);
    let today = local.date_naive();
    if local.time() >= at {
        today
    } else {
        today.checked_sub_days(Days::new(1)).unwrap_or(today)
    }
}

/// The UTC instant of local midnight at the start of `date`.
fn start_of_day(zone: Tz, date: NaiveDate) -> Option<NaiveDateTime> {
    local_to_utc(zone, date, NaiveTime::MIN)
}

/// Runs everything that is due: slots ahead, reminders, follow-ups and
/// escalations. `max_batches` limits the follow-up batches (tests use it to
/// stop a run halfway, as a crash would).
pub fn run_due(
    connection: &mut DbConnection,
    context: &BookingContext,
    now: NaiveDateTime,
    max_batches: Option<usize>,
) -> QueryResult<RunSummary> {
    let slots_created = materialise_slots(connection, context, now)?;
    let reminders = if context.settings.scheduler.reminders { send_reminders(connection, context, now)? } else { 0 };
    let follow_ups = send_follow_ups(connection, context, now, max_batches)?;
    let escalations = escalate_unanswered(connection, context, now)?;
    let summary = RunSummary { follow_ups, reminders, escalations, slots_created };
    if !summary.is_empty() {
        tracing::info!(
            follow_ups,
            reminders,
            escalations,
            slots_created,
            "scheduler run: {follow_ups} follow-ups, {reminders} reminders, {escalations} escalations, {slots_created} slots"
        );
    }
    Ok(summary)
}

/// Creates the slots of every live series up to the horizon.
pub fn materialise_slots(
    connection: &mut DbConnection,
    context: &BookingContext,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let today = context.zone.from_utc_datetime(&now).date_naive();
    let horizon =
        today.checked_add_days(Days::new(u64::from(context.settings.scheduler.horizon_days))).unwrap_or(today);
    let series: Vec<SlotSeries> = slot_series::table
        .filter(slot_series::cancelled.eq(false))
        .filter(slot_series::end_date.is_null().or(slot_series::end_date.ge(today)))
        .select(SlotSeries::as_select())
        .load(connection)?;
    let mut created = 0;
    for one in series {
        created += write_transaction(connection, |connection| one.materialise(connection, context.zone, horizon, now))?;
    }
    Ok(created)
}

/// Tasks after `after` in id order that are `booked`, whose slot started
/// before `cutoff`, and that have no follow-up for that slot yet. Walking
/// the ids keeps each batch query cheap however many tasks are due.
fn tasks_needing_follow_up(
    connection: &mut DbConnection,
    cutoff: NaiveDateTime,
    after: TaskId,
    limit: i64,
) -> QueryResult<Vec<TaskId>> {
    tasks::table
        .inner_join(slots::table.on(slots::id.eq(tasks::slot_id)))
        .filter(tasks::id.gt(after))
        .filter(tasks::status.eq(task_status::BOOKED))
        .filter(slots::starts_at.lt(cutoff))
        .filter(diesel::dsl::not(diesel::dsl::exists(
            follow_ups::table.filter(follow_ups::task_id.eq(tasks::id)).filter(follow_ups::slot_id.eq(tasks::slot_id)),
        )))
        .order(tasks::id.asc())
        .limit(limit)
        .select(tasks::id)
        .load(connection)
}

/// Sends the follow-up of every booked task whose appointment day is due,
/// including days missed while the server was down.
pub fn send_follow_ups(
    connection: &mut DbConnection,
    context: &BookingContext,
    now: NaiveDateTime,
    max_batches: Option<usize>,
) -> QueryResult<usize> {
    let scheduler = &context.settings.scheduler;
    let due_date = latest_follow_up_date(context.zone, now, scheduler.follow_up_at());
    let Some(cutoff) = due_date.checked_add_days(Days::new(1)).and_then(|next| start_of_day(context.zone, next)) else {
        return Ok(0);
    };
    // A slot that has not started yet is never followed up, even when the
    // follow-up time is earlier than the slot.
    let cutoff = cutoff.min(now);
    let batch = i64::from(scheduler.batch_size);
    let mut sent = 0;
    let mut batches = 0;
    let mut after = TaskId(0);
    let mut rng = rand::rng();
    loop {
        if max_batches.is_some_and(|max| batches >= max) {
            break;
        }
        let due = tasks_needing_follow_up(connection, cutoff, after, batch)?;
        let Some(last) = due.last() else {
            break;
        };
        after = *last;
        let count = due.len();
        sent += write_transaction(connection, |connection| {
            let mut claimed = 0;
            let mut cache = ViewCache::default();
            for task_id in &due {
                if send_one_follow_up(connection, context, *task_id, now, &mut rng, &mut cache)? {
                    claimed += 1;
                }
            }
            Ok::<_, diesel::result::Error>(claimed)
        })?;
        batches += 1;
        if count < usize::try_from(batch).unwrap_or(usize::MAX) {
            break;
        }
    }
    Ok(sent)
}

fn send_one_follow_up(
    connection: &mut DbConnection,
    context: &BookingContext,
    task_id: TaskId,
    now: NaiveDateTime,
    rng: &mut impl rand::Rng,
    cache: &mut ViewCache,
) -> QueryResult<bool> {
    let Some(task) = Task::find(connection, task_id)? else { return Ok(false) };
    if task.status != task_status::BOOKED {
        return Ok(false);
    }

    // Random six-digit ids collide more often as more follow-ups are open;
    // after a few collisions a longer id is used.
    let mut tracking_id = String::new();
    for attempt in 0..24 {
        let length = tracking::PREFERRED_LENGTH + attempt / 8;
        let candidate = tracking::generate(rng, length);
        match FollowUp::claim(connection, task.id, task.slot_id, &candidate, now)? {
            Claim::Claimed => {
                tracking_id = candidate;
                break;
            }
            Claim::AlreadyClaimed => return Ok(false),
            Claim::TrackingIdTaken => {}
        }
    }
    if tracking_id.is_empty() {
        tracing::error!(task_id = %task.id, "no free tracking id found after 24 attempts; the next run retries");
        return Ok(false);
    }

    let applied = appointments::apply_event(
        connection,
        &task,
        TaskEvent::FollowUpSent,
        Default::default(),
        actor::SCHEDULER,
        "follow-up sent",
        None,
        now,
    )?;
    if applied.is_err() {
        return Err(diesel::result::Error::RollbackTransaction);
    }
    let view = TaskView::load_cached(connection, context, task, cache)?;
    let text = appointments::render_for_agent(context, &view, "agent-follow-up", &[("tracking_id", &tracking_id)]);
    enqueue_sms(connection, &view.agent.phone, text, Some(view.task.id), None, now)?;
    Ok(true)
}

/// Sends the day-before reminder for booked appointments whose reminder
/// time has passed, unless the task was booked or moved after that time.
pub fn send_reminders(
    connection: &mut DbConnection,
    context: &BookingContext,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let zone = context.zone;
    let reminder_at = context.settings.scheduler.reminder_at();
    let local_now = zone.from_utc_datetime(&now);
    let mut last_date = local_now.date_naive();
    if local_now.time() >= reminder_at {
        last_date = last_date.checked_add_days(Days::new(1)).unwrap_or(last_date);
    }
    let Some(cutoff) = last_date.checked_add_days(Days::new(1)).and_then(|next| start_of_day(zone, next)) else {
        return Ok(0);
    };

    let due: Vec<(Task, NaiveDateTime)> = tasks::table
        .inner_join(slots::table.on(slots::id.eq(tasks::slot_id)))
        .filter(tasks::status.eq(task_status::BOOKED))
        .filter(slots::starts_at.gt(now))
        .filter(slots::starts_at.lt(cutoff))
        .filter(diesel::dsl::not(diesel::dsl::exists(
            reminders::table.filter(reminders::task_id.eq(tasks::id)).filter(reminders::slot_id.eq(tasks::slot_id)),
        )))
        .order(tasks::id.asc())
        .select((Task::as_select(), slots::starts_at))
        .load(connection)?;

    let mut sent = 0;
    for (task, starts_at) in due {
        let slot_date = zone.from_utc_datetime(&starts_at).date_naive();
        let reminder_instant = slot_date
            .checked_sub_days(Days::new(1))
            .and_then(|day_before| local_to_utc(zone, day_before, reminder_at))
            .unwrap_or(starts_at);
        if now < reminder_instant {
            continue;
        }
        sent += write_transaction(connection, |connection| {
            // A task booked after the reminder time just got its appointment
            // SMS; the claim is stored without an SMS so it is not retried.
            if task.updated_at >= reminder_instant {
                claim_reminder(connection, task.id, task.slot_id, None, now)?;
                return Ok::<_, diesel::result::Error>(0);
            }
            if !claim_reminder(connection, task.id, task.slot_id, None, now)? {
                return Ok(0);
            }
            let view = TaskView::load(connection, context, task.clone())?;
            let text = view.appointment.render(&context.catalog, view.patient_language, "patient-reminder");
            let outbound = enqueue_sms(connection, &task.beneficiary_phone, text, Some(task.id), None, now)?;
            link_reminder(connection, task.id, task.slot_id, outbound)?;
            Ok(1)
        })?;
    }
    Ok(sent)
}

/// Escalates tasks whose follow-up got no reply within the configured days.
pub fn escalate_unanswered(
    connection: &mut DbConnection,
    context: &BookingContext,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let days = context.settings.scheduler.reply_days;
    let cutoff = now - Duration::days(i64::from(days));
    let overdue = FollowUp::overdue(connection, cutoff, 10_000)?;
    let mut escalated = 0;
    for follow_up in overdue {
        escalated += write_transaction(connection, |connection| {
            if !FollowUp::mark_expired(connection, follow_up.id)? {
                return Ok::<_, diesel::result::Error>(0);
            }
            let Some(task) = Task::find(connection, follow_up.task_id)? else { return Ok(0) };
            let detail = format!(
                "no reply to follow-up {} of task {} ({}) within {days} days",
                follow_up.tracking_id, task.id, task.beneficiary_name
            );
            let result = appointments::escalate(connection, &task, "no_reply", &detail, actor::SCHEDULER, None, now)?;
            Ok(usize::from(result.is_ok()))
        })?;
    }
    Ok(escalated)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(date: (i32, u32, u32), time: (u32, u32)) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(date.0, date.1, date.2)
            .and_then(|day| day.and_hms_opt(time.0, time.1, 0))
            .expect("valid instant")
    }

    #[test]
    fn follow_up_date_uses_business_zone() {
        let zone = chrono_tz::Asia::Kolkata;
        let at = NaiveTime::from_hms_opt(20, 0, 0).expect("time");
        // 14:00 UTC is 19:30 in Kolkata: the evening run is not due yet.
        assert_eq!(
            latest_follow_up_date(zone, utc((2026, 12, 7), (14, 0)), at),
            NaiveDate::from_ymd_opt(2026, 12, 6).expect("date")
        );
        // 14:30 UTC is 20:00 in Kolkata.
        assert_eq!(
            latest_follow_up_date(zone, utc((2026, 12, 7), (14, 30)), at),
            NaiveDate::from_ymd_opt(2026, 12, 7).expect("date")
        );
        // 20:00 UTC on the 7th is 01:30 on the 8th in Kolkata.
        assert_eq!(
            latest_follow_up_date(zone, utc((2026, 12, 7), (20, 0)), at),
            NaiveDate::from_ymd_opt(2026, 12, 7).expect("date")
        );
    }
}
