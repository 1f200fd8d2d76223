//! Sessions and CSRF protection.
//!
//! Signing in stores a session row and gives the browser a cookie with a
//! random 256-bit token. The row's id is the SHA-256 of the token, so the
//! database alone cannot be used to sign in. The cookie is not signed: its
//! value means nothing without the server-side row, so a forged value is a
//! guess at a 256-bit secret, and logout and expiry take effect at once
//! because the row is deleted or too old.
//!
//! Every session has its own random CSRF token. Pages put it in a hidden
//! field of every POST form, and handlers compare it in constant time
//! before they change anything. The sign-in form, which has no session
//! yet, uses a token that is both in a short-lived cookie and in the form
//! (double submit).

use actix_web::cookie::Cookie;
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use futures_util::future::LocalBoxFuture;

use super::DashboardError;
use crate::config::DashboardSettings;
use crate::db::staff::{Role, Scope, StaffSession, StaffUser};
use crate::db::DbError;
// Other dashboard and API modules import these from here.
pub use crate::web::session_common::{client_address, random_token, sha256_hex};
use crate::web::session_common::{is_safe_next, path_and_query, tokens_match, SessionCookies};
use crate::web::AppState;

/// The cookie carrying the session token.
pub const SESSION_COOKIE: &str = "sandesh_session";
/// The cookie carrying the sign-in form's CSRF token.
pub const LOGIN_CSRF_COOKIE: &str = "sandesh_login_csrf";
/// The path both cookies are limited to.
pub const COOKIE_PATH: &str = "/dashboard";
/// Path of the sign-in form.
pub const SIGN_IN_PATH: &str = "/dashboard/login";
/// The dashboard home page.
pub const HOME_PATH: &str = "/dashboard/";

/// The dashboard's session and sign-in cookies.
pub const COOKIES: SessionCookies = SessionCookies {
    session: SESSION_COOKIE,
    login_csrf: LOGIN_CSRF_COOKIE,
    path: COOKIE_PATH,
    sign_in_path: SIGN_IN_PATH,
};

/// A session's `last_seen_at` is written at most this often, so reading a
/// page is not a database write each time. The idle timeout is therefore
/// accurate to this many seconds.
const TOUCH_INTERVAL_SECS: i64 = 60;

/// A request with a live session: the user, their scope and the session's
/// CSRF token. Extracting it from a request without one fails with
/// [`DashboardError::SignInRequired`], which redirects to the sign-in page.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user: StaffUser,
    pub scope: Scope,
    session_id: String,
    csrf_token: String,
}

impl SignedIn {
    pub fn csrf_token(&self) -> &str {
        &self.csrf_token
    }

    /// Returns the session row's id, which is the token's hash.
    pub fn session_id(&self) -> &str {
        &self.session_id
    }

    /// Returns whether the user is an admin.
    pub fn is_admin(&self) -> bool {
        self.user.role() == Role::Admin
    }

    /// Lets only admins through. Officers get the not-found page, as for
    /// rows outside their scope.
    pub fn require_admin(&self) -> Result<(), DashboardError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(DashboardError::NotFound)
        }
    }

    /// Accepts a form only if it carries this session's CSRF token; logs
    /// and rejects it with 403 otherwise.
    pub fn check_csrf(&self, given: &str, request: &HttpRequest) -> Result<(), DashboardError> {
        if tokens_match(given, &self.csrf_token) {
            return Ok(());
        }
        tracing::warn!(
            staff_id = %self.user.id,
            path = %request.path(),
            token_present = !given.is_empty(),
            "rejected a dashboard form of staff user {} with a missing or wrong CSRF token",
            self.user.id
        );
        Err(DashboardError::Forbidden)
    }
}

enum Lookup {
    Live(Box<SignedIn>),
    /// No live session; `expired` when a row existed and was too old.
    Gone {
        expired: bool,
    },
}

impl FromRequest for SignedIn {
    type Error = DashboardError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move { load(&request).await })
    }
}

async fn load(request: &HttpRequest) -> Result<SignedIn, DashboardError> {
    let next = (request.method() == actix_web::http::Method::GET).then(|| path_and_query(request));
    let Some(session_id) = COOKIES.session_id(request) else {
        return Err(DashboardError::SignInRequired { next, expired: false });
    };
    let Some(state) = request.app_data::<web::Data<AppState>>() else {
        return Err(DashboardError::Internal(anyhow::anyhow!("application state missing from the request")));
    };
    let settings = &state.engine.settings.dashboard;
    let now = state.engine.clock.now_naive();
    let idle_cutoff = now - chrono::Duration::minutes(i64::from(settings.idle_timeout_minutes));

    let lookup = state
        .engine
        .database
        .run(move |connection| {
            let Some((session, user)) = StaffSession::find_live(connection, &session_id, now, idle_cutoff)? else {
                let deleted = StaffSession::delete(connection, &session_id)?;
                return Ok::<_, DbError>(Lookup::Gone { expired: deleted > 0 });
            };
            if (now - session.last_seen_at).num_seconds() >= TOUCH_INTERVAL_SECS {
                StaffSession::touch(connection, &session.id, now)?;
            }
            let scope = Scope::of(connection, &user)?;
            Ok(Lookup::Live(Box::new(SignedIn { user, scope, session_id: session.id, csrf_token: session.csrf_token })))
        })
        .await?;

    match lookup {
        Lookup::Live(signed_in) => Ok(*signed_in),
        Lookup::Gone { expired } => {
            if expired {
                tracing::info!("dashboard session expired; asking to sign in again");
            }
            Err(DashboardError::SignInRequired { next, expired })
        }
    }
}

/// Returns `next` if it is a dashboard page to go back to after signing
/// in. Anything else (another site, `//host`, the sign-in page) is
/// ignored, so the parameter cannot send people off the dashboard.
pub fn safe_next(next: &str) -> Option<&str> {
    is_safe_next(next, COOKIE_PATH, SIGN_IN_PATH).then_some(next)
}

/// Builds the 303 response to a request without a live session. It leads
/// to the sign-in page with `next` and the expiry notice, and removes the
/// session cookie.
pub fn redirect_to_sign_in(next: Option<&str>, expired: bool) -> HttpResponse {
    COOKIES.redirect_to_sign_in(next.and_then(safe_next), expired)
}

/// Builds the session cookie. It is HttpOnly and limited to the dashboard
/// path. SameSite=Lax lets a link from an SMS or an email open the
/// dashboard signed in, while cross-site POSTs carry no cookie. Without
/// Max-Age it ends with the browser session, and the server ends it sooner
/// by idle timeout or lifetime.
pub fn session_cookie(token: String, settings: &DashboardSettings) -> Cookie<'static> {
    COOKIES.session_cookie(token, settings.secure_cookies, None)
}

/// Builds the sign-in form's CSRF cookie, valid for an hour on the sign-in
/// path.
pub fn login_csrf_cookie(token: String, settings: &DashboardSettings) -> Cookie<'static> {
    COOKIES.login_csrf_cookie(token, settings.secure_cookies)
}

#[cfg(test)]
mod tests {
    use actix_web::http::header;

    use super::*;

    #[test]
    fn next_stays_on_the_dashboard() {
        assert_eq!(safe_next("/dashboard/tasks?status=booked"), Some("/dashboard/tasks?status=booked"));
        assert_eq!(safe_next("https://example.com/dashboard"), None);
        assert_eq!(safe_next("//example.com/dashboard"), None);
        assert_eq!(safe_next("/dashboard/login?next=/x"), None);
        assert_eq!(safe_next("/dashboard\\..\\x"), None);
        assert_eq!(safe_next("/health"), None);
    }

    #[test]
    fn sign_in_redirect_keeps_next_and_notice() {
        let response = redirect_to_sign_in(Some("/dashboard/tasks?page=2"), true);
        let location = response.headers().get(header::LOCATION).and_then(|value| value.to_str().ok());

        assert_eq!(location, Some("/dashboard/login?next=%2Fdashboard%2Ftasks%3Fpage%3D2&expired=1"));
    }
}
