//! The client portal: sign-in with the WhatsApp credentials, requests and chat.

use actix_web::web;

/// Registers the portal routes.
pub fn routes(_config: &mut web::ServiceConfig) {}
