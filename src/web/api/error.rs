//! Errors of the officer API and their JSON bodies.

use actix_web::error::JsonPayloadError;
use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::{DbError, Unavailable};
use crate::web::dashboard::DashboardError;

/// Seconds a client is asked to wait after a 503.
const UNAVAILABLE_RETRY_SECS: u64 = 5;

/// The body of every error response.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"error": "the note is empty: write why the flag is dismissed", "field": "note"}))]
pub struct ErrorBody {
    /// A description of the failure and its fix, in English.
    pub error: String,
    /// The request field or parameter at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// A failed API request. Each variant has its own status code.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: a parameter or body that cannot be read.
    #[error("{message}")]
    BadRequest { field: Option<&'static str>, message: String },
    /// 401: no token, or one that is unknown, expired or revoked; or wrong
    /// credentials when a token is requested.
    #[error("{message}")]
    Unauthorized {
        message: &'static str,
        /// The `WWW-Authenticate` header to send, if any.
        challenge: Option<&'static str>,
    },
    /// 404: no such row in the user's scope. Rows of other corporations
    /// look the same.
    #[error("{0}")]
    NotFound(&'static str),
    /// 409: the request conflicts with the row's state, such as dismissing
    /// a flag that is already closed.
    #[error("{0}")]
    Conflict(String),
    /// 422: a well-formed request with an invalid value.
    #[error("{message}")]
    Invalid { field: &'static str, message: String },
    /// 429: too many failed sign-ins; retry after the given seconds.
    #[error("too many failed sign-ins: wait {} minutes and try again", retry_after_secs.div_ceil(60))]
    TooManyRequests { retry_after_secs: u64 },
    /// 503: the database is busy.
    #[error(transparent)]
    Unavailable(Unavailable),
    /// 500: a bug or a broken database. Logged, and not shown to clients.
    #[error("{0:#}")]
    Internal(anyhow::Error),
}

impl From<DbError> for ApiError {
    fn from(error: DbError) -> Self {
        match error {
            DbError::Unavailable(unavailable) => ApiError::Unavailable(unavailable),
            DbError::Query(query) => ApiError::Internal(anyhow::Error::new(query).context("database query failed")),
        }
    }
}

impl From<Unavailable> for ApiError {
    fn from(error: Unavailable) -> Self {
        ApiError::Unavailable(error)
    }
}

/// Errors of the dashboard's sign-in functions, which the API reuses for
/// its rate limit.
impl From<DashboardError> for ApiError {
    fn from(error: DashboardError) -> Self {
        match error {
            DashboardError::Unavailable(unavailable) => ApiError::Unavailable(unavailable),
            DashboardError::Internal(internal) => ApiError::Internal(internal),
            other => ApiError::Internal(anyhow::anyhow!("unexpected dashboard error: {other}")),
        }
    }
}

impl From<JsonPayloadError> for ApiError {
    fn from(error: JsonPayloadError) -> Self {
        let message = match &error {
            JsonPayloadError::ContentType => "the body must be JSON: send Content-Type: application/json".to_owned(),
            JsonPayloadError::Overflow { limit } | JsonPayloadError::OverflowKnownLength { limit, .. } => {
                format!("the JSON body is larger than {limit} bytes")
            }
            JsonPayloadError::Deserialize(cause) => format!("invalid JSON body: {cause}"),
            other => format!("the JSON body could not be read: {other}"),
        };
        ApiError::BadRequest { field: None, message }
    }
}

impl ApiError {
    fn body(&self) -> ErrorBody {
        let (message, field) = match self {
            ApiError::BadRequest { field, message } => (message.clone(), field.map(str::to_owned)),
            ApiError::Invalid { field, message } => (message.clone(), Some((*field).to_owned())),
            ApiError::Unavailable(_) => ("the database is busy; try again in a moment".to_owned(), None),
            ApiError::Internal(_) => {
                ("the request failed; the error has been logged, try again later".to_owned(), None)
            }
            other => (other.to_string(), None),
        };
        ErrorBody { error: message, field }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        match self {
            ApiError::Unauthorized { challenge: Some(challenge), .. } => {
                response.insert_header((header::WWW_AUTHENTICATE, *challenge));
            }
            ApiError::TooManyRequests { retry_after_secs } => {
                response.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            ApiError::Unavailable(error) => {
                tracing::error!(%error, "API request failed: database unavailable");
                response.insert_header((header::RETRY_AFTER, UNAVAILABLE_RETRY_SECS.to_string()));
            }
            ApiError::Internal(error) => tracing::error!(error = format!("{error:#}"), "API request failed"),
            _ => {}
        }
        response.json(self.body())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_value_names_the_field() {
        let error = ApiError::Invalid { field: "note", message: "the note is empty".into() };

        let body = serde_json::to_value(error.body()).expect("serialises");

        assert_eq!(error.status_code(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body, serde_json::json!({"error": "the note is empty", "field": "note"}));
    }

    #[test]
    fn internal_error_hides_its_cause() {
        let error = ApiError::Internal(anyhow::anyhow!("secret table name"));

        let body = error.body();

        assert_eq!(error.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!body.error.contains("secret"), "{}", body.error);
        assert_eq!(body.field, None);
    }

    #[test]
    fn rate_limit_rounds_minutes_up() {
        let error = ApiError::TooManyRequests { retry_after_secs: 61 };

        assert_eq!(error.to_string(), "too many failed sign-ins: wait 2 minutes and try again");
    }
}
