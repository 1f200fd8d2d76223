//! Client requests on the dashboard: the queue, taking a request, and chat.
//!
//! - `GET /dashboard/requests`: the requests the user may see, filtered by
//!   status and oldest first, with the user's assigned requests on top.
//! - `POST /dashboard/requests/next`: take the oldest open request.
//! - `GET /dashboard/requests/{id}`: details, actions and the chat.
//! - `POST /dashboard/requests/{id}/accept|release|close|reassign`.
//! - `GET /dashboard/requests/{id}/ws`, `POST /dashboard/requests/{id}/files`
//!   and `GET /dashboard/files/{id}`: the chat, through [`crate::chat::http`].
//!
//! Every id goes through [`ClientRequest::visible`](crate::db::client_requests::ClientRequest::visible),
//! so a request the user may not see gets the not-found page.

mod chat;
mod pages;
pub mod store;

use actix_web::web;

/// Registers the request pages inside the dashboard scope.
pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/requests", web::get().to(pages::list))
        .route("/requests/next", web::post().to(pages::take_next))
        .route("/requests/{id}", web::get().to(pages::show))
        .route("/requests/{id}/accept", web::post().to(pages::accept))
        .route("/requests/{id}/release", web::post().to(pages::release))
        .route("/requests/{id}/close", web::post().to(pages::close))
        .route("/requests/{id}/reassign", web::post().to(pages::reassign))
        .route("/requests/{id}/ws", web::get().to(chat::connect))
        .route("/requests/{id}/files", web::post().to(chat::upload))
        .route("/files/{id}", web::get().to(chat::download));
}
