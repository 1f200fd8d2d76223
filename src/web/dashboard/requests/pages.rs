//! The request queue, the request page, and the forms that take, release,
//! close and reassign requests.

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::NaiveDateTime;
use chrono_tz::Tz;
use serde::Deserialize;

use super::store::{self, Action, ActionError, Actor, RequestRow, StatusFilter};
use crate::chat::http as chat_http;
use crate::db::client_requests::{status, AssignError, Viewer};
use crate::db::ids::ClientRequestId;
use crate::db::staff::StaffId;
use crate::db::DbError;
use crate::web::dashboard::session::SignedIn;
use crate::web::dashboard::view::{label, local_time, Layout};
use crate::web::dashboard::{render_with_status, see_other, DashboardError};
use crate::web::AppState;

/// Requests per page of the list.
pub const PAGE_SIZE: i64 = 50;

/// The request page's Content-Security-Policy: the dashboard's policy plus
/// this site's scripts (`/static/chat.js`) and WebSocket connections, which
/// the chat needs. The layer that adds the dashboard's headers keeps a
/// header that a handler has already set.
const CHAT_PAGE_POLICY: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// A request as a row of the list.
#[derive(Debug, Clone)]
struct RowView {
    id: i32,
    status: String,
    status_label: String,
    category: String,
    corporation: String,
    contact: String,
    helper: String,
    created: String,
    age: String,
}

fn row_view(zone: Tz, now: NaiveDateTime, row: &RequestRow) -> RowView {
    let request = &row.request;
    RowView {
        id: request.id.0,
        status: request.status.clone(),
        status_label: label(&request.status),
        category: label(&request.category),
        corporation: row.corporation_name.clone(),
        contact: request.contact_name.clone(),
        helper: row.helper_name.clone().unwrap_or_default(),
        created: local_time(zone, request.created_at),
        age: age(now, request.created_at),
    }
}

/// Returns how long ago `since` was, in whole minutes, hours and days,
/// such as "45 min", "3 h 5 min" or "2 days 4 h".
pub fn age(now: NaiveDateTime, since: NaiveDateTime) -> String {
    let minutes = (now - since).num_minutes().max(0);
    let (days, hours, minutes) = (minutes / (24 * 60), minutes / 60 % 24, minutes % 60);
    match (days, hours) {
        (0, 0) if minutes == 0 => "under a minute".to_owned(),
        (0, 0) => format!("{minutes} min"),
        (0, _) => format!("{hours} h {minutes} min"),
        (1, _) => format!("1 day {hours} h"),
        _ => format!("{days} days {hours} h"),
    }
}

/// A tab of the status filter.
#[derive(Debug, Clone)]
struct Tab {
    href: String,
    label: &'static str,
    current: bool,
}

#[derive(Template)]
#[template(path = "dashboard/requests.html")]
struct ListPage {
    layout: Layout,
    csrf_token: String,
    notice: Option<&'static str>,
    /// The reason the last action was rejected, shown with status 409.
    error: Option<String>,
    tabs: Vec<Tab>,
    filter: &'static str,
    rows: Vec<RowView>,
    total: i64,
    page: i64,
    pages: i64,
    previous_page: Option<String>,
    next_page: Option<String>,
    mine: Vec<RowView>,
    /// Open requests of the user's corporations (all, for an admin).
    waiting: i64,
    limit: u32,
    status_code: StatusCode,
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    page: Option<String>,
    notice: Option<String>,
}

fn list_notice(code: Option<&str>) -> Option<&'static str> {
    match code {
        Some("none_waiting") => Some("No open request is waiting in your corporations."),
        Some("released") => Some("The request is back in the open queue."),
        _ => None,
    }
}

fn parse_filter(value: Option<&str>) -> Result<StatusFilter, DashboardError> {
    match value.map(str::trim).unwrap_or("") {
        "" => Ok(StatusFilter::Open),
        text => StatusFilter::parse(text).ok_or_else(|| DashboardError::BadRequest {
            field: "status",
            problem: format!("'{text}' is not a request status; use open, assigned, closed or all"),
        }),
    }
}

fn parse_page(value: Option<&str>) -> Result<i64, DashboardError> {
    match value.map(str::trim).filter(|page| !page.is_empty()) {
        None => Ok(1),
        Some(text) => text.parse::<i64>().ok().filter(|page| (1..=1_000_000).contains(page)).ok_or_else(|| {
            DashboardError::BadRequest { field: "page", problem: format!("'{text}' is not a page number") }
        }),
    }
}

/// `GET /dashboard/requests`.
pub async fn list(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, DashboardError> {
    let filter = parse_filter(query.status.as_deref())?;
    let page = parse_page(query.page.as_deref())?;
    let notice = list_notice(query.notice.as_deref());
    render_list(&state, &signed_in, filter, page, notice, None).await
}

async fn render_list(
    state: &AppState,
    signed_in: &SignedIn,
    filter: StatusFilter,
    page_number: i64,
    notice: Option<&'static str>,
    error: Option<String>,
) -> Result<HttpResponse, DashboardError> {
    let zone = state.engine.settings.zone();
    let now = state.engine.clock.now_naive();
    let staff = signed_in.user.id;
    let scope = signed_in.scope.clone();
    let offset = (page_number - 1) * PAGE_SIZE;
    let (page, mine, waiting) = state
        .engine
        .database
        .run(move |connection| {
            let page = store::list(connection, staff, &scope, filter, PAGE_SIZE, offset)?;
            let mine = store::held_by(connection, staff)?;
            let waiting = store::count_open(connection, &scope)?;
            Ok::<_, DbError>((page, mine, waiting))
        })
        .await?;

    let pages = ((page.total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    let href = |number: i64| format!("/dashboard/requests?status={}&page={number}", filter.as_str());
    let tabs = StatusFilter::ALL
        .into_iter()
        .map(|tab| Tab {
            href: format!("/dashboard/requests?status={}", tab.as_str()),
            label: match tab {
                StatusFilter::Open => "Open",
                StatusFilter::Assigned => "Assigned",
                StatusFilter::Closed => "Closed",
                StatusFilter::All => "All",
            },
            current: tab == filter,
        })
        .collect();
    let view = ListPage {
        layout: Layout::signed_in("Requests", "requests", signed_in),
        csrf_token: signed_in.csrf_token().to_owned(),
        notice,
        tabs,
        filter: filter.as_str(),
        rows: page.rows.iter().map(|row| row_view(zone, now, row)).collect(),
        total: page.total,
        page: page_number,
        pages,
        previous_page: (page_number > 1).then(|| href(page_number - 1)),
        next_page: (page_number < pages).then(|| href(page_number + 1)),
        mine: mine.iter().map(|row| row_view(zone, now, row)).collect(),
        waiting,
        limit: state.engine.settings.chat.max_open_per_helper,
        status_code: if error.is_some() { StatusCode::CONFLICT } else { StatusCode::OK },
        error,
    };
    render_with_status(view.status_code, &view)
}

/// The chat section's data attributes, read by `/static/chat.js`.
#[derive(Debug, Clone)]
struct ChatView {
    ws_url: String,
    upload_url: String,
    can_write: bool,
    /// The IANA name of the business time zone, in which message times
    /// are shown.
    time_zone: &'static str,
}

/// An officer in the reassign form.
#[derive(Debug, Clone)]
struct OfficerChoice {
    id: i32,
    label: String,
}

#[derive(Template)]
#[template(path = "dashboard/request.html")]
struct DetailPage {
    layout: Layout,
    csrf_token: String,
    notice: Option<&'static str>,
    error: Option<String>,
    id: i32,
    status: String,
    status_label: String,
    origin: String,
    category: String,
    corporation: String,
    area: String,
    client_name: String,
    contact_name: String,
    contact_phone: String,
    description: String,
    helper: String,
    created: String,
    age: String,
    assigned: String,
    closed: String,
    can_accept: bool,
    can_release: bool,
    can_close: bool,
    can_reassign: bool,
    officers: Vec<OfficerChoice>,
    chat: ChatView,
    status_code: StatusCode,
}

#[derive(Debug, Default, Deserialize)]
pub struct DetailQuery {
    notice: Option<String>,
}

fn detail_notice(code: Option<&str>) -> Option<&'static str> {
    match code {
        Some("accepted") => Some("You took this request. The client can now chat with you."),
        Some("closed") => Some("The request is closed. Its chat stays readable but takes no new messages."),
        Some("reassigned") => Some("The request was reassigned. The previous helper no longer has access."),
        _ => None,
    }
}

fn parse_id(path: &str) -> Result<ClientRequestId, DashboardError> {
    path.parse::<i32>().map(ClientRequestId).map_err(|_| DashboardError::NotFound)
}

fn viewer(signed_in: &SignedIn) -> Viewer {
    Viewer::Staff { id: signed_in.user.id, scope: signed_in.scope.clone() }
}

/// `GET /dashboard/requests/{id}`.
pub async fn show(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    path: web::Path<String>,
    query: web::Query<DetailQuery>,
) -> Result<HttpResponse, DashboardError> {
    let id = parse_id(&path)?;
    let notice = detail_notice(query.notice.as_deref());
    render_detail(&state, &signed_in, id, notice, None).await
}

async fn render_detail(
    state: &AppState,
    signed_in: &SignedIn,
    id: ClientRequestId,
    notice: Option<&'static str>,
    error: Option<String>,
) -> Result<HttpResponse, DashboardError> {
    let zone = state.engine.settings.zone();
    let now = state.engine.clock.now_naive();
    let viewer = viewer(signed_in);
    let is_admin = signed_in.is_admin();
    let lookup_viewer = viewer.clone();
    let (row, officers) = state
        .engine
        .database
        .run(move |connection| {
            let Some(row) = store::find_visible(connection, &lookup_viewer, id)? else {
                return Ok::<_, DbError>((None, Vec::new()));
            };
            let officers = if is_admin && row.request.status != status::CLOSED {
                store::officers_of(connection, row.request.corporation_id)?
            } else {
                Vec::new()
            };
            Ok((Some(row), officers))
        })
        .await?;
    let row = row.ok_or(DashboardError::NotFound)?;

    let request = &row.request;
    let me = signed_in.user.id;
    let mine = request.helper_id == Some(me);
    let may_manage = mine || is_admin;
    let page = DetailPage {
        layout: Layout::signed_in(&format!("Request {id}"), "requests", signed_in),
        csrf_token: signed_in.csrf_token().to_owned(),
        notice,
        id: id.0,
        status: request.status.clone(),
        status_label: label(&request.status),
        origin: label(&request.origin),
        category: label(&request.category),
        corporation: row.corporation_name.clone(),
        area: row.corporation_area.clone(),
        client_name: row.client_name.clone(),
        contact_name: request.contact_name.clone(),
        contact_phone: request.contact_phone.clone(),
        description: request.description.clone(),
        helper: row.helper_name.clone().unwrap_or_default(),
        created: local_time(zone, request.created_at),
        age: age(now, request.created_at),
        assigned: request.assigned_at.map(|at| local_time(zone, at)).unwrap_or_default(),
        closed: request.closed_at.map(|at| local_time(zone, at)).unwrap_or_default(),
        can_accept: request.status == status::OPEN,
        can_release: may_manage && request.status == status::ASSIGNED,
        can_close: may_manage && request.status != status::CLOSED,
        can_reassign: is_admin && request.status != status::CLOSED,
        officers: officers
            .into_iter()
            .filter(|officer| request.helper_id != Some(officer.id))
            .map(|officer| OfficerChoice { id: officer.id.0, label: format!("{} ({})", officer.name, officer.email) })
            .collect(),
        chat: ChatView {
            ws_url: format!("/dashboard/requests/{id}/ws"),
            upload_url: format!("/dashboard/requests/{id}/files"),
            can_write: viewer.can_write(request),
            time_zone: zone.name(),
        },
        status_code: if error.is_some() { StatusCode::CONFLICT } else { StatusCode::OK },
        error,
    };
    let mut response = render_with_status(page.status_code, &page)?;
    response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, header::HeaderValue::from_static(CHAT_PAGE_POLICY));
    Ok(response)
}

/// The fields of the action forms.
#[derive(Debug, Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    csrf_token: String,
    /// The officer to reassign to; only the reassign form has it.
    #[serde(default)]
    officer: String,
}

/// `POST /dashboard/requests/{id}/accept`.
pub async fn accept(
    request: HttpRequest,
    state: web::Data<AppState>,
    signed_in: SignedIn,
    path: web::Path<String>,
    form: web::Form<ActionForm>,
) -> Result<HttpResponse, DashboardError> {
    act(&request, &state, &signed_in, &path, &form, Action::Accept).await
}

/// `POST /dashboard/requests/{id}/release`.
pub async fn release(
    request: HttpRequest,
    state: web::Data<AppState>,
    signed_in: SignedIn,
    path: web::Path<String>,
    form: web::Form<ActionForm>,
) -> Result<HttpResponse, DashboardError> {
    act(&request, &state, &signed_in, &path, &form, Action::Release).await
}

/// `POST /dashboard/requests/{id}/close`.
pub async fn close(
    request: HttpRequest,
    state: web::Data<AppState>,
    signed_in: SignedIn,
    path: web::Path<String>,
    form: web::Form<ActionForm>,
) -> Result<HttpResponse, DashboardError> {
    act(&request, &state, &signed_in, &path, &form, Action::Close).await
}

/// `POST /dashboard/requests/{id}/reassign` (admins only).
pub async fn reassign(
    request: HttpRequest,
    state: web::Data<AppState>,
    signed_in: SignedIn,
    path: web::Path<String>,
    form: web::Form<ActionForm>,
) -> Result<HttpResponse, DashboardError> {
    signed_in.check_csrf(&form.csrf_token, &request)?;
    signed_in.require_admin()?;
    let officer = form.officer.trim();
    let officer = officer.parse::<i32>().map(StaffId).map_err(|_| DashboardError::BadRequest {
        field: "officer",
        problem: format!("'{officer}' is not a staff user id; choose an officer from the list"),
    })?;
    act(&request, &state, &signed_in, &path, &form, Action::Reassign(officer)).await
}

/// Checks the form, applies `action`, notifies the chat room, and
/// redirects to the request page (or to the queue after a release). A
/// rejected action shows the page again with the reason and status 409.
async fn act(
    request: &HttpRequest,
    state: &AppState,
    signed_in: &SignedIn,
    path: &str,
    form: &ActionForm,
    action: Action,
) -> Result<HttpResponse, DashboardError> {
    signed_in.check_csrf(&form.csrf_token, request)?;
    let id = parse_id(path)?;
    let actor = Actor { id: signed_in.user.id, scope: signed_in.scope.clone() };
    let limit = state.engine.settings.chat.max_open_per_helper;
    let now = state.engine.clock.now_naive();
    let outcome =
        state.engine.database.run(move |connection| store::apply(connection, &actor, id, action, limit, now)).await;

    match outcome {
        Ok(_) => {
            let staff_id = signed_in.user.id;
            tracing::info!(request_id = %id, %staff_id, "staff user {staff_id} {} request {id}", action.verb());
            chat_http::access_changed(state, id).await;
            Ok(see_other(&match action {
                Action::Accept => format!("/dashboard/requests/{id}?notice=accepted"),
                Action::Release => "/dashboard/requests?notice=released".to_owned(),
                Action::Close => format!("/dashboard/requests/{id}?notice=closed"),
                Action::Reassign(_) => format!("/dashboard/requests/{id}?notice=reassigned"),
            }))
        }
        Err(error) => rejected(state, signed_in, Some(id), error).await,
    }
}

/// `POST /dashboard/requests/next`: takes the oldest open request of the
/// user's corporations.
pub async fn take_next(
    request: HttpRequest,
    state: web::Data<AppState>,
    signed_in: SignedIn,
    form: web::Form<ActionForm>,
) -> Result<HttpResponse, DashboardError> {
    signed_in.check_csrf(&form.csrf_token, &request)?;
    let actor = Actor { id: signed_in.user.id, scope: signed_in.scope.clone() };
    let limit = state.engine.settings.chat.max_open_per_helper;
    let now = state.engine.clock.now_naive();
    let outcome = state.engine.database.run(move |connection| store::take_next(connection, &actor, limit, now)).await;

    match outcome {
        Ok(Some(taken)) => {
            let (id, staff_id) = (taken.id, signed_in.user.id);
            tracing::info!(request_id = %id, %staff_id, "staff user {staff_id} took request {id} from the queue");
            chat_http::access_changed(&state, id).await;
            Ok(see_other(&format!("/dashboard/requests/{id}?notice=accepted")))
        }
        Ok(None) => Ok(see_other("/dashboard/requests?notice=none_waiting")),
        Err(error) => rejected(&state, &signed_in, None, error).await,
    }
}

/// Renders the reason an action was rejected: on the request page if the
/// user can still see the request, on the queue otherwise. Database
/// failures and invisible requests become the usual error pages.
async fn rejected(
    state: &AppState,
    signed_in: &SignedIn,
    id: Option<ClientRequestId>,
    error: ActionError,
) -> Result<HttpResponse, DashboardError> {
    let error = match error.into_db_error() {
        Ok(database) => return Err(database.into()),
        Err(ActionError::Assign(AssignError::NotFound(_))) => return Err(DashboardError::NotFound),
        Err(other) => other,
    };
    let message = sentence(&error.to_string());
    tracing::info!(
        request_id = ?id.map(|id| id.0),
        staff_id = %signed_in.user.id,
        error = %message,
        "rejected a request action"
    );
    if let Some(id) = id {
        match render_detail(state, signed_in, id, None, Some(message.clone())).await {
            Err(DashboardError::NotFound) => {}
            shown => return shown,
        }
    }
    render_list(state, signed_in, StatusFilter::Open, 1, None, Some(message)).await
}

/// Returns `text` with a capital first letter and a final full stop.
fn sentence(text: &str) -> String {
    let mut characters = text.chars();
    let mut out: String = match characters.next() {
        Some(first) => first.to_uppercase().chain(characters).collect(),
        None => String::new(),
    };
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(day: u32, hour: u32, minute: u32) -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2026, 3, day)
            .and_then(|date| date.and_hms_opt(hour, minute, 0))
            .expect("valid time")
    }

    #[test]
    fn age_in_minutes_hours_and_days() {
        assert_eq!(age(at(2, 9, 0), at(2, 9, 0)), "under a minute");
        assert_eq!(age(at(2, 9, 45), at(2, 9, 0)), "45 min");
        assert_eq!(age(at(2, 12, 5), at(2, 9, 0)), "3 h 5 min");
        assert_eq!(age(at(3, 13, 0), at(2, 9, 0)), "1 day 4 h");
        assert_eq!(age(at(5, 9, 0), at(2, 9, 0)), "3 days 0 h");
        assert_eq!(age(at(2, 8, 0), at(2, 9, 0)), "under a minute", "a future time counts as now");
    }

    #[test]
    fn sentence_capitalises_and_ends_with_a_stop() {
        assert_eq!(sentence("request 4 is closed"), "Request 4 is closed.");
        assert_eq!(sentence("Done."), "Done.");
    }
}
