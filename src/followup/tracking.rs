//! Tracking ids that agents type on feature-phone keypads: digits only,
//! short, and ending in a Damm check digit. The exhaustive test below shows
//! that the check digit detects every single wrong digit and every swap of
//! two adjacent digits of a six-digit id.

use rand::Rng;

/// The Damm operation table: a totally anti-symmetric quasigroup of order 10.
const DAMM_TABLE: [[u8; 10]; 10] = [
    [0, 3, 1, 7, 5, 9, 8, 6, 4, 2],
    [7, 0, 9, 2, 1, 5, 4, 8, 6, 3],
    [4, 2, 0, 6, 8, 7, 1, 3, 5, 9],
    [1, 7, 5, 0, 9, 8, 3, 4, 2, 6],
    [6, 1, 2, 3, 0, 4, 5, 9, 7, 8],
    [3, 6, 7, 4, 2, 0, 9, 5, 8, 1],
    [5, 8, 6, 9, 7, 2, 0, 1, 3, 4],
    [8, 9, 4, 5, 3, 6, 2, 0, 1, 7],
    [9, 4, 3, 8, 6, 1, 7, 2, 0, 5],
    [2, 5, 8, 1, 4, 3, 6, 7, 9, 0],
];

/// The length of tracking ids while enough of them are free; longer ids are
/// used only when random six-digit ids keep colliding with open ones.
pub const PREFERRED_LENGTH: usize = 6;

/// The maximum tracking id length generated.
pub const MAX_LENGTH: usize = 9;

fn interim(digits: impl IntoIterator<Item = u8>) -> u8 {
    digits.into_iter().fold(0, |state, digit| DAMM_TABLE[usize::from(state)][usize::from(digit)])
}

fn digits_of(text: &str) -> Option<Vec<u8>> {
    text.chars().map(|c| c.to_digit(10).and_then(|digit| u8::try_from(digit).ok())).collect()
}

/// Returns the check digit for a string of ASCII digits, or `None` if it
/// contains anything else.
pub fn check_digit(base: &str) -> Option<u8> {
    digits_of(base).map(interim)
}

/// Whether `id` is all ASCII digits, at least two long, and its last digit
/// is the Damm check digit of the rest.
pub fn is_valid(id: &str) -> bool {
    id.len() >= 2 && digits_of(id).is_some_and(|digits| interim(digits) == 0)
}

/// Generates a random tracking id of `length` digits (check digit included)
/// that does not start with zero.
pub fn generate(rng: &mut impl Rng, length: usize) -> String {
    let length = length.clamp(2, MAX_LENGTH);
    let mut base = String::with_capacity(length);
    base.push(char::from(b'0' + rng.random_range(1..=9_u8)));
    for _ in 1..length - 1 {
        base.push(char::from(b'0' + rng.random_range(0..=9_u8)));
    }
    let check = check_digit(&base).unwrap_or(0);
    base.push(char::from(b'0' + check));
    base
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_check_digit() {
        // The worked example of the Damm algorithm: 572 has check digit 4.
        assert_eq!(check_digit("572"), Some(4));
        assert!(is_valid("5724"));
        assert!(!is_valid("5723"));
    }

    #[test]
    fn rejects_non_digits_and_short_ids() {
        assert!(!is_valid(""));
        assert!(!is_valid("0"));
        assert!(!is_valid("57a4"));
        assert_eq!(check_digit("5x2"), None);
    }

    #[test]
    fn generated_ids_are_valid() {
        let mut rng = rand::rng();
        for length in [PREFERRED_LENGTH, 7, MAX_LENGTH] {
            for _ in 0..1_000 {
                let id = generate(&mut rng, length);
                assert_eq!(id.len(), length, "length of {id}");
                assert!(!id.starts_with('0'), "leading zero in {id}");
                assert!(is_valid(&id), "{id} fails its own check digit");
            }
        }
    }

    /// Every six-digit id space: each of the 100,000 five-digit bases with
    /// its check digit, every single-digit substitution and every adjacent
    /// transposition that changes the id must fail the check.
    #[test]
    fn catches_all_single_and_adjacent_errors() {
        let mut checked = 0_u64;
        for base in 0..100_000_u32 {
            let base_text = format!("{base:05}");
            let check = check_digit(&base_text).expect("digits");
            let mut id: Vec<u8> = base_text.bytes().map(|b| b - b'0').collect();
            id.push(check);
            assert_eq!(interim(id.iter().copied()), 0, "valid id {base_text}{check} fails");

            for position in 0..id.len() {
                let original = id[position];
                for replacement in (0..10).filter(|digit| *digit != original) {
                    id[position] = replacement;
                    assert_ne!(
                        interim(id.iter().copied()),
                        0,
                        "substitution at {position} in {base_text}{check} passes"
                    );
                    checked += 1;
                }
                id[position] = original;
            }
            for position in 0..id.len() - 1 {
                if id[position] == id[position + 1] {
                    continue;
                }
                id.swap(position, position + 1);
                assert_ne!(interim(id.iter().copied()), 0, "swap at {position} in {base_text}{check} passes");
                id.swap(position, position + 1);
                checked += 1;
            }
        }
        assert!(checked > 5_000_000, "only {checked} errors checked");
    }
}
