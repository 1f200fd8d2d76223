//! `GET /dashboard/tasks` (the filtered, sorted, paged task list) and
//! `GET /dashboard/tasks/{id}` (one task with its whole history).

use actix_web::{web, HttpResponse};
use askama::Template;
use chrono::{Days, NaiveDate, NaiveDateTime, NaiveTime};
use chrono_tz::Tz;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde::Deserialize;

use super::session::SignedIn;
use super::view::{actor_label, label, local_time, Layout, TASK_STATUSES};
use super::{render, DashboardError};
use crate::db::ids::{AgentId, CaseTypeId, CorporationId, FacilityId, TaskId};
use crate::db::scoped::{self, FilterChoices, TaskDetail, TaskFilter, TaskListRow, TaskSort};
use crate::db::slots::local_to_utc;
use crate::db::DbError;
use crate::web::AppState;

/// Tasks per page of the list.
pub const PAGE_SIZE: i64 = 50;

/// The list's query parameters as sent by the filter form and the links;
/// empty values mean "any".
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    corporation: Option<String>,
    facility: Option<String>,
    case_type: Option<String>,
    status: Option<String>,
    agent: Option<String>,
    from: Option<String>,
    to: Option<String>,
    sort: Option<String>,
    order: Option<String>,
    page: Option<String>,
}

/// An `<option>` of a filter `<select>`.
#[derive(Debug, Clone)]
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

/// A sortable column header: its link and its `aria-sort` state.
#[derive(Debug, Clone)]
struct SortLink {
    href: String,
    /// `ascending`, `descending` or `none`.
    aria_sort: &'static str,
}

#[derive(Debug, Clone)]
struct TaskRowView {
    id: i32,
    status: String,
    status_label: String,
    beneficiary: String,
    appointment: String,
    booked: String,
    facility: String,
    case_code: String,
    agent: String,
    reschedules: i32,
}

#[derive(Template)]
#[template(path = "dashboard/tasks.html")]
struct TaskListPage {
    layout: Layout,
    corporations: Vec<Choice>,
    facilities: Vec<Choice>,
    case_types: Vec<Choice>,
    statuses: Vec<Choice>,
    agents: Vec<Choice>,
    from: String,
    to: String,
    rows: Vec<TaskRowView>,
    total: i64,
    page: i64,
    pages: i64,
    previous_page: Option<String>,
    next_page: Option<String>,
    sort_appointment: SortLink,
    sort_booked: SortLink,
    sort_status: SortLink,
    sort_beneficiary: SortLink,
    sort_agent: SortLink,
    /// The CSV export with the same filters and sort.
    export_href: String,
}

/// The list's parameters after parsing.
#[derive(Debug, Clone)]
pub(super) struct ListRequest {
    pub(super) filter: TaskFilter,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    page: i64,
}

fn parse_id(field: &'static str, value: Option<&str>) -> Result<Option<i32>, DashboardError> {
    match value.map(str::trim).filter(|value| !value.is_empty()) {
        None => Ok(None),
        Some(text) => text
            .parse::<i32>()
            .map(Some)
            .map_err(|_| DashboardError::BadRequest { field, problem: format!("'{text}' is not a number") }),
    }
}

fn parse_date(field: &'static str, value: Option<&str>) -> Result<Option<NaiveDate>, DashboardError> {
    match value.map(str::trim).filter(|value| !value.is_empty()) {
        None => Ok(None),
        Some(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .or_else(|_| NaiveDate::parse_from_str(text, "%d-%m-%Y"))
            .map(Some)
            .map_err(|_| DashboardError::BadRequest {
                field,
                problem: format!("'{text}' is not a date; write it as dd-mm-yyyy"),
            }),
    }
}

fn parse_sort(value: Option<&str>) -> Result<TaskSort, DashboardError> {
    match value.unwrap_or("") {
        "" | "booked" => Ok(TaskSort::Booked),
        "appointment" => Ok(TaskSort::Appointment),
        "status" => Ok(TaskSort::Status),
        "beneficiary" => Ok(TaskSort::Beneficiary),
        "agent" => Ok(TaskSort::Agent),
        other => Err(DashboardError::BadRequest {
            field: "sort",
            problem: format!("'{other}' is not a column; use appointment, booked, status, beneficiary or agent"),
        }),
    }
}

fn sort_name(sort: TaskSort) -> &'static str {
    match sort {
        TaskSort::Appointment => "appointment",
        TaskSort::Booked => "booked",
        TaskSort::Status => "status",
        TaskSort::Beneficiary => "beneficiary",
        TaskSort::Agent => "agent",
    }
}

/// Start of a local date in UTC.
fn day_start(zone: Tz, date: NaiveDate) -> Option<NaiveDateTime> {
    local_to_utc(zone, date, NaiveTime::MIN)
}

impl ListQuery {
    pub(super) fn parse(&self, zone: Tz) -> Result<ListRequest, DashboardError> {
        let status = match self.status.as_deref().map(str::trim).filter(|status| !status.is_empty()) {
            None => None,
            Some(status) if TASK_STATUSES.iter().any(|(stored, _)| *stored == status) => Some(status.to_owned()),
            Some(other) => {
                return Err(DashboardError::BadRequest {
                    field: "status",
                    problem: format!("'{other}' is not a task status"),
                })
            }
        };
        let from = parse_date("from", self.from.as_deref())?;
        let to = parse_date("to", self.to.as_deref())?;
        let descending = match self.order.as_deref().unwrap_or("") {
            "" => self.sort.as_deref().is_none_or(|sort| sort.is_empty() || sort == "booked"),
            "desc" => true,
            "asc" => false,
            other => {
                return Err(DashboardError::BadRequest {
                    field: "order",
                    problem: format!("'{other}' is not an order; use asc or desc"),
                })
            }
        };
        let page = match self.page.as_deref().map(str::trim).filter(|page| !page.is_empty()) {
            None => 1,
            Some(text) => text.parse::<i64>().ok().filter(|page| (1..=1_000_000).contains(page)).ok_or_else(|| {
                DashboardError::BadRequest { field: "page", problem: format!("'{text}' is not a page number") }
            })?,
        };

        let filter = TaskFilter {
            corporation: parse_id("corporation", self.corporation.as_deref())?.map(CorporationId),
            facility: parse_id("facility", self.facility.as_deref())?.map(FacilityId),
            case_type: parse_id("case_type", self.case_type.as_deref())?.map(CaseTypeId),
            status,
            agent: parse_id("agent", self.agent.as_deref())?.map(AgentId),
            starts_from: from.and_then(|date| day_start(zone, date)),
            starts_before: to
                .and_then(|date| date.checked_add_days(Days::new(1)))
                .and_then(|date| day_start(zone, date)),
            sort: parse_sort(self.sort.as_deref())?,
            descending,
        };
        Ok(ListRequest { filter, from, to, page })
    }
}

impl ListRequest {
    /// Returns the query-string pairs that reproduce the filters, without
    /// sort, order and page.
    pub(super) fn filter_pairs(&self) -> Vec<(&'static str, String)> {
        let filter = &self.filter;
        let mut pairs = Vec::new();
        if let Some(id) = filter.corporation {
            pairs.push(("corporation", id.to_string()));
        }
        if let Some(id) = filter.facility {
            pairs.push(("facility", id.to_string()));
        }
        if let Some(id) = filter.case_type {
            pairs.push(("case_type", id.to_string()));
        }
        if let Some(status) = &filter.status {
            pairs.push(("status", status.clone()));
        }
        if let Some(id) = filter.agent {
            pairs.push(("agent", id.to_string()));
        }
        if let Some(date) = self.from {
            pairs.push(("from", date.format("%Y-%m-%d").to_string()));
        }
        if let Some(date) = self.to {
            pairs.push(("to", date.format("%Y-%m-%d").to_string()));
        }
        pairs
    }

    fn href(&self, sort: TaskSort, descending: bool, page: i64) -> String {
        let mut pairs = self.filter_pairs();
        pairs.push(("sort", sort_name(sort).to_owned()));
        pairs.push(("order", if descending { "desc" } else { "asc" }.to_owned()));
        if page > 1 {
            pairs.push(("page", page.to_string()));
        }
        let query: Vec<String> = pairs
            .iter()
            .map(|(name, value)| format!("{name}={}", utf8_percent_encode(value, NON_ALPHANUMERIC)))
            .collect();
        format!("/dashboard/tasks?{}", query.join("&"))
    }

    /// Builds the header link of a column. The current column toggles its
    /// order, and another column starts ascending.
    fn sort_link(&self, column: TaskSort) -> SortLink {
        let current = self.filter.sort == column;
        let descending = current && !self.filter.descending;
        let aria_sort = match (current, self.filter.descending) {
            (false, _) => "none",
            (true, false) => "ascending",
            (true, true) => "descending",
        };
        SortLink { href: self.href(column, descending, 1), aria_sort }
    }
}

fn choices<T>(
    items: &[T],
    selected: Option<i32>,
    value: impl Fn(&T) -> i32,
    label: impl Fn(&T) -> String,
) -> Vec<Choice> {
    items
        .iter()
        .map(|item| Choice {
            value: value(item).to_string(),
            label: label(item),
            selected: selected == Some(value(item)),
        })
        .collect()
}

fn row_view(zone: Tz, row: TaskListRow) -> TaskRowView {
    TaskRowView {
        id: row.id.0,
        status_label: label(&row.status),
        status: row.status,
        beneficiary: row.beneficiary_name,
        appointment: local_time(zone, row.starts_at),
        booked: local_time(zone, row.booked_at),
        facility: format!("{} ({})", row.facility_name, row.facility_code),
        case_code: row.case_code,
        agent: format!("{} ({})", row.agent_name, row.agent_id),
        reschedules: row.reschedule_count,
    }
}

pub async fn list(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, DashboardError> {
    let zone = state.engine.settings.zone();
    let request = query.parse(zone)?;

    let scope = signed_in.scope.clone();
    let filter = request.filter.clone();
    let offset = (request.page - 1) * PAGE_SIZE;
    let (page, choices_in_scope): (scoped::Page<TaskListRow>, FilterChoices) = state
        .engine
        .database
        .run(move |connection| {
            let page = scoped::list_tasks(connection, &scope, &filter, PAGE_SIZE, offset)?;
            let choices = scoped::filter_choices(connection, &scope)?;
            Ok::<_, DbError>((page, choices))
        })
        .await?;

    let pages = ((page.total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    let filter = &request.filter;
    let statuses = TASK_STATUSES
        .iter()
        .map(|(stored, label)| Choice {
            value: (*stored).to_owned(),
            label: (*label).to_owned(),
            selected: filter.status.as_deref() == Some(*stored),
        })
        .collect();
    let view = TaskListPage {
        layout: Layout::signed_in("Tasks", "tasks", &signed_in),
        corporations: choices(
            &choices_in_scope.corporations,
            filter.corporation.map(|id| id.0),
            |item| item.id.0,
            |item| item.name.clone(),
        ),
        facilities: choices(
            &choices_in_scope.facilities,
            filter.facility.map(|id| id.0),
            |item| item.id.0,
            |item| format!("{} ({})", item.name, item.code),
        ),
        case_types: choices(
            &choices_in_scope.case_types,
            filter.case_type.map(|id| id.0),
            |item| item.id.0,
            |item| format!("{} ({})", item.name, item.code),
        ),
        statuses,
        agents: choices(
            &choices_in_scope.agents,
            filter.agent.map(|id| id.0),
            |item| item.id.0,
            |item| format!("{} ({})", item.name, item.id),
        ),
        from: request.from.map(|date| date.format("%Y-%m-%d").to_string()).unwrap_or_default(),
        to: request.to.map(|date| date.format("%Y-%m-%d").to_string()).unwrap_or_default(),
        total: page.total,
        rows: page.rows.into_iter().map(|row| row_view(zone, row)).collect(),
        page: request.page,
        pages,
        previous_page: (request.page > 1).then(|| request.href(filter.sort, filter.descending, request.page - 1)),
        next_page: (request.page < pages).then(|| request.href(filter.sort, filter.descending, request.page + 1)),
        sort_appointment: request.sort_link(TaskSort::Appointment),
        sort_booked: request.sort_link(TaskSort::Booked),
        sort_status: request.sort_link(TaskSort::Status),
        sort_beneficiary: request.sort_link(TaskSort::Beneficiary),
        sort_agent: request.sort_link(TaskSort::Agent),
        export_href: request.href(filter.sort, filter.descending, 1).replacen(
            "/dashboard/tasks?",
            "/dashboard/tasks.csv?",
            1,
        ),
    };
    render(&view)
}

/// One entry of a task's history.
#[derive(Debug, Clone)]
struct Event {
    at: NaiveDateTime,
    /// Orders events of the same instant: what arrived before what it caused.
    rank: u8,
    time: String,
    kind: &'static str,
    summary: String,
    detail: String,
}

#[derive(Debug, Clone)]
struct FollowUpView {
    tracking_id: String,
    status: String,
    sent: String,
    reply: String,
    replied: String,
}

#[derive(Template)]
#[template(path = "dashboard/task.html")]
struct TaskPage {
    layout: Layout,
    id: i32,
    beneficiary: String,
    phone: String,
    status: String,
    status_label: String,
    appointment: String,
    facility: String,
    corporation: String,
    case_type: String,
    agent: String,
    booked: String,
    reschedules: i32,
    events: Vec<Event>,
    follow_ups: Vec<FollowUpView>,
}

fn history(zone: Tz, detail: &TaskDetail) -> Vec<Event> {
    let mut events = Vec::new();
    let mut push = |at: NaiveDateTime, rank: u8, kind: &'static str, summary: String, detail: String| {
        events.push(Event { at, rank, time: local_time(zone, at), kind, summary, detail });
    };
    for message in &detail.inbound {
        push(message.received_at, 0, "SMS in", format!("From {}", message.sender), message.text.clone());
    }
    for transition in &detail.transitions {
        let summary = match &transition.from_status {
            Some(from) => format!("{} → {}", label(from), label(&transition.to_status)),
            None => format!("Created as {}", label(&transition.to_status)),
        };
        push(
            transition.created_at,
            1,
            "Status",
            summary,
            format!("{} (by {})", transition.cause, actor_label(&transition.actor)),
        );
    }
    for follow_up in &detail.follow_ups {
        push(
            follow_up.sent_at,
            2,
            "Follow-up",
            format!("Sent with tracking id {}", follow_up.tracking_id),
            String::new(),
        );
        if let (Some(reply), Some(at)) = (&follow_up.reply, follow_up.replied_at) {
            push(at, 2, "Follow-up", format!("Answered {reply}"), format!("Tracking id {}", follow_up.tracking_id));
        }
    }
    for message in &detail.outbound {
        let plural = if message.attempts == 1 { "" } else { "s" };
        let mut state = format!("{}, {} attempt{plural}", label(&message.status), message.attempts);
        if let Some(error) = &message.last_error {
            state.push_str(&format!(", last error: {error}"));
        }
        push(message.created_at, 3, "SMS out", format!("To {} ({})", message.recipient, state), message.text.clone());
    }
    for flag in &detail.flags {
        let mut text = flag.detail.clone();
        if let Some(note) = &flag.resolution_note {
            text.push_str(&format!(" — {}: {}", label(&flag.status), note));
        }
        push(flag.created_at, 4, "Flag", format!("{} ({})", label(&flag.reason), label(&flag.status)), text);
    }
    events.sort_by_key(|event| (event.at, event.rank));
    events
}

pub async fn show(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    path: web::Path<String>,
) -> Result<HttpResponse, DashboardError> {
    let Ok(id) = path.into_inner().parse::<i32>() else {
        return Err(DashboardError::NotFound);
    };
    let zone = state.engine.settings.zone();

    let scope = signed_in.scope.clone();
    let detail = state
        .engine
        .database
        .run(move |connection| scoped::find_task(connection, &scope, TaskId(id)).map_err(DbError::from))
        .await?
        .ok_or(DashboardError::NotFound)?;

    let task = &detail.task;
    let page = TaskPage {
        layout: Layout::signed_in(&format!("Task {id}"), "tasks", &signed_in),
        id,
        beneficiary: task.beneficiary_name.clone(),
        phone: task.beneficiary_phone.clone(),
        status: task.status.clone(),
        status_label: label(&task.status),
        appointment: local_time(zone, detail.slot.starts_at),
        facility: format!("{} ({})", detail.facility.name, detail.facility.code),
        corporation: detail.corporation.name.clone(),
        case_type: format!("{} ({})", detail.case_type.name, detail.case_type.code),
        agent: format!("{} ({}, {})", detail.agent.name, detail.agent.id, detail.agent.phone),
        booked: local_time(zone, task.created_at),
        reschedules: task.reschedule_count,
        events: history(zone, &detail),
        follow_ups: detail
            .follow_ups
            .iter()
            .map(|follow_up| FollowUpView {
                tracking_id: follow_up.tracking_id.clone(),
                status: label(&follow_up.status),
                sent: local_time(zone, follow_up.sent_at),
                reply: follow_up.reply.clone().unwrap_or_default(),
                replied: follow_up.replied_at.map(|at| local_time(zone, at)).unwrap_or_default(),
            })
            .collect(),
    };
    render(&page)
}
