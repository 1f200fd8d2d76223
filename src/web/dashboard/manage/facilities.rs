//! `/dashboard/facilities` (the facility list, read-only for officers and
//! limited to their corporations) and `/dashboard/admin/facilities/...`
//! (admins add and change facilities).

use actix_web::{web, HttpRequest, HttpResponse};

use super::corporations::{MAX_ADDRESS_LENGTH, MAX_NAME_LENGTH};
use super::{is_unique_violation, Cell, Link, ListPage, NoticeQuery};
use crate::db::ids::{CorporationId, FacilityId};
use crate::db::organisation::{Corporation, Facility, FacilityChanges, NewFacility};
use crate::db::scoped;
use crate::db::{write_transaction, DbError};
use crate::web::dashboard::form::{check_length, parse_code, parse_id, Choice, Errors, FormData, FormPage, Widget};
use crate::web::dashboard::session::SignedIn;
use crate::web::dashboard::view::Layout;
use crate::web::dashboard::{render, see_other, DashboardError};
use crate::web::AppState;

const LIST_PATH: &str = "/dashboard/facilities";
const ADMIN_PATH: &str = "/dashboard/admin/facilities";

/// Maximum length of a facility code, in characters. Agents type it on a
/// keypad at the end of a booking SMS.
pub const MAX_CODE_LENGTH: usize = 10;

/// The form's values as typed.
#[derive(Debug, Clone, Default)]
pub struct Values {
    pub corporation: String,
    pub name: String,
    pub code: String,
    pub address: String,
}

/// Values that passed the checks.
#[derive(Debug, Clone)]
pub struct Checked {
    pub corporation: CorporationId,
    pub name: String,
    /// Upper-case.
    pub code: String,
    pub address: String,
}

impl Values {
    fn of(facility: &Facility) -> Self {
        Self {
            corporation: facility.corporation_id.to_string(),
            name: facility.name.clone(),
            code: facility.code.clone(),
            address: facility.address.clone(),
        }
    }

    fn read(form: &FormData) -> Self {
        Self {
            corporation: form.get("corporation"),
            name: form.get("name"),
            code: form.get("code"),
            address: form.get("address"),
        }
    }

    /// Checks the values that need no database: lengths and the code's
    /// shape. The corporation is looked up by the caller.
    pub fn check(&self) -> (Errors, Option<Checked>) {
        let mut errors = Errors::default();
        let corporation = parse_id(&self.corporation);
        if corporation.is_none() {
            errors.add("corporation", "Choose the corporation the facility belongs to.");
        }
        if let Some(problem) = check_length(&self.name, "name", MAX_NAME_LENGTH) {
            errors.add("name", problem);
        }
        let code = match parse_code(&self.code, MAX_CODE_LENGTH) {
            Ok(code) => Some(code),
            Err(problem) => {
                errors.add("code", problem);
                None
            }
        };
        if let Some(problem) = check_length(&self.address, "address", MAX_ADDRESS_LENGTH) {
            errors.add("address", problem);
        }
        let checked = match (corporation, code, errors.is_empty()) {
            (Some(corporation), Some(code), true) => Some(Checked {
                corporation: CorporationId(corporation),
                name: self.name.clone(),
                code,
                address: self.address.clone(),
            }),
            _ => None,
        };
        (errors, checked)
    }
}

/// Returns the message for a facility code that another facility has.
pub fn code_taken_message(code: &str) -> String {
    format!("Facility code {code} is taken by another facility; choose another code.")
}

/// Checks the values against the database and stores them: a new
/// facility when `id` is `None`, else changes to facility `id`. Returns
/// `Ok(None)` when facility `id` does not exist. Runs in the caller's
/// transaction.
pub fn save(
    connection: &mut crate::db::DbConnection,
    id: Option<FacilityId>,
    checked: &Checked,
    now: chrono::NaiveDateTime,
) -> diesel::QueryResult<Option<Result<FacilityId, Errors>>> {
    let mut errors = Errors::default();
    if Corporation::find(connection, checked.corporation)?.is_none() {
        errors.add("corporation", "That corporation does not exist any more; choose another.");
    }
    if Facility::find_by_code(connection, &checked.code)?.is_some_and(|other| Some(other.id) != id) {
        errors.add("code", code_taken_message(&checked.code));
    }
    if !errors.is_empty() {
        return Ok(Some(Err(errors)));
    }
    let written = match id {
        None => Facility::insert(
            connection,
            &NewFacility {
                corporation_id: checked.corporation,
                name: &checked.name,
                code: &checked.code,
                address: &checked.address,
                created_at: now,
            },
        )
        .map(|facility| Some(facility.id)),
        Some(id) => {
            let changes = FacilityChanges {
                corporation_id: checked.corporation,
                name: &checked.name,
                code: &checked.code,
                address: &checked.address,
            };
            Facility::update(connection, id, &changes).map(|changed| (changed > 0).then_some(id))
        }
    };
    match written {
        Ok(Some(id)) => Ok(Some(Ok(id))),
        Ok(None) => Ok(None),
        Err(error) if is_unique_violation(&error) => {
            let mut errors = Errors::default();
            errors.add("code", code_taken_message(&checked.code));
            Ok(Some(Err(errors)))
        }
        Err(error) => Err(error),
    }
}

async fn corporation_choices(state: &AppState, selected: &str) -> Result<Vec<Choice>, DashboardError> {
    let corporations =
        state.engine.database.run(|connection| Corporation::all(connection).map_err(DbError::from)).await?;
    Ok(corporations
        .into_iter()
        .map(|corporation| {
            let selected = corporation.id.to_string() == selected;
            Choice::new(corporation.id, corporation.name, selected)
        })
        .collect())
}

async fn form_page(
    state: &AppState,
    signed_in: &SignedIn,
    id: Option<FacilityId>,
    values: &Values,
    errors: &Errors,
) -> Result<HttpResponse, DashboardError> {
    let (heading, action) = match id {
        Some(id) => (format!("Change facility {}", values.name), format!("{ADMIN_PATH}/{id}")),
        None => ("Add a facility".to_owned(), ADMIN_PATH.to_owned()),
    };
    let corporations = corporation_choices(state, &values.corporation).await?;
    let mut page = FormPage::new(signed_in, "facilities", heading, action);
    page.back = (LIST_PATH.to_owned(), "All facilities".to_owned());
    page.widgets = vec![
        Widget::select("corporation", "Corporation", corporations, errors).placeholder("Choose…").required().into(),
        Widget::input("name", "Name", &values.name, errors).required().hint("For example Wagle HP.").into(),
        Widget::input("code", "Short code", &values.code, errors)
            .required()
            .hint(format!(
                "What agents may add at the end of a booking SMS, such as WGL: a letter, then letters or digits, at most {MAX_CODE_LENGTH}. Stored in capitals; unique."
            ))
            .into(),
        Widget::text_area("address", "Address sent to patients", &values.address, errors).required().into(),
    ];
    page.respond(errors)
}

/// `GET /dashboard/facilities`: every facility in the user's scope.
pub async fn list(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    query: web::Query<NoticeQuery>,
) -> Result<HttpResponse, DashboardError> {
    let scope = signed_in.scope.clone();
    let (facilities, corporations) = state
        .engine
        .database
        .run(move |connection| {
            let facilities = crate::db::scoped_slots::facilities(connection, &scope)?;
            let corporations = scoped::corporations(connection, &scope)?;
            Ok::<_, DbError>((facilities, corporations))
        })
        .await?;

    let admin = signed_in.is_admin();
    let corporation_name = |id: CorporationId| {
        corporations.iter().find(|corporation| corporation.id == id).map(|corporation| corporation.name.clone())
    };
    let rows = facilities
        .into_iter()
        .map(|facility| {
            let code = if admin {
                Cell::link("Code", facility.code.clone(), format!("{ADMIN_PATH}/{}", facility.id))
            } else {
                Cell::text("Code", facility.code.clone())
            };
            vec![
                code,
                Cell::text("Name", facility.name),
                Cell::text("Corporation", corporation_name(facility.corporation_id).unwrap_or_default()),
                Cell::text("Address", facility.address),
                Cell::link("Slots", "Slots", format!("/dashboard/slots?facility={}", facility.id)),
            ]
        })
        .collect();
    let actions = if admin {
        vec![Link { href: format!("{ADMIN_PATH}/new"), text: "Add a facility".to_owned() }]
    } else {
        Vec::new()
    };
    render(&ListPage {
        layout: Layout::signed_in("Facilities", "facilities", &signed_in),
        heading: "Facilities".to_owned(),
        intro: if admin {
            String::new()
        } else {
            "Facilities of your corporations. Ask an admin to change them.".to_owned()
        },
        notice: query.message(),
        actions,
        noun: ("facility", "facilities"),
        columns: vec!["Code", "Name", "Corporation", "Address", "Slots"],
        rows,
    })
}

/// `GET /dashboard/admin/facilities/new`
pub async fn new_form(state: web::Data<AppState>, signed_in: SignedIn) -> Result<HttpResponse, DashboardError> {
    signed_in.require_admin()?;
    form_page(&state, &signed_in, None, &Values::default(), &Errors::default()).await
}

fn parse_path(path: web::Path<String>) -> Result<FacilityId, DashboardError> {
    path.into_inner().parse::<i32>().map(FacilityId).map_err(|_| DashboardError::NotFound)
}

/// `GET /dashboard/admin/facilities/{id}`
pub async fn edit_form(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    path: web::Path<String>,
) -> Result<HttpResponse, DashboardError> {
    signed_in.require_admin()?;
    let id = parse_path(path)?;
    let facility = state
        .engine
        .database
        .run(move |connection| Facility::find_optional(connection, id).map_err(DbError::from))
        .await?
        .ok_or(DashboardError::NotFound)?;
    form_page(&state, &signed_in, Some(id), &Values::of(&facility), &Errors::default()).await
}

/// `POST /dashboard/admin/facilities` (with `id` `None`) and
/// `POST /dashboard/admin/facilities/{id}`.
async fn submit(
    request: HttpRequest,
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: Option<FacilityId>,
    form: FormData,
) -> Result<HttpResponse, DashboardError> {
    signed_in.require_admin()?;
    form.check_csrf(&signed_in, &request)?;
    let values = Values::read(&form);
    let (mut errors, checked) = values.check();
    let Some(checked) = checked else {
        // A taken code is shown with the other problems; `save` checks it
        // again in its transaction.
        if let Ok(code) = parse_code(&values.code, MAX_CODE_LENGTH) {
            let lookup = code.clone();
            let other = state
                .engine
                .database
                .run(move |connection| Facility::find_by_code(connection, &lookup).map_err(DbError::from))
                .await?;
            if other.is_some_and(|other| Some(other.id) != id) {
                errors.add("code", code_taken_message(&code));
            }
        }
        return form_page(&state, &signed_in, id, &values, &errors).await;
    };

    let now = state.engine.clock.now_naive();
    let outcome = state
        .engine
        .database
        .run(move |connection| {
            write_transaction(connection, |connection| save(connection, id, &checked, now)).map_err(DbError::from)
        })
        .await?;

    match outcome {
        None => Err(DashboardError::NotFound),
        Some(Ok(saved)) => {
            let staff = signed_in.user.id;
            let notice = if id.is_some() { "saved" } else { "created" };
            tracing::info!(staff_id = %staff, facility_id = %saved, "staff user {staff} {notice} facility {saved}");
            Ok(see_other(&format!("{LIST_PATH}?notice={notice}")))
        }
        Some(Err(errors)) => form_page(&state, &signed_in, id, &values, &errors).await,
    }
}

/// `POST /dashboard/admin/facilities`
pub async fn create(
    request: HttpRequest,
    state: web::Data<AppState>,
    signed_in: SignedIn,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, DashboardError> {
    submit(request, state, signed_in, None, FormData::from(form.into_inner())).await
}

/// `POST /dashboard/admin/facilities/{id}`
pub async fn update(
    request: HttpRequest,
    state: web::Data<AppState>,
    signed_in: SignedIn,
    path: web::Path<String>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, DashboardError> {
    signed_in.require_admin()?;
    let id = parse_path(path)?;
    submit(request, state, signed_in, Some(id), FormData::from(form.into_inner())).await
}
