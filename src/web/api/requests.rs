//! Client requests in the officer API: listing, taking, messages and chat.

use actix_web::web;

/// Registers the request endpoints inside the API scope.
pub fn routes(_config: &mut web::ServiceConfig) {}
