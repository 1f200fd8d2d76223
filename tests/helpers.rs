//! Black-box tests of how helpers (officers) work client requests on the
//! dashboard and through the officer API: the queue and its scope, taking
//! a request, the per-helper limit, reassigning, releasing, closing, and
//! CSRF. Each test starts the real server on port 0 with the demo NGO and
//! a fresh SQLite file, and writes clients and requests straight to the
//! database.

mod dashboard_harness;

use chrono::Duration;
use dashboard_harness::*;
use diesel::prelude::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message as WsMessage;

use sandesh::db::client_requests::{origin, status, ClientRequest, NewClientRequest};
use sandesh::db::clients::{Client, NewClient};
use sandesh::db::ids::{ClientRequestId, CorporationId};
use sandesh::db::schema::corporations;
use sandesh::db::staff::{Role, StaffId};

const MUMBAI_CORPORATION: &str = "Municipal Corporation of Greater Mumbai";

const SECOND_OFFICER_EMAIL: &str = "second.thane@ngo.example";
const MUMBAI_OFFICER_EMAIL: &str = "officer.mumbai@ngo.example";

// ---------------------------------------------------------------- helpers

async fn corporation(server: &Server, name: &'static str) -> CorporationId {
    server
        .db(move |connection| {
            corporations::table.filter(corporations::name.eq(name)).select(corporations::id).first(connection)
        })
        .await
}

/// Stores a WhatsApp client and one open request of theirs in
/// `corporation`, received `minutes_ago` minutes before the clock's now.
async fn add_request(server: &Server, corporation: CorporationId, contact: &str, minutes_ago: i64) -> ClientRequestId {
    let now = server.clock_now();
    let created = now - Duration::minutes(minutes_ago);
    let contact = contact.to_owned();
    server
        .db(move |connection| {
            let whatsapp_id = format!("9198{:08}", contact.len() * 1_000 + minutes_ago as usize);
            let login = format!("client-{}-{minutes_ago}", contact.to_lowercase().replace(' ', "-"));
            let client = Client::insert(
                connection,
                &NewClient {
                    whatsapp_id: &whatsapp_id,
                    phone: None,
                    display_name: &contact,
                    language: "en",
                    login: &login,
                    password_hash: "not a usable hash",
                    password_expires_at: now,
                    created_at: created,
                    last_message_at: created,
                },
            )?;
            let request = ClientRequest::insert(
                connection,
                &NewClientRequest {
                    client_id: client.id,
                    corporation_id: corporation,
                    origin: origin::CHAT,
                    category: "water_supply",
                    contact_name: &contact,
                    contact_phone: "+919876543210",
                    description: "No water since Monday.",
                    status: status::OPEN,
                    created_at: created,
                    updated_at: created,
                },
            )?;
            Ok(request.id)
        })
        .await
}

async fn stored(server: &Server, id: ClientRequestId) -> ClientRequest {
    server.db(move |connection| ClientRequest::find(connection, id)).await.expect("request exists")
}

/// Creates a staff user and returns a browser signed in as them.
async fn staff_browser(server: &Server, email: &str, role: Role, corporations: &[&str]) -> (Browser, StaffId) {
    let password = format!("password of {email}");
    let id = server.add_staff(email, role, &password, corporations).await;
    let browser = Browser::new(server);
    browser.sign_in_ok(email, &password).await;
    (browser, id)
}

/// Issues an API token for a staff user made by [`staff_browser`].
async fn api_token(server: &Server, email: &str) -> String {
    let response = reqwest::Client::new()
        .post(format!("{}/api/v1/tokens", server.address))
        .json(&json!({"email": email, "password": format!("password of {email}")}))
        .send()
        .await
        .expect("token request");
    assert_eq!(response.status(), StatusCode::CREATED, "token for {email}");
    let body: Value = response.json().await.expect("token JSON");
    body["token"].as_str().expect("token in the response").to_owned()
}

/// Calls the API and returns the status and the JSON body (`null` when
/// the body is empty).
async fn api(server: &Server, method: reqwest::Method, path: &str, token: &str) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .request(method, format!("{}{path}", server.address))
        .bearer_auth(token)
        .send()
        .await
        .expect("API request");
    let status = response.status();
    let text = response.text().await.expect("API body");
    let body = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).expect("API body is JSON") };
    (status, body)
}

fn listed_ids(body: &Value) -> Vec<i64> {
    body["items"].as_array().expect("items").iter().map(|item| item["id"].as_i64().expect("id")).collect()
}

/// Posts an action form of the request page with the page's CSRF token.
async fn post_action(browser: &Browser, id: ClientRequestId, action: &str, extra: &[(&str, &str)]) -> Page {
    let token = browser.csrf_of("/dashboard/requests").await;
    let mut form = vec![("csrf_token", token.as_str())];
    form.extend_from_slice(extra);
    browser.post(&format!("/dashboard/requests/{id}/{action}"), &form).await
}

async fn take_next(browser: &Browser) -> Page {
    let token = browser.csrf_of("/dashboard/requests").await;
    browser.post("/dashboard/requests/next", &[("csrf_token", &token)]).await
}

// ------------------------------------------------------------------ tests

#[tokio::test]
async fn officer_sees_only_own_corporation() {
    let server = Server::start().await;
    let (thane, mumbai) =
        (corporation(&server, THANE_CORPORATION).await, corporation(&server, MUMBAI_CORPORATION).await);
    let thane_request = add_request(&server, thane, "Seema Devi", 30).await;
    let mumbai_request = add_request(&server, mumbai, "Rani Kumari", 20).await;
    let (browser, _) = staff_browser(&server, OFFICER_EMAIL, Role::Officer, &[THANE_CORPORATION]).await;
    let token = api_token(&server, OFFICER_EMAIL).await;

    let queue = browser.get("/dashboard/requests").await;
    let own = browser.get(&format!("/dashboard/requests/{thane_request}")).await;
    let other = browser.get(&format!("/dashboard/requests/{mumbai_request}")).await;
    let (list_status, list) = api(&server, reqwest::Method::GET, "/api/v1/requests", &token).await;
    let (other_status, other_body) =
        api(&server, reqwest::Method::GET, &format!("/api/v1/requests/{mumbai_request}"), &token).await;

    assert_eq!(queue.status, StatusCode::OK);
    assert!(queue.body.contains(&format!("href=\"/dashboard/requests/{thane_request}\"")), "{}", queue.body);
    assert!(!queue.body.contains(&format!("href=\"/dashboard/requests/{mumbai_request}\"")), "{}", queue.body);
    assert!(queue.body.contains("Seema Devi"));
    assert!(!queue.body.contains("Rani Kumari"), "another corporation's contact leaked into the queue");
    assert!(queue.body.contains(r#"href="/dashboard/requests" aria-current="page">Requests</a>"#), "navigation entry");
    assert!(queue.body.contains("30 min"), "age of the oldest request: {}", queue.body);
    assert_eq!(own.status, StatusCode::OK);
    assert!(own.body.contains("No water since Monday."));
    assert!(own.body.contains(r#"data-can-write="false""#), "reading an open request is not taking it");
    let policy = own.headers.get("content-security-policy").and_then(|value| value.to_str().ok()).unwrap_or("");
    assert!(policy.contains("script-src 'self'"), "{policy}");
    assert!(policy.contains("connect-src 'self'"), "{policy}");
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    assert_eq!(list_status, StatusCode::OK);
    assert_eq!(listed_ids(&list), vec![i64::from(thane_request.0)]);
    assert_eq!(list["items"][0]["corporation_name"], THANE_CORPORATION);
    assert_eq!(list["items"][0]["can_write"], false);
    assert_eq!(other_status, StatusCode::NOT_FOUND);
    assert_eq!(other_body["error"], "request not found");
}

#[tokio::test]
async fn home_counts_requests_in_scope() {
    let server = Server::start().await;
    let (thane, mumbai) =
        (corporation(&server, THANE_CORPORATION).await, corporation(&server, MUMBAI_CORPORATION).await);
    add_request(&server, thane, "Seema Devi", 30).await;
    let taken = add_request(&server, thane, "Asha Patil", 25).await;
    add_request(&server, mumbai, "Rani Kumari", 20).await;
    let (officer, _) = staff_browser(&server, OFFICER_EMAIL, Role::Officer, &[THANE_CORPORATION]).await;
    let (admin, _) = staff_browser(&server, ADMIN_EMAIL, Role::Admin, &[]).await;
    post_action(&officer, taken, "accept", &[]).await;

    let officer_home = officer.get("/dashboard/").await.body;
    let admin_home = admin.get("/dashboard/").await.body;

    let waiting = |count: i64| format!(r#"<span class="count">{count}</span> client requests waiting for a helper"#);
    let held = |count: i64| format!(r#"<span class="count">{count}</span> client requests you are helping with"#);
    assert!(officer_home.contains(&waiting(1)), "the Mumbai request is out of scope: {officer_home}");
    assert!(officer_home.contains(&held(1)), "{officer_home}");
    assert!(admin_home.contains(&waiting(2)), "{admin_home}");
    assert!(admin_home.contains(&held(0)), "{admin_home}");
    assert!(officer_home.contains(r#"href="/dashboard/requests?status=open""#), "{officer_home}");
}

#[tokio::test]
async fn accepted_request_hidden_from_colleague() {
    let server = Server::start().await;
    let thane = corporation(&server, THANE_CORPORATION).await;
    let id = add_request(&server, thane, "Seema Devi", 10).await;
    let (first, first_id) = staff_browser(&server, OFFICER_EMAIL, Role::Officer, &[THANE_CORPORATION]).await;
    let (second, _) = staff_browser(&server, SECOND_OFFICER_EMAIL, Role::Officer, &[THANE_CORPORATION]).await;
    let second_token = api_token(&server, SECOND_OFFICER_EMAIL).await;

    let accepted = post_action(&first, id, "accept", &[]).await;
    let accepted_again = post_action(&first, id, "accept", &[]).await;
    let page = first.get(&format!("/dashboard/requests/{id}?notice=accepted")).await;
    let colleague_page = second.get(&format!("/dashboard/requests/{id}")).await;
    let colleague_queue = second.get("/dashboard/requests").await;
    let (colleague_status, _) =
        api(&server, reqwest::Method::GET, &format!("/api/v1/requests/{id}"), &second_token).await;
    let (colleague_accept, _) =
        api(&server, reqwest::Method::POST, &format!("/api/v1/requests/{id}/accept"), &second_token).await;
    let request = stored(&server, id).await;

    assert_eq!(accepted.status, StatusCode::SEE_OTHER, "{}", accepted.body);
    assert_eq!(accepted.location.as_deref(), Some(format!("/dashboard/requests/{id}?notice=accepted").as_str()));
    assert_eq!(accepted_again.status, StatusCode::SEE_OTHER, "a second click is not an error: {}", accepted_again.body);
    assert_eq!(request.status, status::ASSIGNED);
    assert_eq!(request.helper_id, Some(first_id));
    assert!(page.body.contains("You took this request."));
    assert!(page.body.contains(r#"data-can-write="true""#));
    assert!(page.body.contains(&format!("/dashboard/requests/{id}/release")));
    assert_eq!(colleague_page.status, StatusCode::NOT_FOUND);
    assert!(!colleague_queue.body.contains(&format!("href=\"/dashboard/requests/{id}\"")));
    assert_eq!(colleague_status, StatusCode::NOT_FOUND);
    assert_eq!(colleague_accept, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn take_next_is_oldest_first() {
    let server = Server::start().await;
    let thane = corporation(&server, THANE_CORPORATION).await;
    let oldest = add_request(&server, thane, "First Client", 90).await;
    let middle = add_request(&server, thane, "Second Client", 60).await;
    let newest = add_request(&server, thane, "Third Client", 30).await;
    let (browser, _) = staff_browser(&server, OFFICER_EMAIL, Role::Officer, &[THANE_CORPORATION]).await;
    let token = api_token(&server, OFFICER_EMAIL).await;

    let first = take_next(&browser).await;
    let (second_status, second) = api(&server, reqwest::Method::POST, "/api/v1/requests/next", &token).await;
    let (third_status, third) = api(&server, reqwest::Method::POST, "/api/v1/requests/next", &token).await;
    let (none_status, none) = api(&server, reqwest::Method::POST, "/api/v1/requests/next", &token).await;
    let none_page = take_next(&browser).await;
    let notice = browser.get(none_page.location.as_deref().unwrap_or("/dashboard/requests")).await;
    let queue = browser.get("/dashboard/requests").await;

    assert_eq!(first.location.as_deref(), Some(format!("/dashboard/requests/{oldest}?notice=accepted").as_str()));
    assert_eq!(second_status, StatusCode::OK);
    assert_eq!(second["id"], middle.0);
    assert_eq!(second["status"], "assigned");
    assert_eq!(second["can_write"], true);
    assert_eq!(third_status, StatusCode::OK);
    assert_eq!(third["id"], newest.0);
    assert_eq!(none_status, StatusCode::NO_CONTENT);
    assert_eq!(none, Value::Null);
    assert_eq!(none_page.location.as_deref(), Some("/dashboard/requests?notice=none_waiting"));
    assert!(notice.body.contains("No open request is waiting in your corporations."), "{}", notice.body);
    assert!(queue.body.contains("You hold 3 of at most 5."), "{}", queue.body);
}

#[tokio::test]
async fn limit_reached_names_the_limit() {
    let server = Server::start_with(|settings| settings.chat.max_open_per_helper = 1).await;
    let thane = corporation(&server, THANE_CORPORATION).await;
    let first = add_request(&server, thane, "First Client", 20).await;
    let second = add_request(&server, thane, "Second Client", 10).await;
    let (browser, _) = staff_browser(&server, OFFICER_EMAIL, Role::Officer, &[THANE_CORPORATION]).await;
    let token = api_token(&server, OFFICER_EMAIL).await;

    let accepted = post_action(&browser, first, "accept", &[]).await;
    let rejected = post_action(&browser, second, "accept", &[]).await;
    let rejected_next = take_next(&browser).await;
    let (api_status, api_body) =
        api(&server, reqwest::Method::POST, &format!("/api/v1/requests/{second}/accept"), &token).await;
    let (next_status, next_body) = api(&server, reqwest::Method::POST, "/api/v1/requests/next", &token).await;

    assert_eq!(accepted.status, StatusCode::SEE_OTHER);
    assert_eq!(rejected.status, StatusCode::CONFLICT);
    assert!(rejected.body.contains("You already hold 1 open requests, the limit is 1"), "{}", rejected.body);
    assert_eq!(rejected_next.status, StatusCode::CONFLICT);
    assert!(rejected_next.body.contains("the limit is 1"), "{}", rejected_next.body);
    assert_eq!(api_status, StatusCode::CONFLICT);
    assert!(api_body["error"].as_str().is_some_and(|error| error.contains("the limit is 1")), "{api_body}");
    assert_eq!(next_status, StatusCode::CONFLICT);
    assert!(next_body["error"].as_str().is_some_and(|error| error.contains("the limit is 1")), "{next_body}");
    assert_eq!(stored(&server, second).await.status, status::OPEN);
}

#[tokio::test]
async fn admin_reassign_moves_request() {
    let server = Server::start().await;
    let thane = corporation(&server, THANE_CORPORATION).await;
    let id = add_request(&server, thane, "Seema Devi", 10).await;
    let (first, _) = staff_browser(&server, OFFICER_EMAIL, Role::Officer, &[THANE_CORPORATION]).await;
    let (second, second_id) = staff_browser(&server, SECOND_OFFICER_EMAIL, Role::Officer, &[THANE_CORPORATION]).await;
    let (_, mumbai_id) = staff_browser(&server, MUMBAI_OFFICER_EMAIL, Role::Officer, &[MUMBAI_CORPORATION]).await;
    let (admin, _) = staff_browser(&server, ADMIN_EMAIL, Role::Admin, &[]).await;
    let first_token = api_token(&server, OFFICER_EMAIL).await;
    post_action(&first, id, "accept", &[]).await;

    let admin_page = admin.get(&format!("/dashboard/requests/{id}")).await;
    let by_officer = post_action(&first, id, "reassign", &[("officer", &second_id.to_string())]).await;
    let to_other_corporation = post_action(&admin, id, "reassign", &[("officer", &mumbai_id.to_string())]).await;
    let moved = post_action(&admin, id, "reassign", &[("officer", &second_id.to_string())]).await;
    let previous_page = first.get(&format!("/dashboard/requests/{id}")).await;
    let (previous_api, _) = api(&server, reqwest::Method::GET, &format!("/api/v1/requests/{id}"), &first_token).await;
    let new_page = second.get(&format!("/dashboard/requests/{id}")).await;
    let request = stored(&server, id).await;

    assert!(admin_page.body.contains(&format!(r#"<option value="{second_id}">"#)), "{}", admin_page.body);
    assert!(!admin_page.body.contains(&format!(r#"<option value="{mumbai_id}">"#)), "officer of another corporation");
    assert!(admin_page.body.contains(r#"data-can-write="false""#), "an admin reads but does not write");
    assert_eq!(by_officer.status, StatusCode::NOT_FOUND, "only admins reassign");
    assert_eq!(to_other_corporation.status, StatusCode::CONFLICT);
    assert!(
        to_other_corporation.body.contains(&format!("Staff user {mumbai_id} is not an active officer")),
        "{}",
        to_other_corporation.body
    );
    assert_eq!(moved.status, StatusCode::SEE_OTHER, "{}", moved.body);
    assert_eq!(moved.location.as_deref(), Some(format!("/dashboard/requests/{id}?notice=reassigned").as_str()));
    assert_eq!(request.helper_id, Some(second_id));
    assert_eq!(request.status, status::ASSIGNED);
    assert_eq!(previous_page.status, StatusCode::NOT_FOUND);
    assert_eq!(previous_api, StatusCode::NOT_FOUND);
    assert_eq!(new_page.status, StatusCode::OK);
    assert!(new_page.body.contains(r#"data-can-write="true""#));
}

#[tokio::test]
async fn release_returns_request_to_queue() {
    let server = Server::start().await;
    let thane = corporation(&server, THANE_CORPORATION).await;
    let id = add_request(&server, thane, "Seema Devi", 10).await;
    let (first, _) = staff_browser(&server, OFFICER_EMAIL, Role::Officer, &[THANE_CORPORATION]).await;
    let (second, _) = staff_browser(&server, SECOND_OFFICER_EMAIL, Role::Officer, &[THANE_CORPORATION]).await;
    let second_token = api_token(&server, SECOND_OFFICER_EMAIL).await;
    post_action(&first, id, "accept", &[]).await;

    let released = post_action(&first, id, "release", &[]).await;
    let notice = first.get("/dashboard/requests?notice=released").await;
    let queue = second.get("/dashboard/requests").await;
    let (listed_status, listed) =
        api(&server, reqwest::Method::GET, "/api/v1/requests?status=open", &second_token).await;
    let (release_open, release_body) =
        api(&server, reqwest::Method::POST, &format!("/api/v1/requests/{id}/release"), &second_token).await;
    let request = stored(&server, id).await;

    assert_eq!(released.status, StatusCode::SEE_OTHER, "{}", released.body);
    assert_eq!(released.location.as_deref(), Some("/dashboard/requests?notice=released"));
    assert!(notice.body.contains("The request is back in the open queue."));
    assert_eq!(request.status, status::OPEN);
    assert_eq!(request.helper_id, None);
    assert!(queue.body.contains(&format!("href=\"/dashboard/requests/{id}\"")), "{}", queue.body);
    assert_eq!(listed_status, StatusCode::OK);
    assert_eq!(listed_ids(&listed), vec![i64::from(id.0)]);
    assert_eq!(release_open, StatusCode::CONFLICT, "an open request cannot be released");
    assert!(
        release_body["error"].as_str().is_some_and(|error| error.contains("not assigned to you")),
        "{release_body}"
    );
}

#[tokio::test]
async fn close_makes_chat_read_only() {
    let server = Server::start().await;
    let thane = corporation(&server, THANE_CORPORATION).await;
    let id = add_request(&server, thane, "Seema Devi", 10).await;
    let (browser, _) = staff_browser(&server, OFFICER_EMAIL, Role::Officer, &[THANE_CORPORATION]).await;
    let (colleague, _) = staff_browser(&server, SECOND_OFFICER_EMAIL, Role::Officer, &[THANE_CORPORATION]).await;
    let token = api_token(&server, OFFICER_EMAIL).await;
    post_action(&browser, id, "accept", &[]).await;

    let closed = post_action(&browser, id, "close", &[]).await;
    let page = browser.get(&format!("/dashboard/requests/{id}")).await;
    let colleague_page = colleague.get(&format!("/dashboard/requests/{id}")).await;
    let (show_status, shown) = api(&server, reqwest::Method::GET, &format!("/api/v1/requests/{id}"), &token).await;
    let (again_status, again) =
        api(&server, reqwest::Method::POST, &format!("/api/v1/requests/{id}/close"), &token).await;
    let (accept_status, _) =
        api(&server, reqwest::Method::POST, &format!("/api/v1/requests/{id}/accept"), &token).await;

    assert_eq!(closed.location.as_deref(), Some(format!("/dashboard/requests/{id}?notice=closed").as_str()));
    assert_eq!(stored(&server, id).await.status, status::CLOSED);
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(r#"data-can-write="false""#));
    assert!(page.body.contains("The request is closed, so the chat is read-only."));
    assert!(!page.body.contains(&format!("/dashboard/requests/{id}/close")), "no close button on a closed request");
    assert!(!page.body.contains(&format!("/dashboard/requests/{id}/accept")));
    assert_eq!(colleague_page.status, StatusCode::NOT_FOUND);
    assert_eq!(show_status, StatusCode::OK);
    assert_eq!(shown["status"], "closed");
    assert_eq!(shown["can_write"], false);
    assert!(shown["closed_at"].is_string(), "{shown}");
    assert_eq!(again_status, StatusCode::CONFLICT);
    assert!(again["error"].as_str().is_some_and(|error| error.contains("already closed")), "{again}");
    assert_eq!(accept_status, StatusCode::CONFLICT, "a closed request cannot be taken");
}

#[tokio::test]
async fn missing_csrf_token_is_rejected() {
    let server = Server::start().await;
    let thane = corporation(&server, THANE_CORPORATION).await;
    let id = add_request(&server, thane, "Seema Devi", 10).await;
    let (browser, _) = staff_browser(&server, OFFICER_EMAIL, Role::Officer, &[THANE_CORPORATION]).await;

    let without = browser.post(&format!("/dashboard/requests/{id}/accept"), &[]).await;
    let wrong = browser.post(&format!("/dashboard/requests/{id}/accept"), &[("csrf_token", "0123")]).await;
    let next = browser.post("/dashboard/requests/next", &[]).await;
    let upload = browser
        .client
        .post(format!("{}/dashboard/requests/{id}/files?name=note.pdf", server.address))
        .body("%PDF-1.4")
        .send()
        .await
        .expect("upload request");

    assert_eq!(without.status, StatusCode::FORBIDDEN);
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    assert_eq!(next.status, StatusCode::FORBIDDEN);
    assert_eq!(upload.status(), StatusCode::FORBIDDEN);
    let request = stored(&server, id).await;
    assert_eq!(request.status, status::OPEN);
    assert_eq!(request.helper_id, None);
    assert!(captured_log().contains("missing or wrong CSRF token"));
}

#[tokio::test]
async fn list_filters_by_status() {
    let server = Server::start().await;
    let thane = corporation(&server, THANE_CORPORATION).await;
    let open = add_request(&server, thane, "Open Client", 20).await;
    let taken = add_request(&server, thane, "Taken Client", 10).await;
    let (admin, _) = staff_browser(&server, ADMIN_EMAIL, Role::Admin, &[]).await;
    let token = api_token(&server, ADMIN_EMAIL).await;
    post_action(&admin, taken, "accept", &[]).await;

    let open_tab = admin.get("/dashboard/requests?status=open").await;
    let assigned_tab = admin.get("/dashboard/requests?status=assigned").await;
    let bad_tab = admin.get("/dashboard/requests?status=maybe").await;
    let (_, all) = api(&server, reqwest::Method::GET, "/api/v1/requests", &token).await;
    let (_, assigned) = api(&server, reqwest::Method::GET, "/api/v1/requests?status=assigned", &token).await;
    let (bad_status, bad) = api(&server, reqwest::Method::GET, "/api/v1/requests?status=maybe", &token).await;

    let link = |id: ClientRequestId| format!("<td data-label=\"Request\"><a href=\"/dashboard/requests/{id}\">");
    let queue_of = |body: &str| body.split("id=\"queue\"").nth(1).unwrap_or("").to_owned();
    assert!(queue_of(&open_tab.body).contains(&link(open)));
    assert!(!queue_of(&open_tab.body).contains(&link(taken)));
    assert!(queue_of(&assigned_tab.body).contains(&link(taken)));
    assert!(!queue_of(&assigned_tab.body).contains(&link(open)));
    assert_eq!(bad_tab.status, StatusCode::BAD_REQUEST);
    assert_eq!(listed_ids(&all), vec![i64::from(open.0), i64::from(taken.0)]);
    assert_eq!(listed_ids(&assigned), vec![i64::from(taken.0)]);
    assert_eq!(bad_status, StatusCode::BAD_REQUEST);
    assert_eq!(bad["field"], "status");
}

#[tokio::test]
async fn openapi_lists_request_endpoints() {
    let server = Server::start().await;

    let document: Value = reqwest::get(format!("{}/api/v1/openapi.json", server.address))
        .await
        .expect("document request")
        .json()
        .await
        .expect("document JSON");

    for (path, method) in [
        ("/api/v1/requests", "get"),
        ("/api/v1/requests/{id}", "get"),
        ("/api/v1/requests/{id}/accept", "post"),
        ("/api/v1/requests/{id}/release", "post"),
        ("/api/v1/requests/{id}/close", "post"),
        ("/api/v1/requests/next", "post"),
    ] {
        assert!(document["paths"][path][method].is_object(), "{method} {path} missing from the document");
    }
}

/// Signs `email` in with a fresh browser and returns the session cookie
/// as a `Cookie` header value, for clients without a cookie jar.
async fn session_cookie(server: &Server, email: &str) -> String {
    let browser = Browser::new(server);
    let page = browser.sign_in_ok(email, &format!("password of {email}")).await;
    let value = page
        .headers
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|value| value.strip_prefix("sandesh_session="))
        .and_then(|rest| rest.split(';').next())
        .expect("sign-in sets the session cookie")
        .to_owned();
    format!("sandesh_session={value}")
}

/// Reads WebSocket text frames until one has `"type": kind`, for at most
/// ten seconds.
async fn next_frame<S>(socket: &mut S, kind: &str) -> Value
where
    S: futures_util::Stream<Item = Result<WsMessage, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    use futures_util::StreamExt as _;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let remaining = deadline.saturating_duration_since(std::time::Instant::now());
        let frame = tokio::time::timeout(remaining, socket.next())
            .await
            .unwrap_or_else(|_| panic!("no {kind} frame within 10 seconds"))
            .expect("socket still open")
            .expect("frame readable");
        if let WsMessage::Text(text) = frame {
            let value: Value = serde_json::from_str(&text).expect("frame is JSON");
            if value["type"] == kind {
                return value;
            }
        }
    }
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Signs `email` in and opens the dashboard chat WebSocket of request `id`.
async fn open_socket(server: &Server, email: &str, id: ClientRequestId) -> Result<Socket, String> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

    let cookie = session_cookie(server, email).await;
    let url = format!("{}/dashboard/requests/{id}/ws", server.address.replacen("http://", "ws://", 1));
    let mut handshake = url.into_client_request().expect("WebSocket request");
    handshake.headers_mut().insert("cookie", cookie.parse().expect("cookie header"));
    tokio_tungstenite::connect_async(handshake).await.map(|(socket, _)| socket).map_err(|error| error.to_string())
}

#[tokio::test]
async fn reassign_closes_previous_helper_socket() {
    use futures_util::StreamExt as _;

    let server = Server::start().await;
    let thane = corporation(&server, THANE_CORPORATION).await;
    let id = add_request(&server, thane, "Seema Devi", 10).await;
    let (first, _) = staff_browser(&server, OFFICER_EMAIL, Role::Officer, &[THANE_CORPORATION]).await;
    let (_, second_id) = staff_browser(&server, SECOND_OFFICER_EMAIL, Role::Officer, &[THANE_CORPORATION]).await;
    let (admin, _) = staff_browser(&server, ADMIN_EMAIL, Role::Admin, &[]).await;
    post_action(&first, id, "accept", &[]).await;
    let mut socket = open_socket(&server, OFFICER_EMAIL, id).await.expect("the helper joins the chat");
    next_frame(&mut socket, "history").await;

    let moved = post_action(&admin, id, "reassign", &[("officer", &second_id.to_string())]).await;
    let mut closed = false;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        let remaining = deadline.saturating_duration_since(std::time::Instant::now());
        match tokio::time::timeout(remaining, socket.next()).await {
            Ok(None | Some(Err(_)) | Some(Ok(WsMessage::Close(_)))) => {
                closed = true;
                break;
            }
            Ok(Some(Ok(_))) => continue,
            Err(_) => break,
        }
    }

    assert_eq!(moved.status, StatusCode::SEE_OTHER, "{}", moved.body);
    assert!(closed, "the previous helper's socket stayed open after the reassignment");
}

#[tokio::test]
async fn dashboard_chat_sends_and_uploads() {
    use futures_util::SinkExt as _;

    let files = tempfile::tempdir().expect("create a folder for uploads");
    let files_dir = files.path().to_str().expect("UTF-8 path").to_owned();
    let server = Server::start_with(move |settings| settings.chat.files_dir = files_dir).await;
    let thane = corporation(&server, THANE_CORPORATION).await;
    let id = add_request(&server, thane, "Seema Devi", 10).await;
    let (browser, _) = staff_browser(&server, OFFICER_EMAIL, Role::Officer, &[THANE_CORPORATION]).await;
    let (colleague, _) = staff_browser(&server, SECOND_OFFICER_EMAIL, Role::Officer, &[THANE_CORPORATION]).await;
    post_action(&browser, id, "accept", &[]).await;
    let token = browser.csrf_of(&format!("/dashboard/requests/{id}")).await;

    let mut socket = open_socket(&server, OFFICER_EMAIL, id).await.expect("the helper joins the chat");
    let history = next_frame(&mut socket, "history").await;
    let frame = json!({
        "type": "send",
        "client_id": "7d4ba0a6-5b55-4c36-9a0e-3f0f7a4f2c11",
        "text": "Namaste, I will call you today.",
    });
    socket.send(WsMessage::text(frame.to_string())).await.expect("send frame");
    let sent = next_frame(&mut socket, "message").await;

    let upload = browser
        .client
        .post(format!("{}/dashboard/requests/{id}/files?name=letter.pdf", server.address))
        .header("x-csrf-token", &token)
        .body(b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n%%EOF\n".to_vec())
        .send()
        .await
        .expect("upload request");
    let upload_status = upload.status();
    let uploaded: Value = upload.json().await.expect("upload JSON");
    let file_url = uploaded["file"]["url"].as_str().unwrap_or("").to_owned();
    let own_download = browser.client.get(format!("{}{file_url}", server.address)).send().await.expect("download");
    let colleague_download = colleague.get(&file_url).await;
    let colleague_socket = open_socket(&server, SECOND_OFFICER_EMAIL, id).await;

    assert_eq!(history["messages"].as_array().map(Vec::len), Some(0), "{history}");
    assert_eq!(sent["message"]["sender"], "helper", "{sent}");
    assert_eq!(sent["message"]["text"], "Namaste, I will call you today.");
    assert_eq!(upload_status, StatusCode::CREATED, "{uploaded}");
    assert!(file_url.starts_with("/dashboard/files/"), "{uploaded}");
    assert_eq!(own_download.status(), StatusCode::OK);
    assert_eq!(colleague_download.status, StatusCode::NOT_FOUND);
    assert!(colleague_socket.is_err(), "a colleague must not join the chat of a taken request");
}

#[tokio::test]
async fn non_numeric_ids_get_dashboard_404() {
    let server = Server::start().await;
    let (browser, _) = staff_browser(&server, OFFICER_EMAIL, Role::Officer, &[THANE_CORPORATION]).await;
    let missing = browser.get("/dashboard/requests/999999").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.body.contains("There is no such page"), "not the dashboard's 404 page: {}", missing.body);

    for path in [
        "/dashboard/requests/abc",
        "/dashboard/requests/12x",
        "/dashboard/files/abc",
        "/dashboard/files/999999",
        "/dashboard/requests/abc/ws",
    ] {
        let page = browser.get(path).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(page.body, missing.body, "{path} differs from the dashboard's not-found page");
    }

    for action in ["accept", "release", "close", "reassign"] {
        let token = browser.csrf_of("/dashboard/requests").await;
        let page = browser.post(&format!("/dashboard/requests/abc/{action}"), &[("csrf_token", &token)]).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{action}");
        assert_eq!(page.body, missing.body, "{action} of abc differs from the dashboard's not-found page");
    }
}

/// Waits up to ten seconds for the socket to close and returns the close
/// frame's code and reason. Returns `None` when the socket stays open or
/// ends without a close frame.
async fn close_frame(socket: &mut Socket) -> Option<(u16, String)> {
    use futures_util::StreamExt as _;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let remaining = deadline.saturating_duration_since(std::time::Instant::now());
        match tokio::time::timeout(remaining, socket.next()).await {
            Ok(Some(Ok(WsMessage::Close(Some(frame))))) => return Some((frame.code.into(), frame.reason.to_string())),
            Ok(Some(Ok(WsMessage::Close(None)) | Err(_)) | None) | Err(_) => return None,
            Ok(Some(Ok(_))) => continue,
        }
    }
}

#[tokio::test]
async fn dashboard_websocket_checks_origin() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

    let server = Server::start().await;
    let thane = corporation(&server, THANE_CORPORATION).await;
    let id = add_request(&server, thane, "Seema Devi", 10).await;
    staff_browser(&server, OFFICER_EMAIL, Role::Officer, &[THANE_CORPORATION]).await;
    let cookie = session_cookie(&server, OFFICER_EMAIL).await;
    let url = format!("{}/dashboard/requests/{id}/ws", server.address.replacen("http://", "ws://", 1));
    let host = server.address.trim_start_matches("http://").to_owned();

    let mut results = Vec::new();
    for origin in ["https://evil.example".to_owned(), format!("http://{host}")] {
        let mut handshake = url.as_str().into_client_request().expect("WebSocket request");
        handshake.headers_mut().insert("cookie", cookie.parse().expect("cookie header"));
        handshake.headers_mut().insert("origin", origin.parse().expect("origin header"));
        results.push(tokio_tungstenite::connect_async(handshake).await.map(|_| ()));
    }

    match &results[0] {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status(), 403),
        other => panic!("expected 403 for another origin, got {other:?}"),
    }
    assert!(results[1].is_ok(), "same origin refused: {:?}", results[1]);
}

#[tokio::test]
async fn deactivating_helper_releases_and_disconnects() {
    let server = Server::start().await;
    let thane = corporation(&server, THANE_CORPORATION).await;
    let id = add_request(&server, thane, "Seema Devi", 10).await;
    let (officer, officer_id) = staff_browser(&server, OFFICER_EMAIL, Role::Officer, &[THANE_CORPORATION]).await;
    let (admin, _) = staff_browser(&server, ADMIN_EMAIL, Role::Admin, &[]).await;
    post_action(&officer, id, "accept", &[]).await;
    let mut socket = open_socket(&server, OFFICER_EMAIL, id).await.expect("the helper joins the chat");
    next_frame(&mut socket, "history").await;

    let token = admin.csrf_of(&format!("/dashboard/admin/staff/{officer_id}")).await;
    let thane_id = thane.to_string();
    let saved = admin
        .post(
            &format!("/dashboard/admin/staff/{officer_id}"),
            &[
                ("csrf_token", &token),
                ("name", "Test Staff"),
                ("designation", "Tester"),
                ("role", "officer"),
                ("corporations", &thane_id),
            ],
        )
        .await;
    let closed = close_frame(&mut socket).await;
    let request = stored(&server, id).await;

    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let (code, reason) = closed.expect("the deactivated helper's socket closes with a reason");
    assert_eq!(code, 1008, "{reason}");
    assert!(reason.contains("session has ended"), "{reason}");
    assert_eq!(request.status, status::OPEN);
    assert_eq!(request.helper_id, None);
}

#[tokio::test]
async fn losing_corporation_closes_open_chat() {
    let server = Server::start().await;
    let thane = corporation(&server, THANE_CORPORATION).await;
    let mumbai = corporation(&server, MUMBAI_CORPORATION).await;
    let id = add_request(&server, thane, "Seema Devi", 10).await;
    let (_officer, officer_id) = staff_browser(&server, OFFICER_EMAIL, Role::Officer, &[THANE_CORPORATION]).await;
    let (admin, _) = staff_browser(&server, ADMIN_EMAIL, Role::Admin, &[]).await;
    let mut socket = open_socket(&server, OFFICER_EMAIL, id).await.expect("an officer of Thane reads the open request");
    next_frame(&mut socket, "history").await;

    let token = admin.csrf_of(&format!("/dashboard/admin/staff/{officer_id}")).await;
    let mumbai_id = mumbai.to_string();
    let saved = admin
        .post(
            &format!("/dashboard/admin/staff/{officer_id}"),
            &[
                ("csrf_token", &token),
                ("name", "Test Staff"),
                ("designation", "Tester"),
                ("role", "officer"),
                ("active", "on"),
                ("corporations", &mumbai_id),
            ],
        )
        .await;
    let closed = close_frame(&mut socket).await;

    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let (code, reason) = closed.expect("the officer's socket closes once Thane is taken away");
    assert_eq!(code, 1008, "{reason}");
    assert!(reason.contains("no longer have access"), "{reason}");
}

#[tokio::test]
async fn reassign_at_limit_names_target_officer() {
    let server = Server::start_with(|settings| settings.chat.max_open_per_helper = 1).await;
    let thane = corporation(&server, THANE_CORPORATION).await;
    let held = add_request(&server, thane, "First Client", 20).await;
    let moved = add_request(&server, thane, "Second Client", 10).await;
    let (second, second_id) = staff_browser(&server, SECOND_OFFICER_EMAIL, Role::Officer, &[THANE_CORPORATION]).await;
    let (admin, _) = staff_browser(&server, ADMIN_EMAIL, Role::Admin, &[]).await;
    post_action(&second, held, "accept", &[]).await;

    let rejected = post_action(&admin, moved, "reassign", &[("officer", &second_id.to_string())]).await;

    assert_eq!(rejected.status, StatusCode::CONFLICT);
    assert!(rejected.body.contains("Test Staff already holds 1 open requests, the limit is 1"), "{}", rejected.body);
    assert!(!rejected.body.contains("You already hold"), "{}", rejected.body);
    assert_eq!(stored(&server, moved).await.status, status::OPEN);
}
