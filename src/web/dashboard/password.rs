//! Staff passwords: Argon2id hashing to PHC strings, verification, and the
//! length rules for new passwords.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::Argon2;

/// The longest password accepted, in characters. Argon2 hashes any length,
/// but a bound keeps a huge form field from costing more than a normal one.
pub const MAX_LENGTH: usize = 256;

/// Why a new password was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordProblem {
    #[error("the password is too short: use at least {0} characters")]
    TooShort(usize),
    #[error("the password is too long: use at most {MAX_LENGTH} characters")]
    TooLong,
    #[error("the password is only spaces: use letters, digits or symbols")]
    Blank,
}

/// Checks a new password against the length rules. Length is counted in
/// characters, so a Devanagari password is not penalised for its bytes.
pub fn check_new(password: &str, min_length: usize) -> Result<(), PasswordProblem> {
    let length = password.chars().count();
    if password.trim().is_empty() && length > 0 {
        return Err(PasswordProblem::Blank);
    }
    if length < min_length {
        return Err(PasswordProblem::TooShort(min_length));
    }
    if length > MAX_LENGTH {
        return Err(PasswordProblem::TooLong);
    }
    Ok(())
}

/// Hashes a password with Argon2id (the crate's defaults: version 19,
/// 19 MiB of memory, 2 passes, 1 lane) and a random salt, and returns the
/// PHC string to store. Takes tens of milliseconds, so async code runs it
/// on the blocking pool.
pub fn hash(password: &str) -> anyhow::Result<String> {
    let hashed = Argon2::default()
        .hash_password(password.as_bytes())
        .map_err(|error| anyhow::anyhow!("hashing the password failed: {error}"))?;
    Ok(hashed.to_string())
}

/// Whether `password` matches a stored PHC string. The parameters stored in
/// the string are used, so hashes made with older settings still verify.
/// A malformed stored string never matches.
pub fn verify(password: &str, phc: &str) -> bool {
    Argon2::default().verify_password(password.as_bytes(), phc).is_ok()
}

/// Spends the time of one verification without a real account, so a
/// sign-in with an unknown email takes as long as one with a wrong
/// password and does not reveal which emails exist.
pub fn verify_against_dummy(password: &str) {
    static DUMMY: OnceLock<Option<String>> = OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash("dummy password for unknown accounts").ok());
    if let Some(phc) = dummy {
        let _ = verify(password, phc);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_verifies_and_is_argon2id() {
        let phc = hash("correct horse battery").expect("hash");

        assert!(phc.starts_with("$argon2id$v=19$"), "{phc}");
        assert!(verify("correct horse battery", &phc));
        assert!(!verify("correct horse batterY", &phc));
    }

    #[test]
    fn same_password_gets_different_salts() {
        let first = hash("correct horse battery").expect("hash");
        let second = hash("correct horse battery").expect("hash");

        assert_ne!(first, second);
    }

    #[test]
    fn malformed_hash_never_verifies() {
        assert!(!verify("anything", "not a phc string"));
        assert!(!verify("", ""));
    }

    #[test]
    fn new_password_rules() {
        assert_eq!(check_new("short", 12), Err(PasswordProblem::TooShort(12)));
        assert_eq!(check_new("            ", 12), Err(PasswordProblem::Blank));
        assert_eq!(check_new(&"x".repeat(MAX_LENGTH + 1), 12), Err(PasswordProblem::TooLong));
        assert_eq!(check_new("सीमा देवी पाटील", 12), Ok(()), "counts characters, not bytes");
        assert_eq!(check_new("twelve chars", 12), Ok(()));
    }
}
