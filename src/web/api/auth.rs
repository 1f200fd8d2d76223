//! Bearer-token authentication of the officer API.
//!
//! A token is 32 random bytes as 64 hex digits, made by the dashboard's
//! [`random_token`](crate::web::dashboard::session::random_token). Only its
//! SHA-256 is stored (`api_tokens.token_hash`), so the database alone
//! cannot be used to call the API.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;

use super::ApiError;
use crate::db::api_tokens::ApiToken;
use crate::db::staff::{Scope, StaffUser};
use crate::db::DbError;
use crate::web::dashboard::session::sha256_hex;
use crate::web::AppState;

/// The name of the security scheme in the OpenAPI document.
pub const SECURITY_SCHEME: &str = "bearer";

const MISSING_CHALLENGE: &str = r#"Bearer realm="sandesh""#;
const INVALID_CHALLENGE: &str = r#"Bearer realm="sandesh", error="invalid_token""#;

/// A request with a live token: the user and their scope. Extracting it
/// from a request without one fails with 401.
#[derive(Debug, Clone)]
pub struct ApiUser {
    pub user: StaffUser,
    pub scope: Scope,
    token_hash: String,
}

impl ApiUser {
    /// Returns the stored hash of the request's token.
    pub fn token_hash(&self) -> &str {
        &self.token_hash
    }
}

fn missing_token() -> ApiError {
    ApiError::Unauthorized {
        message: "missing bearer token: send Authorization: Bearer <token>, with a token from POST /api/v1/tokens",
        challenge: Some(MISSING_CHALLENGE),
    }
}

fn invalid_token() -> ApiError {
    ApiError::Unauthorized {
        message: "the token is invalid, expired or revoked: request a new one with POST /api/v1/tokens",
        challenge: Some(INVALID_CHALLENGE),
    }
}

/// Returns the token of an `Authorization: Bearer <token>` header. The
/// scheme name is case-insensitive (RFC 7235, section 2.1).
pub fn bearer_token(request: &HttpRequest) -> Result<&str, ApiError> {
    let Some(value) = request.headers().get(header::AUTHORIZATION) else {
        return Err(missing_token());
    };
    let value = value.to_str().map_err(|_| invalid_token())?;
    let Some((scheme, token)) = value.trim().split_once(' ') else {
        return Err(missing_token());
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(missing_token());
    }
    Ok(token.trim())
}

/// Checks that `token` has the shape of an issued token, before any
/// database lookup.
fn well_formed(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|byte| byte.is_ascii_hexdigit())
}

enum Lookup {
    Live(Box<ApiUser>),
    Gone,
}

impl FromRequest for ApiUser {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move { load(&request).await })
    }
}

async fn load(request: &HttpRequest) -> Result<ApiUser, ApiError> {
    let token = bearer_token(request)?;
    if !well_formed(token) {
        tracing::info!(path = %request.path(), "rejected an API request with a malformed bearer token");
        return Err(invalid_token());
    }
    let Some(state) = request.app_data::<web::Data<AppState>>() else {
        return Err(ApiError::Internal(anyhow::anyhow!("application state missing from the request")));
    };
    let token_hash = sha256_hex(&token.to_ascii_lowercase());
    let now = state.engine.clock.now_naive();

    let lookup = state
        .engine
        .database
        .run(move |connection| {
            let Some((token, user)) = ApiToken::find_live(connection, &token_hash, now)? else {
                // An expired token, or one of a deactivated user or from
                // before a password change, never works again.
                ApiToken::delete(connection, &token_hash)?;
                return Ok::<_, DbError>(Lookup::Gone);
            };
            let scope = Scope::of(connection, &user)?;
            Ok(Lookup::Live(Box::new(ApiUser { user, scope, token_hash: token.token_hash })))
        })
        .await?;

    match lookup {
        Lookup::Live(user) => Ok(*user),
        Lookup::Gone => {
            tracing::info!(path = %request.path(), "rejected an API request with an unknown, expired or revoked token");
            Err(invalid_token())
        }
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        let token = "a".repeat(64);
        let request = TestRequest::default().insert_header((header::AUTHORIZATION, format!("bearer {token}")));

        let request = request.to_http_request();

        assert_eq!(bearer_token(&request).ok(), Some(token.as_str()));
    }

    #[test]
    fn other_schemes_are_missing_tokens() {
        for value in ["Basic YWRtaW46cGFzc3dvcmQ=", "Bearer", "token"] {
            let request = TestRequest::default().insert_header((header::AUTHORIZATION, value)).to_http_request();

            assert!(
                matches!(
                    bearer_token(&request),
                    Err(ApiError::Unauthorized { challenge: Some(MISSING_CHALLENGE), .. })
                ),
                "{value}"
            );
        }
    }

    #[test]
    fn token_shape() {
        assert!(well_formed(&"0f".repeat(32)));
        assert!(!well_formed(&"0f".repeat(31)));
        assert!(!well_formed(&"zz".repeat(32)));
    }
}
