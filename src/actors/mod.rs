//! Actors order the work; the database holds the state. Each actor rebuilds
//! what it needs from the database when it starts.
//!
//! - [`registry::AgentRegistry`] routes stored messages to one
//!   [`agent::AgentActor`] per agent, spawning and retiring them.
//! - [`agent::AgentActor`] processes one agent's messages in arrival order.
//! - [`outbox::Outbox`] sends queued SMS with retries and backoff.

pub mod agent;
pub mod outbox;
pub mod registry;
