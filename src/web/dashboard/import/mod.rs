//! `GET` and `POST /dashboard/admin/import`: admins import facilities,
//! agents or slot series from a CSV file (uploaded, or pasted into the
//! form). An import only adds rows; it never changes existing ones. A file
//! with any problem imports nothing, and the page lists every problem with
//! its row, column, value and fix.

pub mod rows;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use self::rows::{Column, ImportError, Kind, Problem};
use super::form::Choice;
use super::multipart::{self, MultipartError};
use super::session::SignedIn;
use super::view::Layout;
use super::{render_with_status, see_other, DashboardError};
use crate::db::DbError;
use crate::web::AppState;

const PATH: &str = "/dashboard/admin/import";

/// The largest request the import accepts, in bytes: the file, the pasted
/// text and the other fields together.
pub const MAX_UPLOAD_BYTES: usize = 2 * 1024 * 1024;

#[derive(Debug, Default, Deserialize)]
pub struct ImportQuery {
    kind: Option<String>,
    imported: Option<usize>,
}

/// The columns of one kind, for the help on the page.
struct KindHelp {
    value: &'static str,
    label: &'static str,
    columns: &'static [Column],
}

#[derive(Template)]
#[template(path = "dashboard/import.html")]
struct ImportPage {
    layout: Layout,
    csrf_token: String,
    kinds: Vec<Choice>,
    help: Vec<KindHelp>,
    text: String,
    notice: Option<String>,
    /// A problem with the form itself, such as no file.
    form_error: Option<String>,
    problems: Vec<Problem>,
    max_rows: usize,
    max_megabytes: usize,
}

fn page(
    signed_in: &SignedIn,
    status: StatusCode,
    kind: Option<Kind>,
    text: String,
    notice: Option<String>,
    form_error: Option<String>,
    problems: Vec<Problem>,
) -> Result<HttpResponse, DashboardError> {
    let title = if form_error.is_some() || !problems.is_empty() { "Error: Import CSV" } else { "Import CSV" };
    render_with_status(
        status,
        &ImportPage {
            layout: Layout::signed_in(title, "admin", signed_in),
            csrf_token: signed_in.csrf_token().to_owned(),
            kinds: Kind::ALL.iter().map(|each| Choice::new(each.as_str(), each.label(), Some(*each) == kind)).collect(),
            help: Kind::ALL
                .iter()
                .map(|each| KindHelp { value: each.as_str(), label: each.label(), columns: each.columns() })
                .collect(),
            text,
            notice,
            form_error,
            problems,
            max_rows: rows::MAX_ROWS,
            max_megabytes: MAX_UPLOAD_BYTES / (1024 * 1024),
        },
    )
}

/// `GET /dashboard/admin/import`
pub async fn form(signed_in: SignedIn, query: web::Query<ImportQuery>) -> Result<HttpResponse, DashboardError> {
    signed_in.require_admin()?;
    let kind = query.kind.as_deref().and_then(Kind::parse);
    let notice = match (kind, query.imported) {
        (Some(kind), Some(count)) => Some(format!("Imported {count} {}.", kind.label().to_lowercase())),
        _ => None,
    };
    page(&signed_in, StatusCode::OK, kind, String::new(), notice, None, Vec::new())
}

/// The fields of the import form.
#[derive(Debug, Default)]
struct Submitted {
    csrf_token: String,
    kind: String,
    /// The chosen file's content; empty when no file was chosen.
    file: Vec<u8>,
    text: String,
}

fn read_form(content_type: &str, body: &[u8]) -> Result<Submitted, MultipartError> {
    let mut submitted = Submitted::default();
    for part in multipart::parse(content_type, body)? {
        match part.name.as_str() {
            "csrf_token" => submitted.csrf_token = String::from_utf8_lossy(&part.body).into_owned(),
            "kind" => submitted.kind = String::from_utf8_lossy(&part.body).trim().to_owned(),
            "file" => submitted.file = part.body,
            "text" => submitted.text = String::from_utf8_lossy(&part.body).into_owned(),
            _ => {}
        }
    }
    Ok(submitted)
}

/// `POST /dashboard/admin/import` with `multipart/form-data`.
pub async fn submit(
    request: HttpRequest,
    state: web::Data<AppState>,
    signed_in: SignedIn,
    body: web::Bytes,
) -> Result<HttpResponse, DashboardError> {
    signed_in.require_admin()?;
    let content_type = request.headers().get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or("");
    let submitted = match read_form(content_type, &body) {
        Ok(submitted) => submitted,
        Err(error) => {
            // Without a readable form there is no CSRF token to check, so
            // this is rejected like a form without one.
            tracing::warn!(staff_id = %signed_in.user.id, %error, "rejected an import form that cannot be read");
            return Err(DashboardError::Forbidden);
        }
    };
    signed_in.check_csrf(&submitted.csrf_token, &request)?;

    let text_typed = submitted.text.clone();
    let Some(kind) = Kind::parse(&submitted.kind) else {
        let message = "Choose what the file contains: facilities, agents or slot series.".to_owned();
        return page(&signed_in, StatusCode::UNPROCESSABLE_ENTITY, None, text_typed, None, Some(message), Vec::new());
    };
    let text = if submitted.file.is_empty() {
        submitted.text
    } else {
        match String::from_utf8(submitted.file) {
            Ok(text) => text,
            Err(_) => {
                let message =
                    "The file is not UTF-8 text. Save it from the spreadsheet as \"CSV UTF-8\" and choose it again."
                        .to_owned();
                return page(
                    &signed_in,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Some(kind),
                    text_typed,
                    None,
                    Some(message),
                    Vec::new(),
                );
            }
        }
    };
    if text.trim().is_empty() {
        let message = "Choose a CSV file or paste its text.".to_owned();
        return page(
            &signed_in,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(kind),
            text_typed,
            None,
            Some(message),
            Vec::new(),
        );
    }

    let parsed = match rows::read(kind, &text) {
        Ok(parsed) => parsed,
        Err(problems) => {
            return page(&signed_in, StatusCode::UNPROCESSABLE_ENTITY, Some(kind), text_typed, None, None, problems);
        }
    };
    let context = state.engine.booking.clone();
    let now = state.engine.clock.now_naive();
    let stored = state
        .engine
        .database
        .run(move |connection| Ok::<_, DbError>(rows::store(connection, &context, kind, &parsed, now)))
        .await?;

    let staff = signed_in.user.id;
    match stored {
        Ok(count) => {
            tracing::info!(staff_id = %staff, kind = kind.as_str(), rows = count, "staff user {staff} imported {count} {}", kind.as_str());
            Ok(see_other(&format!("{PATH}?kind={}&imported={count}", kind.as_str())))
        }
        Err(ImportError::Rejected(problems)) => {
            tracing::info!(staff_id = %staff, kind = kind.as_str(), problems = problems.len(), "import of {} by staff user {staff} rejected; nothing stored", kind.as_str());
            page(&signed_in, StatusCode::UNPROCESSABLE_ENTITY, Some(kind), text_typed, None, None, problems)
        }
        Err(ImportError::Database(error)) => Err(error.into()),
    }
}
