//! A provider that writes each message to the log instead of sending it,
//! so the demo shows what would go out without an SMS gateway or a
//! WhatsApp business account.

use async_trait::async_trait;

use super::{Accepted, OutgoingSms, SendError, SmsProvider};

#[derive(Debug)]
pub struct LogProvider {
    /// The channel named in the log line: `SMS` or `WhatsApp`.
    channel: &'static str,
}

impl LogProvider {
    /// Logs SMS.
    pub fn sms() -> Self {
        Self { channel: "SMS" }
    }

    /// Logs WhatsApp messages.
    pub fn whatsapp() -> Self {
        Self { channel: "WhatsApp" }
    }
}

#[async_trait]
impl SmsProvider for LogProvider {
    fn name(&self) -> &'static str {
        "log"
    }

    async fn send(&self, sms: &OutgoingSms) -> Result<Accepted, SendError> {
        // The text is logged on purpose: this provider exists to show it.
        // Production configurations use a real provider.
        tracing::info!(
            outbound_id = sms.outbound_id,
            to = %sms.to.masked(),
            template_id = %sms.template_id,
            text = %sms.text,
            "{} handed to the log provider",
            self.channel
        );
        Ok(Accepted { provider_message_id: Some(format!("log-{}", sms.outbound_id)) })
    }
}
