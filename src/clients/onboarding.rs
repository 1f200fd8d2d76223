//! Replies to a stored WhatsApp message: the first message from a WhatsApp
//! id creates a client with a login and a one-time password, later ones
//! get the portal link again, and keywords switch the language or issue
//! new credentials. New credentials also end the client's portal sessions
//! and clear the failed sign-ins counted against the login.
//! Each reply is queued in the outbox on channel `whatsapp` in the same
//! write transaction that marks the message processed, so a message gets
//! one reply even when two workers race.

use chrono::{Duration, NaiveDateTime};

use super::credentials::{new_login, new_password};
use super::keywords::{detect_language, parse, Command};
use crate::booking::BookingContext;
use crate::db::client_sessions::ClientSession;
use crate::db::clients::{Client, NewClient};
use crate::db::ids::{ClientId, InboundId};
use crate::db::inbound::{status, InboundMessage};
use crate::db::outbound::{NewOutboundMessage, OutboundMessage};
use crate::db::staff::LoginAttempts;
use crate::db::{write_transaction, DbConnection, DbError, Unavailable};
use crate::sms::Language;
use crate::web::portal::login::account_key;

/// The channel name stored on WhatsApp rows.
pub const CHANNEL: &str = "whatsapp";

/// Random logins tried before giving up; with 31^8 possible logins a
/// collision is already rare.
const LOGIN_ATTEMPTS: usize = 20;

/// The result of replying to one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Onboarded {
    /// A new client with credentials.
    Created { client_id: ClientId },
    /// New credentials replaced the old password and ended every portal
    /// session of the client.
    NewCredentials { client_id: ClientId },
    /// The client's language changed.
    LanguageSet { client_id: ClientId, language: Language },
    /// The portal link went out again.
    LinkSent { client_id: ClientId },
}

impl Onboarded {
    /// Returns the outcome stored on the inbound message.
    pub fn outcome(&self) -> &'static str {
        match self {
            Onboarded::Created { .. } => "client_created",
            Onboarded::NewCredentials { .. } => "credentials_sent",
            Onboarded::LanguageSet { .. } => "language_set",
            Onboarded::LinkSent { .. } => "link_sent",
        }
    }
}

/// A failure to reply to a message. The message stays `received`, so the
/// next sweep tries again.
#[derive(Debug, thiserror::Error)]
pub enum OnboardingError {
    #[error(transparent)]
    Database(#[from] DbError),
    #[error("hashing the one-time password failed: {0}")]
    Hash(String),
    #[error("rendering WhatsApp reply '{template_id}' failed: {detail}")]
    Render { template_id: &'static str, detail: String },
    #[error("no unused login found in {0} random attempts")]
    NoLogin(usize),
}

impl From<diesel::result::Error> for OnboardingError {
    fn from(error: diesel::result::Error) -> Self {
        OnboardingError::Database(DbError::from(error))
    }
}

impl From<Unavailable> for OnboardingError {
    fn from(error: Unavailable) -> Self {
        OnboardingError::Database(DbError::from(error))
    }
}

/// A one-time password and its Argon2id hash.
struct Credentials {
    password: String,
    hash: String,
}

impl Credentials {
    fn generate() -> Result<Self, OnboardingError> {
        let password = new_password();
        let hash = crate::web::dashboard::password::hash(&password)
            .map_err(|error| OnboardingError::Hash(error.to_string()))?;
        Ok(Self { password, hash })
    }
}

/// Returns the WhatsApp id stored on the client: the digits of a `+`
/// sender, or the business-scoped user id as it came.
pub fn whatsapp_id_of(sender: &str) -> &str {
    match sender.strip_prefix('+') {
        Some(digits) if !digits.is_empty() && digits.bytes().all(|byte| byte.is_ascii_digit()) => digits,
        _ => sender,
    }
}

/// Replies to stored message `id`. Returns `None` when it is not a
/// WhatsApp message waiting for processing, for example because another
/// worker replied to it first.
///
/// The password hash is computed before the write transaction, so the
/// database write lock is not held during the slow Argon2 work.
pub fn reply_to(
    connection: &mut DbConnection,
    context: &BookingContext,
    id: InboundId,
    now: NaiveDateTime,
) -> Result<Option<Onboarded>, OnboardingError> {
    let Some(message) = InboundMessage::find(connection, id)? else { return Ok(None) };
    if message.channel != CHANNEL || message.status != status::RECEIVED {
        return Ok(None);
    }
    let whatsapp_id = whatsapp_id_of(&message.sender).to_owned();
    let existing = Client::find_by_whatsapp_id(connection, &whatsapp_id)?;
    let command = parse(&message.text);
    let mut prepared = match (&existing, command) {
        (None, _) | (Some(_), Some(Command::NewPassword)) => Some(Credentials::generate()?),
        _ => None,
    };

    write_transaction(connection, |connection| {
        // The write lock is held from here on, so a message still waiting
        // now cannot get a second reply before this commits.
        let still_waiting =
            InboundMessage::find(connection, id)?.is_some_and(|current| current.status == status::RECEIVED);
        if !still_waiting {
            return Ok(None);
        }
        // Another message from the same sender may have created the client
        // since the read above, so the client is looked up again.
        let client = Client::find_by_whatsapp_id(connection, &whatsapp_id)?;
        let (onboarded, client, password) = match client {
            None => {
                let credentials = match prepared.take() {
                    Some(credentials) => credentials,
                    None => Credentials::generate()?,
                };
                let language = match command {
                    Some(Command::SetLanguage(language)) => language,
                    _ => detect_language(&message.text),
                };
                let client = create_client(
                    connection,
                    context,
                    &whatsapp_id,
                    message.sender_name.as_deref().unwrap_or_default(),
                    language,
                    &credentials.hash,
                    now,
                )?;
                (Onboarded::Created { client_id: client.id }, client, Some(credentials.password))
            }
            Some(mut client) => {
                let name = message.sender_name.clone().unwrap_or_else(|| client.display_name.clone());
                Client::touch(connection, client.id, &name, now)?;
                match command {
                    Some(Command::SetLanguage(language)) => {
                        Client::set_language(connection, client.id, language)?;
                        client.language = language.code().to_owned();
                        (Onboarded::LanguageSet { client_id: client.id, language }, client, None)
                    }
                    Some(Command::NewPassword) => {
                        let credentials = match prepared.take() {
                            Some(credentials) => credentials,
                            None => Credentials::generate()?,
                        };
                        let expires_at = password_expiry(context, now);
                        Client::set_password(connection, client.id, &credentials.hash, expires_at)?;
                        client.password_expires_at = expires_at;
                        // New credentials usually mean a lost or handed-on
                        // phone, so no browser stays signed in with the old ones.
                        let ended = ClientSession::delete_all_of(connection, client.id)?;
                        if ended > 0 {
                            tracing::info!(client_id = %client.id, sessions = ended, "ended portal sessions for new credentials");
                        }
                        (Onboarded::NewCredentials { client_id: client.id }, client, Some(credentials.password))
                    }
                    None => (Onboarded::LinkSent { client_id: client.id }, client, None),
                }
            }
        };
        if password.is_some() {
            // Failed sign-ins count against the login for a while. Without
            // this, a client locked out by wrong guesses would get new
            // credentials that the portal still rejects.
            let cleared = LoginAttempts::clear_account(connection, &account_key(&client.login))?;
            if cleared > 0 {
                tracing::info!(client_id = %client.id, failures = cleared, "cleared failed portal sign-ins for new credentials");
            }
        }
        InboundMessage::mark_processed(connection, id, onboarded.outcome(), now)?;
        queue_reply(connection, context, &message, &client, &onboarded, password.as_deref(), now)?;
        Ok(Some(onboarded))
    })
}

fn password_expiry(context: &BookingContext, now: NaiveDateTime) -> NaiveDateTime {
    now + Duration::hours(i64::from(context.settings.portal.password_valid_hours))
}

/// Inserts a client with a random unused login.
fn create_client(
    connection: &mut DbConnection,
    context: &BookingContext,
    whatsapp_id: &str,
    display_name: &str,
    language: Language,
    password_hash: &str,
    now: NaiveDateTime,
) -> Result<Client, OnboardingError> {
    let mut login = None;
    for _ in 0..LOGIN_ATTEMPTS {
        let candidate = new_login();
        if Client::find_by_login(connection, &candidate)?.is_none() {
            login = Some(candidate);
            break;
        }
    }
    let Some(login) = login else { return Err(OnboardingError::NoLogin(LOGIN_ATTEMPTS)) };
    let phone = (whatsapp_id.bytes().all(|byte| byte.is_ascii_digit())).then(|| format!("+{whatsapp_id}"));
    let client = Client::insert(
        connection,
        &NewClient {
            whatsapp_id,
            phone: phone.as_deref(),
            display_name,
            language: language.code(),
            login: &login,
            password_hash,
            password_expires_at: password_expiry(context, now),
            created_at: now,
            last_message_at: now,
        },
    )?;
    Ok(client)
}

/// Renders the reply in the client's language and queues it.
fn queue_reply(
    connection: &mut DbConnection,
    context: &BookingContext,
    message: &InboundMessage,
    client: &Client,
    onboarded: &Onboarded,
    password: Option<&str>,
    now: NaiveDateTime,
) -> Result<(), OnboardingError> {
    let language = client.language();
    let link =
        format!("{}/portal/login?login={}&lang={}", context.settings.portal.public_url, client.login, language.code());
    let expires =
        client.password_expires_at.and_utc().with_timezone(&context.zone).format("%d-%m-%Y %H:%M").to_string();
    let template_id = match onboarded {
        Onboarded::Created { .. } => "whatsapp-welcome",
        Onboarded::NewCredentials { .. } => "whatsapp-new-password",
        Onboarded::LanguageSet { .. } => "whatsapp-language-set",
        Onboarded::LinkSent { .. } => "whatsapp-link",
    };
    let args = [
        ("link", link.as_str()),
        ("login", client.login.as_str()),
        ("password", password.unwrap_or_default()),
        ("expires", expires.as_str()),
    ];
    let rendered = context
        .catalog
        .render(language, template_id, &args)
        .map_err(|error| OnboardingError::Render { template_id, detail: error.to_string() })?;
    OutboundMessage::enqueue(
        connection,
        &NewOutboundMessage {
            channel: CHANNEL,
            recipient: &message.sender,
            text: &rendered.text,
            template_id: rendered.template_id,
            language: language.code(),
            status: crate::db::outbound::status::QUEUED,
            attempts: 0,
            next_attempt_at: now,
            task_id: None,
            inbound_message_id: Some(message.id),
            created_at: now,
            updated_at: now,
        },
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sms::Catalog;

    /// The Cloud API's maximum length of a text message body, in characters.
    const MAX_WHATSAPP_TEXT: usize = 4096;

    /// Each language, the welcome line in its script for switching to it,
    /// and the keyword that line names.
    const SWITCH_LINES: [(Language, &str, &str); 3] = [
        (Language::En, "For replies in English, send ENGLISH.", "ENGLISH"),
        (Language::Hi, "हिंदी में जवाब के लिए हिंदी भेजें।", "हिंदी"),
        (Language::Mr, "मराठीत उत्तर हवे असल्यास मराठी पाठवा.", "मराठी"),
    ];

    fn welcome(catalog: &Catalog, language: Language) -> String {
        let link = format!("https://portal.example.org/portal/login?login={}&lang={}", "k7m2q9xa", language.code());
        let args = [
            ("link", link.as_str()),
            ("login", "k7m2q9xa"),
            ("password", "r4t8wc2n6p"),
            ("expires", "02-03-2026 09:00"),
        ];
        catalog.render(language, "whatsapp-welcome", &args).expect("the welcome renders").text
    }

    #[test]
    fn welcome_names_each_language_in_its_script() {
        let catalog = Catalog::load().expect("catalogues load");
        for reply_language in Language::ALL {
            let text = welcome(&catalog, reply_language);
            for (language, line, keyword) in SWITCH_LINES {
                if language != reply_language {
                    assert!(text.contains(line), "the {reply_language} welcome lacks {line:?}: {text}");
                }
                assert_eq!(parse(keyword), Some(Command::SetLanguage(language)), "keyword {keyword}");
            }
        }
    }

    #[test]
    fn welcome_fits_one_whatsapp_message() {
        let catalog = Catalog::load().expect("catalogues load");
        for language in Language::ALL {
            let length = welcome(&catalog, language).chars().count();
            assert!(length <= MAX_WHATSAPP_TEXT, "the {language} welcome has {length} characters");
        }
    }
}
