//! Errors of the chat handlers and their HTTP responses.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};

use crate::db::ids::ClientRequestId;
use crate::db::{DbError, Unavailable};

/// Seconds a client is asked to wait after a 503.
const UNAVAILABLE_RETRY_SECS: u64 = 5;

/// A failed chat request. Each variant has its own status code; the body is
/// JSON `{"error": "..."}`.
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    /// 400: a parameter or body that cannot be read.
    #[error("{0}")]
    BadRequest(String),
    /// 403: the viewer may read the chat but not post in it.
    #[error("{0}")]
    Forbidden(String),
    /// 401: the sign-in of a WebSocket ended while it was open.
    #[error("{0}")]
    SignInEnded(String),
    /// 404: a missing request or file, or one the viewer may not see.
    #[error("{0}")]
    NotFound(String),
    /// 413: an upload larger than `chat.max_file_bytes`.
    #[error(
        "the file is {size} bytes, larger than the limit of {limit} bytes (chat.max_file_bytes): send a smaller file"
    )]
    TooLarge { size: usize, limit: usize },
    /// 413: an upload without a declared length that passed the limit while
    /// it was read, so its full size is unknown.
    #[error("the file is larger than the limit of {limit} bytes (chat.max_file_bytes): send a smaller file")]
    OverLimit { limit: usize },
    /// 415: an upload whose bytes are not of an allowed type.
    #[error("the file content is {detected}, which is not accepted: send one of {allowed}")]
    UnsupportedType { detected: String, allowed: String },
    /// 415: an upload whose type cannot be recognised from its bytes, such
    /// as plain text.
    #[error("the file's type could not be recognised from its content: send one of {allowed}")]
    UnknownType { allowed: String },
    /// 409: the uploader's side already has the maximum number of files in
    /// the request that no message has sent.
    #[error(
        "{uploaders} uploaded {limit} files to request {request_id} that no message has sent yet, the maximum: \
         send those files in a message first, or wait until they are deleted, at least {grace_hours} hours after \
         upload"
    )]
    TooManyUnsentFiles { uploaders: &'static str, request_id: ClientRequestId, limit: i64, grace_hours: i64 },
    /// 503: the database is busy.
    #[error(transparent)]
    Unavailable(Unavailable),
    /// 500: a bug, a broken database or a failed file write. Logged, and not
    /// shown to clients.
    #[error("{0:#}")]
    Internal(anyhow::Error),
}

impl ChatError {
    /// Builds the 404 of a request that is missing or not visible to the
    /// viewer.
    pub fn request_not_found(id: impl std::fmt::Display) -> Self {
        ChatError::NotFound(format!("request {id} does not exist or is not visible to you"))
    }

    /// Builds the 404 of a file that is missing or not visible to the
    /// viewer.
    pub fn file_not_found(id: impl std::fmt::Display) -> Self {
        ChatError::NotFound(format!("file {id} does not exist or is not visible to you"))
    }
}

impl From<DbError> for ChatError {
    fn from(error: DbError) -> Self {
        match error {
            DbError::Unavailable(unavailable) => ChatError::Unavailable(unavailable),
            DbError::Query(query) => ChatError::Internal(anyhow::Error::new(query).context("database query failed")),
        }
    }
}

impl From<Unavailable> for ChatError {
    fn from(error: Unavailable) -> Self {
        ChatError::Unavailable(error)
    }
}

impl From<diesel::result::Error> for ChatError {
    fn from(error: diesel::result::Error) -> Self {
        ChatError::from(DbError::from(error))
    }
}

impl ResponseError for ChatError {
    fn status_code(&self) -> StatusCode {
        match self {
            ChatError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ChatError::SignInEnded(_) => StatusCode::UNAUTHORIZED,
            ChatError::Forbidden(_) => StatusCode::FORBIDDEN,
            ChatError::NotFound(_) => StatusCode::NOT_FOUND,
            ChatError::TooLarge { .. } | ChatError::OverLimit { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ChatError::UnsupportedType { .. } | ChatError::UnknownType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ChatError::TooManyUnsentFiles { .. } => StatusCode::CONFLICT,
            ChatError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ChatError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        let message = match self {
            ChatError::Unavailable(error) => {
                tracing::error!(%error, "chat request failed: database unavailable");
                response.insert_header((header::RETRY_AFTER, UNAVAILABLE_RETRY_SECS.to_string()));
                "the database is busy; try again in a moment".to_owned()
            }
            ChatError::Internal(error) => {
                tracing::error!(error = format!("{error:#}"), "chat request failed");
                "the request failed; the error has been logged, try again later".to_owned()
            }
            other => other.to_string(),
        };
        response.insert_header((header::CACHE_CONTROL, "no-store")).json(serde_json::json!({ "error": message }))
    }
}
