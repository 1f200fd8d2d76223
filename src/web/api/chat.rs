//! Chat in the officer API: messages over REST, files, and the WebSocket.
//!
//! - `GET /api/v1/requests/{id}/messages?after=&before=&limit=`;
//! - `POST /api/v1/requests/{id}/messages` with `{client_id, text}` or
//!   `{client_id, file_id, text}`, stored through the request's chat room so
//!   WebSocket members get it;
//! - `POST /api/v1/requests/{id}/files?name=` with the raw file as the body;
//! - `GET /api/v1/files/{id}`;
//! - `GET /api/v1/requests/{id}/ws?after=`, the WebSocket described in
//!   docs/chat-protocol.md.
//!
//! A request the token's user may not see gets the same 404 as a missing
//! one, and so do its files and its WebSocket.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::ApiUser;
use super::{parse_path_id, ApiError, ErrorBody};
use crate::chat::http::{self as chat_http, files_prefix, HistoryRange};
use crate::chat::protocol::{FileView, MessageView, PostInput};
use crate::db::client_requests::Viewer;
use crate::db::ids::{ChatFileId, ChatMessageId, ClientRequestId};
use crate::web::AppState;

const REQUEST_NOT_FOUND: &str = "request not found";
const FILE_NOT_FOUND: &str = "file not found";

/// Maximum messages one history request may ask for.
pub const MAX_HISTORY_LIMIT: i64 = 200;

/// Registers the chat endpoints inside the API scope.
pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/requests/{id}/messages", web::get().to(list_messages))
        .route("/requests/{id}/messages", web::post().to(post_message))
        .route("/requests/{id}/files", web::post().to(upload_file))
        .route("/requests/{id}/ws", web::get().to(websocket))
        .route("/files/{id}", web::get().to(download_file));
}

fn viewer_of(api_user: &ApiUser) -> Viewer {
    Viewer::Staff { id: api_user.user.id, scope: api_user.scope.clone() }
}

fn request_id(path: &str) -> Result<ClientRequestId, ApiError> {
    parse_path_id(path, REQUEST_NOT_FOUND).map(ClientRequestId)
}

/// Reads an optional message id parameter; anything but a whole number
/// from 0 is a 400 naming the parameter.
fn message_id_param(field: &'static str, value: Option<&str>) -> Result<Option<ChatMessageId>, ApiError> {
    let Some(text) = value.map(str::trim).filter(|text| !text.is_empty()) else {
        return Ok(None);
    };
    match text.parse::<i32>() {
        Ok(id) if id >= 0 => Ok(Some(ChatMessageId(id))),
        _ => Err(ApiError::BadRequest {
            field: Some(field),
            message: format!("invalid {field} '{text}': use a message id, a whole number from 0"),
        }),
    }
}

/// Parameters of the message history.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MessagesQuery {
    /// Return the messages after this id, oldest first (to catch up).
    #[param(value_type = Option<i32>, minimum = 0)]
    after: Option<String>,
    /// Return the newest messages before this id (to scroll back).
    #[param(value_type = Option<i32>, minimum = 0)]
    before: Option<String>,
    /// Messages per page, 1 to 200; `chat.history_page` when left out.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 200)]
    limit: Option<String>,
}

/// A page of messages, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessagePage {
    pub messages: Vec<MessageView>,
    /// Whether more messages exist beyond this page in the direction asked
    /// for (older ones, or newer ones with `after`).
    pub has_more: bool,
}

/// Lists the chat messages of a request: the latest page, the messages
/// after `after`, or the page before `before`.
#[utoipa::path(
    get,
    path = "/api/v1/requests/{id}/messages",
    operation_id = "list_request_messages",
    tag = "chat",
    security(("bearer" = [])),
    params(("id" = i32, Path, description = "Request id"), MessagesQuery),
    responses(
        (status = 200, description = "A page of messages, oldest first", body = MessagePage),
        (status = 400, description = "An invalid after, before or limit, or both after and before", body = ErrorBody),
        (status = 401, description = "Missing, unknown, expired or revoked token", body = ErrorBody),
        (status = 404, description = "No such request visible to the user", body = ErrorBody),
        (status = 503, description = "The database is busy", body = ErrorBody),
    )
)]
pub async fn list_messages(
    state: web::Data<AppState>,
    api_user: ApiUser,
    path: web::Path<String>,
    query: web::Query<MessagesQuery>,
) -> Result<HttpResponse, actix_web::Error> {
    let id = request_id(&path.into_inner())?;
    let after = message_id_param("after", query.after.as_deref())?;
    let before = message_id_param("before", query.before.as_deref())?;
    let range = match (after, before) {
        (Some(_), Some(_)) => {
            return Err(ApiError::BadRequest {
                field: Some("before"),
                message: "give either after or before, not both".to_owned(),
            }
            .into())
        }
        (Some(after), None) => HistoryRange::After(after),
        (None, Some(before)) => HistoryRange::Before(before),
        (None, None) => HistoryRange::Latest,
    };
    let default_limit = i64::from(state.engine.settings.chat.history_page.clamp(1, MAX_HISTORY_LIMIT as u32));
    let limit = match query.limit.as_deref().map(str::trim).filter(|text| !text.is_empty()) {
        None => default_limit,
        Some(text) => match text.parse::<i64>() {
            Ok(limit) if (1..=MAX_HISTORY_LIMIT).contains(&limit) => limit,
            _ => {
                return Err(ApiError::BadRequest {
                    field: Some("limit"),
                    message: format!("invalid limit '{text}': use a whole number from 1 to {MAX_HISTORY_LIMIT}"),
                }
                .into())
            }
        },
    };

    let (messages, has_more) =
        chat_http::history(&state, viewer_of(&api_user), id, range, limit, files_prefix::API).await?;
    Ok(HttpResponse::Ok().json(MessagePage { messages, has_more }))
}

/// A message to post.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PostMessageRequest {
    /// A unique id generated by the sender, at most 64 characters. Posting
    /// the same message again with the same id returns the first message
    /// and stores nothing; an id already used for a different message gets
    /// 400.
    #[schema(example = "1b4e28ba-2fa1-11d2-883f-0016d3cca427")]
    pub client_id: Option<String>,
    /// The text, at most 4096 characters; the caption of a file when
    /// `file_id` is set.
    #[schema(example = "I have booked you for Tuesday at 10.")]
    pub text: Option<String>,
    /// A file that staff uploaded to this request with
    /// `POST /api/v1/requests/{id}/files`. A file the client uploaded is
    /// rejected with 400.
    pub file_id: Option<i64>,
}

/// The stored message.
#[derive(Debug, Serialize, ToSchema)]
pub struct PostedMessage {
    pub message: MessageView,
}

/// Posts a message in a request's chat. Only the helper the request is
/// assigned to may post, while it is not closed.
#[utoipa::path(
    post,
    path = "/api/v1/requests/{id}/messages",
    operation_id = "post_request_message",
    tag = "chat",
    security(("bearer" = [])),
    params(("id" = i32, Path, description = "Request id")),
    request_body = PostMessageRequest,
    responses(
        (status = 201, description = "The message was stored and sent to the chat", body = PostedMessage),
        (status = 200, description = "A message with this client_id was already stored; it is returned unchanged", body = PostedMessage),
        (status = 400, description = "A missing or too long client_id, a client_id already used for a different message in this request, an empty or too long text, a file of another request, or a file the client uploaded", body = ErrorBody),
        (status = 401, description = "Missing, unknown, expired or revoked token", body = ErrorBody),
        (status = 403, description = "The user may read the chat but not post: the request is closed or not assigned to them", body = ErrorBody),
        (status = 404, description = "No such request visible to the user", body = ErrorBody),
        (status = 503, description = "The database is busy", body = ErrorBody),
    )
)]
pub async fn post_message(
    state: web::Data<AppState>,
    api_user: ApiUser,
    path: web::Path<String>,
    body: web::Json<PostMessageRequest>,
) -> Result<HttpResponse, actix_web::Error> {
    let id = request_id(&path.into_inner())?;
    let body = body.into_inner();
    let input = PostInput::new(body.client_id.as_deref(), body.text.as_deref(), body.file_id)
        .map_err(|message| ApiError::BadRequest { field: None, message })?;

    let (message, created) =
        chat_http::post_message(&state, viewer_of(&api_user), id, input, files_prefix::API).await?;
    let mut response = if created { HttpResponse::Created() } else { HttpResponse::Ok() };
    Ok(response.json(PostedMessage { message }))
}

/// Parameters of an upload.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// The file's name, shown to the client. Path parts are dropped, and
    /// the extension of the detected type is added when it differs.
    #[param(example = "report.pdf")]
    #[serde(default)]
    name: String,
}

/// The stored file.
#[derive(Debug, Serialize, ToSchema)]
pub struct UploadedFile {
    pub file: FileView,
}

/// Uploads a file to a request's chat; the body is the file's bytes. The
/// type is detected from the bytes, not the name. Post a message with the
/// returned id to send it.
#[utoipa::path(
    post,
    path = "/api/v1/requests/{id}/files",
    operation_id = "upload_request_file",
    tag = "chat",
    security(("bearer" = [])),
    params(("id" = i32, Path, description = "Request id"), UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file's bytes"),
    responses(
        (status = 201, description = "The stored file", body = UploadedFile),
        (status = 400, description = "An empty body", body = ErrorBody),
        (status = 401, description = "Missing, unknown, expired or revoked token", body = ErrorBody),
        (status = 403, description = "The user may read the chat but not post", body = ErrorBody),
        (status = 404, description = "No such request visible to the user", body = ErrorBody),
        (status = 409, description = "Staff already hold 10 files in this request that no message has sent. Send one of them, or wait until unsent files are deleted 24 hours after upload", body = ErrorBody),
        (status = 413, description = "Larger than chat.max_file_bytes", body = ErrorBody),
        (status = 415, description = "The detected type is not in chat.allowed_types", body = ErrorBody),
        (status = 503, description = "The database is busy", body = ErrorBody),
    )
)]
pub async fn upload_file(
    request: HttpRequest,
    state: web::Data<AppState>,
    api_user: ApiUser,
    path: web::Path<String>,
    query: web::Query<UploadQuery>,
    payload: web::Payload,
) -> Result<HttpResponse, actix_web::Error> {
    let id = request_id(&path.into_inner())?;
    let body = chat_http::read_upload(&state, &request, payload).await?;
    let response =
        chat_http::upload_with_prefix(&state, viewer_of(&api_user), id, &query.name, body, files_prefix::API).await?;
    Ok(response)
}

/// Downloads a chat file of a request visible to the user. A file the
/// client uploaded can be downloaded once a message has sent it.
#[utoipa::path(
    get,
    path = "/api/v1/files/{id}",
    operation_id = "download_file",
    tag = "chat",
    security(("bearer" = [])),
    params(("id" = i32, Path, description = "File id")),
    responses(
        (status = 200, description = "The file, with its detected type", content_type = "application/octet-stream"),
        (status = 401, description = "Missing, unknown, expired or revoked token", body = ErrorBody),
        (status = 404, description = "No such file, its request is not visible to the user, or the client uploaded it and no message has sent it yet", body = ErrorBody),
        (status = 503, description = "The database is busy", body = ErrorBody),
    )
)]
pub async fn download_file(
    state: web::Data<AppState>,
    api_user: ApiUser,
    path: web::Path<String>,
) -> Result<HttpResponse, actix_web::Error> {
    let id = ChatFileId(parse_path_id(&path.into_inner(), FILE_NOT_FOUND)?);
    Ok(chat_http::download(&state, viewer_of(&api_user), id).await?)
}

/// Parameters of the WebSocket.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WebSocketQuery {
    /// The last message id seen; the first frame then has every message
    /// after it instead of the latest page.
    #[param(value_type = Option<i32>, minimum = 0)]
    after: Option<String>,
}

/// Opens the chat WebSocket of a request (JSON text frames, see
/// docs/chat-protocol.md). Send the bearer token in the `Authorization`
/// header of the upgrade request.
#[utoipa::path(
    get,
    path = "/api/v1/requests/{id}/ws",
    operation_id = "open_request_chat",
    tag = "chat",
    security(("bearer" = [])),
    params(("id" = i32, Path, description = "Request id"), WebSocketQuery),
    responses(
        (status = 101, description = "Switched to the WebSocket protocol"),
        (status = 400, description = "Not a WebSocket upgrade, or an invalid after", body = ErrorBody),
        (status = 401, description = "Missing, unknown, expired or revoked token", body = ErrorBody),
        (status = 404, description = "No such request visible to the user", body = ErrorBody),
        (status = 503, description = "The database is busy", body = ErrorBody),
    )
)]
pub async fn websocket(
    state: web::Data<AppState>,
    api_user: ApiUser,
    request: HttpRequest,
    path: web::Path<String>,
    query: web::Query<WebSocketQuery>,
    body: web::Payload,
) -> Result<HttpResponse, actix_web::Error> {
    let id = request_id(&path.into_inner())?;
    let after = message_id_param("after", query.after.as_deref())?;
    let credential = crate::chat::credential::Credential::ApiToken(api_user.token_hash().to_owned());
    Ok(chat_http::connect(&state, &request, body, viewer_of(&api_user), credential, id, after).await?)
}
