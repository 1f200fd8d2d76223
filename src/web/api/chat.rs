//! Chat in the officer API: messages over REST, files, and the WebSocket.

use actix_web::web;

/// Registers the chat endpoints inside the API scope.
pub fn routes(_config: &mut web::ServiceConfig) {}
