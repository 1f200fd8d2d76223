//! Placeholders in scenario texts, for values the engine makes up, such
//! as random follow-up tracking ids. The first time `{name}` matches in an
//! expected SMS text, it captures one word (the characters up to the next
//! space). After that, `{name}` is replaced by that value in expected texts
//! and in `inbound` texts alike. `{{` and `}}` are literal braces.

use std::collections::HashMap;

/// Values captured so far in a scenario, by placeholder name.
pub type Captures = HashMap<String, String>;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(String),
    Placeholder(String),
}

fn is_name(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|first| first.is_ascii_lowercase() || first == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Splits a text into literal runs and placeholders. A brace that does not
/// start a valid `{name}` stays literal.
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
        } else if let Some((name, after)) =
            rest.strip_prefix('{').and_then(|inner| inner.split_once('}')).filter(|(name, _)| is_name(name))
        {
            if !literal.is_empty() {
                tokens.push(Token::Literal(std::mem::take(&mut literal)));
            }
            tokens.push(Token::Placeholder(name.to_owned()));
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
        Token::Placeholder(name) => {
            if let Some(value) = captures.get(name) {
                return match_tokens(rest, text.strip_prefix(value.as_str())?, captures);
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

/// Replaces every placeholder with its captured value, or names the first
/// placeholder that has none.
pub fn fill(pattern: &str, captures: &Captures) -> Result<String, String> {
    let mut text = String::new();
    for token in tokens(pattern) {
        match token {
            Token::Literal(literal) => text.push_str(&literal),
            Token::Placeholder(name) => match captures.get(&name) {
                Some(value) => text.push_str(value),
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
}
