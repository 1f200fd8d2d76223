//! The WhatsApp Cloud API: webhook payloads and signatures, and the
//! provider that sends text messages through `POST /{phone_number_id}/messages`.

pub mod payload;
pub mod signature;

use std::time::Duration;

use async_trait::async_trait;
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;

use super::{Accepted, OutgoingSms, Recipient, SendError, SmsProvider};
use crate::config::WhatsAppSettings;

/// The maximum text body length the send API accepts, in characters.
pub const MAX_TEXT_CHARS: usize = 4096;

/// Sends text messages with the Cloud API.
#[derive(Debug)]
pub struct WhatsAppProvider {
    client: reqwest::Client,
    messages_url: String,
    access_token: SecretString,
}

/// The send API's response; only the message id is read.
#[derive(Debug, Deserialize)]
struct SendResponse {
    #[serde(default)]
    messages: Vec<SentMessage>,
}

#[derive(Debug, Deserialize)]
struct SentMessage {
    id: String,
}

/// The Graph API error envelope: `{"error":{"message","type","code",...}}`.
#[derive(Debug, Deserialize)]
struct ErrorResponse {
    error: GraphError,
}

#[derive(Debug, Deserialize)]
struct GraphError {
    #[serde(default)]
    message: String,
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    error_data: Option<payload::ErrorData>,
}

impl WhatsAppProvider {
    pub fn new(settings: &WhatsAppSettings, timeout: Duration) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder().timeout(timeout).build()?;
        let messages_url =
            format!("{}/{}/messages", settings.graph_base_url.trim_end_matches('/'), settings.phone_number_id.trim());
        Ok(Self { client, messages_url, access_token: settings.access_token.clone() })
    }
}

#[async_trait]
impl SmsProvider for WhatsAppProvider {
    fn name(&self) -> &'static str {
        "whatsapp"
    }

    async fn send(&self, message: &OutgoingSms) -> Result<Accepted, SendError> {
        if message.text.chars().count() > MAX_TEXT_CHARS {
            return Err(SendError::Permanent(format!(
                "text of {} characters is longer than the {MAX_TEXT_CHARS} the WhatsApp send API accepts",
                message.text.chars().count()
            )));
        }
        let mut body = serde_json::json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "type": "text",
            "text": {"preview_url": false, "body": message.text},
        });
        // A phone number goes in `to`. A business-scoped user id goes in
        // `recipient`, the field the Cloud API added for users without a number.
        let (field, value) = match &message.to {
            Recipient::Phone(phone) => ("to", phone.as_str()),
            Recipient::WhatsAppUser(user_id) => ("recipient", user_id.as_str()),
        };
        body[field] = serde_json::Value::from(value);
        let response = self
            .client
            .post(&self.messages_url)
            .bearer_auth(self.access_token.expose_secret())
            .json(&body)
            .send()
            .await
            .map_err(|error| SendError::Temporary(format!("request to the WhatsApp Cloud API failed: {error}")))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();

        if status.is_success() {
            let parsed: SendResponse = serde_json::from_str(&text).map_err(|error| {
                SendError::Temporary(format!("the WhatsApp Cloud API returned {status} with an invalid body: {error}"))
            })?;
            let id = parsed.messages.into_iter().next().map(|sent| sent.id).filter(|id| !id.is_empty());
            if id.is_none() {
                // The message was accepted, so sending it again would
                // duplicate it; without an id its status reports are lost.
                tracing::warn!(outbound_id = message.outbound_id, "WhatsApp accepted a message but returned no id");
            }
            return Ok(Accepted { provider_message_id: id });
        }

        let detail = format!("WhatsApp Cloud API returned {}: {}", status.as_u16(), describe_error(&text));
        if status.as_u16() == 429 || status.is_server_error() {
            Err(SendError::Temporary(detail))
        } else {
            Err(SendError::Permanent(detail))
        }
    }
}

/// Meta's error message from a Graph API error body, or the body itself
/// (shortened) when it is not the usual envelope.
fn describe_error(body: &str) -> String {
    match serde_json::from_str::<ErrorResponse>(body) {
        Ok(ErrorResponse { error }) => {
            let mut text = error.message;
            if let Some(code) = error.code {
                text = format!("{text} (code {code})");
            }
            if let Some(details) = error.error_data.and_then(|data| data.details).filter(|details| !details.is_empty())
            {
                text = format!("{text}: {details}");
            }
            text
        }
        Err(_) => body.chars().take(300).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::describe_error;

    #[test]
    fn graph_error_names_message_and_code() {
        let body = r#"{"error":{"message":"(#131030) Recipient phone number not in allowed list","type":"OAuthException","code":131030,"error_data":{"messaging_product":"whatsapp","details":"Add the number to the allowed list"},"fbtrace_id":"A"}}"#;
        assert_eq!(
            describe_error(body),
            "(#131030) Recipient phone number not in allowed list (code 131030): Add the number to the allowed list"
        );
    }

    #[test]
    fn unknown_error_body_is_kept() {
        assert_eq!(describe_error("Bad Gateway"), "Bad Gateway");
    }
}
