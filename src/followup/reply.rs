//! Agent replies to follow-ups: `-1 SC <phone> <name> <tracking-id>`
//! completes the task, `-1 RS ...` books the next free slot.
//!
//! Resolution (which task a reply is about, or why it is about none) runs
//! in the agent actor; the change itself runs in the task's actor through
//! [`apply_reply`], which resolves again inside its own transaction so it is
//! correct even if the task changed in between.

use chrono::NaiveDateTime;
use diesel::QueryResult;

use super::tracking;
use crate::appointments::{self, NotApplied, TaskEvent, TaskStatus, TaskView};
use crate::booking::{enqueue_sms, BookingContext, Rejection};
use crate::db::flags::FlaggedMessage;
use crate::db::followups::{status as follow_up_status, FollowUp};
use crate::db::ids::{InboundId, TaskId};
use crate::db::inbound::{status as inbound_status, InboundMessage};
use crate::db::organisation::Agent;
use crate::db::tasks::{actor, Task};
use crate::db::DbConnection;
use crate::sms::{Command, FollowUpOutcome, FollowUpReply, PhoneNumber};

/// A reply that names an existing follow-up of the sender's own task.
#[derive(Debug, Clone)]
pub struct ResolvedReply {
    pub follow_up: FollowUp,
    pub task: Task,
}

/// Finds the follow-up and task a reply is about, or the reason to flag it.
pub fn resolve(
    connection: &mut DbConnection,
    sender_agent: Option<&Agent>,
    sender: &str,
    reply: &FollowUpReply,
) -> QueryResult<Result<ResolvedReply, Rejection>> {
    let Some(agent) = sender_agent else {
        return Ok(Err(Rejection::UnknownSender { sender: crate::sms::phone::mask_phone(sender) }));
    };
    if !tracking::is_valid(&reply.tracking_id) {
        return Ok(Err(Rejection::TrackingIdTypo { tracking_id: reply.tracking_id.clone() }));
    }
    let Some(follow_up) = FollowUp::find_by_tracking_id(connection, &reply.tracking_id)? else {
        return Ok(Err(Rejection::UnknownTrackingId { tracking_id: reply.tracking_id.clone() }));
    };
    let Some(task) = Task::find(connection, follow_up.task_id)? else {
        return Ok(Err(Rejection::UnknownTrackingId { tracking_id: reply.tracking_id.clone() }));
    };
    if task.agent_id != agent.id {
        return Ok(Err(Rejection::FollowUpMismatch {
            task_id: task.id.0,
            detail: format!(
                "tracking id {} belongs to a task of agent {}, not agent {}",
                reply.tracking_id, task.agent_id, agent.id
            ),
        }));
    }
    if task.beneficiary_phone != reply.beneficiary_phone.as_str() {
        return Ok(Err(Rejection::FollowUpMismatch {
            task_id: task.id.0,
            detail: format!(
                "phone {} does not match the beneficiary phone {} of tracking id {}",
                reply.beneficiary_phone.masked(),
                crate::sms::phone::mask_phone(&task.beneficiary_phone),
                reply.tracking_id
            ),
        }));
    }
    Ok(Ok(ResolvedReply { follow_up, task }))
}

/// The effect of a reply, stored as the inbound message's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyOutcome {
    Completed,
    Rescheduled,
    Escalated,
    /// A repeat of the reply already recorded; nothing changed.
    Repeated,
    /// The task could not take this reply (already completed, say).
    NotApplied,
    /// The reply no longer matched a task and was flagged.
    Flagged,
    /// The message was processed before; nothing was written.
    Skipped,
}

impl ReplyOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            ReplyOutcome::Completed => "completed",
            ReplyOutcome::Rescheduled => "rescheduled",
            ReplyOutcome::Escalated => "escalated",
            ReplyOutcome::Repeated => "repeated",
            ReplyOutcome::NotApplied => "not_applied",
            ReplyOutcome::Flagged => "flagged",
            ReplyOutcome::Skipped => "skipped",
        }
    }
}

/// Applies the reply stored as inbound message `id` to `task_id`, answers
/// the agent and marks the message processed, all in the caller's
/// transaction. Returns [`ReplyOutcome::Skipped`] when the message was
/// processed before.
pub fn apply_reply(
    connection: &mut DbConnection,
    context: &BookingContext,
    id: InboundId,
    task_id: TaskId,
    now: NaiveDateTime,
) -> QueryResult<ReplyOutcome> {
    let Some(message) = InboundMessage::find(connection, id)? else {
        return Ok(ReplyOutcome::Skipped);
    };
    if message.status != inbound_status::RECEIVED {
        return Ok(ReplyOutcome::Skipped);
    }
    let Ok(Command::FollowUpReply(reply)) = crate::sms::parse(&message.text) else {
        return Ok(ReplyOutcome::Skipped);
    };
    let sender_agent = match PhoneNumber::parse_e164(&message.sender) {
        Ok(phone) => Agent::find_by_phone(connection, phone.as_str())?,
        Err(_) => None,
    };
    // The task was found by the agent actor; resolving again inside this
    // transaction sees any change made since, and a reply that no longer
    // resolves is flagged here rather than lost.
    let resolved = match resolve(connection, sender_agent.as_ref(), &message.sender, &reply)? {
        Ok(resolved) => resolved,
        Err(rejection) => {
            crate::booking::record_rejection(
                connection,
                context,
                &message,
                sender_agent.as_ref(),
                &rejection,
                true,
                now,
            )?;
            InboundMessage::mark_processed(connection, id, "flagged", now)?;
            return Ok(ReplyOutcome::Flagged);
        }
    };
    if resolved.task.id != task_id {
        tracing::warn!(inbound_id = %id, expected = %task_id, actual = %resolved.task.id, "reply now resolves to another task; applying it there");
    }

    let view = TaskView::load(connection, context, resolved.task)?;
    let code = match reply.outcome {
        FollowUpOutcome::Completed => "SC",
        FollowUpOutcome::Reschedule => "RS",
    };
    let follow_up = &resolved.follow_up;
    let outcome = if follow_up.status == follow_up_status::ANSWERED {
        answer_repeat(connection, context, &view, follow_up, code, id, now)?
    } else {
        match reply.outcome {
            FollowUpOutcome::Completed => complete(connection, context, &view, follow_up, id, now)?,
            FollowUpOutcome::Reschedule => reschedule(connection, context, &view, follow_up, id, now)?,
        }
    };
    if matches!(outcome, ReplyOutcome::Completed | ReplyOutcome::Rescheduled) {
        // A late reply settles the task, so its "no reply" flag is done too.
        let note = format!("agent replied {code} after the task was escalated");
        FlaggedMessage::resolve_open_of_task(connection, view.task.id, "no_reply", actor::AGENT_SMS, &note, now)?;
    }
    InboundMessage::mark_processed(connection, id, outcome.as_str(), now)?;
    tracing::info!(inbound_id = %id, task_id = %view.task.id, outcome = outcome.as_str(), "applied follow-up reply to task {}", view.task.id);
    Ok(outcome)
}

fn answer_repeat(
    connection: &mut DbConnection,
    context: &BookingContext,
    view: &TaskView,
    follow_up: &FollowUp,
    code: &str,
    id: InboundId,
    now: NaiveDateTime,
) -> QueryResult<ReplyOutcome> {
    if follow_up.reply.as_deref() == Some(code) {
        let text = appointments::render_for_agent(
            context,
            view,
            "agent-reply-repeated",
            &[("tracking_id", &follow_up.tracking_id)],
        );
        enqueue_sms(connection, &view.agent.phone, text, Some(view.task.id), Some(id), now)?;
        return Ok(ReplyOutcome::Repeated);
    }
    answer_not_applied(connection, context, view, id, now)
}

fn answer_not_applied(
    connection: &mut DbConnection,
    context: &BookingContext,
    view: &TaskView,
    id: InboundId,
    now: NaiveDateTime,
) -> QueryResult<ReplyOutcome> {
    let status = view.task.status.clone();
    let text = appointments::render_for_agent(context, view, "agent-reply-not-applied", &[("status", &status)]);
    enqueue_sms(connection, &view.agent.phone, text, Some(view.task.id), Some(id), now)?;
    Ok(ReplyOutcome::NotApplied)
}

fn complete(
    connection: &mut DbConnection,
    context: &BookingContext,
    view: &TaskView,
    follow_up: &FollowUp,
    id: InboundId,
    now: NaiveDateTime,
) -> QueryResult<ReplyOutcome> {
    let applied = appointments::apply_event(
        connection,
        &view.task,
        TaskEvent::Completed,
        Default::default(),
        actor::AGENT_SMS,
        "agent replied SC",
        Some(id),
        now,
    )?;
    if applied.is_err() {
        return answer_not_applied(connection, context, view, id, now);
    }
    FollowUp::mark_answered(connection, follow_up.id, "SC", id, now)?;
    let text = appointments::render_for_agent(context, view, "agent-completed", &[]);
    enqueue_sms(connection, &view.agent.phone, text, Some(view.task.id), Some(id), now)?;
    Ok(ReplyOutcome::Completed)
}

fn reschedule(
    connection: &mut DbConnection,
    context: &BookingContext,
    view: &TaskView,
    follow_up: &FollowUp,
    id: InboundId,
    now: NaiveDateTime,
) -> QueryResult<ReplyOutcome> {
    let status = view.status();
    if status.is_none_or(TaskStatus::is_final) {
        return answer_not_applied(connection, context, view, id, now);
    }

    let max = context.settings.scheduler.max_reschedules;
    if u32::try_from(view.task.reschedule_count).unwrap_or(0) >= max {
        let detail = format!(
            "task {} of {} was rescheduled {} times, the maximum is {max}; the agent asked again",
            view.task.id, view.task.beneficiary_name, view.task.reschedule_count
        );
        let escalated = appointments::escalate(
            connection,
            &view.task,
            "too_many_reschedules",
            &detail,
            actor::AGENT_SMS,
            Some(id),
            now,
        )?;
        if escalated.is_err() {
            return answer_not_applied(connection, context, view, id, now);
        }
        FollowUp::mark_answered(connection, follow_up.id, "RS", id, now)?;
        let text = appointments::render_for_agent(context, view, "agent-escalated", &[]);
        enqueue_sms(connection, &view.agent.phone, text, Some(view.task.id), Some(id), now)?;
        return Ok(ReplyOutcome::Escalated);
    }

    let not_before = appointments::rebook_not_before(context, now);
    let moved = appointments::move_to_free_slot(
        connection,
        context,
        view,
        TaskEvent::Rescheduled,
        not_before,
        "patient-appointment",
        actor::AGENT_SMS,
        "agent replied RS",
        Some(id),
        now,
    )?;
    match moved {
        Ok(Some(slot)) => {
            FollowUp::mark_answered(connection, follow_up.id, "RS", id, now)?;
            let rebooked = Task::find(connection, view.task.id)?.ok_or(diesel::result::Error::NotFound)?;
            let new_view = TaskView::load(connection, context, rebooked)?;
            let text = appointments::render_for_agent(context, &new_view, "agent-rescheduled", &[]);
            enqueue_sms(connection, &view.agent.phone, text, Some(view.task.id), Some(id), now)?;
            tracing::info!(task_id = %view.task.id, slot_id = %slot.id, "rescheduled task {} to slot {}", view.task.id, slot.id);
            Ok(ReplyOutcome::Rescheduled)
        }
        Ok(None) => {
            let detail = format!(
                "no free {} slot for rescheduling task {} of {}",
                view.case_type.code, view.task.id, view.task.beneficiary_name
            );
            let escalated = appointments::escalate(
                connection,
                &view.task,
                "no_free_slot",
                &detail,
                actor::AGENT_SMS,
                Some(id),
                now,
            )?;
            if escalated.is_err() {
                return answer_not_applied(connection, context, view, id, now);
            }
            FollowUp::mark_answered(connection, follow_up.id, "RS", id, now)?;
            let text = appointments::render_for_agent(context, view, "agent-no-free-slot", &[]);
            enqueue_sms(connection, &view.agent.phone, text, Some(view.task.id), Some(id), now)?;
            Ok(ReplyOutcome::Escalated)
        }
        Err(NotApplied::Invalid(_) | NotApplied::Concurrent | NotApplied::UnknownStatus(_)) => {
            answer_not_applied(connection, context, view, id, now)
        }
    }
}
