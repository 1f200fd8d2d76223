//! Signed-in portal browsers. A row's id is the SHA-256 (hex) of the cookie
//! token, so the database alone cannot be used to sign in.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::clients::Client;
use super::ids::ClientId;
use super::schema::{client_sessions, clients};
use super::DbConnection;

#[derive(Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = client_sessions)]
pub struct ClientSession {
    /// SHA-256 (hex) of the cookie token.
    pub id: String,
    pub client_id: ClientId,
    /// Random token every form and upload of this session must send back.
    pub csrf_token: String,
    pub created_at: NaiveDateTime,
    /// End of the session's lifetime.
    pub expires_at: NaiveDateTime,
    /// Time of the last request. The web layer writes it at most once a
    /// minute (`TOUCH_INTERVAL_SECS` in `web::portal::session`).
    pub last_seen_at: NaiveDateTime,
}

/// Leaves out the CSRF token.
impl std::fmt::Debug for ClientSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientSession")
            .field("client_id", &self.client_id)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("last_seen_at", &self.last_seen_at)
            .finish_non_exhaustive()
    }
}

#[derive(Insertable)]
#[diesel(table_name = client_sessions)]
pub struct NewClientSession<'a> {
    pub id: &'a str,
    pub client_id: ClientId,
    pub csrf_token: &'a str,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
}

impl ClientSession {
    pub fn insert(connection: &mut DbConnection, new: &NewClientSession<'_>) -> QueryResult<usize> {
        diesel::insert_into(client_sessions::table).values(new).execute(connection)
    }

    /// Finds a session whose lifetime has not ended at `now`, with its
    /// client.
    pub fn find_live(
        connection: &mut DbConnection,
        id: &str,
        now: NaiveDateTime,
    ) -> QueryResult<Option<(ClientSession, Client)>> {
        client_sessions::table
            .inner_join(clients::table)
            .filter(client_sessions::id.eq(id))
            .filter(client_sessions::expires_at.gt(now))
            .select((ClientSession::as_select(), Client::as_select()))
            .first(connection)
            .optional()
    }

    /// Records a request in the session.
    pub fn touch(connection: &mut DbConnection, id: &str, now: NaiveDateTime) -> QueryResult<usize> {
        diesel::update(client_sessions::table.find(id)).set(client_sessions::last_seen_at.eq(now)).execute(connection)
    }

    /// Ends one session. Returns how many rows were deleted (0 or 1).
    pub fn delete(connection: &mut DbConnection, id: &str) -> QueryResult<usize> {
        diesel::delete(client_sessions::table.find(id)).execute(connection)
    }

    /// Ends every session of a client.
    pub fn delete_all_of(connection: &mut DbConnection, client: ClientId) -> QueryResult<usize> {
        diesel::delete(client_sessions::table.filter(client_sessions::client_id.eq(client))).execute(connection)
    }

    /// Deletes every session whose lifetime ended at or before `now`.
    pub fn delete_expired(connection: &mut DbConnection, now: NaiveDateTime) -> QueryResult<usize> {
        diesel::delete(client_sessions::table.filter(client_sessions::expires_at.le(now))).execute(connection)
    }
}
