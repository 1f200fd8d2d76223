//! Cleaning of text that people type and other people read: names and
//! descriptions from forms and WhatsApp profiles.

/// Returns whether `c` is a Unicode bidirectional formatting character
/// (Unicode Standard Annex 9: embeddings, overrides, isolates and marks).
/// A name such as `invoice\u{202E}fdp.exe` would otherwise display as
/// `invoiceexe.pdf`. Zero-width joiners are not among them, because
/// Devanagari spelling needs them.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Returns `text` without control and bidirectional formatting characters,
/// for a one-line value such as a name.
pub fn one_line(text: &str) -> String {
    text.chars().filter(|&c| !c.is_control() && !is_bidi_control(c)).collect()
}

/// Returns `text` without control and bidirectional formatting characters
/// other than line breaks and tabs, for a value of several lines such as a
/// description. A `\r\n` line break becomes `\n`.
pub fn multi_line(text: &str) -> String {
    text.replace("\r\n", "\n")
        .chars()
        .filter(|&c| matches!(c, '\n' | '\t') || (!c.is_control() && !is_bidi_control(c)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_drops_controls_and_overrides() {
        assert_eq!(one_line("a\u{0}b\u{202E}c\nd"), "abcd");
        assert_eq!(one_line("सीमा\u{200D} देवी"), "सीमा\u{200D} देवी", "a zero-width joiner stays");
    }

    #[test]
    fn multi_line_keeps_line_breaks() {
        assert_eq!(multi_line("one\r\ntwo\tthree\u{7}\u{2066}"), "one\ntwo\tthree");
    }
}
