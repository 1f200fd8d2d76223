//! Following up appointments: tracking ids, the scheduler's daily runs
//! (follow-ups, reminders, escalations, recurring slots) and the agents'
//! SC/RS replies.

pub mod reply;
pub mod run;
pub mod tracking;
