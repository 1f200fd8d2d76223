//! `/dashboard/admin/corporations`: the municipal corporations, listed,
//! added and changed by admins.

use actix_web::{web, HttpRequest, HttpResponse};

use super::{is_unique_violation, Cell, Link, ListPage, NoticeQuery};
use crate::db::ids::CorporationId;
use crate::db::organisation::{Corporation, CorporationChanges, NewCorporation};
use crate::db::{write_transaction, DbError};
use crate::web::dashboard::form::{check_length, Errors, FormData, FormPage, Widget};
use crate::web::dashboard::session::SignedIn;
use crate::web::dashboard::view::Layout;
use crate::web::dashboard::{render, see_other, DashboardError};
use crate::web::AppState;

const LIST_PATH: &str = "/dashboard/admin/corporations";

/// Maximum length of a name or area, in characters.
pub const MAX_NAME_LENGTH: usize = 200;
/// Maximum length of an address, in characters.
pub const MAX_ADDRESS_LENGTH: usize = 500;

/// The form's values as typed.
#[derive(Debug, Clone, Default)]
struct Values {
    name: String,
    address: String,
    area: String,
}

impl Values {
    fn of(corporation: &Corporation) -> Self {
        Self { name: corporation.name.clone(), address: corporation.address.clone(), area: corporation.area.clone() }
    }

    fn read(form: &FormData) -> Self {
        Self { name: form.get("name"), address: form.get("address"), area: form.get("area") }
    }

    fn check(&self) -> Errors {
        let mut errors = Errors::default();
        if let Some(problem) = check_length(&self.name, "name", MAX_NAME_LENGTH) {
            errors.add("name", problem);
        }
        if !self.address.is_empty() {
            if let Some(problem) = check_length(&self.address, "address", MAX_ADDRESS_LENGTH) {
                errors.add("address", problem);
            }
        }
        if !self.area.is_empty() {
            if let Some(problem) = check_length(&self.area, "area", MAX_NAME_LENGTH) {
                errors.add("area", problem);
            }
        }
        errors
    }
}

fn name_taken(name: &str) -> Errors {
    let mut errors = Errors::default();
    errors.add("name", format!("A corporation named '{name}' exists already; choose another name."));
    errors
}

fn form_page(
    signed_in: &SignedIn,
    id: Option<CorporationId>,
    values: &Values,
    errors: &Errors,
) -> Result<HttpResponse, DashboardError> {
    let (heading, action) = match id {
        Some(id) => (format!("Change corporation {}", values.name), format!("{LIST_PATH}/{id}")),
        None => ("Add a corporation".to_owned(), LIST_PATH.to_owned()),
    };
    let mut page = FormPage::new(signed_in, "admin", heading, action);
    page.back = (LIST_PATH.to_owned(), "All corporations".to_owned());
    page.widgets = vec![
        Widget::input("name", "Name", &values.name, errors)
            .required()
            .hint("For example Thane Municipal Corporation. Must be unique.")
            .into(),
        Widget::input("area", "Area", &values.area, errors).into(),
        Widget::text_area("address", "Address", &values.address, errors).into(),
    ];
    page.respond(errors)
}

/// `GET /dashboard/admin/corporations`
pub async fn list(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    query: web::Query<NoticeQuery>,
) -> Result<HttpResponse, DashboardError> {
    signed_in.require_admin()?;
    let corporations =
        state.engine.database.run(|connection| Corporation::all(connection).map_err(DbError::from)).await?;

    let rows = corporations
        .into_iter()
        .map(|corporation| {
            vec![
                Cell::link("Name", corporation.name, format!("{LIST_PATH}/{}", corporation.id)),
                Cell::text("Area", corporation.area),
                Cell::text("Address", corporation.address),
            ]
        })
        .collect();
    render(&ListPage {
        layout: Layout::signed_in("Corporations", "admin", &signed_in),
        heading: "Corporations".to_owned(),
        intro: String::new(),
        notice: query.message(),
        actions: vec![Link { href: format!("{LIST_PATH}/new"), text: "Add a corporation".to_owned() }],
        noun: ("corporation", "corporations"),
        columns: vec!["Name", "Area", "Address"],
        rows,
    })
}

/// `GET /dashboard/admin/corporations/new`
pub async fn new_form(signed_in: SignedIn) -> Result<HttpResponse, DashboardError> {
    signed_in.require_admin()?;
    form_page(&signed_in, None, &Values::default(), &Errors::default())
}

/// `POST /dashboard/admin/corporations`
pub async fn create(
    request: HttpRequest,
    state: web::Data<AppState>,
    signed_in: SignedIn,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, DashboardError> {
    signed_in.require_admin()?;
    let form = FormData::from(form.into_inner());
    form.check_csrf(&signed_in, &request)?;
    let values = Values::read(&form);
    let errors = values.check();
    if !errors.is_empty() {
        return form_page(&signed_in, None, &values, &errors);
    }

    let now = state.engine.clock.now_naive();
    let new = values.clone();
    let outcome = state
        .engine
        .database
        .run(move |connection| {
            write_transaction(connection, |connection| {
                if Corporation::find_by_name(connection, &new.name)?.is_some() {
                    return Ok(Err(name_taken(&new.name)));
                }
                let inserted = Corporation::insert(
                    connection,
                    &NewCorporation { name: &new.name, address: &new.address, area: &new.area, created_at: now },
                );
                match inserted {
                    Ok(corporation) => Ok(Ok(corporation)),
                    Err(error) if is_unique_violation(&error) => Ok(Err(name_taken(&new.name))),
                    Err(error) => Err(error),
                }
            })
            .map_err(DbError::from)
        })
        .await?;

    match outcome {
        Ok(corporation) => {
            tracing::info!(staff_id = %signed_in.user.id, corporation_id = %corporation.id, "staff user {} added corporation {}", signed_in.user.id, corporation.id);
            Ok(see_other(&format!("{LIST_PATH}?notice=created")))
        }
        Err(errors) => form_page(&signed_in, None, &values, &errors),
    }
}

fn parse_path(path: web::Path<String>) -> Result<CorporationId, DashboardError> {
    path.into_inner().parse::<i32>().map(CorporationId).map_err(|_| DashboardError::NotFound)
}

/// `GET /dashboard/admin/corporations/{id}`
pub async fn edit_form(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    path: web::Path<String>,
) -> Result<HttpResponse, DashboardError> {
    signed_in.require_admin()?;
    let id = parse_path(path)?;
    let corporation = state
        .engine
        .database
        .run(move |connection| Corporation::find(connection, id).map_err(DbError::from))
        .await?
        .ok_or(DashboardError::NotFound)?;
    form_page(&signed_in, Some(id), &Values::of(&corporation), &Errors::default())
}

/// `POST /dashboard/admin/corporations/{id}`
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
    let values = Values::read(&form);
    let errors = values.check();
    if !errors.is_empty() {
        return form_page(&signed_in, Some(id), &values, &errors);
    }

    let new = values.clone();
    let outcome = state
        .engine
        .database
        .run(move |connection| {
            write_transaction(connection, |connection| {
                if Corporation::find_by_name(connection, &new.name)?.is_some_and(|other| other.id != id) {
                    return Ok(Some(Err(name_taken(&new.name))));
                }
                let changes = CorporationChanges { name: &new.name, address: &new.address, area: &new.area };
                match Corporation::update(connection, id, &changes) {
                    Ok(0) => Ok(None),
                    Ok(_) => Ok(Some(Ok(()))),
                    Err(error) if is_unique_violation(&error) => Ok(Some(Err(name_taken(&new.name)))),
                    Err(error) => Err(error),
                }
            })
            .map_err(DbError::from)
        })
        .await?;

    match outcome {
        None => Err(DashboardError::NotFound),
        Some(Ok(())) => {
            tracing::info!(staff_id = %signed_in.user.id, corporation_id = %id, "staff user {} changed corporation {id}", signed_in.user.id);
            Ok(see_other(&format!("{LIST_PATH}?notice=saved")))
        }
        Some(Err(errors)) => form_page(&signed_in, Some(id), &values, &errors),
    }
}
