//! Uploaded chat files: type detection, names, and storage on disk.
//!
//! The content type always comes from the bytes, never from the uploaded
//! name or header. A file is written under a random name to a temporary
//! path and then renamed, so a crash never leaves a partial file under a
//! name the database refers to.
//!
//! A file is uploaded first and then sent by a message that refers to it.
//! Each side of a request (the client, or its staff together) may hold at
//! most [`MAX_UNSENT_FILES`] files that no message refers to, and
//! [`sweep_unsent`] deletes such files once they are older than
//! [`UNSENT_GRACE_HOURS`].

use std::io::Write as _;
use std::path::{Path, PathBuf};

use chrono::NaiveDateTime;
use rand::Rng as _;
use sha2::{Digest as _, Sha256};

use crate::db::chat::ChatFile;
use crate::db::{write_transaction, DbError};
use crate::engine::Engine;

/// Maximum number of files in one request that one side uploaded and no
/// message refers to yet. A further upload from that side is rejected
/// with 409.
pub const MAX_UNSENT_FILES: i64 = 10;

/// Hours after its upload from which a file that no message refers to is
/// deleted, by the next sweep of the scheduler.
pub const UNSENT_GRACE_HOURS: i64 = 24;

/// Time between two runs of [`sweep_unsent`] by the scheduler, which also
/// runs it once at start-up.
pub const SWEEP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60 * 60);

/// Maximum length of a displayed file name, in characters.
pub const MAX_NAME_CHARS: usize = 120;

/// The name shown when the uploaded name has nothing usable left.
const FALLBACK_NAME: &str = "file";

/// The type of a file as detected from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sniffed {
    /// The MIME type, `application/octet-stream` when no known signature
    /// matches.
    pub content_type: &'static str,
    /// The usual extension of that type, when it is known.
    pub extension: Option<&'static str>,
}

/// Detects the type of `content` from its bytes.
pub fn sniff(content: &[u8]) -> Sniffed {
    match infer::get(content) {
        Some(kind) => Sniffed { content_type: kind.mime_type(), extension: Some(kind.extension()) },
        None => Sniffed { content_type: "application/octet-stream", extension: None },
    }
}

/// Cleans an uploaded name for display: keeps the last path part, drops
/// control, bidirectional-formatting and quoting characters, shortens it,
/// and makes it end in `extension`, the detected type's (a PDF named
/// `photo.png` becomes `photo.png.pdf`).
pub fn display_name(uploaded: &str, extension: Option<&str>) -> String {
    let last_part = uploaded.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last_part
        .chars()
        .filter(|c| !c.is_control() && !crate::text::is_bidi_control(*c))
        .filter(|c| !matches!(c, '"' | '\'' | '<' | '>' | ':' | '|' | '?' | '*' | ';' | '%'))
        .collect();
    let cleaned = cleaned.trim().trim_matches('.').trim();
    let mut name: String = cleaned.chars().take(MAX_NAME_CHARS).collect();
    if name.is_empty() {
        name = FALLBACK_NAME.to_owned();
    }
    if let Some(extension) = extension {
        let lower = name.to_lowercase();
        let matches = lower.ends_with(&format!(".{extension}"))
            || (extension == "jpg" && lower.ends_with(".jpeg"))
            || (extension == "tif" && lower.ends_with(".tiff"));
        if !matches {
            name = format!("{name}.{extension}");
        }
    }
    name
}

/// Returns an ASCII-only form of `name` for the plain `filename=` parameter
/// of Content-Disposition; `filename*` carries the full name.
pub fn ascii_fallback(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ' ') { c } else { '_' })
        .collect();
    if ascii.trim_matches(['_', '.', ' ']).is_empty() {
        FALLBACK_NAME.to_owned()
    } else {
        ascii
    }
}

/// Returns 64 hex digits of the SHA-256 of `content`.
pub fn sha256_hex(content: &[u8]) -> String {
    Sha256::digest(content).iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Generates a random stored name: 32 hex digits, no extension.
pub fn random_stored_name() -> String {
    let bytes: [u8; 16] = rand::rng().random();
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Writes `content` as `directory/stored_name`, creating the directory, by
/// way of a temporary file that is synced and then renamed.
pub fn write_stored(directory: &Path, stored_name: &str, content: &[u8]) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(directory)?;
    let target = directory.join(stored_name);
    let temporary = directory.join(format!(".{stored_name}.part"));
    let written = (|| {
        let mut file = std::fs::OpenOptions::new().write(true).create_new(true).open(&temporary)?;
        file.write_all(content)?;
        file.sync_all()?;
        std::fs::rename(&temporary, &target)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written.map(|()| target)
}

/// Returns the path of a stored file. Stored names are generated by
/// [`random_stored_name`]; any other shape is rejected so a damaged row can
/// never point outside the directory.
pub fn stored_path(directory: &Path, stored_name: &str) -> Option<PathBuf> {
    let well_formed = !stored_name.is_empty() && stored_name.bytes().all(|byte| byte.is_ascii_hexdigit());
    well_formed.then(|| directory.join(stored_name))
}

/// The outcome of one [`sweep_unsent`] run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepSummary {
    /// Rows deleted from `chat_files`.
    pub deleted_rows: usize,
    /// Stored files removed from `chat.files_dir`.
    pub removed_files: usize,
    /// Deleted rows whose stored file was already gone.
    pub missing_files: usize,
    /// Stored files that could not be removed. Each one is logged.
    pub failed_removals: usize,
}

/// Deletes the files that no message refers to and that were uploaded more
/// than [`UNSENT_GRACE_HOURS`] before `now`: first their rows, in one write
/// transaction, then their stored files. A row whose stored file is already
/// gone is deleted all the same. Every error is logged here, so callers may
/// ignore the result. A stored file that cannot be removed stays on disk
/// with no row.
pub async fn sweep_unsent(engine: &Engine, now: NaiveDateTime) -> Result<SweepSummary, DbError> {
    let cutoff = now - chrono::Duration::hours(UNSENT_GRACE_HOURS);
    let directory = PathBuf::from(&engine.settings.chat.files_dir);
    let swept = engine
        .database
        .run(move |connection| {
            let deleted = write_transaction(connection, |connection| {
                ChatFile::delete_unsent_before(connection, cutoff).map_err(DbError::from)
            })?;
            Ok::<_, DbError>(remove_stored(&directory, &deleted))
        })
        .await;

    match &swept {
        Ok(summary) if summary.deleted_rows > 0 => tracing::info!(
            deleted_rows = summary.deleted_rows,
            removed_files = summary.removed_files,
            missing_files = summary.missing_files,
            failed_removals = summary.failed_removals,
            %cutoff,
            "deleted chat files that no message refers to"
        ),
        Ok(_) => tracing::debug!(%cutoff, "no unsent chat files to delete"),
        Err(error) => tracing::error!(%error, "deleting unsent chat files failed, the next sweep tries again"),
    }
    swept
}

/// Removes the stored files of `deleted` rows from `directory`.
fn remove_stored(directory: &Path, deleted: &[ChatFile]) -> SweepSummary {
    let mut summary = SweepSummary { deleted_rows: deleted.len(), ..SweepSummary::default() };
    for file in deleted {
        let Some(path) = stored_path(directory, &file.stored_name) else {
            tracing::warn!(file_id = %file.id, "a deleted chat file row has an invalid stored name, so no stored file was removed");
            summary.failed_removals += 1;
            continue;
        };
        match std::fs::remove_file(&path) {
            Ok(()) => summary.removed_files += 1,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => summary.missing_files += 1,
            Err(error) => {
                tracing::warn!(%error, file_id = %file.id, path = %path.display(), "removing an unsent chat file failed");
                summary.failed_removals += 1;
            }
        }
    }
    summary
}

#[cfg(test)]
mod tests {
    use super::*;

    const PDF: &[u8] = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n";
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0";

    #[test]
    fn sniffing_ignores_the_name() {
        assert_eq!(sniff(PDF), Sniffed { content_type: "application/pdf", extension: Some("pdf") });
        assert_eq!(sniff(PNG).content_type, "image/png");
        assert_eq!(
            sniff(&[b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0>\0".as_slice(), &[0; 44]].concat()).content_type,
            "application/x-executable"
        );
        assert_eq!(sniff(b"just text"), Sniffed { content_type: "application/octet-stream", extension: None });
    }

    #[test]
    fn display_names_are_cleaned() {
        assert_eq!(display_name("../../etc/passwd", Some("pdf")), "passwd.pdf");
        assert_eq!(display_name("C:\\Users\\me\\scan.PDF", Some("pdf")), "scan.PDF");
        assert_eq!(display_name("photo.png", Some("pdf")), "photo.png.pdf");
        assert_eq!(display_name("a\"b\r\n.jpeg", Some("jpg")), "ab.jpeg");
        assert_eq!(display_name("...", Some("png")), "file.png");
        assert_eq!(display_name("रिपोर्ट.pdf", Some("pdf")), "रिपोर्ट.pdf");
        assert_eq!(display_name(&"x".repeat(500), None).chars().count(), MAX_NAME_CHARS);
    }

    #[test]
    fn display_names_lose_bidi_controls() {
        assert_eq!(display_name("invoice\u{202E}fdp.exe", None), "invoicefdp.exe");
        assert_eq!(display_name("\u{2067}scan\u{2069}.pdf", Some("pdf")), "scan.pdf");
        assert_eq!(display_name("a\u{200F}b\u{061C}c\u{202A}d.png", Some("png")), "abcd.png");
        assert_eq!(display_name("\u{202E}\u{202C}", Some("pdf")), "file.pdf");
        // Devanagari conjuncts need the zero-width joiner and non-joiner.
        assert_eq!(display_name("क्\u{200D}ष.pdf", Some("pdf")), "क्\u{200D}ष.pdf");
    }

    #[test]
    fn ascii_fallback_replaces_other_characters() {
        assert_eq!(ascii_fallback("रिपोर्ट.pdf"), "_______.pdf");
        assert_eq!(ascii_fallback("scan 1.pdf"), "scan 1.pdf");
        assert_eq!(ascii_fallback("___"), "file");
    }

    #[test]
    fn stored_files_are_renamed_into_place() {
        let directory = tempfile::tempdir().expect("temporary directory");
        let nested = directory.path().join("files");
        let name = random_stored_name();

        let path = write_stored(&nested, &name, PDF).expect("written");

        assert_eq!(std::fs::read(&path).expect("readable"), PDF);
        assert_eq!(std::fs::read_dir(&nested).expect("listable").count(), 1, "no temporary file is left");
        assert_eq!(stored_path(&nested, &name), Some(path));
        assert_eq!(stored_path(&nested, "../x"), None);
    }
}
