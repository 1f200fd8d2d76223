//! The Cloud API webhook payload: the serde types of the parts Sandesh
//! reads, and their flattening into messages and status reports. Fields
//! not listed here are ignored, and optional ones may be absent because
//! newer payloads omit `wa_id` and carry a business-scoped `user_id`.

use serde::Deserialize;

/// The body of a webhook call.
#[derive(Debug, Deserialize)]
pub struct Notification {
    pub object: String,
    #[serde(default)]
    pub entry: Vec<Entry>,
}

/// One WhatsApp Business Account's part of a notification.
#[derive(Debug, Deserialize)]
pub struct Entry {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub changes: Vec<Change>,
}

#[derive(Debug, Deserialize)]
pub struct Change {
    #[serde(default)]
    pub field: String,
    #[serde(default)]
    pub value: Option<ChangeValue>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ChangeValue {
    #[serde(default)]
    pub metadata: Option<Metadata>,
    #[serde(default)]
    pub contacts: Vec<Contact>,
    #[serde(default)]
    pub messages: Vec<Message>,
    #[serde(default)]
    pub statuses: Vec<Status>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Metadata {
    #[serde(default)]
    pub display_phone_number: String,
    #[serde(default)]
    pub phone_number_id: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct Contact {
    #[serde(default)]
    pub wa_id: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub profile: Option<Profile>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Profile {
    #[serde(default)]
    pub name: String,
}

/// An incoming message. `kind` (`type` in JSON) names the content object
/// that is present.
#[derive(Debug, Deserialize)]
pub struct Message {
    pub id: String,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub from_user_id: Option<String>,
    #[serde(default)]
    pub timestamp: Option<String>,
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub text: Option<Text>,
    #[serde(default)]
    pub image: Option<Media>,
    #[serde(default)]
    pub document: Option<Media>,
    #[serde(default)]
    pub audio: Option<Media>,
    #[serde(default)]
    pub video: Option<Media>,
    #[serde(default)]
    pub sticker: Option<Media>,
}

#[derive(Debug, Deserialize)]
pub struct Text {
    #[serde(default)]
    pub body: String,
}

/// The media object of image, document, audio, video and sticker messages.
#[derive(Debug, Default, Deserialize)]
pub struct Media {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub mime_type: Option<String>,
    #[serde(default)]
    pub caption: Option<String>,
    #[serde(default)]
    pub filename: Option<String>,
}

/// A delivery report for a message Sandesh sent.
#[derive(Debug, Deserialize)]
pub struct Status {
    pub id: String,
    pub status: String,
    #[serde(default)]
    pub timestamp: Option<String>,
    #[serde(default)]
    pub recipient_id: Option<String>,
    #[serde(default)]
    pub errors: Vec<StatusError>,
}

#[derive(Debug, Default, Deserialize)]
pub struct StatusError {
    #[serde(default)]
    pub code: Option<i64>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub error_data: Option<ErrorData>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ErrorData {
    #[serde(default)]
    pub details: Option<String>,
}

/// A message flattened for storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingMessage {
    /// The `wamid.…` message id.
    pub message_id: String,
    /// The sender's wa_id, or the business-scoped user id without one.
    pub whatsapp_id: String,
    /// The sender's profile name, empty when the payload has none.
    pub profile_name: String,
    /// The business phone number id the message was sent to.
    pub phone_number_id: String,
    /// The text body or the media caption; empty for other kinds.
    pub text: String,
    pub media: Option<IncomingMedia>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingMedia {
    /// `image`, `document`, `audio`, `video` or `sticker`.
    pub kind: &'static str,
    pub id: Option<String>,
    pub mime_type: Option<String>,
    pub filename: Option<String>,
}

/// A status report flattened for storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusReport {
    /// The id that the send API returned for the message.
    pub message_id: String,
    /// `sent`, `delivered`, `read` or `failed`.
    pub status: String,
    /// When the status changed, in Unix seconds, if the payload contains it.
    pub timestamp: Option<i64>,
    /// Meta's error codes and texts, joined, when the status is `failed`.
    pub error: Option<String>,
}

/// A message without any sender id, which cannot get a reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("message {message_id} has no 'from', 'from_user_id' or contact id")]
pub struct MissingSender {
    pub message_id: String,
}

impl Notification {
    /// Flattens every entry and change into messages, status reports and
    /// the messages that name no sender.
    pub fn flatten(&self) -> (Vec<IncomingMessage>, Vec<StatusReport>, Vec<MissingSender>) {
        let mut messages = Vec::new();
        let mut statuses = Vec::new();
        let mut missing = Vec::new();
        for change in self.entry.iter().flat_map(|entry| &entry.changes) {
            let Some(value) = &change.value else { continue };
            let phone_number_id = value.metadata.as_ref().map(|metadata| metadata.phone_number_id.clone());
            for message in &value.messages {
                match flatten_message(message, &value.contacts, phone_number_id.clone().unwrap_or_default()) {
                    Ok(incoming) => messages.push(incoming),
                    Err(error) => missing.push(error),
                }
            }
            statuses.extend(value.statuses.iter().map(flatten_status));
        }
        (messages, statuses, missing)
    }
}

fn non_empty(value: Option<&String>) -> Option<String> {
    value.map(|text| text.trim().to_owned()).filter(|text| !text.is_empty())
}

fn flatten_message(
    message: &Message,
    contacts: &[Contact],
    phone_number_id: String,
) -> Result<IncomingMessage, MissingSender> {
    // With one contact per change (the usual case) the contact is the
    // sender; with several, the one whose wa_id matches `from` is.
    let contact = contacts
        .iter()
        .find(|contact| contact.wa_id.is_some() && contact.wa_id == message.from)
        .or_else(|| if contacts.len() == 1 { contacts.first() } else { None });
    let whatsapp_id = non_empty(message.from.as_ref())
        .or_else(|| non_empty(message.from_user_id.as_ref()))
        .or_else(|| contact.and_then(|contact| non_empty(contact.wa_id.as_ref())))
        .or_else(|| contact.and_then(|contact| non_empty(contact.user_id.as_ref())))
        .ok_or_else(|| MissingSender { message_id: message.id.clone() })?;
    let profile_name =
        contact.and_then(|contact| contact.profile.as_ref()).map(|profile| profile.name.trim().to_owned());

    let media = [
        ("image", &message.image),
        ("document", &message.document),
        ("audio", &message.audio),
        ("video", &message.video),
        ("sticker", &message.sticker),
    ]
    .into_iter()
    .find_map(|(kind, media)| media.as_ref().map(|media| (kind, media)));
    let text = match (&message.text, media) {
        (Some(text), _) => text.body.clone(),
        (None, Some((_, media))) => media.caption.clone().unwrap_or_default(),
        (None, None) => String::new(),
    };
    let media = media.map(|(kind, media)| IncomingMedia {
        kind,
        id: media.id.clone(),
        mime_type: media.mime_type.clone(),
        filename: media.filename.clone(),
    });

    Ok(IncomingMessage {
        message_id: message.id.clone(),
        whatsapp_id,
        profile_name: profile_name.unwrap_or_default(),
        phone_number_id,
        text,
        media,
    })
}

fn flatten_status(status: &Status) -> StatusReport {
    let error = if status.errors.is_empty() {
        None
    } else {
        let parts: Vec<String> = status.errors.iter().map(describe_error).collect();
        Some(parts.join("; "))
    };
    let timestamp = status.timestamp.as_deref().and_then(|secs| secs.trim().parse().ok());
    StatusReport { message_id: status.id.clone(), status: status.status.clone(), timestamp, error }
}

/// Describes one entry of `errors[]` as `code 131047: title: details`.
fn describe_error(error: &StatusError) -> String {
    let mut parts = Vec::new();
    if let Some(code) = error.code {
        parts.push(format!("code {code}"));
    }
    if let Some(text) = non_empty(error.message.as_ref()).or_else(|| non_empty(error.title.as_ref())) {
        parts.push(text);
    }
    if let Some(details) = error.error_data.as_ref().and_then(|data| non_empty(data.details.as_ref())) {
        parts.push(details);
    }
    if parts.is_empty() {
        "WhatsApp reported the message failed without an error description".to_owned()
    } else {
        parts.join(": ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Notification {
        serde_json::from_str(json).expect("valid notification")
    }

    #[test]
    fn text_message_flattens() {
        let notification = parse(
            r#"{"object":"whatsapp_business_account","entry":[{"id":"WABA","changes":[{"field":"messages",
            "value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"16505551111","phone_number_id":"123456123"},
            "contacts":[{"profile":{"name":"Asha"},"wa_id":"919876543210"}],
            "messages":[{"from":"919876543210","id":"wamid.A","timestamp":"1504902988","type":"text","text":{"body":"hello"}}]}}]}]}"#,
        );
        let (messages, statuses, missing) = notification.flatten();
        assert!(statuses.is_empty());
        assert!(missing.is_empty());
        assert_eq!(
            messages,
            vec![IncomingMessage {
                message_id: "wamid.A".into(),
                whatsapp_id: "919876543210".into(),
                profile_name: "Asha".into(),
                phone_number_id: "123456123".into(),
                text: "hello".into(),
                media: None,
            }]
        );
    }

    #[test]
    fn document_keeps_caption_and_file_name() {
        let notification = parse(
            r#"{"object":"whatsapp_business_account","entry":[{"changes":[{"value":{
            "contacts":[{"user_id":"IN.13491208655302741918"}],
            "messages":[{"from_user_id":"IN.13491208655302741918","id":"wamid.D","type":"document",
              "document":{"caption":"report","filename":"lab.pdf","mime_type":"application/pdf","sha256":"x","id":"MEDIA1"}}]}}]}]}"#,
        );
        let (messages, _, _) = notification.flatten();
        let message = &messages[0];
        assert_eq!(message.whatsapp_id, "IN.13491208655302741918");
        assert_eq!(message.text, "report");
        let media = message.media.as_ref().expect("media");
        assert_eq!(media.kind, "document");
        assert_eq!(media.id.as_deref(), Some("MEDIA1"));
        assert_eq!(media.filename.as_deref(), Some("lab.pdf"));
    }

    #[test]
    fn failed_status_joins_errors() {
        let notification = parse(
            r#"{"object":"whatsapp_business_account","entry":[{"changes":[{"value":{"statuses":[
            {"id":"wamid.S","status":"failed","timestamp":"1","recipient_id":"919876543210",
             "errors":[{"code":131047,"title":"Re-engagement message","error_data":{"details":"more than 24 hours"}}]}]}}]}]}"#,
        );
        let (_, statuses, _) = notification.flatten();
        assert_eq!(statuses[0].status, "failed");
        assert_eq!(statuses[0].error.as_deref(), Some("code 131047: Re-engagement message: more than 24 hours"));
    }

    #[test]
    fn message_without_sender_is_reported() {
        let notification = parse(
            r#"{"object":"whatsapp_business_account","entry":[{"changes":[{"value":{
            "messages":[{"id":"wamid.X","type":"text","text":{"body":"hi"}}]}}]}]}"#,
        );
        let (messages, _, missing) = notification.flatten();
        assert!(messages.is_empty());
        assert_eq!(missing, vec![MissingSender { message_id: "wamid.X".into() }]);
    }
}
