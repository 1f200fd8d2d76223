//! The portal's chat routes: the WebSocket, uploads and downloads of a
//! request's chat. The client is authenticated here, and [`crate::chat::http`]
//! checks that the request is theirs.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::session::SignedInClient;
use super::{parse_path_id, PortalError};
use crate::chat::credential::Credential;
use crate::chat::http as chat_http;
use crate::chat::ChatError;
use crate::db::ids::{ChatFileId, ChatMessageId, ClientRequestId};
use crate::web::AppState;

/// Registers the chat routes inside the `/portal` scope.
pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/requests/{id}/ws", web::get().to(connect))
        .route("/requests/{id}/files", web::post().to(upload))
        .route("/files/{id}", web::get().to(download));
}

#[derive(Debug, Deserialize)]
pub struct AfterQuery {
    /// The last message id the browser has; the history starts after it.
    /// Read as text, so that a value that is not an id gets a clear 400.
    after: Option<String>,
}

/// Parses the `after` parameter; an empty one means none.
fn parse_after(value: Option<&str>) -> Result<Option<ChatMessageId>, ChatError> {
    match value.map(str::trim).filter(|text| !text.is_empty()) {
        None => Ok(None),
        Some(text) => text.parse::<i32>().map(|id| Some(ChatMessageId(id))).map_err(|_| {
            ChatError::BadRequest(format!(
                "after '{text}' is not a message id: give the number of the last message shown"
            ))
        }),
    }
}

#[derive(Debug, Deserialize)]
pub struct UploadQuery {
    /// The file's name as the client's device had it.
    #[serde(default)]
    name: String,
}

/// `GET /portal/requests/{id}/ws`: opens the chat WebSocket of one of the
/// client's requests. A handshake from a page of another site is rejected
/// ([`chat_http::same_origin`]). The socket closes when the portal session
/// ends.
pub async fn connect(
    request: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
    signed_in: SignedInClient,
    path: web::Path<String>,
    query: web::Query<AfterQuery>,
) -> Result<HttpResponse, actix_web::Error> {
    let request_id = ClientRequestId(parse_path_id(&path)?);
    if !chat_http::same_origin(&request, &state.engine.settings.portal.public_url) {
        tracing::warn!(
            client_id = %signed_in.client.id,
            %request_id,
            "rejected a portal WebSocket handshake from another origin"
        );
        return Err(PortalError::Forbidden.into());
    }
    let after = parse_after(query.after.as_deref())?;
    let credential = Credential::ClientSession(signed_in.session_id().to_owned());
    Ok(chat_http::connect(&state, &request, body, signed_in.viewer(), credential, request_id, after).await?)
}

/// `POST /portal/requests/{id}/files?name=`: stores the raw request body as
/// a file of the chat. The CSRF token comes in the `X-CSRF-Token` header.
/// The body is read up to `chat.max_file_bytes`; a larger one is rejected
/// with 413 without reading the rest.
pub async fn upload(
    request: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
    signed_in: SignedInClient,
    path: web::Path<String>,
    query: web::Query<UploadQuery>,
) -> Result<HttpResponse, actix_web::Error> {
    signed_in.check_csrf_header(&request)?;
    let request_id = ClientRequestId(parse_path_id(&path)?);
    let bytes = chat_http::read_upload(&state, &request, body).await?;

    Ok(chat_http::upload(&state, signed_in.viewer(), request_id, &query.name, bytes).await?)
}

/// `GET /portal/files/{id}`: sends a file of one of the client's chats. A
/// file of another client's chat gets the translated not-found page.
pub async fn download(
    state: web::Data<AppState>,
    signed_in: SignedInClient,
    path: web::Path<String>,
) -> Result<HttpResponse, actix_web::Error> {
    let file_id = ChatFileId(parse_path_id(&path)?);
    match chat_http::download(&state, signed_in.viewer(), file_id).await {
        Ok(response) => Ok(response),
        Err(ChatError::NotFound(_)) => Err(PortalError::NotFound.into()),
        Err(error) => Err(error.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_must_be_a_message_id() {
        assert_eq!(parse_after(None).ok(), Some(None));
        assert_eq!(parse_after(Some(" ")).ok(), Some(None));
        assert_eq!(parse_after(Some("12")).ok(), Some(Some(ChatMessageId(12))));

        let error = parse_after(Some("abc")).expect_err("text is not an id");
        assert!(error.to_string().contains("'abc'"), "{error}");
    }
}
