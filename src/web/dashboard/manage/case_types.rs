//! `/dashboard/admin/case-types`: the case types agents book (ANC, DS,
//! IM …), listed, added and changed by admins.

use actix_web::{web, HttpRequest, HttpResponse};

use super::corporations::MAX_NAME_LENGTH;
use super::{is_unique_violation, Cell, Link, ListPage, NoticeQuery};
use crate::db::ids::CaseTypeId;
use crate::db::organisation::{CaseType, CaseTypeChanges, NewCaseType};
use crate::db::{write_transaction, DbConnection, DbError};
use crate::web::dashboard::form::{check_length, parse_code, Errors, FormData, FormPage, Widget};
use crate::web::dashboard::session::SignedIn;
use crate::web::dashboard::view::Layout;
use crate::web::dashboard::{render, see_other, DashboardError};
use crate::web::AppState;

const LIST_PATH: &str = "/dashboard/admin/case-types";

/// Maximum length of a case code, in characters. Agents type it in every
/// booking SMS.
pub const MAX_CODE_LENGTH: usize = 10;
/// Maximum length of a description, in characters.
pub const MAX_DESCRIPTION_LENGTH: usize = 1000;

#[derive(Debug, Clone, Default)]
struct Values {
    code: String,
    name: String,
    description: String,
}

impl Values {
    fn of(case_type: &CaseType) -> Self {
        Self { code: case_type.code.clone(), name: case_type.name.clone(), description: case_type.description.clone() }
    }

    fn read(form: &FormData) -> Self {
        Self { code: form.get("code"), name: form.get("name"), description: form.get("description") }
    }

    /// Returns the problems and, when there are none, the upper-case code.
    fn check(&self) -> (Errors, Option<String>) {
        let mut errors = Errors::default();
        let code = parse_code(&self.code, MAX_CODE_LENGTH).map_err(|problem| errors.add("code", problem)).ok();
        if let Some(problem) = check_length(&self.name, "name", MAX_NAME_LENGTH) {
            errors.add("name", problem);
        }
        if !self.description.is_empty() {
            if let Some(problem) = check_length(&self.description, "description", MAX_DESCRIPTION_LENGTH) {
                errors.add("description", problem);
            }
        }
        let code = code.filter(|_| errors.is_empty());
        (errors, code)
    }
}

fn code_taken(code: &str) -> Errors {
    let mut errors = Errors::default();
    errors.add("code", format!("Case code {code} is taken by another case type; choose another code."));
    errors
}

/// Stores a new case type, or changes case type `id`. Returns `Ok(None)`
/// when case type `id` does not exist.
fn save(
    connection: &mut DbConnection,
    id: Option<CaseTypeId>,
    code: &str,
    values: &Values,
    now: chrono::NaiveDateTime,
) -> diesel::QueryResult<Option<Result<CaseTypeId, Errors>>> {
    if CaseType::find_by_code(connection, code)?.is_some_and(|other| Some(other.id) != id) {
        return Ok(Some(Err(code_taken(code))));
    }
    let written = match id {
        None => CaseType::insert(
            connection,
            &NewCaseType { code, name: &values.name, description: &values.description, created_at: now },
        )
        .map(|case_type| Some(case_type.id)),
        Some(id) => {
            let changes = CaseTypeChanges { code, name: &values.name, description: &values.description };
            CaseType::update(connection, id, &changes).map(|changed| (changed > 0).then_some(id))
        }
    };
    match written {
        Ok(Some(id)) => Ok(Some(Ok(id))),
        Ok(None) => Ok(None),
        Err(error) if is_unique_violation(&error) => Ok(Some(Err(code_taken(code)))),
        Err(error) => Err(error),
    }
}

fn form_page(
    signed_in: &SignedIn,
    id: Option<CaseTypeId>,
    values: &Values,
    errors: &Errors,
) -> Result<HttpResponse, DashboardError> {
    let (heading, action) = match id {
        Some(id) => (format!("Change case type {}", values.code), format!("{LIST_PATH}/{id}")),
        None => ("Add a case type".to_owned(), LIST_PATH.to_owned()),
    };
    let mut page = FormPage::new(signed_in, "admin", heading, action);
    page.back = (LIST_PATH.to_owned(), "All case types".to_owned());
    page.widgets = vec![
        Widget::input("code", "Code", &values.code, errors)
            .required()
            .hint(format!(
                "What agents type after their id, such as ANC: a letter, then letters or digits, at most {MAX_CODE_LENGTH}. Stored in capitals; unique."
            ))
            .into(),
        Widget::input("name", "Name", &values.name, errors).required().hint("For example Antenatal care.").into(),
        Widget::text_area("description", "Description", &values.description, errors).into(),
    ];
    page.respond(errors)
}

/// `GET /dashboard/admin/case-types`
pub async fn list(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    query: web::Query<NoticeQuery>,
) -> Result<HttpResponse, DashboardError> {
    signed_in.require_admin()?;
    let case_types = state.engine.database.run(|connection| CaseType::all(connection).map_err(DbError::from)).await?;

    let rows = case_types
        .into_iter()
        .map(|case_type| {
            vec![
                Cell::link("Code", case_type.code, format!("{LIST_PATH}/{}", case_type.id)),
                Cell::text("Name", case_type.name),
                Cell::text("Description", case_type.description),
            ]
        })
        .collect();
    render(&ListPage {
        layout: Layout::signed_in("Case types", "admin", &signed_in),
        heading: "Case types".to_owned(),
        intro: String::new(),
        notice: query.message(),
        actions: vec![Link { href: format!("{LIST_PATH}/new"), text: "Add a case type".to_owned() }],
        noun: ("case type", "case types"),
        columns: vec!["Code", "Name", "Description"],
        rows,
    })
}

/// `GET /dashboard/admin/case-types/new`
pub async fn new_form(signed_in: SignedIn) -> Result<HttpResponse, DashboardError> {
    signed_in.require_admin()?;
    form_page(&signed_in, None, &Values::default(), &Errors::default())
}

fn parse_path(path: web::Path<String>) -> Result<CaseTypeId, DashboardError> {
    path.into_inner().parse::<i32>().map(CaseTypeId).map_err(|_| DashboardError::NotFound)
}

/// `GET /dashboard/admin/case-types/{id}`
pub async fn edit_form(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    path: web::Path<String>,
) -> Result<HttpResponse, DashboardError> {
    signed_in.require_admin()?;
    let id = parse_path(path)?;
    let case_type = state
        .engine
        .database
        .run(move |connection| CaseType::find_optional(connection, id).map_err(DbError::from))
        .await?
        .ok_or(DashboardError::NotFound)?;
    form_page(&signed_in, Some(id), &Values::of(&case_type), &Errors::default())
}

async fn submit(
    request: HttpRequest,
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: Option<CaseTypeId>,
    form: FormData,
) -> Result<HttpResponse, DashboardError> {
    form.check_csrf(&signed_in, &request)?;
    let values = Values::read(&form);
    let (errors, code) = values.check();
    let Some(code) = code else {
        return form_page(&signed_in, id, &values, &errors);
    };

    let now = state.engine.clock.now_naive();
    let stored = values.clone();
    let outcome = state
        .engine
        .database
        .run(move |connection| {
            write_transaction(connection, |connection| save(connection, id, &code, &stored, now)).map_err(DbError::from)
        })
        .await?;

    match outcome {
        None => Err(DashboardError::NotFound),
        Some(Ok(saved)) => {
            let staff = signed_in.user.id;
            let notice = if id.is_some() { "saved" } else { "created" };
            tracing::info!(staff_id = %staff, case_type_id = %saved, "staff user {staff} {notice} case type {saved}");
            Ok(see_other(&format!("{LIST_PATH}?notice={notice}")))
        }
        Some(Err(errors)) => form_page(&signed_in, id, &values, &errors),
    }
}

/// `POST /dashboard/admin/case-types`
pub async fn create(
    request: HttpRequest,
    state: web::Data<AppState>,
    signed_in: SignedIn,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, DashboardError> {
    signed_in.require_admin()?;
    submit(request, state, signed_in, None, FormData::from(form.into_inner())).await
}

/// `POST /dashboard/admin/case-types/{id}`
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
