//! Sandesh: an SMS and WhatsApp gateway that books clinic appointments for
//! community health workers. The binary in `main.rs` only parses the
//! command line; everything else lives here.

pub mod actors;
pub mod admin;
pub mod appointments;
pub mod booking;
pub mod channels;
pub mod chat;
pub mod cli;
pub mod clients;
pub mod clock;
pub mod config;
pub mod db;
pub mod demo;
pub mod engine;
pub mod followup;
pub mod replay;
pub mod sms;
pub mod startup;
pub mod telemetry;
pub mod text;
pub mod web;
