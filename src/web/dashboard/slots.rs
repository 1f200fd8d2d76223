//! `/dashboard/slots`: doctor slots and the series that own them. Admins
//! and officers (for their corporations' facilities) list the slots of a
//! facility, create a series, and edit or cancel one slot or the rest of
//! its series. The changes go through [`crate::appointments::slots`],
//! which moves bookings out of cancelled slots and texts the patients.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{Days, NaiveDate, NaiveTime, TimeZone as _};
use chrono_tz::Tz;
use serde::Deserialize;

use super::form::{parse_id, Choice, ErrorLink, Errors, FormData, FormPage, Widget};
use super::session::SignedIn;
use super::view::{label, local_time, Layout};
use super::{render, render_with_status, see_other, DashboardError};
use crate::appointments::slots::{self as slot_admin, SeriesRequest, SlotError};
use crate::db::ids::{CaseTypeId, FacilityId, SlotId};
use crate::db::organisation::{CaseType, Facility};
use crate::db::scoped_slots::{self, SlotDetail, SlotRow};
use crate::db::slots::{local_to_utc, Recurrence};
use crate::db::DbError;
use crate::web::AppState;

const LIST_PATH: &str = "/dashboard/slots";

/// Days the slot list shows when no end date is given.
pub const DEFAULT_DAYS: u64 = 28;
/// Maximum number of places in one slot.
pub const MAX_CAPACITY: i32 = 1000;
/// Maximum number of slots a series may be given by count.
pub const MAX_OCCURRENCES: i32 = 520;

/// Reads a date as a date input sends it (`yyyy-mm-dd`) or as people
/// write it (`dd-mm-yyyy`).
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    NaiveDate::parse_from_str(text, "%Y-%m-%d").or_else(|_| NaiveDate::parse_from_str(text, "%d-%m-%Y")).ok()
}

/// Reads a time of day as `HH:MM` (a time input may add `:SS`).
pub fn parse_time(text: &str) -> Option<NaiveTime> {
    let text = text.trim();
    NaiveTime::parse_from_str(text, "%H:%M").or_else(|_| NaiveTime::parse_from_str(text, "%H:%M:%S")).ok()
}

fn today(state: &AppState) -> NaiveDate {
    let zone = state.engine.settings.zone();
    zone.from_utc_datetime(&state.engine.clock.now_naive()).date_naive()
}

// ------------------------------------------------------------------- list

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    facility: Option<String>,
    from: Option<String>,
    to: Option<String>,
    notice: Option<String>,
    slots: Option<u32>,
    moved: Option<u32>,
    flagged: Option<u32>,
}

#[derive(Debug, Clone)]
struct SlotLine {
    id: i32,
    start: String,
    case_code: String,
    booked: i32,
    capacity: i32,
    recurrence: String,
    cancelled: bool,
}

#[derive(Template)]
#[template(path = "dashboard/slots.html")]
struct SlotListPage {
    layout: Layout,
    admin: bool,
    facilities: Vec<Choice>,
    facility: Option<Facility>,
    from: String,
    to: String,
    notice: Option<String>,
    rows: Vec<SlotLine>,
}

fn notice_text(query: &ListQuery) -> Option<String> {
    let count = |value: Option<u32>| value.unwrap_or(0);
    match query.notice.as_deref()? {
        "created" => Some(format!("Slot series created with {} slots so far.", count(query.slots))),
        "edited" => Some(format!("{} slots changed; patients of moved slots are being told the new time.", count(query.slots))),
        "cancelled" => Some(format!(
            "{} slots cancelled. {} bookings moved to the next free slot; {} could not be moved and were flagged for an officer.",
            count(query.slots),
            count(query.moved),
            count(query.flagged)
        )),
        _ => None,
    }
}

/// `GET /dashboard/slots`: the slots of one facility in a date range.
pub async fn list(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, DashboardError> {
    let zone = state.engine.settings.zone();
    let from = match query.from.as_deref().map(str::trim).filter(|text| !text.is_empty()) {
        None => today(&state),
        Some(text) => parse_date(text).ok_or_else(|| DashboardError::BadRequest {
            field: "from",
            problem: format!("'{text}' is not a date; write it as dd-mm-yyyy"),
        })?,
    };
    let to = match query.to.as_deref().map(str::trim).filter(|text| !text.is_empty()) {
        None => from.checked_add_days(Days::new(DEFAULT_DAYS)).unwrap_or(from),
        Some(text) => parse_date(text).ok_or_else(|| DashboardError::BadRequest {
            field: "to",
            problem: format!("'{text}' is not a date; write it as dd-mm-yyyy"),
        })?,
    };
    let requested = match query.facility.as_deref().map(str::trim).filter(|text| !text.is_empty()) {
        None => None,
        Some(text) => Some(FacilityId(parse_id(text).ok_or_else(|| DashboardError::BadRequest {
            field: "facility",
            problem: format!("'{text}' is not a facility id"),
        })?)),
    };
    let start = local_to_utc(zone, from, NaiveTime::MIN).unwrap_or_default();
    let end =
        to.checked_add_days(Days::new(1)).and_then(|day| local_to_utc(zone, day, NaiveTime::MIN)).unwrap_or(start);

    let scope = signed_in.scope.clone();
    let (facilities, rows) = state
        .engine
        .database
        .run(move |connection| {
            let facilities = scoped_slots::facilities(connection, &scope)?;
            // Without a choice the first facility is shown, so the page is
            // never empty when there is something to show.
            let chosen = requested.or_else(|| facilities.first().map(|facility| facility.id));
            let rows = match chosen {
                Some(id) => scoped_slots::list_slots(connection, &scope, id, start, end)?,
                None => Vec::new(),
            };
            Ok::<_, DbError>((facilities, rows))
        })
        .await?;

    let chosen = requested.or_else(|| facilities.first().map(|facility| facility.id));
    let facility = facilities.iter().find(|facility| Some(facility.id) == chosen).cloned();
    if requested.is_some() && facility.is_none() {
        return Err(DashboardError::NotFound);
    }
    render(&SlotListPage {
        layout: Layout::signed_in("Slots", "slots", &signed_in),
        admin: signed_in.is_admin(),
        facilities: facilities
            .iter()
            .map(|item| Choice::new(item.id, format!("{} ({})", item.name, item.code), Some(item.id) == chosen))
            .collect(),
        facility,
        from: from.format("%Y-%m-%d").to_string(),
        to: to.format("%Y-%m-%d").to_string(),
        notice: notice_text(&query),
        rows: rows.into_iter().map(|row| slot_line(zone, row)).collect(),
    })
}

fn slot_line(zone: Tz, row: SlotRow) -> SlotLine {
    SlotLine {
        id: row.slot.id.0,
        start: local_time(zone, row.slot.starts_at),
        case_code: row.case_code,
        booked: row.slot.booked,
        capacity: row.slot.capacity,
        recurrence: label(&row.recurrence),
        cancelled: row.slot.cancelled,
    }
}

// ----------------------------------------------------------------- series

/// The series form's values as typed.
#[derive(Debug, Clone, Default)]
pub struct SeriesValues {
    pub facility: String,
    pub case_type: String,
    pub first_date: String,
    pub start_time: String,
    pub capacity: String,
    pub recurrence: String,
    pub end_date: String,
    pub occurrences: String,
}

impl SeriesValues {
    pub fn read(form: &FormData) -> Self {
        Self {
            facility: form.get("facility"),
            case_type: form.get("case_type"),
            first_date: form.get("first_date"),
            start_time: form.get("start_time"),
            capacity: form.get("capacity"),
            recurrence: form.get("recurrence"),
            end_date: form.get("end_date"),
            occurrences: form.get("occurrences"),
        }
    }

    /// Checks everything but the facility and case type, which the caller
    /// resolves to codes: dates, time, capacity and recurrence. A first
    /// date before `today` is rejected, because its slot could never be
    /// booked.
    pub fn check(
        &self,
        facility_code: String,
        case_code: String,
        today: NaiveDate,
        errors: &mut Errors,
    ) -> Option<SeriesRequest> {
        let first_date = match parse_date(&self.first_date) {
            Some(date) if date < today => {
                errors.add(
                    "first_date",
                    format!("{} is in the past; choose today or a later date.", date.format("%d-%m-%Y")),
                );
                None
            }
            Some(date) => Some(date),
            None if self.first_date.is_empty() => {
                errors.add("first_date", "Enter the date of the first slot.");
                None
            }
            None => {
                errors.add("first_date", format!("'{}' is not a date; write it as dd-mm-yyyy.", self.first_date));
                None
            }
        };

        let start_time = parse_time(&self.start_time);
        if start_time.is_none() {
            errors.add("start_time", format!("'{}' is not a time; write it as HH:MM, such as 09:30.", self.start_time));
        }
        let capacity = match self.capacity.parse::<i32>() {
            Ok(capacity) if (1..=MAX_CAPACITY).contains(&capacity) => Some(capacity),
            _ => {
                errors.add(
                    "capacity",
                    format!("'{}' is not a capacity: use a whole number from 1 to {MAX_CAPACITY}.", self.capacity),
                );
                None
            }
        };

        let recurrence = Recurrence::parse(&self.recurrence);
        if recurrence.is_none() {
            errors.add("recurrence", "Choose never, weekly or monthly.");
        }

        // The end: a last date or a number of slots, needed when repeating.
        let end_date = match self.end_date.as_str() {
            "" => None,
            text => {
                let parsed = parse_date(text);
                if parsed.is_none() {
                    errors.add("end_date", format!("'{text}' is not a date; write it as dd-mm-yyyy."));
                }
                parsed
            }
        };
        let occurrences = match self.occurrences.as_str() {
            "" => None,
            text => match text.parse::<i32>() {
                Ok(count) if (1..=MAX_OCCURRENCES).contains(&count) => Some(count),
                _ => {
                    errors.add(
                        "occurrences",
                        format!("'{text}' is not a number of slots: use a whole number from 1 to {MAX_OCCURRENCES}."),
                    );
                    None
                }
            },
        };
        let repeats = recurrence.is_some_and(|recurrence| recurrence != Recurrence::Never);
        if repeats
            && end_date.is_none()
            && occurrences.is_none()
            && self.end_date.is_empty()
            && self.occurrences.is_empty()
        {
            errors.add("end_date", "A repeating series needs an end: give an end date or a number of slots.");
        }
        if let (Some(first), Some(end)) = (first_date, end_date) {
            if end < first {
                errors.add(
                    "end_date",
                    format!(
                        "The end date {} is before the first date {}.",
                        end.format("%d-%m-%Y"),
                        first.format("%d-%m-%Y")
                    ),
                );
            }
        }

        if !errors.is_empty() {
            return None;
        }
        let never = recurrence == Some(Recurrence::Never);
        Some(SeriesRequest {
            facility_code,
            case_code,
            first_date: first_date?,
            start_time: start_time?,
            capacity: capacity?,
            recurrence: recurrence?,
            // A one-off slot has no end; values typed anyway are ignored.
            end_date: if never { None } else { end_date },
            occurrences: if never { None } else { occurrences },
        })
    }
}

/// Records a rejection of [`slot_admin::create_series`] beside its field.
/// Returns the error back when it is not about a field.
pub fn series_error_field(error: SlotError, errors: &mut Errors) -> Result<(), SlotError> {
    match &error {
        SlotError::UnknownFacility(_) => errors.add("facility", format!("{}.", capitalised(&error.to_string()))),
        SlotError::UnknownCaseType(_) => errors.add("case_type", format!("{}.", capitalised(&error.to_string()))),
        SlotError::InvalidCapacity(_) | SlotError::CapacityBelowBooked { .. } => {
            errors.add("capacity", format!("{}.", capitalised(&error.to_string())));
        }
        SlotError::MissingEnd | SlotError::EndBeforeStart { .. } => {
            errors.add("end_date", format!("{}.", capitalised(&error.to_string())));
        }
        _ => return Err(error),
    }
    Ok(())
}

fn capitalised(text: &str) -> String {
    let mut characters = text.chars();
    match characters.next() {
        Some(first) => first.to_uppercase().chain(characters).collect(),
        None => String::new(),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct NewSeriesQuery {
    facility: Option<String>,
}

async fn series_form(
    state: &AppState,
    signed_in: &SignedIn,
    values: &SeriesValues,
    errors: &Errors,
) -> Result<HttpResponse, DashboardError> {
    let scope = signed_in.scope.clone();
    let (facilities, case_types) = state
        .engine
        .database
        .run(move |connection| {
            Ok::<_, DbError>((scoped_slots::facilities(connection, &scope)?, CaseType::all(connection)?))
        })
        .await?;
    let facility_choices = facilities
        .iter()
        .map(|facility| {
            let label = format!("{} ({})", facility.name, facility.code);
            Choice::new(facility.id, label, facility.id.to_string() == values.facility)
        })
        .collect();
    let case_choices = case_types
        .iter()
        .map(|case_type| {
            let label = format!("{} ({})", case_type.name, case_type.code);
            Choice::new(case_type.id, label, case_type.id.to_string() == values.case_type)
        })
        .collect();
    let recurrences = [("never", "Never: one slot"), ("weekly", "Weekly"), ("monthly", "Monthly, on the same day")]
        .into_iter()
        .map(|(value, text)| Choice::new(value, text, values.recurrence == value))
        .collect();

    let mut page = FormPage::new(signed_in, "slots", "Create a slot series", format!("{LIST_PATH}/series"));
    page.back = (LIST_PATH.to_owned(), "All slots".to_owned());
    page.intro = format!(
        "Times are local ({}). Slots are created {} days ahead and extended by the scheduler.",
        state.engine.settings.zone(),
        state.engine.settings.scheduler.horizon_days
    );
    page.submit_label = "Create series".to_owned();
    page.widgets = vec![
        Widget::select("facility", "Facility", facility_choices, errors).placeholder("Choose…").required().into(),
        Widget::select("case_type", "Case type", case_choices, errors).placeholder("Choose…").required().into(),
        Widget::input("first_date", "Date of the first slot", &values.first_date, errors)
            .kind("date")
            .required()
            .hint("dd-mm-yyyy")
            .into(),
        Widget::input("start_time", "Start time", &values.start_time, errors)
            .kind("time")
            .required()
            .hint("HH:MM, 24-hour clock")
            .into(),
        Widget::input("capacity", "Places per slot", &values.capacity, errors)
            .kind("number")
            .required()
            .hint(format!("How many patients one slot takes, 1 to {MAX_CAPACITY}."))
            .into(),
        Widget::select("recurrence", "Repeats", recurrences, errors).required().into(),
        Widget::input("end_date", "Last date", &values.end_date, errors)
            .kind("date")
            .hint("For a weekly or monthly series: no slot after this date. Give this or a number of slots.")
            .into(),
        Widget::input("occurrences", "Number of slots", &values.occurrences, errors)
            .kind("number")
            .hint(format!("For a weekly or monthly series: stop after this many slots, at most {MAX_OCCURRENCES}."))
            .into(),
    ];
    page.respond(errors)
}

/// `GET /dashboard/slots/new`
pub async fn new_series(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    query: web::Query<NewSeriesQuery>,
) -> Result<HttpResponse, DashboardError> {
    let values = SeriesValues {
        facility: query.facility.clone().unwrap_or_default(),
        first_date: today(&state).format("%Y-%m-%d").to_string(),
        start_time: "09:00".to_owned(),
        capacity: "10".to_owned(),
        recurrence: "weekly".to_owned(),
        ..SeriesValues::default()
    };
    series_form(&state, &signed_in, &values, &Errors::default()).await
}

/// `POST /dashboard/slots/series`
pub async fn create_series(
    request: HttpRequest,
    state: web::Data<AppState>,
    signed_in: SignedIn,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, DashboardError> {
    let form = FormData::from(form.into_inner());
    form.check_csrf(&signed_in, &request)?;
    let values = SeriesValues::read(&form);

    let scope = signed_in.scope.clone();
    let facility_id = parse_id(&values.facility).map(FacilityId);
    let case_type_id = parse_id(&values.case_type).map(CaseTypeId);
    let (facility, case_type) = state
        .engine
        .database
        .run(move |connection| {
            let facility = match facility_id {
                Some(id) => scoped_slots::find_facility(connection, &scope, id)?,
                None => None,
            };
            let case_type = match case_type_id {
                Some(id) => CaseType::find_optional(connection, id)?,
                None => None,
            };
            Ok::<_, DbError>((facility, case_type))
        })
        .await?;
    let mut errors = Errors::default();
    if facility.is_none() {
        errors.add("facility", "Choose one of your facilities.");
    }
    if case_type.is_none() {
        errors.add("case_type", "Choose a case type.");
    }
    let facility_code = facility.as_ref().map(|facility| facility.code.clone()).unwrap_or_default();
    let case_code = case_type.as_ref().map(|case_type| case_type.code.clone()).unwrap_or_default();
    let checked = values.check(facility_code, case_code, today(&state), &mut errors);
    let (Some(request_values), Some(facility)) = (checked.filter(|_| errors.is_empty()), facility) else {
        return series_form(&state, &signed_in, &values, &errors).await;
    };

    let context = state.engine.booking.clone();
    let now = state.engine.clock.now_naive();
    let first_date = request_values.first_date;
    let created = state
        .engine
        .database
        .run(move |connection| Ok::<_, DbError>(slot_admin::create_series(connection, &context, &request_values, now)))
        .await?;
    match created {
        Ok((series, count)) => {
            let staff = signed_in.user.id;
            tracing::info!(staff_id = %staff, series_id = %series.id, slots = count, "staff user {staff} created slot series {}", series.id);
            Ok(see_other(&format!(
                "{LIST_PATH}?facility={}&from={}&notice=created&slots={count}",
                facility.id,
                first_date.format("%Y-%m-%d")
            )))
        }
        Err(error) => match series_error_field(error, &mut errors) {
            Ok(()) => series_form(&state, &signed_in, &values, &errors).await,
            Err(SlotError::Database(error)) => Err(error.into()),
            Err(other) => {
                Err(DashboardError::Internal(anyhow::Error::new(other).context("creating a slot series failed")))
            }
        },
    }
}

// ------------------------------------------------------------- one slot

#[derive(Debug, Clone)]
struct TaskLine {
    id: i32,
    beneficiary: String,
    status: String,
    status_label: String,
}

#[derive(Template)]
#[template(path = "dashboard/slot.html")]
struct SlotPage {
    layout: Layout,
    id: i32,
    facility_id: i32,
    facility: String,
    case_type: String,
    start: String,
    capacity: i32,
    booked: i32,
    cancelled: bool,
    started: bool,
    series: String,
    tasks: Vec<TaskLine>,
    csrf_token: String,
    errors: Vec<ErrorLink>,
    edit_widgets: Vec<Widget>,
    cancel_widgets: Vec<Widget>,
}

/// The edit form's values as typed.
#[derive(Debug, Clone, Default)]
struct EditValues {
    capacity: String,
    start_time: String,
    apply: String,
    cancel_apply: String,
}

fn apply_choices(selected: &str) -> Vec<Choice> {
    [("one", "This slot only"), ("rest", "This slot and every later slot of its series")]
        .into_iter()
        .map(|(value, text)| Choice::new(value, text, selected == value))
        .collect()
}

fn describe_series(detail: &SlotDetail) -> String {
    let series = &detail.series;
    let mut text =
        format!("#{} {}, from {}", series.id, label(&series.recurrence), series.first_date.format("%d-%m-%Y"));
    if let Some(end) = series.end_date {
        text.push_str(&format!(" to {}", end.format("%d-%m-%Y")));
    }
    if let Some(count) = series.occurrences {
        text.push_str(&format!(", {count} slots"));
    }
    if series.cancelled {
        text.push_str(", cancelled");
    }
    text
}

fn slot_page(
    state: &AppState,
    signed_in: &SignedIn,
    detail: &SlotDetail,
    values: &EditValues,
    errors: &Errors,
) -> Result<HttpResponse, DashboardError> {
    let zone = state.engine.settings.zone();
    let slot = &detail.slot;
    let started = slot.starts_at <= state.engine.clock.now_naive();
    let edit_widgets = vec![
        Widget::input("capacity", "Places", &values.capacity, errors)
            .kind("number")
            .hint(format!("1 to {MAX_CAPACITY}, and not below the places already booked. Leave empty to keep it."))
            .into(),
        Widget::input("start_time", "Start time", &values.start_time, errors)
            .kind("time")
            .hint("HH:MM on the same day. Leave empty to keep it. Booked patients are texted the new time.")
            .into(),
        Widget::select("apply", "Apply to", apply_choices(&values.apply), errors).required().into(),
    ];
    let cancel_widgets =
        vec![Widget::select("cancel_apply", "Cancel", apply_choices(&values.cancel_apply), errors).required().into()];
    let page = SlotPage {
        layout: Layout::signed_in(&format!("Slot {}", slot.id), "slots", signed_in),
        id: slot.id.0,
        facility_id: detail.facility.id.0,
        facility: format!("{} ({})", detail.facility.name, detail.facility.code),
        case_type: format!("{} ({})", detail.case_type.name, detail.case_type.code),
        start: local_time(zone, slot.starts_at),
        capacity: slot.capacity,
        booked: slot.booked,
        cancelled: slot.cancelled,
        started,
        series: describe_series(detail),
        tasks: detail
            .tasks
            .iter()
            .map(|task| TaskLine {
                id: task.id.0,
                beneficiary: task.beneficiary_name.clone(),
                status: task.status.clone(),
                status_label: label(&task.status),
            })
            .collect(),
        csrf_token: signed_in.csrf_token().to_owned(),
        errors: errors.summary(),
        edit_widgets,
        cancel_widgets,
    };
    let status = if errors.is_empty() {
        actix_web::http::StatusCode::OK
    } else {
        actix_web::http::StatusCode::UNPROCESSABLE_ENTITY
    };
    render_with_status(status, &page)
}

async fn load_slot(
    state: &AppState,
    signed_in: &SignedIn,
    path: web::Path<String>,
) -> Result<SlotDetail, DashboardError> {
    let Ok(id) = path.into_inner().parse::<i32>() else {
        return Err(DashboardError::NotFound);
    };
    let scope = signed_in.scope.clone();
    state
        .engine
        .database
        .run(move |connection| scoped_slots::find_slot(connection, &scope, SlotId(id)).map_err(DbError::from))
        .await?
        .ok_or(DashboardError::NotFound)
}

/// `GET /dashboard/slots/{id}`
pub async fn show(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    path: web::Path<String>,
) -> Result<HttpResponse, DashboardError> {
    let detail = load_slot(&state, &signed_in, path).await?;
    let values = EditValues { apply: "one".to_owned(), cancel_apply: "one".to_owned(), ..EditValues::default() };
    slot_page(&state, &signed_in, &detail, &values, &Errors::default())
}

/// `POST /dashboard/slots/{id}/edit`
pub async fn edit(
    request: HttpRequest,
    state: web::Data<AppState>,
    signed_in: SignedIn,
    path: web::Path<String>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, DashboardError> {
    let form = FormData::from(form.into_inner());
    form.check_csrf(&signed_in, &request)?;
    let detail = load_slot(&state, &signed_in, path).await?;
    let values = EditValues {
        capacity: form.get("capacity"),
        start_time: form.get("start_time"),
        apply: form.get("apply"),
        cancel_apply: "one".to_owned(),
    };

    let mut errors = Errors::default();
    let capacity = match values.capacity.as_str() {
        "" => None,
        text => match text.parse::<i32>() {
            Ok(capacity) if (1..=MAX_CAPACITY).contains(&capacity) => Some(capacity),
            _ => {
                errors.add(
                    "capacity",
                    format!("'{text}' is not a capacity: use a whole number from 1 to {MAX_CAPACITY}."),
                );
                None
            }
        },
    };
    let start_time = match values.start_time.as_str() {
        "" => None,
        text => {
            let parsed = parse_time(text);
            if parsed.is_none() {
                errors.add("start_time", format!("'{text}' is not a time; write it as HH:MM, such as 09:30."));
            }
            parsed
        }
    };
    if values.capacity.is_empty() && values.start_time.is_empty() {
        errors.add("capacity", "Enter a new number of places or a new start time.");
    }
    let rest = match values.apply.as_str() {
        "one" => false,
        "rest" => true,
        _ => {
            errors.add("apply", "Choose this slot only, or this and every later slot.");
            false
        }
    };
    if detail.slot.cancelled {
        errors.add("capacity", "This slot is cancelled, so it cannot be changed.");
    } else if detail.slot.starts_at <= state.engine.clock.now_naive() {
        errors.add("capacity", "This slot has started, so it cannot be changed.");
    }
    if !errors.is_empty() {
        return slot_page(&state, &signed_in, &detail, &values, &errors);
    }

    let context = state.engine.booking.clone();
    let now = state.engine.clock.now_naive();
    let slot_id = detail.slot.id;
    let changed = state
        .engine
        .database
        .run(move |connection| {
            Ok::<_, DbError>(slot_admin::edit(connection, &context, slot_id, capacity, start_time, rest, now))
        })
        .await?;
    match changed {
        Ok(count) => {
            let staff = signed_in.user.id;
            tracing::info!(staff_id = %staff, slot_id = %slot_id, slots = count, rest, "staff user {staff} edited slot {slot_id}");
            Ok(see_other(&format!("{LIST_PATH}?facility={}&notice=edited&slots={count}", detail.facility.id)))
        }
        Err(error) => match series_error_field(error, &mut errors) {
            Ok(()) => slot_page(&state, &signed_in, &detail, &values, &errors),
            Err(SlotError::Database(error)) => Err(error.into()),
            Err(SlotError::SlotNotFound(_)) => Err(DashboardError::NotFound),
            Err(other) => Err(DashboardError::Internal(anyhow::Error::new(other).context("editing a slot failed"))),
        },
    }
}

/// `POST /dashboard/slots/{id}/cancel`
pub async fn cancel(
    request: HttpRequest,
    state: web::Data<AppState>,
    signed_in: SignedIn,
    path: web::Path<String>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, DashboardError> {
    let form = FormData::from(form.into_inner());
    form.check_csrf(&signed_in, &request)?;
    let detail = load_slot(&state, &signed_in, path).await?;
    let values =
        EditValues { apply: "one".to_owned(), cancel_apply: form.get("cancel_apply"), ..EditValues::default() };

    let mut errors = Errors::default();
    let rest = match values.cancel_apply.as_str() {
        "one" => false,
        "rest" => true,
        _ => {
            errors.add("cancel_apply", "Choose this slot only, or this and every later slot.");
            false
        }
    };
    if detail.slot.cancelled && !rest {
        errors.add("cancel_apply", "This slot is cancelled already.");
    }
    if !errors.is_empty() {
        return slot_page(&state, &signed_in, &detail, &values, &errors);
    }

    let context = state.engine.booking.clone();
    let now = state.engine.clock.now_naive();
    let slot_id = detail.slot.id;
    let cancelled = state
        .engine
        .database
        .run(move |connection| Ok::<_, DbError>(slot_admin::cancel(connection, &context, slot_id, rest, now)))
        .await?;
    match cancelled {
        Ok(summary) => {
            let staff = signed_in.user.id;
            tracing::info!(
                staff_id = %staff,
                slot_id = %slot_id,
                slots = summary.slots,
                moved = summary.moved,
                flagged = summary.flagged,
                "staff user {staff} cancelled slot {slot_id}{}",
                if rest { " and the rest of its series" } else { "" }
            );
            Ok(see_other(&format!(
                "{LIST_PATH}?facility={}&notice=cancelled&slots={}&moved={}&flagged={}",
                detail.facility.id, summary.slots, summary.moved, summary.flagged
            )))
        }
        Err(SlotError::AlreadyCancelled(_)) => {
            errors.add("cancel_apply", "This slot is cancelled already.");
            slot_page(&state, &signed_in, &detail, &values, &errors)
        }
        Err(SlotError::SlotNotFound(_)) => Err(DashboardError::NotFound),
        Err(SlotError::Database(error)) => Err(error.into()),
        Err(other) => Err(DashboardError::Internal(anyhow::Error::new(other).context("cancelling a slot failed"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(recurrence: &str, end_date: &str, occurrences: &str) -> SeriesValues {
        SeriesValues {
            facility: "1".into(),
            case_type: "1".into(),
            first_date: "2026-03-09".into(),
            start_time: "09:30".into(),
            capacity: "10".into(),
            recurrence: recurrence.into(),
            end_date: end_date.into(),
            occurrences: occurrences.into(),
        }
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, 2).expect("valid date")
    }

    #[test]
    fn weekly_series_needs_an_end() {
        let mut errors = Errors::default();

        let request = values("weekly", "", "").check("WGL".into(), "ANC".into(), today(), &mut errors);

        assert!(request.is_none());
        assert!(errors.get("end_date").is_some_and(|message| message.contains("needs an end")));
    }

    #[test]
    fn one_off_series_ignores_end() {
        let mut errors = Errors::default();

        let request = values("never", "31-12-2026", "").check("WGL".into(), "ANC".into(), today(), &mut errors);

        let request = request.expect("valid request");
        assert_eq!(request.end_date, None);
        assert_eq!(request.start_time, NaiveTime::from_hms_opt(9, 30, 0).expect("valid time"));
    }

    #[test]
    fn series_fields_are_checked() {
        let mut bad = values("yearly", "01-01-2026", "0");
        bad.first_date = "2026-02-01".into();
        bad.start_time = "9.30".into();
        bad.capacity = "0".into();
        let mut errors = Errors::default();

        let request = bad.check("WGL".into(), "ANC".into(), today(), &mut errors);

        assert!(request.is_none());
        for field in ["first_date", "start_time", "capacity", "recurrence", "occurrences"] {
            assert!(errors.get(field).is_some(), "no error for {field}");
        }
    }

    #[test]
    fn dates_read_both_spellings() {
        assert_eq!(parse_date("2026-03-09"), parse_date("09-03-2026"));
        assert!(parse_date("9/3/2026").is_none());
    }
}
