//! Chat between a client and the helper who took their request.
//!
//! Each request has a chat room actor ([`room::ChatRoom`]) that stores every
//! message before it sends it to the room's WebSocket sessions
//! ([`session`]). The portal, the dashboard and the officer API authenticate
//! the viewer and then call the helpers in [`http`].

pub mod assets;
pub mod credential;
pub mod error;
pub mod files;
pub mod http;
pub mod protocol;
pub mod room;
pub mod session;

pub use error::ChatError;
