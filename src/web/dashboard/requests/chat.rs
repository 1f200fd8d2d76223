//! The dashboard's chat routes. They sign the staff user in, check the
//! CSRF header of uploads, and hand over to [`crate::chat::http`], which
//! checks that the request is visible to the user.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::super::session::SignedIn;
use super::super::DashboardError;
use crate::chat::credential::Credential;
use crate::chat::{http, ChatError};
use crate::db::client_requests::Viewer;
use crate::db::ids::{ChatFileId, ChatMessageId, ClientRequestId};
use crate::web::AppState;

/// The header that carries the session's CSRF token on uploads, which
/// send the raw file as the body and so have no form field for it.
pub const CSRF_HEADER: &str = "x-csrf-token";

fn viewer(signed_in: &SignedIn) -> Viewer {
    Viewer::Staff { id: signed_in.user.id, scope: signed_in.scope.clone() }
}

fn request_id(path: &str) -> Result<ClientRequestId, DashboardError> {
    path.parse::<i32>().map(ClientRequestId).map_err(|_| DashboardError::NotFound)
}

#[derive(Debug, Default, Deserialize)]
pub struct ConnectQuery {
    after: Option<String>,
}

/// Parses the `after` parameter: the id of the last message the browser
/// already shows.
fn parse_after(value: Option<&str>) -> Result<Option<ChatMessageId>, DashboardError> {
    match value.map(str::trim).filter(|text| !text.is_empty()) {
        None => Ok(None),
        Some(text) => text.parse::<i32>().map(|id| Some(ChatMessageId(id))).map_err(|_| DashboardError::BadRequest {
            field: "after",
            problem: format!("'{text}' is not a message id"),
        }),
    }
}

/// `GET /dashboard/requests/{id}/ws?after=`: the chat WebSocket. A
/// handshake from a page of another site gets 403
/// ([`http::same_origin`]). The socket closes when the dashboard session
/// ends.
pub async fn connect(
    request: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
    signed_in: SignedIn,
    path: web::Path<String>,
    query: web::Query<ConnectQuery>,
) -> Result<HttpResponse, actix_web::Error> {
    let id = request_id(&path)?;
    if !http::same_origin(&request, &state.engine.settings.portal.public_url) {
        tracing::warn!(
            staff_id = %signed_in.user.id,
            request_id = %id,
            "rejected a dashboard WebSocket handshake from another origin"
        );
        return Err(DashboardError::Forbidden.into());
    }
    let after = parse_after(query.after.as_deref())?;
    let credential = Credential::StaffSession(signed_in.session_id().to_owned());
    Ok(http::connect(&state, &request, body, viewer(&signed_in), credential, id, after).await?)
}

#[derive(Debug, Default, Deserialize)]
pub struct UploadQuery {
    #[serde(default)]
    name: String,
}

/// `POST /dashboard/requests/{id}/files?name=`: stores an uploaded file.
/// The body is the raw file, and the `X-CSRF-Token` header must carry the
/// session's CSRF token. A declared Content-Length over
/// `chat.max_file_bytes` is rejected before the body is read.
pub async fn upload(
    request: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
    signed_in: SignedIn,
    path: web::Path<String>,
    query: web::Query<UploadQuery>,
) -> Result<HttpResponse, actix_web::Error> {
    let token = request.headers().get(CSRF_HEADER).and_then(|value| value.to_str().ok()).unwrap_or("");
    signed_in.check_csrf(token, &request)?;
    let id = request_id(&path)?;

    let bytes = http::read_upload(&state, &request, body).await?;
    Ok(http::upload(&state, viewer(&signed_in), id, &query.name, bytes).await?)
}

/// `GET /dashboard/files/{id}`: a stored chat file.
pub async fn download(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    path: web::Path<String>,
) -> Result<HttpResponse, actix_web::Error> {
    let id = path.parse::<i32>().map(ChatFileId).map_err(|_| DashboardError::NotFound)?;
    // A link opened in a tab gets the dashboard's not-found page, not JSON.
    match http::download(&state, viewer(&signed_in), id).await {
        Ok(response) => Ok(response),
        Err(ChatError::NotFound(_)) => Err(DashboardError::NotFound.into()),
        Err(error) => Err(error.into()),
    }
}
