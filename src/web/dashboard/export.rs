//! `GET /dashboard/tasks.csv` and `GET /dashboard/flags.csv`: the task and
//! flag lists as CSV, with the filters of the page they are linked from
//! and limited to the user's scope like the pages.
//!
//! The files start with a UTF-8 byte order mark, so that spreadsheet
//! programs read Devanagari names correctly. A cell that a spreadsheet
//! would run as a formula (starting with `=`, `+`, `-`, `@`, tab or
//! carriage return) gets a leading `'`, except for phone numbers and plain
//! numbers such as `+919876543210`, which spreadsheets only read as
//! numbers.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use chrono::TimeZone as _;

use super::flags::{parse_view, ListQuery as FlagQuery};
use super::session::SignedIn;
use super::tasks::ListQuery as TaskQuery;
use super::view::local_time;
use super::DashboardError;
use crate::db::ids::TaskId;
use crate::db::scoped::{self, FlagListRow, TaskListRow};
use crate::db::{export, DbError};
use crate::web::AppState;

/// Rows read from the database per query while exporting.
const BATCH_ROWS: i64 = 5000;
/// Maximum number of rows in one export. Beyond it the filters must be
/// narrowed.
pub const MAX_EXPORT_ROWS: i64 = 100_000;

/// Returns `value` safe to open in a spreadsheet: a value that would be
/// read as a formula gets a leading `'`.
pub fn neutralise(value: &str) -> String {
    let Some(first) = value.chars().next() else {
        return String::new();
    };
    let is_number = {
        let rest = value.strip_prefix(['+', '-']).unwrap_or(value);
        !rest.is_empty()
            && rest.chars().all(|character| character.is_ascii_digit() || character == ' ' || character == '.')
    };
    if matches!(first, '=' | '+' | '-' | '@' | '\t' | '\r') && !is_number {
        format!("'{value}")
    } else {
        value.to_owned()
    }
}

/// Writes records to CSV in memory with the byte order mark first.
struct CsvOut {
    writer: csv::Writer<Vec<u8>>,
}

impl CsvOut {
    fn new(header: &[&str]) -> Result<Self, DashboardError> {
        let mut writer = csv::Writer::from_writer("\u{FEFF}".as_bytes().to_vec());
        writer.write_record(header).map_err(csv_failed)?;
        Ok(Self { writer })
    }

    fn row(&mut self, cells: &[String]) -> Result<(), DashboardError> {
        self.writer.write_record(cells.iter().map(|cell| neutralise(cell))).map_err(csv_failed)
    }

    fn finish(self, name: &str) -> Result<HttpResponse, DashboardError> {
        let bytes = self.writer.into_inner().map_err(|error| csv_failed(error.into_error().into()))?;
        Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")))
            .body(bytes))
    }
}

fn csv_failed(error: csv::Error) -> DashboardError {
    DashboardError::Internal(anyhow::Error::new(error).context("writing CSV failed"))
}

fn too_many(total: i64) -> DashboardError {
    DashboardError::BadRequest {
        field: "filters",
        problem: format!("the export would have {total} rows, more than {MAX_EXPORT_ROWS}; narrow the filters"),
    }
}

/// Builds the file name from its content and today's local date.
fn file_name(state: &AppState, what: &str) -> String {
    let zone = state.engine.settings.zone();
    let today = zone.from_utc_datetime(&state.engine.clock.now_naive()).date_naive();
    format!("{what}-{}.csv", today.format("%Y-%m-%d"))
}

/// `GET /dashboard/tasks.csv`: every task the task list shows with the
/// same filters and sort, on all pages.
pub async fn tasks(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    query: web::Query<TaskQuery>,
) -> Result<HttpResponse, DashboardError> {
    let zone = state.engine.settings.zone();
    let filter = query.parse(zone)?.filter;

    let scope = signed_in.scope.clone();
    let exported = state
        .engine
        .database
        .run(move |connection| {
            let mut rows: Vec<(TaskListRow, String)> = Vec::new();
            loop {
                let page = scoped::list_tasks(connection, &scope, &filter, BATCH_ROWS, rows.len() as i64)?;
                if page.total > MAX_EXPORT_ROWS {
                    return Ok::<_, DbError>(Err(page.total));
                }
                let ids: Vec<TaskId> = page.rows.iter().map(|row| row.id).collect();
                let phones = export::task_phones(connection, &ids)?;
                let done = (page.rows.len() as i64) < BATCH_ROWS;
                rows.extend(page.rows.into_iter().map(|row| {
                    let phone = phones.get(&row.id).cloned().unwrap_or_default();
                    (row, phone)
                }));
                if done {
                    return Ok(Ok(rows));
                }
            }
        })
        .await?;
    let rows = exported.map_err(too_many)?;

    let mut out = CsvOut::new(&[
        "task_id",
        "status",
        "beneficiary_name",
        "beneficiary_phone",
        "appointment",
        "facility_code",
        "facility_name",
        "case_code",
        "agent_id",
        "agent_name",
        "booked_at",
        "reschedules",
    ])?;
    for (row, phone) in rows {
        out.row(&[
            row.id.to_string(),
            row.status,
            row.beneficiary_name,
            phone,
            local_time(zone, row.starts_at),
            row.facility_code,
            row.facility_name,
            row.case_code,
            row.agent_id.to_string(),
            row.agent_name,
            local_time(zone, row.booked_at),
            row.reschedule_count.to_string(),
        ])?;
    }
    tracing::info!(staff_id = %signed_in.user.id, "staff user {} exported tasks as CSV", signed_in.user.id);
    out.finish(&file_name(&state, "tasks"))
}

/// `GET /dashboard/flags.csv`: every flag of the chosen view (open, closed
/// or all), newest first.
pub async fn flags(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    query: web::Query<FlagQuery>,
) -> Result<HttpResponse, DashboardError> {
    let zone = state.engine.settings.zone();
    let (view, _) = parse_view(query.view())?;

    let scope = signed_in.scope.clone();
    let exported = state
        .engine
        .database
        .run(move |connection| {
            let mut rows: Vec<FlagListRow> = Vec::new();
            loop {
                let page = scoped::list_flags(connection, &scope, view, BATCH_ROWS, rows.len() as i64)?;
                if page.total > MAX_EXPORT_ROWS {
                    return Ok::<_, DbError>(Err(page.total));
                }
                let done = (page.rows.len() as i64) < BATCH_ROWS;
                rows.extend(page.rows);
                if done {
                    return Ok(Ok(rows));
                }
            }
        })
        .await?;
    let rows = exported.map_err(too_many)?;

    let mut out = CsvOut::new(&[
        "flag_id",
        "flagged_at",
        "status",
        "reason",
        "detail",
        "agent_id",
        "agent_name",
        "sender",
        "text",
        "task_id",
        "resolved_by",
        "resolved_at",
        "resolution_note",
    ])?;
    for row in rows {
        let flag = row.flag;
        out.row(&[
            flag.id.to_string(),
            local_time(zone, flag.created_at),
            flag.status,
            flag.reason,
            flag.detail,
            flag.agent_id.map(|id| id.to_string()).unwrap_or_default(),
            row.agent_name.unwrap_or_default(),
            row.sender.unwrap_or_default(),
            row.text.unwrap_or_default(),
            flag.task_id.map(|id| id.to_string()).unwrap_or_default(),
            flag.resolved_by.unwrap_or_default(),
            flag.resolved_at.map(|at| local_time(zone, at)).unwrap_or_default(),
            flag.resolution_note.unwrap_or_default(),
        ])?;
    }
    tracing::info!(staff_id = %signed_in.user.id, "staff user {} exported flags as CSV", signed_in.user.id);
    out.finish(&file_name(&state, "flags"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_but_phones_are_not() {
        assert_eq!(neutralise("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(neutralise("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(neutralise("-1 SC"), "'-1 SC");
        assert_eq!(neutralise("+919876543210"), "+919876543210");
        assert_eq!(neutralise("-5"), "-5");
        assert_eq!(neutralise("Seema Devi"), "Seema Devi");
        assert_eq!(neutralise(""), "");
    }
}
