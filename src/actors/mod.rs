//! Actors order the work; the database holds the state. Each actor rebuilds
//! what it needs from the database when it starts.
//!
//! - [`registry::AgentRegistry`] routes stored messages to one
//!   [`agent::AgentActor`] per agent, spawning and retiring them.
//! - [`agent::AgentActor`] processes one agent's messages in arrival order.
//! - [`task::TaskRegistry`] and [`task::TaskActor`] apply one task's
//!   lifecycle events at a time.
//! - [`scheduler::Scheduler`] sends follow-ups and reminders, escalates
//!   unanswered tasks and creates recurring slots.
//! - [`outbox::Outbox`] sends queued SMS with retries and backoff.

pub mod agent;
pub mod outbox;
pub mod registry;
pub mod scheduler;
pub mod task;
