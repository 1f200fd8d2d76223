//! `POST /api/v1/tokens` (trade an email and password for a bearer token)
//! and `DELETE /api/v1/tokens/current` (revoke the token of the request).
//!
//! Failed attempts count against the dashboard's sign-in limits
//! (`[dashboard]` settings, stored in `login_attempts`), so a password
//! cannot be guessed faster through the API than through the sign-in form.
//! A token lives `dashboard.session_lifetime_hours`, like a dashboard
//! session, and a password change ends every token issued before it.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::ApiUser;
use super::{local_time, ApiError, ErrorBody};
use crate::db::api_tokens::{ApiToken, NewApiToken};
use crate::db::scoped;
use crate::db::staff::{normalise_email, AttemptClaim, LoginAttempts, Scope, StaffId, StaffUser};
use crate::db::{write_transaction, DbError};
use crate::web::dashboard::login::claim_attempt;
use crate::web::dashboard::password;
use crate::web::dashboard::session::{client_address, random_token, sha256_hex};
use crate::web::AppState;

/// Credentials of a staff user. Both fields default to empty, so a missing
/// one gets a 422 that names it.
#[derive(Deserialize, ToSchema)]
pub struct TokenRequest {
    /// The email the user signs in to the dashboard with; case and
    /// surrounding spaces do not matter.
    #[serde(default)]
    #[schema(example = "officer@ngo.example")]
    pub email: String,
    /// The dashboard password.
    #[serde(default)]
    #[schema(example = "correct horse battery staple")]
    pub password: String,
}

/// A corporation the user may see.
#[derive(Debug, Serialize, ToSchema)]
pub struct CorporationRef {
    pub id: i32,
    pub name: String,
}

/// The user a token belongs to.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenUser {
    pub id: i32,
    pub name: String,
    pub email: String,
    /// `admin` (every corporation) or `officer` (the listed ones).
    #[schema(example = "officer")]
    pub role: String,
    /// The corporations whose tasks and flags the API returns to this user.
    pub corporations: Vec<CorporationRef>,
}

/// A new bearer token. The token is shown only in this response.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// 64 hex digits; send it as `Authorization: Bearer <token>`.
    pub token: String,
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    /// When the token stops working, in the business time zone.
    #[schema(value_type = String, format = DateTime, example = "2026-03-02T21:00:00+05:30")]
    pub expires_at: DateTime<FixedOffset>,
    pub user: TokenUser,
}

/// Issues a bearer token for a staff user's email and password.
#[utoipa::path(
    post,
    path = "/api/v1/tokens",
    operation_id = "issue_token",
    tag = "tokens",
    request_body = TokenRequest,
    responses(
        (status = 201, description = "Token issued", body = TokenResponse),
        (status = 400, description = "The body is not JSON", body = ErrorBody),
        (status = 401, description = "Wrong email or password, or an inactive account", body = ErrorBody),
        (status = 422, description = "Email or password left empty, or a password that is too long", body = ErrorBody),
        (status = 429, description = "Too many failed attempts for this email or client address; see Retry-After", body = ErrorBody),
        (status = 503, description = "The database is busy", body = ErrorBody),
    )
)]
pub async fn issue(
    request: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<TokenRequest>,
) -> Result<HttpResponse, ApiError> {
    let settings = state.engine.settings.dashboard.clone();
    let client = client_address(&request, &settings);
    let TokenRequest { email, password } = body.into_inner();

    let email = normalise_email(&email);
    if email.is_empty() {
        return Err(ApiError::Invalid { field: "email", message: "the email is empty".to_owned() });
    }
    if password.is_empty() {
        return Err(ApiError::Invalid { field: "password", message: "the password is empty".to_owned() });
    }
    if password.chars().count() > password::MAX_LENGTH {
        return Err(ApiError::Invalid {
            field: "password",
            message: format!("the password is longer than {} characters", password::MAX_LENGTH),
        });
    }

    let account_key = sha256_hex(&email);
    if let AttemptClaim::Limited(counts) = claim_attempt(&state, &account_key, &client).await? {
        tracing::warn!(
            %client,
            account_failures = counts.account,
            address_failures = counts.address,
            "rejected an API token request from {client}: too many failed attempts"
        );
        return Err(ApiError::TooManyRequests { retry_after_secs: u64::from(settings.failure_window_minutes) * 60 });
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
    let Some(user) = check_password(user, password).await? else {
        // The email is not logged: people sometimes type their password
        // into the email field.
        match candidate_id {
            Some(id) => {
                tracing::warn!(%client, staff_id = %id, "API token request rejected for staff user {id}: wrong password")
            }
            None => tracing::warn!(%client, "API token request rejected: no active staff user has that email"),
        }
        return Err(ApiError::Unauthorized { message: "the email or password is wrong", challenge: None });
    };

    let token = random_token();
    let now = state.engine.clock.now_naive();
    let expires_at = now + chrono::Duration::hours(i64::from(settings.session_lifetime_hours));
    let token_hash = sha256_hex(&token);
    let token_user = user.clone();
    let corporations = state
        .engine
        .database
        .run(move |connection| {
            write_transaction(connection, |connection| {
                LoginAttempts::clear_account(connection, &account_key)?;
                ApiToken::delete_expired(connection, now)?;
                let new = NewApiToken { token_hash: &token_hash, staff_id: token_user.id, created_at: now, expires_at };
                ApiToken::insert(connection, &new)
            })?;
            let scope = Scope::of(connection, &token_user)?;
            scoped::corporations(connection, &scope).map_err(DbError::from)
        })
        .await?;
    tracing::info!(staff_id = %user.id, %client, "issued an API token to staff user {}", user.id);

    let response = TokenResponse {
        token,
        token_type: "Bearer",
        expires_at: local_time(state.engine.settings.zone(), expires_at),
        user: TokenUser {
            id: user.id.0,
            name: user.name.clone(),
            email: user.email.clone(),
            role: user.role().as_str().to_owned(),
            corporations: corporations
                .into_iter()
                .map(|corporation| CorporationRef { id: corporation.id.0, name: corporation.name })
                .collect(),
        },
    };
    Ok(HttpResponse::Created().json(response))
}

/// Returns the user if `password` is theirs. Without a user it spends the
/// time of one check anyway, so the response time does not tell whether an
/// email has an account. Runs on the blocking pool, like the dashboard's
/// sign-in check.
async fn check_password(user: Option<StaffUser>, password: String) -> Result<Option<StaffUser>, ApiError> {
    web::block(move || match user {
        Some(user) => password::verify(&password, &user.password_hash).then_some(user),
        None => {
            password::verify_against_dummy(&password);
            None
        }
    })
    .await
    .map_err(|error| ApiError::Internal(anyhow::anyhow!("password check did not finish: {error}")))
}

/// Revokes the token that authenticates this request.
#[utoipa::path(
    delete,
    path = "/api/v1/tokens/current",
    operation_id = "revoke_token",
    tag = "tokens",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Token revoked; it no longer works"),
        (status = 401, description = "Missing, unknown, expired or revoked token", body = ErrorBody),
        (status = 503, description = "The database is busy", body = ErrorBody),
    )
)]
pub async fn revoke(state: web::Data<AppState>, api_user: ApiUser) -> Result<HttpResponse, ApiError> {
    let token_hash = api_user.token_hash().to_owned();
    state
        .engine
        .database
        .run(move |connection| ApiToken::delete(connection, &token_hash).map_err(DbError::from))
        .await?;
    let id: StaffId = api_user.user.id;
    tracing::info!(staff_id = %id, "staff user {id} revoked an API token");
    Ok(HttpResponse::NoContent().finish())
}
