//! Bearer tokens of the officer JSON API. Only the SHA-256 of each token is
//! stored, like the dashboard's session ids in [`super::staff`].

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{api_tokens, staff_users};
use super::staff::{StaffId, StaffUser};
use super::DbConnection;

#[derive(Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = api_tokens, primary_key(token_hash))]
pub struct ApiToken {
    /// SHA-256 (hex) of the token the client sends.
    pub token_hash: String,
    pub staff_id: StaffId,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

/// Leaves out the token hash.
impl std::fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiToken")
            .field("staff_id", &self.staff_id)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

#[derive(Insertable)]
#[diesel(table_name = api_tokens)]
pub struct NewApiToken<'a> {
    pub token_hash: &'a str,
    pub staff_id: StaffId,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

impl ApiToken {
    pub fn insert(connection: &mut DbConnection, new: &NewApiToken<'_>) -> QueryResult<usize> {
        diesel::insert_into(api_tokens::table).values(new).execute(connection)
    }

    /// Finds a live token and its user: the token exists, has not expired
    /// at `now`, its user is active, and the user's password has not
    /// changed since the token was issued.
    pub fn find_live(
        connection: &mut DbConnection,
        token_hash: &str,
        now: NaiveDateTime,
    ) -> QueryResult<Option<(ApiToken, StaffUser)>> {
        api_tokens::table
            .inner_join(staff_users::table)
            .filter(api_tokens::token_hash.eq(token_hash))
            .filter(api_tokens::expires_at.gt(now))
            .filter(staff_users::active.eq(true))
            .filter(staff_users::password_changed_at.le(api_tokens::created_at))
            .select((ApiToken::as_select(), StaffUser::as_select()))
            .first(connection)
            .optional()
    }

    /// Revokes one token. Returns how many rows were deleted (0 or 1).
    pub fn delete(connection: &mut DbConnection, token_hash: &str) -> QueryResult<usize> {
        diesel::delete(api_tokens::table.find(token_hash)).execute(connection)
    }

    /// Deletes the tokens that expired at or before `now`.
    pub fn delete_expired(connection: &mut DbConnection, now: NaiveDateTime) -> QueryResult<usize> {
        diesel::delete(api_tokens::table.filter(api_tokens::expires_at.le(now))).execute(connection)
    }
}
