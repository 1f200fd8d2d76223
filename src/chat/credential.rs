//! The sign-in behind an open chat WebSocket. A socket outlives the HTTP
//! request that authenticated it, so the session checks the sign-in again
//! every [`RECHECK_INTERVAL`] and before it stores each message, and closes
//! the socket once the sign-in has ended (signed out, expired, deleted, or
//! the staff user deactivated).

use std::time::Duration;

use chrono::NaiveDateTime;

use crate::db::api_tokens::ApiToken;
use crate::db::client_sessions::ClientSession;
use crate::db::staff::StaffSession;
use crate::db::DbConnection;
use crate::engine::Engine;

/// How often an open chat WebSocket checks that its sign-in is still live.
pub const RECHECK_INTERVAL: Duration = Duration::from_secs(30);

/// A session's `last_seen_at` is written at most this often by the chat,
/// like the page loads of both areas do.
const TOUCH_INTERVAL_SECS: i64 = 60;

/// The sign-in that opened a chat WebSocket. Each variant contains the key
/// of the row that the area's own authentication reads.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// A dashboard session: the `staff_sessions` row id, which is the
    /// SHA-256 of the cookie token.
    StaffSession(String),
    /// A portal session: the `client_sessions` row id.
    ClientSession(String),
    /// An officer API bearer token: its stored SHA-256.
    ApiToken(String),
}

/// Leaves out the row keys, which stand in for secrets in logs.
impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.kind())
    }
}

/// When a live-check runs, which decides whether it counts as activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckKind {
    /// The periodic check, which leaves the idle timeout running.
    Periodic,
    /// The check before a message is stored. Posting is activity, so it
    /// restarts the idle timeout of a dashboard or portal session.
    Activity,
}

impl Credential {
    /// Names the kind of sign-in, for logs and close reasons.
    pub fn kind(&self) -> &'static str {
        match self {
            Credential::StaffSession(_) => "dashboard session",
            Credential::ClientSession(_) => "portal session",
            Credential::ApiToken(_) => "API token",
        }
    }

    /// Returns the reason sent in the close frame when the check fails.
    pub fn ended_reason(&self) -> String {
        format!("your {} has ended: sign in again to continue the chat", self.kind())
    }

    /// Returns whether the sign-in still authenticates its holder at `now`,
    /// by the same rules as the area's authentication: lifetime, idle
    /// timeout of dashboard sessions, an active staff user, and tokens not
    /// older than the last password change.
    pub fn is_live(
        &self,
        connection: &mut DbConnection,
        engine: &Engine,
        now: NaiveDateTime,
        check: CheckKind,
    ) -> diesel::QueryResult<bool> {
        let touch_due = |last_seen: NaiveDateTime| {
            check == CheckKind::Activity && (now - last_seen).num_seconds() >= TOUCH_INTERVAL_SECS
        };
        match self {
            Credential::StaffSession(id) => {
                let idle_minutes = i64::from(engine.settings.dashboard.idle_timeout_minutes);
                let idle_cutoff = now - chrono::Duration::minutes(idle_minutes);
                let Some((session, _user)) = StaffSession::find_live(connection, id, now, idle_cutoff)? else {
                    return Ok(false);
                };
                if touch_due(session.last_seen_at) {
                    StaffSession::touch(connection, id, now)?;
                }
                Ok(true)
            }
            Credential::ClientSession(id) => {
                let Some((session, _client)) = ClientSession::find_live(connection, id, now)? else {
                    return Ok(false);
                };
                if touch_due(session.last_seen_at) {
                    ClientSession::touch(connection, id, now)?;
                }
                Ok(true)
            }
            Credential::ApiToken(hash) => Ok(ApiToken::find_live(connection, hash, now)?.is_some()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_row_keys() {
        let credential = Credential::ClientSession("secret-hash".to_owned());

        assert_eq!(format!("{credential:?}"), "portal session");
    }

    #[test]
    fn ended_reason_names_the_sign_in() {
        let reason = Credential::StaffSession(String::new()).ended_reason();

        assert!(reason.contains("dashboard session has ended"), "{reason}");
    }
}
