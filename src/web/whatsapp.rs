//! The WhatsApp Cloud API webhook at `/whatsapp/webhook`. `GET` handles
//! Meta's verification handshake. `POST` checks the `X-Hub-Signature-256`
//! HMAC of the raw body, stores every message and applies every status
//! report in one transaction, skipping (and logging) the items that do not
//! fit, responds with 200, and only then replies to
//! the clients, because Meta retries deliveries that get no quick 200. The
//! replies are queued in the outbox, which is woken to send them at once.

use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt as _;
use secrecy::ExposeSecret as _;
use subtle::ConstantTimeEq as _;

use super::query::Params;
use super::AppState;
use crate::actors::outbox::Wake;
use crate::channels::whatsapp::payload::{Flattened, Notification};
use crate::channels::whatsapp::signature::{self, SignatureError};
use crate::clients::{self, masked_sender};
use crate::db::DbError;

/// The largest webhook body accepted, in bytes; larger ones get 413.
/// NOTE: Meta documents no maximum; notifications carry media ids, not
/// media, and measure a few kilobytes even when batched.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Registers `GET` and `POST /whatsapp/webhook`.
pub fn routes(config: &mut web::ServiceConfig) {
    config.service(web::resource("/whatsapp/webhook").route(web::get().to(verify)).route(web::post().to(receive)));
}

/// Reads the request body, or returns 413 naming the limit once it
/// passes [`MAX_BODY_BYTES`]. A `Content-Length` over the limit is
/// rejected before anything is read.
async fn read_body(request: &HttpRequest, mut payload: web::Payload) -> Result<web::Bytes, HttpResponse> {
    let too_large = |bytes: String| {
        tracing::warn!(peer = %peer_of(request), bytes = %bytes, limit = MAX_BODY_BYTES, "rejected a WhatsApp webhook call over the size limit");
        text_response(
            HttpResponse::PayloadTooLarge(),
            format!("the webhook body is larger than the limit of {MAX_BODY_BYTES} bytes\n"),
        )
    };
    let declared = request
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok());
    if let Some(declared) = declared.filter(|&declared| declared > MAX_BODY_BYTES as u64) {
        return Err(too_large(declared.to_string()));
    }

    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|error| {
            tracing::warn!(peer = %peer_of(request), %error, "reading a WhatsApp webhook body failed");
            text_response(HttpResponse::BadRequest(), format!("reading the body failed: {error}\n"))
        })?;
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(too_large(format!("more than {MAX_BODY_BYTES}")));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
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
pub async fn receive(request: HttpRequest, payload: web::Payload, state: web::Data<AppState>) -> HttpResponse {
    let settings = &state.engine.settings.whatsapp;
    if !settings.enabled {
        return disabled();
    }
    let body = match read_body(&request, payload).await {
        Ok(body) => body,
        Err(response) => return response,
    };

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

    let notification = match Notification::parse(&body) {
        Ok(notification) => notification,
        Err(error) => {
            tracing::warn!(%error, bytes = body.len(), "rejected a signed WhatsApp webhook call with an invalid envelope");
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

    let Flattened { messages, statuses, skipped } = notification.flatten();
    for item in &skipped {
        tracing::warn!(location = %item.location, reason = %item.reason, "skipped part of a WhatsApp notification");
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
        not_answered = stored.not_answered,
        repeated = stored.repeated,
        statuses = stored.statuses_applied,
        skipped = skipped.len(),
        senders = ?senders,
        "stored a WhatsApp notification"
    );
    for id in &stored.unknown_statuses {
        tracing::info!(message_id = %id, "ignored a WhatsApp status for a message Sandesh did not send");
    }

    let engine = state.engine.clone();
    let outbox = state.outbox.clone();
    actix_rt::spawn(async move {
        let mut replied = false;
        for id in stored.new {
            replied |= clients::process(&engine, id).await.is_some();
        }
        // The replies are queued now. Without a wake-up they would wait
        // for the outbox's next poll.
        if replied {
            outbox.do_send(Wake);
        }
    });
    HttpResponse::Ok().finish()
}
