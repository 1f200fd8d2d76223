//! Placeholders in scenario texts, for values the engine makes up, such
//! as random follow-up tracking ids. The first time `{name}` matches in an
//! expected SMS text, it captures one word (the characters up to the next
//! space). After that, `{name}` is replaced by that value in expected texts
//! and in `inbound` texts alike. `{name|typo}` and `{name|swap}` stand for
//! the captured value with one digit mistyped or two adjacent digits
//! swapped, the two mistakes a check digit must catch. `{{` and `}}` are
//! literal braces.

use std::collections::{HashMap, HashSet};

/// Values captured so far in a scenario, by placeholder name.
pub type Captures = HashMap<String, String>;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(String),
    /// `{name}`, or `{name|transform}` with the transform word as written.
    Placeholder {
        name: String,
        transform: Option<String>,
    },
}

/// A change to a captured value, written `{name|typo}` or `{name|swap}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transform {
    /// The third digit (the last one of shorter values) plus one, modulo 10.
    Typo,
    /// The first two adjacent digits that differ, swapped.
    Swap,
}

impl Transform {
    fn parse(word: &str) -> Option<Self> {
        match word {
            "typo" => Some(Transform::Typo),
            "swap" => Some(Transform::Swap),
            _ => None,
        }
    }

    fn word(self) -> &'static str {
        match self {
            Transform::Typo => "typo",
            Transform::Swap => "swap",
        }
    }

    /// Applies the transform to a captured value, which must be all ASCII
    /// digits. Neither result passes a Damm check digit that the value
    /// passed, because that check detects every single wrong digit and
    /// every swap of two different adjacent digits.
    pub fn apply(self, name: &str, value: &str) -> Result<String, String> {
        if value.is_empty() || !value.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(format!(
                "{{{name}|{}}} changes digits, but {{{name}}} is {value:?}: use it only on numeric values such as tracking ids",
                self.word()
            ));
        }
        let mut digits = value.as_bytes().to_vec();
        match self {
            Transform::Typo => {
                let position = 2.min(digits.len() - 1);
                digits[position] = b'0' + (digits[position] - b'0' + 1) % 10;
            }
            Transform::Swap => {
                let Some(position) = digits.windows(2).position(|pair| pair[0] != pair[1]) else {
                    return Err(format!(
                        "{{{name}|swap}} needs two different adjacent digits, but {{{name}}} is {value}"
                    ));
                };
                digits.swap(position, position + 1);
            }
        }
        Ok(digits.into_iter().map(char::from).collect())
    }
}

fn is_name(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|first| first.is_ascii_lowercase() || first == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn is_transform_word(text: &str) -> bool {
    !text.is_empty() && text.chars().all(|c| c.is_ascii_lowercase() || c == '_')
}

/// Reads the inside of `{...}` as a placeholder: `name` or `name|word`.
fn placeholder(inner: &str) -> Option<Token> {
    match inner.split_once('|') {
        None => is_name(inner).then(|| Token::Placeholder { name: inner.to_owned(), transform: None }),
        Some((name, word)) => (is_name(name) && is_transform_word(word))
            .then(|| Token::Placeholder { name: name.to_owned(), transform: Some(word.to_owned()) }),
    }
}

/// Splits a text into literal runs and placeholders. A brace that does not
/// start a valid `{name}` or `{name|word}` stays literal.
fn tokens(pattern: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut literal = String::new();
    let mut rest = pattern;
    while let Some(c) = rest.chars().next() {
        if let Some(after) = rest.strip_prefix("{{") {
            literal.push('{');
            rest = after;
        } else if let Some(after) = rest.strip_prefix("}}") {
            literal.push('}');
            rest = after;
        } else if let Some((token, after)) = rest
            .strip_prefix('{')
            .and_then(|inner| inner.split_once('}'))
            .and_then(|(inner, after)| placeholder(inner).map(|token| (token, after)))
        {
            if !literal.is_empty() {
                tokens.push(Token::Literal(std::mem::take(&mut literal)));
            }
            tokens.push(token);
            rest = after;
        } else {
            literal.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    if !literal.is_empty() {
        tokens.push(Token::Literal(literal));
    }
    tokens
}

/// Checks that every `{name|word}` in `pattern` names a known transform.
pub fn validate(pattern: &str) -> Result<(), String> {
    for token in tokens(pattern) {
        if let Token::Placeholder { name, transform: Some(word) } = token {
            if Transform::parse(&word).is_none() {
                return Err(format!(
                    "{{{name}|{word}}} has an unknown transform {word:?}: write {{{name}|typo}} for one mistyped digit \
                     or {{{name}|swap}} for two swapped digits"
                ));
            }
        }
    }
    Ok(())
}

/// Returns the names that `pattern` captures when it matches: its
/// placeholders without a transform.
pub fn placeholder_names(pattern: &str) -> HashSet<String> {
    tokens(pattern)
        .into_iter()
        .filter_map(|token| match token {
            Token::Placeholder { name, transform: None } => Some(name),
            _ => None,
        })
        .collect()
}

/// Checks that every transformed placeholder in `pattern` refers to a value
/// in `known`, because a transform cannot capture.
pub fn check_transforms_known(pattern: &str, known: &HashSet<String>) -> Result<(), String> {
    for token in tokens(pattern) {
        if let Token::Placeholder { name, transform: Some(word) } = token {
            if !known.contains(&name) {
                return Err(format!(
                    "{{{name}|{word}}} has no value yet: an expect_sms text before it must capture {{{name}}}"
                ));
            }
        }
    }
    Ok(())
}

/// Returns the text a known placeholder stands for, or why it has none.
fn value_of(name: &str, transform: Option<&str>, captures: &Captures) -> Result<Option<String>, String> {
    let Some(value) = captures.get(name) else { return Ok(None) };
    match transform {
        None => Ok(Some(value.clone())),
        Some(word) => {
            let transform = Transform::parse(word)
                .ok_or_else(|| format!("{{{name}|{word}}} has an unknown transform {word:?}: use typo or swap"))?;
            transform.apply(name, value).map(Some)
        }
    }
}

/// Matches `text` against `pattern`. Returns the captures extended with
/// every placeholder bound here, or `None` if the text does not match.
pub fn match_text(pattern: &str, text: &str, captures: &Captures) -> Option<Captures> {
    match_tokens(&tokens(pattern), text, captures)
}

fn match_tokens(tokens: &[Token], text: &str, captures: &Captures) -> Option<Captures> {
    let Some((first, rest)) = tokens.split_first() else {
        return text.is_empty().then(|| captures.clone());
    };
    match first {
        Token::Literal(literal) => match_tokens(rest, text.strip_prefix(literal.as_str())?, captures),
        Token::Placeholder { name, transform } => {
            if let Some(value) = value_of(name, transform.as_deref(), captures).ok()? {
                return match_tokens(rest, text.strip_prefix(value.as_str())?, captures);
            }
            if transform.is_some() {
                // A transform applies to a captured value and cannot capture.
                return None;
            }
            // The shortest word that lets the rest match.
            let word_end = text.find(char::is_whitespace).unwrap_or(text.len());
            text[..word_end].char_indices().skip(1).map(|(end, _)| end).chain([word_end]).find_map(|end| {
                if end == 0 {
                    return None;
                }
                let mut extended = captures.clone();
                extended.insert(name.clone(), text[..end].to_owned());
                match_tokens(rest, &text[end..], &extended)
            })
        }
    }
}

/// Replaces every placeholder with its captured value, transformed if the
/// placeholder names a transform, or names the first placeholder that has
/// none.
pub fn fill(pattern: &str, captures: &Captures) -> Result<String, String> {
    let mut text = String::new();
    for token in tokens(pattern) {
        match token {
            Token::Literal(literal) => text.push_str(&literal),
            Token::Placeholder { name, transform } => match value_of(&name, transform.as_deref(), captures)? {
                Some(value) => text.push_str(&value),
                None => {
                    return Err(format!(
                        "{{{name}}} has no value yet: an expect_sms text before this step must capture it"
                    ))
                }
            },
        }
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholder_captures_one_word() {
        let captures = match_text("Follow-up {id}: did Seema go", "Follow-up 482135: did Seema go", &Captures::new())
            .expect("matches");
        assert_eq!(captures.get("id").map(String::as_str), Some("482135"));
    }

    #[test]
    fn captured_value_must_repeat() {
        let pattern = "Yes: -1 SC {id} No: -1 RS {id}";
        assert!(match_text(pattern, "Yes: -1 SC 4821 No: -1 RS 4821", &Captures::new()).is_some());
        assert!(match_text(pattern, "Yes: -1 SC 4821 No: -1 RS 4822", &Captures::new()).is_none());
    }

    #[test]
    fn known_capture_is_literal() {
        let captures = Captures::from([("id".to_owned(), "4821".to_owned())]);
        assert!(match_text("id {id}", "id 4821", &captures).is_some());
        assert!(match_text("id {id}", "id 9999", &captures).is_none());
    }

    #[test]
    fn placeholder_does_not_cross_spaces() {
        assert!(match_text("a {word} c", "a b b c", &Captures::new()).is_none());
    }

    #[test]
    fn braces_that_are_not_placeholders_stay_literal() {
        assert!(tokens("<agent-id> {} {{id}} {Name}").iter().all(|token| matches!(token, Token::Literal(_))));
        assert!(match_text("{{id}} {}", "{id} {}", &Captures::new()).is_some());
    }

    #[test]
    fn fill_replaces_or_names_missing() {
        let captures = Captures::from([("id".to_owned(), "4821".to_owned())]);
        assert_eq!(fill("-1 SC 9876543210 Seema {id}", &captures), Ok("-1 SC 9876543210 Seema 4821".to_owned()));
        assert!(fill("{other}", &captures).expect_err("missing").contains("{other}"));
    }

    #[test]
    fn typo_changes_third_digit() {
        assert_eq!(Transform::Typo.apply("id", "482135"), Ok("483135".to_owned()));
        assert_eq!(Transform::Typo.apply("id", "489135"), Ok("480135".to_owned()));
        assert_eq!(Transform::Typo.apply("id", "57"), Ok("58".to_owned()));
    }

    #[test]
    fn swap_exchanges_first_different_pair() {
        assert_eq!(Transform::Swap.apply("id", "482135"), Ok("842135".to_owned()));
        assert_eq!(Transform::Swap.apply("id", "448135"), Ok("484135".to_owned()));
        let error = Transform::Swap.apply("id", "777777").expect_err("no pair to swap");
        assert!(error.contains("two different adjacent digits"), "{error}");
    }

    #[test]
    fn transforms_reject_non_digits() {
        for transform in [Transform::Typo, Transform::Swap] {
            let error = transform.apply("id", "48a135").expect_err("not digits");
            assert!(error.contains("numeric values"), "{error}");
            assert!(transform.apply("id", "").is_err());
        }
    }

    #[test]
    fn transformed_tracking_ids_fail_check_digit() {
        let mut rng = rand::rng();
        for length in [crate::followup::tracking::PREFERRED_LENGTH, crate::followup::tracking::MAX_LENGTH] {
            for _ in 0..2_000 {
                let id = crate::followup::tracking::generate(&mut rng, length);
                let typo = Transform::Typo.apply("id", &id).expect("digits");
                assert!(!crate::followup::tracking::is_valid(&typo), "typo {typo} of {id} passes");
                // An id of one repeated digit has nothing to swap.
                if let Ok(swapped) = Transform::Swap.apply("id", &id) {
                    assert_ne!(swapped, id);
                    assert!(!crate::followup::tracking::is_valid(&swapped), "swap {swapped} of {id} passes");
                }
            }
        }
    }

    #[test]
    fn fill_applies_transforms() {
        let captures = Captures::from([("id".to_owned(), "482135".to_owned())]);
        assert_eq!(fill("-1 SC 9876543210 Seema {id|typo}", &captures), Ok("-1 SC 9876543210 Seema 483135".to_owned()));
        assert_eq!(fill("{id|swap} {id}", &captures), Ok("842135 482135".to_owned()));
        assert!(fill("{other|typo}", &captures).expect_err("missing").contains("{other}"));
    }

    #[test]
    fn match_uses_transformed_value() {
        let captures = Captures::from([("id".to_owned(), "482135".to_owned())]);
        assert!(match_text("Tracking id {id|typo} has", "Tracking id 483135 has", &captures).is_some());
        assert!(match_text("Tracking id {id|typo} has", "Tracking id 482135 has", &captures).is_none());
        assert!(match_text("{new|typo}", "483135", &captures).is_none(), "a transform captured a value");
    }

    #[test]
    fn validate_names_unknown_transform() {
        assert_eq!(validate("-1 SC 9876543210 Seema {id|typo} {id|swap} {id}"), Ok(()));
        let error = validate("-1 SC 9876543210 Seema {id|typ}").expect_err("unknown transform");
        assert!(error.contains("{id|typ}"), "{error}");
        assert!(error.contains("{id|typo}"), "{error}");
        // Braces that are no placeholder at all stay literal text.
        assert_eq!(validate("{ID|typo} {id|} {|typo}"), Ok(()));
    }

    #[test]
    fn transforms_need_a_known_value() {
        let known = placeholder_names("Follow-up {id}: did {name|typo} go");
        assert_eq!(known, HashSet::from(["id".to_owned()]));
        assert_eq!(check_transforms_known("{id|typo}", &known), Ok(()));
        let error = check_transforms_known("{other|swap}", &known).expect_err("unknown name");
        assert!(error.contains("must capture {other}"), "{error}");
    }
}
