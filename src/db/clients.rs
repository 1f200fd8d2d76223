//! WhatsApp clients: who wrote to the NGO, in which language they read, and
//! the login and one-time password that open the client portal.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::ids::ClientId;
use super::schema::clients;
use super::DbConnection;
use crate::sms::Language;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = clients)]
pub struct Client {
    pub id: ClientId,
    /// The Cloud API's wa_id, or the business-scoped user id.
    pub whatsapp_id: String,
    /// E.164 phone number, when the WhatsApp id is one.
    pub phone: Option<String>,
    /// The WhatsApp profile name.
    pub display_name: String,
    /// `en`, `hi` or `mr`.
    pub language: String,
    pub login: String,
    /// Argon2id PHC string of the current one-time password.
    pub password_hash: String,
    pub password_expires_at: NaiveDateTime,
    /// When the current one-time password was used to sign in.
    pub password_used_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub last_message_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = clients)]
pub struct NewClient<'a> {
    pub whatsapp_id: &'a str,
    pub phone: Option<&'a str>,
    pub display_name: &'a str,
    pub language: &'a str,
    pub login: &'a str,
    pub password_hash: &'a str,
    pub password_expires_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub last_message_at: NaiveDateTime,
}

impl Client {
    /// Returns the language the client reads, or English if the stored code is unknown.
    pub fn language(&self) -> Language {
        self.language.parse().unwrap_or(Language::En)
    }

    /// Returns whether the one-time password may still be used at `now`.
    pub fn password_usable(&self, now: NaiveDateTime) -> bool {
        self.password_used_at.is_none() && now < self.password_expires_at
    }

    pub fn insert(connection: &mut DbConnection, new: &NewClient<'_>) -> QueryResult<Client> {
        diesel::insert_into(clients::table).values(new).returning(Client::as_returning()).get_result(connection)
    }

    pub fn find(connection: &mut DbConnection, id: ClientId) -> QueryResult<Option<Client>> {
        clients::table.find(id).select(Client::as_select()).first(connection).optional()
    }

    pub fn find_by_whatsapp_id(connection: &mut DbConnection, whatsapp_id: &str) -> QueryResult<Option<Client>> {
        clients::table
            .filter(clients::whatsapp_id.eq(whatsapp_id))
            .select(Client::as_select())
            .first(connection)
            .optional()
    }

    /// Finds a client by login; logins are stored lower-case.
    pub fn find_by_login(connection: &mut DbConnection, login: &str) -> QueryResult<Option<Client>> {
        clients::table
            .filter(clients::login.eq(login.trim().to_lowercase()))
            .select(Client::as_select())
            .first(connection)
            .optional()
    }

    /// Replaces the one-time password; the previous one stops working.
    pub fn set_password(
        connection: &mut DbConnection,
        id: ClientId,
        password_hash: &str,
        expires_at: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(clients::table.find(id))
            .set((
                clients::password_hash.eq(password_hash),
                clients::password_expires_at.eq(expires_at),
                clients::password_used_at.eq(None::<NaiveDateTime>),
            ))
            .execute(connection)
    }

    /// Marks the one-time password used, if it was not used before. Returns
    /// whether this call was the one that used it, so two sign-ins racing
    /// with the same password cannot both succeed.
    pub fn use_password(connection: &mut DbConnection, id: ClientId, now: NaiveDateTime) -> QueryResult<bool> {
        let updated = diesel::update(
            clients::table
                .find(id)
                .filter(clients::password_used_at.is_null())
                .filter(clients::password_expires_at.gt(now)),
        )
        .set(clients::password_used_at.eq(Some(now)))
        .execute(connection)?;
        Ok(updated == 1)
    }

    pub fn set_language(connection: &mut DbConnection, id: ClientId, language: Language) -> QueryResult<usize> {
        diesel::update(clients::table.find(id)).set(clients::language.eq(language.code())).execute(connection)
    }

    /// Records that the client wrote at `now`, with the latest profile name.
    pub fn touch(
        connection: &mut DbConnection,
        id: ClientId,
        display_name: &str,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(clients::table.find(id))
            .set((clients::last_message_at.eq(now), clients::display_name.eq(display_name)))
            .execute(connection)
    }
}
