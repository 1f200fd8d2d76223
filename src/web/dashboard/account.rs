//! `GET /dashboard/password` and `POST /dashboard/password`: a signed-in
//! user changes their own password. The current password is required, and
//! wrong guesses count against the same per-account limit as sign-ins.
//! After a change every other session of the user ends.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::login::claim_attempt;
use super::session::{client_address, sha256_hex, SignedIn};
use super::view::Layout;
use super::{password, render_with_status, see_other, DashboardError};
use crate::db::staff::{AttemptClaim, LoginAttempts, StaffSession, StaffUser};
use crate::db::{write_transaction, DbError};
use crate::web::AppState;

#[derive(Template)]
#[template(path = "dashboard/password.html")]
struct PasswordPage {
    layout: Layout,
    csrf_token: String,
    min_length: usize,
    max_length: usize,
    error: Option<String>,
    notice: Option<&'static str>,
}

#[derive(Debug, Default, Deserialize)]
pub struct PasswordQuery {
    changed: Option<String>,
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm_password: String,
}

fn page(
    state: &AppState,
    signed_in: &SignedIn,
    status: StatusCode,
    error: Option<String>,
    notice: Option<&'static str>,
) -> Result<HttpResponse, DashboardError> {
    render_with_status(
        status,
        &PasswordPage {
            layout: Layout::signed_in("Change password", "account", signed_in),
            csrf_token: signed_in.csrf_token().to_owned(),
            min_length: state.engine.settings.dashboard.min_password_length,
            max_length: password::MAX_LENGTH,
            error,
            notice,
        },
    )
}

pub async fn form(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    query: web::Query<PasswordQuery>,
) -> Result<HttpResponse, DashboardError> {
    let notice = query.changed.is_some().then_some("Your password was changed. Other sessions were signed out.");
    page(&state, &signed_in, StatusCode::OK, None, notice)
}

pub async fn change(
    request: HttpRequest,
    state: web::Data<AppState>,
    signed_in: SignedIn,
    form: web::Form<PasswordForm>,
) -> Result<HttpResponse, DashboardError> {
    signed_in.check_csrf(&form.csrf_token, &request)?;
    let form = form.into_inner();
    let settings = state.engine.settings.dashboard.clone();
    let staff_id = signed_in.user.id;
    let account_key = sha256_hex(&signed_in.user.email);
    let client = client_address(&request, &settings);

    if let AttemptClaim::Limited(_) = claim_attempt(&state, &account_key, &client).await? {
        tracing::warn!(staff_id = %staff_id, %client, "rejected a password change of staff user {staff_id}: too many failed attempts");
        let message =
            format!("Too many wrong passwords. Wait {} minutes and try again.", settings.failure_window_minutes);
        return page(&state, &signed_in, StatusCode::TOO_MANY_REQUESTS, Some(message), None);
    }
    let stored_hash = signed_in.user.password_hash.clone();
    let current = form.current_password;
    let current_ok = web::block(move || password::verify(&current, &stored_hash))
        .await
        .map_err(|error| DashboardError::Internal(anyhow::anyhow!("password check did not finish: {error}")))?;
    if !current_ok {
        tracing::warn!(staff_id = %staff_id, "password change of staff user {staff_id} failed: wrong current password");
        return page(&state, &signed_in, StatusCode::OK, Some("The current password is wrong.".to_owned()), None);
    }
    {
        let account_key = account_key.clone();
        state
            .engine
            .database
            .run(move |connection| LoginAttempts::clear_account(connection, &account_key).map_err(DbError::from))
            .await?;
    }

    let new_password = form.new_password;
    if let Err(problem) = password::check_new(&new_password, settings.min_password_length) {
        return page(&state, &signed_in, StatusCode::OK, Some(capitalise(&problem.to_string())), None);
    }
    if new_password != form.confirm_password {
        return page(&state, &signed_in, StatusCode::OK, Some("The two new passwords differ.".to_owned()), None);
    }
    let stored_hash = signed_in.user.password_hash.clone();
    let hashed = web::block(move || {
        if password::verify(&new_password, &stored_hash) {
            return Ok(None);
        }
        password::hash(&new_password).map(Some)
    })
    .await
    .map_err(|error| DashboardError::Internal(anyhow::anyhow!("password hashing did not finish: {error}")))?
    .map_err(DashboardError::Internal)?;
    let Some(hash) = hashed else {
        return page(&state, &signed_in, StatusCode::OK, Some("The new password is the current one.".to_owned()), None);
    };

    let keep = signed_in.session_id().to_owned();
    let now = state.engine.clock.now_naive();
    let ended = state
        .engine
        .database
        .run(move |connection| {
            write_transaction(connection, |connection| {
                StaffUser::set_password(connection, staff_id, &hash, now)?;
                StaffSession::delete_others_of(connection, staff_id, &keep)
            })
            .map_err(DbError::from)
        })
        .await?;
    tracing::info!(staff_id = %staff_id, ended_sessions = ended, "staff user {staff_id} changed their password");
    Ok(see_other("/dashboard/password?changed=1"))
}

fn capitalise(text: &str) -> String {
    let mut characters = text.chars();
    match characters.next() {
        Some(first) => first.to_uppercase().chain(characters).chain(std::iter::once('.')).collect(),
        None => String::new(),
    }
}
