//! `/dashboard/admin/staff`: dashboard accounts. Admins add officers and
//! admins with an initial password, assign officers their corporations,
//! set a new password for someone locked out, and deactivate accounts.
//! Deactivating an account or setting its password ends its sessions, and
//! deactivating gives its assigned client requests back to the open queue.

use actix_web::{web, HttpRequest, HttpResponse};

use super::corporations::MAX_NAME_LENGTH;
use super::{is_unique_violation, Cell, Link, ListPage, NoticeQuery};
use crate::chat::http as chat_http;
use crate::db::client_requests::ClientRequest;
use crate::db::ids::{ClientRequestId, CorporationId};
use crate::db::organisation::Corporation;
use crate::db::staff::{parse_email, NewStaffUser, Role, StaffChanges, StaffId, StaffSession, StaffUser};
use crate::db::{write_transaction, DbConnection, DbError};
use crate::web::dashboard::form::{check_length, parse_id, Choice, Errors, FormData, FormPage, Widget};
use crate::web::dashboard::session::SignedIn;
use crate::web::dashboard::view::Layout;
use crate::web::dashboard::{password, render, see_other, DashboardError};
use crate::web::AppState;

const LIST_PATH: &str = "/dashboard/admin/staff";

#[derive(Debug, Clone, Default)]
struct Values {
    name: String,
    /// Shown and checked only when adding a user; the sign-in name does
    /// not change.
    email: String,
    designation: String,
    role: String,
    active: bool,
    corporations: Vec<String>,
}

/// Values that passed the checks that need no database.
#[derive(Debug, Clone)]
struct Checked {
    name: String,
    email: String,
    designation: String,
    role: Role,
    active: bool,
    corporations: Vec<CorporationId>,
}

impl Values {
    fn of(user: &StaffUser, corporations: &[CorporationId]) -> Self {
        Self {
            name: user.name.clone(),
            email: user.email.clone(),
            designation: user.designation.clone(),
            role: user.role().as_str().to_owned(),
            active: user.active,
            corporations: corporations.iter().map(ToString::to_string).collect(),
        }
    }

    fn read(form: &FormData, adding: bool) -> Self {
        Self {
            name: form.get("name"),
            email: form.get("email"),
            designation: form.get("designation"),
            role: form.get("role"),
            // A new account starts active; the box is on the change form only.
            active: adding || form.checked("active"),
            corporations: form.all("corporations"),
        }
    }

    fn check(&self, errors: &mut Errors, adding: bool) -> Option<Checked> {
        if let Some(problem) = check_length(&self.name, "name", MAX_NAME_LENGTH) {
            errors.add("name", problem);
        }
        let email = if adding {
            parse_email(&self.email).map_err(|problem| errors.add("email", format!("{}.", capitalise(&problem)))).ok()
        } else {
            Some(self.email.clone())
        };
        if !self.designation.is_empty() {
            if let Some(problem) = check_length(&self.designation, "designation", MAX_NAME_LENGTH) {
                errors.add("designation", problem);
            }
        }
        let role = Role::parse(&self.role);
        if role.is_none() {
            errors.add("role", "Choose admin or officer.");
        }
        let mut corporations = Vec::new();
        for value in &self.corporations {
            match parse_id(value) {
                Some(id) => corporations.push(CorporationId(id)),
                None => errors.add("corporations", format!("'{value}' is not a corporation; tick the boxes only.")),
            }
        }
        match (email, role, errors.is_empty()) {
            (Some(email), Some(role), true) => Some(Checked {
                name: self.name.clone(),
                email,
                designation: self.designation.clone(),
                role,
                active: self.active,
                corporations,
            }),
            _ => None,
        }
    }
}

fn capitalise(text: &str) -> String {
    let mut characters = text.chars();
    match characters.next() {
        Some(first) => first.to_uppercase().chain(characters).collect(),
        None => String::new(),
    }
}

async fn form_page(
    state: &AppState,
    signed_in: &SignedIn,
    id: Option<StaffId>,
    values: &Values,
    errors: &Errors,
) -> Result<HttpResponse, DashboardError> {
    let corporations =
        state.engine.database.run(|connection| Corporation::all(connection).map_err(DbError::from)).await?;
    let min_length = state.engine.settings.dashboard.min_password_length;
    let (heading, action) = match id {
        Some(id) => (format!("Change staff user {}", values.name), format!("{LIST_PATH}/{id}")),
        None => ("Add a staff user".to_owned(), LIST_PATH.to_owned()),
    };
    let roles =
        [("officer", "Officer: sees the corporations ticked below"), ("admin", "Admin: sees and manages everything")]
            .into_iter()
            .map(|(value, label)| Choice::new(value, label, values.role == value))
            .collect();
    let corporation_choices = corporations
        .into_iter()
        .map(|corporation| {
            let selected = values.corporations.contains(&corporation.id.to_string());
            Choice::new(corporation.id, corporation.name, selected)
        })
        .collect();

    let mut page = FormPage::new(signed_in, "admin", heading, action);
    page.back = (LIST_PATH.to_owned(), "All staff users".to_owned());
    page.widgets.push(Widget::input("name", "Name", &values.name, errors).required().autocomplete("off").into());
    match id {
        None => page.widgets.push(
            Widget::input("email", "Email", &values.email, errors)
                .kind("email")
                .required()
                .autocomplete("off")
                .hint("The sign-in name. It cannot be changed later.")
                .into(),
        ),
        Some(_) => page
            .facts
            .push(crate::web::dashboard::form::Fact { term: "Email".to_owned(), detail: values.email.clone() }),
    }
    page.widgets.push(
        Widget::input("designation", "Designation", &values.designation, errors)
            .hint("For example Programme officer.")
            .into(),
    );
    page.widgets.push(Widget::select("role", "Role", roles, errors).placeholder("Choose…").required().into());
    page.widgets.push(
        Widget::checks("corporations", "Corporations", corporation_choices, errors)
            .hint("An officer sees only these corporations. Admins see all of them.")
            .into(),
    );
    let password_hint =
        format!("At least {min_length} characters. Tell it to the person, who should change it after signing in.");
    match id {
        None => page.widgets.push(
            Widget::input("password", "Initial password", "", errors)
                .kind("password")
                .required()
                .autocomplete("new-password")
                .hint(password_hint)
                .into(),
        ),
        Some(_) => {
            page.widgets.push(
                Widget::checkbox("active", "Active", values.active)
                    .hint("Untick to deactivate the account: it cannot sign in and its sessions end.")
                    .into(),
            );
            page.widgets.push(
                Widget::input("password", "New password", "", errors)
                    .kind("password")
                    .autocomplete("new-password")
                    .hint(format!(
                        "Leave empty to keep the password. {password_hint} Setting it ends the user's sessions."
                    ))
                    .into(),
            );
        }
    }
    page.respond(errors)
}

/// `GET /dashboard/admin/staff`
pub async fn list(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    query: web::Query<NoticeQuery>,
) -> Result<HttpResponse, DashboardError> {
    signed_in.require_admin()?;
    let (users, assignments, corporations) = state
        .engine
        .database
        .run(|connection| {
            Ok::<_, DbError>((
                StaffUser::all(connection)?,
                StaffUser::all_assignments(connection)?,
                Corporation::all(connection)?,
            ))
        })
        .await?;

    let rows = users
        .into_iter()
        .map(|user| {
            let names: Vec<&str> = assignments
                .iter()
                .filter(|(staff, _)| *staff == user.id)
                .filter_map(|(_, corporation)| corporations.iter().find(|known| known.id == *corporation))
                .map(|corporation| corporation.name.as_str())
                .collect();
            let coverage = match user.role() {
                Role::Admin => "All".to_owned(),
                Role::Officer if names.is_empty() => "None yet".to_owned(),
                Role::Officer => names.join(", "),
            };
            vec![
                Cell::link("Name", user.name.clone(), format!("{LIST_PATH}/{}", user.id)),
                Cell::text("Email", user.email.clone()),
                Cell::text("Role", capitalise(user.role().as_str())),
                Cell::text("Designation", user.designation.clone()),
                Cell::text("Corporations", coverage),
                Cell::text("Status", if user.active { "Active" } else { "Deactivated" }),
            ]
        })
        .collect();
    render(&ListPage {
        layout: Layout::signed_in("Staff users", "admin", &signed_in),
        heading: "Staff users".to_owned(),
        intro: String::new(),
        notice: query.message(),
        actions: vec![Link { href: format!("{LIST_PATH}/new"), text: "Add a staff user".to_owned() }],
        noun: ("staff user", "staff users"),
        columns: vec!["Name", "Email", "Role", "Designation", "Corporations", "Status"],
        rows,
    })
}

/// `GET /dashboard/admin/staff/new`
pub async fn new_form(state: web::Data<AppState>, signed_in: SignedIn) -> Result<HttpResponse, DashboardError> {
    signed_in.require_admin()?;
    let values = Values { role: "officer".to_owned(), active: true, ..Values::default() };
    form_page(&state, &signed_in, None, &values, &Errors::default()).await
}

fn parse_path(path: web::Path<String>) -> Result<StaffId, DashboardError> {
    path.into_inner().parse::<i32>().map(StaffId).map_err(|_| DashboardError::NotFound)
}

/// `GET /dashboard/admin/staff/{id}`
pub async fn edit_form(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    path: web::Path<String>,
) -> Result<HttpResponse, DashboardError> {
    signed_in.require_admin()?;
    let id = parse_path(path)?;
    let found = state
        .engine
        .database
        .run(move |connection| {
            let Some(user) = StaffUser::find(connection, id)? else {
                return Ok::<_, DbError>(None);
            };
            let corporations = StaffUser::corporations(connection, id)?;
            Ok(Some((user, corporations)))
        })
        .await?;
    let Some((user, corporations)) = found else {
        return Err(DashboardError::NotFound);
    };
    form_page(&state, &signed_in, Some(id), &Values::of(&user, &corporations), &Errors::default()).await
}

/// Hashes a new password on the blocking pool, or records why it is
/// rejected. An empty password is `Ok(None)`.
async fn hash_new_password(
    typed: String,
    min_length: usize,
    errors: &mut Errors,
) -> Result<Option<String>, DashboardError> {
    if typed.is_empty() {
        return Ok(None);
    }
    if let Err(problem) = password::check_new(&typed, min_length) {
        errors.add("password", format!("{}.", capitalise(&problem.to_string())));
        return Ok(None);
    }
    let hash = web::block(move || password::hash(&typed))
        .await
        .map_err(|error| DashboardError::Internal(anyhow::anyhow!("password hashing did not finish: {error}")))?
        .map_err(DashboardError::Internal)?;
    Ok(Some(hash))
}

/// Returns the problems with the corporations that do not exist.
fn check_corporations(connection: &mut DbConnection, ids: &[CorporationId]) -> diesel::QueryResult<Errors> {
    let mut errors = Errors::default();
    for id in ids {
        if Corporation::find(connection, *id)?.is_none() {
            errors.add("corporations", format!("Corporation {id} does not exist any more; reload the form."));
        }
    }
    Ok(errors)
}

/// `POST /dashboard/admin/staff`
pub async fn create(
    request: HttpRequest,
    state: web::Data<AppState>,
    signed_in: SignedIn,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, DashboardError> {
    signed_in.require_admin()?;
    let form = FormData::from(form.into_inner());
    form.check_csrf(&signed_in, &request)?;
    let values = Values::read(&form, true);
    let mut errors = Errors::default();
    let checked = values.check(&mut errors, true);
    let min_length = state.engine.settings.dashboard.min_password_length;
    let typed = form.raw("password").to_owned();
    if typed.is_empty() {
        errors.add("password", "Enter an initial password.");
    }
    let hash = hash_new_password(typed, min_length, &mut errors).await?;
    let (Some(checked), Some(hash)) = (checked, hash) else {
        return form_page(&state, &signed_in, None, &values, &errors).await;
    };

    let now = state.engine.clock.now_naive();
    let outcome = state
        .engine
        .database
        .run(move |connection| {
            write_transaction(connection, |connection| {
                let mut errors = check_corporations(connection, &checked.corporations)?;
                if StaffUser::find_by_email(connection, &checked.email)?.is_some() {
                    errors.add("email", format!("A staff user with email {} exists already.", checked.email));
                }
                if !errors.is_empty() {
                    return Ok(Err(errors));
                }
                let inserted = StaffUser::insert(
                    connection,
                    &NewStaffUser {
                        name: &checked.name,
                        email: &checked.email,
                        designation: &checked.designation,
                        role: checked.role.as_str(),
                        password_hash: &hash,
                        active: true,
                        created_at: now,
                        password_changed_at: now,
                    },
                );
                let user = match inserted {
                    Ok(user) => user,
                    Err(error) if is_unique_violation(&error) => {
                        let mut errors = Errors::default();
                        errors.add("email", format!("A staff user with email {} exists already.", checked.email));
                        return Ok(Err(errors));
                    }
                    Err(error) => return Err(error),
                };
                StaffUser::set_corporations(connection, user.id, &checked.corporations)?;
                Ok(Ok(user.id))
            })
            .map_err(DbError::from)
        })
        .await?;

    match outcome {
        Ok(created) => {
            let staff = signed_in.user.id;
            tracing::info!(staff_id = %staff, new_staff_id = %created, "staff user {staff} added staff user {created}");
            Ok(see_other(&format!("{LIST_PATH}?notice=created")))
        }
        Err(errors) => form_page(&state, &signed_in, None, &values, &errors).await,
    }
}

/// The effects of saving a staff user: the number of ended sessions, and
/// the assigned requests that went back to the open queue.
struct SavedChanges {
    ended_sessions: usize,
    released: Vec<ClientRequestId>,
}

/// `POST /dashboard/admin/staff/{id}`
pub async fn update(
    request: HttpRequest,
    state: web::Data<AppState>,
    signed_in: SignedIn,
    path: web::Path<String>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, DashboardError> {
    signed_in.require_admin()?;
    let form = FormData::from(form.into_inner());
    form.check_csrf(&signed_in, &request)?;
    let id = parse_path(path)?;
    let existing = state
        .engine
        .database
        .run(move |connection| StaffUser::find(connection, id).map_err(DbError::from))
        .await?
        .ok_or(DashboardError::NotFound)?;

    let mut values = Values::read(&form, false);
    values.email = existing.email.clone();
    let mut errors = Errors::default();
    let checked = values.check(&mut errors, false);
    // An admin who locks themselves out may leave no admin to undo it.
    if id == signed_in.user.id {
        if !values.active {
            errors.add("active", "You cannot deactivate your own account; ask another admin.");
        }
        if checked.as_ref().is_some_and(|checked| checked.role != Role::Admin) {
            errors.add("role", "You cannot remove your own admin role; ask another admin.");
        }
    }
    let min_length = state.engine.settings.dashboard.min_password_length;
    let hash = hash_new_password(form.raw("password").to_owned(), min_length, &mut errors).await?;
    let Some(checked) = checked.filter(|_| errors.is_empty()) else {
        return form_page(&state, &signed_in, Some(id), &values, &errors).await;
    };

    let now = state.engine.clock.now_naive();
    // An admin who sets their own password stays signed in here.
    let keep = (id == signed_in.user.id).then(|| signed_in.session_id().to_owned());
    let outcome = state
        .engine
        .database
        .run(move |connection| {
            write_transaction(connection, |connection| -> diesel::QueryResult<Result<SavedChanges, Errors>> {
                let errors = check_corporations(connection, &checked.corporations)?;
                if !errors.is_empty() {
                    return Ok(Err(errors));
                }
                let changes = StaffChanges {
                    name: &checked.name,
                    designation: &checked.designation,
                    role: checked.role.as_str(),
                    active: checked.active,
                };
                StaffUser::update(connection, id, &changes)?;
                StaffUser::set_corporations(connection, id, &checked.corporations)?;
                let mut ended = 0;
                let mut released = Vec::new();
                if let Some(hash) = &hash {
                    StaffUser::set_password(connection, id, hash, now)?;
                    ended += match &keep {
                        Some(current) => StaffSession::delete_others_of(connection, id, current)?,
                        None => StaffSession::delete_all_of(connection, id)?,
                    };
                }
                if !checked.active {
                    ended += StaffSession::delete_all_of(connection, id)?;
                    // An inactive helper cannot reply, so their clients go
                    // back to the queue for another officer.
                    for request_id in ClientRequest::assigned_to(connection, id)? {
                        ClientRequest::release(connection, request_id, now)?;
                        released.push(request_id);
                    }
                }
                Ok(Ok(SavedChanges { ended_sessions: ended, released }))
            })
            .map_err(DbError::from)
        })
        .await?;

    match outcome {
        Ok(SavedChanges { ended_sessions, released }) => {
            let staff = signed_in.user.id;
            tracing::info!(staff_id = %staff, changed_staff_id = %id, ended_sessions, released_requests = released.len(), active = values.active, "staff user {staff} changed staff user {id}");
            // The rooms close the chat sockets of the ended sessions and
            // tell the clients that their requests are open again.
            for request_id in released {
                chat_http::access_changed(&state, request_id).await;
            }
            // Open chats of requests in corporations the user lost close.
            chat_http::staff_changed(&state).await;
            Ok(see_other(&format!("{LIST_PATH}?notice=saved")))
        }
        Err(errors) => form_page(&state, &signed_in, Some(id), &values, &errors).await,
    }
}
