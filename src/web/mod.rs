//! HTTP: one module per area, and [`routes`] owns the route table.

pub mod api;
pub mod dashboard;
pub mod health;
pub mod portal;
pub mod query;
pub mod session_common;
pub mod sms_inbound;
pub mod whatsapp;

use std::time::Instant;

use actix::Addr;
use actix_web::web;
use futures_util::FutureExt as _;
use tracing::Instrument as _;

use crate::actors::outbox::Outbox;
use crate::actors::registry::AgentRegistry;
use crate::chat::room::ChatRooms;
use crate::engine::Engine;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    pub engine: Engine,
    pub registry: Addr<AgentRegistry>,
    /// The chat rooms of client requests.
    pub chat: Addr<ChatRooms>,
    /// The outbox, which handlers wake after queueing replies so that they
    /// go out before its next poll.
    pub outbox: Addr<Outbox>,
}

/// Registers every route.
pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/health", web::get().to(health::health))
        .route("/sms/inbound", web::get().to(sms_inbound::receive))
        .route("/static/dashboard.css", web::get().to(dashboard::assets::stylesheet))
        .route("/static/chat.js", web::get().to(crate::chat::assets::script))
        .route("/static/chat.css", web::get().to(crate::chat::assets::stylesheet))
        .route("/static/portal.css", web::get().to(portal::assets::stylesheet))
        .configure(whatsapp::routes)
        .configure(portal::routes)
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
                .route("/flags/{id}/correct", web::get().to(dashboard::correction::form))
                .route("/flags/{id}/correct", web::post().to(dashboard::correction::book))
                .route("/tasks.csv", web::get().to(dashboard::export::tasks))
                .route("/flags.csv", web::get().to(dashboard::export::flags))
                .route("/outbox", web::get().to(dashboard::outbox::list))
                .route("/outbox/{id}/resend", web::post().to(dashboard::outbox::resend))
                .route("/slots", web::get().to(dashboard::slots::list))
                .route("/slots/new", web::get().to(dashboard::slots::new_series))
                .route("/slots/series", web::post().to(dashboard::slots::create_series))
                .route("/slots/{id}", web::get().to(dashboard::slots::show))
                .route("/slots/{id}/edit", web::post().to(dashboard::slots::edit))
                .route("/slots/{id}/cancel", web::post().to(dashboard::slots::cancel))
                .route("/facilities", web::get().to(dashboard::manage::facilities::list))
                .route("/agents", web::get().to(dashboard::manage::agents::list))
                .route("/admin", web::get().to(dashboard::manage::index))
                .route("/admin/", web::get().to(dashboard::manage::index))
                .route("/admin/corporations", web::get().to(dashboard::manage::corporations::list))
                .route("/admin/corporations", web::post().to(dashboard::manage::corporations::create))
                .route("/admin/corporations/new", web::get().to(dashboard::manage::corporations::new_form))
                .route("/admin/corporations/{id}", web::get().to(dashboard::manage::corporations::edit_form))
                .route("/admin/corporations/{id}", web::post().to(dashboard::manage::corporations::update))
                .route("/admin/facilities", web::post().to(dashboard::manage::facilities::create))
                .route("/admin/facilities/new", web::get().to(dashboard::manage::facilities::new_form))
                .route("/admin/facilities/{id}", web::get().to(dashboard::manage::facilities::edit_form))
                .route("/admin/facilities/{id}", web::post().to(dashboard::manage::facilities::update))
                .route("/admin/case-types", web::get().to(dashboard::manage::case_types::list))
                .route("/admin/case-types", web::post().to(dashboard::manage::case_types::create))
                .route("/admin/case-types/new", web::get().to(dashboard::manage::case_types::new_form))
                .route("/admin/case-types/{id}", web::get().to(dashboard::manage::case_types::edit_form))
                .route("/admin/case-types/{id}", web::post().to(dashboard::manage::case_types::update))
                .route("/admin/staff", web::get().to(dashboard::manage::staff::list))
                .route("/admin/staff", web::post().to(dashboard::manage::staff::create))
                .route("/admin/staff/new", web::get().to(dashboard::manage::staff::new_form))
                .route("/admin/staff/{id}", web::get().to(dashboard::manage::staff::edit_form))
                .route("/admin/staff/{id}", web::post().to(dashboard::manage::staff::update))
                .route("/admin/agents", web::post().to(dashboard::manage::agents::create))
                .route("/admin/agents/new", web::get().to(dashboard::manage::agents::new_form))
                .route("/admin/agents/{id}", web::get().to(dashboard::manage::agents::edit_form))
                .route("/admin/agents/{id}", web::post().to(dashboard::manage::agents::update))
                .service(
                    web::resource("/admin/import")
                        .app_data(web::PayloadConfig::new(dashboard::import::MAX_UPLOAD_BYTES))
                        .route(web::get().to(dashboard::import::form))
                        .route(web::post().to(dashboard::import::submit)),
                )
                .route("/password", web::get().to(dashboard::account::form))
                .route("/password", web::post().to(dashboard::account::change))
                .configure(dashboard::requests::routes)
                .default_service(web::to(dashboard::not_found)),
        )
        .service(
            web::scope(api::PREFIX)
                .wrap(api::response_headers())
                .app_data(api::json_config())
                .app_data(api::query_config())
                .route("/openapi.json", web::get().to(api::openapi::openapi_json))
                .route("/tokens", web::post().to(api::tokens::issue))
                .route("/tokens/current", web::delete().to(api::tokens::revoke))
                .route("/tasks", web::get().to(api::tasks::list))
                .route("/tasks/{id}", web::get().to(api::tasks::show))
                .route("/flags", web::get().to(api::flags::list))
                .route("/flags/{id}/dismiss", web::post().to(api::flags::dismiss))
                .configure(api::requests::routes)
                .configure(api::chat::routes)
                .default_service(web::to(api::not_found)),
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
