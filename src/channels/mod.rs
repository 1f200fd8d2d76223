//! Providers that carry SMS to phones. The outbox actor talks to them only
//! through [`SmsProvider`].

pub mod kannel;
pub mod log;
pub mod memory;
pub mod whatsapp;

use async_trait::async_trait;

use crate::sms::PhoneNumber;

/// One SMS ready to hand to a provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingSms {
    /// Outbox row id, which providers may use to correlate delivery reports.
    pub outbound_id: i32,
    pub to: PhoneNumber,
    pub text: String,
    pub template_id: String,
}

/// The provider's acceptance of a message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Accepted {
    /// The provider's message id, when it returns one (Kannel does not).
    pub provider_message_id: Option<String>,
}

/// A provider's refusal of a message, temporary or permanent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth retrying later: network errors, timeouts, 5xx, throttling.
    #[error("temporary failure: {0}")]
    Temporary(String),
    /// Retrying cannot help: the provider rejected the message itself.
    #[error("permanent failure: {0}")]
    Permanent(String),
}

/// An SMS provider.
#[async_trait]
pub trait SmsProvider: Send + Sync + std::fmt::Debug {
    /// A short name for logs.
    fn name(&self) -> &'static str;

    /// Hands one message to the provider.
    async fn send(&self, sms: &OutgoingSms) -> Result<Accepted, SendError>;
}
