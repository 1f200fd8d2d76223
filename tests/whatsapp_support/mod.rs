//! Helpers for the WhatsApp tests: a stand-in for the Graph API send
//! endpoint on 127.0.0.1 that records every request, settings that point
//! the application at it, realistic Cloud API webhook payloads, and signed
//! webhook calls.

#![allow(dead_code, reason = "each test uses a different part of the helpers")]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use secrecy::SecretString;
use serde_json::{json, Value};
use tokio::sync::oneshot;

use sandesh::channels::whatsapp::signature;
use sandesh::config::Settings;

pub const VERIFY_TOKEN: &str = "test-verify-token";
pub const APP_SECRET: &str = "test-app-secret";
pub const ACCESS_TOKEN: &str = "test-access-token";
pub const PHONE_NUMBER_ID: &str = "106540352242922";
pub const PUBLIC_URL: &str = "https://help.example.org";

/// One request the stand-in received.
#[derive(Debug, Clone)]
pub struct GraphRequest {
    pub path: String,
    pub authorization: String,
    pub body: Value,
}

impl GraphRequest {
    /// Returns the text body of a text message.
    pub fn text(&self) -> String {
        self.body["text"]["body"].as_str().unwrap_or_default().to_owned()
    }

    pub fn to(&self) -> String {
        self.body["to"].as_str().unwrap_or_default().to_owned()
    }

    /// Returns the business-scoped user id a message was sent to.
    pub fn recipient(&self) -> String {
        self.body["recipient"].as_str().unwrap_or_default().to_owned()
    }
}

#[derive(Debug, Default)]
struct GraphState {
    received: Vec<GraphRequest>,
    /// Status and body to return instead of success, one per request.
    planned: VecDeque<(u16, String)>,
}

/// A stand-in for `POST {graph_base_url}/{phone_number_id}/messages`. It
/// returns success with ids `wamid.out.1`, `wamid.out.2`, … unless a
/// response is planned with [`GraphStandIn::respond_next`].
pub struct GraphStandIn {
    /// `http://127.0.0.1:<port>/v21.0`.
    pub base_url: String,
    state: Arc<Mutex<GraphState>>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

async fn record(request: HttpRequest, body: web::Bytes, state: web::Data<Arc<Mutex<GraphState>>>) -> HttpResponse {
    let authorization =
        request.headers().get("authorization").and_then(|value| value.to_str().ok()).unwrap_or_default().to_owned();
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
    state.received.push(GraphRequest { path: request.path().to_owned(), authorization, body: body.clone() });
    if let Some((status, response)) = state.planned.pop_front() {
        let status = actix_web::http::StatusCode::from_u16(status).expect("valid planned status");
        return HttpResponse::build(status).content_type("application/json").body(response);
    }
    let id = format!("wamid.out.{}", state.received.len());
    HttpResponse::Ok().json(json!({
        "messaging_product": "whatsapp",
        "contacts": [{"input": body["to"], "wa_id": body["to"].as_str().unwrap_or_default().trim_start_matches('+')}],
        "messages": [{"id": id}],
    }))
}

impl GraphStandIn {
    /// Starts the stand-in on 127.0.0.1 port 0 in its own thread.
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(GraphState::default()));
        let shared = state.clone();
        let (ready_sender, ready) = oneshot::channel::<u16>();
        let (stop, stop_requested) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("graph-stand-in".into())
            .spawn(move || {
                let system = actix_rt::System::new();
                system.block_on(async move {
                    let data = web::Data::new(shared);
                    let server = HttpServer::new(move || {
                        App::new().app_data(data.clone()).route("/v21.0/{phone}/messages", web::post().to(record))
                    })
                    .workers(1)
                    .bind(("127.0.0.1", 0))
                    .expect("bind the stand-in on loopback");
                    let port = server.addrs()[0].port();
                    let server = server.run();
                    let handle = server.handle();
                    actix_rt::spawn(server);
                    if ready_sender.send(port).is_ok() {
                        let _ = stop_requested.await;
                    }
                    handle.stop(false).await;
                });
            })
            .expect("spawn the stand-in thread");
        let port = ready.await.expect("stand-in thread started");
        Self { base_url: format!("http://127.0.0.1:{port}/v21.0"), state, stop: Some(stop), thread: Some(thread) }
    }

    /// Everything received so far, in order.
    pub fn received(&self) -> Vec<GraphRequest> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).received.clone()
    }

    /// Makes the next request get `status` with `body` instead of success.
    pub fn respond_next(&self, status: u16, body: &str) {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).planned.push_back((status, body.to_owned()));
    }
}

impl Drop for GraphStandIn {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Turns the WhatsApp channel on and points it at `graph_base_url`.
pub fn enable_whatsapp(settings: &mut Settings, graph_base_url: &str) {
    settings.whatsapp.enabled = true;
    settings.whatsapp.verify_token = SecretString::from(VERIFY_TOKEN.to_owned());
    settings.whatsapp.app_secret = SecretString::from(APP_SECRET.to_owned());
    settings.whatsapp.access_token = SecretString::from(ACCESS_TOKEN.to_owned());
    settings.whatsapp.phone_number_id = PHONE_NUMBER_ID.to_owned();
    settings.whatsapp.graph_base_url = graph_base_url.to_owned();
    settings.portal.public_url = PUBLIC_URL.to_owned();
}

// --------------------------------------------------------------- payloads

/// Returns a contact object as the Cloud API sends it.
pub fn contact(wa_id: &str, name: &str) -> Value {
    json!({"profile": {"name": name}, "wa_id": wa_id})
}

pub fn text_message(id: &str, from: &str, body: &str) -> Value {
    json!({"from": from, "id": id, "timestamp": "1767225600", "type": "text", "text": {"body": body}})
}

pub fn image_message(id: &str, from: &str, caption: Option<&str>) -> Value {
    let mut image = json!({
        "mime_type": "image/jpeg",
        "sha256": "aGVsbG8gd29ybGQgc2hhMjU2IGJhc2U2NCBoYXNo",
        "id": "1003383421387256",
    });
    if let Some(caption) = caption {
        image["caption"] = json!(caption);
    }
    json!({"from": from, "id": id, "timestamp": "1767225601", "type": "image", "image": image})
}

pub fn document_message(id: &str, from: &str, filename: &str, caption: &str) -> Value {
    json!({
        "from": from, "id": id, "timestamp": "1767225602", "type": "document",
        "document": {
            "caption": caption,
            "filename": filename,
            "mime_type": "application/pdf",
            "sha256": "ZG9jdW1lbnQgc2hhMjU2IGJhc2U2NCBoYXNo",
            "id": "2754859441498128",
        },
    })
}

/// Returns a `value` object carrying messages from the given contacts.
pub fn messages_value(contacts: Vec<Value>, messages: Vec<Value>) -> Value {
    json!({
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID},
        "contacts": contacts,
        "messages": messages,
    })
}

/// Returns a status report `value`, with `errors` when not empty.
pub fn status_value(message_id: &str, status: &str, recipient: &str, errors: Vec<Value>) -> Value {
    let mut report = json!({
        "id": message_id,
        "status": status,
        "timestamp": "1767229200",
        "recipient_id": recipient,
        "conversation": {"id": "CONVERSATION_ID", "origin": {"type": "service"}},
        "pricing": {"billable": true, "pricing_model": "CBP", "category": "service"},
    });
    if !errors.is_empty() {
        report["errors"] = Value::Array(errors);
    }
    json!({
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID},
        "statuses": [report],
    })
}

/// Returns a notification with one entry per element of `entries`, each holding
/// one change per `value`.
pub fn notification(entries: Vec<Vec<Value>>) -> String {
    let entries: Vec<Value> = entries
        .into_iter()
        .enumerate()
        .map(|(index, values)| {
            let changes: Vec<Value> =
                values.into_iter().map(|value| json!({"field": "messages", "value": value})).collect();
            json!({"id": format!("10245069{index}"), "changes": changes})
        })
        .collect();
    json!({"object": "whatsapp_business_account", "entry": entries}).to_string()
}

/// Returns a notification with one text message from `wa_id`.
pub fn one_text(id: &str, wa_id: &str, name: &str, body: &str) -> String {
    notification(vec![vec![messages_value(vec![contact(wa_id, name)], vec![text_message(id, wa_id, body)])]])
}

// ------------------------------------------------------------------ calls

/// The status and body of a webhook call.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub body: String,
}

/// Posts `body` to the webhook with `signature` as `X-Hub-Signature-256`
/// (no header when `None`).
pub async fn post_with_signature(address: &str, body: &str, signature: Option<&str>) -> Response {
    let client = reqwest::Client::new();
    let mut request = client
        .post(format!("{address}/whatsapp/webhook"))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(signature) = signature {
        request = request.header(signature::HEADER, signature);
    }
    let response = request.send().await.expect("webhook call");
    let status = response.status().as_u16();
    Response { status, body: response.text().await.expect("webhook response body") }
}

/// Posts `body` signed with the test app secret, as Meta does.
pub async fn post_signed(address: &str, body: &str) -> Response {
    let header = signature::sign(APP_SECRET.as_bytes(), body.as_bytes());
    post_with_signature(address, body, Some(&header)).await
}

/// Sends the verification handshake with these query parameters.
pub async fn verify_handshake(address: &str, params: &[(&str, &str)]) -> Response {
    let response = reqwest::Client::new()
        .get(format!("{address}/whatsapp/webhook"))
        .query(params)
        .send()
        .await
        .expect("verification call");
    let status = response.status().as_u16();
    Response { status, body: response.text().await.expect("verification response body") }
}

/// Returns the word that follows `marker` in `text`, without trailing
/// punctuation.
pub fn word_after(text: &str, marker: &str) -> String {
    let start = text.find(marker).unwrap_or_else(|| panic!("{marker:?} not found in {text:?}")) + marker.len();
    text[start..]
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .trim_end_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_owned()
}
