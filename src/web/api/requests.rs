//! Client requests in the officer API: listing, taking, releasing and
//! closing them.
//!
//! - `GET /api/v1/requests` and `GET /api/v1/requests/{id}`;
//! - `POST /api/v1/requests/next` (take the oldest open request);
//! - `POST /api/v1/requests/{id}/accept`, `.../release` and `.../close`.
//!
//! An officer may see the open requests of their corporations and the
//! requests assigned to them, and an admin may see every request. A
//! request the user may not see gets the same 404 as a missing one.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, FixedOffset};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::ApiUser;
use super::{local_time, parse_path_id, ApiError, ErrorBody, PageQuery};
use crate::chat::http as chat_http;
use crate::db::client_requests::{AssignError, ClientRequest, Viewer};
use crate::db::ids::ClientRequestId;
use crate::db::DbError;
use crate::web::dashboard::requests::store::{self, Action, ActionError, Actor, RequestRow, StatusFilter};
use crate::web::AppState;

const REQUEST_NOT_FOUND: &str = "request not found";

/// Registers the request endpoints inside the API scope.
pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/requests", web::get().to(list))
        .route("/requests/next", web::post().to(take_next))
        .route("/requests/{id}", web::get().to(show))
        .route("/requests/{id}/accept", web::post().to(accept))
        .route("/requests/{id}/release", web::post().to(release))
        .route("/requests/{id}/close", web::post().to(close));
}

/// A client's request for help.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestItem {
    pub id: i32,
    /// `open` (waiting for a helper), `assigned` or `closed`.
    #[schema(example = "open")]
    pub status: String,
    /// `form` or `chat`: how the client started the request in the portal.
    #[schema(example = "chat")]
    pub origin: String,
    #[schema(example = "health")]
    pub category: String,
    pub corporation_id: i32,
    pub corporation_name: String,
    /// The corporation's area.
    pub area: String,
    pub client_id: i32,
    /// The client's WhatsApp profile name.
    pub client_name: String,
    /// The name the client gave for being contacted.
    pub contact_name: String,
    /// The phone number the client gave, as typed.
    pub contact_phone: String,
    pub description: String,
    /// The staff user the request is assigned to.
    pub helper_id: Option<i32>,
    pub helper_name: Option<String>,
    /// Whether the token's user may post in the request's chat: only the
    /// assigned helper, while the request is not closed.
    pub can_write: bool,
    #[schema(value_type = String, format = DateTime, example = "2026-03-02T09:00:00+05:30")]
    pub created_at: DateTime<FixedOffset>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub assigned_at: Option<DateTime<FixedOffset>>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub closed_at: Option<DateTime<FixedOffset>>,
}

fn request_item(zone: Tz, viewer: &Viewer, row: RequestRow) -> RequestItem {
    let request = row.request;
    RequestItem {
        can_write: viewer.can_write(&request),
        id: request.id.0,
        status: request.status,
        origin: request.origin,
        category: request.category,
        corporation_id: request.corporation_id.0,
        corporation_name: row.corporation_name,
        area: row.corporation_area,
        client_id: request.client_id.0,
        client_name: row.client_name,
        contact_name: request.contact_name,
        contact_phone: request.contact_phone,
        description: request.description,
        helper_id: request.helper_id.map(|id| id.0),
        helper_name: row.helper_name,
        created_at: local_time(zone, request.created_at),
        assigned_at: request.assigned_at.map(|at| local_time(zone, at)),
        closed_at: request.closed_at.map(|at| local_time(zone, at)),
    }
}

/// Parameters of the request list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RequestListQuery {
    /// `open`, `assigned`, `closed` or `all` (the default).
    #[param(value_type = Option<String>, pattern = "^(open|assigned|closed|all)$", example = "open")]
    status: Option<String>,
}

/// A page of requests.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestPage {
    pub items: Vec<RequestItem>,
    /// This page's number, from 1.
    pub page: i64,
    pub per_page: i64,
    /// Requests on all pages.
    pub total: i64,
    /// Number of pages, at least 1.
    pub pages: i64,
}

fn viewer(api_user: &ApiUser) -> Viewer {
    Viewer::Staff { id: api_user.user.id, scope: api_user.scope.clone() }
}

fn actor(api_user: &ApiUser) -> Actor {
    Actor { id: api_user.user.id, scope: api_user.scope.clone() }
}

/// Lists the requests the user may see, oldest first: the open requests
/// of their corporations and the requests assigned to them (every request
/// for an admin).
#[utoipa::path(
    get,
    path = "/api/v1/requests",
    operation_id = "list_requests",
    tag = "requests",
    security(("bearer" = [])),
    params(RequestListQuery, PageQuery),
    responses(
        (status = 200, description = "A page of requests", body = RequestPage),
        (status = 400, description = "An invalid status, page or per_page", body = ErrorBody),
        (status = 401, description = "Missing, unknown, expired or revoked token", body = ErrorBody),
        (status = 503, description = "The database is busy", body = ErrorBody),
    )
)]
pub async fn list(
    state: web::Data<AppState>,
    api_user: ApiUser,
    query: web::Query<RequestListQuery>,
    page_query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let filter = match query.status.as_deref().map(str::trim).unwrap_or("") {
        "" => StatusFilter::All,
        text => StatusFilter::parse(text).ok_or_else(|| ApiError::BadRequest {
            field: Some("status"),
            message: format!("invalid status '{text}': use open, assigned, closed or all"),
        })?,
    };
    let page = page_query.parse()?;
    let zone = state.engine.settings.zone();

    let (staff, scope) = (api_user.user.id, api_user.scope.clone());
    let rows = state
        .engine
        .database
        .run(move |connection| {
            store::list(connection, staff, &scope, filter, page.per_page, page.offset()).map_err(DbError::from)
        })
        .await?;

    let viewer = viewer(&api_user);
    Ok(HttpResponse::Ok().json(RequestPage {
        items: rows.rows.into_iter().map(|row| request_item(zone, &viewer, row)).collect(),
        page: page.page,
        per_page: page.per_page,
        total: rows.total,
        pages: page.pages(rows.total),
    }))
}

/// Returns one request the user may see.
#[utoipa::path(
    get,
    path = "/api/v1/requests/{id}",
    operation_id = "get_request",
    tag = "requests",
    security(("bearer" = [])),
    params(("id" = i32, Path, description = "Request id")),
    responses(
        (status = 200, description = "The request", body = RequestItem),
        (status = 401, description = "Missing, unknown, expired or revoked token", body = ErrorBody),
        (status = 404, description = "No such request, or one the user may not see", body = ErrorBody),
        (status = 503, description = "The database is busy", body = ErrorBody),
    )
)]
pub async fn show(
    state: web::Data<AppState>,
    api_user: ApiUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = ClientRequestId(parse_path_id(&path.into_inner(), REQUEST_NOT_FOUND)?);
    let item = load_item(&state, &api_user, id).await?.ok_or(ApiError::NotFound(REQUEST_NOT_FOUND))?;
    Ok(HttpResponse::Ok().json(item))
}

async fn load_item(state: &AppState, api_user: &ApiUser, id: ClientRequestId) -> Result<Option<RequestItem>, ApiError> {
    let zone = state.engine.settings.zone();
    let viewer = viewer(api_user);
    let lookup = viewer.clone();
    let row = state
        .engine
        .database
        .run(move |connection| store::find_visible(connection, &lookup, id).map_err(DbError::from))
        .await?;
    Ok(row.map(|row| request_item(zone, &viewer, row)))
}

/// Turns a refused action into its API error: 404 for a request the user
/// may not see, 409 for a state or limit conflict, with the reason.
fn action_error(error: ActionError) -> ApiError {
    match error.into_db_error() {
        Ok(database) => ApiError::from(database),
        Err(ActionError::Assign(AssignError::NotFound(_))) => ApiError::NotFound(REQUEST_NOT_FOUND),
        Err(other) => ApiError::Conflict(other.to_string()),
    }
}

/// Applies `action`, notifies the chat room, and returns the changed
/// request as the user may now see it. After a release the request may be
/// outside the user's corporations, and then the response is 204.
async fn act(state: &AppState, api_user: &ApiUser, path: &str, action: Action) -> Result<HttpResponse, ApiError> {
    let id = ClientRequestId(parse_path_id(path, REQUEST_NOT_FOUND)?);
    let actor = actor(api_user);
    let limit = state.engine.settings.chat.max_open_per_helper;
    let now = state.engine.clock.now_naive();
    state
        .engine
        .database
        .run(move |connection| store::apply(connection, &actor, id, action, limit, now))
        .await
        .map_err(action_error)?;

    let staff_id = api_user.user.id;
    tracing::info!(request_id = %id, %staff_id, "staff user {staff_id} {} request {id} through the API", action.verb());
    chat_http::access_changed(state, id).await;
    respond_with(state, api_user, id).await
}

async fn respond_with(state: &AppState, api_user: &ApiUser, id: ClientRequestId) -> Result<HttpResponse, ApiError> {
    match load_item(state, api_user, id).await? {
        Some(item) => Ok(HttpResponse::Ok().json(item)),
        None => Ok(HttpResponse::NoContent().finish()),
    }
}

/// Takes an open request of the user's corporations. The user must have
/// fewer assigned requests than `chat.max_open_per_helper`.
#[utoipa::path(
    post,
    path = "/api/v1/requests/{id}/accept",
    operation_id = "accept_request",
    tag = "requests",
    security(("bearer" = [])),
    params(("id" = i32, Path, description = "Request id")),
    responses(
        (status = 200, description = "The request, now assigned to the user", body = RequestItem),
        (status = 401, description = "Missing, unknown, expired or revoked token", body = ErrorBody),
        (status = 404, description = "No such request, or one the user may not see", body = ErrorBody),
        (status = 409, description = "The request is not open, or the user already has `chat.max_open_per_helper` assigned requests (the message names the limit)", body = ErrorBody),
        (status = 503, description = "The database is busy", body = ErrorBody),
    )
)]
pub async fn accept(
    state: web::Data<AppState>,
    api_user: ApiUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    act(&state, &api_user, &path, Action::Accept).await
}

/// Gives an assigned request back to the open queue of its corporation.
/// Only its helper or an admin may release it.
#[utoipa::path(
    post,
    path = "/api/v1/requests/{id}/release",
    operation_id = "release_request",
    tag = "requests",
    security(("bearer" = [])),
    params(("id" = i32, Path, description = "Request id")),
    responses(
        (status = 200, description = "The request, open again", body = RequestItem),
        (status = 204, description = "Released; the request is open in a corporation the user does not see"),
        (status = 401, description = "Missing, unknown, expired or revoked token", body = ErrorBody),
        (status = 404, description = "No such request, or one the user may not see", body = ErrorBody),
        (status = 409, description = "The request is not assigned, or not assigned to the user", body = ErrorBody),
        (status = 503, description = "The database is busy", body = ErrorBody),
    )
)]
pub async fn release(
    state: web::Data<AppState>,
    api_user: ApiUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    act(&state, &api_user, &path, Action::Release).await
}

/// Closes a request. Its chat stays readable but takes no new messages.
/// Only its helper or an admin may close it.
#[utoipa::path(
    post,
    path = "/api/v1/requests/{id}/close",
    operation_id = "close_request",
    tag = "requests",
    security(("bearer" = [])),
    params(("id" = i32, Path, description = "Request id")),
    responses(
        (status = 200, description = "The closed request", body = RequestItem),
        (status = 401, description = "Missing, unknown, expired or revoked token", body = ErrorBody),
        (status = 404, description = "No such request, or one the user may not see", body = ErrorBody),
        (status = 409, description = "The request is already closed, or not assigned to the user", body = ErrorBody),
        (status = 503, description = "The database is busy", body = ErrorBody),
    )
)]
pub async fn close(
    state: web::Data<AppState>,
    api_user: ApiUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    act(&state, &api_user, &path, Action::Close).await
}

/// Takes the oldest open request of the user's corporations (of all
/// corporations for an admin).
#[utoipa::path(
    post,
    path = "/api/v1/requests/next",
    operation_id = "take_next_request",
    tag = "requests",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The request, now assigned to the user", body = RequestItem),
        (status = 204, description = "No open request is waiting"),
        (status = 401, description = "Missing, unknown, expired or revoked token", body = ErrorBody),
        (status = 409, description = "The user already has `chat.max_open_per_helper` assigned requests (the message names the limit)", body = ErrorBody),
        (status = 503, description = "The database is busy", body = ErrorBody),
    )
)]
pub async fn take_next(state: web::Data<AppState>, api_user: ApiUser) -> Result<HttpResponse, ApiError> {
    let actor = actor(&api_user);
    let limit = state.engine.settings.chat.max_open_per_helper;
    let now = state.engine.clock.now_naive();
    let taken: Option<ClientRequest> = state
        .engine
        .database
        .run(move |connection| store::take_next(connection, &actor, limit, now))
        .await
        .map_err(action_error)?;
    let Some(taken) = taken else {
        return Ok(HttpResponse::NoContent().finish());
    };

    let (id, staff_id) = (taken.id, api_user.user.id);
    tracing::info!(
        request_id = %id,
        %staff_id,
        "staff user {staff_id} took request {id} from the queue through the API"
    );
    chat_http::access_changed(&state, id).await;
    respond_with(&state, &api_user, id).await
}
