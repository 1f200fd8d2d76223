//! `GET /dashboard/outbox` (outbound SMS with their delivery state, in
//! scope) and `POST /dashboard/outbox/{id}/resend` (put a failed message
//! back in the queue). The outbox actor picks a resent message up at its
//! next poll (`outbox.poll_interval_ms`).

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{Days, NaiveTime};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::Deserialize;

use super::form::{Choice, FormData};
use super::session::SignedIn;
use super::slots::parse_date;
use super::view::{label, local_time, Layout};
use super::{render, see_other, DashboardError};
use crate::db::ids::{OutboundId, TaskId};
use crate::db::outbound::{status, OutboundMessage, OutboundResend};
use crate::db::scoped_outbox::{self, OutboxFilter, Resend};
use crate::db::slots::local_to_utc;
use crate::db::DbError;
use crate::sms::PhoneNumber;
use crate::web::AppState;

/// Characters escaped in query values: all but the unreserved ones of
/// RFC 3986, so `not_failed` stays readable.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// Messages per page.
pub const PAGE_SIZE: i64 = 50;

/// Stored statuses with the label people read, in delivery order.
const STATUSES: [(&str, &str); 5] = [
    (status::QUEUED, "Queued"),
    (status::SENDING, "Being sent"),
    (status::SENT, "Sent"),
    (status::DELIVERED, "Delivered"),
    (status::FAILED, "Failed"),
];

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    recipient: Option<String>,
    task: Option<String>,
    from: Option<String>,
    to: Option<String>,
    page: Option<String>,
    notice: Option<String>,
}

#[derive(Debug, Clone)]
struct MessageView {
    id: i32,
    created: String,
    updated: String,
    recipient: String,
    status: String,
    status_label: String,
    attempts: i32,
    text: String,
    template_id: String,
    task_id: Option<i32>,
    last_error: String,
    provider_id: String,
    failed: bool,
    resends: Vec<String>,
}

#[derive(Template)]
#[template(path = "dashboard/outbox.html")]
struct OutboxPage {
    layout: Layout,
    statuses: Vec<Choice>,
    recipient: String,
    task: String,
    from: String,
    to: String,
    notice: Option<&'static str>,
    rows: Vec<MessageView>,
    total: i64,
    page: i64,
    pages: i64,
    previous_page: Option<String>,
    next_page: Option<String>,
    csrf_token: String,
    /// The list's query string, sent back with a resend so the list comes
    /// back as it was.
    return_query: String,
}

/// Query-string names and values, in order.
type QueryPairs = Vec<(&'static str, String)>;

fn bad(field: &'static str, problem: String) -> DashboardError {
    DashboardError::BadRequest { field, problem }
}

fn nonempty(value: Option<&String>) -> Option<&str> {
    value.map(|value| value.trim()).filter(|value| !value.is_empty())
}

/// Parses the list's filters and returns them with the query pairs that
/// reproduce them.
fn parse_filter(query: &ListQuery, zone: chrono_tz::Tz) -> Result<(OutboxFilter, QueryPairs), DashboardError> {
    let mut pairs = Vec::new();
    let mut filter = OutboxFilter::default();
    if let Some(text) = nonempty(query.status.as_ref()) {
        if !STATUSES.iter().any(|(stored, _)| *stored == text) {
            return Err(bad(
                "status",
                format!("'{text}' is not a status; use queued, sending, sent, delivered or failed"),
            ));
        }
        filter.status = Some(text.to_owned());
        pairs.push(("status", text.to_owned()));
    }
    if let Some(text) = nonempty(query.recipient.as_ref()) {
        let phone = PhoneNumber::parse_indian_mobile(text)
            .or_else(|_| PhoneNumber::parse_e164(text))
            .map_err(|_| bad("recipient", format!("'{text}' is not a phone number such as 9876543210")))?;
        filter.recipient = Some(phone.to_string());
        pairs.push(("recipient", text.to_owned()));
    }
    if let Some(text) = nonempty(query.task.as_ref()) {
        let id = text
            .trim_start_matches('#')
            .parse::<i32>()
            .map_err(|_| bad("task", format!("'{text}' is not a task number")))?;
        filter.task = Some(TaskId(id));
        pairs.push(("task", id.to_string()));
    }
    if let Some(text) = nonempty(query.from.as_ref()) {
        let date =
            parse_date(text).ok_or_else(|| bad("from", format!("'{text}' is not a date; write it as dd-mm-yyyy")))?;
        filter.created_from = local_to_utc(zone, date, NaiveTime::MIN);
        pairs.push(("from", date.format("%Y-%m-%d").to_string()));
    }
    if let Some(text) = nonempty(query.to.as_ref()) {
        let date =
            parse_date(text).ok_or_else(|| bad("to", format!("'{text}' is not a date; write it as dd-mm-yyyy")))?;
        filter.created_before =
            date.checked_add_days(Days::new(1)).and_then(|next| local_to_utc(zone, next, NaiveTime::MIN));
        pairs.push(("to", date.format("%Y-%m-%d").to_string()));
    }
    Ok((filter, pairs))
}

fn query_string(pairs: &[(&'static str, String)]) -> String {
    pairs
        .iter()
        .map(|(name, value)| format!("{name}={}", utf8_percent_encode(value, QUERY_VALUE)))
        .collect::<Vec<_>>()
        .join("&")
}

fn message_view(zone: chrono_tz::Tz, message: OutboundMessage, resends: &[OutboundResend]) -> MessageView {
    let resends = resends
        .iter()
        .filter(|resend| resend.outbound_message_id == message.id)
        .map(|resend| {
            let plural = if resend.previous_attempts == 1 { "" } else { "s" };
            format!(
                "Resent by {} on {} after {} attempt{plural}{}",
                resend.resent_by,
                local_time(zone, resend.created_at),
                resend.previous_attempts,
                resend.previous_error.as_deref().map(|error| format!(" (error: {error})")).unwrap_or_default()
            )
        })
        .collect();
    let status_label = STATUSES
        .iter()
        .find(|(stored, _)| *stored == message.status)
        .map_or_else(|| label(&message.status), |(_, text)| (*text).to_owned());
    MessageView {
        id: message.id.0,
        created: local_time(zone, message.created_at),
        updated: local_time(zone, message.updated_at),
        recipient: message.recipient,
        failed: message.status == status::FAILED,
        status_label,
        status: message.status,
        attempts: message.attempts,
        text: message.text,
        template_id: message.template_id,
        task_id: message.task_id.map(|id| id.0),
        last_error: message.last_error.unwrap_or_default(),
        provider_id: message.provider_message_id.unwrap_or_default(),
        resends,
    }
}

/// `GET /dashboard/outbox`
pub async fn list(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, DashboardError> {
    let zone = state.engine.settings.zone();
    let (filter, pairs) = parse_filter(&query, zone)?;
    let page_number = match nonempty(query.page.as_ref()) {
        None => 1,
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|page| (1..=1_000_000).contains(page))
            .ok_or_else(|| bad("page", format!("'{text}' is not a page number")))?,
    };
    let notice = match query.notice.as_deref() {
        Some("resent") => Some("The message is back in the queue and will be sent at the next outbox round."),
        Some("not_failed") => Some("That message has not failed (any more), so it was not resent."),
        _ => None,
    };

    let scope = signed_in.scope.clone();
    let offset = (page_number - 1) * PAGE_SIZE;
    let list_filter = filter.clone();
    let (page, resends) = state
        .engine
        .database
        .run(move |connection| {
            let page = scoped_outbox::list_outbound(connection, &scope, &list_filter, PAGE_SIZE, offset)?;
            let ids: Vec<OutboundId> = page.rows.iter().map(|message| message.id).collect();
            let resends = OutboundResend::of_messages(connection, &ids)?;
            Ok::<_, DbError>((page, resends))
        })
        .await?;

    let pages = ((page.total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    let return_query = query_string(&pairs);
    let href = |number: i64| {
        let mut with_page = pairs.clone();
        with_page.push(("page", number.to_string()));
        format!("/dashboard/outbox?{}", query_string(&with_page))
    };
    render(&OutboxPage {
        layout: Layout::signed_in("Outbox", "outbox", &signed_in),
        statuses: STATUSES
            .iter()
            .map(|(stored, text)| Choice::new(stored, *text, filter.status.as_deref() == Some(*stored)))
            .collect(),
        recipient: nonempty(query.recipient.as_ref()).unwrap_or_default().to_owned(),
        task: filter.task.map(|id| id.to_string()).unwrap_or_default(),
        from: pairs.iter().find(|(name, _)| *name == "from").map(|(_, value)| value.clone()).unwrap_or_default(),
        to: pairs.iter().find(|(name, _)| *name == "to").map(|(_, value)| value.clone()).unwrap_or_default(),
        notice,
        total: page.total,
        rows: page.rows.into_iter().map(|message| message_view(zone, message, &resends)).collect(),
        page: page_number,
        pages,
        previous_page: (page_number > 1).then(|| href(page_number - 1)),
        next_page: (page_number < pages).then(|| href(page_number + 1)),
        csrf_token: signed_in.csrf_token().to_owned(),
        return_query,
    })
}

/// `POST /dashboard/outbox/{id}/resend`: requeues a failed message in
/// scope with its attempts reset, and records who did it. A message of
/// another corporation gets 404, like a missing one.
pub async fn resend(
    request: HttpRequest,
    state: web::Data<AppState>,
    signed_in: SignedIn,
    path: web::Path<String>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, DashboardError> {
    let form = FormData::from(form.into_inner());
    form.check_csrf(&signed_in, &request)?;
    let Ok(id) = path.into_inner().parse::<i32>() else {
        return Err(DashboardError::NotFound);
    };
    // Only the filters the list understands go back into the redirect.
    let zone = state.engine.settings.zone();
    let back: ListQuery = filters_from_query(&form.get("return_query"));
    let return_pairs = parse_filter(&back, zone).map(|(_, pairs)| pairs).unwrap_or_default();

    let scope = signed_in.scope.clone();
    let by = signed_in.user.email.clone();
    let now = state.engine.clock.now_naive();
    let outcome = state
        .engine
        .database
        .run(move |connection| {
            scoped_outbox::resend(connection, &scope, OutboundId(id), &by, now).map_err(DbError::from)
        })
        .await?;

    let mut pairs = return_pairs;
    match outcome {
        Resend::Requeued => {
            let staff = signed_in.user.id;
            tracing::info!(staff_id = %staff, outbound_id = id, "staff user {staff} resent outbound message {id}");
            pairs.push(("notice", "resent".to_owned()));
        }
        Resend::NotFailed => pairs.push(("notice", "not_failed".to_owned())),
        Resend::NotFound => return Err(DashboardError::NotFound),
    }
    Ok(see_other(&format!("/dashboard/outbox?{}", query_string(&pairs))))
}

/// Reads the list's filters from a query string such as
/// `status=failed&recipient=98765`; anything unreadable is left out.
fn filters_from_query(query: &str) -> ListQuery {
    let params = crate::web::query::Params::parse(query);
    let value = |name: &str| params.get(name).map(|value| value.text.clone());
    ListQuery {
        status: value("status"),
        recipient: value("recipient"),
        task: value("task"),
        from: value("from"),
        to: value("to"),
        page: None,
        notice: None,
    }
}
