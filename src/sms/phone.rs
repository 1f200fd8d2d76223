//! Phone numbers as agents type them and as providers deliver them.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A phone number in E.164 form (`+` and 8 to 15 digits). Construct it with
/// [`PhoneNumber::parse_indian_mobile`] for numbers typed in an SMS, or
/// [`PhoneNumber::parse_e164`] for numbers from configuration and providers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);

/// The reasons a text is not a usable phone number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("'{0}' contains characters other than digits, spaces, hyphens and a leading +")]
    InvalidCharacters(String),
    #[error("'{0}' is not an Indian mobile number: expected 10 digits starting with 6, 7, 8 or 9, optionally after +91, 91 or 0")]
    NotIndianMobile(String),
    #[error("'{0}' is not an international number: expected + and 8 to 15 digits, as in +919876543210")]
    NotE164(String),
}

/// Converts Devanagari digits to ASCII digits and leaves other characters
/// as they are.
pub fn ascii_digits(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{0966}'..='\u{096F}' => {
                let value = u32::from(c) - 0x0966;
                char::from_digit(value, 10).unwrap_or(c)
            }
            other => other,
        })
        .collect()
}

/// Returns the digits of `text` after removing one leading `+`, spaces and
/// hyphens, or `None` if anything else is present.
fn digits_only(text: &str) -> Option<(bool, String)> {
    let converted = ascii_digits(text.trim());
    let (plus, rest) = match converted.strip_prefix('+') {
        Some(rest) => (true, rest.to_owned()),
        None => (false, converted),
    };
    let mut digits = String::with_capacity(rest.len());
    for c in rest.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' => {}
            _ => return None,
        }
    }
    if digits.is_empty() {
        return None;
    }
    Some((plus, digits))
}

fn is_mobile_subscriber(digits: &str) -> bool {
    digits.len() == 10 && digits.starts_with(['6', '7', '8', '9'])
}

impl PhoneNumber {
    /// Parses an Indian mobile number in any spelling agents use:
    /// `9876543210`, `09876543210`, `919876543210`, `+91 98765 43210`,
    /// `98765-43210`, or the same with Devanagari digits.
    pub fn parse_indian_mobile(text: &str) -> Result<Self, PhoneError> {
        let Some((plus, digits)) = digits_only(text) else {
            return Err(PhoneError::InvalidCharacters(text.to_owned()));
        };
        let subscriber = match digits.len() {
            10 if !plus => digits.as_str(),
            11 if !plus && digits.starts_with('0') => &digits[1..],
            12 if digits.starts_with("91") => &digits[2..],
            _ => return Err(PhoneError::NotIndianMobile(text.to_owned())),
        };
        if !is_mobile_subscriber(subscriber) {
            return Err(PhoneError::NotIndianMobile(text.to_owned()));
        }
        Ok(Self(format!("+91{subscriber}")))
    }

    /// Parses a number that is already international: `+` (or `00`) and 8 to
    /// 15 digits. A bare Indian mobile number is accepted too, because
    /// providers such as Kannel deliver senders as `919876543210`.
    pub fn parse_e164(text: &str) -> Result<Self, PhoneError> {
        if let Ok(mobile) = Self::parse_indian_mobile(text) {
            return Ok(mobile);
        }
        let Some((plus, digits)) = digits_only(text) else {
            return Err(PhoneError::NotE164(text.to_owned()));
        };
        let digits = match (plus, digits.strip_prefix("00")) {
            (true, _) => digits.as_str(),
            (false, Some(rest)) => rest,
            (false, None) => return Err(PhoneError::NotE164(text.to_owned())),
        };
        if !(8..=15).contains(&digits.len()) || digits.starts_with('0') {
            return Err(PhoneError::NotE164(text.to_owned()));
        }
        Ok(Self(format!("+{digits}")))
    }

    /// Returns the E.164 text, such as `+919876543210`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Returns the number without the leading `+`, as most SMS gateways expect it.
    pub fn digits(&self) -> &str {
        &self.0[1..]
    }

    /// Returns the last ten digits, as an Indian mobile number is written locally.
    pub fn national(&self) -> &str {
        let digits = self.digits();
        &digits[digits.len().saturating_sub(10)..]
    }

    /// Returns a form safe for logs: country code and the last two digits only.
    pub fn masked(&self) -> String {
        mask_phone(&self.0)
    }
}

/// Masks all but the first three and last two characters of a phone-like
/// text, for logs.
pub fn mask_phone(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= 5 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 2..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 5))
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for PhoneNumber {
    type Error = PhoneError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse_e164(&value)
    }
}

impl From<PhoneNumber> for String {
    fn from(value: PhoneNumber) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indian_mobile_spellings_normalise() {
        for spelling in [
            "9876543210",
            "+91 98765 43210",
            "09876543210",
            "919876543210",
            "98765-43210",
            "+919876543210",
            "९८७६५४३२१०",
        ] {
            let phone = PhoneNumber::parse_indian_mobile(spelling);
            assert_eq!(phone.map(String::from), Ok("+919876543210".to_owned()), "spelling {spelling:?}");
        }
    }

    #[test]
    fn indian_mobile_rejects_bad_numbers() {
        for bad in ["98765", "5876543210", "+19876543210", "98765x43210", "", "+", "0091987654321"] {
            assert!(PhoneNumber::parse_indian_mobile(bad).is_err(), "accepted {bad:?}");
        }
    }

    #[test]
    fn e164_accepts_provider_forms() {
        assert_eq!(PhoneNumber::parse_e164("919812345678").map(String::from), Ok("+919812345678".into()));
        assert_eq!(PhoneNumber::parse_e164("+441632960961").map(String::from), Ok("+441632960961".into()));
        assert_eq!(PhoneNumber::parse_e164("00441632960961").map(String::from), Ok("+441632960961".into()));
        assert!(PhoneNumber::parse_e164("5676791").is_err());
    }

    #[test]
    fn masked_keeps_ends_only() {
        let phone = PhoneNumber::parse_e164("+919876543210").expect("valid phone");
        assert_eq!(phone.masked(), "+91********10");
    }
}
