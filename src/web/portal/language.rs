//! `POST /portal/language`: stores the language the client reads the
//! portal in. WhatsApp replies use the same stored language.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::session::{safe_next, SignedInClient, HOME_PATH};
use super::{see_other, PortalError};
use crate::db::clients::Client;
use crate::db::DbError;
use crate::sms::Language;
use crate::web::AppState;

/// Fields of the language form in the page header.
#[derive(Debug, Deserialize)]
pub struct LanguageForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    language: String,
    /// The page to return to.
    #[serde(default)]
    next: String,
}

/// Stores the chosen language and returns to the page the form was on. An
/// unknown code leaves the language as it was.
pub async fn change(
    request: HttpRequest,
    state: web::Data<AppState>,
    signed_in: SignedInClient,
    form: web::Form<LanguageForm>,
) -> Result<HttpResponse, PortalError> {
    signed_in.check_csrf(&form.csrf_token, &request)?;
    let next = safe_next(&form.next).unwrap_or(HOME_PATH).to_owned();

    let Ok(language) = form.language.parse::<Language>() else {
        tracing::warn!(client_id = %signed_in.client.id, "ignored a portal language change to an unknown code");
        return Ok(see_other(&next));
    };
    let client_id = signed_in.client.id;
    state
        .engine
        .database
        .run(move |connection| Client::set_language(connection, client_id, language).map_err(DbError::from))
        .await?;
    tracing::info!(client_id = %client_id, %language, "client {client_id} switched the portal to {language}");
    Ok(see_other(&next))
}
