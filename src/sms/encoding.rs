//! SMS character sets: whether a text fits the GSM 7-bit alphabet or must be
//! sent as UCS-2, and how many parts it takes.

/// The GSM 03.38 basic character set.
const GSM_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

/// Characters of the GSM 03.38 extension table; each takes two septets.
const GSM_EXTENSION: &str = "^{}\\[~]|€\u{000C}";

/// How a text must be coded on the air interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    /// The GSM 7-bit default alphabet: 160 characters per SMS.
    Gsm7,
    /// UCS-2 (UTF-16 without surrogates): 70 characters per SMS; needed for
    /// Devanagari.
    Ucs2,
}

/// Returns the coding that can carry `text` without loss.
pub fn coding_for(text: &str) -> Coding {
    if text.chars().all(|c| GSM_BASIC.contains(c) || GSM_EXTENSION.contains(c)) {
        Coding::Gsm7
    } else {
        Coding::Ucs2
    }
}

/// Returns how many SMS parts `text` needs (153 septets or 67 UCS-2
/// characters per part of a concatenated message).
pub fn part_count(text: &str) -> usize {
    match coding_for(text) {
        Coding::Gsm7 => {
            let septets: usize = text.chars().map(|c| if GSM_EXTENSION.contains(c) { 2 } else { 1 }).sum();
            if septets <= 160 {
                1
            } else {
                septets.div_ceil(153)
            }
        }
        Coding::Ucs2 => {
            let units: usize = text.chars().map(char::len_utf16).sum();
            if units <= 70 {
                1
            } else {
                units.div_ceil(67)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin_text_is_gsm7() {
        assert_eq!(coding_for("Seema Devi visit Wagle HP on 21-10-2026 at 09:00 for ANC"), Coding::Gsm7);
        assert_eq!(coding_for("Price: 10€ [approx]"), Coding::Gsm7);
    }

    #[test]
    fn devanagari_needs_ucs2() {
        assert_eq!(coding_for("सीमा देवी"), Coding::Ucs2);
    }

    #[test]
    fn part_counts() {
        assert_eq!(part_count(&"a".repeat(160)), 1);
        assert_eq!(part_count(&"a".repeat(161)), 2);
        assert_eq!(part_count(&"स".repeat(70)), 1);
        assert_eq!(part_count(&"स".repeat(71)), 2);
    }
}
