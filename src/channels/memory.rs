//! An in-process provider that records what it is given: scenario replay
//! and tests read the recorded messages, and can make sends fail.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;

use super::{Accepted, OutgoingSms, SendError, SmsProvider};

#[derive(Debug, Default)]
struct State {
    sent: Vec<OutgoingSms>,
    planned_failures: VecDeque<SendError>,
}

/// Records sent SMS in memory. Clones share the same record.
#[derive(Debug, Default, Clone)]
pub struct MemoryProvider {
    state: Arc<Mutex<State>>,
}

impl MemoryProvider {
    pub fn new() -> Self {
        Self::default()
    }

    /// Everything accepted so far, in order.
    pub fn sent(&self) -> Vec<OutgoingSms> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).sent.clone()
    }

    /// Removes and returns everything accepted so far.
    pub fn take_sent(&self) -> Vec<OutgoingSms> {
        std::mem::take(&mut self.state.lock().unwrap_or_else(PoisonError::into_inner).sent)
    }

    /// Makes the next sends fail with these errors, one each.
    pub fn fail_next(&self, errors: impl IntoIterator<Item = SendError>) {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).planned_failures.extend(errors);
    }
}

#[async_trait]
impl SmsProvider for MemoryProvider {
    fn name(&self) -> &'static str {
        "memory"
    }

    async fn send(&self, sms: &OutgoingSms) -> Result<Accepted, SendError> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(error) = state.planned_failures.pop_front() {
            return Err(error);
        }
        state.sent.push(sms.clone());
        Ok(Accepted { provider_message_id: Some(format!("memory-{}", sms.outbound_id)) })
    }
}
