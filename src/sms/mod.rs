//! Everything about SMS text: the agent command grammar, phone numbers,
//! character sets and the message catalogues.

pub mod catalog;
pub mod command;
pub mod encoding;
pub mod phone;

pub use catalog::{Catalog, Language, RenderedText};
pub use command::{parse, BookingRequest, Command, Field, FollowUpOutcome, FollowUpReply, ParseError};
pub use phone::PhoneNumber;
