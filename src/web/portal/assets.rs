//! `GET /static/portal.css`: the portal's stylesheet, compiled into the
//! binary like the dashboard's.

use std::sync::OnceLock;

use actix_web::http::header;
use actix_web::HttpResponse;

use crate::web::dashboard::session::sha256_hex;

const STYLESHEET: &str = include_str!("../../../static/portal.css");

/// Returns the stylesheet's URL with a hash of its content in the query,
/// so a browser fetches it again after an upgrade and may cache each
/// version for long.
pub fn stylesheet_url() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| format!("/static/portal.css?v={}", &sha256_hex(STYLESHEET)[..12]))
}

pub async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(STYLESHEET)
}
