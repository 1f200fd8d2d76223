//! Queries and state changes of client requests that the dashboard and the
//! officer API share. They cover the staff list with its status filter and
//! the names a page shows next to a request. Accept, take next, release,
//! close and reassign each run in one write transaction.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sqlite::Sqlite;

use crate::db::client_requests::{status, AssignError, ClientRequest, Viewer};
use crate::db::ids::{ClientId, ClientRequestId, CorporationId};
use crate::db::schema::{client_requests, clients, corporations, staff_corporations, staff_users};
use crate::db::staff::{Role, Scope, StaffId, StaffUser};
use crate::db::{write_transaction, DbConnection, DbError, Unavailable};

/// The status filter of a request list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    Open,
    Assigned,
    Closed,
    All,
}

impl StatusFilter {
    /// Every filter with its stored name, in the order the tabs show them.
    pub const ALL: [StatusFilter; 4] =
        [StatusFilter::Open, StatusFilter::Assigned, StatusFilter::Closed, StatusFilter::All];

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "open" => Some(StatusFilter::Open),
            "assigned" => Some(StatusFilter::Assigned),
            "closed" => Some(StatusFilter::Closed),
            "all" => Some(StatusFilter::All),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            StatusFilter::Open => "open",
            StatusFilter::Assigned => "assigned",
            StatusFilter::Closed => "closed",
            StatusFilter::All => "all",
        }
    }

    fn status(self) -> Option<&'static str> {
        match self {
            StatusFilter::Open => Some(status::OPEN),
            StatusFilter::Assigned => Some(status::ASSIGNED),
            StatusFilter::Closed => Some(status::CLOSED),
            StatusFilter::All => None,
        }
    }
}

/// A request with the names that pages and the API show beside it.
#[derive(Debug, Clone)]
pub struct RequestRow {
    pub request: ClientRequest,
    pub corporation_name: String,
    pub corporation_area: String,
    /// The client's WhatsApp profile name.
    pub client_name: String,
    pub helper_name: Option<String>,
}

/// A page of requests and the number of rows on all pages.
#[derive(Debug, Clone)]
pub struct RequestPage {
    pub rows: Vec<RequestRow>,
    pub total: i64,
}

type BoxedRequests<'a> = client_requests::BoxedQuery<'a, Sqlite>;

/// Limits `query` to the rows `staff` may see, by the rule of
/// [`Viewer::can_see`]: an officer may see open requests of their
/// corporations and the requests assigned to them, and an admin every row.
fn visible_to<'a>(query: BoxedRequests<'a>, staff: StaffId, scope: &Scope) -> BoxedRequests<'a> {
    match scope {
        Scope::All => query,
        Scope::Corporations(corporations) => query.filter(client_requests::helper_id.eq(staff).or(
            client_requests::status.eq(status::OPEN).and(client_requests::corporation_id.eq_any(corporations.clone())),
        )),
    }
}

fn filtered<'a>(staff: StaffId, scope: &Scope, filter: StatusFilter) -> BoxedRequests<'a> {
    let mut query = visible_to(client_requests::table.into_boxed(), staff, scope);
    if let Some(wanted) = filter.status() {
        query = query.filter(client_requests::status.eq(wanted));
    }
    query
}

/// Lists the requests `staff` may see with the given status, oldest first.
pub fn list(
    connection: &mut DbConnection,
    staff: StaffId,
    scope: &Scope,
    filter: StatusFilter,
    limit: i64,
    offset: i64,
) -> QueryResult<RequestPage> {
    let total = filtered(staff, scope, filter).count().get_result(connection)?;
    let requests = filtered(staff, scope, filter)
        .order(client_requests::id.asc())
        .limit(limit)
        .offset(offset)
        .select(ClientRequest::as_select())
        .load(connection)?;
    Ok(RequestPage { rows: with_names(connection, requests)?, total })
}

/// Lists the requests assigned to `staff` and not closed, oldest first.
pub fn held_by(connection: &mut DbConnection, staff: StaffId) -> QueryResult<Vec<RequestRow>> {
    let requests = client_requests::table
        .filter(client_requests::helper_id.eq(staff))
        .filter(client_requests::status.eq(status::ASSIGNED))
        .order(client_requests::id.asc())
        .select(ClientRequest::as_select())
        .load(connection)?;
    with_names(connection, requests)
}

/// Counts the open requests `scope` covers, for the queue's heading.
pub fn count_open(connection: &mut DbConnection, scope: &Scope) -> QueryResult<i64> {
    let mut query = client_requests::table.filter(client_requests::status.eq(status::OPEN)).into_boxed();
    if let Scope::Corporations(corporations) = scope {
        query = query.filter(client_requests::corporation_id.eq_any(corporations.clone()));
    }
    query.count().get_result(connection)
}

/// Returns the request with its names if `viewer` may see it.
pub fn find_visible(
    connection: &mut DbConnection,
    viewer: &Viewer,
    id: ClientRequestId,
) -> QueryResult<Option<RequestRow>> {
    let Some(request) = ClientRequest::visible(connection, viewer, id)? else {
        return Ok(None);
    };
    Ok(with_names(connection, vec![request])?.pop())
}

/// Adds the corporation, client and helper names to `requests`, with one
/// query per table.
fn with_names(connection: &mut DbConnection, requests: Vec<ClientRequest>) -> QueryResult<Vec<RequestRow>> {
    if requests.is_empty() {
        return Ok(Vec::new());
    }
    let corporation_ids: Vec<CorporationId> = requests.iter().map(|request| request.corporation_id).collect();
    let client_ids: Vec<ClientId> = requests.iter().map(|request| request.client_id).collect();
    let helper_ids: Vec<StaffId> = requests.iter().filter_map(|request| request.helper_id).collect();

    let corporations: HashMap<CorporationId, (String, String)> = corporations::table
        .filter(corporations::id.eq_any(corporation_ids))
        .select((corporations::id, corporations::name, corporations::area))
        .load::<(CorporationId, String, String)>(connection)?
        .into_iter()
        .map(|(id, name, area)| (id, (name, area)))
        .collect();
    let clients: HashMap<ClientId, String> = clients::table
        .filter(clients::id.eq_any(client_ids))
        .select((clients::id, clients::display_name))
        .load::<(ClientId, String)>(connection)?
        .into_iter()
        .collect();
    let helpers: HashMap<StaffId, String> = staff_users::table
        .filter(staff_users::id.eq_any(helper_ids))
        .select((staff_users::id, staff_users::name))
        .load::<(StaffId, String)>(connection)?
        .into_iter()
        .collect();

    Ok(requests
        .into_iter()
        .map(|request| {
            let (corporation_name, corporation_area) =
                corporations.get(&request.corporation_id).cloned().unwrap_or_default();
            RequestRow {
                corporation_name,
                corporation_area,
                client_name: clients.get(&request.client_id).cloned().unwrap_or_default(),
                helper_name: request.helper_id.and_then(|id| helpers.get(&id).cloned()),
                request,
            }
        })
        .collect())
}

/// An officer a request can be reassigned to.
#[derive(Debug, Clone)]
pub struct Officer {
    pub id: StaffId,
    pub name: String,
    pub email: String,
}

/// Lists the active officers assigned to `corporation`, by name.
pub fn officers_of(connection: &mut DbConnection, corporation: CorporationId) -> QueryResult<Vec<Officer>> {
    let rows = staff_users::table
        .inner_join(staff_corporations::table)
        .filter(staff_corporations::corporation_id.eq(corporation))
        .filter(staff_users::active.eq(true))
        .filter(staff_users::role.eq(Role::Officer.as_str()))
        .order((staff_users::name.asc(), staff_users::id.asc()))
        .select((staff_users::id, staff_users::name, staff_users::email))
        .load::<(StaffId, String, String)>(connection)?;
    Ok(rows.into_iter().map(|(id, name, email)| Officer { id, name, email }).collect())
}

/// A change of a request's helper or status asked for by a staff user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Take this open request.
    Accept,
    /// Give an assigned request back to the open queue.
    Release,
    /// Close the request, which makes its chat read-only.
    Close,
    /// Give the request to this officer (admins only).
    Reassign(StaffId),
}

impl Action {
    /// Returns the verb that log lines use.
    pub fn verb(self) -> &'static str {
        match self {
            Action::Accept => "accepted",
            Action::Release => "released",
            Action::Close => "closed",
            Action::Reassign(_) => "reassigned",
        }
    }
}

/// The staff user asking for an action.
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: StaffId,
    pub scope: Scope,
}

impl Actor {
    pub fn viewer(&self) -> Viewer {
        Viewer::Staff { id: self.id, scope: self.scope.clone() }
    }

    fn is_admin(&self) -> bool {
        self.scope == Scope::All
    }
}

/// The reason an action on a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// Not found, not open, over the limit, an ineligible officer, or a
    /// failed query.
    #[error(transparent)]
    Assign(#[from] AssignError),
    /// The request's state does not allow the action. The message names
    /// the state and what to do.
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Unavailable(#[from] Unavailable),
}

impl From<diesel::result::Error> for ActionError {
    fn from(error: diesel::result::Error) -> Self {
        ActionError::Assign(AssignError::Database(error))
    }
}

impl ActionError {
    /// Splits off the failures of the database itself as [`DbError`], so
    /// that a locked database becomes a 503 and other query failures a 500.
    /// Every other variant comes back unchanged as `Err`.
    pub fn into_db_error(self) -> Result<DbError, Self> {
        match self {
            ActionError::Assign(AssignError::Database(error)) => Ok(DbError::from(error)),
            ActionError::Unavailable(unavailable) => Ok(DbError::Unavailable(unavailable)),
            other => Err(other),
        }
    }
}

/// Applies `action` to request `id` for `actor` in one write transaction
/// and returns the changed request.
///
/// - Accept: the request must be open and visible to the actor, and the
///   actor must have fewer than `limit` assigned requests.
/// - Release and close: the actor must be the request's helper or an
///   admin. Releasing needs an assigned request, and closing needs one
///   that is not closed yet.
/// - Reassign: admins only (others get not-found). The new helper must be
///   an active officer of the request's corporation under their own limit.
pub fn apply(
    connection: &mut DbConnection,
    actor: &Actor,
    id: ClientRequestId,
    action: Action,
    limit: u32,
    now: NaiveDateTime,
) -> Result<ClientRequest, ActionError> {
    write_transaction(connection, |connection| match action {
        Action::Accept => Ok(ClientRequest::accept(connection, id, actor.id, &actor.scope, limit, now)?),
        Action::Release => {
            let request = held_request(connection, actor, id, "release")?;
            if request.status != status::ASSIGNED {
                return Err(ActionError::Conflict(format!(
                    "request {id} is {}, not assigned: only an assigned request can be released",
                    request.status
                )));
            }
            ClientRequest::release(connection, id, now)?;
            reload(connection, id)
        }
        Action::Close => {
            let request = held_request(connection, actor, id, "close")?;
            if request.status == status::CLOSED {
                return Err(ActionError::Conflict(format!("request {id} is already closed, so nothing changed")));
            }
            ClientRequest::close(connection, id, now)?;
            reload(connection, id)
        }
        Action::Reassign(officer) => {
            if !actor.is_admin() {
                return Err(AssignError::NotFound(id).into());
            }
            let target = StaffUser::find(connection, officer)?
                .filter(|user| user.active && user.role() == Role::Officer)
                .ok_or(AssignError::NotEligible(officer))?;
            let target_scope = Scope::of(connection, &target)?;
            ClientRequest::reassign(connection, id, officer, &target_scope, limit, now).map_err(|error| match error {
                AssignError::HelperLimitReached { held, limit, .. } => ActionError::Conflict(format!(
                    "{} already holds {held} open requests, the limit is {limit}: choose another officer, or ask them to close or release one",
                    target.name
                )),
                other => other.into(),
            })
        }
    })
}

/// Takes the oldest open request in the actor's scope, in one write
/// transaction. Returns `None` when no request is waiting.
pub fn take_next(
    connection: &mut DbConnection,
    actor: &Actor,
    limit: u32,
    now: NaiveDateTime,
) -> Result<Option<ClientRequest>, ActionError> {
    write_transaction(connection, |connection| {
        Ok(ClientRequest::take_next(connection, actor.id, &actor.scope, limit, now)?)
    })
}

/// Returns a request the actor may release or close: visible to them, and
/// assigned to them unless they are an admin.
fn held_request(
    connection: &mut DbConnection,
    actor: &Actor,
    id: ClientRequestId,
    verb: &str,
) -> Result<ClientRequest, ActionError> {
    let request = ClientRequest::visible(connection, &actor.viewer(), id)?.ok_or(AssignError::NotFound(id))?;
    if !actor.is_admin() && request.helper_id != Some(actor.id) {
        return Err(ActionError::Conflict(format!(
            "request {id} is {} and not assigned to you: accept it before you {verb} it",
            request.status
        )));
    }
    Ok(request)
}

fn reload(connection: &mut DbConnection, id: ClientRequestId) -> Result<ClientRequest, ActionError> {
    Ok(ClientRequest::find(connection, id)?.ok_or(AssignError::NotFound(id))?)
}
