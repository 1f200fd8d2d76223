//! `GET /portal/login`, `POST /portal/login` and `POST /portal/logout`.
//!
//! Clients sign in with the login and one-time password they got on
//! WhatsApp. The password opens one session: it is marked used in the
//! write transaction that creates the session, so two sign-ins racing with
//! it cannot both succeed.
//!
//! Failed sign-ins count against the dashboard's `login_attempts` limits,
//! per login and per client address (`[dashboard]` settings). Client logins
//! are counted under their own key prefix, so they never mix with staff
//! emails.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::session::{login_csrf_cookie, safe_next, session_cookie, SignedInClient, COOKIES, HOME_PATH, SIGN_IN_PATH};
use super::view::{request_language, Layout, Texts};
use super::{render_with_status, see_other, PortalError};
use crate::db::client_sessions::{ClientSession, NewClientSession};
use crate::db::clients::Client;
use crate::db::ids::ClientId;
use crate::db::staff::{AttemptClaim, LoginAttempts};
use crate::db::{write_transaction, DbError};
use crate::sms::Language;
use crate::web::dashboard::login::claim_attempt;
use crate::web::session_common::{client_address, random_token, sha256_hex};
use crate::web::{session_common, AppState};

/// Maximum length of a login, in characters. Longer input is not looked
/// up, so a huge field costs nothing.
const MAX_LOGIN_LENGTH: usize = 64;

#[derive(Template)]
#[template(path = "portal/login.html")]
struct LoginPage {
    layout: Layout,
    csrf_token: String,
    login: String,
    next: String,
    /// The `?lang=` language, sent back so the page after the sign-in is in
    /// it too.
    lang: String,
    /// Whether the language was picked on this page, so the sign-in stores
    /// it in the client's profile. A language that came with the link from
    /// WhatsApp may be older than the profile's and is not stored.
    lang_chosen: bool,
    error: Option<String>,
    notice: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    login: Option<String>,
    lang: Option<String>,
    /// Present on the links of the page's language menu.
    chosen: Option<String>,
    next: Option<String>,
    expired: Option<String>,
    signed_out: Option<String>,
}

/// Fields of the sign-in form. Every field defaults to empty, so a missing
/// CSRF token gets 403 rather than a parse error.
#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    next: String,
    #[serde(default)]
    lang: String,
    #[serde(default)]
    lang_chosen: String,
}

/// A form whose only field is the CSRF token.
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf_token: String,
}

/// Reason a sign-in did not open a session.
enum Refusal {
    /// Unknown login or wrong password; the page does not say which.
    WrongPassword,
    /// The password was right but is used or expired.
    PasswordSpent,
}

/// Shows the sign-in form, or sends a signed-in client on.
pub async fn form(
    request: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<LoginQuery>,
    signed_in: Option<SignedInClient>,
) -> Result<HttpResponse, PortalError> {
    let next = query.next.as_deref().and_then(safe_next).unwrap_or(HOME_PATH).to_owned();
    if signed_in.is_some() {
        return Ok(see_other(&next));
    }
    let texts = Texts::new(&state, request_language(&request));
    let notice = if query.expired.is_some() {
        Some(texts.get("portal-login-expired"))
    } else if query.signed_out.is_some() {
        Some(texts.get("portal-login-signed-out"))
    } else {
        None
    };
    let login = query.login.as_deref().unwrap_or("").trim().chars().take(MAX_LOGIN_LENGTH).collect();
    let lang = query.lang.as_deref().and_then(|code| code.parse::<Language>().ok()).map(Language::code);
    let lang_chosen = lang.is_some() && query.chosen.is_some();
    let page = LoginView { login, next, lang: lang.unwrap_or("").to_owned(), lang_chosen, error: None, notice };
    login_page(&state, &request, texts, StatusCode::OK, page)
}

/// Content of the sign-in page besides its frame and token.
struct LoginView {
    login: String,
    next: String,
    lang: String,
    lang_chosen: bool,
    error: Option<String>,
    notice: Option<String>,
}

/// Renders the sign-in form with its CSRF token in the form and in its
/// cookie. The token of the browser's current cookie is kept, so two open
/// sign-in tabs both work; otherwise a new one is made.
fn login_page(
    state: &AppState,
    request: &HttpRequest,
    texts: Texts,
    status: StatusCode,
    view: LoginView,
) -> Result<HttpResponse, PortalError> {
    let csrf_token = COOKIES.login_form_token(request);
    let page = LoginPage {
        layout: Layout::anonymous(texts, "portal-login-title"),
        csrf_token: csrf_token.clone(),
        login: view.login,
        next: view.next,
        lang: view.lang,
        lang_chosen: view.lang_chosen,
        error: view.error,
        notice: view.notice,
    };
    let mut response = render_with_status(status, &page)?;
    response
        .add_cookie(&login_csrf_cookie(csrf_token, &state.engine.settings))
        .map_err(|error| PortalError::Internal(anyhow::anyhow!("setting the sign-in cookie failed: {error}")))?;
    Ok(response)
}

/// Checks the sign-in form: CSRF token, rate limits, the password, then
/// uses the one-time password and opens a session.
pub async fn submit(
    request: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, PortalError> {
    let settings = state.engine.settings.clone();
    let address = client_address(&request, &settings.dashboard);
    let form = form.into_inner();
    if !COOKIES.login_form_token_matches(&request, &form.csrf_token, &address, "portal") {
        return Err(PortalError::Forbidden);
    }

    let chosen_language = form.lang.parse::<Language>().ok();
    let texts = Texts::new(&state, chosen_language.unwrap_or_else(|| request_language(&request)));
    let next = safe_next(&form.next).unwrap_or(HOME_PATH).to_owned();
    let login = form.login.trim().to_lowercase();
    let view = |error: String| LoginView {
        login: form.login.chars().take(MAX_LOGIN_LENGTH).collect(),
        next: next.clone(),
        lang: form.lang.clone(),
        lang_chosen: form.lang_chosen == "1",
        error: Some(error),
        notice: None,
    };

    let account_key = account_key(&login);
    if let AttemptClaim::Limited(counts) = claim_attempt(&state, &account_key, &address).await? {
        tracing::warn!(
            client = %address,
            account_failures = counts.account,
            address_failures = counts.address,
            "rejected a portal sign-in from {address}: too many failed attempts"
        );
        let minutes = settings.dashboard.failure_window_minutes.to_string();
        let message = texts.with("portal-login-rate-limited", "minutes", &minutes);
        return login_page(&state, &request, texts, StatusCode::TOO_MANY_REQUESTS, view(message));
    }

    let client = if login.is_empty() || login.chars().count() > MAX_LOGIN_LENGTH {
        None
    } else {
        let login = login.clone();
        state
            .engine
            .database
            .run(move |connection| Client::find_by_login(connection, &login).map_err(DbError::from))
            .await?
    };
    let now = state.engine.clock.now_naive();
    let candidate_id = client.as_ref().map(|client| client.id);
    // Passwords are made of lower-case letters and digits, so case and
    // spaces around them, which phone keyboards add, do not count.
    let password = form.password.trim().to_lowercase();
    let outcome = match check_password(client, password).await? {
        None => Err(Refusal::WrongPassword),
        Some(client) if !client.password_usable(now) => Err(Refusal::PasswordSpent),
        Some(client) => {
            let previous = COOKIES.session_id(&request);
            let stored_language = chosen_language.filter(|_| form.lang_chosen == "1");
            start_session(&state, client.id, account_key, previous, stored_language)
                .await?
                .ok_or(Refusal::PasswordSpent)
        }
    };

    let token = match outcome {
        Ok(token) => token,
        Err(Refusal::WrongPassword) => {
            // The typed login is not logged: people sometimes type their
            // password into the login field.
            match candidate_id {
                Some(id) => {
                    tracing::warn!(client = %address, client_id = %id, "portal sign-in failed for client {id}: wrong password")
                }
                None => tracing::warn!(client = %address, "portal sign-in failed: no client has that login"),
            }
            let message = texts.get("portal-login-wrong");
            return login_page(&state, &request, texts, StatusCode::OK, view(message));
        }
        Err(Refusal::PasswordSpent) => {
            tracing::info!(client = %address, client_id = ?candidate_id, "rejected a portal sign-in: the one-time password is used or expired");
            let message = texts.get("portal-login-password-spent");
            return login_page(&state, &request, texts, StatusCode::OK, view(message));
        }
    };
    if let Some(id) = candidate_id {
        tracing::info!(client_id = %id, client = %address, "client {id} signed in to the portal");
    }

    let mut response = see_other(&next);
    response
        .add_cookie(&session_cookie(token, &settings))
        .and_then(|()| response.add_cookie(&COOKIES.login_csrf_removal()))
        .map_err(|error| PortalError::Internal(anyhow::anyhow!("setting the session cookie failed: {error}")))?;
    Ok(response)
}

/// Returns the key under which failed sign-ins to `login` are counted in
/// `login_attempts`. The login is trimmed and lower-cased first, as the
/// sign-in form does.
pub fn account_key(login: &str) -> String {
    sha256_hex(&format!("client:{}", login.trim().to_lowercase()))
}

/// Returns the client if `password` matches their current password hash,
/// used or not; see [`session_common::check_password`].
async fn check_password(client: Option<Client>, password: String) -> Result<Option<Client>, PortalError> {
    session_common::check_password(client, password, |client| &client.password_hash)
        .await
        .map_err(|error| PortalError::Internal(anyhow::anyhow!("password check did not finish: {error}")))
}

/// Uses the client's one-time password and stores a new session, in one
/// write transaction, and returns the cookie token. Returns `None` when the
/// password was used or expired in the meantime. The same transaction
/// deletes the login's failed attempts and expired sessions, ends the
/// browser's `previous` session, and stores the language chosen on the
/// sign-in page.
async fn start_session(
    state: &AppState,
    client_id: ClientId,
    account_key: String,
    previous: Option<String>,
    language: Option<Language>,
) -> Result<Option<String>, PortalError> {
    let token = random_token();
    let session_id = sha256_hex(&token);
    let csrf_token = random_token();
    let now = state.engine.clock.now_naive();
    let expires_at = now + chrono::Duration::days(i64::from(state.engine.settings.portal.session_lifetime_days));
    let started = state
        .engine
        .database
        .run(move |connection| {
            write_transaction(connection, |connection| {
                if !Client::use_password(connection, client_id, now)? {
                    return Ok(false);
                }
                LoginAttempts::clear_account(connection, &account_key)?;
                ClientSession::delete_expired(connection, now)?;
                if let Some(previous) = &previous {
                    ClientSession::delete(connection, previous)?;
                }
                if let Some(language) = language {
                    Client::set_language(connection, client_id, language)?;
                }
                ClientSession::insert(
                    connection,
                    &NewClientSession {
                        id: &session_id,
                        client_id,
                        csrf_token: &csrf_token,
                        created_at: now,
                        expires_at,
                        last_seen_at: now,
                    },
                )?;
                Ok::<_, diesel::result::Error>(true)
            })
            .map_err(DbError::from)
        })
        .await?;
    Ok(started.then_some(token))
}

/// Ends the session and returns to the sign-in page in the client's
/// language.
pub async fn logout(
    request: HttpRequest,
    state: web::Data<AppState>,
    signed_in: SignedInClient,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, PortalError> {
    signed_in.check_csrf(&form.csrf_token, &request)?;

    let session_id = signed_in.session_id().to_owned();
    state
        .engine
        .database
        .run(move |connection| ClientSession::delete(connection, &session_id).map_err(DbError::from))
        .await?;
    tracing::info!(client_id = %signed_in.client.id, "client {} signed out of the portal", signed_in.client.id);

    let language = signed_in.client.language().code();
    let mut response = see_other(&format!("{SIGN_IN_PATH}?signed_out=1&lang={language}"));
    response
        .add_cookie(&COOKIES.session_removal())
        .map_err(|error| PortalError::Internal(anyhow::anyhow!("removing the session cookie failed: {error}")))?;
    Ok(response)
}
