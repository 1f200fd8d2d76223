//! `GET /sms/inbound`: the webhook SMS providers call for each message an
//! agent sends. Parameter names are configurable; the defaults fit Kannel's
//! `get-url`. The message is committed before the HTTP response, and the
//! response goes out before any processing, because the provider waits
//! for it before delivering the next message.

use actix_web::{web, HttpRequest, HttpResponse};
use secrecy::ExposeSecret as _;

use super::query::Params;
use super::AppState;
use crate::actors::registry::Dispatch;
use crate::booking::intake::Arrival;
use crate::db::DbError;
use crate::sms::phone::mask_phone;
use crate::sms::PhoneNumber;

/// Compares two secrets in time that does not depend on where they differ.
fn secrets_match(given: &str, expected: &str) -> bool {
    let (given, expected) = (given.as_bytes(), expected.as_bytes());
    if given.len() != expected.len() {
        return false;
    }
    given.iter().zip(expected).fold(0_u8, |difference, (a, b)| difference | (a ^ b)) == 0
}

/// The number the message was sent to; a missing or empty parameter means
/// the configured VMN.
fn receiving_number(params: &Params, sms: &crate::config::SmsSettings) -> String {
    params
        .get(&sms.to_param)
        .map(|value| value.text.trim().to_owned())
        .filter(|to| !to.is_empty())
        .unwrap_or_else(|| sms.vmn.clone())
}

pub async fn receive(request: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let sms = &state.engine.settings.sms;
    let params = Params::parse(request.query_string());

    let expected = sms.inbound_token.as_ref().map(|token| token.expose_secret().to_owned()).unwrap_or_default();
    let given = params.get(&sms.token_param).map(|value| value.text.as_str()).unwrap_or_default();
    if expected.is_empty() || !secrets_match(given, &expected) {
        let peer = request.peer_addr().map(|address| address.ip().to_string()).unwrap_or_default();
        tracing::warn!(%peer, token_present = !given.is_empty(), "rejected inbound SMS with a missing or wrong token");
        return HttpResponse::Unauthorized().content_type("text/plain; charset=utf-8").body(format!(
            "missing or wrong '{}' parameter: use the shared secret configured as sms.inbound_token\n",
            sms.token_param
        ));
    }

    let Some(from) = params.get(&sms.from_param).filter(|value| !value.text.trim().is_empty()) else {
        // Without a sender nothing can be booked or answered, but the text
        // is kept and flagged so an officer sees what the provider dropped.
        let text = params.get(&sms.text_param).map(|value| value.text.clone()).unwrap_or_default();
        let provider_message_id =
            params.get(&sms.id_param).map(|value| value.text.trim().to_owned()).filter(|id| !id.is_empty());
        let recipient = receiving_number(&params, sms);
        let detail = format!("the provider sent no '{}' parameter, so the sender is unknown", sms.from_param);
        let arrival = Arrival { channel: "sms", provider_message_id, sender: String::new(), recipient, text };
        match state.engine.store_rejected(arrival, detail).await {
            Ok(id) => {
                tracing::warn!(inbound_id = %id, param = %sms.from_param, "stored and flagged inbound SMS {id} without a sender")
            }
            Err(error) => tracing::error!(%error, "storing inbound SMS without a sender failed"),
        }
        return HttpResponse::BadRequest().content_type("text/plain; charset=utf-8").body(format!(
            "missing parameter '{}': the provider must send the sender's number in it (see sms.from_param); the message was stored and flagged\n",
            sms.from_param
        ));
    };
    // An unencoded '+' arrives as a space, so the sender is trimmed before
    // it is normalised.
    let sender = PhoneNumber::parse_e164(from.text.trim()).map_or_else(|_| from.text.trim().to_owned(), String::from);
    let text = params.get(&sms.text_param).map(|value| value.text.clone()).unwrap_or_default();
    let recipient = receiving_number(&params, sms);
    let provider_message_id =
        params.get(&sms.id_param).map(|value| value.text.trim().to_owned()).filter(|id| !id.is_empty());

    let arrival = Arrival { channel: "sms", provider_message_id, sender, recipient, text };
    let masked_sender = mask_phone(&arrival.sender);
    match state.engine.receive(arrival).await {
        Ok(stored) => {
            match stored.duplicate_of {
                Some(first) => tracing::info!(
                    inbound_id = %stored.id,
                    duplicate_of = %first,
                    sender = %masked_sender,
                    "stored repeated delivery {} of message {}",
                    stored.id,
                    first
                ),
                None => {
                    tracing::info!(inbound_id = %stored.id, sender = %masked_sender, "stored inbound SMS {}", stored.id);
                    state.registry.do_send(Dispatch { id: stored.id, agent_id: stored.agent_id });
                }
            }
            // Providers such as Gupshup send a non-empty body back to the
            // phone as an SMS, so the body stays empty.
            HttpResponse::Ok().finish()
        }
        Err(DbError::Unavailable(error)) => {
            tracing::error!(%error, sender = %masked_sender, "storing inbound SMS failed: database unavailable");
            HttpResponse::ServiceUnavailable()
                .content_type("text/plain; charset=utf-8")
                .body("the database is busy; the message was not stored, send it again\n")
        }
        Err(error) => {
            tracing::error!(%error, sender = %masked_sender, "storing inbound SMS failed");
            HttpResponse::InternalServerError()
                .content_type("text/plain; charset=utf-8")
                .body("storing the message failed; it was not stored, send it again\n")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::secrets_match;

    #[test]
    fn secrets_compare_exactly() {
        assert!(secrets_match("demo-token", "demo-token"));
        assert!(!secrets_match("demo-tokem", "demo-token"));
        assert!(!secrets_match("demo", "demo-token"));
        assert!(!secrets_match("", "demo-token"));
    }
}
