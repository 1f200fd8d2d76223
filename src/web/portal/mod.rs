//! The client portal: sign-in with the WhatsApp credentials, requests and chat.
//!
//! Pages are server-rendered (askama, HTML escaping on) in the client's
//! language, English, Hindi or Marathi, with every string from
//! `locales/<lang>/portal.ftl`. Every page but the sign-in form needs a live
//! client session ([`session::SignedInClient`]), and every POST carries the
//! session's CSRF token. Requests are looked up through
//! [`crate::db::client_requests::ClientRequest::visible`], so another
//! client's request is "not found" exactly like a missing one.

pub mod assets;
pub mod chat;
pub mod language;
pub mod login;
pub mod requests;
pub mod session;
pub mod view;

use actix_web::body::BoxBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::middleware::DefaultHeaders;
use actix_web::{web, HttpMessage as _, HttpResponse, ResponseError};
use askama::Template;
use futures_util::FutureExt as _;

use crate::db::{DbError, Unavailable};
use crate::sms::Language;
use crate::web::AppState;

/// Registers the portal routes.
pub fn routes(config: &mut web::ServiceConfig) {
    config.service(
        web::scope("/portal")
            .wrap_fn(translate_errors)
            .wrap(security_headers())
            .route("", web::get().to(requests::redirect_home))
            .route("/", web::get().to(requests::home))
            .route("/login", web::get().to(login::form))
            .route("/login", web::post().to(login::submit))
            .route("/logout", web::post().to(login::logout))
            .route("/language", web::post().to(language::change))
            .service(
                web::resource("/requests").app_data(requests::form_config()).route(web::post().to(requests::create)),
            )
            .route("/requests/new", web::get().to(requests::new_form))
            .route("/requests/{id}", web::get().to(requests::show))
            .configure(chat::routes)
            .default_service(web::to(not_found)),
    );
}

/// Headers on every portal response. Scripts, styles, images and
/// WebSocket connections may come only from this server, and pages are
/// neither framed nor cached.
pub fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::REFERRER_POLICY, "same-origin"))
        .add((header::CACHE_CONTROL, "no-store"))
}

/// A failed portal request. [`ResponseError`] gives a plain-text body, and
/// [`translate_errors`] replaces it with a page in the client's language,
/// because only the middleware can see the request.
#[derive(Debug, thiserror::Error)]
pub enum PortalError {
    /// No live session: the browser goes to the sign-in page and comes
    /// back to `next` afterwards.
    #[error("sign-in required")]
    SignInRequired { next: Option<String>, expired: bool },
    /// A missing or wrong CSRF token. Logged where it is detected.
    #[error("invalid or missing CSRF token")]
    Forbidden,
    /// No such page or request, or a request of another client.
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Unavailable(Unavailable),
    #[error("{0:#}")]
    Internal(anyhow::Error),
}

impl From<DbError> for PortalError {
    fn from(error: DbError) -> Self {
        match error {
            DbError::Unavailable(unavailable) => PortalError::Unavailable(unavailable),
            DbError::Query(query) => PortalError::Internal(anyhow::Error::new(query).context("database query failed")),
        }
    }
}

impl From<diesel::result::Error> for PortalError {
    fn from(error: diesel::result::Error) -> Self {
        PortalError::from(DbError::from(error))
    }
}

impl From<askama::Error> for PortalError {
    fn from(error: askama::Error) -> Self {
        PortalError::Internal(anyhow::Error::new(error).context("rendering a portal template failed"))
    }
}

impl From<crate::web::dashboard::DashboardError> for PortalError {
    fn from(error: crate::web::dashboard::DashboardError) -> Self {
        use crate::web::dashboard::DashboardError;
        match error {
            DashboardError::Unavailable(unavailable) => PortalError::Unavailable(unavailable),
            DashboardError::NotFound => PortalError::NotFound,
            DashboardError::Forbidden => PortalError::Forbidden,
            other => PortalError::Internal(anyhow::anyhow!("{other}")),
        }
    }
}

impl ResponseError for PortalError {
    fn status_code(&self) -> StatusCode {
        match self {
            PortalError::SignInRequired { .. } => StatusCode::SEE_OTHER,
            PortalError::Forbidden => StatusCode::FORBIDDEN,
            PortalError::NotFound => StatusCode::NOT_FOUND,
            PortalError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            PortalError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            PortalError::SignInRequired { next, expired } => session::redirect_to_sign_in(next.as_deref(), *expired),
            PortalError::Unavailable(error) => {
                tracing::error!(%error, "portal request failed: database unavailable");
                HttpResponse::build(self.status_code()).content_type("text/plain; charset=utf-8").body(self.to_string())
            }
            PortalError::Internal(error) => {
                tracing::error!(error = format!("{error:#}"), "portal request failed");
                HttpResponse::build(self.status_code())
                    .content_type("text/plain; charset=utf-8")
                    .body("the request failed; the error has been logged")
            }
            PortalError::Forbidden | PortalError::NotFound => {
                HttpResponse::build(self.status_code()).content_type("text/plain; charset=utf-8").body(self.to_string())
            }
        }
    }
}

#[derive(Template)]
#[template(path = "portal/error.html")]
struct ErrorPage {
    layout: view::Layout,
    heading: String,
    message: String,
}

/// Replaces the plain-text body of a [`PortalError`] (other than the
/// sign-in redirect) with an error page in the language of the request:
/// the signed-in client's, or the one [`view::request_language`] picks.
fn translate_errors(
    request: ServiceRequest,
    service: &impl actix_web::dev::Service<ServiceRequest, Response = ServiceResponse<BoxBody>, Error = actix_web::Error>,
) -> impl std::future::Future<Output = Result<ServiceResponse<BoxBody>, actix_web::Error>> {
    service.call(request).map(|result| {
        let response = result?;
        let Some(error) = response.response().error().and_then(|error| error.as_error::<PortalError>()) else {
            return Ok(response);
        };
        let (heading_id, message_id) = match error {
            PortalError::SignInRequired { .. } => return Ok(response),
            PortalError::Forbidden => ("portal-error-forbidden-title", "portal-error-forbidden"),
            PortalError::NotFound => ("portal-error-not-found-title", "portal-error-not-found"),
            PortalError::Unavailable(_) => ("portal-error-busy-title", "portal-error-busy"),
            PortalError::Internal(_) => ("portal-error-internal-title", "portal-error-internal"),
        };
        let status = response.status();
        let Some(state) = response.request().app_data::<web::Data<AppState>>().cloned() else {
            return Ok(response);
        };
        let language = response
            .request()
            .extensions()
            .get::<Language>()
            .copied()
            .unwrap_or_else(|| view::request_language(response.request()));
        let texts = view::Texts::new(&state, language);
        let page = ErrorPage {
            heading: texts.get(heading_id),
            message: texts.get(message_id),
            layout: view::Layout::anonymous(texts, heading_id),
        };
        let Ok(body) = page.render() else {
            return Ok(response);
        };
        let translated = HttpResponse::build(status).content_type("text/html; charset=utf-8").body(body);
        Ok(response.into_response(translated))
    })
}

/// Responds to a portal path without a route with the not-found page.
pub async fn not_found() -> Result<HttpResponse, PortalError> {
    Err(PortalError::NotFound)
}

/// Parses the numeric id of a portal path such as `/portal/requests/{id}`.
/// Any other text is [`PortalError::NotFound`], so it gets the translated
/// not-found page instead of actix's plain-text 404.
pub fn parse_path_id(text: &str) -> Result<i32, PortalError> {
    text.parse::<i32>().map_err(|_| PortalError::NotFound)
}

/// Renders a page with the given status.
pub fn render_with_status(status: StatusCode, page: &impl Template) -> Result<HttpResponse, PortalError> {
    let body = page.render()?;
    Ok(HttpResponse::build(status).content_type("text/html; charset=utf-8").body(body))
}

/// Renders a page with status 200.
pub fn render(page: &impl Template) -> Result<HttpResponse, PortalError> {
    render_with_status(StatusCode::OK, page)
}

/// Builds a 303 redirect, the response to a successful form POST.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, location)).finish()
}
