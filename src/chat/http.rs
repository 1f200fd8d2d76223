//! Chat handler helpers for the portal, the dashboard and the officer API.
//!
//! Each takes a viewer the caller has already authenticated (and checked
//! CSRF for). Every request and file lookup goes through
//! [`ClientRequest::visible`], so a request the viewer may not see is a 404
//! exactly like a missing one.

use std::path::PathBuf;

use actix_web::http::header::{self, Charset, ContentDisposition, DispositionParam, DispositionType, ExtendedValue};
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt as _;

use super::credential::Credential;
use super::files::{
    ascii_fallback, display_name, random_stored_name, sha256_hex, sniff, stored_path, write_stored, MAX_UNSENT_FILES,
    UNSENT_GRACE_HOURS,
};
use super::protocol::{load_views, with_prefix, FileView, MessageView, PostInput};
use super::room::{ask_room, read_only_reason, AccessChanged, AccessChangedEverywhere, Post};
use super::session::{self, SessionSetup};
use super::ChatError;
use crate::db::chat::{ChatFile, ChatMessage, HistoryPage, NewChatFile, UploaderSide};
use crate::db::client_requests::{ClientRequest, Viewer};
use crate::db::ids::{ChatFileId, ChatMessageId, ClientRequestId};
use crate::db::{write_transaction, DbError};
use crate::web::AppState;

/// Download path prefixes of the three areas.
pub mod files_prefix {
    pub const PORTAL: &str = "/portal/files/";
    pub const DASHBOARD: &str = "/dashboard/files/";
    pub const API: &str = "/api/v1/files/";
}

/// Returns the download path prefix of the area that `path` belongs to.
pub fn files_prefix_for(path: &str) -> &'static str {
    if path.starts_with("/portal/") {
        files_prefix::PORTAL
    } else if path.starts_with("/dashboard/") {
        files_prefix::DASHBOARD
    } else {
        files_prefix::API
    }
}

/// Returns the download path prefix for a viewer when no request path is
/// known: the portal's for clients, the dashboard's for staff.
fn default_prefix(viewer: &Viewer) -> &'static str {
    match viewer {
        Viewer::Client(_) => files_prefix::PORTAL,
        Viewer::Staff { .. } => files_prefix::DASHBOARD,
    }
}

/// Loads the request if `viewer` may see it; otherwise the 404 of a
/// missing request.
async fn visible_request(
    state: &AppState,
    viewer: &Viewer,
    request_id: ClientRequestId,
) -> Result<ClientRequest, ChatError> {
    let viewer = viewer.clone();
    let request = state
        .engine
        .database
        .run(move |connection| ClientRequest::visible(connection, &viewer, request_id).map_err(DbError::from))
        .await?;
    request.ok_or_else(|| ChatError::request_not_found(request_id))
}

/// Upgrades `request` to the WebSocket of the chat of `request_id`. With
/// `after`, the first history frame has every message after that id (at
/// most [`super::room::MAX_MISSED_MESSAGES`]); without it, the latest page.
/// `credential` is the sign-in that authenticated `viewer`; the socket is
/// closed with 1008 once it ends (see [`super::credential`]).
pub async fn connect(
    state: &AppState,
    request: &HttpRequest,
    body: web::Payload,
    viewer: Viewer,
    credential: Credential,
    request_id: ClientRequestId,
    after: Option<ChatMessageId>,
) -> Result<HttpResponse, ChatError> {
    visible_request(state, &viewer, request_id).await?;
    let (response, ws_session, stream) = actix_ws::handle(request, body).map_err(|error| {
        ChatError::BadRequest(format!("WebSocket handshake failed: {error}; open this address with a WebSocket client"))
    })?;
    let setup = SessionSetup {
        engine: state.engine.clone(),
        registry: state.chat.clone(),
        request_id,
        viewer,
        credential,
        after,
        files_prefix: files_prefix_for(request.path()).to_owned(),
    };
    actix_web::rt::spawn(session::run(setup, ws_session, stream));
    Ok(response)
}

/// Returns whether the request's `Origin` header, when present, names the
/// host the request was sent to or the origin of `public_url`, the address
/// clients open (`portal.public_url`). Browsers send the page's origin with
/// every WebSocket handshake, and a cookie-authenticated handshake from a
/// page of another site must be rejected (cross-site WebSocket hijacking).
/// The public address is accepted because a proxy in front of the server
/// may pass on its own `Host`. Requests without the header (clients other
/// than browsers) pass, because they carry no ambient cookie.
pub fn same_origin(request: &HttpRequest, public_url: &str) -> bool {
    let Some(origin) = request.headers().get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let host = request.headers().get(header::HOST).and_then(|value| value.to_str().ok()).unwrap_or("");
    let origin_host = origin.split_once("://").map(|(_, rest)| rest).unwrap_or("");
    let same_host = !host.is_empty() && origin_host.eq_ignore_ascii_case(host);
    same_host || (!public_url.is_empty() && origin.eq_ignore_ascii_case(public_origin(public_url)))
}

/// Returns the scheme and authority of `url`, without any path.
fn public_origin(url: &str) -> &str {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url;
    };
    let authority_length = rest.find('/').unwrap_or(rest.len());
    &url[..scheme.len() + 3 + authority_length]
}

/// Reads an upload body. A body whose `Content-Length` is over
/// `chat.max_file_bytes` is rejected before it is read, with its size, and
/// any other body as soon as it passes the limit. Routes that take uploads
/// use this instead of the `Bytes` extractor, whose limit is fixed when
/// routes are built.
pub async fn read_upload(
    state: &AppState,
    request: &HttpRequest,
    mut payload: web::Payload,
) -> Result<web::Bytes, ChatError> {
    let limit = state.engine.settings.chat.max_file_bytes;
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    if let Some(size) = declared.filter(|size| *size > limit) {
        return Err(ChatError::TooLarge { size, limit });
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|error| ChatError::BadRequest(format!("reading the upload failed: {error}")))?;
        if body.len() + chunk.len() > limit {
            return Err(ChatError::OverLimit { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// Stores an uploaded file for the chat of `request_id` and returns 201
/// with `{"file": {...}}`. Its `url` is under the portal for clients and
/// under the dashboard for staff. The sender then posts a message with its
/// id. Each side may hold at most [`MAX_UNSENT_FILES`] files per request
/// that no message refers to; a further upload gets 409.
pub async fn upload(
    state: &AppState,
    viewer: Viewer,
    request_id: ClientRequestId,
    file_name: &str,
    body: web::Bytes,
) -> Result<HttpResponse, ChatError> {
    let prefix = default_prefix(&viewer);
    upload_with_prefix(state, viewer, request_id, file_name, body, prefix).await
}

/// Does the work of [`upload`], with the download path under `prefix`.
pub async fn upload_with_prefix(
    state: &AppState,
    viewer: Viewer,
    request_id: ClientRequestId,
    file_name: &str,
    body: web::Bytes,
    prefix: &str,
) -> Result<HttpResponse, ChatError> {
    let settings = &state.engine.settings.chat;
    let request = visible_request(state, &viewer, request_id).await?;
    if !viewer.can_write(&request) {
        return Err(ChatError::Forbidden(read_only_reason(&request)));
    }
    if body.len() > settings.max_file_bytes {
        return Err(ChatError::TooLarge { size: body.len(), limit: settings.max_file_bytes });
    }
    if body.is_empty() {
        return Err(ChatError::BadRequest("the upload is empty: send the file's bytes as the request body".into()));
    }
    // The checks on the file itself come before the unsent-file limit, so
    // a file that would never be accepted gets 413 or 415 rather than 409.
    let sniffed = sniff(&body);
    if !settings.allowed_types.iter().any(|allowed| allowed.eq_ignore_ascii_case(sniffed.content_type)) {
        let allowed = settings.allowed_types.join(", ");
        return Err(match sniffed.extension {
            Some(_) => ChatError::UnsupportedType { detected: sniffed.content_type.to_owned(), allowed },
            None => ChatError::UnknownType { allowed },
        });
    }
    let side = UploaderSide::of(&viewer);
    let unsent = state
        .engine
        .database
        .run(move |connection| ChatFile::count_unsent(connection, request_id, side).map_err(DbError::from))
        .await?;
    if unsent >= MAX_UNSENT_FILES {
        return Err(too_many_unsent(request_id, side));
    }

    let original_name = display_name(file_name, sniffed.extension);
    let stored_name = random_stored_name();
    let sha256 = sha256_hex(&body);
    let size_bytes = i64::try_from(body.len()).unwrap_or(i64::MAX);
    let directory = PathBuf::from(&settings.files_dir);
    let path = {
        let write_directory = directory.clone();
        let stored_name = stored_name.clone();
        web::block(move || write_stored(&write_directory, &stored_name, &body))
            .await
            .map_err(|error| ChatError::Internal(anyhow::anyhow!("file write task failed: {error}")))?
            .map_err(|error| {
                ChatError::Internal(anyhow::Error::new(error).context(format!(
                    "writing an upload to {} failed: check that chat.files_dir exists or can be created and is writable",
                    directory.display()
                )))
            })?
    };

    let now = state.engine.clock.now_naive();
    let (uploaded_by_client, uploaded_by_staff) = match &viewer {
        Viewer::Client(client) => (Some(*client), None),
        Viewer::Staff { id, .. } => (None, Some(*id)),
    };
    let insert_name = stored_name.clone();
    let inserted = state
        .engine
        .database
        .run(move |connection| {
            write_transaction(connection, |connection| {
                // Checked again under the write lock, because uploads running
                // at the same time all passed the first check.
                if ChatFile::count_unsent(connection, request_id, side)? >= MAX_UNSENT_FILES {
                    return Ok(None);
                }
                let new = NewChatFile {
                    request_id,
                    stored_name: &insert_name,
                    original_name: &original_name,
                    content_type: sniffed.content_type,
                    size_bytes,
                    sha256: &sha256,
                    uploaded_by_client,
                    uploaded_by_staff,
                    created_at: now,
                };
                ChatFile::insert(connection, &new).map(Some).map_err(DbError::from)
            })
        })
        .await;
    let file = match inserted {
        Ok(Some(file)) => file,
        Ok(None) => {
            remove_unstored(&path, &stored_name);
            return Err(too_many_unsent(request_id, side));
        }
        Err(error) => {
            remove_unstored(&path, &stored_name);
            return Err(error.into());
        }
    };
    tracing::info!(%request_id, file_id = %file.id, content_type = file.content_type, size = file.size_bytes, "stored a chat upload");
    Ok(HttpResponse::Created()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(serde_json::json!({ "file": FileView::new(&file, prefix) })))
}

fn too_many_unsent(request_id: ClientRequestId, side: UploaderSide) -> ChatError {
    // Staff share one count, so an officer who took the request over may
    // meet files a colleague uploaded.
    let uploaders = match side {
        UploaderSide::Client => "you",
        UploaderSide::Staff => "the request's staff",
    };
    ChatError::TooManyUnsentFiles { uploaders, request_id, limit: MAX_UNSENT_FILES, grace_hours: UNSENT_GRACE_HOURS }
}

/// Removes the stored copy of an upload whose row was not inserted.
fn remove_unstored(path: &std::path::Path, stored_name: &str) {
    if let Err(remove_error) = std::fs::remove_file(path) {
        tracing::warn!(%remove_error, stored_name, "removing an upload whose row was not stored failed");
    }
}

/// Sends the stored file `file_id` if its request is visible to the viewer
/// and, while no message has sent it, only to the side that uploaded it.
/// Any other file gets the 404 of a missing one. Images are shown inline,
/// other types are downloaded; the response carries the sniffed type and
/// `X-Content-Type-Options: nosniff`.
pub async fn download(state: &AppState, viewer: Viewer, file_id: ChatFileId) -> Result<HttpResponse, ChatError> {
    let file = state
        .engine
        .database
        .run(move |connection| {
            let Some(file) = ChatFile::find(connection, file_id)? else {
                return Ok(None);
            };
            if ClientRequest::visible(connection, &viewer, file.request_id)?.is_none() {
                return Ok(None);
            }
            let own_upload = file.uploader_side() == UploaderSide::of(&viewer);
            if !own_upload && !ChatFile::is_sent(connection, file.id)? {
                return Ok(None);
            }
            Ok::<_, DbError>(Some(file))
        })
        .await?
        .ok_or_else(|| ChatError::file_not_found(file_id))?;

    let directory = PathBuf::from(&state.engine.settings.chat.files_dir);
    let Some(path) = stored_path(&directory, &file.stored_name) else {
        return Err(ChatError::Internal(anyhow::anyhow!("file {file_id} has an invalid stored name")));
    };
    let content = web::block(move || std::fs::read(&path).map_err(|error| (path, error)))
        .await
        .map_err(|error| ChatError::Internal(anyhow::anyhow!("file read task failed: {error}")))?
        .map_err(|(path, error)| {
            ChatError::Internal(anyhow::Error::new(error).context(format!("reading {} failed", path.display())))
        })?;

    let disposition_type =
        if file.content_type.starts_with("image/") { DispositionType::Inline } else { DispositionType::Attachment };
    let disposition = ContentDisposition {
        disposition: disposition_type,
        parameters: vec![
            DispositionParam::Filename(ascii_fallback(&file.original_name)),
            DispositionParam::FilenameExt(ExtendedValue {
                charset: Charset::Ext("UTF-8".into()),
                language_tag: None,
                value: file.original_name.clone().into_bytes(),
            }),
        ],
    };
    Ok(HttpResponse::Ok()
        .content_type(file.content_type.as_str())
        .insert_header(disposition)
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CONTENT_SECURITY_POLICY, "default-src 'none'; sandbox"))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .body(content))
}

/// Makes the room of `request_id` check every member again after the request
/// was accepted, reassigned, released or closed: members who lost access are
/// disconnected, the others get a `status` frame.
pub async fn access_changed(state: &AppState, request_id: ClientRequestId) {
    if let Err(error) = state.chat.send(AccessChanged { request_id }).await {
        tracing::error!(%error, %request_id, "telling the chat room about an access change failed");
    }
}

/// Makes every running chat room re-check its members, after a staff
/// user's role, corporations or active flag changed.
pub async fn staff_changed(state: &AppState) {
    if let Err(error) = state.chat.send(AccessChangedEverywhere).await {
        tracing::error!(%error, "telling the chat rooms about a staff change failed");
    }
}

/// The range of messages a REST history request selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryRange {
    /// The latest `limit` messages.
    Latest,
    /// Messages after this id, oldest first.
    After(ChatMessageId),
    /// Messages before this id, the newest of them.
    Before(ChatMessageId),
}

/// Loads a page of the chat of `request_id` for `viewer`, with download
/// paths under `prefix`.
pub async fn history(
    state: &AppState,
    viewer: Viewer,
    request_id: ClientRequestId,
    range: HistoryRange,
    limit: i64,
    prefix: &'static str,
) -> Result<(Vec<MessageView>, bool), ChatError> {
    let loaded = state
        .engine
        .database
        .run(move |connection| {
            let Some(request) = ClientRequest::visible(connection, &viewer, request_id)? else {
                return Ok(None);
            };
            let HistoryPage { messages, has_more } = match range {
                HistoryRange::Latest => ChatMessage::latest(connection, request_id, limit)?,
                HistoryRange::After(after) => ChatMessage::page_after(connection, request_id, after, limit)?,
                HistoryRange::Before(before) => ChatMessage::page_before(connection, request_id, Some(before), limit)?,
            };
            let views = load_views(connection, &request, &messages, prefix)?;
            Ok::<_, DbError>(Some((views, has_more)))
        })
        .await?;
    loaded.ok_or_else(|| ChatError::request_not_found(request_id))
}

/// Posts a message through the request's room, so WebSocket members get
/// it. Returns the stored message (download paths under `prefix`) and
/// whether this call stored it; a repeated `client_message_id` returns the
/// first message.
pub async fn post_message(
    state: &AppState,
    viewer: Viewer,
    request_id: ClientRequestId,
    input: PostInput,
    prefix: &str,
) -> Result<(MessageView, bool), ChatError> {
    let (_room, answer) = ask_room(&state.chat, request_id, || Post {
        viewer: viewer.clone(),
        input: input.clone(),
        member: None,
        credential: None,
    })
    .await?;
    let (view, created) = answer?;
    Ok((with_prefix(&view, prefix), created))
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    #[test]
    fn origin_must_match_host() {
        let same = TestRequest::default()
            .insert_header((header::HOST, "127.0.0.1:8080"))
            .insert_header((header::ORIGIN, "http://127.0.0.1:8080"))
            .to_http_request();
        let other = TestRequest::default()
            .insert_header((header::HOST, "127.0.0.1:8080"))
            .insert_header((header::ORIGIN, "https://evil.example"))
            .to_http_request();
        let none = TestRequest::default().insert_header((header::HOST, "127.0.0.1:8080")).to_http_request();

        assert!(same_origin(&same, ""));
        assert!(!same_origin(&other, ""));
        assert!(same_origin(&none, ""));
    }

    #[test]
    fn public_url_origin_passes_behind_a_proxy() {
        let proxied = TestRequest::default()
            .insert_header((header::HOST, "127.0.0.1:8080"))
            .insert_header((header::ORIGIN, "https://help.example.org"))
            .to_http_request();

        assert!(same_origin(&proxied, "https://help.example.org"));
        assert!(same_origin(&proxied, "https://help.example.org/sandesh"));
        assert!(!same_origin(&proxied, "https://other.example.org"));
        assert!(!same_origin(&proxied, ""));
    }
}
