//! Why a message could not be handled automatically. A rejection is a
//! domain outcome, not an error: it becomes a flag for officers and an SMS
//! that tells the agent what to fix.

use crate::sms::{Field, ParseError};

/// The reasons a message is flagged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("agent id {agent_id} is not registered")]
    UnknownAgent { agent_id: i32 },
    #[error("the sender {sender} is not a registered agent phone")]
    UnknownSender { sender: String },
    #[error("agent {agent_id} is inactive")]
    InactiveAgent { agent_id: i32 },
    #[error("agent {agent_id} sent from {sender}, which is not the agent's registered phone")]
    SenderMismatch { agent_id: i32, sender: String },
    #[error("invalid format: {0}")]
    InvalidFormat(ParseError),
    #[error("invalid format: the text contains bytes that are not valid UTF-8 (shown as U+FFFD)")]
    InvalidEncoding,
    #[error("case code {code} is unknown; the nearest valid code is {suggestion}")]
    UnknownCaseType { code: String, suggestion: String },
    #[error("facility code {code} is unknown; the agent's facilities are {valid}")]
    UnknownFacility { code: String, valid: String },
    #[error("agent {agent_id} is not assigned to facility {code}; the agent's facilities are {valid}")]
    FacilityNotAssigned { agent_id: i32, code: String, valid: String },
    #[error("agent {agent_id} is not assigned to any facility, so {beneficiary} could not be booked")]
    AgentWithoutFacility { agent_id: i32, beneficiary: String },
    #[error("no free {case_code} slot after {not_before} at facilities {facilities} for {beneficiary}")]
    NoFreeSlot { case_code: String, beneficiary: String, not_before: String, facilities: String },
    #[error("tracking id {tracking_id} fails its check digit, so it was mistyped")]
    TrackingIdTypo { tracking_id: String },
    #[error("tracking id {tracking_id} is unknown")]
    UnknownTrackingId { tracking_id: String },
    #[error("the follow-up reply does not match task {task_id}: {detail}")]
    FollowUpMismatch { task_id: i32, detail: String },
}

/// An SMS template and its arguments for the reply to the agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyTemplate {
    pub template_id: &'static str,
    pub args: Vec<(&'static str, String)>,
}

impl ReplyTemplate {
    fn new(template_id: &'static str) -> Self {
        Self { template_id, args: Vec::new() }
    }

    fn arg(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.args.push((name, value.into()));
        self
    }
}

fn field_key(field: Field) -> &'static str {
    match field {
        Field::Message => "message",
        Field::AgentId => "agent_id",
        Field::CaseCode => "case_code",
        Field::BeneficiaryName => "beneficiary_name",
        Field::BeneficiaryPhone => "beneficiary_phone",
        Field::FacilityCode => "facility_code",
        Field::Outcome => "outcome",
        Field::TrackingId => "tracking_id",
    }
}

/// Shortens an echoed value so a reply stays within one or two SMS.
fn echo(value: &str) -> String {
    const MAX_ECHO_CHARS: usize = 20;
    if value.chars().count() <= MAX_ECHO_CHARS {
        value.to_owned()
    } else {
        let mut short: String = value.chars().take(MAX_ECHO_CHARS).collect();
        short.push_str("...");
        short
    }
}

impl Rejection {
    /// Returns the stable reason code stored with the flag.
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::UnknownAgent { .. } | Rejection::UnknownSender { .. } => "unknown_agent",
            Rejection::InactiveAgent { .. } => "inactive_agent",
            Rejection::SenderMismatch { .. } => "sender_mismatch",
            Rejection::InvalidFormat(_) | Rejection::InvalidEncoding => "invalid_format",
            Rejection::UnknownCaseType { .. } => "unknown_case_type",
            Rejection::UnknownFacility { .. } => "unknown_facility",
            Rejection::FacilityNotAssigned { .. } | Rejection::AgentWithoutFacility { .. } => "unassigned_facility",
            Rejection::NoFreeSlot { .. } => "no_free_slot",
            Rejection::TrackingIdTypo { .. } => "invalid_tracking_id",
            Rejection::UnknownTrackingId { .. } => "unknown_tracking_id",
            Rejection::FollowUpMismatch { .. } => "follow_up_mismatch",
        }
    }

    /// Returns the reply that explains to the agent what to fix.
    pub fn reply(&self, is_follow_up: bool) -> ReplyTemplate {
        match self {
            Rejection::UnknownAgent { agent_id } => {
                ReplyTemplate::new("agent-unknown-agent").arg("agent_id", agent_id.to_string())
            }
            Rejection::UnknownSender { .. } => ReplyTemplate::new("agent-unknown-sender"),
            Rejection::InactiveAgent { agent_id } => {
                ReplyTemplate::new("agent-inactive-agent").arg("agent_id", agent_id.to_string())
            }
            Rejection::SenderMismatch { agent_id, .. } => {
                ReplyTemplate::new("agent-sender-mismatch").arg("agent_id", agent_id.to_string())
            }
            Rejection::InvalidEncoding => ReplyTemplate::new("agent-control-character"),
            Rejection::InvalidFormat(error) => parse_error_reply(error, is_follow_up),
            Rejection::UnknownCaseType { code, suggestion } => ReplyTemplate::new("agent-unknown-case-type")
                .arg("code", echo(code))
                .arg("suggestion", suggestion.clone()),
            Rejection::UnknownFacility { code, valid } => {
                ReplyTemplate::new("agent-unknown-facility").arg("code", echo(code)).arg("codes", valid.clone())
            }
            Rejection::FacilityNotAssigned { code, valid, .. } => {
                ReplyTemplate::new("agent-facility-not-assigned").arg("code", echo(code)).arg("codes", valid.clone())
            }
            Rejection::AgentWithoutFacility { beneficiary, .. } => {
                ReplyTemplate::new("agent-no-facility").arg("name", beneficiary.clone())
            }
            Rejection::NoFreeSlot { case_code, beneficiary, .. } => {
                ReplyTemplate::new("agent-no-free-slot").arg("case", case_code.clone()).arg("name", beneficiary.clone())
            }
            Rejection::TrackingIdTypo { tracking_id } => {
                ReplyTemplate::new("agent-tracking-id-typo").arg("tracking_id", echo(tracking_id))
            }
            Rejection::UnknownTrackingId { tracking_id } => {
                ReplyTemplate::new("agent-unknown-tracking-id").arg("tracking_id", echo(tracking_id))
            }
            Rejection::FollowUpMismatch { .. } => ReplyTemplate::new("agent-follow-up-mismatch"),
        }
    }
}

fn parse_error_reply(error: &ParseError, is_follow_up: bool) -> ReplyTemplate {
    let (missing, invalid) = if is_follow_up {
        ("agent-missing-reply-field", "agent-invalid-reply-field")
    } else {
        ("agent-missing-field", "agent-invalid-field")
    };
    match error {
        ParseError::Empty => ReplyTemplate::new("agent-empty-message"),
        ParseError::TooLong { chars } => ReplyTemplate::new("agent-message-too-long").arg("chars", chars.to_string()),
        ParseError::ControlCharacter { .. } => ReplyTemplate::new("agent-control-character"),
        ParseError::Missing(field) => ReplyTemplate::new(missing).arg("field", field_key(*field)),
        ParseError::Invalid { field, value } => {
            ReplyTemplate::new(invalid).arg("field", field_key(*field)).arg("value", echo(value))
        }
        ParseError::Phone(phone_error) => {
            let value = match phone_error {
                crate::sms::phone::PhoneError::InvalidCharacters(value)
                | crate::sms::phone::PhoneError::NotIndianMobile(value)
                | crate::sms::phone::PhoneError::NotE164(value) => value,
            };
            ReplyTemplate::new("agent-invalid-phone").arg("value", echo(value))
        }
        ParseError::Trailing(text) => ReplyTemplate::new("agent-trailing-text").arg("value", echo(text)),
    }
}

/// Returns the valid code nearest to `typed` by edit distance.
pub fn nearest_code<'a>(typed: &str, valid: &'a [String]) -> Option<&'a str> {
    let typed = typed.to_ascii_uppercase();
    valid.iter().min_by_key(|candidate| strsim::damerau_levenshtein(&typed, candidate)).map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_code_suggests_typo_fix() {
        let codes = vec!["ANC".to_owned(), "DS".to_owned(), "IM".to_owned()];
        assert_eq!(nearest_code("ANX", &codes), Some("ANC"));
        assert_eq!(nearest_code("nac", &codes), Some("ANC"));
        assert_eq!(nearest_code("D", &codes), Some("DS"));
        assert_eq!(nearest_code("X", &[]), None);
    }

    #[test]
    fn long_values_are_shortened_in_replies() {
        assert_eq!(echo("short"), "short");
        assert_eq!(echo(&"x".repeat(50)), format!("{}...", "x".repeat(20)));
    }
}
