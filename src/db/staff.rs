//! Dashboard accounts: staff users, the corporations assigned to officers,
//! server-side sessions, failed sign-ins, and the [`Scope`] that limits
//! which corporations a staff user may see.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_derive_newtype::DieselNewType;
use serde::{Deserialize, Serialize};

use super::ids::CorporationId;
use super::schema::{login_attempts, staff_corporations, staff_sessions, staff_users};
use super::DbConnection;

/// The id of a staff user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, DieselNewType, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StaffId(pub i32);

impl std::fmt::Display for StaffId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Role of a staff user, stored as `admin` or `officer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Sees and manages every corporation.
    Admin,
    /// Sees only the corporations assigned in `staff_corporations`.
    Officer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Officer => "officer",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "admin" => Some(Role::Admin),
            "officer" => Some(Role::Officer),
            _ => None,
        }
    }
}

/// Returns the form in which emails are stored and compared: trimmed and
/// lower-case.
pub fn normalise_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Maximum length of an email, in characters.
pub const MAX_EMAIL_LENGTH: usize = 254;

/// Normalises an email and checks its shape: one `@` with text on both
/// sides, no spaces, at most [`MAX_EMAIL_LENGTH`] characters. Whether the
/// mailbox exists is not checked. Returns the stored form or the problem.
pub fn parse_email(text: &str) -> Result<String, String> {
    let email = normalise_email(text);
    if email.is_empty() {
        return Err("the email is empty".to_owned());
    }
    if email.chars().count() > MAX_EMAIL_LENGTH {
        return Err(format!("the email is longer than {MAX_EMAIL_LENGTH} characters"));
    }
    if email.chars().any(|character| character.is_whitespace() || character.is_control()) {
        return Err(format!("'{email}' contains spaces or control characters"));
    }
    match email.split_once('@') {
        Some((local, domain)) if !local.is_empty() && !domain.is_empty() && !domain.contains('@') => Ok(email),
        _ => Err(format!("'{email}' is not an email address such as name@example.org")),
    }
}

#[derive(Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = staff_users)]
pub struct StaffUser {
    pub id: StaffId,
    pub name: String,
    /// Lower-case; the sign-in name.
    pub email: String,
    pub designation: String,
    /// `admin` or `officer`; see [`StaffUser::role`].
    pub role: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub password_changed_at: NaiveDateTime,
}

/// Leaves out the password hash, so a logged user never shows it.
impl std::fmt::Debug for StaffUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaffUser")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("email", &self.email)
            .field("designation", &self.designation)
            .field("role", &self.role)
            .field("active", &self.active)
            .finish_non_exhaustive()
    }
}

#[derive(Insertable)]
#[diesel(table_name = staff_users)]
pub struct NewStaffUser<'a> {
    pub name: &'a str,
    /// Must already be normalised with [`normalise_email`].
    pub email: &'a str,
    pub designation: &'a str,
    pub role: &'a str,
    pub password_hash: &'a str,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub password_changed_at: NaiveDateTime,
}

impl StaffUser {
    /// Returns the stored role. The CHECK constraint allows only the two
    /// roles, and anything else would be read as the narrower officer role.
    pub fn role(&self) -> Role {
        Role::parse(&self.role).unwrap_or(Role::Officer)
    }

    pub fn insert(connection: &mut DbConnection, new: &NewStaffUser<'_>) -> QueryResult<StaffUser> {
        diesel::insert_into(staff_users::table).values(new).returning(StaffUser::as_returning()).get_result(connection)
    }

    pub fn find(connection: &mut DbConnection, id: StaffId) -> QueryResult<Option<StaffUser>> {
        staff_users::table.find(id).select(StaffUser::as_select()).first(connection).optional()
    }

    /// Finds a user, active or not, by an email already normalised with
    /// [`normalise_email`].
    pub fn find_by_email(connection: &mut DbConnection, email: &str) -> QueryResult<Option<StaffUser>> {
        staff_users::table
            .filter(staff_users::email.eq(email))
            .select(StaffUser::as_select())
            .first(connection)
            .optional()
    }

    /// Stores a new password hash and the time it changed.
    pub fn set_password(
        connection: &mut DbConnection,
        id: StaffId,
        password_hash: &str,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(staff_users::table.find(id))
            .set((staff_users::password_hash.eq(password_hash), staff_users::password_changed_at.eq(now)))
            .execute(connection)
    }

    /// Makes a user an active admin, e.g. to recover a locked-out account
    /// from the command line.
    pub fn make_active_admin(connection: &mut DbConnection, id: StaffId) -> QueryResult<usize> {
        diesel::update(staff_users::table.find(id))
            .set((staff_users::role.eq(Role::Admin.as_str()), staff_users::active.eq(true)))
            .execute(connection)
    }

    /// Gives an officer access to a corporation; assigning it twice is not
    /// an error.
    pub fn assign_corporation(
        connection: &mut DbConnection,
        staff: StaffId,
        corporation: CorporationId,
    ) -> QueryResult<usize> {
        diesel::insert_into(staff_corporations::table)
            .values((staff_corporations::staff_id.eq(staff), staff_corporations::corporation_id.eq(corporation)))
            .on_conflict_do_nothing()
            .execute(connection)
    }

    /// Lists the corporations assigned to a staff user, in id order.
    pub fn corporations(connection: &mut DbConnection, staff: StaffId) -> QueryResult<Vec<CorporationId>> {
        staff_corporations::table
            .filter(staff_corporations::staff_id.eq(staff))
            .order(staff_corporations::corporation_id.asc())
            .select(staff_corporations::corporation_id)
            .load(connection)
    }
}

/// New values of a staff user's editable columns. The email is the
/// sign-in name and the password has its own page, so neither is here.
#[derive(Debug, AsChangeset)]
#[diesel(table_name = staff_users)]
pub struct StaffChanges<'a> {
    pub name: &'a str,
    pub designation: &'a str,
    pub role: &'a str,
    pub active: bool,
}

impl StaffUser {
    /// Lists every staff user, active or not, ordered by name and id.
    pub fn all(connection: &mut DbConnection) -> QueryResult<Vec<StaffUser>> {
        staff_users::table
            .order((staff_users::name.asc(), staff_users::id.asc()))
            .select(StaffUser::as_select())
            .load(connection)
    }

    /// Returns how many rows changed (0 when there is no such user).
    pub fn update(connection: &mut DbConnection, id: StaffId, changes: &StaffChanges<'_>) -> QueryResult<usize> {
        diesel::update(staff_users::table.find(id)).set(changes).execute(connection)
    }

    /// Replaces the corporations assigned to a staff user.
    pub fn set_corporations(
        connection: &mut DbConnection,
        staff: StaffId,
        corporations: &[CorporationId],
    ) -> QueryResult<()> {
        diesel::delete(staff_corporations::table.filter(staff_corporations::staff_id.eq(staff))).execute(connection)?;
        for corporation in corporations {
            Self::assign_corporation(connection, staff, *corporation)?;
        }
        Ok(())
    }

    /// Lists every (staff user, corporation) assignment.
    pub fn all_assignments(connection: &mut DbConnection) -> QueryResult<Vec<(StaffId, CorporationId)>> {
        staff_corporations::table
            .order((staff_corporations::staff_id.asc(), staff_corporations::corporation_id.asc()))
            .select((staff_corporations::staff_id, staff_corporations::corporation_id))
            .load(connection)
    }
}

/// The corporations whose data a staff user may see and change. Every query
/// in [`super::scoped`] takes one, so no page can leave it out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every corporation, for admins.
    All,
    /// Only these corporations, for officers; empty means nothing.
    Corporations(Vec<CorporationId>),
}

impl Scope {
    /// Loads the scope of `user`: everything for an admin, the assigned
    /// corporations for an officer.
    pub fn of(connection: &mut DbConnection, user: &StaffUser) -> QueryResult<Scope> {
        match user.role() {
            Role::Admin => Ok(Scope::All),
            Role::Officer => Ok(Scope::Corporations(StaffUser::corporations(connection, user.id)?)),
        }
    }

    /// Returns whether rows of `corporation` are visible in this scope.
    pub fn allows(&self, corporation: CorporationId) -> bool {
        match self {
            Scope::All => true,
            Scope::Corporations(ids) => ids.contains(&corporation),
        }
    }
}

#[derive(Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = staff_sessions)]
pub struct StaffSession {
    /// SHA-256 (hex) of the cookie token.
    pub id: String,
    pub staff_id: StaffId,
    /// Random token every form of this session must send back.
    pub csrf_token: String,
    pub created_at: NaiveDateTime,
    /// End of the absolute lifetime.
    pub expires_at: NaiveDateTime,
    /// Time of the last request. The web layer writes it at most once a
    /// minute (`TOUCH_INTERVAL_SECS` in `web::dashboard::session`).
    pub last_seen_at: NaiveDateTime,
}

/// Leaves out the CSRF token.
impl std::fmt::Debug for StaffSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaffSession")
            .field("staff_id", &self.staff_id)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("last_seen_at", &self.last_seen_at)
            .finish_non_exhaustive()
    }
}

#[derive(Insertable)]
#[diesel(table_name = staff_sessions)]
pub struct NewStaffSession<'a> {
    pub id: &'a str,
    pub staff_id: StaffId,
    pub csrf_token: &'a str,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
}

impl StaffSession {
    pub fn insert(connection: &mut DbConnection, new: &NewStaffSession<'_>) -> QueryResult<usize> {
        diesel::insert_into(staff_sessions::table).values(new).execute(connection)
    }

    /// Finds a live session and its user: the session exists, its absolute
    /// lifetime has not ended at `now`, it was seen after `idle_cutoff`,
    /// and its user is active.
    pub fn find_live(
        connection: &mut DbConnection,
        id: &str,
        now: NaiveDateTime,
        idle_cutoff: NaiveDateTime,
    ) -> QueryResult<Option<(StaffSession, StaffUser)>> {
        staff_sessions::table
            .inner_join(staff_users::table)
            .filter(staff_sessions::id.eq(id))
            .filter(staff_sessions::expires_at.gt(now))
            .filter(staff_sessions::last_seen_at.gt(idle_cutoff))
            .filter(staff_users::active.eq(true))
            .select((StaffSession::as_select(), StaffUser::as_select()))
            .first(connection)
            .optional()
    }

    /// Records a request in the session, which restarts its idle timeout.
    pub fn touch(connection: &mut DbConnection, id: &str, now: NaiveDateTime) -> QueryResult<usize> {
        diesel::update(staff_sessions::table.find(id)).set(staff_sessions::last_seen_at.eq(now)).execute(connection)
    }

    /// Ends one session. Returns how many rows were deleted (0 or 1).
    pub fn delete(connection: &mut DbConnection, id: &str) -> QueryResult<usize> {
        diesel::delete(staff_sessions::table.find(id)).execute(connection)
    }

    /// Ends every session of a user except `keep`, e.g. after a password
    /// change in the session `keep`.
    pub fn delete_others_of(connection: &mut DbConnection, staff: StaffId, keep: &str) -> QueryResult<usize> {
        diesel::delete(
            staff_sessions::table.filter(staff_sessions::staff_id.eq(staff)).filter(staff_sessions::id.ne(keep)),
        )
        .execute(connection)
    }

    /// Ends every session of a user.
    pub fn delete_all_of(connection: &mut DbConnection, staff: StaffId) -> QueryResult<usize> {
        diesel::delete(staff_sessions::table.filter(staff_sessions::staff_id.eq(staff))).execute(connection)
    }

    /// Deletes sessions past their absolute lifetime or idle since before
    /// `idle_cutoff`.
    pub fn delete_expired(
        connection: &mut DbConnection,
        now: NaiveDateTime,
        idle_cutoff: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::delete(
            staff_sessions::table
                .filter(staff_sessions::expires_at.le(now).or(staff_sessions::last_seen_at.le(idle_cutoff))),
        )
        .execute(connection)
    }
}

/// Failed sign-ins, counted per account and per client address.
#[derive(Debug, Clone, Copy)]
pub struct LoginAttempts;

/// Failures counted in the current window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureCounts {
    pub account: i64,
    pub address: i64,
}

/// The most failures allowed in one window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureLimits {
    pub per_account: i64,
    pub per_address: i64,
}

/// The result of [`LoginAttempts::claim`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptClaim {
    /// The attempt is recorded as a failure until the caller clears it.
    Allowed,
    /// A limit is reached; nothing was recorded.
    Limited(FailureCounts),
}

impl LoginAttempts {
    /// Counts the failures since `window_start` and, unless a limit is
    /// reached, records this attempt as a failure, in one write
    /// transaction. The caller clears the account's failures with
    /// [`LoginAttempts::clear_account`] when the password is right.
    /// Checking and recording together keeps parallel requests from all
    /// passing the check before any of them is counted. Failures older than
    /// the window are deleted on the way.
    pub fn claim(
        connection: &mut DbConnection,
        account_key: &str,
        client_address: &str,
        now: NaiveDateTime,
        window_start: NaiveDateTime,
        limits: FailureLimits,
    ) -> QueryResult<AttemptClaim> {
        super::write_transaction(connection, |connection| {
            let counts = Self::count_since(connection, account_key, client_address, window_start)?;
            if counts.account >= limits.per_account || counts.address >= limits.per_address {
                return Ok(AttemptClaim::Limited(counts));
            }
            diesel::insert_into(login_attempts::table)
                .values((
                    login_attempts::account_key.eq(account_key),
                    login_attempts::client_address.eq(client_address),
                    login_attempts::attempted_at.eq(now),
                ))
                .execute(connection)?;
            diesel::delete(login_attempts::table.filter(login_attempts::attempted_at.lt(window_start)))
                .execute(connection)?;
            Ok(AttemptClaim::Allowed)
        })
    }

    /// Counts failures since `since` for the account and for the address.
    pub fn count_since(
        connection: &mut DbConnection,
        account_key: &str,
        client_address: &str,
        since: NaiveDateTime,
    ) -> QueryResult<FailureCounts> {
        let account = login_attempts::table
            .filter(login_attempts::account_key.eq(account_key))
            .filter(login_attempts::attempted_at.ge(since))
            .count()
            .get_result(connection)?;
        let address = login_attempts::table
            .filter(login_attempts::client_address.eq(client_address))
            .filter(login_attempts::attempted_at.ge(since))
            .count()
            .get_result(connection)?;
        Ok(FailureCounts { account, address })
    }

    /// Forgets the failures of an account after its owner proved the
    /// password. They stop counting for their client addresses too, which
    /// is harmless: they were guesses at this one account.
    pub fn clear_account(connection: &mut DbConnection, account_key: &str) -> QueryResult<usize> {
        diesel::delete(login_attempts::table.filter(login_attempts::account_key.eq(account_key))).execute(connection)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(parse_email("  Asha.Patil@Example.ORG "), Ok("asha.patil@example.org".to_owned()));
        assert!(parse_email("").is_err());
        assert!(parse_email("asha").is_err());
        assert!(parse_email("@example.org").is_err());
        assert!(parse_email("asha@").is_err());
        assert!(parse_email("asha@ex@ample.org").is_err());
        assert!(parse_email("asha patil@example.org").is_err());
        assert!(parse_email(&format!("{}@example.org", "a".repeat(MAX_EMAIL_LENGTH))).is_err());
    }

    #[test]
    fn roles_round_trip() {
        for role in [Role::Admin, Role::Officer] {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
