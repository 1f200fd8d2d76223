//! Decoding `application/x-www-form-urlencoded` query strings without
//! losing anything: `+` is a space, `%XX` are bytes, and text that is not
//! valid UTF-8 is kept with U+FFFD in place of the bad bytes, so the
//! message can still be stored and flagged.

use std::borrow::Cow;

/// One decoded parameter value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    pub text: String,
    /// False when the bytes were not valid UTF-8 and were replaced.
    pub valid_utf8: bool,
}

/// The decoded parameters in their original order.
#[derive(Debug, Clone, Default)]
pub struct Params(Vec<(String, Value)>);

impl Params {
    pub fn parse(query: &str) -> Self {
        let pairs = query
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                (decode(name).text, decode(value))
            })
            .collect();
        Self(pairs)
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.iter().find_map(|(key, value)| (key == name).then_some(value))
    }
}

fn decode(raw: &str) -> Value {
    let spaced: Cow<'_, str> = if raw.contains('+') { Cow::Owned(raw.replace('+', " ")) } else { Cow::Borrowed(raw) };
    let bytes: Vec<u8> = percent_encoding::percent_decode_str(&spaced).collect();
    match String::from_utf8(bytes) {
        Ok(text) => Value { text, valid_utf8: true },
        Err(error) => Value { text: String::from_utf8_lossy(error.as_bytes()).into_owned(), valid_utf8: false },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plus_is_space_and_escaped_plus_is_plus() {
        let params = Params::parse("from=%2B919812345678&text=12+ANC+Seema&to=+91");
        assert_eq!(params.get("from").map(|value| value.text.as_str()), Some("+919812345678"));
        assert_eq!(params.get("text").map(|value| value.text.as_str()), Some("12 ANC Seema"));
        assert_eq!(params.get("to").map(|value| value.text.as_str()), Some(" 91"));
    }

    #[test]
    fn devanagari_decodes() {
        let params = Params::parse("text=%E0%A4%B8%E0%A5%80%E0%A4%AE%E0%A4%BE");
        assert_eq!(params.get("text").map(|value| value.text.as_str()), Some("सीमा"));
    }

    #[test]
    fn invalid_utf8_is_replaced_and_marked() {
        let params = Params::parse("text=12%FF%FEANC");
        let value = params.get("text").expect("text present");
        assert!(!value.valid_utf8);
        assert_eq!(value.text, "12\u{FFFD}\u{FFFD}ANC");
    }

    #[test]
    fn missing_and_empty_values_differ() {
        let params = Params::parse("text=&id");
        assert_eq!(params.get("text").map(|value| value.text.as_str()), Some(""));
        assert_eq!(params.get("id").map(|value| value.text.as_str()), Some(""));
        assert!(params.get("from").is_none());
    }
}
