//! `GET /api/v1/flags` (flagged messages in the user's scope, a page at a
//! time) and `POST /api/v1/flags/{id}/dismiss` (close one with a note).

use actix_web::{web, HttpResponse};
use chrono::{DateTime, FixedOffset};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::ApiUser;
use super::{local_time, parse_path_id, ApiError, ErrorBody, PageQuery};
use crate::db::flags::FlaggedMessage;
use crate::db::ids::FlagId;
use crate::db::scoped::{self, Dismissal, FlagListRow, FlagView};
use crate::db::DbError;
use crate::web::dashboard::flags::MAX_NOTE_LENGTH;
use crate::web::AppState;

const FLAG_NOT_FOUND: &str = "flag not found";

/// A flagged message: something the engine could not handle and an
/// officer should look at.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlagItem {
    pub id: i32,
    /// `open`, `resolved` or `dismissed`.
    #[schema(example = "open")]
    pub status: String,
    /// A stable reason code, such as `unknown_case_type` or `no_reply`.
    #[schema(example = "unknown_case_type")]
    pub reason: String,
    /// A description of the problem, in English.
    pub detail: String,
    /// The agent, if the sender is one.
    pub agent_id: Option<i32>,
    pub agent_name: Option<String>,
    /// The task the flag is about, if any.
    pub task_id: Option<i32>,
    /// The flagged SMS's sender, E.164 when it parsed as a phone number.
    pub sender: Option<String>,
    /// The flagged SMS's text.
    pub text: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<FixedOffset>,
    /// The staff email of the person who closed the flag, or `system`.
    pub resolved_by: Option<String>,
    pub resolution_note: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub resolved_at: Option<DateTime<FixedOffset>>,
}

/// Builds the JSON form of a flag.
pub fn flag_item(
    zone: Tz,
    flag: FlaggedMessage,
    agent_name: Option<String>,
    sender: Option<String>,
    text: Option<String>,
) -> FlagItem {
    FlagItem {
        id: flag.id.0,
        status: flag.status,
        reason: flag.reason,
        detail: flag.detail,
        agent_id: flag.agent_id.map(|id| id.0),
        agent_name,
        task_id: flag.task_id.map(|id| id.0),
        sender,
        text,
        created_at: local_time(zone, flag.created_at),
        resolved_by: flag.resolved_by,
        resolution_note: flag.resolution_note,
        resolved_at: flag.resolved_at.map(|at| local_time(zone, at)),
    }
}

fn row_item(zone: Tz, row: FlagListRow) -> FlagItem {
    flag_item(zone, row.flag, row.agent_name, row.sender, row.text)
}

/// Parameters of the flag list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FlagListQuery {
    /// `open` (the default), `closed` (resolved or dismissed) or `all`.
    #[param(value_type = Option<String>, pattern = "^(open|closed|all)$", example = "open")]
    status: Option<String>,
}

/// A page of flags.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlagPage {
    pub items: Vec<FlagItem>,
    /// This page's number, from 1.
    pub page: i64,
    pub per_page: i64,
    /// Flags on all pages.
    pub total: i64,
    /// Number of pages, at least 1.
    pub pages: i64,
}

/// Lists the flags of the user's corporations, newest first. A flag
/// belongs to the corporation of its task, or of its agent's facilities
/// when it has no task. A flag with neither is listed to admins only.
#[utoipa::path(
    get,
    path = "/api/v1/flags",
    operation_id = "list_flags",
    tag = "flags",
    security(("bearer" = [])),
    params(FlagListQuery, PageQuery),
    responses(
        (status = 200, description = "A page of flags", body = FlagPage),
        (status = 400, description = "An invalid status, page or per_page", body = ErrorBody),
        (status = 401, description = "Missing, unknown, expired or revoked token", body = ErrorBody),
        (status = 503, description = "The database is busy", body = ErrorBody),
    )
)]
pub async fn list(
    state: web::Data<AppState>,
    api_user: ApiUser,
    query: web::Query<FlagListQuery>,
    page_query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let view = match query.status.as_deref().map(str::trim).unwrap_or("") {
        "" | "open" => FlagView::Open,
        "closed" => FlagView::Closed,
        "all" => FlagView::All,
        other => {
            return Err(ApiError::BadRequest {
                field: Some("status"),
                message: format!("invalid status '{other}': use open, closed or all"),
            })
        }
    };
    let page = page_query.parse()?;
    let zone = state.engine.settings.zone();

    let scope = api_user.scope.clone();
    let rows = state
        .engine
        .database
        .run(move |connection| {
            scoped::list_flags(connection, &scope, view, page.per_page, page.offset()).map_err(DbError::from)
        })
        .await?;

    Ok(HttpResponse::Ok().json(FlagPage {
        items: rows.rows.into_iter().map(|row| row_item(zone, row)).collect(),
        page: page.page,
        per_page: page.per_page,
        total: rows.total,
        pages: page.pages(rows.total),
    }))
}

/// The reason for dismissing a flag.
#[derive(Deserialize, ToSchema)]
pub struct DismissRequest {
    /// The reason the flag needs nothing more, 1 to 1000 characters after
    /// trimming. It is stored with the flag.
    #[serde(default)]
    #[schema(example = "Called the agent; she sent the booking again.")]
    pub note: String,
}

/// Closes an open flag of the user's corporations as dismissed, recording
/// the user's email, the note and the time. A flag of another corporation
/// gets the same 404 as a missing one.
#[utoipa::path(
    post,
    path = "/api/v1/flags/{id}/dismiss",
    operation_id = "dismiss_flag",
    tag = "flags",
    security(("bearer" = [])),
    params(("id" = i32, Path, description = "Flag id")),
    request_body = DismissRequest,
    responses(
        (status = 200, description = "The dismissed flag", body = FlagItem),
        (status = 400, description = "The body is not JSON", body = ErrorBody),
        (status = 401, description = "Missing, unknown, expired or revoked token", body = ErrorBody),
        (status = 404, description = "No such flag in the user's corporations", body = ErrorBody),
        (status = 409, description = "The flag was already resolved or dismissed; nothing changed", body = ErrorBody),
        (status = 422, description = "The note is empty or too long", body = ErrorBody),
        (status = 503, description = "The database is busy", body = ErrorBody),
    )
)]
pub async fn dismiss(
    state: web::Data<AppState>,
    api_user: ApiUser,
    path: web::Path<String>,
    body: web::Json<DismissRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = FlagId(parse_path_id(&path.into_inner(), FLAG_NOT_FOUND)?);
    let note = body.note.trim().to_owned();
    if note.is_empty() {
        return Err(ApiError::Invalid {
            field: "note",
            message: "the note is empty: write why the flag is dismissed".to_owned(),
        });
    }
    if note.chars().count() > MAX_NOTE_LENGTH {
        return Err(ApiError::Invalid {
            field: "note",
            message: format!("the note is longer than {MAX_NOTE_LENGTH} characters"),
        });
    }
    let zone = state.engine.settings.zone();

    let scope = api_user.scope.clone();
    let by = api_user.user.email.clone();
    let now = state.engine.clock.now_naive();
    let (outcome, row) = state
        .engine
        .database
        .run(move |connection| {
            let outcome = scoped::dismiss_flag(connection, &scope, id, &by, &note, now)?;
            let row = scoped::find_flag_row(connection, &scope, id)?;
            Ok::<_, DbError>((outcome, row))
        })
        .await?;

    let staff_id = api_user.user.id;
    match (outcome, row) {
        (Dismissal::Dismissed, Some(row)) => {
            tracing::info!(flag_id = %id, %staff_id, "staff user {staff_id} dismissed flag {id} through the API");
            Ok(HttpResponse::Ok().json(row_item(zone, row)))
        }
        (Dismissal::AlreadyClosed, Some(row)) => {
            Err(ApiError::Conflict(format!("flag {id} is already {}; nothing changed", row.flag.status)))
        }
        _ => Err(ApiError::NotFound(FLAG_NOT_FOUND)),
    }
}
