//! Black-box tests of the dashboard's data pages: the admin forms for
//! facilities, agents and slot series, form validation, CSRF, officer
//! scoping of the admin, slot, outbox and export pages, CSV import,
//! "correct and book" and resending a failed SMS. Each test starts the
//! real server on port 0 with the demo NGO (Thane: WGL and KSN, agents 12
//! and 21; Mumbai: DHR, agent 15), a fresh SQLite file and a virtual clock
//! at 09:00 on Monday 02-03-2026 in Mumbai. An HTTP client with a cookie
//! jar drives the pages and does not follow redirects.

mod dashboard_harness;

use chrono::TimeZone as _;
use dashboard_harness::*;
use diesel::prelude::*;
use reqwest::StatusCode;
use sandesh::channels::SendError;
use sandesh::db::flags::FlaggedMessage;
use sandesh::db::ids::{AgentId, FacilityId};
use sandesh::db::organisation::{Agent, CaseType, Facility};
use sandesh::db::outbound::{OutboundMessage, OutboundResend};
use sandesh::db::schema::{corporations, slots};
use sandesh::db::slots::Slot;
use sandesh::db::staff::Role;
use sandesh::db::tasks::{Task, TaskTransition};

// ---------------------------------------------------------------- helpers

impl Server {
    /// Returns the id of a facility by its code.
    async fn facility_id(&self, code: &'static str) -> i32 {
        self.db(move |connection| Ok(Facility::find_by_code(connection, code)?.expect("facility exists").id.0)).await
    }

    /// Returns the id of a case type by its code.
    async fn case_type_id(&self, code: &'static str) -> i32 {
        self.db(move |connection| Ok(CaseType::find_by_code(connection, code)?.expect("case type exists").id.0)).await
    }

    /// Returns the id of a corporation by its name.
    async fn corporation_id(&self, name: &'static str) -> i32 {
        self.db(move |connection| {
            corporations::table.filter(corporations::name.eq(name)).select(corporations::id).first(connection)
        })
        .await
    }

    /// Returns every facility code, sorted.
    async fn facility_codes(&self) -> Vec<String> {
        self.db(|connection| Ok(Facility::all(connection)?.into_iter().map(|facility| facility.code).collect())).await
    }

    /// Returns every agent id, sorted.
    async fn agent_ids(&self) -> Vec<i32> {
        self.db(|connection| Ok(Agent::all(connection)?.into_iter().map(|agent| agent.id.0).collect())).await
    }

    /// Returns the first slot of a facility and case type that starts
    /// after the clock's time.
    async fn next_slot(&self, facility: &'static str, case_code: &'static str) -> Slot {
        let now = self.clock_now();
        self.db(move |connection| {
            let facility = Facility::find_by_code(connection, facility)?.expect("facility exists");
            let case_type = CaseType::find_by_code(connection, case_code)?.expect("case type exists");
            slots::table
                .filter(slots::facility_id.eq(facility.id))
                .filter(slots::case_type_id.eq(case_type.id))
                .filter(slots::starts_at.gt(now))
                .order(slots::starts_at.asc())
                .select(Slot::as_select())
                .first(connection)
        })
        .await
    }
}

impl Browser {
    /// Sends a `multipart/form-data` POST with text fields and, when given,
    /// a file field `file` with this name and content.
    async fn post_multipart(&self, path: &str, fields: &[(&str, &str)], file: Option<(&str, &str)>) -> Page {
        let boundary = "----sandesh-test-boundary-7d3f";
        let mut body = String::new();
        for (name, value) in fields {
            body.push_str(&format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            ));
        }
        if let Some((filename, content)) = file {
            body.push_str(&format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: text/csv\r\n\r\n{content}\r\n"
            ));
        }
        body.push_str(&format!("--{boundary}--\r\n"));
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", format!("multipart/form-data; boundary={boundary}"))
            .body(body)
            .send()
            .await
            .expect("multipart POST request");
        Self::read(response).await
    }
}

/// Undoes the HTML escaping of the templates, for comparing text.
fn unescape(html: &str) -> String {
    html.replace("&#39;", "'").replace("&#34;", "\"").replace("&#60;", "<").replace("&#62;", ">").replace("&#38;", "&")
}

/// Returns the error message shown beside `field`, if any.
fn field_error(body: &str, field: &str) -> Option<String> {
    let marker = format!(r#"id="{field}-error" class="field-error"><span class="visually-hidden">Error: </span>"#);
    let start = body.find(&marker)? + marker.len();
    let end = body[start..].find("</p>")? + start;
    Some(unescape(&body[start..end]))
}

/// Returns the `value` attribute of the input named `field`.
fn input_value(body: &str, field: &str) -> Option<String> {
    let marker = format!(r#"id="{field}" name="{field}""#);
    let start = body.find(&marker)? + marker.len();
    let value_marker = r#"value=""#;
    let value_start = body[start..].find(value_marker)? + start + value_marker.len();
    let value_end = body[value_start..].find('"')? + value_start;
    Some(unescape(&body[value_start..value_end]))
}

/// Checks that a rejected form shows `expected` beside `field`, marks the
/// field invalid and links to it from the summary.
fn assert_field_error(page: &Page, field: &str, expected: &str) {
    let message = field_error(&page.body, field).unwrap_or_else(|| panic!("no error beside {field}: {}", page.body));
    assert!(message.contains(expected), "error beside {field} is {message:?}, expected it to contain {expected:?}");
    assert!(page.body.contains(&format!(r##"<a href="#{field}">"##)), "the summary does not link to {field}");
}

// ------------------------------------------------------------------ tests

#[tokio::test]
async fn admin_adds_facility_agent_and_series() {
    let server = Server::start().await;
    server.add_staff(ADMIN_EMAIL, Role::Admin, ADMIN_PASSWORD, &[]).await;
    let browser = Browser::new(&server);
    browser.sign_in_ok(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let thane = server.corporation_id(THANE_CORPORATION).await.to_string();
    let anc = server.case_type_id("ANC").await.to_string();

    let token = browser.csrf_of("/dashboard/admin/facilities/new").await;
    let facility = browser
        .post(
            "/dashboard/admin/facilities",
            &[
                ("csrf_token", &token),
                ("corporation", &thane),
                ("name", "Naupada HP"),
                ("code", " npd "),
                ("address", "Naupada, Thane West"),
            ],
        )
        .await;
    let npd = server.facility_id("NPD").await.to_string();
    let agent = browser
        .post(
            "/dashboard/admin/agents",
            &[
                ("csrf_token", &token),
                ("id", "31"),
                ("name", "Kavita More"),
                ("phone", "98765-43211"),
                ("language", "mr"),
                ("active", "on"),
                ("facilities", &npd),
            ],
        )
        .await;
    let series = browser
        .post(
            "/dashboard/slots/series",
            &[
                ("csrf_token", &token),
                ("facility", &npd),
                ("case_type", &anc),
                ("first_date", "2026-03-03"),
                ("start_time", "10:00"),
                ("capacity", "5"),
                ("recurrence", "weekly"),
                ("end_date", ""),
                ("occurrences", "3"),
            ],
        )
        .await;
    let facilities_page = browser.get("/dashboard/facilities").await;
    let agents_page = browser.get("/dashboard/agents").await;
    let slots_page = browser.get(&format!("/dashboard/slots?facility={npd}")).await;
    server.send_sms("+919876543211", "31 ANC Meera Kale 9876500011").await;
    server.wait_for(1, 0).await;

    assert_eq!(facility.status, StatusCode::SEE_OTHER, "{}", facility.body);
    assert_eq!(facility.location.as_deref(), Some("/dashboard/facilities?notice=created"));
    assert!(facilities_page.body.contains("Naupada HP"), "{}", facilities_page.body);
    assert!(facilities_page.body.contains(">NPD<"), "the code is stored in capitals: {}", facilities_page.body);
    assert_eq!(agent.status, StatusCode::SEE_OTHER, "{}", agent.body);
    let stored = server.db(|connection| Agent::find(connection, AgentId(31))).await.expect("agent 31 stored");
    assert_eq!(stored.phone, "+919876543211", "the phone is stored as E.164");
    assert_eq!(stored.language, "mr");
    assert!(stored.active);
    let agent_facilities = server.db(|connection| Facility::of_agent(connection, AgentId(31))).await;
    assert_eq!(agent_facilities.iter().map(|facility| facility.code.as_str()).collect::<Vec<_>>(), ["NPD"]);
    assert!(agents_page.body.contains("Kavita More"), "{}", agents_page.body);
    assert_eq!(series.status, StatusCode::SEE_OTHER, "{}", series.body);
    let location = series.location.unwrap_or_default();
    assert!(location.contains("notice=created&slots=3"), "{location}");
    assert!(slots_page.body.contains("03-03-2026 10:00"), "{}", slots_page.body);
    assert!(slots_page.body.contains("17-03-2026 10:00"), "{}", slots_page.body);
    assert!(!slots_page.body.contains("24-03-2026 10:00"), "a fourth slot of a three-slot series");
    let task = server.db(Task::all).await.pop().expect("the new agent's booking");
    assert_eq!(task.agent_id, AgentId(31));
    assert_eq!(task.facility_id.0.to_string(), npd, "booked at the new facility");
}

#[tokio::test]
async fn form_errors_show_beside_fields_and_keep_input() {
    let server = Server::start().await;
    server.add_staff(ADMIN_EMAIL, Role::Admin, ADMIN_PASSWORD, &[]).await;
    let browser = Browser::new(&server);
    browser.sign_in_ok(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let token = browser.csrf_of("/dashboard/admin/facilities/new").await;
    let thane = server.corporation_id(THANE_CORPORATION).await.to_string();
    let wgl = server.facility_id("WGL").await.to_string();
    let anc = server.case_type_id("ANC").await.to_string();

    let bad_facility = browser
        .post(
            "/dashboard/admin/facilities",
            &[("csrf_token", &token), ("corporation", ""), ("name", ""), ("code", "2x"), ("address", "Somewhere 5")],
        )
        .await;
    let taken_code = browser
        .post(
            "/dashboard/admin/facilities",
            &[
                ("csrf_token", &token),
                ("corporation", &thane),
                ("name", "Wagle Two"),
                ("code", "wgl"),
                ("address", "Road 2"),
            ],
        )
        .await;
    let taken_code_and_no_name = browser
        .post(
            "/dashboard/admin/facilities",
            &[("csrf_token", &token), ("corporation", &thane), ("name", ""), ("code", "KSN"), ("address", "Road 3")],
        )
        .await;
    let bad_agent = browser
        .post(
            "/dashboard/admin/agents",
            &[
                ("csrf_token", &token),
                ("id", "12"),
                ("name", "Second Asha"),
                ("phone", "12345"),
                ("language", "xx"),
                ("facilities", &wgl),
            ],
        )
        .await;
    let taken_phone = browser
        .post(
            "/dashboard/admin/agents",
            &[("csrf_token", &token), ("id", "40"), ("name", "Copy"), ("phone", "+91 98123 45679"), ("language", "en")],
        )
        .await;
    let bad_series = browser
        .post(
            "/dashboard/slots/series",
            &[
                ("csrf_token", &token),
                ("facility", &wgl),
                ("case_type", &anc),
                ("first_date", "01-03-2026"),
                ("start_time", "25:00"),
                ("capacity", "ten"),
                ("recurrence", "weekly"),
            ],
        )
        .await;

    assert_eq!(bad_facility.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_field_error(&bad_facility, "code", "'2x' is not a code");
    assert_field_error(&bad_facility, "corporation", "Choose the corporation");
    assert_field_error(&bad_facility, "name", "Enter the name");
    assert_eq!(input_value(&bad_facility.body, "code").as_deref(), Some("2x"), "the typed code is kept");
    assert!(bad_facility.body.contains("Somewhere 5</textarea>"), "the typed address is kept");
    assert!(bad_facility.body.contains(r#"aria-invalid="true""#));
    assert!(bad_facility.body.contains("There are 3 problems"), "{}", bad_facility.body);
    assert_eq!(taken_code.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_field_error(&taken_code, "code", "Facility code WGL is taken");
    assert_eq!(input_value(&taken_code.body, "name").as_deref(), Some("Wagle Two"));
    assert_field_error(&taken_code_and_no_name, "code", "Facility code KSN is taken");
    assert_field_error(&taken_code_and_no_name, "name", "Enter the name");
    assert_eq!(bad_agent.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_field_error(&bad_agent, "id", "Agent id 12 is taken by Asha Patil");
    assert_field_error(&bad_agent, "phone", "'12345' is not a mobile number");
    assert_field_error(&bad_agent, "language", "Choose English, Hindi or Marathi");
    assert_eq!(input_value(&bad_agent.body, "phone").as_deref(), Some("12345"));
    assert_eq!(input_value(&bad_agent.body, "name").as_deref(), Some("Second Asha"));
    assert!(bad_agent.body.contains(&format!(r#"value="{wgl}" checked"#)), "the ticked facility stays ticked");
    assert_eq!(taken_phone.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_field_error(&taken_phone, "phone", "registered to agent 15");
    assert_eq!(bad_series.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_field_error(&bad_series, "first_date", "01-03-2026 is in the past");
    assert_field_error(&bad_series, "start_time", "'25:00' is not a time");
    assert_field_error(&bad_series, "capacity", "'ten' is not a capacity");
    assert_field_error(&bad_series, "end_date", "needs an end");
    assert_eq!(input_value(&bad_series.body, "capacity").as_deref(), Some("ten"));
    assert_eq!(server.facility_codes().await, ["DHR", "KSN", "WGL"], "no facility was added");
    assert_eq!(server.agent_ids().await, [12, 15, 21], "no agent was added");
}

#[tokio::test]
async fn admin_agent_id_is_taken_beside_field() {
    let server = Server::start().await;
    server.add_staff(ADMIN_EMAIL, Role::Admin, ADMIN_PASSWORD, &[]).await;
    let browser = Browser::new(&server);
    browser.sign_in_ok(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let token = browser.csrf_of("/dashboard/admin/agents/new").await;

    let taken = browser
        .post(
            "/dashboard/admin/agents",
            &[
                ("csrf_token", &token),
                ("id", "12"),
                ("name", "Second Asha"),
                ("phone", "9876512000"),
                ("language", "en"),
            ],
        )
        .await;

    assert_eq!(taken.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_field_error(&taken, "id", "Agent id 12 is taken by Asha Patil");
    assert_eq!(input_value(&taken.body, "phone").as_deref(), Some("9876512000"));
}

#[tokio::test]
async fn forms_without_csrf_token_are_forbidden() {
    let server = Server::start().await;
    server.add_staff(ADMIN_EMAIL, Role::Admin, ADMIN_PASSWORD, &[]).await;
    let seeded = server.seed_bookings().await;
    let browser = Browser::new(&server);
    browser.sign_in_ok(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let thane = server.corporation_id(THANE_CORPORATION).await.to_string();
    let slot = server.next_slot("WGL", "ANC").await;
    let message = server.db(OutboundMessage::all).await.remove(0);
    let csv = "corporation,name,code,address\nThane Municipal Corporation,Naupada HP,NPD,Naupada\n";

    let facility = [("corporation", thane.as_str()), ("name", "Naupada HP"), ("code", "NPD"), ("address", "Naupada")];
    let mut wrong_token = facility.to_vec();
    wrong_token.push(("csrf_token", "0123abcd"));
    let posts = [
        ("facility", browser.post("/dashboard/admin/facilities", &facility).await),
        ("facility, wrong token", browser.post("/dashboard/admin/facilities", &wrong_token).await),
        (
            "agent",
            browser.post("/dashboard/admin/agents", &[("id", "50"), ("name", "X"), ("phone", "9876512000")]).await,
        ),
        ("corporation", browser.post("/dashboard/admin/corporations", &[("name", "New Corporation")]).await),
        ("staff", browser.post("/dashboard/admin/staff", &[("name", "X"), ("email", "x@ngo.example")]).await),
        ("series", browser.post("/dashboard/slots/series", &[("capacity", "5")]).await),
        ("cancel", browser.post(&format!("/dashboard/slots/{}/cancel", slot.id), &[("cancel_apply", "one")]).await),
        ("resend", browser.post(&format!("/dashboard/outbox/{}/resend", message.id), &[]).await),
        (
            "correct",
            browser
                .post(
                    &format!("/dashboard/flags/{}/correct", seeded.thane_flag),
                    &[("agent", "12"), ("case_code", "ANC"), ("name", "Lata Shinde"), ("phone", "9876500002")],
                )
                .await,
        ),
        (
            "import",
            browser.post_multipart("/dashboard/admin/import", &[("kind", "facilities")], Some(("f.csv", csv))).await,
        ),
        (
            "import, wrong token",
            browser
                .post_multipart(
                    "/dashboard/admin/import",
                    &[("csrf_token", "0123abcd"), ("kind", "facilities")],
                    Some(("f.csv", csv)),
                )
                .await,
        ),
    ];

    for (what, page) in &posts {
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{what}: {}", page.body);
    }
    assert_eq!(server.facility_codes().await, ["DHR", "KSN", "WGL"], "no facility was added");
    let slot_id = slot.id;
    let after = server.db(move |connection| Slot::find(connection, slot_id)).await;
    assert!(!after.cancelled, "the slot was cancelled without a token");
    let flag_id = seeded.thane_flag;
    let flag = server
        .db(move |connection| Ok(FlaggedMessage::all(connection)?.into_iter().find(|flag| flag.id == flag_id)))
        .await
        .expect("flag exists");
    assert_eq!(flag.status, "open", "the flag was resolved without a token");
    assert_eq!(server.db(Task::all).await.len(), 2, "a task was booked without a token");
}

#[tokio::test]
async fn officer_cannot_reach_admin_pages() {
    let server = Server::start().await;
    server.add_staff(OFFICER_EMAIL, Role::Officer, OFFICER_PASSWORD, &[THANE_CORPORATION]).await;
    let browser = Browser::new(&server);
    browser.sign_in_ok(OFFICER_EMAIL, OFFICER_PASSWORD).await;
    let token = browser.csrf_of("/dashboard/").await;
    let thane = server.corporation_id(THANE_CORPORATION).await.to_string();
    let wgl = server.facility_id("WGL").await;

    let mut pages = Vec::new();
    for path in [
        "/dashboard/admin/".to_owned(),
        "/dashboard/admin/corporations".to_owned(),
        "/dashboard/admin/corporations/new".to_owned(),
        "/dashboard/admin/case-types".to_owned(),
        "/dashboard/admin/staff".to_owned(),
        "/dashboard/admin/staff/new".to_owned(),
        "/dashboard/admin/facilities/new".to_owned(),
        format!("/dashboard/admin/facilities/{wgl}"),
        "/dashboard/admin/agents/new".to_owned(),
        "/dashboard/admin/agents/12".to_owned(),
        "/dashboard/admin/import".to_owned(),
    ] {
        pages.push((path.clone(), browser.get(&path).await));
    }
    let create = browser
        .post(
            "/dashboard/admin/facilities",
            &[
                ("csrf_token", &token),
                ("corporation", &thane),
                ("name", "Naupada HP"),
                ("code", "NPD"),
                ("address", "x"),
            ],
        )
        .await;
    let rename = browser
        .post(
            &format!("/dashboard/admin/facilities/{wgl}"),
            &[("csrf_token", &token), ("corporation", &thane), ("name", "Renamed"), ("code", "WGL"), ("address", "x")],
        )
        .await;
    let import = browser
        .post_multipart(
            "/dashboard/admin/import",
            &[("csrf_token", &token), ("kind", "facilities")],
            Some(("f.csv", "corporation,name,code,address\nThane Municipal Corporation,Naupada HP,NPD,Naupada\n")),
        )
        .await;
    let facilities = browser.get("/dashboard/facilities").await;
    let agents = browser.get("/dashboard/agents").await;
    let home = browser.get("/dashboard/").await;

    for (path, page) in &pages {
        assert_eq!(page.status, StatusCode::NOT_FOUND, "an officer reached {path}");
    }
    for (what, page) in [("create", &create), ("rename", &rename), ("import", &import)] {
        assert_eq!(page.status, StatusCode::NOT_FOUND, "an officer could {what} a facility");
    }
    assert_eq!(server.facility_codes().await, ["DHR", "KSN", "WGL"]);
    let name = server.db(move |connection| Facility::find(connection, FacilityId(wgl))).await.name;
    assert_eq!(name, "Wagle HP", "an officer renamed a facility");
    assert_eq!(facilities.status, StatusCode::OK);
    assert!(facilities.body.contains(">WGL<"), "{}", facilities.body);
    assert!(facilities.body.contains(">KSN<"), "{}", facilities.body);
    assert!(!facilities.body.contains("DHR"), "a Mumbai facility is listed to a Thane officer");
    assert!(!facilities.body.contains("Add a facility"), "an officer is offered to add a facility");
    assert!(!facilities.body.contains("/dashboard/admin/facilities/"), "an officer is offered to edit a facility");
    assert!(agents.body.contains("Asha Patil"), "{}", agents.body);
    assert!(agents.body.contains("Rekha Shinde"), "{}", agents.body);
    assert!(!agents.body.contains("Sunita Yadav"), "a Mumbai agent is listed to a Thane officer");
    assert!(!agents.body.contains("/dashboard/admin/agents/"), "an officer is offered to edit an agent");
    assert!(!home.body.contains(r#"href="/dashboard/admin/""#), "an officer's navigation links to admin");
}

#[tokio::test]
async fn officer_cannot_reach_other_corporation_data() {
    let server = Server::start().await;
    server.add_staff(OFFICER_EMAIL, Role::Officer, OFFICER_PASSWORD, &[THANE_CORPORATION]).await;
    let seeded = server.seed_bookings().await;
    server.wait_outbox_idle().await;
    let mumbai_task = seeded.mumbai_task;
    let mumbai_message = server
        .db(move |connection| {
            let message = OutboundMessage::all(connection)?
                .into_iter()
                .find(|message| message.task_id == Some(mumbai_task))
                .expect("the Mumbai patient SMS");
            OutboundMessage::mark_failed(connection, message.id, "rejected by the test", message.updated_at)?;
            Ok(message.id)
        })
        .await;
    let dhr = server.facility_id("DHR").await;
    let anc = server.case_type_id("ANC").await.to_string();
    let dhr_slot = server.next_slot("DHR", "ANC").await;
    let browser = Browser::new(&server);
    browser.sign_in_ok(OFFICER_EMAIL, OFFICER_PASSWORD).await;
    let token = browser.csrf_of("/dashboard/").await;

    let slot_list = browser.get(&format!("/dashboard/slots?facility={dhr}")).await;
    let slot_page = browser.get(&format!("/dashboard/slots/{}", dhr_slot.id)).await;
    let cancel = browser
        .post(&format!("/dashboard/slots/{}/cancel", dhr_slot.id), &[("csrf_token", &token), ("cancel_apply", "rest")])
        .await;
    let series = browser
        .post(
            "/dashboard/slots/series",
            &[
                ("csrf_token", &token),
                ("facility", &dhr.to_string()),
                ("case_type", &anc),
                ("first_date", "2026-03-10"),
                ("start_time", "10:00"),
                ("capacity", "5"),
                ("recurrence", "never"),
            ],
        )
        .await;
    let outbox = browser.get("/dashboard/outbox").await;
    let resend = browser.post(&format!("/dashboard/outbox/{mumbai_message}/resend"), &[("csrf_token", &token)]).await;
    let tasks_csv = browser.get("/dashboard/tasks.csv").await;
    let mumbai_filter_csv = browser.get(&format!("/dashboard/tasks.csv?facility={dhr}")).await;
    let flags_csv = browser.get("/dashboard/flags.csv?view=all").await;
    let correct_form = browser.get(&format!("/dashboard/flags/{}/correct", seeded.mumbai_flag)).await;
    let correct = browser
        .post(
            &format!("/dashboard/flags/{}/correct", seeded.mumbai_flag),
            &[
                ("csrf_token", &token),
                ("agent", "15"),
                ("case_code", "ANC"),
                ("name", "Meena Gupta"),
                ("phone", "9876500003"),
            ],
        )
        .await;
    let own_slots = browser.get("/dashboard/slots").await;

    assert_eq!(slot_list.status, StatusCode::NOT_FOUND, "slots of a Mumbai facility");
    assert_eq!(slot_page.status, StatusCode::NOT_FOUND, "a Mumbai slot");
    assert_eq!(cancel.status, StatusCode::NOT_FOUND, "cancelling a Mumbai slot");
    let slot_id = dhr_slot.id;
    assert!(!server.db(move |connection| Slot::find(connection, slot_id)).await.cancelled);
    assert_eq!(series.status, StatusCode::UNPROCESSABLE_ENTITY, "a series at a Mumbai facility");
    assert_field_error(&series, "facility", "Choose one of your facilities");
    assert_eq!(outbox.status, StatusCode::OK);
    assert!(outbox.body.contains("+919876543210"), "the Thane patient SMS is listed: {}", outbox.body);
    assert!(!outbox.body.contains("+919876500001"), "a Mumbai patient SMS is listed to a Thane officer");
    assert_eq!(resend.status, StatusCode::NOT_FOUND, "resending a Mumbai SMS");
    let status = server.db(move |connection| OutboundMessage::find(connection, mumbai_message)).await;
    assert_eq!(status.map(|message| message.status).as_deref(), Some("failed"));
    assert_eq!(tasks_csv.status, StatusCode::OK);
    assert!(tasks_csv.body.contains("Seema Devi"), "{}", tasks_csv.body);
    assert!(!tasks_csv.body.contains("Rani Kumari"), "a Mumbai task is exported to a Thane officer");
    assert!(!mumbai_filter_csv.body.contains("Rani Kumari"), "a facility filter reaches past the scope");
    assert!(flags_csv.body.contains("Lata Shinde"), "{}", flags_csv.body);
    assert!(!flags_csv.body.contains("Meena Gupta"), "a Mumbai flag is exported to a Thane officer");
    assert_eq!(correct_form.status, StatusCode::NOT_FOUND);
    assert_eq!(correct.status, StatusCode::NOT_FOUND);
    assert_eq!(server.db(Task::all).await.len(), 2, "a Mumbai flag was booked by a Thane officer");
    assert!(!own_slots.body.contains("Dharavi"), "a Mumbai facility offered in the slot list");
}

#[tokio::test]
async fn csv_import_with_bad_row_imports_nothing() {
    let server = Server::start().await;
    server.add_staff(ADMIN_EMAIL, Role::Admin, ADMIN_PASSWORD, &[]).await;
    let browser = Browser::new(&server);
    browser.sign_in_ok(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let token = browser.csrf_of("/dashboard/admin/import").await;
    let bad_agents = "id,name,phone,language,active,facilities\n\
        41,Anita Rao,9876512341,hi,yes,WGL\n\
        42,Bina Das,12345,en,yes,WGL KSN\n\
        43,Chitra Jain,9876512343,xx,,ZZZ\n";
    let bad_facilities = "corporation,name,code,address\n\
        Thane Municipal Corporation,Naupada HP,NPD,Naupada\n\
        Pune Municipal Corporation,Kothrud HP,KTD,Kothrud\n\
        Thane Municipal Corporation,Naupada Two,npd,Naupada\n";
    let good_agents = "ID, Name ,Phone,Language,Facilities\n\
        41,Anita Rao,9876512341,Hindi,WGL\n\
        42,Bina Das,+91 98765 12342,en,WGL;KSN\n";
    let good_series = "facility,case_type,first_date,start_time,capacity,recurrence,end_date,occurrences\n\
        KSN,DS,10-03-2026,14:00,8,weekly,,2\n\
        WGL,IM,2026-03-11,11:30,4,never,,\n";

    let agents_rejected = browser
        .post_multipart(
            "/dashboard/admin/import",
            &[("csrf_token", &token), ("kind", "agents")],
            Some(("agents.csv", bad_agents)),
        )
        .await;
    let facilities_rejected = browser
        .post_multipart(
            "/dashboard/admin/import",
            &[("csrf_token", &token), ("kind", "facilities")],
            Some(("facilities.csv", bad_facilities)),
        )
        .await;
    let agent_41_after_rejection = server.db(|connection| Agent::find(connection, AgentId(41))).await;
    let facilities_after_rejection = server.facility_codes().await;
    let agents_imported = browser
        .post_multipart(
            "/dashboard/admin/import",
            &[("csrf_token", &token), ("kind", "agents"), ("text", good_agents)],
            None,
        )
        .await;
    let series_imported = browser
        .post_multipart(
            "/dashboard/admin/import",
            &[("csrf_token", &token), ("kind", "slot_series")],
            Some(("series.csv", good_series)),
        )
        .await;
    let report = browser.get(agents_imported.location.as_deref().unwrap_or("/dashboard/admin/import")).await;

    assert_eq!(agents_rejected.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", agents_rejected.body);
    let body = &agents_rejected.body;
    assert!(body.contains("Nothing was imported: 3 problems"), "{body}");
    for (row, column, value, message) in [
        ("3", "phone", "12345", "is not a mobile number"),
        ("4", "language", "xx", "Choose English, Hindi or Marathi"),
        ("4", "facilities", "ZZZ", "Facility code ZZZ is unknown"),
    ] {
        let line = format!(
            r#"<td data-label="Row">{row}</td>
      <td data-label="Column">{column}</td>
      <td data-label="Value" class="text">{value}</td>"#
        );
        assert!(body.contains(&line), "row {row}, column {column} is not reported: {body}");
        assert!(body.contains(message), "{message:?} missing: {body}");
    }
    assert!(agent_41_after_rejection.is_none(), "the good row 2 was imported although row 3 was bad");
    assert_eq!(facilities_rejected.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(facilities_rejected.body.contains("No corporation has this name"), "{}", facilities_rejected.body);
    assert!(facilities_rejected.body.contains("Row 2 has this code already"), "{}", facilities_rejected.body);
    assert_eq!(facilities_after_rejection, ["DHR", "KSN", "WGL"]);
    assert_eq!(agents_imported.status, StatusCode::SEE_OTHER, "{}", agents_imported.body);
    assert_eq!(agents_imported.location.as_deref(), Some("/dashboard/admin/import?kind=agents&imported=2"));
    assert!(report.body.contains("Imported 2 agents."), "{}", report.body);
    let bina = server.db(|connection| Agent::find(connection, AgentId(42))).await.expect("agent 42 imported");
    assert_eq!(bina.phone, "+919876512342");
    let codes: Vec<String> = server
        .db(|connection| Facility::of_agent(connection, AgentId(42)))
        .await
        .into_iter()
        .map(|facility| facility.code)
        .collect();
    assert_eq!(codes, ["KSN", "WGL"]);
    let anita = server.db(|connection| Agent::find(connection, AgentId(41))).await.expect("agent 41 imported");
    assert_eq!(anita.language, "hi");
    assert!(anita.active, "an empty active column means active");
    assert_eq!(series_imported.status, StatusCode::SEE_OTHER, "{}", series_imported.body);
    let ds = server.case_type_id("DS").await;
    let ksn = server.facility_id("KSN").await;
    let ds_slots: Vec<Slot> = server
        .db(move |connection| {
            slots::table
                .filter(slots::facility_id.eq(ksn))
                .filter(slots::case_type_id.eq(ds))
                .select(Slot::as_select())
                .load(connection)
        })
        .await;
    let weekly: Vec<&Slot> = ds_slots.iter().filter(|slot| slot.capacity == 8).collect();
    assert_eq!(weekly.len(), 2, "the weekly series of two slots: {ds_slots:?}");
}

#[tokio::test]
async fn correct_and_book_creates_task_and_resolves_flag() {
    let server = Server::start().await;
    server.add_staff(OFFICER_EMAIL, Role::Officer, OFFICER_PASSWORD, &[THANE_CORPORATION]).await;
    let seeded = server.seed_bookings().await;
    let browser = Browser::new(&server);
    browser.sign_in_ok(OFFICER_EMAIL, OFFICER_PASSWORD).await;
    let correct_path = format!("/dashboard/flags/{}/correct", seeded.thane_flag);

    let flags = browser.get("/dashboard/flags").await;
    let form = browser.get(&correct_path).await;
    let token = csrf_token(&form.body);
    let bad_phone = browser
        .post(
            &correct_path,
            &[
                ("csrf_token", &token),
                ("agent", "12"),
                ("case_code", "ANC"),
                ("name", "Lata Shinde"),
                ("phone", "98765"),
                ("facility", "KSN"),
            ],
        )
        .await;
    let booked = browser
        .post(
            &correct_path,
            &[
                ("csrf_token", &token),
                ("agent", "12"),
                ("case_code", "ANC"),
                ("name", "Lata Shinde"),
                ("phone", "9876500002"),
                ("facility", "KSN"),
                ("note", "The agent typed XYZ for ANC."),
            ],
        )
        .await;
    let again = browser
        .post(
            &correct_path,
            &[
                ("csrf_token", &token),
                ("agent", "12"),
                ("case_code", "ANC"),
                ("name", "Lata Shinde"),
                ("phone", "9876500002"),
            ],
        )
        .await;

    assert!(flags.body.contains(&format!(r#"href="{correct_path}""#)), "no correct-and-book link: {}", flags.body);
    assert_eq!(form.status, StatusCode::OK);
    assert_eq!(input_value(&form.body, "name").as_deref(), Some("Lata Shinde"), "the name is read from the SMS");
    assert_eq!(input_value(&form.body, "phone").as_deref(), Some("+919876500002"), "the phone is read from the SMS");
    assert_eq!(bad_phone.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_field_error(&bad_phone, "phone", "'98765' is not an Indian mobile number");
    assert_eq!(input_value(&bad_phone.body, "name").as_deref(), Some("Lata Shinde"));
    assert_eq!(booked.status, StatusCode::SEE_OTHER, "{}", booked.body);
    let task = server
        .db(|connection| Ok(Task::all(connection)?.into_iter().find(|task| task.beneficiary_name == "Lata Shinde")))
        .await
        .expect("the corrected booking is a task");
    assert_eq!(booked.location, Some(format!("/dashboard/tasks/{}", task.id)));
    assert_eq!(task.beneficiary_phone, "+919876500002");
    assert_eq!(task.agent_id, AgentId(12));
    assert_eq!(task.facility_id.0, server.facility_id("KSN").await);
    assert_eq!(task.status, "booked");
    let flag_id = seeded.thane_flag;
    let flag = server
        .db(move |connection| Ok(FlaggedMessage::all(connection)?.into_iter().find(|flag| flag.id == flag_id)))
        .await
        .expect("flag exists");
    assert_eq!(flag.status, "resolved");
    assert_eq!(flag.task_id, Some(task.id), "the flag links the new task");
    assert_eq!(flag.resolved_by.as_deref(), Some(OFFICER_EMAIL));
    assert_eq!(flag.resolved_at, Some(server.clock_now()));
    let note = flag.resolution_note.unwrap_or_default();
    assert!(note.contains(&format!("task {}", task.id)), "{note}");
    assert!(note.contains("The agent typed XYZ for ANC."), "{note}");
    assert_eq!(task.inbound_message_id, flag.inbound_message_id, "the task keeps the flagged SMS");
    let task_id = task.id;
    let transitions = server.db(move |connection| TaskTransition::of_task(connection, task_id)).await;
    assert_eq!(transitions[0].actor, "officer");
    let patient_sms = server
        .db(move |connection| {
            Ok(OutboundMessage::all(connection)?
                .into_iter()
                .filter(|message| message.task_id == Some(task_id) && message.recipient == "+919876500002")
                .count())
        })
        .await;
    assert_eq!(patient_sms, 1, "the patient is texted the appointment");
    assert_eq!(again.location.as_deref(), Some("/dashboard/flags?notice=not_bookable"));
    assert_eq!(server.db(Task::all).await.len(), 3, "a resolved flag was booked twice");
}

#[tokio::test]
async fn resend_requeues_failed_message() {
    let server = Server::start().await;
    server.add_staff(ADMIN_EMAIL, Role::Admin, ADMIN_PASSWORD, &[]).await;
    server.provider.fail_next([SendError::Permanent("rejected by the test".to_owned())]);
    server.send_sms(THANE_AGENT_PHONE, "12 ANC Seema Devi 9876543210").await;
    server.wait_for(1, 0).await;
    server.wait_outbox_idle().await;
    let failed = server
        .db(|connection| Ok(OutboundMessage::all(connection)?.into_iter().find(|message| message.status == "failed")))
        .await
        .expect("one SMS failed");
    let browser = Browser::new(&server);
    browser.sign_in_ok(ADMIN_EMAIL, ADMIN_PASSWORD).await;

    let failed_list = browser.get("/dashboard/outbox?status=failed").await;
    let token = csrf_token(&failed_list.body);
    let resend = browser
        .post(
            &format!("/dashboard/outbox/{}/resend", failed.id),
            &[("csrf_token", &token), ("return_query", "status=failed")],
        )
        .await;
    let requeued = server.db({
        let id = failed.id;
        move |connection| OutboundMessage::find(connection, id)
    });
    let requeued = requeued.await.expect("message exists");
    server.wait_outbox_idle().await;
    let id = failed.id;
    let delivered = server.db(move |connection| OutboundMessage::find(connection, id)).await.expect("message exists");
    let resends = server.db(move |connection| OutboundResend::of_messages(connection, &[id])).await;
    let again = browser.post(&format!("/dashboard/outbox/{}/resend", failed.id), &[("csrf_token", &token)]).await;
    let page = browser.get("/dashboard/outbox").await;

    assert_eq!(failed.attempts, 1);
    assert!(failed_list.body.contains("rejected by the test"), "the provider error is shown: {}", failed_list.body);
    assert!(failed_list.body.contains(&format!("Resend SMS {}", failed.id)), "{}", failed_list.body);
    assert_eq!(resend.status, StatusCode::SEE_OTHER);
    assert_eq!(resend.location.as_deref(), Some("/dashboard/outbox?status=failed&notice=resent"));
    assert!(matches!(requeued.status.as_str(), "queued" | "sending" | "sent"), "{requeued:?}");
    assert_eq!(delivered.status, "sent", "the resent SMS went out");
    assert_eq!(delivered.attempts, 1, "attempts start again from 0");
    assert_eq!(resends.len(), 1);
    assert_eq!(resends[0].resent_by, ADMIN_EMAIL);
    assert_eq!(resends[0].previous_attempts, 1);
    assert_eq!(resends[0].previous_error.as_deref(), Some("rejected by the test"));
    assert_eq!(again.location.as_deref(), Some("/dashboard/outbox?notice=not_failed"));
    assert!(page.body.contains(&format!("Resent by {ADMIN_EMAIL}")), "{}", page.body);
    assert!(captured_log().contains(&format!("resent outbound message {}", failed.id)), "the resend is not logged");
    let sent_twice = server.provider.sent().iter().filter(|sms| sms.to.as_str() == "+919876543210").count();
    assert_eq!(sent_twice, 1, "the provider got the patient SMS once, after the resend");
}

#[tokio::test]
async fn slot_edit_and_cancel_move_bookings() {
    let server = Server::start().await;
    server.add_staff(ADMIN_EMAIL, Role::Admin, ADMIN_PASSWORD, &[]).await;
    server.send_sms(THANE_AGENT_PHONE, "12 ANC Seema Devi 9876543210 WGL").await;
    server.wait_for(1, 0).await;
    let task = server.db(Task::all).await.remove(0);
    let slot_id = task.slot_id;
    let browser = Browser::new(&server);
    browser.sign_in_ok(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let slot_path = format!("/dashboard/slots/{slot_id}");

    let page = browser.get(&slot_path).await;
    let token = csrf_token(&page.body);
    let zero = browser
        .post(&format!("{slot_path}/edit"), &[("csrf_token", &token), ("capacity", "0"), ("apply", "one")])
        .await;
    let nothing = browser
        .post(
            &format!("{slot_path}/edit"),
            &[("csrf_token", &token), ("capacity", ""), ("start_time", ""), ("apply", "one")],
        )
        .await;
    let later = browser
        .post(&format!("{slot_path}/edit"), &[("csrf_token", &token), ("start_time", "11:15"), ("apply", "one")])
        .await;
    let moved_slot = server.db(move |connection| Slot::find(connection, slot_id)).await;
    let cancel = browser.post(&format!("{slot_path}/cancel"), &[("csrf_token", &token), ("cancel_apply", "one")]).await;
    let task_id = task.id;
    let after = server.db(move |connection| Task::find(connection, task_id)).await.expect("task exists");
    let cancelled = server.db(move |connection| Slot::find(connection, slot_id)).await;
    let list = browser.get(cancel.location.as_deref().unwrap_or("/dashboard/slots")).await;

    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Seema Devi"), "the booking is listed on the slot page: {}", page.body);
    assert_eq!(zero.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_field_error(&zero, "capacity", "'0' is not a capacity");
    assert_eq!(input_value(&zero.body, "capacity").as_deref(), Some("0"));
    assert_field_error(&nothing, "capacity", "Enter a new number of places or a new start time");
    assert_eq!(later.status, StatusCode::SEE_OTHER, "{}", later.body);
    let local = chrono_tz::Asia::Kolkata.from_utc_datetime(&moved_slot.starts_at);
    assert_eq!(local.format("%H:%M").to_string(), "11:15");
    assert_eq!(cancel.status, StatusCode::SEE_OTHER, "{}", cancel.body);
    assert!(cancelled.cancelled);
    assert_ne!(after.slot_id, slot_id, "the booking moved out of the cancelled slot");
    assert!(list.body.contains("1 slots cancelled. 1 bookings moved"), "{}", list.body);
    let texts = server
        .db(move |connection| {
            Ok(OutboundMessage::all(connection)?
                .into_iter()
                .filter(|message| message.task_id == Some(task_id) && message.recipient == "+919876543210")
                .map(|message| message.template_id)
                .collect::<Vec<_>>())
        })
        .await;
    assert_eq!(texts, ["patient-appointment", "patient-appointment-changed", "patient-appointment-changed"]);
}

#[tokio::test]
async fn exports_follow_filters() {
    let server = Server::start().await;
    server.add_staff(ADMIN_EMAIL, Role::Admin, ADMIN_PASSWORD, &[]).await;
    let seeded = server.seed_bookings().await;
    let browser = Browser::new(&server);
    browser.sign_in_ok(ADMIN_EMAIL, ADMIN_PASSWORD).await;

    let list = browser.get("/dashboard/tasks?agent=12").await;
    let tasks = browser.get("/dashboard/tasks.csv?agent=12&sort=beneficiary&order=asc").await;
    let flags = browser.get("/dashboard/flags.csv?view=open").await;
    let bad = browser.get("/dashboard/tasks.csv?status=lost").await;

    assert!(
        list.body.contains("/dashboard/tasks.csv?agent=12&#38;sort="),
        "no export link with the filter: {}",
        list.body
    );
    assert_eq!(tasks.status, StatusCode::OK);
    let content_type = tasks.headers.get("content-type").and_then(|value| value.to_str().ok());
    assert_eq!(content_type, Some("text/csv; charset=utf-8"));
    let disposition = tasks.headers.get("content-disposition").and_then(|value| value.to_str().ok()).unwrap_or("");
    assert!(disposition.starts_with("attachment; filename=\"tasks-2026-03-02.csv\""), "{disposition}");
    let mut lines = tasks.body.strip_prefix('\u{FEFF}').expect("byte order mark").lines();
    assert_eq!(
        lines.next(),
        Some("task_id,status,beneficiary_name,beneficiary_phone,appointment,facility_code,facility_name,case_code,agent_id,agent_name,booked_at,reschedules")
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0].starts_with(&format!("{},booked,Seema Devi,+919876543210,", seeded.thane_task)), "{}", rows[0]);
    assert!(!tasks.body.contains("Rani Kumari"), "agent 15's task in agent 12's export");
    assert_eq!(flags.status, StatusCode::OK);
    assert!(flags.body.contains("Lata Shinde"), "{}", flags.body);
    assert!(flags.body.contains("Meena Gupta"), "{}", flags.body);
    assert!(flags.body.contains("unknown_case_type"), "{}", flags.body);
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}
