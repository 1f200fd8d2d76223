//! `GET /api/v1/tasks` (the tasks in the user's scope, by category, a page
//! at a time) and `GET /api/v1/tasks/{id}` (one task with its history).

use std::collections::HashMap;

use actix_web::{web, HttpResponse};
use chrono::{DateTime, FixedOffset};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::ApiUser;
use super::flags::{flag_item, FlagItem};
use super::{local_time, parse_path_id, ApiError, ErrorBody, PageQuery};
use crate::db::ids::{InboundId, TaskId};
use crate::db::scoped::{self, flag_status, TaskCategory, TaskDetail, TaskFilter, TaskListRow, TaskSort};
use crate::db::DbError;
use crate::web::AppState;

const TASK_NOT_FOUND: &str = "task not found";

/// A category of the task list. A task is in at most one, and a cancelled
/// task is in none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Booked and not followed up yet, without an open flag.
    New,
    /// Follow-up SMS sent to the agent, waiting for the reply, without an
    /// open flag.
    FollowUpDue,
    /// Completed, without an open flag.
    Completed,
    /// Escalated to an officer, or with an open flag.
    Flagged,
}

impl Category {
    fn parse(text: &str) -> Option<Self> {
        match text {
            "new" => Some(Category::New),
            "follow_up_due" => Some(Category::FollowUpDue),
            "completed" => Some(Category::Completed),
            "flagged" => Some(Category::Flagged),
            _ => None,
        }
    }

    fn to_db(self) -> TaskCategory {
        match self {
            Category::New => TaskCategory::New,
            Category::FollowUpDue => TaskCategory::FollowUpDue,
            Category::Completed => TaskCategory::Completed,
            Category::Flagged => TaskCategory::Flagged,
        }
    }

    fn from_db(category: TaskCategory) -> Self {
        match category {
            TaskCategory::New => Category::New,
            TaskCategory::FollowUpDue => Category::FollowUpDue,
            TaskCategory::Completed => Category::Completed,
            TaskCategory::Flagged => Category::Flagged,
        }
    }
}

/// Parameters of the task list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TaskListQuery {
    /// Only tasks of this category; every task when left out.
    #[param(value_type = Option<Category>)]
    category: Option<String>,
    /// Order by appointment time: `asc` (the default, soonest first) or
    /// `desc`.
    #[param(value_type = Option<String>, pattern = "^(asc|desc)$", example = "asc")]
    order: Option<String>,
}

/// One task in a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskSummary {
    pub id: i32,
    /// `booked`, `follow_up_sent`, `completed`, `escalated` or `cancelled`.
    #[schema(example = "booked")]
    pub status: String,
    /// `null` for a cancelled task.
    pub category: Option<Category>,
    pub beneficiary_name: String,
    /// Start of the appointment, in the business time zone.
    #[schema(value_type = String, format = DateTime, example = "2026-03-03T10:00:00+05:30")]
    pub appointment_at: DateTime<FixedOffset>,
    /// When the booking was made.
    #[schema(value_type = String, format = DateTime)]
    pub booked_at: DateTime<FixedOffset>,
    #[schema(example = "WGL")]
    pub facility_code: String,
    pub facility_name: String,
    #[schema(example = "ANC")]
    pub case_code: String,
    /// The number the agent types in SMS.
    pub agent_id: i32,
    pub agent_name: String,
    pub reschedule_count: i32,
}

/// A page of tasks.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskPage {
    pub items: Vec<TaskSummary>,
    /// This page's number, from 1.
    pub page: i64,
    pub per_page: i64,
    /// Tasks on all pages.
    pub total: i64,
    /// Number of pages, at least 1.
    pub pages: i64,
}

fn summary(zone: Tz, row: TaskListRow, has_open_flag: bool) -> TaskSummary {
    TaskSummary {
        id: row.id.0,
        category: TaskCategory::of(&row.status, has_open_flag).map(Category::from_db),
        status: row.status,
        beneficiary_name: row.beneficiary_name,
        appointment_at: local_time(zone, row.starts_at),
        booked_at: local_time(zone, row.booked_at),
        facility_code: row.facility_code,
        facility_name: row.facility_name,
        case_code: row.case_code,
        agent_id: row.agent_id.0,
        agent_name: row.agent_name,
        reschedule_count: row.reschedule_count,
    }
}

/// Lists the tasks of the user's corporations, optionally of one category,
/// ordered by appointment time and then by id.
#[utoipa::path(
    get,
    path = "/api/v1/tasks",
    operation_id = "list_tasks",
    tag = "tasks",
    security(("bearer" = [])),
    params(TaskListQuery, PageQuery),
    responses(
        (status = 200, description = "A page of tasks", body = TaskPage),
        (status = 400, description = "An invalid category, order, page or per_page", body = ErrorBody),
        (status = 401, description = "Missing, unknown, expired or revoked token", body = ErrorBody),
        (status = 503, description = "The database is busy", body = ErrorBody),
    )
)]
pub async fn list(
    state: web::Data<AppState>,
    api_user: ApiUser,
    query: web::Query<TaskListQuery>,
    page_query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let category = match query.category.as_deref().map(str::trim).filter(|text| !text.is_empty()) {
        None => None,
        Some(text) => Some(Category::parse(text).ok_or_else(|| ApiError::BadRequest {
            field: Some("category"),
            message: format!("invalid category '{text}': use new, follow_up_due, completed or flagged"),
        })?),
    };
    let descending = match query.order.as_deref().map(str::trim).unwrap_or("") {
        "" | "asc" => false,
        "desc" => true,
        other => {
            return Err(ApiError::BadRequest {
                field: Some("order"),
                message: format!("invalid order '{other}': use asc or desc"),
            })
        }
    };
    let page = page_query.parse()?;
    let zone = state.engine.settings.zone();

    let scope = api_user.scope.clone();
    let filter = TaskFilter { sort: TaskSort::Appointment, descending, ..TaskFilter::default() };
    let (rows, flagged) = state
        .engine
        .database
        .run(move |connection| {
            let rows = scoped::list_tasks_in(
                connection,
                &scope,
                &filter,
                category.map(Category::to_db),
                page.per_page,
                page.offset(),
            )?;
            let ids: Vec<TaskId> = rows.rows.iter().map(|row| row.id).collect();
            let flagged = scoped::tasks_with_open_flags(connection, &scope, &ids)?;
            Ok::<_, DbError>((rows, flagged))
        })
        .await?;

    let items = rows
        .rows
        .into_iter()
        .map(|row| {
            let has_open_flag = flagged.contains(&row.id);
            summary(zone, row, has_open_flag)
        })
        .collect();
    Ok(HttpResponse::Ok().json(TaskPage {
        items,
        page: page.page,
        per_page: page.per_page,
        total: rows.total,
        pages: page.pages(rows.total),
    }))
}

/// The beneficiary of a task.
#[derive(Debug, Serialize, ToSchema)]
pub struct BeneficiaryView {
    pub name: String,
    /// E.164.
    #[schema(example = "+919876543210")]
    pub phone: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CorporationView {
    pub id: i32,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FacilityView {
    pub id: i32,
    #[schema(example = "WGL")]
    pub code: String,
    pub name: String,
    /// The address sent to patients.
    pub address: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CaseTypeView {
    pub id: i32,
    #[schema(example = "ANC")]
    pub code: String,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AgentView {
    /// The number the agent types in SMS.
    pub id: i32,
    pub name: String,
    /// E.164.
    pub phone: String,
}

/// A change of a task's status.
#[derive(Debug, Serialize, ToSchema)]
pub struct TransitionView {
    /// `null` for the creation of the task.
    pub from_status: Option<String>,
    pub to_status: String,
    /// `agent_sms`, `scheduler`, `officer` or `system`.
    pub actor: String,
    /// The cause of the change, in English.
    pub cause: String,
    /// The SMS that caused it, if one did; listed in `inbound`.
    pub inbound_message_id: Option<i32>,
    #[schema(value_type = String, format = DateTime)]
    pub at: DateTime<FixedOffset>,
}

/// An SMS received.
#[derive(Debug, Serialize, ToSchema)]
pub struct InboundView {
    pub id: i32,
    /// E.164 when the sender parsed as a phone number.
    pub sender: String,
    pub text: String,
    #[schema(value_type = String, format = DateTime)]
    pub received_at: DateTime<FixedOffset>,
}

/// An SMS sent or queued.
#[derive(Debug, Serialize, ToSchema)]
pub struct OutboundView {
    pub id: i32,
    pub recipient: String,
    pub text: String,
    /// The message template, e.g. `patient-appointment`.
    pub template_id: String,
    /// `queued`, `sending`, `sent`, `failed` or `delivered`.
    pub status: String,
    pub attempts: i32,
    /// The provider's last error, if a send failed.
    pub last_error: Option<String>,
    /// The inbound SMS this one replies to, if any; listed in `inbound`.
    pub inbound_message_id: Option<i32>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<FixedOffset>,
}

/// A follow-up SMS to the agent and the reply.
#[derive(Debug, Serialize, ToSchema)]
pub struct FollowUpView {
    /// The id the agent types in the reply.
    pub tracking_id: String,
    /// `open` (waiting for the reply), `answered` or `expired`.
    pub status: String,
    #[schema(value_type = String, format = DateTime)]
    pub sent_at: DateTime<FixedOffset>,
    /// `SC` (completed) or `RS` (reschedule), once answered.
    pub reply: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub replied_at: Option<DateTime<FixedOffset>>,
}

/// Everything that happened to a task, each list oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskHistory {
    pub transitions: Vec<TransitionView>,
    /// The booking SMS, follow-up replies and every other SMS the task's
    /// transitions, messages and flags refer to.
    pub inbound: Vec<InboundView>,
    pub outbound: Vec<OutboundView>,
    pub follow_ups: Vec<FollowUpView>,
    pub flags: Vec<FlagItem>,
}

/// One task with its history.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskDetailView {
    pub id: i32,
    #[schema(example = "booked")]
    pub status: String,
    /// `null` for a cancelled task.
    pub category: Option<Category>,
    pub beneficiary: BeneficiaryView,
    #[schema(value_type = String, format = DateTime, example = "2026-03-03T10:00:00+05:30")]
    pub appointment_at: DateTime<FixedOffset>,
    #[schema(value_type = String, format = DateTime)]
    pub booked_at: DateTime<FixedOffset>,
    pub reschedule_count: i32,
    pub corporation: CorporationView,
    pub facility: FacilityView,
    pub case_type: CaseTypeView,
    pub agent: AgentView,
    pub history: TaskHistory,
}

fn detail_view(zone: Tz, detail: TaskDetail) -> TaskDetailView {
    let has_open_flag = detail.flags.iter().any(|flag| flag.status == flag_status::OPEN);
    let task = detail.task;
    let (agent_id, agent_name) = (detail.agent.id, detail.agent.name.clone());
    let flag_messages: HashMap<InboundId, (String, String)> =
        detail.inbound.iter().map(|message| (message.id, (message.sender.clone(), message.text.clone()))).collect();
    let history = TaskHistory {
        transitions: detail
            .transitions
            .into_iter()
            .map(|transition| TransitionView {
                from_status: transition.from_status,
                to_status: transition.to_status,
                actor: transition.actor,
                cause: transition.cause,
                inbound_message_id: transition.inbound_message_id.map(|id| id.0),
                at: local_time(zone, transition.created_at),
            })
            .collect(),
        inbound: detail
            .inbound
            .into_iter()
            .map(|message| InboundView {
                id: message.id.0,
                sender: message.sender,
                text: message.text,
                received_at: local_time(zone, message.received_at),
            })
            .collect(),
        outbound: detail
            .outbound
            .into_iter()
            .map(|message| OutboundView {
                id: message.id.0,
                recipient: message.recipient,
                text: message.text,
                template_id: message.template_id,
                status: message.status,
                attempts: message.attempts,
                last_error: message.last_error,
                inbound_message_id: message.inbound_message_id.map(|id| id.0),
                created_at: local_time(zone, message.created_at),
            })
            .collect(),
        follow_ups: detail
            .follow_ups
            .into_iter()
            .map(|follow_up| FollowUpView {
                tracking_id: follow_up.tracking_id,
                status: follow_up.status,
                sent_at: local_time(zone, follow_up.sent_at),
                reply: follow_up.reply,
                replied_at: follow_up.replied_at.map(|at| local_time(zone, at)),
            })
            .collect(),
        flags: detail
            .flags
            .into_iter()
            .map(|flag| {
                let agent = flag.agent_id.filter(|id| *id == agent_id).map(|_| agent_name.clone());
                let message = flag.inbound_message_id.and_then(|id| flag_messages.get(&id)).cloned();
                let (sender, text) = message.unzip();
                flag_item(zone, flag, agent, sender, text)
            })
            .collect(),
    };
    TaskDetailView {
        id: task.id.0,
        category: TaskCategory::of(&task.status, has_open_flag).map(Category::from_db),
        status: task.status,
        beneficiary: BeneficiaryView { name: task.beneficiary_name, phone: task.beneficiary_phone },
        appointment_at: local_time(zone, detail.slot.starts_at),
        booked_at: local_time(zone, task.created_at),
        reschedule_count: task.reschedule_count,
        corporation: CorporationView { id: detail.corporation.id.0, name: detail.corporation.name },
        facility: FacilityView {
            id: detail.facility.id.0,
            code: detail.facility.code,
            name: detail.facility.name,
            address: detail.facility.address,
        },
        case_type: CaseTypeView { id: detail.case_type.id.0, code: detail.case_type.code, name: detail.case_type.name },
        agent: AgentView { id: detail.agent.id.0, name: detail.agent.name, phone: detail.agent.phone },
        history,
    }
}

/// Returns one task of the user's corporations with its history. A task of
/// another corporation gets the same 404 as a missing one.
#[utoipa::path(
    get,
    path = "/api/v1/tasks/{id}",
    operation_id = "get_task",
    tag = "tasks",
    security(("bearer" = [])),
    params(("id" = i32, Path, description = "Task id")),
    responses(
        (status = 200, description = "The task and its history", body = TaskDetailView),
        (status = 401, description = "Missing, unknown, expired or revoked token", body = ErrorBody),
        (status = 404, description = "No such task in the user's corporations", body = ErrorBody),
        (status = 503, description = "The database is busy", body = ErrorBody),
    )
)]
pub async fn show(
    state: web::Data<AppState>,
    api_user: ApiUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = TaskId(parse_path_id(&path.into_inner(), TASK_NOT_FOUND)?);
    let zone = state.engine.settings.zone();

    let scope = api_user.scope.clone();
    let detail = state
        .engine
        .database
        .run(move |connection| scoped::find_task(connection, &scope, id).map_err(DbError::from))
        .await?
        .ok_or(ApiError::NotFound(TASK_NOT_FOUND))?;

    Ok(HttpResponse::Ok().json(detail_view(zone, detail)))
}
