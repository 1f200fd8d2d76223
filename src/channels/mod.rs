//! Providers that carry SMS to phones. The outbox actor talks to them only
//! through [`SmsProvider`].

pub mod kannel;
pub mod log;
pub mod memory;
pub mod whatsapp;

use async_trait::async_trait;

use crate::sms::phone::mask_phone;
use crate::sms::PhoneNumber;

/// The longest business-scoped user id accepted, in characters: a country
/// code, an optional `ENT` part and Meta's documented maximum of 128 further
/// characters.
const MAX_USER_ID_CHARS: usize = 2 + 1 + 4 + 128;

/// The address of an outgoing message: a phone number, or on WhatsApp a
/// user known only by a business-scoped user id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    Phone(PhoneNumber),
    /// A WhatsApp business-scoped user id, such as `IN.13491208655302741918`.
    WhatsAppUser(String),
}

impl Recipient {
    /// Parses a stored recipient of `channel`. Every channel takes an E.164
    /// number, and the `whatsapp` channel also takes a business-scoped user
    /// id. The error names the value masked, since it may be a real number.
    pub fn parse(channel: &str, text: &str) -> Result<Self, String> {
        if let Ok(phone) = PhoneNumber::parse_e164(text) {
            return Ok(Recipient::Phone(phone));
        }
        if channel == "whatsapp" && is_business_scoped_user_id(text) {
            return Ok(Recipient::WhatsAppUser(text.to_owned()));
        }
        let expected = if channel == "whatsapp" {
            "expected + and 8 to 15 digits, as in +919876543210, or a WhatsApp user id such as IN.13491208655302741918"
        } else {
            "expected + and 8 to 15 digits, as in +919876543210"
        };
        Err(format!("invalid recipient {}: {expected}", mask_phone(text)))
    }

    /// Returns the recipient as stored: the E.164 number or the user id.
    pub fn as_str(&self) -> &str {
        match self {
            Recipient::Phone(phone) => phone.as_str(),
            Recipient::WhatsAppUser(user_id) => user_id,
        }
    }

    /// Returns the recipient with all but its ends hidden, for logs.
    pub fn masked(&self) -> String {
        mask_phone(self.as_str())
    }
}

/// Returns whether `text` has the form of a WhatsApp business-scoped user
/// id: a two-letter country code, a dot, and letters and digits, with an
/// optional `ENT.` part for a parent id (`US.ENT.11815799212886844830`).
fn is_business_scoped_user_id(text: &str) -> bool {
    let Some((country, rest)) = text.split_once('.') else {
        return false;
    };
    let rest = rest.strip_prefix("ENT.").unwrap_or(rest);
    text.chars().count() <= MAX_USER_ID_CHARS
        && country.len() == 2
        && country.bytes().all(|byte| byte.is_ascii_uppercase())
        && !rest.is_empty()
        && rest.bytes().all(|byte| byte.is_ascii_alphanumeric())
}

/// One SMS ready to hand to a provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingSms {
    /// Outbox row id, which providers may use to correlate delivery reports.
    pub outbound_id: i32,
    pub to: Recipient,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_parse_on_every_channel() {
        for channel in ["sms", "whatsapp"] {
            let recipient = Recipient::parse(channel, "+919876543210").expect("valid number");
            assert_eq!(recipient, Recipient::Phone(PhoneNumber::parse_e164("+919876543210").expect("valid")));
        }
    }

    #[test]
    fn user_ids_parse_on_whatsapp_only() {
        for user_id in ["IN.13491208655302741918", "US.ENT.11815799212886844830", "IN.abcDEF123"] {
            let recipient = Recipient::parse("whatsapp", user_id).expect("valid user id");
            assert_eq!(recipient, Recipient::WhatsAppUser(user_id.to_owned()));
        }
        let error = Recipient::parse("sms", "IN.13491208655302741918").expect_err("SMS needs a number");
        assert!(error.starts_with("invalid recipient IN."), "{error}");
        assert!(!error.contains("13491208655302741918"), "the id is masked: {error}");
    }

    #[test]
    fn malformed_user_ids_are_rejected() {
        let too_long = format!("IN.{}", "1".repeat(MAX_USER_ID_CHARS));
        for text in ["in.1349", "IND.1349", "IN.", "IN.13-49", "IN", ".1349", "IN.ENT.", too_long.as_str()] {
            let error = Recipient::parse("whatsapp", text).expect_err(text);
            assert!(error.contains("or a WhatsApp user id such as"), "{text}: {error}");
        }
    }
}
