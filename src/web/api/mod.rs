//! The officer JSON API under `/api/v1/`, for the officers' mobile app.
//!
//! A client trades an email and password for a bearer token
//! (`POST /api/v1/tokens`) and sends it as `Authorization: Bearer <token>`.
//! Every query goes through [`crate::db::scoped`] with the token user's
//! scope, so an officer sees only the corporations assigned to them, and a
//! row of another corporation gets the same 404 as a missing one. Errors
//! are JSON: `{"error": "...", "field": "..."}`. The OpenAPI document,
//! generated from the handlers' annotations, is served at
//! `GET /api/v1/openapi.json`.

pub mod auth;
pub mod chat;
pub mod error;
pub mod flags;
pub mod openapi;
pub mod requests;
pub mod tasks;
pub mod tokens;

use actix_web::http::header;
use actix_web::middleware::DefaultHeaders;
use actix_web::web;
use chrono::{DateTime, FixedOffset, NaiveDateTime, SubsecRound as _, TimeZone as _};
use chrono_tz::Tz;
use serde::Deserialize;
use utoipa::IntoParams;

pub use error::{ApiError, ErrorBody};

/// The path every API route starts with.
pub const PREFIX: &str = "/api/v1";

/// Largest JSON request body accepted, in bytes. The API takes only short
/// fields (an email, a password, a note).
pub const MAX_JSON_BYTES: usize = 16 * 1024;

/// Rows per page when the request leaves `per_page` out.
pub const DEFAULT_PER_PAGE: i64 = 50;

/// Maximum rows per page a request may set.
pub const MAX_PER_PAGE: i64 = 200;

/// Headers on every API response: responses carry personal data and
/// tokens, so nothing is cached.
pub fn response_headers() -> DefaultHeaders {
    DefaultHeaders::new().add((header::CACHE_CONTROL, "no-store")).add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
}

/// Limits and error responses of JSON request bodies.
pub fn json_config() -> web::JsonConfig {
    web::JsonConfig::default().limit(MAX_JSON_BYTES).error_handler(|error, _request| ApiError::from(error).into())
}

/// Error responses of query strings that cannot be read.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|error, _request| {
        ApiError::BadRequest { field: None, message: format!("invalid query string: {error}") }.into()
    })
}

/// Responds to an API path without a route.
pub async fn not_found() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::NotFound("no such API route; the routes are listed in /api/v1/openapi.json"))
}

/// Formats a stored UTC time in the business time zone, with its offset
/// and in whole seconds, e.g. `2026-03-02T10:00:00+05:30`.
pub fn local_time(zone: Tz, utc: NaiveDateTime) -> DateTime<FixedOffset> {
    zone.from_utc_datetime(&utc).fixed_offset().trunc_subsecs(0)
}

/// The page parameters of the list routes.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page number, from 1.
    #[param(value_type = Option<i64>, minimum = 1, example = 1)]
    page: Option<String>,
    /// Rows per page, 1 to 200; 50 when left out.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 200, example = 50)]
    per_page: Option<String>,
}

/// A validated page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub page: i64,
    pub per_page: i64,
}

impl PageRequest {
    pub fn offset(self) -> i64 {
        (self.page - 1) * self.per_page
    }

    /// Returns the number of pages that `total` rows fill, at least 1.
    pub fn pages(self, total: i64) -> i64 {
        ((total + self.per_page - 1) / self.per_page).max(1)
    }
}

impl PageQuery {
    /// Reads the page parameters; a value that is not a number in range is
    /// a 400 naming the parameter.
    pub fn parse(&self) -> Result<PageRequest, ApiError> {
        let page = parse_number("page", self.page.as_deref(), 1, 1_000_000)?.unwrap_or(1);
        let per_page = parse_number("per_page", self.per_page.as_deref(), 1, MAX_PER_PAGE)?.unwrap_or(DEFAULT_PER_PAGE);
        Ok(PageRequest { page, per_page })
    }
}

fn parse_number(field: &'static str, value: Option<&str>, min: i64, max: i64) -> Result<Option<i64>, ApiError> {
    let Some(text) = value.map(str::trim).filter(|text| !text.is_empty()) else {
        return Ok(None);
    };
    match text.parse::<i64>() {
        Ok(number) if (min..=max).contains(&number) => Ok(Some(number)),
        _ => Err(ApiError::BadRequest {
            field: Some(field),
            message: format!("invalid {field} '{text}': use a whole number from {min} to {max}"),
        }),
    }
}

/// Reads a numeric id from a path segment. Anything else gets the same
/// 404 as a missing row.
pub fn parse_path_id(text: &str, not_found: &'static str) -> Result<i32, ApiError> {
    text.parse::<i32>().map_err(|_| ApiError::NotFound(not_found))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_defaults_and_bounds() {
        let default = PageQuery::default().parse().expect("defaults parse");
        let second = PageQuery { page: Some("2".into()), per_page: Some("10".into()) }.parse().expect("parses");

        assert_eq!(default, PageRequest { page: 1, per_page: DEFAULT_PER_PAGE });
        assert_eq!(second.offset(), 10);
        assert_eq!(second.pages(0), 1);
        assert_eq!(second.pages(21), 3);
        for (page, per_page) in [("0", "10"), ("x", "10"), ("1", "0"), ("1", "201"), ("1", "-5")] {
            let query = PageQuery { page: Some(page.into()), per_page: Some(per_page.into()) };
            assert!(query.parse().is_err(), "page {page}, per_page {per_page} should be rejected");
        }
    }

    #[test]
    fn local_time_carries_the_offset() {
        let utc = chrono::NaiveDate::from_ymd_opt(2026, 3, 2).and_then(|date| date.and_hms_milli_opt(4, 30, 0, 750));

        let local = local_time(chrono_tz::Asia::Kolkata, utc.expect("valid time"));

        assert_eq!(local.to_rfc3339(), "2026-03-02T10:00:00+05:30");
    }
}
