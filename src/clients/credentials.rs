//! Logins and one-time passwords sent to clients on WhatsApp. Both use
//! lower-case letters and digits without the look-alikes 0, 1, i, l and
//! o, so a client can type them from the message without mistakes.

use rand::Rng as _;

/// The characters of logins and passwords.
pub const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// Characters in a login.
pub const LOGIN_LENGTH: usize = 8;

/// Characters in a one-time password: 10 characters from 31 give about
/// 49 bits of randomness.
pub const PASSWORD_LENGTH: usize = 10;

/// Returns `length` random characters of [`ALPHABET`] from the thread's
/// cryptographically secure generator.
fn random_text(length: usize) -> String {
    let mut rng = rand::rng();
    (0..length).map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())])).collect()
}

/// Returns a new random login; the caller checks that it is unused.
pub fn new_login() -> String {
    random_text(LOGIN_LENGTH)
}

/// Returns a new random one-time password.
pub fn new_password() -> String {
    random_text(PASSWORD_LENGTH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_uses_only_the_alphabet() {
        for _ in 0..200 {
            let login = new_login();
            assert_eq!(login.len(), LOGIN_LENGTH);
            assert!(login.bytes().all(|byte| ALPHABET.contains(&byte)), "unexpected character in {login}");
        }
    }

    #[test]
    fn alphabet_has_no_look_alikes() {
        for look_alike in [b'0', b'1', b'i', b'l', b'o'] {
            assert!(!ALPHABET.contains(&look_alike));
        }
    }

    #[test]
    fn passwords_differ() {
        let first = new_password();
        let second = new_password();
        assert_eq!(first.len(), PASSWORD_LENGTH);
        assert_ne!(first, second);
    }
}
