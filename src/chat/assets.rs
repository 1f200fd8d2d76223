//! `GET /static/chat.js` and `GET /static/chat.css`: the chat widget,
//! compiled into the binary like the dashboard's stylesheet.

use actix_web::http::header;
use actix_web::HttpResponse;

const SCRIPT: &str = include_str!("../../static/chat.js");
const STYLESHEET: &str = include_str!("../../static/chat.css");

/// Seconds a browser may cache the widget. Pages link it without a version
/// in the URL, so this stays short enough that an upgrade reaches browsers
/// within the hour.
const CACHE_SECONDS: u32 = 3600;

fn asset(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, format!("public, max-age={CACHE_SECONDS}")))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(body)
}

pub async fn script() -> HttpResponse {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

pub async fn stylesheet() -> HttpResponse {
    asset("text/css; charset=utf-8", STYLESHEET)
}
