//! The staff dashboard: server-rendered pages for admins and officers.
//!
//! Every page but the sign-in form needs a live session ([`session::SignedIn`]),
//! every POST form carries the session's CSRF token, and every query goes
//! through [`crate::db::scoped`] with the user's scope, so an officer sees
//! only the corporations assigned to them. Templates are in `templates/`
//! (askama, HTML escaping on) and the stylesheet is compiled into the binary.

pub mod account;
pub mod assets;
pub mod correction;
pub mod export;
pub mod flags;
pub mod form;
pub mod home;
pub mod import;
pub mod login;
pub mod manage;
pub mod multipart;
pub mod outbox;
pub mod password;
pub mod requests;
pub mod session;
pub mod slots;
pub mod tasks;
pub mod view;

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::middleware::DefaultHeaders;
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

use crate::db::{DbError, Unavailable};

/// Headers on every dashboard response: no scripts, frames or foreign
/// resources, no caching of pages with personal data.
pub fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::REFERRER_POLICY, "same-origin"))
        .add((header::CACHE_CONTROL, "no-store"))
}

/// A failed dashboard request. The page shows a short message, and the
/// cause is logged once, when the response is built.
#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    /// No live session: the browser goes to the sign-in page and comes
    /// back to `next` afterwards.
    #[error("sign-in required")]
    SignInRequired { next: Option<String>, expired: bool },
    /// A missing or wrong CSRF token. Logged where it is detected.
    #[error("invalid or missing CSRF token")]
    Forbidden,
    /// No such row in the user's scope; rows of other corporations look
    /// the same.
    #[error("not found")]
    NotFound,
    /// A request parameter that cannot be read, with the parameter named.
    #[error("invalid {field}: {problem}")]
    BadRequest { field: &'static str, problem: String },
    #[error(transparent)]
    Unavailable(Unavailable),
    #[error("{0:#}")]
    Internal(anyhow::Error),
}

impl From<DbError> for DashboardError {
    fn from(error: DbError) -> Self {
        match error {
            DbError::Unavailable(unavailable) => DashboardError::Unavailable(unavailable),
            DbError::Query(query) => {
                DashboardError::Internal(anyhow::Error::new(query).context("database query failed"))
            }
        }
    }
}

impl From<Unavailable> for DashboardError {
    fn from(error: Unavailable) -> Self {
        DashboardError::Unavailable(error)
    }
}

impl From<diesel::result::Error> for DashboardError {
    fn from(error: diesel::result::Error) -> Self {
        DashboardError::Internal(anyhow::Error::new(error).context("database query failed"))
    }
}

impl From<askama::Error> for DashboardError {
    fn from(error: askama::Error) -> Self {
        DashboardError::Internal(anyhow::Error::new(error).context("rendering a template failed"))
    }
}

#[derive(Template)]
#[template(path = "dashboard/error.html")]
struct ErrorPage<'a> {
    layout: view::Layout,
    heading: &'a str,
    message: String,
}

impl ResponseError for DashboardError {
    fn status_code(&self) -> StatusCode {
        match self {
            DashboardError::SignInRequired { .. } => StatusCode::SEE_OTHER,
            DashboardError::Forbidden => StatusCode::FORBIDDEN,
            DashboardError::NotFound => StatusCode::NOT_FOUND,
            DashboardError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            DashboardError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            DashboardError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (heading, message) = match self {
            DashboardError::SignInRequired { next, expired } => {
                return session::redirect_to_sign_in(next.as_deref(), *expired);
            }
            DashboardError::Forbidden => (
                "Form expired",
                "The form was missing its security token or it no longer matches your session. Go back, reload the page and send the form again.".to_owned(),
            ),
            DashboardError::NotFound => ("Not found", "There is no such page, or it is not one you can see.".to_owned()),
            DashboardError::BadRequest { field, problem } => ("Invalid request", format!("Invalid {field}: {problem}.")),
            DashboardError::Unavailable(error) => {
                tracing::error!(%error, "dashboard request failed: database unavailable");
                ("Busy", "The database is busy. Try again in a moment.".to_owned())
            }
            DashboardError::Internal(error) => {
                tracing::error!(error = format!("{error:#}"), "dashboard request failed");
                ("Something went wrong", "The request failed. The error has been logged; try again later.".to_owned())
            }
        };
        let page = ErrorPage { layout: view::Layout::anonymous(heading), heading, message };
        let body = page.render().unwrap_or_else(|_| heading.to_owned());
        HttpResponse::build(self.status_code()).content_type("text/html; charset=utf-8").body(body)
    }
}

/// Responds to a dashboard path without a route with the not-found page.
pub async fn not_found() -> Result<HttpResponse, DashboardError> {
    Err(DashboardError::NotFound)
}

/// Renders a page with status 200.
pub fn render(page: &impl Template) -> Result<HttpResponse, DashboardError> {
    render_with_status(StatusCode::OK, page)
}

/// Renders a page with the given status.
pub fn render_with_status(status: StatusCode, page: &impl Template) -> Result<HttpResponse, DashboardError> {
    let body = page.render()?;
    Ok(HttpResponse::build(status).content_type("text/html; charset=utf-8").body(body))
}

/// Builds a 303 redirect, the response to a successful form POST.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, location)).finish()
}
