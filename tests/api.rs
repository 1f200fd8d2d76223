//! Black-box tests of the officer JSON API under `/api/v1/`: tokens, rate
//! limits, officer scoping, task categories, flag dismissal and the
//! OpenAPI document. Each test starts the real server on port 0 with the
//! demo NGO, a fresh SQLite file and a virtual clock, and books through
//! the SMS webhook.

#[path = "common/server.rs"]
mod server;

use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveDate, NaiveDateTime, TimeZone as _, Utc};
use diesel::prelude::*;
use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::Digest as _;

use sandesh::channels::memory::MemoryProvider;
use sandesh::clock::{Clock as _, VirtualClock};
use sandesh::db::flags::FlaggedMessage;
use sandesh::db::schema::{api_tokens, follow_ups, slots, tasks};
use sandesh::db::staff::{Role, StaffId, StaffUser};
use sandesh::db::tasks::Task;
use sandesh::db::DbConnection;
use sandesh::engine::Engine;
use sandesh::startup::AppOptions;
use sandesh::web::dashboard::password;

use server::{captured_log, Seeded, ServerThread, StaffSpec, MUMBAI_AGENT_PHONE, THANE_AGENT_PHONE, THANE_CORPORATION};

/// The shared secret of the test webhook.
const TOKEN: &str = "api-test-token";

const ADMIN_EMAIL: &str = "admin@ngo.example";
const ADMIN_PASSWORD: &str = "admin password for API tests";
const OFFICER_EMAIL: &str = "officer.thane@ngo.example";
const OFFICER_PASSWORD: &str = "officer password for API tests";

// ----------------------------------------------------------------- server

/// A running server with the demo NGO, on its own database and clock.
/// Dropping it stops the server.
struct Server {
    address: String,
    engine: Engine,
    clock: VirtualClock,
    client: reqwest::Client,
    _thread: ServerThread,
    _directory: tempfile::TempDir,
}

/// The status, headers and JSON body of an API response.
#[derive(Debug)]
struct Reply {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Reply {
    fn header(&self, name: reqwest::header::HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}

impl Server {
    /// Starts the server with the demo data on a virtual clock at 09:00 on
    /// Monday 2 March 2026 in Mumbai. Logs are captured at debug level, so
    /// that request logging is captured too.
    async fn start() -> Server {
        server::capture_logs("debug");
        let directory = tempfile::tempdir().expect("create a temporary folder");
        let settings = server::webhook_settings(directory.path(), TOKEN);
        let clock = VirtualClock::new(server::virtual_start());
        let options =
            AppOptions { clock: Arc::new(clock.clone()), provider: Some(Arc::new(MemoryProvider::new())), demo: true };
        let thread = ServerThread::start("sandesh-api", settings, options).await;
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .expect("HTTP client builds");

        Server {
            address: thread.address(),
            engine: thread.core.engine.clone(),
            clock,
            client,
            _thread: thread,
            _directory: directory,
        }
    }

    /// Runs `work` on a pooled connection of the server's database.
    async fn db<T, F>(&self, work: F) -> T
    where
        F: FnOnce(&mut DbConnection) -> QueryResult<T> + Send + 'static,
        T: Send + 'static,
    {
        server::run_db(&self.engine, work).await
    }

    fn now(&self) -> NaiveDateTime {
        self.clock.now_naive()
    }

    /// Sends an SMS through the webhook as `from`.
    async fn send_sms(&self, from: &str, text: &str) {
        server::send_sms(&self.address, TOKEN, from, text).await;
    }

    /// Waits until `condition` holds for the stored rows; fails the test
    /// with `what` after `server::WAIT_TIMEOUT`.
    async fn wait_until<F>(&self, what: &str, condition: F)
    where
        F: Fn(&mut DbConnection) -> QueryResult<bool> + Send + Sync + Clone + 'static,
    {
        server::wait_until(&self.engine, what, condition).await;
    }

    /// Waits until at least `tasks` tasks and `flags` flags exist.
    async fn wait_for(&self, tasks: usize, flags: usize) {
        server::wait_for_bookings(&self.engine, tasks, flags).await;
    }

    /// Waits until the task of `beneficiary` has `status`, and returns it.
    async fn wait_for_status(&self, beneficiary: &str, status: &'static str) -> Task {
        let name = beneficiary.to_owned();
        self.wait_until(&format!("the task of {beneficiary} is {status}"), move |connection| {
            Ok(Task::all(connection)?.iter().any(|task| task.beneficiary_name == name && task.status == status))
        })
        .await;
        self.task_of(beneficiary).await
    }

    async fn task_of(&self, beneficiary: &str) -> Task {
        server::task_of(&self.engine, beneficiary).await
    }

    /// Creates an active staff user with `password`, assigned to the
    /// corporations named in `corporations`.
    async fn add_staff(&self, email: &str, role: Role, password: &str, corporations: &[&str]) -> StaffId {
        server::add_staff(&self.engine, StaffSpec::tester(email, role, password, corporations), self.now()).await
    }

    /// Books one appointment in Thane (agent 12) and one in Mumbai
    /// (agent 15), and flags one bad message of each agent.
    async fn seed_bookings(&self) -> Seeded {
        server::seed_bookings(&self.engine, &self.address, TOKEN).await
    }

    /// Sends an API request with an optional bearer token and JSON body.
    async fn call(&self, method: reqwest::Method, path: &str, token: Option<&str>, body: Option<Value>) -> Reply {
        let mut request = self.client.request(method, format!("{}{path}", self.address));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("API request");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("response body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|error| panic!("{path} answered non-JSON ({error}): {text}"))
        };
        Reply { status, headers, body }
    }

    async fn get(&self, path: &str, token: &str) -> Reply {
        self.call(reqwest::Method::GET, path, Some(token), None).await
    }

    async fn request_token(&self, email: &str, password: &str) -> Reply {
        let body = json!({"email": email, "password": password});
        self.call(reqwest::Method::POST, "/api/v1/tokens", None, Some(body)).await
    }

    /// Requests a token and checks that it was issued.
    async fn token(&self, email: &str, password: &str) -> String {
        let reply = self.request_token(email, password).await;
        assert_eq!(reply.status, StatusCode::CREATED, "token for {email}: {:?}", reply.body);
        reply.body["token"].as_str().expect("token in the response").to_owned()
    }
}

/// Returns the ids of a page of tasks or flags.
fn ids(page: &Value) -> Vec<i64> {
    page["items"].as_array().expect("items array").iter().map(|item| item["id"].as_i64().expect("id")).collect()
}

fn sha256_hex(text: &str) -> String {
    sha2::Sha256::digest(text.as_bytes()).iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Returns the UTC instant of a local time in Mumbai.
fn mumbai(date: NaiveDate, hour: u32, minute: u32) -> chrono::DateTime<Utc> {
    chrono_tz::Asia::Kolkata
        .from_local_datetime(&date.and_hms_opt(hour, minute, 0).expect("valid time"))
        .single()
        .expect("unambiguous time")
        .with_timezone(&Utc)
}

// ------------------------------------------------------------------ tests

#[tokio::test]
async fn token_issue_use_and_revoke() {
    let server = Server::start().await;
    let officer = server.add_staff(OFFICER_EMAIL, Role::Officer, OFFICER_PASSWORD, &[THANE_CORPORATION]).await;

    let issued = server.request_token("  Officer.Thane@NGO.example ", OFFICER_PASSWORD).await;
    let token = issued.body["token"].as_str().expect("token").to_owned();
    let stored: Vec<(String, StaffId)> = server
        .db(|connection| api_tokens::table.select((api_tokens::token_hash, api_tokens::staff_id)).load(connection))
        .await;
    let tasks = server.get("/api/v1/tasks", &token).await;
    let revoked = server.call(reqwest::Method::DELETE, "/api/v1/tokens/current", Some(&token), None).await;
    let after = server.get("/api/v1/tasks", &token).await;
    let revoked_again = server.call(reqwest::Method::DELETE, "/api/v1/tokens/current", Some(&token), None).await;

    assert_eq!(issued.status, StatusCode::CREATED, "{:?}", issued.body);
    assert_eq!(issued.header(CACHE_CONTROL), Some("no-store"));
    assert_eq!(token.len(), 64);
    assert!(token.chars().all(|character| character.is_ascii_hexdigit()), "{token}");
    assert_eq!(issued.body["token_type"], "Bearer");
    assert_eq!(issued.body["expires_at"], "2026-03-02T21:00:00+05:30", "12 hours after 09:00, the session lifetime");
    assert_eq!(issued.body["user"]["email"], OFFICER_EMAIL);
    assert_eq!(issued.body["user"]["role"], "officer");
    let corporations: Vec<&str> = issued.body["user"]["corporations"]
        .as_array()
        .expect("corporations")
        .iter()
        .map(|corporation| corporation["name"].as_str().expect("name"))
        .collect();
    assert_eq!(corporations, vec![THANE_CORPORATION]);
    assert_eq!(stored, vec![(sha256_hex(&token), officer)], "only the token's SHA-256 is stored");
    assert_eq!(tasks.status, StatusCode::OK, "{:?}", tasks.body);
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    assert_eq!(after.status, StatusCode::UNAUTHORIZED, "a revoked token still works");
    assert_eq!(revoked_again.status, StatusCode::UNAUTHORIZED);
    let log = captured_log();
    assert!(!log.contains(&token), "the log contains a token");
    assert!(!log.contains(OFFICER_PASSWORD), "the log contains a password");
}

#[tokio::test]
async fn wrong_password_then_rate_limited() {
    let server = Server::start().await;
    server.add_staff(ADMIN_EMAIL, Role::Admin, ADMIN_PASSWORD, &[]).await;
    let wrong = "Wrong-API-Password-51c2e8";

    let mut refused = Vec::new();
    for _ in 0..5 {
        refused.push(server.request_token(ADMIN_EMAIL, wrong).await);
    }
    let unknown = server.request_token("nobody@ngo.example", wrong).await;
    let limited = server.request_token(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let dashboard = dashboard_sign_in(&server, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    server.clock.advance(chrono::Duration::minutes(16));
    let after_window = server.request_token(ADMIN_EMAIL, ADMIN_PASSWORD).await;

    for reply in &refused {
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{:?}", reply.body);
        assert_eq!(reply.body, json!({"error": "the email or password is wrong"}));
    }
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED, "an unknown email looks like a wrong password");
    assert_eq!(unknown.body, refused[0].body);
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS, "the sixth attempt in 15 minutes is rejected");
    assert_eq!(limited.header(RETRY_AFTER), Some("900"));
    assert!(
        limited.body["error"].as_str().is_some_and(|error| error.contains("wait 15 minutes")),
        "{:?}",
        limited.body
    );
    assert_eq!(dashboard, StatusCode::TOO_MANY_REQUESTS, "the API's failures count for the dashboard sign-in too");
    assert_eq!(after_window.status, StatusCode::CREATED, "the limit ends with the window: {:?}", after_window.body);
    assert!(!captured_log().contains(wrong), "the log contains the wrong password");
}

/// Signs in to the dashboard through its form and returns the status.
async fn dashboard_sign_in(server: &Server, email: &str, password: &str) -> StatusCode {
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("HTTP client builds");
    let form = browser.get(format!("{}/dashboard/login", server.address)).send().await.expect("sign-in form");
    let body = form.text().await.expect("form body");
    let marker = r#"name="csrf_token" value=""#;
    let start = body.find(marker).expect("form has a CSRF field") + marker.len();
    let csrf = &body[start..start + 64];
    browser
        .post(format!("{}/dashboard/login", server.address))
        .form(&[("csrf_token", csrf), ("email", email), ("password", password)])
        .send()
        .await
        .expect("sign-in")
        .status()
}

#[tokio::test]
async fn token_request_validation() {
    let server = Server::start().await;

    let no_email = server.request_token("", "something").await;
    let no_password =
        server.call(reqwest::Method::POST, "/api/v1/tokens", None, Some(json!({"email": "a@b.example"}))).await;
    let not_json = server
        .client
        .post(format!("{}/api/v1/tokens", server.address))
        .header(CONTENT_TYPE, "application/json")
        .body("{email")
        .send()
        .await
        .expect("request");
    let not_json_status = not_json.status();
    let not_json_body: Value = not_json.json().await.expect("JSON error body");
    let form = server
        .client
        .post(format!("{}/api/v1/tokens", server.address))
        .form(&[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .expect("request");

    assert_eq!(no_email.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(no_email.body["field"], "email");
    assert_eq!(no_password.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(no_password.body["field"], "password");
    assert_eq!(not_json_status, StatusCode::BAD_REQUEST);
    assert!(
        not_json_body["error"].as_str().is_some_and(|error| error.starts_with("invalid JSON body")),
        "{not_json_body}"
    );
    assert_eq!(form.status(), StatusCode::BAD_REQUEST, "a form body is not JSON");
}

#[tokio::test]
async fn missing_or_expired_token_is_401() {
    let server = Server::start().await;
    let officer = server.add_staff(OFFICER_EMAIL, Role::Officer, OFFICER_PASSWORD, &[THANE_CORPORATION]).await;
    let token = server.token(OFFICER_EMAIL, OFFICER_PASSWORD).await;
    // A second token, not used after it expires, keeps its row until it
    // is refused or another token is issued.
    server.token(OFFICER_EMAIL, OFFICER_PASSWORD).await;

    let missing = server.call(reqwest::Method::GET, "/api/v1/tasks", None, None).await;
    let basic = server
        .client
        .get(format!("{}/api/v1/tasks", server.address))
        .basic_auth(OFFICER_EMAIL, Some(OFFICER_PASSWORD))
        .send()
        .await
        .expect("request");
    let malformed = server.get("/api/v1/tasks", "not-a-token").await;
    let unknown = server.get("/api/v1/tasks", &"ab".repeat(32)).await;
    server.clock.advance(chrono::Duration::hours(11) + chrono::Duration::minutes(59));
    let still_live = server.get("/api/v1/flags", &token).await;
    server.clock.advance(chrono::Duration::minutes(2));
    let expired = server.get("/api/v1/flags", &token).await;
    let remaining: i64 = server.db(|connection| api_tokens::table.count().get_result(connection)).await;

    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
    assert_eq!(missing.header(WWW_AUTHENTICATE), Some(r#"Bearer realm="sandesh""#));
    assert!(
        missing.body["error"].as_str().is_some_and(|error| error.starts_with("missing bearer token")),
        "{:?}",
        missing.body
    );
    assert_eq!(missing.header(CACHE_CONTROL), Some("no-store"), "error responses are not cached either");
    assert_eq!(basic.status(), StatusCode::UNAUTHORIZED);
    for reply in [&malformed, &unknown, &expired] {
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{:?}", reply.body);
        assert_eq!(reply.header(WWW_AUTHENTICATE), Some(r#"Bearer realm="sandesh", error="invalid_token""#));
    }
    assert_eq!(still_live.status, StatusCode::OK, "11 h 59 min is within the 12-hour lifetime");
    assert_eq!(remaining, 1, "the expired token's row was deleted when it was refused");

    // A password change ends the tokens issued before it.
    let fresh = server.token(OFFICER_EMAIL, OFFICER_PASSWORD).await;
    server.clock.advance(chrono::Duration::minutes(1));
    let changed_at = server.now();
    let hash = password::hash("a brand new officer password").expect("hash");
    server.db(move |connection| StaffUser::set_password(connection, officer, &hash, changed_at)).await;
    let after_change = server.get("/api/v1/tasks", &fresh).await;
    assert_eq!(after_change.status, StatusCode::UNAUTHORIZED, "a token from before a password change still works");
}

#[tokio::test]
async fn officer_sees_only_own_corporations() {
    let server = Server::start().await;
    server.add_staff(OFFICER_EMAIL, Role::Officer, OFFICER_PASSWORD, &[THANE_CORPORATION]).await;
    server.add_staff(ADMIN_EMAIL, Role::Admin, ADMIN_PASSWORD, &[]).await;
    let seeded = server.seed_bookings().await;
    // A message from a phone that belongs to no agent is flagged without a
    // corporation, so only admins see it.
    server.send_sms("+919700000001", "99 ANC Asha 9876500009").await;
    server.wait_for(2, 3).await;
    let officer = server.token(OFFICER_EMAIL, OFFICER_PASSWORD).await;
    let admin = server.token(ADMIN_EMAIL, ADMIN_PASSWORD).await;

    let officer_tasks = server.get("/api/v1/tasks", &officer).await;
    let admin_tasks = server.get("/api/v1/tasks", &admin).await;
    let own = server.get(&format!("/api/v1/tasks/{}", seeded.thane_task), &officer).await;
    let other = server.get(&format!("/api/v1/tasks/{}", seeded.mumbai_task), &officer).await;
    let missing = server.get("/api/v1/tasks/999999", &officer).await;
    let not_a_number = server.get("/api/v1/tasks/abc", &officer).await;
    let admin_other = server.get(&format!("/api/v1/tasks/{}", seeded.mumbai_task), &admin).await;
    let officer_flags = server.get("/api/v1/flags", &officer).await;
    let admin_flags = server.get("/api/v1/flags", &admin).await;
    let dismiss_other = server
        .call(
            reqwest::Method::POST,
            &format!("/api/v1/flags/{}/dismiss", seeded.mumbai_flag),
            Some(&officer),
            Some(json!({"note": "not mine"})),
        )
        .await;
    let mumbai_flag = seeded.mumbai_flag;
    let mumbai_flag_status = server
        .db(move |connection| {
            Ok(FlaggedMessage::all(connection)?.into_iter().find(|flag| flag.id == mumbai_flag).expect("flag").status)
        })
        .await;

    assert_eq!(officer_tasks.status, StatusCode::OK);
    assert_eq!(ids(&officer_tasks.body), vec![i64::from(seeded.thane_task.0)]);
    assert_eq!(officer_tasks.body["total"], 1);
    assert_eq!(admin_tasks.body["total"], 2);
    assert_eq!(own.status, StatusCode::OK);
    assert_eq!(own.body["corporation"]["name"], THANE_CORPORATION);
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(other.body, missing.body, "another corporation's task looks like a missing one");
    assert_eq!(other.body, json!({"error": "task not found"}));
    assert_eq!(not_a_number.status, StatusCode::NOT_FOUND);
    assert_eq!(admin_other.status, StatusCode::OK, "an admin sees every corporation");
    assert_eq!(ids(&officer_flags.body), vec![i64::from(seeded.thane_flag.0)]);
    assert_eq!(admin_flags.body["total"], 3, "{:?}", admin_flags.body);
    assert_eq!(dismiss_other.status, StatusCode::NOT_FOUND);
    assert_eq!(dismiss_other.body, json!({"error": "flag not found"}));
    assert_eq!(mumbai_flag_status, "open", "the Mumbai flag is unchanged");
}

#[tokio::test]
async fn task_detail_has_history() {
    let server = Server::start().await;
    server.add_staff(OFFICER_EMAIL, Role::Officer, OFFICER_PASSWORD, &[THANE_CORPORATION]).await;
    let seeded = server.seed_bookings().await;
    let task_id = seeded.thane_task;
    server
        .wait_until("the patient SMS of the Thane task is sent", move |connection| {
            let sent = sandesh::db::outbound::OutboundMessage::all(connection)?
                .into_iter()
                .filter(|message| message.task_id == Some(task_id) && message.status == "sent")
                .count();
            Ok(sent > 0)
        })
        .await;
    let token = server.token(OFFICER_EMAIL, OFFICER_PASSWORD).await;

    let detail = server.get(&format!("/api/v1/tasks/{task_id}"), &token).await;

    assert_eq!(detail.status, StatusCode::OK, "{:?}", detail.body);
    let body = &detail.body;
    assert_eq!(body["status"], "booked");
    assert_eq!(body["category"], "new");
    assert_eq!(body["beneficiary"], json!({"name": "Seema Devi", "phone": "+919876543210"}));
    assert_eq!(body["agent"]["id"], 12);
    assert_eq!(body["case_type"]["code"], "ANC");
    assert!(body["appointment_at"].as_str().is_some_and(|at| at.ends_with("+05:30")), "{}", body["appointment_at"]);
    let history = &body["history"];
    assert_eq!(history["transitions"][0]["from_status"], Value::Null);
    assert_eq!(history["transitions"][0]["to_status"], "booked");
    assert_eq!(history["inbound"][0]["text"], "12 ANC Seema Devi 9876543210");
    assert_eq!(history["transitions"][0]["inbound_message_id"], history["inbound"][0]["id"]);
    let recipients: Vec<&str> = history["outbound"]
        .as_array()
        .expect("outbound list")
        .iter()
        .map(|message| message["recipient"].as_str().expect("recipient"))
        .collect();
    assert!(recipients.contains(&"+919876543210"), "the patient SMS is missing: {recipients:?}");
    assert_eq!(history["follow_ups"], json!([]));
    assert_eq!(history["flags"], json!([]));
}

#[tokio::test]
async fn tasks_are_listed_by_category() {
    let server = Server::start().await;
    server.add_staff(OFFICER_EMAIL, Role::Officer, OFFICER_PASSWORD, &[THANE_CORPORATION]).await;

    // Two bookings on the first day: one will be completed, one escalated.
    server.send_sms(THANE_AGENT_PHONE, "12 ANC Seema Devi 9876543210").await;
    server.send_sms(THANE_AGENT_PHONE, "12 ANC Lata Shinde 9876500002").await;
    server.wait_for(2, 0).await;
    let first_day = server
        .db(|connection| {
            slots::table
                .inner_join(tasks::table)
                .select(diesel::dsl::max(slots::starts_at))
                .first::<Option<NaiveDateTime>>(connection)
        })
        .await
        .expect("tasks have slots");
    let first_day = chrono_tz::Asia::Kolkata.from_utc_datetime(&first_day).date_naive();
    server.clock.set(mumbai(first_day, 20, 5));
    server.engine.run_scheduler(None).await.expect("scheduler runs");
    let seema = server.wait_for_status("Seema Devi", "follow_up_sent").await;
    let seema_id = seema.id;
    let tracking_id: String = server
        .db(move |connection| {
            follow_ups::table.filter(follow_ups::task_id.eq(seema_id)).select(follow_ups::tracking_id).first(connection)
        })
        .await;
    server.send_sms(THANE_AGENT_PHONE, &format!("-1 SC 9876543210 Seema Devi {tracking_id}")).await;
    let seema = server.wait_for_status("Seema Devi", "completed").await;

    // Two days without a reply escalate Lata's task.
    let third_day = first_day + chrono::Days::new(2);
    server.clock.set(mumbai(third_day, 20, 6));
    server.engine.run_scheduler(None).await.expect("scheduler runs");
    let lata = server.wait_for_status("Lata Shinde", "escalated").await;

    // A booking for the next day whose follow-up goes out that evening.
    server.send_sms(THANE_AGENT_PHONE, "12 ANC Kavita Rao 9876500011").await;
    server.wait_for(3, 0).await;
    server.clock.set(mumbai(third_day + chrono::Days::new(1), 20, 5));
    server.engine.run_scheduler(None).await.expect("scheduler runs");
    let kavita = server.wait_for_status("Kavita Rao", "follow_up_sent").await;

    // A fresh booking in Thane, and one in Mumbai that the officer never sees.
    server.send_sms(THANE_AGENT_PHONE, "12 ANC Meera Joshi 9876500012").await;
    server.send_sms(MUMBAI_AGENT_PHONE, "15 ANC Rani Kumari 9876500001").await;
    server.wait_for(5, 0).await;
    let meera = server.wait_for_status("Meera Joshi", "booked").await;
    let token = server.token(OFFICER_EMAIL, OFFICER_PASSWORD).await;

    let all = server.get("/api/v1/tasks", &token).await;
    let mut by_category = Vec::new();
    for category in ["new", "follow_up_due", "completed", "flagged"] {
        by_category.push((category, server.get(&format!("/api/v1/tasks?category={category}"), &token).await));
    }
    let unknown = server.get("/api/v1/tasks?category=urgent", &token).await;
    let bad_page = server.get("/api/v1/tasks?page=0", &token).await;
    let small_pages = server.get("/api/v1/tasks?per_page=3&page=2&order=desc", &token).await;
    let flagged_detail = server.get(&format!("/api/v1/tasks/{}", lata.id), &token).await;

    assert_eq!(all.body["total"], 4, "the Mumbai task is not listed: {:?}", all.body);
    let expected = [("new", meera.id), ("follow_up_due", kavita.id), ("completed", seema.id), ("flagged", lata.id)];
    for ((category, reply), (expected_category, task)) in by_category.iter().zip(expected) {
        assert_eq!(*category, expected_category);
        assert_eq!(reply.status, StatusCode::OK, "{category}: {:?}", reply.body);
        assert_eq!(ids(&reply.body), vec![i64::from(task.0)], "{category}: {:?}", reply.body);
        assert_eq!(reply.body["items"][0]["category"], *category);
    }
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert_eq!(unknown.body["field"], "category");
    assert_eq!(bad_page.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad_page.body["field"], "page");
    assert_eq!(small_pages.body["pages"], 2);
    assert_eq!(small_pages.body["page"], 2);
    assert_eq!(
        ids(&small_pages.body),
        vec![i64::from(seema.id.0)],
        "the earliest appointment is last in descending order: {:?}",
        small_pages.body
    );
    let flags = &flagged_detail.body["history"]["flags"];
    assert_eq!(flags[0]["reason"], "no_reply", "{flags}");
    assert_eq!(flags[0]["status"], "open");
    assert_eq!(flagged_detail.body["history"]["follow_ups"][0]["status"], "expired");
}

#[tokio::test]
async fn flag_dismissal() {
    let server = Server::start().await;
    server.add_staff(OFFICER_EMAIL, Role::Officer, OFFICER_PASSWORD, &[THANE_CORPORATION]).await;
    let seeded = server.seed_bookings().await;
    let token = server.token(OFFICER_EMAIL, OFFICER_PASSWORD).await;
    let path = format!("/api/v1/flags/{}/dismiss", seeded.thane_flag);
    let post = |body: Option<Value>| server.call(reqwest::Method::POST, &path, Some(&token), body);

    let open = server.get("/api/v1/flags", &token).await;
    let empty_note = post(Some(json!({"note": "   "}))).await;
    let long_note = post(Some(json!({"note": "x".repeat(1001)}))).await;
    let no_body = post(None).await;
    let dismissed = post(Some(json!({"note": "  Called the agent; she resent it.  "}))).await;
    let again = post(Some(json!({"note": "twice"}))).await;
    let open_after = server.get("/api/v1/flags", &token).await;
    let closed = server.get("/api/v1/flags?status=closed", &token).await;
    let bad_status = server.get("/api/v1/flags?status=pending", &token).await;

    assert_eq!(open.body["items"][0]["reason"], "unknown_case_type");
    assert_eq!(open.body["items"][0]["text"], "12 XYZ Lata Shinde 9876500002");
    assert_eq!(open.body["items"][0]["agent_name"], "Asha Patil");
    assert_eq!(empty_note.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(empty_note.body["field"], "note");
    assert_eq!(long_note.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(long_note.body["field"], "note");
    assert_eq!(no_body.status, StatusCode::BAD_REQUEST, "{:?}", no_body.body);
    assert_eq!(dismissed.status, StatusCode::OK, "{:?}", dismissed.body);
    assert_eq!(dismissed.body["status"], "dismissed");
    assert_eq!(dismissed.body["resolved_by"], OFFICER_EMAIL);
    assert_eq!(dismissed.body["resolution_note"], "Called the agent; she resent it.");
    assert_eq!(dismissed.body["resolved_at"], "2026-03-02T09:00:00+05:30");
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(
        again.body,
        json!({"error": format!("flag {} is already dismissed; nothing changed", seeded.thane_flag)})
    );
    assert_eq!(open_after.body["total"], 0);
    assert_eq!(ids(&closed.body), vec![i64::from(seeded.thane_flag.0)]);
    assert_eq!(bad_status.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad_status.body["field"], "status");
}

/// Every route of the API, as OpenAPI writes it.
const ROUTES: [(&str, &str); 18] = [
    ("post", "/api/v1/tokens"),
    ("delete", "/api/v1/tokens/current"),
    ("get", "/api/v1/tasks"),
    ("get", "/api/v1/tasks/{id}"),
    ("get", "/api/v1/flags"),
    ("post", "/api/v1/flags/{id}/dismiss"),
    ("get", "/api/v1/requests"),
    ("get", "/api/v1/requests/{id}"),
    ("post", "/api/v1/requests/{id}/accept"),
    ("post", "/api/v1/requests/{id}/release"),
    ("post", "/api/v1/requests/{id}/close"),
    ("post", "/api/v1/requests/next"),
    ("get", "/api/v1/requests/{id}/messages"),
    ("post", "/api/v1/requests/{id}/messages"),
    ("post", "/api/v1/requests/{id}/files"),
    ("get", "/api/v1/files/{id}"),
    ("get", "/api/v1/requests/{id}/ws"),
    ("get", "/api/v1/openapi.json"),
];

/// Collects every `$ref` in a JSON value.
fn references(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                match (key.as_str(), item) {
                    ("$ref", Value::String(target)) => found.push(target.clone()),
                    _ => references(item, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| references(item, found)),
        _ => {}
    }
}

#[tokio::test]
async fn openapi_lists_every_route() {
    let server = Server::start().await;

    let response = server.client.get(format!("{}/api/v1/openapi.json", server.address)).send().await.expect("GET");
    let status = response.status();
    let content_type = response.headers().get(CONTENT_TYPE).and_then(|value| value.to_str().ok()).map(str::to_owned);
    let document: Value = serde_json::from_str(&response.text().await.expect("body")).expect("the document is JSON");

    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type.as_deref(), Some("application/json"));
    assert!(document["openapi"].as_str().is_some_and(|version| version.starts_with("3.")), "{}", document["openapi"]);
    let paths = document["paths"].as_object().expect("paths object");
    let mut documented: Vec<(String, String)> = paths
        .iter()
        .flat_map(|(path, item)| {
            let methods = item.as_object().expect("path item").keys().cloned().collect::<Vec<_>>();
            methods.into_iter().map(move |method| (method, path.clone()))
        })
        .collect();
    documented.sort();
    let mut expected: Vec<(String, String)> =
        ROUTES.iter().map(|(method, path)| ((*method).to_owned(), (*path).to_owned())).collect();
    expected.sort();
    assert_eq!(documented, expected, "the document lists exactly the API's routes");
    let mut operation_ids: Vec<&str> = ROUTES
        .iter()
        .map(|(method, path)| document["paths"][path][method]["operationId"].as_str().expect("operationId"))
        .collect();
    operation_ids.sort_unstable();
    operation_ids.dedup();
    assert_eq!(operation_ids.len(), ROUTES.len(), "operation ids are not unique: {operation_ids:?}");
    for (method, path) in ROUTES {
        let operation = &document["paths"][path][method];
        let responses = operation["responses"].as_object().expect("responses");
        assert!(!responses.is_empty(), "{method} {path} documents no response");
        let secured = operation["security"].as_array().is_some_and(|schemes| !schemes.is_empty());
        let public = matches!(path, "/api/v1/tokens" | "/api/v1/openapi.json");
        assert_eq!(secured, !public, "{method} {path}: bearer security");
    }
    let mut refs = Vec::new();
    references(&document, &mut refs);
    assert!(!refs.is_empty(), "the document uses schema references");
    for target in refs {
        let name = target.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("unexpected $ref {target}"));
        assert!(document["components"]["schemas"][name].is_object(), "$ref {target} resolves to nothing");
    }

    // Each documented route is served: none falls through to the API's
    // "no such route" answer.
    let unknown = server.call(reqwest::Method::GET, "/api/v1/no-such-route", None, None).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    for (method, path) in ROUTES {
        let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
        let body = (method == reqwest::Method::POST).then(|| json!({}));
        let reply = server.call(method.clone(), &path.replace("{id}", "1"), None, body).await;
        assert_ne!(reply.body, unknown.body, "{method} {path} is not routed");
        assert_ne!(reply.status, StatusCode::NOT_FOUND, "{method} {path} is not routed");
    }
}
