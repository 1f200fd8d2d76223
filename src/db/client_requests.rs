//! Client requests and who may see them.
//!
//! Every page, API call, WebSocket join and file download that touches a
//! request goes through [`ClientRequest::visible`], so the access rule lives
//! here once:
//!
//! - a client sees only their own requests;
//! - an admin sees every request;
//! - an officer (a helper) sees requests assigned to them, and open
//!   requests of the corporations assigned to them. When a request is
//!   assigned to someone else, the officer loses it.
//!
//! Only the client and the assigned helper may write in a request's chat.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::ids::{ClientId, ClientRequestId, CorporationId};
use super::schema::client_requests;
use super::staff::{Scope, StaffId};
use super::DbConnection;

/// Request statuses as stored.
pub mod status {
    /// Waiting for a helper.
    pub const OPEN: &str = "open";
    /// A helper has taken it.
    pub const ASSIGNED: &str = "assigned";
    /// Finished; the chat is kept for reading.
    pub const CLOSED: &str = "closed";
}

/// The portal choice a request was started from: the form or the chat.
pub mod origin {
    pub const FORM: &str = "form";
    pub const CHAT: &str = "chat";
}

/// The person looking at a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Viewer {
    Client(ClientId),
    Staff { id: StaffId, scope: Scope },
}

impl Viewer {
    /// Returns whether this viewer may see `request`.
    pub fn can_see(&self, request: &ClientRequest) -> bool {
        match self {
            Viewer::Client(client) => request.client_id == *client,
            Viewer::Staff { scope: Scope::All, .. } => true,
            Viewer::Staff { id, scope } => {
                request.helper_id == Some(*id)
                    || (request.status == status::OPEN && scope.allows(request.corporation_id))
            }
        }
    }

    /// Returns whether this viewer may post in the chat of `request`: the
    /// client who owns it, or the helper it is assigned to, while it is not
    /// closed.
    pub fn can_write(&self, request: &ClientRequest) -> bool {
        if request.status == status::CLOSED {
            return false;
        }
        match self {
            Viewer::Client(client) => request.client_id == *client,
            Viewer::Staff { id, .. } => request.status == status::ASSIGNED && request.helper_id == Some(*id),
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = client_requests)]
pub struct ClientRequest {
    pub id: ClientRequestId,
    pub client_id: ClientId,
    pub corporation_id: CorporationId,
    /// `form` or `chat`.
    pub origin: String,
    pub category: String,
    pub contact_name: String,
    pub contact_phone: String,
    pub description: String,
    /// `open`, `assigned` or `closed`.
    pub status: String,
    pub helper_id: Option<StaffId>,
    pub created_at: NaiveDateTime,
    pub assigned_at: Option<NaiveDateTime>,
    pub closed_at: Option<NaiveDateTime>,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = client_requests)]
pub struct NewClientRequest<'a> {
    pub client_id: ClientId,
    pub corporation_id: CorporationId,
    pub origin: &'a str,
    pub category: &'a str,
    pub contact_name: &'a str,
    pub contact_phone: &'a str,
    pub description: &'a str,
    pub status: &'a str,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// The reason a request could not be given to a helper.
#[derive(Debug, thiserror::Error)]
pub enum AssignError {
    #[error("request {0} does not exist or is not visible to you")]
    NotFound(ClientRequestId),
    #[error("request {id} is {status}, not open: only open requests can be taken")]
    NotOpen { id: ClientRequestId, status: String },
    #[error("you already hold {held} open requests, the limit is {limit}: close or release one before taking another")]
    LimitReached { held: i64, limit: u32 },
    /// Reassigning to an officer who is at the limit; the message is about
    /// that officer, not about the admin who reassigns.
    #[error(
        "staff user {staff} already holds {held} open requests, the limit is {limit}: choose another officer, or ask them to close or release one"
    )]
    HelperLimitReached { staff: StaffId, held: i64, limit: u32 },
    #[error("staff user {0} is not an active officer of the request's corporation")]
    NotEligible(StaffId),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

impl ClientRequest {
    pub fn insert(connection: &mut DbConnection, new: &NewClientRequest<'_>) -> QueryResult<ClientRequest> {
        diesel::insert_into(client_requests::table)
            .values(new)
            .returning(ClientRequest::as_returning())
            .get_result(connection)
    }

    pub fn find(connection: &mut DbConnection, id: ClientRequestId) -> QueryResult<Option<ClientRequest>> {
        client_requests::table.find(id).select(ClientRequest::as_select()).first(connection).optional()
    }

    /// Returns the request if `viewer` may see it. A request that exists but
    /// is not visible is reported exactly like one that does not exist.
    pub fn visible(
        connection: &mut DbConnection,
        viewer: &Viewer,
        id: ClientRequestId,
    ) -> QueryResult<Option<ClientRequest>> {
        Ok(Self::find(connection, id)?.filter(|request| viewer.can_see(request)))
    }

    /// Returns a client's requests, newest first.
    pub fn for_client(connection: &mut DbConnection, client: ClientId) -> QueryResult<Vec<ClientRequest>> {
        client_requests::table
            .filter(client_requests::client_id.eq(client))
            .order(client_requests::id.desc())
            .select(ClientRequest::as_select())
            .load(connection)
    }

    /// Returns the requests a staff user may read: open requests in their
    /// scope, oldest first, then requests assigned to them. An admin gets
    /// every request.
    pub fn for_staff(connection: &mut DbConnection, staff: StaffId, scope: &Scope) -> QueryResult<Vec<ClientRequest>> {
        let mut query = client_requests::table.select(ClientRequest::as_select()).into_boxed();
        match scope {
            Scope::All => {}
            Scope::Corporations(corporations) => {
                query = query.filter(
                    client_requests::helper_id.eq(staff).or(client_requests::status
                        .eq(status::OPEN)
                        .and(client_requests::corporation_id.eq_any(corporations.clone()))),
                );
            }
        }
        query.order((client_requests::status.desc(), client_requests::id.asc())).load(connection)
    }

    /// Counts the requests assigned to `staff` and not closed.
    pub fn held_by(connection: &mut DbConnection, staff: StaffId) -> QueryResult<i64> {
        client_requests::table
            .filter(client_requests::helper_id.eq(staff))
            .filter(client_requests::status.eq(status::ASSIGNED))
            .count()
            .get_result(connection)
    }

    /// Counts the requests of `client` that are not closed.
    pub fn unclosed_for_client(connection: &mut DbConnection, client: ClientId) -> QueryResult<i64> {
        client_requests::table
            .filter(client_requests::client_id.eq(client))
            .filter(client_requests::status.ne(status::CLOSED))
            .count()
            .get_result(connection)
    }

    /// Counts the open requests in `scope`, which wait for a helper.
    pub fn waiting_in(connection: &mut DbConnection, scope: &Scope) -> QueryResult<i64> {
        let mut query = client_requests::table.filter(client_requests::status.eq(status::OPEN)).into_boxed();
        if let Scope::Corporations(corporations) = scope {
            query = query.filter(client_requests::corporation_id.eq_any(corporations.clone()));
        }
        query.count().get_result(connection)
    }

    /// Returns the ids of the requests assigned to `staff`, oldest first.
    pub fn assigned_to(connection: &mut DbConnection, staff: StaffId) -> QueryResult<Vec<ClientRequestId>> {
        client_requests::table
            .filter(client_requests::helper_id.eq(staff))
            .filter(client_requests::status.eq(status::ASSIGNED))
            .order(client_requests::id.asc())
            .select(client_requests::id)
            .load(connection)
    }

    /// Gives open request `id` to `staff`, who must see it and hold fewer
    /// than `limit` open requests. A request already assigned to `staff` is
    /// returned unchanged, so a second click does not fail. Run it inside a
    /// write transaction.
    pub fn accept(
        connection: &mut DbConnection,
        id: ClientRequestId,
        staff: StaffId,
        scope: &Scope,
        limit: u32,
        now: NaiveDateTime,
    ) -> Result<ClientRequest, AssignError> {
        let viewer = Viewer::Staff { id: staff, scope: scope.clone() };
        let request = Self::visible(connection, &viewer, id)?.ok_or(AssignError::NotFound(id))?;
        if request.status == status::ASSIGNED && request.helper_id == Some(staff) {
            return Ok(request);
        }
        if request.status != status::OPEN {
            return Err(AssignError::NotOpen { id, status: request.status });
        }
        Self::assign(connection, &request, staff, limit, now)
    }

    /// Gives the oldest open request in `scope` to `staff`; `None` when no
    /// request is waiting. Run it inside a write transaction.
    pub fn take_next(
        connection: &mut DbConnection,
        staff: StaffId,
        scope: &Scope,
        limit: u32,
        now: NaiveDateTime,
    ) -> Result<Option<ClientRequest>, AssignError> {
        let mut query = client_requests::table
            .filter(client_requests::status.eq(status::OPEN))
            .select(ClientRequest::as_select())
            .into_boxed();
        if let Scope::Corporations(corporations) = scope {
            query = query.filter(client_requests::corporation_id.eq_any(corporations.clone()));
        }
        let Some(request) = query.order(client_requests::id.asc()).first(connection).optional()? else {
            return Ok(None);
        };
        Self::assign(connection, &request, staff, limit, now).map(Some)
    }

    /// Moves a request that is open or assigned to `staff`, an officer whose
    /// scope covers the request's corporation. The previous helper loses
    /// access at once. Run it inside a write transaction.
    pub fn reassign(
        connection: &mut DbConnection,
        id: ClientRequestId,
        staff: StaffId,
        staff_scope: &Scope,
        limit: u32,
        now: NaiveDateTime,
    ) -> Result<ClientRequest, AssignError> {
        let request = Self::find(connection, id)?.ok_or(AssignError::NotFound(id))?;
        if request.status == status::CLOSED {
            return Err(AssignError::NotOpen { id, status: request.status });
        }
        if !staff_scope.allows(request.corporation_id) {
            return Err(AssignError::NotEligible(staff));
        }
        Self::assign(connection, &request, staff, limit, now).map_err(|error| match error {
            AssignError::LimitReached { held, limit } => AssignError::HelperLimitReached { staff, held, limit },
            other => other,
        })
    }

    fn assign(
        connection: &mut DbConnection,
        request: &ClientRequest,
        staff: StaffId,
        limit: u32,
        now: NaiveDateTime,
    ) -> Result<ClientRequest, AssignError> {
        if request.helper_id == Some(staff) && request.status == status::ASSIGNED {
            return Ok(request.clone());
        }
        let held = Self::held_by(connection, staff)?;
        if held >= i64::from(limit) {
            return Err(AssignError::LimitReached { held, limit });
        }
        let updated = diesel::update(client_requests::table.find(request.id))
            .filter(client_requests::status.eq(&request.status))
            .filter(client_requests::updated_at.eq(request.updated_at))
            .set((
                client_requests::status.eq(status::ASSIGNED),
                client_requests::helper_id.eq(Some(staff)),
                client_requests::assigned_at.eq(Some(now)),
                client_requests::updated_at.eq(now),
            ))
            .returning(ClientRequest::as_returning())
            .get_result(connection)
            .optional()?;
        updated.ok_or_else(|| AssignError::NotOpen { id: request.id, status: "changed by someone else".into() })
    }

    /// Gives a request back to the open queue of its corporation.
    pub fn release(connection: &mut DbConnection, id: ClientRequestId, now: NaiveDateTime) -> QueryResult<usize> {
        diesel::update(client_requests::table.find(id).filter(client_requests::status.eq(status::ASSIGNED)))
            .set((
                client_requests::status.eq(status::OPEN),
                client_requests::helper_id.eq(None::<StaffId>),
                client_requests::assigned_at.eq(None::<NaiveDateTime>),
                client_requests::updated_at.eq(now),
            ))
            .execute(connection)
    }

    /// Closes a request; its chat stays readable but takes no new messages.
    pub fn close(connection: &mut DbConnection, id: ClientRequestId, now: NaiveDateTime) -> QueryResult<usize> {
        diesel::update(client_requests::table.find(id).filter(client_requests::status.ne(status::CLOSED)))
            .set((
                client_requests::status.eq(status::CLOSED),
                client_requests::closed_at.eq(Some(now)),
                client_requests::updated_at.eq(now),
            ))
            .execute(connection)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(status: &str, helper: Option<i32>, corporation: i32) -> ClientRequest {
        let at = NaiveDateTime::default();
        ClientRequest {
            id: ClientRequestId(1),
            client_id: ClientId(7),
            corporation_id: CorporationId(corporation),
            origin: origin::CHAT.into(),
            category: "health".into(),
            contact_name: "Seema".into(),
            contact_phone: "+919876543210".into(),
            description: String::new(),
            status: status.into(),
            helper_id: helper.map(StaffId),
            created_at: at,
            assigned_at: None,
            closed_at: None,
            updated_at: at,
        }
    }

    fn officer(id: i32, corporations: &[i32]) -> Viewer {
        Viewer::Staff {
            id: StaffId(id),
            scope: Scope::Corporations(corporations.iter().copied().map(CorporationId).collect()),
        }
    }

    #[test]
    fn clients_see_only_their_own_requests() {
        let open = request(status::OPEN, None, 1);
        assert!(Viewer::Client(ClientId(7)).can_see(&open));
        assert!(!Viewer::Client(ClientId(8)).can_see(&open));
        assert!(Viewer::Client(ClientId(7)).can_write(&open));
        assert!(!Viewer::Client(ClientId(8)).can_write(&open));
    }

    #[test]
    fn officers_see_open_requests_of_their_corporations_and_their_own() {
        let open = request(status::OPEN, None, 1);
        assert!(officer(3, &[1]).can_see(&open));
        assert!(!officer(3, &[2]).can_see(&open));
        assert!(!officer(3, &[1]).can_write(&open), "reading an open request is not taking it");

        let taken = request(status::ASSIGNED, Some(3), 1);
        assert!(officer(3, &[]).can_see(&taken));
        assert!(officer(3, &[]).can_write(&taken));
        assert!(!officer(4, &[1]).can_see(&taken), "another officer of the corporation loses it once taken");
    }

    #[test]
    fn closed_requests_take_no_messages() {
        let closed = request(status::CLOSED, Some(3), 1);
        assert!(officer(3, &[1]).can_see(&closed));
        assert!(!officer(3, &[1]).can_write(&closed));
        assert!(!Viewer::Client(ClientId(7)).can_write(&closed));
    }
}
