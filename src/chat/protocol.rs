//! The chat's JSON: message objects, the frames the server sends, and the
//! checks on what a client sends. docs/chat-protocol.md describes the same
//! protocol for app developers.

use std::collections::HashMap;

use chrono::{NaiveDateTime, SecondsFormat};
use diesel::prelude::*;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::db::chat::{ChatFile, ChatMessage};
use crate::db::client_requests::ClientRequest;
use crate::db::ids::{ChatFileId, ChatMessageId};
use crate::db::schema::staff_users;
use crate::db::staff::StaffId;
use crate::db::DbConnection;

/// Maximum length of a sender-generated message id, in characters.
pub const MAX_CLIENT_ID_CHARS: usize = 64;

/// Maximum length of a message text or file caption, in characters.
pub const MAX_TEXT_CHARS: usize = 4096;

/// A stored file as the chat shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FileView {
    #[schema(value_type = i32, example = 12)]
    pub id: ChatFileId,
    /// The uploaded name, cleaned; for display only.
    #[schema(example = "report.pdf")]
    pub name: String,
    /// The type detected from the content.
    #[schema(example = "application/pdf")]
    pub content_type: String,
    /// Size in bytes.
    pub size: i64,
    /// The download path for the viewer's area (portal, dashboard or API).
    #[schema(example = "/api/v1/files/12")]
    pub url: String,
}

impl FileView {
    /// Builds the view of `file` with its download path under `files_prefix`.
    pub fn new(file: &ChatFile, files_prefix: &str) -> Self {
        FileView {
            id: file.id,
            name: file.original_name.clone(),
            content_type: file.content_type.clone(),
            size: file.size_bytes,
            url: format!("{files_prefix}{}", file.id),
        }
    }
}

/// A stored message as the chat shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct MessageView {
    #[schema(value_type = i32, example = 41)]
    pub id: ChatMessageId,
    /// The id the sender generated for the message.
    #[schema(example = "1b4e28ba-2fa1-11d2-883f-0016d3cca427")]
    pub client_id: String,
    /// `client` or `helper`.
    #[schema(example = "helper")]
    pub sender: String,
    pub sender_name: String,
    /// `text` or `file`.
    #[schema(example = "text")]
    pub kind: String,
    /// The text, or the caption of a file (may be empty).
    pub text: String,
    pub file: Option<FileView>,
    /// RFC 3339, UTC.
    #[schema(example = "2026-03-02T04:30:00.000Z")]
    pub sent_at: String,
    /// When the other side's screen received it (RFC 3339, UTC).
    pub delivered_at: Option<String>,
    /// When the other side's screen showed it (RFC 3339, UTC).
    pub read_at: Option<String>,
}

/// Formats a stored UTC time as RFC 3339 with milliseconds and `Z`.
pub fn rfc3339(utc: NaiveDateTime) -> String {
    utc.and_utc().to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Builds the views of `messages` of `request`, loading their files and the
/// names of their senders. File paths start with `files_prefix`.
pub fn load_views(
    connection: &mut DbConnection,
    request: &ClientRequest,
    messages: &[ChatMessage],
    files_prefix: &str,
) -> QueryResult<Vec<MessageView>> {
    let file_ids: Vec<ChatFileId> = messages.iter().filter_map(|message| message.file_id).collect();
    let files: HashMap<ChatFileId, ChatFile> = if file_ids.is_empty() {
        HashMap::new()
    } else {
        ChatFile::find_many(connection, &file_ids)?.into_iter().map(|file| (file.id, file)).collect()
    };

    let staff_ids: Vec<StaffId> = messages.iter().filter_map(|message| message.staff_id).collect();
    let staff_names: HashMap<StaffId, String> = if staff_ids.is_empty() {
        HashMap::new()
    } else {
        staff_users::table
            .filter(staff_users::id.eq_any(&staff_ids))
            .select((staff_users::id, staff_users::name))
            .load::<(StaffId, String)>(connection)?
            .into_iter()
            .collect()
    };

    let views = messages
        .iter()
        .map(|message| {
            let sender_name = match message.staff_id {
                Some(staff) => staff_names.get(&staff).cloned().unwrap_or_default(),
                None => request.contact_name.clone(),
            };
            let file = message.file_id.and_then(|id| files.get(&id)).map(|file| FileView::new(file, files_prefix));
            MessageView {
                id: message.id,
                client_id: message.client_message_id.clone(),
                sender: message.sender.clone(),
                sender_name,
                kind: message.kind.clone(),
                text: message.body.clone(),
                file,
                sent_at: rfc3339(message.sent_at),
                delivered_at: message.delivered_at.map(rfc3339),
                read_at: message.read_at.map(rfc3339),
            }
        })
        .collect();
    Ok(views)
}

/// A frame the server sends on the WebSocket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ServerFrame {
    /// The latest page on join, every message after `?after=` on a join
    /// that names it, or the page before the id of an `older` request.
    History { messages: Vec<MessageView>, has_more: bool },
    /// A new message, or the stored one again for the sender of a resend.
    Message { message: Box<MessageView> },
    /// New delivery or read times. A `null` time is left unchanged.
    Receipt { ids: Vec<ChatMessageId>, delivered_at: Option<String>, read_at: Option<String> },
    /// The request's status after it was taken, released, reassigned or
    /// closed, and whether this viewer may still post.
    Status { status: String, can_write: bool },
    /// A frame from the client that was rejected, and why. `client_id` is
    /// set when a frame that carries one was rejected for good (invalid, or
    /// not allowed), so the sender can mark that message as failed instead
    /// of sending it again.
    Error {
        message: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        client_id: Option<String>,
    },
}

impl ServerFrame {
    /// Serialises the frame, with file paths under `files_prefix`.
    pub fn to_text(&self, files_prefix: &str) -> String {
        let rewritten;
        let frame = match self {
            ServerFrame::History { messages, has_more } => {
                let messages = messages.iter().map(|message| with_prefix(message, files_prefix)).collect();
                rewritten = ServerFrame::History { messages, has_more: *has_more };
                &rewritten
            }
            ServerFrame::Message { message } => {
                rewritten = ServerFrame::Message { message: Box::new(with_prefix(message, files_prefix)) };
                &rewritten
            }
            other => other,
        };
        serde_json::to_string(frame).unwrap_or_else(|error| {
            tracing::error!(%error, "serialising a chat frame failed");
            r#"{"type":"error","message":"the server could not encode a frame"}"#.to_owned()
        })
    }
}

/// Returns `message` with its file path under `files_prefix`.
pub fn with_prefix(message: &MessageView, files_prefix: &str) -> MessageView {
    let mut message = message.clone();
    if let Some(file) = message.file.as_mut() {
        file.url = format!("{files_prefix}{}", file.id);
    }
    message
}

/// A checked request to post a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostInput {
    pub client_message_id: String,
    /// The text, or the caption of a file; trimmed.
    pub text: String,
    pub file_id: Option<ChatFileId>,
}

impl PostInput {
    /// Checks the fields of a message to post; the error names the field
    /// and the fix.
    pub fn new(client_id: Option<&str>, text: Option<&str>, file_id: Option<i64>) -> Result<Self, String> {
        let Some(client_id) = client_id.map(str::trim).filter(|id| !id.is_empty()) else {
            return Err("missing client_id: send a unique id, such as a UUID, with every message".to_owned());
        };
        let id_chars = client_id.chars().count();
        if id_chars > MAX_CLIENT_ID_CHARS {
            return Err(format!("client_id is {id_chars} characters long, the maximum is {MAX_CLIENT_ID_CHARS}"));
        }
        let text = text.unwrap_or_default().trim();
        let text_chars = text.chars().count();
        if text_chars > MAX_TEXT_CHARS {
            return Err(format!("text is {text_chars} characters long, the maximum is {MAX_TEXT_CHARS}: split it"));
        }
        let file_id = match file_id {
            None => None,
            Some(id) => Some(ChatFileId(
                i32::try_from(id).map_err(|_| format!("invalid file_id {id}: use the id returned by the upload"))?,
            )),
        };
        if file_id.is_none() && text.is_empty() {
            return Err("empty text: write a message or attach a file".to_owned());
        }
        Ok(PostInput { client_message_id: client_id.to_owned(), text: text.to_owned(), file_id })
    }
}

/// The rejection of a client frame that cannot be read or has invalid
/// fields, sent back as an `error` frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedFrame {
    /// The reason for the rejection and the fix.
    pub message: String,
    /// The frame's `client_id`, when the frame is a JSON object with a
    /// string `client_id`. Echoing it makes the rejection permanent, so the
    /// sender marks that message as failed instead of sending it again.
    pub client_id: Option<String>,
}

/// A frame a chat member sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientFrame {
    Send(PostInput),
    /// Marks the other side's messages up to the id delivered and read.
    Seen {
        up_to: ChatMessageId,
    },
    /// Marks the other side's messages up to the id delivered.
    Delivered {
        up_to: ChatMessageId,
    },
    /// Asks for the page of messages before the id.
    Older {
        before: ChatMessageId,
    },
}

impl ClientFrame {
    /// Reads a text frame; the error is sent back as an `error` frame.
    pub fn parse(text: &str) -> Result<Self, RejectedFrame> {
        let value: Value = serde_json::from_str(text).map_err(|error| RejectedFrame {
            message: format!("invalid JSON: {error}; send an object such as {{\"type\":\"send\",...}}"),
            client_id: None,
        })?;
        Self::from_value(&value).map_err(|message| RejectedFrame {
            message,
            client_id: value.get("client_id").and_then(Value::as_str).map(str::to_owned),
        })
    }

    /// Reads a frame that is valid JSON. The error names the field and the
    /// fix.
    fn from_value(value: &Value) -> Result<Self, String> {
        let Some(object) = value.as_object() else {
            return Err("invalid frame: send a JSON object with a \"type\" field".to_owned());
        };
        let Some(kind) = object.get("type").and_then(Value::as_str) else {
            return Err("missing type: use send, seen, delivered or older".to_owned());
        };
        match kind {
            "send" => {
                let client_id = match object.get("client_id") {
                    None | Some(Value::Null) => None,
                    Some(Value::String(id)) => Some(id.as_str()),
                    Some(_) => return Err("invalid client_id: it must be a string, such as a UUID".to_owned()),
                };
                let text = match object.get("text") {
                    None | Some(Value::Null) => None,
                    Some(Value::String(text)) => Some(text.as_str()),
                    Some(_) => return Err("invalid text: it must be a string".to_owned()),
                };
                let file_id = match object.get("file_id") {
                    None | Some(Value::Null) => None,
                    Some(value) => Some(
                        value.as_i64().ok_or("invalid file_id: use the number returned by the upload".to_owned())?,
                    ),
                };
                PostInput::new(client_id, text, file_id).map(ClientFrame::Send)
            }
            "seen" => message_id(object.get("up_to"), "up_to").map(|up_to| ClientFrame::Seen { up_to }),
            "delivered" => message_id(object.get("up_to"), "up_to").map(|up_to| ClientFrame::Delivered { up_to }),
            "older" => message_id(object.get("before"), "before").map(|before| ClientFrame::Older { before }),
            other => Err(format!("unknown type '{other}': use send, seen, delivered or older")),
        }
    }
}

fn message_id(value: Option<&Value>, field: &str) -> Result<ChatMessageId, String> {
    let Some(value) = value.filter(|value| !value.is_null()) else {
        return Err(format!("missing {field}: send a message id"));
    };
    value
        .as_i64()
        .and_then(|id| i32::try_from(id).ok())
        .filter(|id| *id >= 0)
        .map(ChatMessageId)
        .ok_or_else(|| format!("invalid {field} {value}: use a message id from this chat"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_frame_parses() {
        let frame = ClientFrame::parse(r#"{"type":"send","client_id":"abc","text":"  hello "}"#);

        assert_eq!(
            frame,
            Ok(ClientFrame::Send(PostInput { client_message_id: "abc".into(), text: "hello".into(), file_id: None }))
        );
    }

    #[test]
    fn file_send_needs_no_text() {
        let frame = ClientFrame::parse(r#"{"type":"send","client_id":"abc","file_id":12}"#);

        assert_eq!(
            frame,
            Ok(ClientFrame::Send(PostInput {
                client_message_id: "abc".into(),
                text: String::new(),
                file_id: Some(ChatFileId(12)),
            }))
        );
    }

    #[test]
    fn bad_frames_name_the_fault() {
        let long_id = "x".repeat(65);
        let long_text = "a".repeat(4097);
        let cases = [
            ("not json".to_owned(), "invalid JSON"),
            ("[1]".to_owned(), "JSON object"),
            (r#"{"text":"hi"}"#.to_owned(), "missing type"),
            (r#"{"type":"shout"}"#.to_owned(), "unknown type 'shout'"),
            (r#"{"type":"send","text":"hi"}"#.to_owned(), "missing client_id"),
            (format!(r#"{{"type":"send","client_id":"{long_id}","text":"hi"}}"#), "maximum is 64"),
            (r#"{"type":"send","client_id":"a","text":"   "}"#.to_owned(), "empty text"),
            (format!(r#"{{"type":"send","client_id":"a","text":"{long_text}"}}"#), "maximum is 4096"),
            (r#"{"type":"send","client_id":"a","file_id":"x"}"#.to_owned(), "invalid file_id"),
            (r#"{"type":"seen"}"#.to_owned(), "missing up_to"),
            (r#"{"type":"older","before":-1}"#.to_owned(), "invalid before"),
        ];

        for (frame, expected) in cases {
            let error = ClientFrame::parse(&frame).expect_err(&frame);
            assert!(error.message.contains(expected), "{frame}: {error:?}");
        }
    }

    #[test]
    fn rejected_frames_echo_string_client_id() {
        let long_text = "a".repeat(4097);
        let cases = [
            (format!(r#"{{"type":"send","client_id":"a","text":"{long_text}"}}"#), Some("a")),
            (r#"{"type":"send","client_id":"b","text":" "}"#.to_owned(), Some("b")),
            (r#"{"type":"send","client_id":"c","file_id":"x"}"#.to_owned(), Some("c")),
            (r#"{"type":"send","client_id":"d","text":7}"#.to_owned(), Some("d")),
            (r#"{"type":"shout","client_id":"e"}"#.to_owned(), Some("e")),
            (r#"{"type":"send","client_id":12,"text":"hi"}"#.to_owned(), None),
            (r#"{"type":"send","text":"hi"}"#.to_owned(), None),
            (r#"["client_id"]"#.to_owned(), None),
            ("not json".to_owned(), None),
        ];

        for (frame, expected) in cases {
            let error = ClientFrame::parse(&frame).expect_err(&frame);
            assert_eq!(error.client_id.as_deref(), expected, "{frame}: {error:?}");
        }
    }

    #[test]
    fn file_paths_follow_the_viewer_area() {
        let message = MessageView {
            id: ChatMessageId(1),
            client_id: "a".into(),
            sender: "client".into(),
            sender_name: "Seema".into(),
            kind: "file".into(),
            text: String::new(),
            file: Some(FileView {
                id: ChatFileId(5),
                name: "x.pdf".into(),
                content_type: "application/pdf".into(),
                size: 3,
                url: String::new(),
            }),
            sent_at: "2026-03-02T04:30:00.000Z".into(),
            delivered_at: None,
            read_at: None,
        };

        let text = ServerFrame::Message { message: Box::new(message) }.to_text("/portal/files/");
        let value: Value = serde_json::from_str(&text).expect("valid JSON");

        assert_eq!(value["type"], "message");
        assert_eq!(value["message"]["file"]["url"], "/portal/files/5");
    }
}
