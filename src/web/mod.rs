//! HTTP: one module per area, and [`routes`] owns the route table.

pub mod dashboard;
pub mod health;
pub mod query;
pub mod sms_inbound;

use std::time::Instant;

use actix::Addr;
use actix_web::web;
use futures_util::FutureExt as _;
use tracing::Instrument as _;

use crate::actors::registry::AgentRegistry;
use crate::engine::Engine;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    pub engine: Engine,
    pub registry: Addr<AgentRegistry>,
}

/// Registers every route.
pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/health", web::get().to(health::health))
        .route("/sms/inbound", web::get().to(sms_inbound::receive))
        .route("/static/dashboard.css", web::get().to(dashboard::assets::stylesheet))
        .service(
            web::scope("/dashboard")
                .wrap(dashboard::security_headers())
                .route("", web::get().to(dashboard::home::redirect_home))
                .route("/", web::get().to(dashboard::home::show))
                .route("/login", web::get().to(dashboard::login::form))
                .route("/login", web::post().to(dashboard::login::submit))
                .route("/logout", web::post().to(dashboard::login::logout))
                .route("/tasks", web::get().to(dashboard::tasks::list))
                .route("/tasks/{id}", web::get().to(dashboard::tasks::show))
                .route("/flags", web::get().to(dashboard::flags::list))
                .route("/flags/{id}/dismiss", web::post().to(dashboard::flags::dismiss))
                .route("/password", web::get().to(dashboard::account::form))
                .route("/password", web::post().to(dashboard::account::change))
                .default_service(web::to(dashboard::not_found)),
        );
}

/// Wraps the app so every request runs in a span and logs its status and
/// latency. Only the path is logged: query strings carry secrets and
/// message text.
pub fn request_span<S, B>(
    request: actix_web::dev::ServiceRequest,
    service: &S,
) -> impl std::future::Future<Output = Result<actix_web::dev::ServiceResponse<B>, actix_web::Error>>
where
    S: actix_web::dev::Service<
        actix_web::dev::ServiceRequest,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
{
    let span = tracing::info_span!("http", method = %request.method(), path = %request.path());
    let started = Instant::now();
    let path = request.path().to_owned();
    service
        .call(request)
        .map(move |result| {
            let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
            match &result {
                Ok(response) => {
                    tracing::debug!(status = response.status().as_u16(), latency_ms, %path, "request finished");
                }
                Err(error) => tracing::warn!(%error, latency_ms, %path, "request failed"),
            }
            result
        })
        .instrument(span)
}
