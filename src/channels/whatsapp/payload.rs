//! The Cloud API webhook payload: the serde types of the parts Sandesh
//! reads, and their flattening into messages and status reports. Fields
//! not listed here are ignored, and optional ones may be absent because
//! newer payloads omit `wa_id` and carry a business-scoped `user_id`.
//!
//! Only the envelope must be valid: a JSON object with a string `object`.
//! Inside it, every entry, change, contact, message and status is read on
//! its own, and one that does not fit is skipped and reported as a
//! [`SkippedItem`]. A single malformed item therefore does not lose the
//! valid ones, and Meta does not retry the whole call.

use serde::Deserialize;
use serde_json::Value;

/// The maximum length of a stored WhatsApp profile name, in characters.
/// Longer names are cut on a character boundary.
pub const MAX_PROFILE_NAME_CHARS: usize = 100;

/// A webhook body whose envelope is valid; see [`Notification::parse`].
#[derive(Debug)]
pub struct Notification {
    /// `whatsapp_business_account` for WhatsApp notifications.
    pub object: String,
    /// The raw `entry` value, read item by item by [`Notification::flatten`].
    entry: Value,
}

/// The reason a webhook body is rejected as a whole.
#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    #[error("the body is not JSON: {0}")]
    NotJson(serde_json::Error),
    #[error("the body is not a JSON object with a string field 'object'")]
    MissingObject,
}

/// One part of a notification that was skipped, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("skipped {location}: {reason}")]
pub struct SkippedItem {
    /// The item's JSON path, as in `entry[0].changes[1].value.messages[2]`.
    pub location: String,
    pub reason: String,
}

/// The messages and status reports of a notification, and the items that
/// were skipped, each in payload order.
#[derive(Debug, Default)]
pub struct Flattened {
    pub messages: Vec<IncomingMessage>,
    pub statuses: Vec<StatusReport>,
    pub skipped: Vec<SkippedItem>,
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
    /// A tap on a quick-reply button of a template message.
    #[serde(default)]
    pub button: Option<Button>,
    /// A tap on a reply button or a list row of an interactive message.
    #[serde(default)]
    pub interactive: Option<Interactive>,
    #[serde(default)]
    pub reaction: Option<Reaction>,
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

/// A template quick-reply button: `text` is its label, `payload` the value
/// the template defined for it.
#[derive(Debug, Default, Deserialize)]
pub struct Button {
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub payload: Option<String>,
}

/// The reply to an interactive message: one of `button_reply` and
/// `list_reply` is present.
#[derive(Debug, Default, Deserialize)]
pub struct Interactive {
    #[serde(default)]
    pub button_reply: Option<Choice>,
    #[serde(default)]
    pub list_reply: Option<Choice>,
}

/// A chosen reply button or list row: `title` is shown, `id` is the value
/// the interactive message defined for it.
#[derive(Debug, Default, Deserialize)]
pub struct Choice {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
}

/// An emoji reaction to an earlier message; an empty emoji removes it.
#[derive(Debug, Default, Deserialize)]
pub struct Reaction {
    #[serde(default)]
    pub message_id: Option<String>,
    #[serde(default)]
    pub emoji: Option<String>,
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
    /// The `wamid.…` message id, never empty.
    pub message_id: String,
    /// The message type as the payload names it: `text`, `image`,
    /// `reaction`, `unsupported`, …
    pub kind: String,
    /// The sender's wa_id, or the business-scoped user id without one.
    pub whatsapp_id: String,
    /// The sender's profile name without control characters, at most
    /// [`MAX_PROFILE_NAME_CHARS`] long; empty when the payload has none.
    pub profile_name: String,
    /// The business phone number id the message was sent to.
    pub phone_number_id: String,
    /// The text body, the media caption, the label of a tapped button or
    /// the emoji of a reaction; empty for other kinds.
    pub text: String,
    /// The value a tapped button or list row was defined with (`payload`
    /// or `id`), which may differ from its label in `text`.
    pub reply_value: Option<String>,
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
    /// The id that the send API returned for the message, never empty.
    pub message_id: String,
    /// `sent`, `delivered`, `read` or `failed`.
    pub status: String,
    /// When the status changed, in Unix seconds, if the payload contains it.
    pub timestamp: Option<i64>,
    /// Meta's error codes and texts, joined, when the status is `failed`.
    pub error: Option<String>,
}

impl Notification {
    /// Parses the envelope of a webhook body. Only a body that is not JSON,
    /// or not an object with a string `object`, is an error. The entries
    /// are read later by [`Notification::flatten`].
    pub fn parse(body: &[u8]) -> Result<Self, EnvelopeError> {
        let mut envelope: Value = serde_json::from_slice(body).map_err(EnvelopeError::NotJson)?;
        let object = match envelope.get("object") {
            Some(Value::String(object)) => object.clone(),
            _ => return Err(EnvelopeError::MissingObject),
        };
        let entry = envelope.get_mut("entry").map(Value::take).unwrap_or(Value::Null);
        Ok(Self { object, entry })
    }

    /// Flattens every entry and change into messages and status reports.
    /// An item that does not fit is skipped and listed in
    /// [`Flattened::skipped`], and the rest are still read.
    pub fn flatten(&self) -> Flattened {
        let mut flattened = Flattened::default();
        for (entry_index, entry) in array_at(&self.entry, "entry", &mut flattened.skipped).iter().enumerate() {
            let entry_place = format!("entry[{entry_index}]");
            let Some(entry) = object_at(entry, &entry_place, &mut flattened.skipped) else { continue };
            let changes = entry.get("changes").unwrap_or(&Value::Null);
            let changes_place = format!("{entry_place}.changes");
            for (change_index, change) in array_at(changes, &changes_place, &mut flattened.skipped).iter().enumerate() {
                let change_place = format!("{changes_place}[{change_index}]");
                let Some(change) = object_at(change, &change_place, &mut flattened.skipped) else { continue };
                match change.get("value") {
                    None | Some(Value::Null) => {}
                    Some(value) => flatten_value(value, &format!("{change_place}.value"), &mut flattened),
                }
            }
        }
        flattened
    }
}

/// Returns the items of `value` when it is an array. `null` (an absent
/// field) has none; any other value is skipped and reported.
fn array_at<'a>(value: &'a Value, place: &str, skipped: &mut Vec<SkippedItem>) -> &'a [Value] {
    match value {
        Value::Array(items) => items,
        Value::Null => &[],
        other => {
            skipped.push(SkippedItem {
                location: place.to_owned(),
                reason: format!("expected an array, found {}", json_kind(other)),
            });
            &[]
        }
    }
}

/// Returns `value` as an object, or reports it as skipped.
fn object_at<'a>(
    value: &'a Value,
    place: &str,
    skipped: &mut Vec<SkippedItem>,
) -> Option<&'a serde_json::Map<String, Value>> {
    let object = value.as_object();
    if object.is_none() {
        skipped.push(SkippedItem {
            location: place.to_owned(),
            reason: format!("expected an object, found {}", json_kind(value)),
        });
    }
    object
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Deserializes one item, or reports it as skipped.
fn item_at<T: serde::de::DeserializeOwned>(value: &Value, place: &str, skipped: &mut Vec<SkippedItem>) -> Option<T> {
    match T::deserialize(value) {
        Ok(item) => Some(item),
        Err(error) => {
            skipped.push(SkippedItem { location: place.to_owned(), reason: describe_serde_error(&error) });
            None
        }
    }
}

/// Describes a deserialization error without the offending value, which
/// may be a phone number or a message text. For example,
/// `invalid type: string "…", expected a map` becomes
/// `invalid type: string, expected a map`.
fn describe_serde_error(error: &serde_json::Error) -> String {
    let text = error.to_string();
    for prefix in ["invalid type: ", "invalid value: ", "invalid length "] {
        if let Some(rest) = text.strip_prefix(prefix) {
            let (found, expected) = rest.split_once(", expected ").unwrap_or((rest, "another value"));
            let found = found.split(['`', '"']).next().unwrap_or_default().trim();
            return format!("{prefix}{found}, expected {expected}");
        }
    }
    text
}

/// Reads the contacts, messages and statuses of one change `value`.
fn flatten_value(value: &Value, place: &str, flattened: &mut Flattened) {
    let skipped = &mut flattened.skipped;
    let Some(value) = object_at(value, place, skipped) else { return };
    let field = |name: &str| value.get(name).unwrap_or(&Value::Null);
    let phone_number_id =
        field("metadata").get("phone_number_id").and_then(Value::as_str).unwrap_or_default().to_owned();

    let contacts_place = format!("{place}.contacts");
    let contacts: Vec<Contact> = array_at(field("contacts"), &contacts_place, skipped)
        .iter()
        .enumerate()
        .filter_map(|(index, contact)| item_at(contact, &format!("{contacts_place}[{index}]"), skipped))
        .collect();

    let messages_place = format!("{place}.messages");
    for (index, message) in array_at(field("messages"), &messages_place, skipped).iter().enumerate() {
        let message_place = format!("{messages_place}[{index}]");
        let Some(message) = item_at::<Message>(message, &message_place, skipped) else { continue };
        match flatten_message(&message, &contacts, &phone_number_id) {
            Ok(incoming) => flattened.messages.push(incoming),
            Err(reason) => skipped.push(SkippedItem { location: message_place, reason }),
        }
    }

    let statuses_place = format!("{place}.statuses");
    for (index, status) in array_at(field("statuses"), &statuses_place, skipped).iter().enumerate() {
        let status_place = format!("{statuses_place}[{index}]");
        let Some(status) = item_at::<Status>(status, &status_place, skipped) else { continue };
        if status.id.trim().is_empty() {
            skipped.push(SkippedItem { location: status_place, reason: "the status has an empty 'id'".to_owned() });
            continue;
        }
        flattened.statuses.push(flatten_status(&status));
    }
}

fn non_empty(value: Option<&String>) -> Option<String> {
    value.map(|text| text.trim().to_owned()).filter(|text| !text.is_empty())
}

/// Removes control characters and bidirectional overrides from a profile
/// name, trims it and cuts it to [`MAX_PROFILE_NAME_CHARS`] characters.
pub fn clean_profile_name(name: &str) -> String {
    let visible = crate::text::one_line(name);
    visible.trim().chars().take(MAX_PROFILE_NAME_CHARS).collect::<String>().trim_end().to_owned()
}

/// Flattens one message, or returns why it cannot be stored: an empty id
/// would make every later empty-id message look like a repeat, and a
/// message without a sender cannot get a reply.
fn flatten_message(message: &Message, contacts: &[Contact], phone_number_id: &str) -> Result<IncomingMessage, String> {
    if message.id.trim().is_empty() {
        return Err("the message has an empty 'id'".to_owned());
    }
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
        .ok_or_else(|| format!("message {} has no 'from', 'from_user_id' or contact id", message.id))?;
    let profile_name =
        contact.and_then(|contact| contact.profile.as_ref()).map(|profile| clean_profile_name(&profile.name));

    let media = [
        ("image", &message.image),
        ("document", &message.document),
        ("audio", &message.audio),
        ("video", &message.video),
        ("sticker", &message.sticker),
    ]
    .into_iter()
    .find_map(|(kind, media)| media.as_ref().map(|media| (kind, media)));
    let choice = message
        .interactive
        .as_ref()
        .and_then(|interactive| interactive.button_reply.as_ref().or(interactive.list_reply.as_ref()));
    let (text, reply_value) = if let Some(text) = &message.text {
        (text.body.clone(), None)
    } else if let Some((_, media)) = media {
        (media.caption.clone().unwrap_or_default(), None)
    } else if let Some(button) = &message.button {
        (button.text.clone().unwrap_or_default(), non_empty(button.payload.as_ref()))
    } else if let Some(choice) = choice {
        (choice.title.clone().unwrap_or_default(), non_empty(choice.id.as_ref()))
    } else if let Some(reaction) = &message.reaction {
        (reaction.emoji.clone().unwrap_or_default(), None)
    } else {
        (String::new(), None)
    };
    let media = media.map(|(kind, media)| IncomingMedia {
        kind,
        id: media.id.clone(),
        mime_type: media.mime_type.clone(),
        filename: media.filename.clone(),
    });

    Ok(IncomingMessage {
        message_id: message.id.clone(),
        kind: message.kind.clone(),
        whatsapp_id,
        profile_name: profile_name.unwrap_or_default(),
        phone_number_id: phone_number_id.to_owned(),
        text,
        reply_value,
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
        Notification::parse(json.as_bytes()).expect("valid notification")
    }

    /// Wraps one change `value` in a notification.
    fn with_value(value: &str) -> Notification {
        parse(&format!(r#"{{"object":"whatsapp_business_account","entry":[{{"changes":[{{"value":{value}}}]}}]}}"#))
    }

    #[test]
    fn text_message_flattens() {
        let notification = parse(
            r#"{"object":"whatsapp_business_account","entry":[{"id":"WABA","changes":[{"field":"messages",
            "value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"16505551111","phone_number_id":"123456123"},
            "contacts":[{"profile":{"name":"Asha"},"wa_id":"919876543210"}],
            "messages":[{"from":"919876543210","id":"wamid.A","timestamp":"1504902988","type":"text","text":{"body":"hello"}}]}}]}]}"#,
        );
        let flattened = notification.flatten();
        assert!(flattened.statuses.is_empty());
        assert!(flattened.skipped.is_empty());
        assert_eq!(
            flattened.messages,
            vec![IncomingMessage {
                message_id: "wamid.A".into(),
                kind: "text".into(),
                whatsapp_id: "919876543210".into(),
                profile_name: "Asha".into(),
                phone_number_id: "123456123".into(),
                text: "hello".into(),
                reply_value: None,
                media: None,
            }]
        );
    }

    #[test]
    fn document_keeps_caption_and_file_name() {
        let notification = with_value(
            r#"{"contacts":[{"user_id":"IN.13491208655302741918"}],
            "messages":[{"from_user_id":"IN.13491208655302741918","id":"wamid.D","type":"document",
              "document":{"caption":"report","filename":"lab.pdf","mime_type":"application/pdf","sha256":"x","id":"MEDIA1"}}]}"#,
        );
        let messages = notification.flatten().messages;
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
        let notification = with_value(
            r#"{"statuses":[
            {"id":"wamid.S","status":"failed","timestamp":"1","recipient_id":"919876543210",
             "errors":[{"code":131047,"title":"Re-engagement message","error_data":{"details":"more than 24 hours"}}]}]}"#,
        );
        let statuses = notification.flatten().statuses;
        assert_eq!(statuses[0].status, "failed");
        assert_eq!(statuses[0].error.as_deref(), Some("code 131047: Re-engagement message: more than 24 hours"));
    }

    #[test]
    fn message_without_sender_is_skipped() {
        let notification = with_value(r#"{"messages":[{"id":"wamid.X","type":"text","text":{"body":"hi"}}]}"#);
        let flattened = notification.flatten();
        assert!(flattened.messages.is_empty());
        assert_eq!(
            flattened.skipped,
            vec![SkippedItem {
                location: "entry[0].changes[0].value.messages[0]".into(),
                reason: "message wamid.X has no 'from', 'from_user_id' or contact id".into(),
            }]
        );
    }

    #[test]
    fn empty_or_blank_ids_are_skipped() {
        let notification = with_value(
            r#"{"contacts":[{"wa_id":"919876543210"}],
            "messages":[{"from":"919876543210","id":"","type":"text","text":{"body":"one"}},
                        {"from":"919876543210","id":"  ","type":"text","text":{"body":"two"}},
                        {"from":"919876543210","id":"wamid.ok","type":"text","text":{"body":"three"}}],
            "statuses":[{"id":"","status":"read"},{"id":"wamid.out","status":"read"}]}"#,
        );
        let flattened = notification.flatten();
        let ids: Vec<&str> = flattened.messages.iter().map(|message| message.message_id.as_str()).collect();
        assert_eq!(ids, ["wamid.ok"]);
        assert_eq!(flattened.statuses.len(), 1);
        assert_eq!(flattened.statuses[0].message_id, "wamid.out");
        let locations: Vec<&str> = flattened.skipped.iter().map(|item| item.location.as_str()).collect();
        assert_eq!(
            locations,
            [
                "entry[0].changes[0].value.messages[0]",
                "entry[0].changes[0].value.messages[1]",
                "entry[0].changes[0].value.statuses[0]"
            ]
        );
        assert!(flattened.skipped[0].reason.contains("empty 'id'"), "{:?}", flattened.skipped[0]);
    }

    #[test]
    fn malformed_items_do_not_lose_valid_ones() {
        let notification = parse(
            r#"{"object":"whatsapp_business_account","entry":[
              {"changes":[{"value":{"contacts":[{"wa_id":"919876543210"}],"messages":[
                 {"from":"919876543210","type":"text","text":{"body":"no id"}},
                 {"from":"919876543210","id":"wamid.good","type":"text","text":{"body":"kept"}},
                 {"from":"919876543210","id":"wamid.bad.text","type":"text","text":"919876543210"}]}},
                {"value":{"statuses":[{"id":"wamid.out.1"},{"id":"wamid.out.2","status":"delivered"}]}},
                {"value":"not an object"},
                7]},
              "not an entry",
              {"changes":{"value":{}}},
              {"changes":[{"value":{"messages":{"id":"x"},"statuses":[{"id":"wamid.out.3","status":"read"}]}}]}]}"#,
        );
        let flattened = notification.flatten();
        let ids: Vec<&str> = flattened.messages.iter().map(|message| message.message_id.as_str()).collect();
        assert_eq!(ids, ["wamid.good"]);
        let statuses: Vec<&str> = flattened.statuses.iter().map(|status| status.message_id.as_str()).collect();
        assert_eq!(statuses, ["wamid.out.2", "wamid.out.3"]);

        let skipped: Vec<(&str, &str)> =
            flattened.skipped.iter().map(|item| (item.location.as_str(), item.reason.as_str())).collect();
        assert_eq!(
            skipped,
            [
                ("entry[0].changes[0].value.messages[0]", "missing field `id`"),
                ("entry[0].changes[0].value.messages[2]", "invalid type: string, expected struct Text"),
                ("entry[0].changes[1].value.statuses[0]", "missing field `status`"),
                ("entry[0].changes[2].value", "expected an object, found a string"),
                ("entry[0].changes[3]", "expected an object, found a number"),
                ("entry[1]", "expected an object, found a string"),
                ("entry[2].changes", "expected an array, found an object"),
                ("entry[3].changes[0].value.messages", "expected an array, found an object"),
            ]
        );
        for (_, reason) in skipped {
            assert!(!reason.contains("919876543210"), "the reason {reason:?} shows a phone number");
        }
    }

    #[test]
    fn envelope_errors() {
        assert!(matches!(Notification::parse(b"{\"object\":"), Err(EnvelopeError::NotJson(_))));
        assert!(matches!(Notification::parse(b"[1]"), Err(EnvelopeError::MissingObject)));
        assert!(matches!(Notification::parse(br#"{"entry":[]}"#), Err(EnvelopeError::MissingObject)));
        assert!(matches!(Notification::parse(br#"{"object":5}"#), Err(EnvelopeError::MissingObject)));
        let without_entries = parse(r#"{"object":"whatsapp_business_account"}"#).flatten();
        assert!(without_entries.messages.is_empty());
        assert!(without_entries.skipped.is_empty());
    }

    #[test]
    fn profile_name_is_cleaned_and_capped() {
        assert_eq!(clean_profile_name("  Asha\u{0}\n Patil\u{202E} "), "Asha Patil");
        let long = "अ".repeat(200_000);
        let cleaned = clean_profile_name(&long);
        assert_eq!(cleaned.chars().count(), MAX_PROFILE_NAME_CHARS);
        assert!(long.starts_with(&cleaned));

        let notification = with_value(&format!(
            r#"{{"contacts":[{{"wa_id":"919876543210","profile":{{"name":"{long}"}}}}],
            "messages":[{{"from":"919876543210","id":"wamid.N","type":"text","text":{{"body":"hi"}}}}]}}"#
        ));
        let messages = notification.flatten().messages;
        assert_eq!(messages[0].profile_name.chars().count(), MAX_PROFILE_NAME_CHARS);
    }

    #[test]
    fn replies_and_reactions_keep_their_values() {
        let notification = with_value(
            r#"{"contacts":[{"wa_id":"919876543210"}],"messages":[
              {"from":"919876543210","id":"wamid.B","type":"button","button":{"text":"Get a new password","payload":"PASSWORD"}},
              {"from":"919876543210","id":"wamid.I","type":"interactive","interactive":{"type":"button_reply","button_reply":{"id":"lang-mr","title":"मराठी"}}},
              {"from":"919876543210","id":"wamid.L","type":"interactive","interactive":{"type":"list_reply","list_reply":{"id":"row-1","title":"Hindi","description":"x"}}},
              {"from":"919876543210","id":"wamid.R","type":"reaction","reaction":{"message_id":"wamid.out.1","emoji":"👍"}},
              {"from":"919876543210","id":"wamid.U","type":"unsupported","errors":[{"code":131051}]}]}"#,
        );
        let messages = notification.flatten().messages;
        let read: Vec<(&str, &str, Option<&str>)> = messages
            .iter()
            .map(|message| (message.kind.as_str(), message.text.as_str(), message.reply_value.as_deref()))
            .collect();
        assert_eq!(
            read,
            [
                ("button", "Get a new password", Some("PASSWORD")),
                ("interactive", "मराठी", Some("lang-mr")),
                ("interactive", "Hindi", Some("row-1")),
                ("reaction", "👍", None),
                ("unsupported", "", None),
            ]
        );
    }
}
