//! `GET /dashboard/flags` (flagged messages with their reasons) and
//! `POST /dashboard/flags/{id}/dismiss` (close one with a note). Open
//! booking flags also link to "correct and book" in [`super::correction`].

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::session::SignedIn;
use super::view::{label, local_time, Layout};
use super::{render, see_other, DashboardError};
use crate::db::ids::FlagId;
use crate::db::scoped::{self, Dismissal, FlagListRow, FlagView};
use crate::db::DbError;
use crate::web::AppState;

/// Flags per page of the list.
pub const PAGE_SIZE: i64 = 50;

/// Maximum length of a dismissal note, in characters.
pub const MAX_NOTE_LENGTH: usize = 1000;

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    view: Option<String>,
    page: Option<String>,
    notice: Option<String>,
}

impl ListQuery {
    /// Returns the `view` parameter as sent.
    pub(super) fn view(&self) -> Option<&str> {
        self.view.as_deref()
    }
}

#[derive(Debug, Clone)]
struct FlagRowView {
    id: i32,
    open: bool,
    created: String,
    reason: String,
    reason_code: String,
    detail: String,
    status: String,
    agent: String,
    sender: String,
    text: String,
    task_id: Option<i32>,
    /// An open booking flag that "correct and book" can settle.
    bookable: bool,
    /// The closing of a closed flag: who, when and why.
    resolution: String,
}

/// A tab of the flag list.
#[derive(Debug, Clone)]
struct ViewLink {
    href: &'static str,
    label: &'static str,
    current: bool,
}

#[derive(Template)]
#[template(path = "dashboard/flags.html")]
struct FlagListPage {
    layout: Layout,
    views: Vec<ViewLink>,
    rows: Vec<FlagRowView>,
    total: i64,
    page: i64,
    pages: i64,
    previous_page: Option<String>,
    next_page: Option<String>,
    notice: Option<&'static str>,
    max_note_length: usize,
    csrf_token: String,
    /// The CSV export of this view.
    export_href: String,
}

pub(super) fn parse_view(value: Option<&str>) -> Result<(FlagView, &'static str), DashboardError> {
    match value.unwrap_or("") {
        "" | "open" => Ok((FlagView::Open, "open")),
        "closed" => Ok((FlagView::Closed, "closed")),
        "all" => Ok((FlagView::All, "all")),
        other => Err(DashboardError::BadRequest {
            field: "view",
            problem: format!("'{other}' is not a view; use open, closed or all"),
        }),
    }
}

fn row_view(zone: chrono_tz::Tz, row: FlagListRow) -> FlagRowView {
    let flag = row.flag;
    let resolution = match (&flag.resolved_by, flag.resolved_at) {
        (Some(by), Some(at)) => format!(
            "{} by {by} on {}: {}",
            label(&flag.status),
            local_time(zone, at),
            flag.resolution_note.as_deref().unwrap_or("")
        ),
        _ => String::new(),
    };
    let bookable = super::correction::is_bookable(&flag, row.text.as_deref());
    FlagRowView {
        bookable,
        id: flag.id.0,
        open: flag.status == scoped::flag_status::OPEN,
        created: local_time(zone, flag.created_at),
        reason: label(&flag.reason),
        reason_code: flag.reason,
        detail: flag.detail,
        status: label(&flag.status),
        agent: match (flag.agent_id, row.agent_name) {
            (Some(id), Some(name)) => format!("{name} ({id})"),
            (Some(id), None) => id.to_string(),
            _ => String::new(),
        },
        sender: row.sender.unwrap_or_default(),
        text: row.text.unwrap_or_default(),
        task_id: flag.task_id.map(|id| id.0),
        resolution,
    }
}

pub async fn list(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, DashboardError> {
    let zone = state.engine.settings.zone();
    let (view, view_name) = parse_view(query.view.as_deref())?;
    let page_number = match query.page.as_deref().map(str::trim).filter(|page| !page.is_empty()) {
        None => 1,
        Some(text) => text.parse::<i64>().ok().filter(|page| (1..=1_000_000).contains(page)).ok_or_else(|| {
            DashboardError::BadRequest { field: "page", problem: format!("'{text}' is not a page number") }
        })?,
    };
    let notice = match query.notice.as_deref() {
        Some("dismissed") => Some("The flag was dismissed."),
        Some("already_closed") => Some("That flag was already closed; nothing changed."),
        Some("not_bookable") => Some("That flag is closed or is not a booking, so it cannot be corrected and booked."),
        _ => None,
    };

    let scope = signed_in.scope.clone();
    let offset = (page_number - 1) * PAGE_SIZE;
    let page = state
        .engine
        .database
        .run(move |connection| scoped::list_flags(connection, &scope, view, PAGE_SIZE, offset).map_err(DbError::from))
        .await?;

    let pages = ((page.total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    let href = |number: i64| format!("/dashboard/flags?view={view_name}&page={number}");
    let views = [
        ("/dashboard/flags?view=open", "Open"),
        ("/dashboard/flags?view=closed", "Closed"),
        ("/dashboard/flags?view=all", "All"),
    ]
    .into_iter()
    .map(|(href, label)| ViewLink { href, label, current: href.ends_with(view_name) })
    .collect();
    render(&FlagListPage {
        layout: Layout::signed_in("Flagged messages", "flags", &signed_in),
        views,
        total: page.total,
        rows: page.rows.into_iter().map(|row| row_view(zone, row)).collect(),
        page: page_number,
        pages,
        previous_page: (page_number > 1).then(|| href(page_number - 1)),
        next_page: (page_number < pages).then(|| href(page_number + 1)),
        notice,
        max_note_length: MAX_NOTE_LENGTH,
        csrf_token: signed_in.csrf_token().to_owned(),
        export_href: format!("/dashboard/flags.csv?view={view_name}"),
    })
}

#[derive(Deserialize)]
pub struct DismissForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    note: String,
}

/// Closes an open flag in the user's scope as dismissed, recording the
/// user's email, the note and the time. A flag of another corporation gets
/// 404, like a missing one.
pub async fn dismiss(
    request: HttpRequest,
    state: web::Data<AppState>,
    signed_in: SignedIn,
    path: web::Path<String>,
    form: web::Form<DismissForm>,
) -> Result<HttpResponse, DashboardError> {
    signed_in.check_csrf(&form.csrf_token, &request)?;
    let Ok(id) = path.into_inner().parse::<i32>() else {
        return Err(DashboardError::NotFound);
    };
    let note = form.note.trim().to_owned();
    if note.is_empty() {
        return Err(DashboardError::BadRequest {
            field: "note",
            problem: "write why the flag is dismissed".to_owned(),
        });
    }
    if note.chars().count() > MAX_NOTE_LENGTH {
        return Err(DashboardError::BadRequest {
            field: "note",
            problem: format!("the note is longer than {MAX_NOTE_LENGTH} characters"),
        });
    }

    let scope = signed_in.scope.clone();
    let by = signed_in.user.email.clone();
    let now = state.engine.clock.now_naive();
    let outcome = state
        .engine
        .database
        .run(move |connection| {
            scoped::dismiss_flag(connection, &scope, FlagId(id), &by, &note, now).map_err(DbError::from)
        })
        .await?;

    match outcome {
        Dismissal::Dismissed => {
            tracing::info!(flag_id = id, staff_id = %signed_in.user.id, "staff user {} dismissed flag {id}", signed_in.user.id);
            Ok(see_other("/dashboard/flags?notice=dismissed"))
        }
        Dismissal::AlreadyClosed => Ok(see_other("/dashboard/flags?notice=already_closed")),
        Dismissal::NotFound => Err(DashboardError::NotFound),
    }
}
