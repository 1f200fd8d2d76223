//! `GET /dashboard/login`, `POST /dashboard/login` and
//! `POST /dashboard/logout`.
//!
//! Failed sign-ins are stored in `login_attempts` and limited per account
//! and per client address within a window (`[dashboard]` settings). The
//! table is shared by every server on the database, so the limit applies
//! across nodes and restarts, which an in-memory counter would not. Each
//! attempt is recorded as a failure in the transaction that checks the
//! limit, and forgotten when the password is right, so parallel guesses
//! cannot all pass the check. A rejected attempt gets no password check,
//! so the limit also caps the hashing work an attacker can cause.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::session::{login_csrf_cookie, safe_next, session_cookie, SignedIn, COOKIES, HOME_PATH, SIGN_IN_PATH};
use super::view::Layout;
use super::{render_with_status, see_other, DashboardError};
use crate::db::staff::{
    normalise_email, AttemptClaim, FailureLimits, LoginAttempts, NewStaffSession, StaffId, StaffSession, StaffUser,
};
use crate::db::{write_transaction, DbError};
use crate::web::session_common::{client_address, random_token, sha256_hex};
use crate::web::{session_common, AppState};

#[derive(Template)]
#[template(path = "dashboard/login.html")]
struct LoginPage {
    layout: Layout,
    csrf_token: String,
    email: String,
    next: String,
    error: Option<String>,
    notice: Option<&'static str>,
}

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    expired: Option<String>,
    signed_out: Option<String>,
}

/// Fields of the sign-in form. Every field defaults to empty, so a missing
/// CSRF token gets 403 rather than a parse error.
#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    next: String,
}

/// A form whose only field is the CSRF token.
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf_token: String,
}

/// Shows the sign-in form, or sends a signed-in user on.
pub async fn form(
    request: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<LoginQuery>,
    signed_in: Option<SignedIn>,
) -> Result<HttpResponse, DashboardError> {
    let next = query.next.as_deref().and_then(safe_next).unwrap_or(HOME_PATH).to_owned();
    if signed_in.is_some() {
        return Ok(see_other(&next));
    }
    let notice = if query.expired.is_some() {
        Some("Your session expired. Sign in again.")
    } else if query.signed_out.is_some() {
        Some("You have signed out.")
    } else {
        None
    };
    login_page(&state, &request, StatusCode::OK, String::new(), next, None, notice)
}

/// Renders the sign-in form with its CSRF token in the form and in its
/// cookie. The token of the browser's current cookie is kept, so two open
/// sign-in tabs both work; otherwise a new one is made.
fn login_page(
    state: &AppState,
    request: &HttpRequest,
    status: StatusCode,
    email: String,
    next: String,
    error: Option<String>,
    notice: Option<&'static str>,
) -> Result<HttpResponse, DashboardError> {
    let csrf_token = COOKIES.login_form_token(request);
    let page =
        LoginPage { layout: Layout::anonymous("Sign in"), csrf_token: csrf_token.clone(), email, next, error, notice };
    let mut response = render_with_status(status, &page)?;
    response
        .add_cookie(&login_csrf_cookie(csrf_token, &state.engine.settings.dashboard))
        .map_err(|error| DashboardError::Internal(anyhow::anyhow!("setting the sign-in cookie failed: {error}")))?;
    Ok(response)
}

/// Checks the sign-in form: CSRF token, rate limits, then the password.
pub async fn submit(
    request: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, DashboardError> {
    let settings = state.engine.settings.dashboard.clone();
    let client = client_address(&request, &settings);
    let form = form.into_inner();
    let next = safe_next(&form.next).unwrap_or(HOME_PATH).to_owned();
    if !COOKIES.login_form_token_matches(&request, &form.csrf_token, &client, "dashboard") {
        return Err(DashboardError::Forbidden);
    }

    let email = normalise_email(&form.email);
    let account_key = sha256_hex(&email);
    if let AttemptClaim::Limited(counts) = claim_attempt(&state, &account_key, &client).await? {
        tracing::warn!(
            %client,
            account_failures = counts.account,
            address_failures = counts.address,
            "rejected a sign-in from {client}: too many failed attempts"
        );
        let message = format!(
            "Too many failed sign-ins. Wait {} minutes and try again, or ask an admin.",
            settings.failure_window_minutes
        );
        return login_page(&state, &request, StatusCode::TOO_MANY_REQUESTS, form.email, next, Some(message), None);
    }

    let user = {
        let email = email.clone();
        state
            .engine
            .database
            .run(move |connection| StaffUser::find_by_email(connection, &email).map_err(DbError::from))
            .await?
            .filter(|user| user.active)
    };
    let candidate_id = user.as_ref().map(|user| user.id);
    let Some(user) = check_password(user, form.password).await? else {
        // The typed email is not logged: people sometimes type their
        // password into the email field.
        match candidate_id {
            Some(id) => tracing::warn!(%client, staff_id = %id, "sign-in failed for staff user {id}: wrong password"),
            None => tracing::warn!(%client, "sign-in failed: no active staff user has that email"),
        }
        let message = "The email or password is wrong.".to_owned();
        return login_page(&state, &request, StatusCode::OK, form.email, next, Some(message), None);
    };

    let previous = COOKIES.session_id(&request);
    let token = start_session(&state, user.id, account_key, previous).await?;
    tracing::info!(staff_id = %user.id, %client, "staff user {} signed in", user.id);

    let mut response = see_other(&next);
    response
        .add_cookie(&session_cookie(token, &settings))
        .and_then(|()| response.add_cookie(&COOKIES.login_csrf_removal()))
        .map_err(|error| DashboardError::Internal(anyhow::anyhow!("setting the session cookie failed: {error}")))?;
    Ok(response)
}

/// Claims one password attempt for the account and the client address
/// against the `[dashboard]` limits. An allowed attempt counts as a failure
/// until [`LoginAttempts::clear_account`] runs after a right password.
pub async fn claim_attempt(state: &AppState, account_key: &str, client: &str) -> Result<AttemptClaim, DashboardError> {
    let settings = &state.engine.settings.dashboard;
    let limits = FailureLimits {
        per_account: i64::from(settings.max_failures_per_account),
        per_address: i64::from(settings.max_failures_per_address),
    };
    let now = state.engine.clock.now_naive();
    let window_start = now - chrono::Duration::minutes(i64::from(settings.failure_window_minutes));
    let (account_key, client) = (account_key.to_owned(), client.to_owned());
    let claim = state
        .engine
        .database
        .run(move |connection| {
            LoginAttempts::claim(connection, &account_key, &client, now, window_start, limits).map_err(DbError::from)
        })
        .await?;
    Ok(claim)
}

/// Returns the user if `password` is theirs; see
/// [`session_common::check_password`].
async fn check_password(user: Option<StaffUser>, password: String) -> Result<Option<StaffUser>, DashboardError> {
    session_common::check_password(user, password, |user| &user.password_hash)
        .await
        .map_err(|error| DashboardError::Internal(anyhow::anyhow!("password check did not finish: {error}")))
}

/// Stores a new session for `staff_id` and returns its cookie token. In the
/// same transaction it deletes the account's failed attempts, deletes
/// expired sessions and ends the browser's `previous` session, if any.
async fn start_session(
    state: &AppState,
    staff_id: StaffId,
    account_key: String,
    previous: Option<String>,
) -> Result<String, DashboardError> {
    let settings = &state.engine.settings.dashboard;
    let token = random_token();
    let session_id = sha256_hex(&token);
    let csrf_token = random_token();
    let now = state.engine.clock.now_naive();
    let expires_at = now + chrono::Duration::hours(i64::from(settings.session_lifetime_hours));
    let idle_cutoff = now - chrono::Duration::minutes(i64::from(settings.idle_timeout_minutes));
    state
        .engine
        .database
        .run(move |connection| {
            write_transaction(connection, |connection| {
                LoginAttempts::clear_account(connection, &account_key)?;
                StaffSession::delete_expired(connection, now, idle_cutoff)?;
                if let Some(previous) = &previous {
                    StaffSession::delete(connection, previous)?;
                }
                StaffSession::insert(
                    connection,
                    &NewStaffSession {
                        id: &session_id,
                        staff_id,
                        csrf_token: &csrf_token,
                        created_at: now,
                        expires_at,
                        last_seen_at: now,
                    },
                )
            })
            .map_err(DbError::from)
        })
        .await?;
    Ok(token)
}

/// Ends the session and returns to the sign-in page.
pub async fn logout(
    request: HttpRequest,
    state: web::Data<AppState>,
    signed_in: SignedIn,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, DashboardError> {
    signed_in.check_csrf(&form.csrf_token, &request)?;

    let session_id = signed_in.session_id().to_owned();
    state
        .engine
        .database
        .run(move |connection| StaffSession::delete(connection, &session_id).map_err(DbError::from))
        .await?;
    tracing::info!(staff_id = %signed_in.user.id, "staff user {} signed out", signed_in.user.id);

    let mut response = see_other(&format!("{SIGN_IN_PATH}?signed_out=1"));
    response
        .add_cookie(&COOKIES.session_removal())
        .map_err(|error| DashboardError::Internal(anyhow::anyhow!("removing the session cookie failed: {error}")))?;
    Ok(response)
}
