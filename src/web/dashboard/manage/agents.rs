//! `/dashboard/agents` (the agent list, read-only for officers and limited
//! to agents of their corporations' facilities) and
//! `/dashboard/admin/agents/...` (admins add and change agents).

use actix_web::{web, HttpRequest, HttpResponse};

use super::corporations::MAX_NAME_LENGTH;
use super::{is_unique_violation, Cell, Link, ListPage, NoticeQuery};
use crate::db::ids::{AgentId, FacilityId};
use crate::db::organisation::{Agent, AgentChanges, Facility, NewAgent};
use crate::db::{scoped, write_transaction, DbConnection, DbError};
use crate::sms::{Language, PhoneNumber};
use crate::web::dashboard::form::{check_length, parse_id, Choice, Errors, FormData, FormPage, Widget};
use crate::web::dashboard::session::SignedIn;
use crate::web::dashboard::view::Layout;
use crate::web::dashboard::{render, see_other, DashboardError};
use crate::web::AppState;

const LIST_PATH: &str = "/dashboard/agents";
const ADMIN_PATH: &str = "/dashboard/admin/agents";

/// The largest agent id. Agents type it at the start of every booking SMS
/// on a keypad, so it stays short.
pub const MAX_AGENT_ID: i32 = 999_999;

/// The form's values as typed.
#[derive(Debug, Clone, Default)]
pub struct Values {
    pub id: String,
    pub name: String,
    pub phone: String,
    pub language: String,
    pub active: bool,
    /// Facility ids.
    pub facilities: Vec<String>,
}

/// Values that passed the checks that need no database.
#[derive(Debug, Clone)]
pub struct Checked {
    pub id: AgentId,
    pub name: String,
    pub phone: PhoneNumber,
    pub language: Language,
    pub active: bool,
    pub facilities: Vec<FacilityId>,
}

/// Reads a phone as admins type it: an Indian mobile number in any usual
/// spelling, or any international number with `+`. Returns E.164.
pub fn parse_phone(text: &str) -> Result<PhoneNumber, String> {
    if text.trim().is_empty() {
        return Err("Enter the agent's mobile number.".to_owned());
    }
    PhoneNumber::parse_indian_mobile(text)
        .or_else(|_| PhoneNumber::parse_e164(text))
        .map_err(|_| {
            format!("'{}' is not a mobile number: write 10 digits such as 9876543210, or + and the country code such as +919876543210.", text.trim())
        })
}

impl Values {
    fn of(agent: &Agent, facilities: &[FacilityId]) -> Self {
        Self {
            id: agent.id.to_string(),
            name: agent.name.clone(),
            phone: agent.phone.clone(),
            language: agent.language.clone(),
            active: agent.active,
            facilities: facilities.iter().map(ToString::to_string).collect(),
        }
    }

    fn read(form: &FormData) -> Self {
        Self {
            id: form.get("id"),
            name: form.get("name"),
            phone: form.get("phone"),
            language: form.get("language"),
            active: form.checked("active"),
            facilities: form.all("facilities"),
        }
    }

    /// Checks what needs no database: the id's range, the name, the phone
    /// and the language.
    pub fn check(&self, errors: &mut Errors) -> Option<Checked> {
        let id = match self.id.parse::<i32>() {
            Ok(id) if (1..=MAX_AGENT_ID).contains(&id) => Some(AgentId(id)),
            _ if self.id.is_empty() => {
                errors.add("id", "Enter the agent id.");
                None
            }
            _ => {
                errors.add(
                    "id",
                    format!("'{}' is not an agent id: use a whole number from 1 to {MAX_AGENT_ID}.", self.id),
                );
                None
            }
        };
        if let Some(problem) = check_length(&self.name, "name", MAX_NAME_LENGTH) {
            errors.add("name", problem);
        }
        let phone = parse_phone(&self.phone).map_err(|problem| errors.add("phone", problem)).ok();
        let language = self.language.parse::<Language>().ok();
        if language.is_none() {
            errors.add("language", "Choose English, Hindi or Marathi.");
        }
        let mut facilities = Vec::new();
        for value in &self.facilities {
            match parse_id(value) {
                Some(id) => facilities.push(FacilityId(id)),
                None => errors.add("facilities", format!("'{value}' is not a facility; tick the boxes only.")),
            }
        }
        match (id, phone, language, errors.is_empty()) {
            (Some(id), Some(phone), Some(language), true) => {
                Some(Checked { id, name: self.name.clone(), phone, language, active: self.active, facilities })
            }
            _ => None,
        }
    }
}

/// Checks the values against the database and stores the agent with its
/// facilities: a new agent when `adding`, else changes to agent
/// `checked.id`. Returns `Ok(None)` when the agent to change does not
/// exist. Runs in the caller's transaction.
pub fn save(
    connection: &mut DbConnection,
    adding: bool,
    checked: &Checked,
    now: chrono::NaiveDateTime,
) -> diesel::QueryResult<Option<Result<AgentId, Errors>>> {
    let mut errors = Errors::default();
    let existing = Agent::find(connection, checked.id)?;
    match (&existing, adding) {
        (Some(other), true) => {
            errors.add("id", format!("Agent id {} is taken by {}; choose another id.", checked.id, other.name));
        }
        (None, false) => return Ok(None),
        _ => {}
    }
    if let Some(other) =
        Agent::find_by_phone(connection, checked.phone.as_str())?.filter(|other| other.id != checked.id)
    {
        errors.add("phone", format!("Phone {} is registered to agent {} ({}).", checked.phone, other.id, other.name));
    }
    for facility in &checked.facilities {
        if Facility::find_optional(connection, *facility)?.is_none() {
            errors.add("facilities", format!("Facility {facility} does not exist any more; reload the form."));
        }
    }
    if !errors.is_empty() {
        return Ok(Some(Err(errors)));
    }

    let written = if adding {
        Agent::insert(
            connection,
            &NewAgent {
                id: checked.id,
                name: &checked.name,
                phone: checked.phone.as_str(),
                language: checked.language.code(),
                active: checked.active,
                created_at: now,
            },
        )
        .map(|_| ())
    } else {
        let changes = AgentChanges {
            name: &checked.name,
            phone: checked.phone.as_str(),
            language: checked.language.code(),
            active: checked.active,
        };
        Agent::update(connection, checked.id, &changes).map(|_| ())
    };
    match written {
        Ok(()) => {}
        Err(error) if is_unique_violation(&error) => {
            let mut errors = Errors::default();
            errors
                .add("phone", format!("Phone {} or agent id {} is taken by another agent.", checked.phone, checked.id));
            return Ok(Some(Err(errors)));
        }
        Err(error) => return Err(error),
    }
    Agent::set_facilities(connection, checked.id, &checked.facilities)?;
    Ok(Some(Ok(checked.id)))
}

fn language_label(code: &str) -> &'static str {
    match code {
        "hi" => "Hindi",
        "mr" => "Marathi",
        _ => "English",
    }
}

async fn form_page(
    state: &AppState,
    signed_in: &SignedIn,
    editing: Option<AgentId>,
    values: &Values,
    errors: &Errors,
) -> Result<HttpResponse, DashboardError> {
    let facilities = state.engine.database.run(|connection| Facility::all(connection).map_err(DbError::from)).await?;
    let (heading, action) = match editing {
        Some(id) => (format!("Change agent {id}"), format!("{ADMIN_PATH}/{id}")),
        None => ("Add an agent".to_owned(), ADMIN_PATH.to_owned()),
    };
    let languages = Language::ALL
        .into_iter()
        .map(|language| {
            Choice::new(language.code(), language_label(language.code()), values.language == language.code())
        })
        .collect();
    let facility_choices = facilities
        .into_iter()
        .map(|facility| {
            let selected = values.facilities.contains(&facility.id.to_string());
            Choice::new(facility.id, format!("{} ({})", facility.name, facility.code), selected)
        })
        .collect();

    let mut page = FormPage::new(signed_in, "agents", heading, action);
    page.back = (LIST_PATH.to_owned(), "All agents".to_owned());
    match editing {
        None => page.widgets.push(
            Widget::input("id", "Agent id", &values.id, errors)
                .kind("number")
                .required()
                .hint(format!(
                    "The number the agent types at the start of every booking SMS, from 1 to {MAX_AGENT_ID}. It cannot be changed later."
                ))
                .into(),
        ),
        Some(id) => page.facts.push(crate::web::dashboard::form::Fact {
            term: "Agent id".to_owned(),
            detail: id.to_string(),
        }),
    }
    page.widgets.push(Widget::input("name", "Name", &values.name, errors).required().into());
    page.widgets.push(
        Widget::input("phone", "Mobile number", &values.phone, errors)
            .kind("tel")
            .required()
            .hint("The phone the agent texts from, such as 9876543210 or +91 98765 43210. Stored as +919876543210.")
            .into(),
    );
    page.widgets.push(
        Widget::select("language", "Language of the agent's SMS", languages, errors)
            .placeholder("Choose…")
            .required()
            .into(),
    );
    page.widgets.push(
        Widget::checkbox("active", "Active", values.active)
            .hint("An inactive agent's bookings are flagged instead of booked.")
            .into(),
    );
    page.widgets.push(
        Widget::checks("facilities", "Facilities", facility_choices, errors)
            .hint("Bookings go to the earliest free slot at these facilities. An agent without a facility cannot book.")
            .into(),
    );
    page.respond(errors)
}

/// `GET /dashboard/agents`: the agents of the facilities in scope.
pub async fn list(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    query: web::Query<NoticeQuery>,
) -> Result<HttpResponse, DashboardError> {
    let scope = signed_in.scope.clone();
    let (choices, assignments) = state
        .engine
        .database
        .run(move |connection| {
            let choices = scoped::filter_choices(connection, &scope)?;
            let ids: Vec<AgentId> = choices.agents.iter().map(|agent| agent.id).collect();
            let assignments = Agent::assignments(connection, &ids)?;
            Ok::<_, DbError>((choices, assignments))
        })
        .await?;
    // An admin's choices include agents without a facility; an officer's
    // only agents of facilities in scope.
    let admin = signed_in.is_admin();
    let rows = choices
        .agents
        .iter()
        .map(|agent| {
            let codes: Vec<&str> = assignments
                .iter()
                .filter(|(owner, _)| *owner == agent.id)
                .filter_map(|(_, facility)| choices.facilities.iter().find(|known| known.id == *facility))
                .map(|facility| facility.code.as_str())
                .collect();
            let id = if admin {
                Cell::link("Id", agent.id.to_string(), format!("{ADMIN_PATH}/{}", agent.id))
            } else {
                Cell::text("Id", agent.id.to_string())
            };
            vec![
                id,
                Cell::text("Name", agent.name.clone()),
                Cell::text("Phone", agent.phone.clone()),
                Cell::text("Language", language_label(&agent.language)),
                Cell::text("Facilities", codes.join(", ")),
                Cell::text("Status", if agent.active { "Active" } else { "Inactive" }),
            ]
        })
        .collect();
    let actions = if admin {
        vec![Link { href: format!("{ADMIN_PATH}/new"), text: "Add an agent".to_owned() }]
    } else {
        Vec::new()
    };
    render(&ListPage {
        layout: Layout::signed_in("Agents", "agents", &signed_in),
        heading: "Agents".to_owned(),
        intro: if admin {
            String::new()
        } else {
            "Agents of your corporations' facilities. Ask an admin to change them.".to_owned()
        },
        notice: query.message(),
        actions,
        noun: ("agent", "agents"),
        columns: vec!["Id", "Name", "Phone", "Language", "Facilities", "Status"],
        rows,
    })
}

/// `GET /dashboard/admin/agents/new`
pub async fn new_form(state: web::Data<AppState>, signed_in: SignedIn) -> Result<HttpResponse, DashboardError> {
    signed_in.require_admin()?;
    let values = Values {
        language: state.engine.settings.agents.default_language.code().to_owned(),
        active: true,
        ..Values::default()
    };
    form_page(&state, &signed_in, None, &values, &Errors::default()).await
}

fn parse_path(path: web::Path<String>) -> Result<AgentId, DashboardError> {
    path.into_inner().parse::<i32>().map(AgentId).map_err(|_| DashboardError::NotFound)
}

/// `GET /dashboard/admin/agents/{id}`
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
            let Some(agent) = Agent::find(connection, id)? else {
                return Ok::<_, DbError>(None);
            };
            let facilities: Vec<FacilityId> =
                Agent::assignments(connection, &[id])?.into_iter().map(|(_, facility)| facility).collect();
            Ok(Some((agent, facilities)))
        })
        .await?;
    let Some((agent, facilities)) = found else {
        return Err(DashboardError::NotFound);
    };
    form_page(&state, &signed_in, Some(id), &Values::of(&agent, &facilities), &Errors::default()).await
}

async fn submit(
    request: HttpRequest,
    state: web::Data<AppState>,
    signed_in: SignedIn,
    editing: Option<AgentId>,
    form: FormData,
) -> Result<HttpResponse, DashboardError> {
    signed_in.require_admin()?;
    form.check_csrf(&signed_in, &request)?;
    let mut values = Values::read(&form);
    if let Some(id) = editing {
        values.id = id.to_string();
    }
    let mut errors = Errors::default();
    let Some(checked) = values.check(&mut errors) else {
        add_taken(&state, &values, editing, &mut errors).await?;
        return form_page(&state, &signed_in, editing, &values, &errors).await;
    };

    let now = state.engine.clock.now_naive();
    let adding = editing.is_none();
    let outcome = state
        .engine
        .database
        .run(move |connection| {
            write_transaction(connection, |connection| save(connection, adding, &checked, now)).map_err(DbError::from)
        })
        .await?;

    match outcome {
        None => Err(DashboardError::NotFound),
        Some(Ok(saved)) => {
            let staff = signed_in.user.id;
            let notice = if adding { "created" } else { "saved" };
            tracing::info!(staff_id = %staff, agent_id = %saved, "staff user {staff} {notice} agent {saved}");
            Ok(see_other(&format!("{LIST_PATH}?notice={notice}")))
        }
        Some(Err(errors)) => form_page(&state, &signed_in, editing, &values, &errors).await,
    }
}

/// Adds the problems of an id or phone that another agent has, so a form
/// rejected for other fields shows them too. [`save`] checks them again
/// in its transaction.
async fn add_taken(
    state: &AppState,
    values: &Values,
    editing: Option<AgentId>,
    errors: &mut Errors,
) -> Result<(), DashboardError> {
    let id = values.id.parse::<i32>().ok().map(AgentId);
    let phone = parse_phone(&values.phone).ok();
    let (by_id, by_phone) = state
        .engine
        .database
        .run(move |connection| {
            let by_id = match id {
                Some(id) => Agent::find(connection, id)?,
                None => None,
            };
            let by_phone = match &phone {
                Some(phone) => Agent::find_by_phone(connection, phone.as_str())?.map(|agent| (agent, phone.clone())),
                None => None,
            };
            Ok::<_, DbError>((by_id, by_phone))
        })
        .await?;
    if let (Some(other), None) = (by_id, editing) {
        errors.add("id", format!("Agent id {} is taken by {}; choose another id.", other.id, other.name));
    }
    if let Some((other, phone)) = by_phone.filter(|(other, _)| Some(other.id) != editing) {
        errors.add("phone", format!("Phone {phone} is registered to agent {} ({}).", other.id, other.name));
    }
    Ok(())
}

/// `POST /dashboard/admin/agents`
pub async fn create(
    request: HttpRequest,
    state: web::Data<AppState>,
    signed_in: SignedIn,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, DashboardError> {
    submit(request, state, signed_in, None, FormData::from(form.into_inner())).await
}

/// `POST /dashboard/admin/agents/{id}`
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
