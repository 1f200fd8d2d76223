//! Client sessions and CSRF protection, built on `web::session_common` like
//! the dashboard's in `web::dashboard::session`. The cookie carries a random 256-bit token,
//! and the `client_sessions` row is keyed by its SHA-256. Every session has
//! its own CSRF token, which forms send in a hidden field and uploads in
//! the `X-CSRF-Token` header.
//!
//! The cookie is limited to `/portal`, so staff cookies (limited to
//! `/dashboard`) never reach the portal and portal cookies never reach the
//! dashboard.

use actix_web::cookie::time::Duration;
use actix_web::cookie::Cookie;
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpMessage as _, HttpRequest, HttpResponse};
use futures_util::future::LocalBoxFuture;

use super::PortalError;
use crate::config::Settings;
use crate::db::client_requests::Viewer;
use crate::db::client_sessions::ClientSession;
use crate::db::clients::Client;
use crate::db::DbError;
use crate::web::session_common::{is_safe_next, path_and_query, tokens_match, SessionCookies};
use crate::web::AppState;

/// The cookie carrying the session token.
pub const SESSION_COOKIE: &str = "sandesh_client";
/// The cookie carrying the sign-in form's CSRF token.
pub const LOGIN_CSRF_COOKIE: &str = "sandesh_client_login_csrf";
/// The path both cookies are limited to.
pub const COOKIE_PATH: &str = "/portal";
/// Path of the sign-in form.
pub const SIGN_IN_PATH: &str = "/portal/login";
/// The portal home page.
pub const HOME_PATH: &str = "/portal/";
/// The header that uploads carry the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The portal's session and sign-in cookies.
pub const COOKIES: SessionCookies = SessionCookies {
    session: SESSION_COOKIE,
    login_csrf: LOGIN_CSRF_COOKIE,
    path: COOKIE_PATH,
    sign_in_path: SIGN_IN_PATH,
};

/// A session's `last_seen_at` is written at most this often, so reading a
/// page is not a database write each time.
const TOUCH_INTERVAL_SECS: i64 = 60;

/// A request with a live client session: the client and the session's
/// CSRF token. Extracting it from a request without one fails with
/// [`PortalError::SignInRequired`], which redirects to the sign-in page.
/// It also stores the client's language in the request extensions, so
/// error pages use it.
#[derive(Debug, Clone)]
pub struct SignedInClient {
    pub client: Client,
    pub csrf: String,
    session_id: String,
}

impl SignedInClient {
    /// Returns the session row's id, which is the token's hash.
    pub fn session_id(&self) -> &str {
        &self.session_id
    }

    /// Returns the viewer that access checks use for this client.
    pub fn viewer(&self) -> Viewer {
        Viewer::Client(self.client.id)
    }

    /// Accepts a form or upload only if it carries this session's CSRF
    /// token; logs and rejects it with 403 otherwise.
    pub fn check_csrf(&self, given: &str, request: &HttpRequest) -> Result<(), PortalError> {
        if tokens_match(given, &self.csrf) {
            return Ok(());
        }
        tracing::warn!(
            client_id = %self.client.id,
            path = %request.path(),
            token_present = !given.is_empty(),
            "rejected a portal request of client {} with a missing or wrong CSRF token",
            self.client.id
        );
        Err(PortalError::Forbidden)
    }

    /// Checks the `X-CSRF-Token` header, which uploads carry instead of a
    /// form field.
    pub fn check_csrf_header(&self, request: &HttpRequest) -> Result<(), PortalError> {
        let given = request.headers().get(CSRF_HEADER).and_then(|value| value.to_str().ok()).unwrap_or("");
        self.check_csrf(given, request)
    }
}

enum Lookup {
    Live(Box<SignedInClient>),
    /// No live session; `expired` when a row existed and was too old.
    Gone {
        expired: bool,
    },
}

impl FromRequest for SignedInClient {
    type Error = PortalError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move {
            let signed_in = load(&request).await?;
            request.extensions_mut().insert(signed_in.client.language());
            Ok(signed_in)
        })
    }
}

async fn load(request: &HttpRequest) -> Result<SignedInClient, PortalError> {
    let next = (request.method() == actix_web::http::Method::GET).then(|| path_and_query(request));
    let Some(session_id) = COOKIES.session_id(request) else {
        return Err(PortalError::SignInRequired { next, expired: false });
    };
    let Some(state) = request.app_data::<web::Data<AppState>>() else {
        return Err(PortalError::Internal(anyhow::anyhow!("application state missing from the request")));
    };
    let now = state.engine.clock.now_naive();

    let lookup = state
        .engine
        .database
        .run(move |connection| {
            let Some((session, client)) = ClientSession::find_live(connection, &session_id, now)? else {
                let deleted = ClientSession::delete(connection, &session_id)?;
                return Ok::<_, DbError>(Lookup::Gone { expired: deleted > 0 });
            };
            if (now - session.last_seen_at).num_seconds() >= TOUCH_INTERVAL_SECS {
                ClientSession::touch(connection, &session.id, now)?;
            }
            Ok(Lookup::Live(Box::new(SignedInClient { client, csrf: session.csrf_token, session_id: session.id })))
        })
        .await?;

    match lookup {
        Lookup::Live(signed_in) => Ok(*signed_in),
        Lookup::Gone { expired } => {
            if expired {
                tracing::info!("client session expired; asking to sign in again");
            }
            Err(PortalError::SignInRequired { next, expired })
        }
    }
}

/// Returns `next` if it is a portal page to go back to after signing in.
/// Anything else (another site, `//host`, the sign-in page, the dashboard)
/// is ignored, so the parameter cannot send people off the portal.
pub fn safe_next(next: &str) -> Option<&str> {
    (is_safe_next(next, COOKIE_PATH, SIGN_IN_PATH) && !next.contains("/ws")).then_some(next)
}

/// Builds the 303 response to a request without a live session. It leads
/// to the sign-in page with `next` and the expiry notice, and removes the
/// session cookie.
pub fn redirect_to_sign_in(next: Option<&str>, expired: bool) -> HttpResponse {
    COOKIES.redirect_to_sign_in(next.and_then(safe_next), expired)
}

/// Builds the session cookie: HttpOnly, limited to `/portal`, SameSite=Lax
/// so the link in a WhatsApp reply opens the portal signed in while
/// cross-site POSTs carry no cookie. It lasts as long as the server-side
/// session (`portal.session_lifetime_days`), because clients sign in with a
/// one-time password and should not need a new one each time the browser
/// closes.
pub fn session_cookie(token: String, settings: &Settings) -> Cookie<'static> {
    let lifetime = Duration::days(i64::from(settings.portal.session_lifetime_days));
    COOKIES.session_cookie(token, settings.dashboard.secure_cookies, Some(lifetime))
}

/// Builds the sign-in form's CSRF cookie, valid for an hour on the sign-in
/// path.
pub fn login_csrf_cookie(token: String, settings: &Settings) -> Cookie<'static> {
    COOKIES.login_csrf_cookie(token, settings.dashboard.secure_cookies)
}

#[cfg(test)]
mod tests {
    use actix_web::http::header;

    use super::*;

    #[test]
    fn next_stays_on_the_portal() {
        assert_eq!(safe_next("/portal/requests/3"), Some("/portal/requests/3"));
        assert_eq!(safe_next("/dashboard/"), None);
        assert_eq!(safe_next("https://example.com/portal"), None);
        assert_eq!(safe_next("//example.com/portal"), None);
        assert_eq!(safe_next("/portal/login?next=/portal/"), None);
        assert_eq!(safe_next("/portal/requests/3/ws"), None);
        assert_eq!(safe_next("/portal\\..\\x"), None);
    }

    #[test]
    fn sign_in_redirect_keeps_next_and_notice() {
        let response = redirect_to_sign_in(Some("/portal/requests/2"), true);
        let location = response.headers().get(header::LOCATION).and_then(|value| value.to_str().ok());

        assert_eq!(location, Some("/portal/login?next=%2Fportal%2Frequests%2F2&expired=1"));
    }
}
