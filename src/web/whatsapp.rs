//! The WhatsApp Cloud API webhook at `/whatsapp/webhook`. `GET` handles
//! Meta's verification handshake. `POST` checks the `X-Hub-Signature-256`
//! HMAC of the raw body, stores every message and applies every status
//! report in one transaction, responds with 200, and only then replies to
//! the clients, because Meta retries deliveries that get no quick 200.

use actix_web::{web, HttpRequest, HttpResponse};
use secrecy::ExposeSecret as _;
use subtle::ConstantTimeEq as _;

use super::query::Params;
use super::AppState;
use crate::channels::whatsapp::payload::Notification;
use crate::channels::whatsapp::signature::{self, SignatureError};
use crate::clients::{self, masked_sender};
use crate::db::DbError;

/// The largest webhook body accepted, in bytes; larger ones get 413.
/// NOTE: Meta documents no maximum; notifications carry media ids, not
/// media, and measure a few kilobytes even when batched.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Registers `GET` and `POST /whatsapp/webhook`.
pub fn routes(config: &mut web::ServiceConfig) {
    config.service(
        web::resource("/whatsapp/webhook")
            .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
            .route(web::get().to(verify))
            .route(web::post().to(receive)),
    );
}

fn text_response(mut builder: actix_web::HttpResponseBuilder, body: String) -> HttpResponse {
    builder.content_type("text/plain; charset=utf-8").body(body)
}

fn disabled() -> HttpResponse {
    text_response(
        HttpResponse::NotFound(),
        "the WhatsApp channel is disabled: set whatsapp.enabled = true to receive Cloud API webhooks\n".to_owned(),
    )
}

fn peer_of(request: &HttpRequest) -> String {
    request.peer_addr().map(|address| address.ip().to_string()).unwrap_or_default()
}

/// Responds to the verification handshake with 200 with the raw `hub.challenge`
/// when `hub.mode` is `subscribe` and `hub.verify_token` matches
/// `whatsapp.verify_token`, else 403.
pub async fn verify(request: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let settings = &state.engine.settings.whatsapp;
    if !settings.enabled {
        return disabled();
    }
    let params = Params::parse(request.query_string());
    let field = |name: &str| params.get(name).map(|value| value.text.clone()).unwrap_or_default();
    let (mode, token, challenge) = (field("hub.mode"), field("hub.verify_token"), field("hub.challenge"));

    let expected = settings.verify_token.expose_secret().as_bytes();
    let token_matches = !expected.is_empty() && bool::from(token.as_bytes().ct_eq(expected));
    if mode != "subscribe" || !token_matches {
        tracing::warn!(
            peer = %peer_of(&request),
            mode = %mode,
            token_present = !token.is_empty(),
            "rejected WhatsApp webhook verification"
        );
        return text_response(
            HttpResponse::Forbidden(),
            "verification failed: hub.mode must be 'subscribe' and hub.verify_token must equal whatsapp.verify_token\n"
                .to_owned(),
        );
    }
    tracing::info!("accepted the WhatsApp webhook verification");
    text_response(HttpResponse::Ok(), challenge)
}

/// Receives one notification; see the module documentation for the order
/// of steps.
pub async fn receive(request: HttpRequest, body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    let settings = &state.engine.settings.whatsapp;
    if !settings.enabled {
        return disabled();
    }

    let header = request.headers().get(signature::HEADER).map(|value| value.to_str().unwrap_or("invalid"));
    if let Err(error) = signature::verify(settings.app_secret.expose_secret().as_bytes(), header, &body) {
        tracing::warn!(peer = %peer_of(&request), %error, bytes = body.len(), "rejected WhatsApp webhook call");
        let hint = match error {
            SignatureError::Missing | SignatureError::Malformed => {
                "send X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>"
            }
            SignatureError::Mismatch => "sign the raw body with the app secret configured as whatsapp.app_secret",
        };
        return text_response(HttpResponse::Unauthorized(), format!("{error}: {hint}\n"));
    }

    let notification: Notification = match serde_json::from_slice(&body) {
        Ok(notification) => notification,
        Err(error) => {
            tracing::warn!(%error, bytes = body.len(), "rejected a signed WhatsApp webhook call with invalid JSON");
            return text_response(
                HttpResponse::BadRequest(),
                format!("invalid WhatsApp notification: {error}; expected the Cloud API webhook JSON\n"),
            );
        }
    };
    if notification.object != "whatsapp_business_account" {
        // An error status would make Meta retry a call that can never
        // succeed, so other objects are acknowledged and ignored.
        tracing::warn!(object = %notification.object, "ignored a webhook call that is not about WhatsApp");
        return HttpResponse::Ok().finish();
    }

    let (messages, statuses, missing) = notification.flatten();
    for message in &missing {
        tracing::warn!(message_id = %message.message_id, "ignored a WhatsApp message without a sender id");
    }
    let senders: Vec<String> = messages.iter().map(|message| masked_sender(&message.whatsapp_id)).collect();
    let now = state.engine.clock.now_naive();
    let stored = state
        .engine
        .database
        .run(move |connection| {
            clients::store_notification(connection, &messages, &statuses, now).map_err(DbError::from)
        })
        .await;
    let stored = match stored {
        Ok(stored) => stored,
        Err(DbError::Unavailable(error)) => {
            tracing::error!(%error, "storing a WhatsApp notification failed: database unavailable");
            return text_response(
                HttpResponse::ServiceUnavailable(),
                "the database is busy; nothing was stored, deliver the notification again\n".to_owned(),
            );
        }
        Err(error) => {
            tracing::error!(%error, "storing a WhatsApp notification failed");
            return text_response(
                HttpResponse::InternalServerError(),
                "storing the notification failed; nothing was stored, deliver it again\n".to_owned(),
            );
        }
    };

    tracing::info!(
        new = stored.new.len(),
        repeated = stored.repeated,
        statuses = stored.statuses_applied,
        senders = ?senders,
        "stored a WhatsApp notification"
    );
    for id in &stored.unknown_statuses {
        tracing::info!(message_id = %id, "ignored a WhatsApp status for a message Sandesh did not send");
    }

    let engine = state.engine.clone();
    actix_rt::spawn(async move {
        for message in stored.new {
            clients::process(&engine, message.id, Some(message.profile_name)).await;
        }
    });
    HttpResponse::Ok().finish()
}
