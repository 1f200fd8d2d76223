//! The appointment task state machine.
//!
//! ```text
//! booked ──follow-up sent──▶ follow_up_sent ──SC──▶ completed
//!   ▲                              │
//!   └──────────RS (rebooked)───────┘
//! booked, follow_up_sent ──no reply / too many RS / no slot──▶ escalated
//! booked ──slot cancelled, rebooked──▶ booked
//! any live state ──cancelled──▶ cancelled
//! escalated ──officer completes or rebooks──▶ completed, booked
//! ```

use crate::db::tasks::status;

/// A task's lifecycle state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskStatus {
    Booked,
    FollowUpSent,
    Completed,
    Escalated,
    Cancelled,
}

/// Something that happens to a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskEvent {
    /// The scheduler sent the follow-up SMS.
    FollowUpSent,
    /// The beneficiary went (`SC`, or an officer records it).
    Completed,
    /// The task got a new slot (`RS`, or an officer rebooks it).
    Rescheduled,
    /// The task's slot was cancelled and another slot was found.
    SlotMoved,
    /// An officer must take over.
    Escalated,
    /// Nothing more happens with this task.
    Cancelled,
}

/// An event that the current state does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a task that is {} cannot be {}", from.as_str(), event.as_str())]
pub struct InvalidTransition {
    pub from: TaskStatus,
    pub event: TaskEvent,
}

impl TaskStatus {
    /// The value stored in `tasks.status`.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Booked => status::BOOKED,
            TaskStatus::FollowUpSent => status::FOLLOW_UP_SENT,
            TaskStatus::Completed => status::COMPLETED,
            TaskStatus::Escalated => status::ESCALATED,
            TaskStatus::Cancelled => status::CANCELLED,
        }
    }

    /// Reads a stored status.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            status::BOOKED => Some(TaskStatus::Booked),
            status::FOLLOW_UP_SENT => Some(TaskStatus::FollowUpSent),
            status::COMPLETED => Some(TaskStatus::Completed),
            status::ESCALATED => Some(TaskStatus::Escalated),
            status::CANCELLED => Some(TaskStatus::Cancelled),
            _ => None,
        }
    }

    /// Whether nothing can happen to the task any more.
    pub fn is_final(self) -> bool {
        matches!(self, TaskStatus::Completed | TaskStatus::Cancelled)
    }

    /// Returns the state after `event`, or why the event is not allowed.
    pub fn apply(self, event: TaskEvent) -> Result<TaskStatus, InvalidTransition> {
        use TaskEvent as E;
        use TaskStatus as S;
        let next = match (self, event) {
            (S::Booked, E::FollowUpSent) => S::FollowUpSent,
            (S::FollowUpSent | S::Escalated, E::Completed) => S::Completed,
            (S::FollowUpSent | S::Escalated, E::Rescheduled) => S::Booked,
            (S::Booked, E::SlotMoved) => S::Booked,
            (S::Booked | S::FollowUpSent, E::Escalated) => S::Escalated,
            (S::Booked | S::FollowUpSent | S::Escalated, E::Cancelled) => S::Cancelled,
            (from, event) => return Err(InvalidTransition { from, event }),
        };
        Ok(next)
    }
}

impl TaskEvent {
    /// A past participle for messages: "cannot be completed".
    pub fn as_str(self) -> &'static str {
        match self {
            TaskEvent::FollowUpSent => "followed up",
            TaskEvent::Completed => "completed",
            TaskEvent::Rescheduled => "rescheduled",
            TaskEvent::SlotMoved => "moved to another slot",
            TaskEvent::Escalated => "escalated",
            TaskEvent::Cancelled => "cancelled",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_loop_is_allowed() {
        let followed = TaskStatus::Booked.apply(TaskEvent::FollowUpSent).expect("follow-up");
        let rebooked = followed.apply(TaskEvent::Rescheduled).expect("reschedule");
        let followed_again = rebooked.apply(TaskEvent::FollowUpSent).expect("second follow-up");
        assert_eq!(followed_again.apply(TaskEvent::Completed), Ok(TaskStatus::Completed));
    }

    #[test]
    fn final_states_accept_nothing() {
        let events = [
            TaskEvent::FollowUpSent,
            TaskEvent::Completed,
            TaskEvent::Rescheduled,
            TaskEvent::SlotMoved,
            TaskEvent::Escalated,
            TaskEvent::Cancelled,
        ];
        for from in [TaskStatus::Completed, TaskStatus::Cancelled] {
            for event in events {
                assert_eq!(from.apply(event), Err(InvalidTransition { from, event }), "{from:?} + {event:?}");
            }
        }
    }

    #[test]
    fn reply_before_follow_up_is_invalid() {
        assert!(TaskStatus::Booked.apply(TaskEvent::Completed).is_err());
        assert!(TaskStatus::Booked.apply(TaskEvent::Rescheduled).is_err());
    }

    #[test]
    fn stored_names_round_trip() {
        for status in [
            TaskStatus::Booked,
            TaskStatus::FollowUpSent,
            TaskStatus::Completed,
            TaskStatus::Escalated,
            TaskStatus::Cancelled,
        ] {
            assert_eq!(TaskStatus::parse(status.as_str()), Some(status));
        }
    }
}
