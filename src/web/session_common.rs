//! Cookie sessions, CSRF checks and sign-in steps shared by the staff
//! dashboard (`web::dashboard::session`) and the client portal
//! (`web::portal::session`).
//!
//! A session cookie carries a random 256-bit token, and the session row is
//! keyed by the token's SHA-256, so the database alone cannot be used to
//! sign in. The sign-in form, which has no session yet, sends a CSRF token
//! that is both in a short-lived cookie and in the form (double submit).
//! Each area passes its own cookie names, paths and lifetimes in
//! [`SessionCookies`], so the two areas never read each other's cookies.

use std::fmt::Write as _;

use actix_web::cookie::time::Duration;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::error::BlockingError;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use rand::Rng as _;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use crate::config::DashboardSettings;
use crate::web::dashboard::password;

/// Lifetime of the sign-in form's CSRF cookie.
const LOGIN_CSRF_LIFETIME: Duration = Duration::hours(1);

/// Returns a new random token: 32 bytes from the thread's CSPRNG as 64 hex
/// digits.
pub fn random_token() -> String {
    let mut bytes = [0_u8; 32];
    rand::rng().fill(&mut bytes);
    hex(&bytes)
}

/// Returns the SHA-256 of `text` as 64 hex digits.
pub fn sha256_hex(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

/// Compares two tokens in time that does not depend on where they differ.
/// An empty token never matches.
pub fn tokens_match(given: &str, expected: &str) -> bool {
    !given.is_empty() && bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
}

/// Returns the client address that sign-in limits count: the TCP peer, or
/// the last X-Forwarded-For entry when `dashboard.trust_forwarded_for` is
/// set.
pub fn client_address(request: &HttpRequest, settings: &DashboardSettings) -> String {
    if settings.trust_forwarded_for {
        let forwarded = request
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .last();
        if let Some(address) = forwarded {
            return address.to_owned();
        }
    }
    request.peer_addr().map(|address| address.ip().to_string()).unwrap_or_else(|| "unknown".to_owned())
}

/// Returns the request's path with its query string, the `next` page of a
/// sign-in redirect.
pub fn path_and_query(request: &HttpRequest) -> String {
    match request.query_string() {
        "" => request.path().to_owned(),
        query => format!("{}?{query}", request.path()),
    }
}

/// Returns whether `next` is a page under `area_path` that is safe to go
/// back to after signing in: not another site, not `//host`, without
/// backslashes or control characters, and not the sign-in page itself.
pub fn is_safe_next(next: &str, area_path: &str, sign_in_path: &str) -> bool {
    let local = next.starts_with(area_path) && !next.starts_with("//");
    let plain = !next.contains(['\\', '\r', '\n']) && !next.chars().any(char::is_control);
    local && plain && !next.starts_with(sign_in_path)
}

/// Builds a cookie that makes the browser delete the cookie `name` on
/// `path`.
pub fn removal_cookie(name: &'static str, path: &'static str) -> Cookie<'static> {
    let mut cookie = Cookie::build(name, "").path(path).finish();
    cookie.make_removal();
    cookie
}

/// Returns the account if `password` matches the hash that `password_hash`
/// reads from it. Without an account it spends the time of one check
/// anyway, so the response time does not tell whether the account exists.
/// Runs on the blocking pool.
pub async fn check_password<A>(
    account: Option<A>,
    password: String,
    password_hash: fn(&A) -> &str,
) -> Result<Option<A>, BlockingError>
where
    A: Send + 'static,
{
    web::block(move || match account {
        Some(account) => password::verify(&password, password_hash(&account)).then_some(account),
        None => {
            password::verify_against_dummy(&password);
            None
        }
    })
    .await
}

/// The cookie names and paths of one signed-in area.
#[derive(Debug, Clone, Copy)]
pub struct SessionCookies {
    /// Name of the cookie carrying the session token.
    pub session: &'static str,
    /// Name of the cookie carrying the sign-in form's CSRF token.
    pub login_csrf: &'static str,
    /// Path the session cookie is limited to.
    pub path: &'static str,
    /// Path of the sign-in form, which the CSRF cookie is limited to.
    pub sign_in_path: &'static str,
}

impl SessionCookies {
    /// Builds the session cookie: HttpOnly, limited to [`Self::path`], and
    /// SameSite=Lax, so a link from a message opens the area signed in
    /// while cross-site POSTs carry no cookie. With `max_age` of `None` it
    /// ends with the browser session.
    pub fn session_cookie(&self, token: String, secure: bool, max_age: Option<Duration>) -> Cookie<'static> {
        let mut cookie = Cookie::build(self.session, token)
            .path(self.path)
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(secure)
            .finish();
        if let Some(max_age) = max_age {
            cookie.set_max_age(max_age);
        }
        cookie
    }

    /// Builds the sign-in form's CSRF cookie, valid for an hour on the
    /// sign-in path.
    pub fn login_csrf_cookie(&self, token: String, secure: bool) -> Cookie<'static> {
        Cookie::build(self.login_csrf, token)
            .path(self.sign_in_path)
            .http_only(true)
            .same_site(SameSite::Strict)
            .secure(secure)
            .max_age(LOGIN_CSRF_LIFETIME)
            .finish()
    }

    /// Builds the cookie that deletes the session cookie.
    pub fn session_removal(&self) -> Cookie<'static> {
        removal_cookie(self.session, self.path)
    }

    /// Builds the cookie that deletes the sign-in form's CSRF cookie.
    pub fn login_csrf_removal(&self) -> Cookie<'static> {
        removal_cookie(self.login_csrf, self.sign_in_path)
    }

    /// Returns the session row id of the request's session cookie, the
    /// SHA-256 of its token, or `None` without the cookie.
    pub fn session_id(&self, request: &HttpRequest) -> Option<String> {
        request.cookie(self.session).map(|cookie| sha256_hex(cookie.value()))
    }

    /// Builds the 303 response to a request without a live session. It
    /// leads to the sign-in page with `next` and the expiry notice, and
    /// removes the session cookie. The caller checks `next` with the
    /// area's own rule first.
    pub fn redirect_to_sign_in(&self, next: Option<&str>, expired: bool) -> HttpResponse {
        let mut location = self.sign_in_path.to_owned();
        let mut separator = '?';
        if let Some(next) = next {
            location.push(separator);
            location.push_str("next=");
            location.push_str(&utf8_percent_encode(next, NON_ALPHANUMERIC).to_string());
            separator = '&';
        }
        if expired {
            location.push(separator);
            location.push_str("expired=1");
        }
        HttpResponse::SeeOther().insert_header((header::LOCATION, location)).cookie(self.session_removal()).finish()
    }

    /// Returns the CSRF token for a new sign-in form. The token of the
    /// browser's current CSRF cookie is kept if it is well formed, so two
    /// open sign-in tabs both work; otherwise a new one is made.
    pub fn login_form_token(&self, request: &HttpRequest) -> String {
        request
            .cookie(self.login_csrf)
            .map(|cookie| cookie.value().to_owned())
            .filter(|token| token.len() == 64 && token.chars().all(|character| character.is_ascii_hexdigit()))
            .unwrap_or_else(random_token)
    }

    /// Returns whether the sign-in form's CSRF token `given` matches the
    /// one in its cookie, and logs a warning naming `area` and the client
    /// `address` when it does not.
    pub fn login_form_token_matches(&self, request: &HttpRequest, given: &str, address: &str, area: &str) -> bool {
        let cookie_token = request.cookie(self.login_csrf).map(|cookie| cookie.value().to_owned()).unwrap_or_default();
        if tokens_match(given, &cookie_token) {
            return true;
        }
        tracing::warn!(
            client = %address,
            token_present = !given.is_empty(),
            cookie_present = !cookie_token.is_empty(),
            "rejected a {area} sign-in form with a missing or wrong CSRF token"
        );
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COOKIES: SessionCookies =
        SessionCookies { session: "session", login_csrf: "login_csrf", path: "/area", sign_in_path: "/area/login" };

    #[test]
    fn tokens_are_random_hex() {
        let first = random_token();
        let second = random_token();

        assert_eq!(first.len(), 64);
        assert!(first.chars().all(|character| character.is_ascii_hexdigit()));
        assert_ne!(first, second);
    }

    #[test]
    fn sha256_matches_known_value() {
        assert_eq!(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn token_comparison() {
        assert!(tokens_match("abc", "abc"));
        assert!(!tokens_match("abd", "abc"));
        assert!(!tokens_match("ab", "abc"));
        assert!(!tokens_match("", ""));
    }

    #[test]
    fn session_cookie_lifetime_is_optional() {
        let browser_session = COOKIES.session_cookie("token".to_owned(), true, None);
        let lasting = COOKIES.session_cookie("token".to_owned(), false, Some(Duration::days(30)));

        assert_eq!(browser_session.max_age(), None);
        assert_eq!(browser_session.path(), Some("/area"));
        assert_eq!(browser_session.http_only(), Some(true));
        assert_eq!(browser_session.same_site(), Some(SameSite::Lax));
        assert_eq!(browser_session.secure(), Some(true));
        assert_eq!(lasting.max_age(), Some(Duration::days(30)));
        assert_eq!(lasting.secure(), Some(false));
    }

    #[test]
    fn login_csrf_cookie_is_strict_on_sign_in_path() {
        let cookie = COOKIES.login_csrf_cookie("token".to_owned(), true);

        assert_eq!(cookie.name(), "login_csrf");
        assert_eq!(cookie.path(), Some("/area/login"));
        assert_eq!(cookie.same_site(), Some(SameSite::Strict));
        assert_eq!(cookie.max_age(), Some(Duration::hours(1)));
    }

    #[test]
    fn redirect_without_next_or_notice() {
        let response = COOKIES.redirect_to_sign_in(None, false);
        let location = response.headers().get(header::LOCATION).and_then(|value| value.to_str().ok());

        assert_eq!(location, Some("/area/login"));
    }

    #[test]
    fn safe_next_rules() {
        assert!(is_safe_next("/area/x?y=1", "/area", "/area/login"));
        assert!(!is_safe_next("/other", "/area", "/area/login"));
        assert!(!is_safe_next("//example.com/area", "/area", "/area/login"));
        assert!(!is_safe_next("/area/login?next=/area", "/area", "/area/login"));
        assert!(!is_safe_next("/area\\..\\x", "/area", "/area/login"));
        assert!(!is_safe_next("/area/\u{7}", "/area", "/area/login"));
    }
}
