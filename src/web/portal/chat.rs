//! The portal's chat routes: the WebSocket, uploads and downloads of a
//! request's chat. The client is authenticated here, and [`crate::chat::http`]
//! checks that the request is theirs.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::session::SignedInClient;
use super::PortalError;
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
    after: Option<i32>,
}

#[derive(Debug, Deserialize)]
pub struct UploadQuery {
    /// The file's name as the client's device had it.
    #[serde(default)]
    name: String,
}

/// `GET /portal/requests/{id}/ws`: opens the chat WebSocket of one of the
/// client's requests. A handshake from a page of another site is rejected:
/// browsers send the page's origin with every WebSocket handshake, and the
/// cookie alone would not tell the two apart.
pub async fn connect(
    request: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
    signed_in: SignedInClient,
    path: web::Path<i32>,
    query: web::Query<AfterQuery>,
) -> Result<HttpResponse, actix_web::Error> {
    let request_id = ClientRequestId(path.into_inner());
    if !same_origin(&request) {
        tracing::warn!(
            client_id = %signed_in.client.id,
            %request_id,
            "rejected a portal WebSocket handshake from another origin"
        );
        return Err(PortalError::Forbidden.into());
    }
    let after = query.after.map(ChatMessageId);
    Ok(chat_http::connect(&state, &request, body, signed_in.viewer(), request_id, after).await?)
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
    path: web::Path<i32>,
    query: web::Query<UploadQuery>,
) -> Result<HttpResponse, actix_web::Error> {
    signed_in.check_csrf_header(&request)?;
    let request_id = ClientRequestId(path.into_inner());
    let limit = state.engine.settings.chat.max_file_bytes;

    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    if let Some(size) = declared.filter(|size| *size > limit) {
        return Err(ChatError::TooLarge { size, limit }.into());
    }
    let bytes = chat_http::read_upload(&state, body).await?;

    Ok(chat_http::upload(&state, signed_in.viewer(), request_id, &query.name, bytes).await?)
}

/// `GET /portal/files/{id}`: sends a file of one of the client's chats. A
/// file of another client's chat gets the translated not-found page.
pub async fn download(
    state: web::Data<AppState>,
    signed_in: SignedInClient,
    path: web::Path<i32>,
) -> Result<HttpResponse, actix_web::Error> {
    let file_id = ChatFileId(path.into_inner());
    match chat_http::download(&state, signed_in.viewer(), file_id).await {
        Ok(response) => Ok(response),
        Err(ChatError::NotFound(_)) => Err(PortalError::NotFound.into()),
        Err(error) => Err(error.into()),
    }
}

/// Returns whether the request's `Origin` header, when present, names the
/// host the request was sent to. Requests without the header (clients
/// other than browsers) pass, because they carry no ambient cookie risk.
fn same_origin(request: &HttpRequest) -> bool {
    let Some(origin) = request.headers().get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let host = request.headers().get(header::HOST).and_then(|value| value.to_str().ok()).unwrap_or("");
    let origin_host = origin.split_once("://").map(|(_, rest)| rest).unwrap_or("");
    !host.is_empty() && origin_host.eq_ignore_ascii_case(host)
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

        assert!(same_origin(&same));
        assert!(!same_origin(&other));
        assert!(same_origin(&none));
    }
}
