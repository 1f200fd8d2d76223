//! Client requests on the dashboard: the queue, taking a request, and chat.

use actix_web::web;

/// Registers the request pages inside the dashboard scope.
pub fn routes(_config: &mut web::ServiceConfig) {}
