//! Kannel's `/cgi-bin/sendsms` HTTP interface (Kannel 1.4.5 user guide,
//! "Using the HTTP interface to send SMS messages").

use std::time::Duration;

use async_trait::async_trait;
use secrecy::{ExposeSecret as _, SecretString};

use super::{Accepted, OutgoingSms, Recipient, SendError, SmsProvider};
use crate::config::KannelSettings;
use crate::sms::encoding::{coding_for, Coding};

/// Sends SMS through a Kannel smsbox.
#[derive(Debug)]
pub struct KannelProvider {
    client: reqwest::Client,
    sendsms_url: String,
    username: String,
    password: SecretString,
    from: String,
}

impl KannelProvider {
    pub fn new(settings: &KannelSettings, from: &str, timeout: Duration) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder().timeout(timeout).build()?;
        Ok(Self {
            client,
            sendsms_url: settings.sendsms_url.clone(),
            username: settings.username.clone(),
            password: settings.password.clone(),
            from: from.to_owned(),
        })
    }
}

#[async_trait]
impl SmsProvider for KannelProvider {
    fn name(&self) -> &'static str {
        "kannel"
    }

    async fn send(&self, sms: &OutgoingSms) -> Result<Accepted, SendError> {
        let Recipient::Phone(to) = &sms.to else {
            return Err(SendError::Permanent(format!(
                "invalid recipient {}: Kannel sends SMS to phone numbers only",
                sms.to.masked()
            )));
        };
        let mut query: Vec<(&str, &str)> = vec![
            ("username", &self.username),
            ("password", self.password.expose_secret()),
            ("from", &self.from),
            ("to", to.as_str()),
            ("text", &sms.text),
        ];
        // Without coding=2 Kannel replaces every non-GSM character with '?'.
        if coding_for(&sms.text) == Coding::Ucs2 {
            query.push(("coding", "2"));
            query.push(("charset", "UTF-8"));
        }

        let response = self
            .client
            .get(&self.sendsms_url)
            .query(&query)
            .send()
            .await
            .map_err(|error| SendError::Temporary(format!("request to Kannel failed: {}", without_url(&error))))?;
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        let body = body.trim();

        // 202 "0: Accepted for delivery" or "3: Queued for later delivery".
        if status.is_success() {
            return Ok(Accepted { provider_message_id: None });
        }
        let detail = format!("Kannel answered {}: {body}", status.as_u16());
        // 403 is a credentials or allow-list problem that an operator can
        // fix without touching the message, so it is retried like a 5xx.
        if status.as_u16() == 400 {
            Err(SendError::Permanent(detail))
        } else {
            Err(SendError::Temporary(detail))
        }
    }
}

/// Describes a reqwest error without its URL, which carries the password.
fn without_url(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else {
        "failed"
    };
    let mut source = std::error::Error::source(error);
    let mut detail = String::new();
    while let Some(cause) = source {
        detail = cause.to_string();
        source = cause.source();
    }
    if detail.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}: {detail}")
    }
}
