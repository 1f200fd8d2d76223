//! `GET /health`: whether the server can reach its database.

use actix_web::{web, HttpResponse};

use super::AppState;
use crate::db::DbError;

pub async fn health(state: web::Data<AppState>) -> HttpResponse {
    let pending = state
        .engine
        .database
        .run(|connection| crate::db::inbound::InboundMessage::count_pending(connection).map_err(DbError::from))
        .await;
    match pending {
        Ok(pending) => HttpResponse::Ok().json(serde_json::json!({ "status": "ok", "pending_inbound": pending })),
        Err(error) => {
            tracing::error!(%error, "health check failed");
            HttpResponse::ServiceUnavailable().json(serde_json::json!({ "status": "unavailable" }))
        }
    }
}
