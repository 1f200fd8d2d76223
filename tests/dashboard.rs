//! Black-box tests of the staff dashboard: sign-in, rate limits, CSRF,
//! session expiry, logout, officer scoping and HTML escaping. Each test
//! starts the real server on port 0 with the demo NGO, a fresh SQLite file
//! and a virtual clock, and books through the SMS webhook. An HTTP client
//! with a cookie jar drives the pages and does not follow redirects, so
//! every redirect is checked.

mod dashboard_harness;

use chrono::{TimeZone as _, Utc};
use dashboard_harness::*;
use diesel::prelude::*;
use reqwest::header::SET_COOKIE;
use reqwest::StatusCode;
use sandesh::channels::SendError;
use sandesh::db::flags::FlaggedMessage;
use sandesh::db::ids::AgentId;
use sandesh::db::organisation::{CaseType, Facility};
use sandesh::db::schema::{corporations, slots};
use sandesh::db::staff::Role;
use sandesh::db::tasks::{Beneficiary, NewTask, Task};
use std::sync::Arc;

/// Returns the value of the session cookie that a response sets.
fn session_cookie(page: &Page) -> String {
    page.headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|value| value.strip_prefix("sandesh_session="))
        .and_then(|rest| rest.split(';').next())
        .expect("response sets the session cookie")
        .to_owned()
}

// ------------------------------------------------------------------ tests

#[tokio::test]
async fn admin_signs_in_and_sees_tasks() {
    let server = Server::start().await;
    server.add_staff(ADMIN_EMAIL, Role::Admin, ADMIN_PASSWORD, &[]).await;
    let seeded = server.seed_bookings().await;
    let browser = Browser::new(&server);

    let signed_in = browser.sign_in_ok(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let cookie = signed_in
        .headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with("sandesh_session="))
        .expect("session cookie")
        .to_owned();
    let home = browser.get("/dashboard/").await;
    let tasks = browser.get("/dashboard/tasks").await;
    let task = browser.get(&format!("/dashboard/tasks/{}", seeded.thane_task)).await;

    assert_eq!(signed_in.location.as_deref(), Some("/dashboard/"));
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(cookie.contains("Secure"), "{cookie}");
    assert!(cookie.contains("Path=/dashboard"), "{cookie}");
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains("All corporations."), "{}", home.body);
    assert!(home.body.contains(r#"<span class="count">2</span> bookings today"#), "{}", home.body);
    assert!(home.body.contains(r#"<span class="count">2</span> open flags"#), "{}", home.body);
    assert_eq!(tasks.status, StatusCode::OK);
    assert!(tasks.body.contains("Seema Devi"), "{}", tasks.body);
    assert!(tasks.body.contains("Rani Kumari"), "{}", tasks.body);
    assert!(tasks.body.contains("2 tasks"), "{}", tasks.body);
    let policy = tasks.headers.get("content-security-policy").and_then(|value| value.to_str().ok());
    assert!(policy.is_some_and(|policy| policy.contains("default-src 'none'")), "{policy:?}");
    assert_eq!(tasks.headers.get("cache-control").and_then(|value| value.to_str().ok()), Some("no-store"));
    assert_eq!(task.status, StatusCode::OK);
    assert!(task.body.contains("12 ANC Seema Devi 9876543210"), "inbound SMS missing: {}", task.body);
    assert!(task.body.contains("Created as Booked"), "transition missing: {}", task.body);
    assert!(task.body.contains("To +919876543210"), "patient SMS missing: {}", task.body);
    assert!(task.body.contains("Thane Municipal Corporation"), "{}", task.body);
}

#[tokio::test]
async fn home_counts_are_scoped() {
    let server = Server::start().await;
    server.add_staff(ADMIN_EMAIL, Role::Admin, ADMIN_PASSWORD, &[]).await;
    server.add_staff(OFFICER_EMAIL, Role::Officer, OFFICER_PASSWORD, &[THANE_CORPORATION]).await;
    server.send_sms(THANE_AGENT_PHONE, "12 ANC Seema Devi 9876543210").await;
    server.wait_for(1, 0).await;
    server.wait_outbox_idle().await;
    // The patient SMS and the agent's confirmation of the Mumbai booking fail.
    let rejection = || SendError::Permanent("rejected by the test".to_owned());
    server.provider.fail_next([rejection(), rejection()]);
    server.send_sms(MUMBAI_AGENT_PHONE, "15 ANC Rani Kumari 9876500001").await;
    server.wait_for(2, 0).await;
    server.wait_outbox_idle().await;
    // At 20:05 local time the scheduler sends the follow-ups of the day.
    let appointment = server
        .db(|connection| {
            slots::table
                .inner_join(sandesh::db::schema::tasks::table)
                .select(diesel::dsl::max(slots::starts_at))
                .first::<Option<chrono::NaiveDateTime>>(connection)
        })
        .await
        .expect("tasks have slots");
    let zone = chrono_tz::Asia::Kolkata;
    let local_day = zone.from_utc_datetime(&appointment).date_naive();
    let evening = zone
        .from_local_datetime(&local_day.and_hms_opt(20, 5, 0).expect("valid time"))
        .single()
        .expect("unambiguous time");
    server.clock.set(evening.with_timezone(&Utc));
    server.engine.run_scheduler(None).await.expect("scheduler runs");
    let admin = Browser::new(&server);
    admin.sign_in_ok(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let officer = Browser::new(&server);
    officer.sign_in_ok(OFFICER_EMAIL, OFFICER_PASSWORD).await;

    let admin_home = admin.get("/dashboard/").await.body;
    let officer_home = officer.get("/dashboard/").await.body;

    for (who, home, failed, awaiting) in [("admin", &admin_home, 2, 2), ("officer", &officer_home, 0, 1)] {
        assert!(
            home.contains(&format!(r#"<span class="count">{failed}</span> failed SMS"#)),
            "{who} should see {failed} failed SMS: {home}"
        );
        assert!(
            home.contains(&format!(r#"<span class="count">{awaiting}</span> follow-ups awaiting a reply"#)),
            "{who} should see {awaiting} follow-ups awaiting a reply: {home}"
        );
    }
}

#[tokio::test]
async fn task_list_filters_and_sorts() {
    let server = Server::start().await;
    server.add_staff(ADMIN_EMAIL, Role::Admin, ADMIN_PASSWORD, &[]).await;
    server.seed_bookings().await;
    let browser = Browser::new(&server);
    browser.sign_in_ok(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let mumbai: i32 = server
        .db(|connection| {
            corporations::table
                .filter(corporations::name.ne(THANE_CORPORATION))
                .select(corporations::id)
                .first(connection)
        })
        .await;

    let by_corporation = browser.get(&format!("/dashboard/tasks?corporation={mumbai}")).await;
    let by_agent = browser.get("/dashboard/tasks?agent=12").await;
    let by_status = browser.get("/dashboard/tasks?status=completed").await;
    let by_name_desc = browser.get("/dashboard/tasks?sort=beneficiary&order=desc").await;
    let by_dates = browser.get("/dashboard/tasks?from=2026-03-01&to=2026-03-01").await;
    let bad_date = browser.get("/dashboard/tasks?from=yesterday").await;
    let bad_page = browser.get("/dashboard/tasks?page=0").await;
    let empty_values = browser.get("/dashboard/tasks?corporation=&facility=&status=&from=&to=").await;

    assert!(by_corporation.body.contains("Rani Kumari"), "{}", by_corporation.body);
    assert!(!by_corporation.body.contains("Seema Devi"), "a Thane task in the Mumbai list");
    assert!(by_agent.body.contains("Seema Devi"), "{}", by_agent.body);
    assert!(!by_agent.body.contains("Rani Kumari"), "agent 15's task in agent 12's list");
    assert!(by_status.body.contains("0 tasks"), "{}", by_status.body);
    let seema = by_name_desc.body.find("Seema Devi").expect("Seema listed");
    let rani = by_name_desc.body.find("Rani Kumari").expect("Rani listed");
    assert!(seema < rani, "descending names put Seema before Rani");
    assert!(by_name_desc.body.contains(r#"aria-sort="descending""#));
    assert!(by_dates.body.contains("0 tasks"), "no appointment on 01-03-2026: {}", by_dates.body);
    assert_eq!(bad_date.status, StatusCode::BAD_REQUEST);
    assert!(bad_date.body.contains("Invalid from"), "{}", bad_date.body);
    assert_eq!(bad_page.status, StatusCode::BAD_REQUEST);
    assert_eq!(empty_values.status, StatusCode::OK);
    assert!(empty_values.body.contains("2 tasks"));
}

#[tokio::test]
async fn wrong_password_is_refused_and_not_logged() {
    let server = Server::start().await;
    let admin = server.add_staff(ADMIN_EMAIL, Role::Admin, ADMIN_PASSWORD, &[]).await;
    let browser = Browser::new(&server);
    let wrong = "Wrong-Password-7f3a9c";

    let refused = browser.sign_in(ADMIN_EMAIL, wrong).await;
    let unknown = browser.sign_in("nobody@ngo.example", wrong).await;
    let home = browser.get("/dashboard/").await;

    assert_eq!(refused.status, StatusCode::OK);
    assert!(refused.body.contains("The email or password is wrong."), "{}", refused.body);
    assert!(!refused.headers.get_all(SET_COOKIE).iter().any(|value| value.as_bytes().starts_with(b"sandesh_session=")));
    assert!(unknown.body.contains("The email or password is wrong."), "same message for unknown emails");
    assert_eq!(home.status, StatusCode::SEE_OTHER, "no session after a failed sign-in");
    let log = captured_log();
    assert!(log.contains(&format!("sign-in failed for staff user {admin}: wrong password")), "failure not logged");
    assert!(log.contains("sign-in failed: no active staff user has that email"), "unknown email not logged");
    assert!(!log.contains(wrong), "the log contains the password");
    assert!(!log.contains(ADMIN_PASSWORD), "the log contains the real password");
}

#[tokio::test]
async fn account_limit_rejects_sixth_attempt() {
    let server = Server::start().await;
    server.add_staff(ADMIN_EMAIL, Role::Admin, ADMIN_PASSWORD, &[]).await;
    let browser = Browser::new(&server);

    for attempt in 1..=5 {
        let page = browser.sign_in(ADMIN_EMAIL, "not the password").await;
        assert_eq!(page.status, StatusCode::OK, "attempt {attempt} is checked");
    }
    let limited = browser.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    server.clock.advance(chrono::Duration::minutes(16));
    let after_window = browser.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;

    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS, "even the right password is rejected");
    assert!(limited.body.contains("Too many failed sign-ins"), "{}", limited.body);
    assert_eq!(after_window.status, StatusCode::SEE_OTHER, "the limit ends with its window");
}

#[tokio::test]
async fn parallel_guesses_respect_account_limit() {
    let server = Server::start().await;
    server.add_staff(ADMIN_EMAIL, Role::Admin, ADMIN_PASSWORD, &[]).await;
    let browser = Arc::new(Browser::new(&server));
    let token = browser.csrf_of("/dashboard/login").await;

    let mut guesses = tokio::task::JoinSet::new();
    for guess in 0..12 {
        let (browser, token) = (browser.clone(), token.clone());
        guesses.spawn(async move {
            let password = format!("guess number {guess}");
            let fields = [("csrf_token", token.as_str()), ("email", ADMIN_EMAIL), ("password", password.as_str())];
            browser.post("/dashboard/login", &fields).await.status
        });
    }
    let statuses: Vec<StatusCode> = guesses.join_all().await;

    let checked = statuses.iter().filter(|status| **status == StatusCode::OK).count();
    let limited = statuses.iter().filter(|status| **status == StatusCode::TOO_MANY_REQUESTS).count();
    assert_eq!(checked, 5, "exactly the account limit is checked: {statuses:?}");
    assert_eq!(limited, 7, "the rest are rejected: {statuses:?}");
}

#[tokio::test]
async fn task_list_pages_fifty_rows() {
    let server = Server::start().await;
    server.add_staff(ADMIN_EMAIL, Role::Admin, ADMIN_PASSWORD, &[]).await;
    let now = server.clock_now();
    server
        .db(move |connection| {
            let facility = Facility::find_by_code(connection, "WGL")?.expect("demo facility");
            let case_type = CaseType::find_by_code(connection, "ANC")?.expect("demo case type");
            let slot = slots::table
                .filter(slots::facility_id.eq(facility.id))
                .filter(slots::case_type_id.eq(case_type.id))
                .select(slots::id)
                .first(connection)?;
            for number in 1..=120 {
                let phone = format!("+9198765{number:05}");
                let name = format!("Beneficiary {number:03}");
                let beneficiary = Beneficiary::find_or_create(connection, &phone, &name, now)?;
                Task::create(
                    connection,
                    &NewTask {
                        agent_id: AgentId(12),
                        case_type_id: case_type.id,
                        facility_id: facility.id,
                        slot_id: slot,
                        beneficiary_id: beneficiary.id,
                        beneficiary_name: &name,
                        beneficiary_phone: &phone,
                        status: "booked",
                        reschedule_count: 0,
                        inbound_message_id: None,
                        created_at: now,
                        updated_at: now,
                        requested_facility_id: None,
                    },
                    "system",
                    "created by the paging test",
                )?;
            }
            Ok(())
        })
        .await;
    let browser = Browser::new(&server);
    browser.sign_in_ok(ADMIN_EMAIL, ADMIN_PASSWORD).await;

    let first = browser.get("/dashboard/tasks?sort=beneficiary&order=asc").await;
    let last = browser.get("/dashboard/tasks?sort=beneficiary&order=asc&page=3").await;
    let beyond = browser.get("/dashboard/tasks?sort=beneficiary&order=asc&page=4").await;

    assert!(first.body.contains("120 tasks, page 1 of 3"), "{}", first.body);
    assert_eq!(first.body.matches(r#"data-label="Task""#).count(), 50);
    assert!(first.body.contains("Beneficiary 001"), "row 1 on page 1");
    assert!(first.body.contains("Beneficiary 050"), "row 50 on page 1");
    assert!(!first.body.contains("Beneficiary 051"), "row 51 belongs on page 2");
    assert!(first.body.contains("sort=beneficiary&#38;order=asc&#38;page=2"), "next link keeps the sort");
    assert!(last.body.contains("page 3 of 3"), "{}", last.body);
    assert_eq!(last.body.matches(r#"data-label="Task""#).count(), 20);
    assert!(last.body.contains("Beneficiary 120"));
    assert!(beyond.body.contains("No task matches these filters."), "{}", beyond.body);
}

#[tokio::test]
async fn address_limit_rejects_after_twenty() {
    let server = Server::start().await;
    server.add_staff(ADMIN_EMAIL, Role::Admin, ADMIN_PASSWORD, &[]).await;
    let browser = Browser::new(&server);

    for attempt in 1..=20 {
        let page = browser.sign_in(&format!("guess{attempt}@ngo.example"), "not the password").await;
        assert_eq!(page.status, StatusCode::OK, "attempt {attempt} is checked");
    }
    let limited = browser.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;

    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(captured_log().contains("too many failed attempts"));
}

#[tokio::test]
async fn missing_csrf_token_is_forbidden() {
    let server = Server::start().await;
    server.add_staff(ADMIN_EMAIL, Role::Admin, ADMIN_PASSWORD, &[]).await;
    let seeded = server.seed_bookings().await;
    let browser = Browser::new(&server);
    browser.sign_in_ok(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let dismiss = format!("/dashboard/flags/{}/dismiss", seeded.thane_flag);

    let without = browser.post(&dismiss, &[("note", "no token")]).await;
    let wrong = browser.post(&dismiss, &[("note", "wrong token"), ("csrf_token", "0123abcd")]).await;
    let logout = browser.post("/dashboard/logout", &[]).await;
    let password = browser.post("/dashboard/password", &[("current_password", ADMIN_PASSWORD)]).await;
    let still_signed_in = browser.get("/dashboard/").await;
    let login =
        Browser::new(&server).post("/dashboard/login", &[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)]).await;
    let flag_id = seeded.thane_flag;
    let flag = server
        .db(move |connection| {
            Ok(FlaggedMessage::all(connection)?.into_iter().find(|flag| flag.id == flag_id).expect("flag exists"))
        })
        .await;

    for (what, page) in [("no token", &without), ("wrong token", &wrong), ("logout", &logout), ("password", &password)]
    {
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{what}");
    }
    assert_eq!(login.status, StatusCode::FORBIDDEN, "sign-in form without its token");
    assert_eq!(still_signed_in.status, StatusCode::OK, "the rejected logout did not end the session");
    assert_eq!(flag.status, "open", "the rejected dismissal changed nothing");
    assert!(captured_log().contains("missing or wrong CSRF token"));
}

#[tokio::test]
async fn idle_session_redirects_to_sign_in() {
    let server = Server::start().await;
    server.add_staff(ADMIN_EMAIL, Role::Admin, ADMIN_PASSWORD, &[]).await;
    let browser = Browser::new(&server);
    browser.sign_in_ok(ADMIN_EMAIL, ADMIN_PASSWORD).await;

    server.clock.advance(chrono::Duration::minutes(29));
    let still_live = browser.get("/dashboard/tasks").await;
    server.clock.advance(chrono::Duration::minutes(31));
    let expired = browser.get("/dashboard/tasks?status=booked").await;
    let login = browser.get(expired.location.as_deref().unwrap_or("/dashboard/login")).await;

    assert_eq!(still_live.status, StatusCode::OK, "29 idle minutes are within the default 30");
    assert_eq!(expired.status, StatusCode::SEE_OTHER);
    assert_eq!(
        expired.location.as_deref(),
        Some("/dashboard/login?next=%2Fdashboard%2Ftasks%3Fstatus%3Dbooked&expired=1")
    );
    assert!(login.body.contains("Your session expired."), "{}", login.body);
    assert!(login.body.contains(r#"name="next" value="/dashboard/tasks?status=booked""#), "{}", login.body);
}

#[tokio::test]
async fn lifetime_ends_active_session() {
    let server = Server::start_with(|settings| settings.dashboard.session_lifetime_hours = 2).await;
    server.add_staff(ADMIN_EMAIL, Role::Admin, ADMIN_PASSWORD, &[]).await;
    let browser = Browser::new(&server);
    browser.sign_in_ok(ADMIN_EMAIL, ADMIN_PASSWORD).await;

    let mut statuses = Vec::new();
    for _ in 0..5 {
        server.clock.advance(chrono::Duration::minutes(25));
        statuses.push(browser.get("/dashboard/").await.status);
    }

    assert_eq!(&statuses[..4], &[StatusCode::OK; 4], "active within the lifetime");
    assert_eq!(statuses[4], StatusCode::SEE_OTHER, "125 minutes exceed the 2-hour lifetime");
}

#[tokio::test]
async fn unauthenticated_request_returns_after_sign_in() {
    let server = Server::start().await;
    server.add_staff(ADMIN_EMAIL, Role::Admin, ADMIN_PASSWORD, &[]).await;
    let browser = Browser::new(&server);

    let redirected = browser.get("/dashboard/flags?view=all").await;
    let form = browser.get(redirected.location.as_deref().expect("redirect")).await;
    let token = csrf_token(&form.body);
    let signed_in = browser
        .post(
            "/dashboard/login",
            &[
                ("csrf_token", &token),
                ("email", "  Admin@NGO.example "),
                ("password", ADMIN_PASSWORD),
                ("next", "/dashboard/flags?view=all"),
            ],
        )
        .await;
    let offsite = browser.get("/dashboard/login?next=https://evil.example/").await;
    let stylesheet = browser.get("/static/dashboard.css").await;
    let unknown = browser.get("/dashboard/no-such-page").await;

    assert_eq!(redirected.status, StatusCode::SEE_OTHER);
    assert_eq!(redirected.location.as_deref(), Some("/dashboard/login?next=%2Fdashboard%2Fflags%3Fview%3Dall"));
    assert!(!form.body.contains("Your session expired."), "no expiry notice without a session");
    assert_eq!(signed_in.location.as_deref(), Some("/dashboard/flags?view=all"), "email is case-insensitive");
    assert_eq!(offsite.location.as_deref(), Some("/dashboard/"), "next never leaves the dashboard");
    assert_eq!(stylesheet.status, StatusCode::OK);
    assert!(stylesheet.body.contains("--accent"), "the stylesheet is served");
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert!(unknown.body.contains("<h1>Not found</h1>"), "{}", unknown.body);
}

#[tokio::test]
async fn officer_sees_only_assigned_corporations() {
    let server = Server::start().await;
    server.add_staff(OFFICER_EMAIL, Role::Officer, OFFICER_PASSWORD, &[THANE_CORPORATION]).await;
    let seeded = server.seed_bookings().await;
    // A message from a phone that belongs to no agent is flagged without a
    // corporation, so only admins see it.
    server.send_sms("+919700000001", "99 ANC Asha 9876500009").await;
    server.wait_for(2, 3).await;
    let browser = Browser::new(&server);
    browser.sign_in_ok(OFFICER_EMAIL, OFFICER_PASSWORD).await;

    let home = browser.get("/dashboard/").await;
    let tasks = browser.get("/dashboard/tasks").await;
    let own_task = browser.get(&format!("/dashboard/tasks/{}", seeded.thane_task)).await;
    let other_task = browser.get(&format!("/dashboard/tasks/{}", seeded.mumbai_task)).await;
    let missing_task = browser.get("/dashboard/tasks/999999").await;
    let flags = browser.get("/dashboard/flags").await;

    assert!(home.body.contains("Your corporations: Thane Municipal Corporation."), "{}", home.body);
    assert!(home.body.contains(r#"<span class="count">1</span> bookings today"#), "{}", home.body);
    assert!(home.body.contains(r#"<span class="count">1</span> open flags"#), "{}", home.body);
    assert!(tasks.body.contains("Seema Devi"), "{}", tasks.body);
    assert!(!tasks.body.contains("Rani Kumari"), "a Mumbai task is listed to a Thane officer");
    assert!(!tasks.body.contains("Municipal Corporation of Greater Mumbai"), "Mumbai offered as a filter");
    assert!(!tasks.body.contains("Dharavi"), "a Mumbai facility offered as a filter");
    assert_eq!(own_task.status, StatusCode::OK);
    assert_eq!(other_task.status, StatusCode::NOT_FOUND);
    assert_eq!(missing_task.status, StatusCode::NOT_FOUND);
    assert_eq!(other_task.body, missing_task.body, "another corporation's task looks like a missing one");
    assert!(flags.body.contains("Lata Shinde"), "the Thane flag is listed: {}", flags.body);
    assert!(!flags.body.contains("Meena Gupta"), "a Mumbai flag is listed to a Thane officer");
    assert!(!flags.body.contains("+919700000001"), "a flag without a corporation is listed to an officer");
}

#[tokio::test]
async fn officer_cannot_dismiss_other_corporation_flag() {
    let server = Server::start().await;
    server.add_staff(OFFICER_EMAIL, Role::Officer, OFFICER_PASSWORD, &[THANE_CORPORATION]).await;
    let seeded = server.seed_bookings().await;
    let browser = Browser::new(&server);
    browser.sign_in_ok(OFFICER_EMAIL, OFFICER_PASSWORD).await;
    let token = browser.csrf_of("/dashboard/flags").await;

    let other = browser
        .post(
            &format!("/dashboard/flags/{}/dismiss", seeded.mumbai_flag),
            &[("csrf_token", &token), ("note", "not mine")],
        )
        .await;
    let own = browser
        .post(
            &format!("/dashboard/flags/{}/dismiss", seeded.thane_flag),
            &[("csrf_token", &token), ("note", "  Called the agent; she resent it.  ")],
        )
        .await;
    let again = browser
        .post(&format!("/dashboard/flags/{}/dismiss", seeded.thane_flag), &[("csrf_token", &token), ("note", "twice")])
        .await;
    let empty_note = browser
        .post(&format!("/dashboard/flags/{}/dismiss", seeded.thane_flag), &[("csrf_token", &token), ("note", "  ")])
        .await;
    let closed = browser.get("/dashboard/flags?view=closed").await;
    let flags = server.db(FlaggedMessage::all).await;
    let mumbai = flags.iter().find(|flag| flag.id == seeded.mumbai_flag).expect("Mumbai flag");
    let thane = flags.iter().find(|flag| flag.id == seeded.thane_flag).expect("Thane flag");

    assert_eq!(other.status, StatusCode::NOT_FOUND);
    assert_eq!(mumbai.status, "open", "the Mumbai flag is unchanged");
    assert_eq!(mumbai.resolved_by, None);
    assert_eq!(own.status, StatusCode::SEE_OTHER);
    assert_eq!(own.location.as_deref(), Some("/dashboard/flags?notice=dismissed"));
    assert_eq!(thane.status, "dismissed");
    assert_eq!(thane.resolved_by.as_deref(), Some(OFFICER_EMAIL));
    assert_eq!(thane.resolution_note.as_deref(), Some("Called the agent; she resent it."));
    assert_eq!(thane.resolved_at, Some(server.clock_now()));
    assert_eq!(again.location.as_deref(), Some("/dashboard/flags?notice=already_closed"));
    assert_eq!(empty_note.status, StatusCode::BAD_REQUEST);
    assert!(closed.body.contains("Called the agent; she resent it."), "{}", closed.body);
    assert!(closed.body.contains(OFFICER_EMAIL), "{}", closed.body);
}

#[tokio::test]
async fn logout_invalidates_the_session() {
    let server = Server::start().await;
    server.add_staff(ADMIN_EMAIL, Role::Admin, ADMIN_PASSWORD, &[]).await;
    let browser = Browser::new(&server);
    let signed_in = browser.sign_in_ok(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let stolen = session_cookie(&signed_in);
    let token = browser.csrf_of("/dashboard/").await;

    let logout = browser.post("/dashboard/logout", &[("csrf_token", &token)]).await;
    let after = browser.get("/dashboard/").await;
    let replayed = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .get(format!("{}/dashboard/", server.address))
        .header("cookie", format!("sandesh_session={stolen}"))
        .send()
        .await
        .expect("request with the old cookie");

    assert_eq!(logout.status, StatusCode::SEE_OTHER);
    assert_eq!(logout.location.as_deref(), Some("/dashboard/login?signed_out=1"));
    assert_eq!(after.status, StatusCode::SEE_OTHER);
    assert_eq!(replayed.status(), StatusCode::SEE_OTHER, "the old cookie still works after logout");
}

#[tokio::test]
async fn html_escapes_beneficiary_name() {
    let server = Server::start().await;
    server.add_staff(ADMIN_EMAIL, Role::Admin, ADMIN_PASSWORD, &[]).await;
    // The SMS grammar rejects such a name, so it is flagged with the text,
    // and a task carrying it is stored directly.
    server.send_sms(THANE_AGENT_PHONE, "12 ANC <script>alert(1)</script> 9876543210").await;
    server.wait_for(0, 1).await;
    let now = server.clock_now();
    let task = server
        .db(move |connection| {
            let facility = Facility::find_by_code(connection, "WGL")?.expect("demo facility");
            let case_type = CaseType::find_by_code(connection, "ANC")?.expect("demo case type");
            let slot = slots::table
                .filter(slots::facility_id.eq(facility.id))
                .filter(slots::case_type_id.eq(case_type.id))
                .select(slots::id)
                .first(connection)?;
            let name = "<script>alert(1)</script>";
            let beneficiary = Beneficiary::find_or_create(connection, "+919876543210", name, now)?;
            Task::create(
                connection,
                &NewTask {
                    agent_id: AgentId(12),
                    case_type_id: case_type.id,
                    facility_id: facility.id,
                    slot_id: slot,
                    beneficiary_id: beneficiary.id,
                    beneficiary_name: name,
                    beneficiary_phone: "+919876543210",
                    status: "booked",
                    reschedule_count: 0,
                    inbound_message_id: None,
                    created_at: now,
                    updated_at: now,
                    requested_facility_id: None,
                },
                "system",
                "created by the escaping test",
            )
        })
        .await;
    let browser = Browser::new(&server);
    browser.sign_in_ok(ADMIN_EMAIL, ADMIN_PASSWORD).await;

    let pages = [
        ("task list", browser.get("/dashboard/tasks").await),
        ("task page", browser.get(&format!("/dashboard/tasks/{}", task.id)).await),
        ("flag list", browser.get("/dashboard/flags").await),
    ];

    for (what, page) in &pages {
        assert_eq!(page.status, StatusCode::OK, "{what}");
        assert!(page.body.contains("&#60;script&#62;alert(1)&#60;/script&#62;"), "{what} lacks the escaped name");
        assert!(!page.body.contains("<script>"), "{what} contains a raw script tag");
    }
}

#[tokio::test]
async fn password_change_requires_current_password() {
    let server = Server::start().await;
    server.add_staff(ADMIN_EMAIL, Role::Admin, ADMIN_PASSWORD, &[]).await;
    let browser = Browser::new(&server);
    let other_device = Browser::new(&server);
    browser.sign_in_ok(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    other_device.sign_in_ok(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let token = browser.csrf_of("/dashboard/password").await;
    let new_password = "a new password with words";

    let wrong_current = browser
        .post(
            "/dashboard/password",
            &[
                ("csrf_token", &token),
                ("current_password", "not it"),
                ("new_password", new_password),
                ("confirm_password", new_password),
            ],
        )
        .await;
    let too_short = browser
        .post(
            "/dashboard/password",
            &[
                ("csrf_token", &token),
                ("current_password", ADMIN_PASSWORD),
                ("new_password", "short"),
                ("confirm_password", "short"),
            ],
        )
        .await;
    let changed = browser
        .post(
            "/dashboard/password",
            &[
                ("csrf_token", &token),
                ("current_password", ADMIN_PASSWORD),
                ("new_password", new_password),
                ("confirm_password", new_password),
            ],
        )
        .await;
    let this_device = browser.get("/dashboard/").await;
    let other = other_device.get("/dashboard/").await;
    let old_password = Browser::new(&server).sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let new_sign_in = Browser::new(&server).sign_in(ADMIN_EMAIL, new_password).await;

    assert!(wrong_current.body.contains("The current password is wrong."), "{}", wrong_current.body);
    assert!(too_short.body.contains("The password is too short"), "{}", too_short.body);
    assert_eq!(changed.location.as_deref(), Some("/dashboard/password?changed=1"));
    assert_eq!(this_device.status, StatusCode::OK, "the session that changed it stays signed in");
    assert_eq!(other.status, StatusCode::SEE_OTHER, "other sessions end");
    assert!(old_password.body.contains("The email or password is wrong."));
    assert_eq!(new_sign_in.status, StatusCode::SEE_OTHER);
    assert!(!captured_log().contains(new_password), "the log contains the new password");
}
