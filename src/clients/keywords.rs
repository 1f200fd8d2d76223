//! Keywords a client can send on WhatsApp, and the language a first
//! message starts in.

use crate::sms::Language;

/// A request in a keyword message, besides the portal link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Reply in this language from now on.
    SetLanguage(Language),
    /// Issue new credentials and replace the old password.
    NewPassword,
}

// Language codes such as "hi" are not keywords: people write "Hi" to greet,
// at any point of a conversation.
const ENGLISH: &[&str] = &["english", "eng", "अंग्रेजी", "अंग्रेज़ी", "इंग्रजी", "इंग्लिश"];
const HINDI: &[&str] = &["hindi", "हिंदी", "हिन्दी"];
const MARATHI: &[&str] = &["marathi", "मराठी"];
const NEW_PASSWORD: &[&str] = &[
    "password",
    "new password",
    "reset password",
    "login",
    "new login",
    "पासवर्ड",
    "नया पासवर्ड",
    "नवीन पासवर्ड",
    "लॉगिन",
    "लॉग इन",
];

/// Lower-cases `text`, trims spaces and sentence punctuation (including
/// the Devanagari danda) and joins words with single spaces.
fn normalise(text: &str) -> String {
    let trimmed = text.trim().trim_matches(|c: char| c.is_whitespace() || matches!(c, '.' | ',' | '!' | '?' | '।'));
    trimmed.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// Reads a keyword message. The whole message must be the keyword, so a
/// sentence that mentions "password" is an ordinary message.
pub fn parse(text: &str) -> Option<Command> {
    let word = normalise(text);
    let word = word.as_str();
    if ENGLISH.contains(&word) {
        return Some(Command::SetLanguage(Language::En));
    }
    if HINDI.contains(&word) {
        return Some(Command::SetLanguage(Language::Hi));
    }
    if MARATHI.contains(&word) {
        return Some(Command::SetLanguage(Language::Mr));
    }
    if NEW_PASSWORD.contains(&word) {
        return Some(Command::NewPassword);
    }
    None
}

/// Returns the language of a first message that names none: Hindi when it
/// has Devanagari letters, which Hindi and Marathi share, else English.
pub fn detect_language(text: &str) -> Language {
    if text.chars().any(|c| ('\u{0900}'..='\u{097F}').contains(&c)) {
        Language::Hi
    } else {
        Language::En
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_keywords() {
        let cases = [
            ("English", Language::En),
            (" ENGLISH. ", Language::En),
            ("hindi", Language::Hi),
            ("हिंदी", Language::Hi),
            ("हिन्दी।", Language::Hi),
            ("Marathi!", Language::Mr),
            ("मराठी", Language::Mr),
        ];
        for (text, language) in cases {
            assert_eq!(parse(text), Some(Command::SetLanguage(language)), "text {text:?}");
        }
    }

    #[test]
    fn language_codes_are_not_keywords() {
        for text in ["Hi", "hi!", "en", "Mr"] {
            assert_eq!(parse(text), None, "text {text:?}");
        }
        assert_eq!(parse("Hindi"), Some(Command::SetLanguage(Language::Hi)));
    }

    #[test]
    fn password_keywords() {
        for text in ["password", "New  Password", "LOGIN", "पासवर्ड", "नया पासवर्ड"] {
            assert_eq!(parse(text), Some(Command::NewPassword), "text {text:?}");
        }
        assert_eq!(parse("I forgot my password"), None);
    }

    #[test]
    fn devanagari_starts_in_hindi() {
        assert_eq!(detect_language("नमस्ते, मदद चाहिए"), Language::Hi);
        assert_eq!(detect_language("hello, I need help"), Language::En);
        assert_eq!(detect_language(""), Language::En);
    }
}
