//! `GET /dashboard/`: the numbers an officer checks first, in scope.

use actix_web::{web, HttpResponse};
use askama::Template;
use chrono::{Days, NaiveTime, TimeZone as _};

use super::session::{SignedIn, HOME_PATH};
use super::view::Layout;
use super::{render, see_other, DashboardError};
use crate::db::client_requests::ClientRequest;
use crate::db::scoped::{self, HomeCounts};
use crate::db::slots::local_to_utc;
use crate::db::staff::Scope;
use crate::db::DbError;
use crate::web::AppState;

/// Failed SMS older than this are left out of the home page count, which
/// would otherwise only ever grow.
pub const FAILED_SMS_DAYS: u64 = 7;

#[derive(Template)]
#[template(path = "dashboard/home.html")]
struct HomePage {
    layout: Layout,
    counts: HomeCounts,
    /// Open client requests in scope, waiting for a helper.
    waiting_requests: i64,
    /// Requests assigned to the signed-in user and not closed.
    held_requests: i64,
    /// The corporations the numbers cover, as a sentence.
    coverage: String,
    today: String,
    failed_days: u64,
    /// First local date of the failed SMS count, for the outbox link.
    failed_from: String,
}

pub async fn show(state: web::Data<AppState>, signed_in: SignedIn) -> Result<HttpResponse, DashboardError> {
    let zone = state.engine.settings.zone();
    let now = state.engine.clock.now_naive();
    let today = zone.from_utc_datetime(&now).date_naive();
    let tomorrow = today.checked_add_days(Days::new(1)).unwrap_or(today);
    let day_start = local_to_utc(zone, today, NaiveTime::MIN).unwrap_or(now);
    let day_end = local_to_utc(zone, tomorrow, NaiveTime::MIN).unwrap_or(now);
    let failed_since = now - chrono::Duration::days(FAILED_SMS_DAYS as i64);

    let scope = signed_in.scope.clone();
    let staff = signed_in.user.id;
    let (counts, waiting_requests, held_requests, corporations) = state
        .engine
        .database
        .run(move |connection| {
            let counts = scoped::home_counts(connection, &scope, day_start, day_end, failed_since)?;
            let waiting = ClientRequest::waiting_in(connection, &scope)?;
            let held = ClientRequest::held_by(connection, staff)?;
            let corporations = scoped::corporations(connection, &scope)?;
            Ok::<_, DbError>((counts, waiting, held, corporations))
        })
        .await?;

    let names: Vec<&str> = corporations.iter().map(|corporation| corporation.name.as_str()).collect();
    let coverage = match (&signed_in.scope, names.is_empty()) {
        (Scope::All, _) => "All corporations.".to_owned(),
        (Scope::Corporations(_), true) => "No corporation is assigned to you yet; ask an admin.".to_owned(),
        (Scope::Corporations(_), false) => format!("Your corporations: {}.", names.join(", ")),
    };
    render(&HomePage {
        layout: Layout::signed_in("Home", "home", &signed_in),
        counts,
        waiting_requests,
        held_requests,
        coverage,
        today: today.format("%d-%m-%Y").to_string(),
        failed_days: FAILED_SMS_DAYS,
        failed_from: zone.from_utc_datetime(&failed_since).format("%Y-%m-%d").to_string(),
    })
}

/// `GET /dashboard` without the slash goes to the home page.
pub async fn redirect_home() -> HttpResponse {
    see_other(HOME_PATH)
}
