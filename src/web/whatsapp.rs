//! The WhatsApp Cloud API webhook.

use actix_web::web;

/// Registers the webhook routes.
pub fn routes(_config: &mut web::ServiceConfig) {}
