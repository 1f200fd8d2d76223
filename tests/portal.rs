//! Black-box tests of the client portal: sign-in with one-time passwords,
//! rate limits, sessions and CSRF, translated pages, the request form and
//! the rule that a client sees only their own requests. Each test starts
//! the real server on port 0 with the demo NGO, a fresh SQLite file and a
//! virtual clock. Clients are created directly in the database. An HTTP
//! client with a cookie jar drives the pages and does not follow
//! redirects, so every redirect is checked.

mod dashboard_harness;

use std::time::Duration;

use dashboard_harness::*;
use diesel::prelude::*;
use futures_util::StreamExt as _;
use reqwest::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};
use reqwest::StatusCode;
use sandesh::db::client_requests::ClientRequest;
use sandesh::db::clients::{Client, NewClient};
use sandesh::db::ids::{ClientId, ClientRequestId, CorporationId};
use sandesh::db::schema::{chat_files, client_requests, corporations};
use sandesh::db::staff::Role;
use sandesh::web::dashboard::password;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::Message;

const PASSWORD: &str = "kite-4821-lamp";

/// A client with a fresh one-time password.
struct TestClient {
    id: ClientId,
    login: String,
}

/// Creates a client whose one-time password [`PASSWORD`] is valid for
/// `valid_hours` hours from the server clock (negative: already expired).
async fn add_client(server: &Server, login: &str, language: &str, valid_hours: i64) -> TestClient {
    let hash = password::hash(PASSWORD).expect("hash the password");
    let now = server.clock_now();
    let (login, language) = (login.to_owned(), language.to_owned());
    let stored_login = login.clone();
    let id = server
        .db(move |connection| {
            Client::insert(
                connection,
                &NewClient {
                    whatsapp_id: &format!("wa-{stored_login}"),
                    phone: Some("+919876543210"),
                    display_name: "Seema Devi",
                    language: &language,
                    login: &stored_login,
                    password_hash: &hash,
                    password_expires_at: now + chrono::Duration::hours(valid_hours),
                    created_at: now,
                    last_message_at: now,
                },
            )
            .map(|client| client.id)
        })
        .await;
    TestClient { id, login }
}

/// The smallest valid PNG: a 1x1 transparent pixel.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49,
    0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00, 0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00,
    0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// Starts a server whose chat files go to `files`.
async fn server_with_files(files: &tempfile::TempDir) -> Server {
    let files_dir = files.path().to_str().expect("UTF-8 path").to_owned();
    Server::start_with(move |settings| settings.chat.files_dir = files_dir).await
}

/// Opens the portal sign-in form and sends it with these credentials.
async fn portal_sign_in(browser: &Browser, login: &str, password: &str) -> Page {
    let form = browser.get("/portal/login").await;
    assert_eq!(form.status, StatusCode::OK, "sign-in form: {}", form.body);
    let token = csrf_token(&form.body);
    browser.post("/portal/login", &[("csrf_token", &token), ("login", login), ("password", password)]).await
}

/// Signs in and checks that it worked.
async fn signed_in_browser(server: &Server, client: &TestClient) -> Browser {
    let browser = Browser::new(server);
    let page = portal_sign_in(&browser, &client.login, PASSWORD).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "sign-in of {} failed: {}", client.login, page.body);
    browser
}

fn set_cookies(page: &Page) -> Vec<String> {
    page.headers.get_all(SET_COOKIE).iter().filter_map(|value| value.to_str().ok()).map(str::to_owned).collect()
}

async fn corporation_id(server: &Server, name: &'static str) -> CorporationId {
    server
        .db(move |connection| {
            corporations::table.filter(corporations::name.eq(name)).select(corporations::id).first(connection)
        })
        .await
}

/// Sends the new-request form with `fields` and the page's CSRF token.
async fn post_request(browser: &Browser, fields: &[(&str, &str)]) -> Page {
    let token = browser.csrf_of("/portal/requests/new?origin=form").await;
    let mut form = vec![("csrf_token", token.as_str())];
    form.extend_from_slice(fields);
    browser.post("/portal/requests", &form).await
}

/// Creates a form request for a signed-in browser and returns its id.
async fn create_request(server: &Server, browser: &Browser) -> ClientRequestId {
    let area = corporation_id(server, THANE_CORPORATION).await.to_string();
    let page = post_request(
        browser,
        &[
            ("origin", "form"),
            ("name", "Seema Devi"),
            ("phone", "98765 43210"),
            ("category", "health"),
            ("area", &area),
            ("description", "Need help with a hospital referral."),
        ],
    )
    .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "request not created: {}", page.body);
    let location = page.location.expect("redirect to the request");
    let id = location.trim_start_matches("/portal/requests/").parse::<i32>().expect("request id in the location");
    ClientRequestId(id)
}

/// Returns the values of the English portal catalogue that take no
/// arguments, to look for English left on translated pages.
fn english_portal_texts() -> Vec<String> {
    include_str!("../locales/en/portal.ftl")
        .lines()
        .filter_map(|line| line.split_once(" = "))
        .filter(|(id, value)| id.starts_with("portal-") && *id != "portal-brand" && !value.contains('{'))
        .map(|(_, value)| value.trim().to_owned())
        .collect()
}

fn assert_no_english(page: &Page, what: &str) {
    let texts = english_portal_texts();
    assert!(texts.len() > 50, "only {} English texts found to look for", texts.len());
    for text in texts {
        assert!(!page.body.contains(&text), "{what} still contains the English text {text:?}");
    }
    assert!(!page.body.contains("portal-"), "{what} shows a raw message id");
}

// ------------------------------------------------------------------ tests

#[tokio::test]
async fn sign_in_opens_the_portal() {
    let server = Server::start().await;
    let client = add_client(&server, "seema01", "en", 24).await;
    let browser = Browser::new(&server);

    let before = browser.get("/portal/").await;
    assert_eq!(before.status, StatusCode::SEE_OTHER);
    assert_eq!(before.location.as_deref(), Some("/portal/login?next=%2Fportal%2F"));

    let page = portal_sign_in(&browser, "  SEEMA01 ", PASSWORD).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(page.location.as_deref(), Some("/portal/"));
    let cookie = set_cookies(&page).into_iter().find(|value| value.starts_with("sandesh_client=")).expect("cookie");
    for attribute in ["Path=/portal", "HttpOnly", "SameSite=Lax", "Secure", "Max-Age=2592000"] {
        assert!(cookie.contains(attribute), "session cookie lacks {attribute}: {cookie}");
    }

    let home = browser.get("/portal/").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains(r#"<html lang="en">"#));
    assert!(home.body.contains("Fill a form"));
    assert!(home.body.contains("Chat with a helper"));
    assert!(home.body.contains("Seema Devi"));
    let used_at =
        server.db(move |connection| Client::find(connection, client.id)).await.expect("client").password_used_at;
    assert!(used_at.is_some(), "the one-time password is marked used");
}

#[tokio::test]
async fn wrong_password_is_rejected() {
    let server = Server::start().await;
    add_client(&server, "seema02", "en", 24).await;
    let browser = Browser::new(&server);

    let page = portal_sign_in(&browser, "seema02", "not-the-password").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("The login or password is wrong."), "{}", page.body);
    assert!(set_cookies(&page).iter().all(|value| !value.starts_with("sandesh_client=")));

    let unknown = portal_sign_in(&browser, "nobody", PASSWORD).await;
    assert!(unknown.body.contains("The login or password is wrong."), "unknown logins get the same message");
    assert_eq!(browser.get("/portal/").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn password_ignores_case_and_spaces() {
    let server = Server::start().await;
    add_client(&server, "seema50", "en", 24).await;
    let browser = Browser::new(&server);

    let page = portal_sign_in(&browser, "seema50", &format!("  {} ", PASSWORD.to_uppercase())).await;

    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(browser.get("/portal/").await.status, StatusCode::OK);
}

#[tokio::test]
async fn used_password_is_rejected() {
    let server = Server::start().await;
    let client = add_client(&server, "seema03", "hi", 24).await;
    let _first = signed_in_browser(&server, &client).await;

    let second = Browser::new(&server);
    let page = portal_sign_in(&second, "seema03", PASSWORD).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("already been used"), "{}", page.body);
    assert!(page.body.contains("Send &#34;password&#34; to us on WhatsApp"), "the message names the keyword");
    assert_eq!(second.get("/portal/").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn expired_password_is_rejected() {
    let server = Server::start().await;
    add_client(&server, "seema04", "en", 1).await;
    server.clock.advance(chrono::Duration::hours(2));
    let browser = Browser::new(&server);

    let page = portal_sign_in(&browser, "seema04", PASSWORD).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("has expired"), "{}", page.body);
    assert!(page.body.contains("Send &#34;password&#34; to us on WhatsApp"), "{}", page.body);
}

#[tokio::test]
async fn expired_password_message_is_translated() {
    let server = Server::start().await;
    add_client(&server, "seema05", "mr", -1).await;
    let browser = Browser::new(&server);

    let form = browser.get("/portal/login?lang=mr").await;
    let token = csrf_token(&form.body);
    let page = browser
        .post("/portal/login", &[("csrf_token", &token), ("login", "seema05"), ("password", PASSWORD), ("lang", "mr")])
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(r#"<html lang="mr">"#));
    assert!(page.body.contains("मुदत संपली आहे"), "{}", page.body);
}

#[tokio::test]
async fn sign_in_is_rate_limited() {
    let server = Server::start_with(|settings| {
        settings.dashboard.max_failures_per_account = 3;
        settings.dashboard.failure_window_minutes = 15;
    })
    .await;
    add_client(&server, "seema06", "en", 24).await;
    let browser = Browser::new(&server);

    for attempt in 1..=3 {
        let page = portal_sign_in(&browser, "seema06", "wrong guess").await;
        assert_eq!(page.status, StatusCode::OK, "attempt {attempt}");
    }
    let limited = portal_sign_in(&browser, "seema06", PASSWORD).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.body.contains("Wait 15 minutes"), "{}", limited.body);

    server.clock.advance(chrono::Duration::minutes(16));
    let later = portal_sign_in(&browser, "seema06", PASSWORD).await;
    assert_eq!(later.status, StatusCode::SEE_OTHER, "the right password works after the window: {}", later.body);
}

#[tokio::test]
async fn login_page_takes_login_and_language() {
    let server = Server::start().await;
    let browser = Browser::new(&server);

    let page = browser.get("/portal/login?login=seema07&lang=hi").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(r#"<html lang="hi">"#));
    assert!(page.body.contains(r#"value="seema07""#));
    assert!(page.body.contains("साइन इन करें"));
    assert_no_english(&page, "Hindi sign-in page");

    let by_header = browser
        .client
        .get(format!("{}/portal/login", server.address))
        .header("accept-language", "mr-IN,mr;q=0.9,en;q=0.8")
        .send()
        .await
        .expect("GET");
    let by_header = Browser::read(by_header).await;
    assert!(by_header.body.contains(r#"<html lang="mr">"#));
}

#[tokio::test]
async fn only_a_picked_language_is_stored() {
    let server = Server::start().await;
    let from_link = add_client(&server, "seema53", "hi", 24).await;
    let picked = add_client(&server, "seema54", "hi", 24).await;
    let sign_in_from = |path: &'static str, login: &'static str| {
        let browser = Browser::new(&server);
        async move {
            let form = browser.get(path).await;
            let token = csrf_token(&form.body);
            let mut fields =
                vec![("csrf_token", token), ("login", login.to_owned()), ("password", PASSWORD.to_owned())];
            for name in ["lang", "lang_chosen"] {
                if let Some(value) = hidden_value(&form.body, name) {
                    fields.push((name, value));
                }
            }
            let fields: Vec<(&str, &str)> = fields.iter().map(|(name, value)| (*name, value.as_str())).collect();
            browser.post("/portal/login", &fields).await
        }
    };

    // An old WhatsApp link names the language the client had then.
    let linked = sign_in_from("/portal/login?login=seema53&lang=en", "seema53").await;
    let chosen = sign_in_from("/portal/login?lang=en&chosen=1", "seema54").await;

    assert_eq!(linked.status, StatusCode::SEE_OTHER, "{}", linked.body);
    assert_eq!(chosen.status, StatusCode::SEE_OTHER, "{}", chosen.body);
    let language_of = |id: ClientId| server.db(move |connection| Client::find(connection, id));
    assert_eq!(language_of(from_link.id).await.expect("client").language, "hi", "a link's language is not stored");
    assert_eq!(language_of(picked.id).await.expect("client").language, "en", "a picked language is stored");
}

/// Returns the value of the hidden form field `name`, if the page has one.
fn hidden_value(body: &str, name: &str) -> Option<String> {
    let marker = format!(r#"name="{name}" value=""#);
    let start = body.find(&marker)? + marker.len();
    body[start..].split('"').next().map(str::to_owned)
}

#[tokio::test]
async fn pages_in_hindi_and_marathi_are_translated() {
    let server = Server::start().await;
    for (login, language, home_title) in
        [("seema08", "hi", "हम आपकी क्या मदद करें?"), ("seema09", "mr", "आम्ही तुमची काय मदत करू?")]
    {
        let client = add_client(&server, login, language, 24).await;
        let browser = signed_in_browser(&server, &client).await;

        let home = browser.get("/portal/").await;
        assert_eq!(home.status, StatusCode::OK);
        assert!(home.body.contains(&format!(r#"<html lang="{language}">"#)));
        assert!(home.body.contains(home_title), "{language} home: {}", home.body);
        assert_no_english(&home, &format!("{language} home page"));

        for origin in ["form", "chat"] {
            let form = browser.get(&format!("/portal/requests/new?origin={origin}")).await;
            assert_eq!(form.status, StatusCode::OK);
            assert_no_english(&form, &format!("{language} {origin} page"));
        }

        let id = create_request(&server, &browser).await;
        let request = browser.get(&format!("/portal/requests/{id}")).await;
        assert_eq!(request.status, StatusCode::OK);
        assert_no_english(&request, &format!("{language} request page"));

        let invalid = post_request(&browser, &[("origin", "form")]).await;
        assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_no_english(&invalid, &format!("{language} form with errors"));

        let missing = browser.get("/portal/requests/999999").await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        assert!(missing.body.contains(&format!(r#"<html lang="{language}">"#)), "error page in {language}");
        assert_no_english(&missing, &format!("{language} not-found page"));
    }
}

#[tokio::test]
async fn form_errors_are_shown_per_field() {
    let server = Server::start().await;
    let client = add_client(&server, "seema10", "en", 24).await;
    let browser = signed_in_browser(&server, &client).await;
    let long = "x".repeat(2001);

    let page = post_request(
        &browser,
        &[
            ("origin", "form"),
            ("name", "  "),
            ("phone", "12345"),
            ("category", "weather"),
            ("area", "999"),
            ("description", &long),
        ],
    )
    .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("Enter your name."));
    assert!(page.body.contains("This is not a valid phone number."));
    assert!(page.body.contains("Choose a topic from the list."));
    assert!(page.body.contains("Choose your area from the list."));
    assert!(page.body.contains("The description is too long: use at most 2000 characters."));
    assert!(page.body.contains(r#"value="12345""#), "the typed phone is kept");
    assert!(page.body.contains(&long), "the typed description is kept");

    let empty = post_request(&browser, &[("origin", "form"), ("name", "Seema"), ("phone", "")]).await;
    assert!(empty.body.contains("Enter your phone number."));
    assert!(empty.body.contains("Describe what you need."));
    assert!(empty.body.contains(r#"value="Seema""#));

    let stored = server.db(move |connection| ClientRequest::for_client(connection, client.id)).await;
    assert!(stored.is_empty(), "no request is stored from invalid forms");
}

#[tokio::test]
async fn form_drops_invisible_characters() {
    let server = Server::start().await;
    let client = add_client(&server, "seema51", "en", 24).await;
    let browser = signed_in_browser(&server, &client).await;
    let area = corporation_id(&server, THANE_CORPORATION).await.to_string();

    let page = post_request(
        &browser,
        &[
            ("origin", "form"),
            ("name", "\u{202E}Seema\u{0} Devi"),
            ("phone", "9876543210"),
            ("category", "health"),
            ("area", &area),
            ("description", "Line one\r\nLine\u{7} two\u{2066}"),
        ],
    )
    .await;
    let control_only = post_request(
        &browser,
        &[
            ("origin", "form"),
            ("name", "\u{202E}\u{0}"),
            ("phone", "9876543210"),
            ("category", "health"),
            ("area", &area),
            ("description", "Help"),
        ],
    )
    .await;

    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let stored = server.db(move |connection| ClientRequest::for_client(connection, client.id)).await;
    assert_eq!(stored.len(), 1, "only the first form is stored");
    assert_eq!(stored[0].contact_name, "Seema Devi");
    assert_eq!(stored[0].description, "Line one\nLine two");
    assert_eq!(control_only.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(control_only.body.contains("Enter your name."), "{}", control_only.body);
}

#[tokio::test]
async fn unclosed_requests_are_limited() {
    let server = Server::start_with(|settings| settings.portal.max_unclosed_requests = 2).await;
    let client = add_client(&server, "seema52", "en", 24).await;
    let browser = signed_in_browser(&server, &client).await;
    let first = create_request(&server, &browser).await;
    create_request(&server, &browser).await;
    let area = corporation_id(&server, THANE_CORPORATION).await.to_string();
    let chat_form = [("origin", "chat"), ("category", "other"), ("area", area.as_str())];

    let refused = post_request(&browser, &chat_form).await;
    let home_at_limit = browser.get("/portal/").await;
    server
        .db(move |connection| {
            diesel::update(client_requests::table.find(first))
                .set(client_requests::status.eq("closed"))
                .execute(connection)
        })
        .await;
    let after_close = post_request(&browser, &chat_form).await;

    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    assert!(refused.body.contains("You already have 2 requests that are not closed."), "{}", refused.body);
    assert!(refused.body.contains("Your request was not sent"), "{}", refused.body);
    assert!(!refused.body.contains("Please correct the marked fields"), "no field is wrong: {}", refused.body);
    assert!(home_at_limit.body.contains("You already have 2 requests"), "{}", home_at_limit.body);
    assert!(!home_at_limit.body.contains("/portal/requests/new?origin=chat"), "{}", home_at_limit.body);
    assert_eq!(after_close.status, StatusCode::SEE_OTHER, "{}", after_close.body);
    let stored = server.db(move |connection| ClientRequest::for_client(connection, client.id)).await;
    assert_eq!(stored.len(), 3, "the refused form stored nothing");
}

#[tokio::test]
async fn created_request_appears_in_the_list() {
    let server = Server::start().await;
    let client = add_client(&server, "seema11", "en", 24).await;
    let browser = signed_in_browser(&server, &client).await;

    let empty = browser.get("/portal/").await;
    assert!(empty.body.contains("You have no requests yet."));

    let id = create_request(&server, &browser).await;
    let stored = server.db(move |connection| ClientRequest::find(connection, id)).await.expect("stored");
    assert_eq!(stored.client_id, client.id);
    assert_eq!(stored.contact_phone, "+919876543210", "a 10-digit number gets +91");
    assert_eq!(stored.status, "open");
    assert_eq!(stored.origin, "form");

    let home = browser.get("/portal/").await;
    assert!(home.body.contains(&format!(r#"href="/portal/requests/{id}""#)), "{}", home.body);
    assert!(home.body.contains("Waiting for a helper"));
    assert!(home.body.contains(THANE_CORPORATION));

    let page = browser.get(&format!("/portal/requests/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Need help with a hospital referral."));
    assert!(page.body.contains(&format!(r#"data-ws-url="/portal/requests/{id}/ws""#)));
    assert!(page.body.contains(r#"data-can-write="true""#));
    assert!(page.body.contains(r#"data-me="client""#));
    assert!(page.body.contains(r#"<script src="/static/chat.js" defer></script>"#));
    assert!(page.body.contains("02-03-2026 09:00"), "created time in the zone: {}", page.body);
}

#[tokio::test]
async fn chat_choice_asks_area_and_category_only() {
    let server = Server::start().await;
    let client = add_client(&server, "seema12", "en", 24).await;
    let browser = signed_in_browser(&server, &client).await;

    let form = browser.get("/portal/requests/new?origin=chat").await;
    assert!(form.body.contains(r#"name="area""#));
    assert!(form.body.contains(r#"name="category""#));
    assert!(!form.body.contains(r#"name="description""#));
    assert!(!form.body.contains(r#"name="phone""#));

    let area = corporation_id(&server, THANE_CORPORATION).await.to_string();
    let page = post_request(&browser, &[("origin", "chat"), ("category", "documents"), ("area", &area)]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let location = page.location.expect("location");
    assert!(location.ends_with("#chat"), "the chat opens at once: {location}");

    let stored = server.db(move |connection| ClientRequest::for_client(connection, client.id)).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].origin, "chat");
    assert_eq!(stored[0].contact_name, "Seema Devi");
    assert_eq!(stored[0].contact_phone, "+919876543210");
}

#[tokio::test]
async fn other_clients_requests_are_not_found() {
    let server = Server::start().await;
    let owner = add_client(&server, "seema13", "en", 24).await;
    let other = add_client(&server, "rani13", "en", 24).await;
    let owner_browser = signed_in_browser(&server, &owner).await;
    let request_id = create_request(&server, &owner_browser).await;
    let now = server.clock_now();
    let owner_id = owner.id;
    let file_id: i32 = server
        .db(move |connection| {
            diesel::insert_into(chat_files::table)
                .values((
                    chat_files::request_id.eq(request_id),
                    chat_files::stored_name.eq("test-stored-name"),
                    chat_files::original_name.eq("referral.pdf"),
                    chat_files::content_type.eq("application/pdf"),
                    chat_files::size_bytes.eq(4_i64),
                    chat_files::sha256.eq("00"),
                    chat_files::uploaded_by_client.eq(Some(owner_id)),
                    chat_files::created_at.eq(now),
                ))
                .returning(chat_files::id)
                .get_result(connection)
        })
        .await;
    let other_browser = signed_in_browser(&server, &other).await;

    let page = other_browser.get(&format!("/portal/requests/{request_id}")).await;
    let missing = other_browser.get("/portal/requests/999999").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert_eq!(page.body, missing.body, "another client's request looks exactly like a missing one");

    let socket = other_browser
        .client
        .get(format!("{}/portal/requests/{request_id}/ws", server.address))
        .header("connection", "Upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .send()
        .await
        .expect("ws handshake");
    assert_eq!(socket.status(), StatusCode::NOT_FOUND);

    let file = other_browser.get(&format!("/portal/files/{file_id}")).await;
    assert_eq!(file.status, StatusCode::NOT_FOUND);

    let token = other_browser.csrf_of("/portal/").await;
    let upload = other_browser
        .client
        .post(format!("{}/portal/requests/{request_id}/files?name=x.pdf", server.address))
        .header("x-csrf-token", token)
        .body("%PDF-1.4\n")
        .send()
        .await
        .expect("upload");
    assert_eq!(upload.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn missing_csrf_is_forbidden() {
    let server = Server::start().await;
    let client = add_client(&server, "seema14", "hi", 24).await;
    let browser = signed_in_browser(&server, &client).await;
    let request_id = create_request(&server, &browser).await;

    let create = browser.post("/portal/requests", &[("origin", "chat"), ("category", "health"), ("area", "1")]).await;
    assert_eq!(create.status, StatusCode::FORBIDDEN);
    assert!(create.body.contains("फ़ॉर्म की अवधि समाप्त"), "translated 403 page: {}", create.body);

    let wrong = browser.post("/portal/language", &[("csrf_token", "0000"), ("language", "en")]).await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    assert_eq!(browser.post("/portal/logout", &[]).await.status, StatusCode::FORBIDDEN);

    let upload = browser
        .client
        .post(format!("{}/portal/requests/{request_id}/files?name=x.pdf", server.address))
        .body("%PDF-1.4\n")
        .send()
        .await
        .expect("upload");
    assert_eq!(upload.status(), StatusCode::FORBIDDEN);

    let login_form = Browser::new(&server);
    let no_token = login_form.post("/portal/login", &[("login", "seema14"), ("password", PASSWORD)]).await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);

    let stored = server.db(move |connection| ClientRequest::for_client(connection, client.id)).await;
    assert_eq!(stored.len(), 1, "the forged form created nothing");
    let language = server.db(move |connection| Client::find(connection, client.id)).await.expect("client").language;
    assert_eq!(language, "hi", "the forged language form changed nothing");
}

#[tokio::test]
async fn staff_cookies_do_not_open_the_portal() {
    let server = Server::start().await;
    server.add_staff(ADMIN_EMAIL, Role::Admin, ADMIN_PASSWORD, &[]).await;
    let staff = Browser::new(&server);
    let signed_in = staff.sign_in_ok(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let token = set_cookies(&signed_in)
        .into_iter()
        .find_map(|value| {
            value.strip_prefix("sandesh_session=").map(|rest| rest.split(';').next().unwrap_or("").to_owned())
        })
        .expect("staff session cookie");

    let portal = staff.get("/portal/").await;
    assert_eq!(portal.status, StatusCode::SEE_OTHER, "the dashboard cookie is not sent to /portal");

    let plain = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    for cookie in [format!("sandesh_session={token}"), format!("sandesh_client={token}")] {
        let response =
            plain.get(format!("{}/portal/", server.address)).header(COOKIE, &cookie).send().await.expect("GET");
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{cookie} opened the portal");
    }
}

#[tokio::test]
async fn language_switch_is_stored() {
    let server = Server::start().await;
    let client = add_client(&server, "seema15", "en", 24).await;
    let browser = signed_in_browser(&server, &client).await;

    let token = browser.csrf_of("/portal/").await;
    let page = browser
        .post(
            "/portal/language",
            &[("csrf_token", &token), ("language", "mr"), ("next", "/portal/requests/new?origin=form")],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location.as_deref(), Some("/portal/requests/new?origin=form"));

    let form = browser.get("/portal/requests/new?origin=form").await;
    assert!(form.body.contains(r#"<html lang="mr">"#));
    let language = server.db(move |connection| Client::find(connection, client.id)).await.expect("client").language;
    assert_eq!(language, "mr");

    let offsite = browser
        .post("/portal/language", &[("csrf_token", &token), ("language", "hi"), ("next", "https://example.com/")])
        .await;
    assert_eq!(offsite.location.as_deref(), Some("/portal/"), "next never leaves the portal");
}

#[tokio::test]
async fn logout_ends_the_session() {
    let server = Server::start().await;
    let client = add_client(&server, "seema16", "hi", 24).await;
    let browser = signed_in_browser(&server, &client).await;

    let token = browser.csrf_of("/portal/").await;
    let page = browser.post("/portal/logout", &[("csrf_token", &token)]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location.as_deref(), Some("/portal/login?signed_out=1&lang=hi"));
    assert_eq!(browser.get("/portal/").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn session_ends_after_its_lifetime() {
    let server = Server::start().await;
    let client = add_client(&server, "seema17", "en", 24).await;
    let browser = signed_in_browser(&server, &client).await;
    assert_eq!(browser.get("/portal/").await.status, StatusCode::OK);

    server.clock.advance(chrono::Duration::days(31));
    let page = browser.get("/portal/").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location.as_deref(), Some("/portal/login?next=%2Fportal%2F&expired=1"));
}

#[tokio::test]
async fn cross_site_websocket_is_rejected() {
    let server = Server::start().await;
    let client = add_client(&server, "seema18", "en", 24).await;
    let browser = signed_in_browser(&server, &client).await;
    let request_id = create_request(&server, &browser).await;

    let response = browser
        .client
        .get(format!("{}/portal/requests/{request_id}/ws", server.address))
        .header("origin", "https://evil.example")
        .header("connection", "Upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .send()
        .await
        .expect("ws handshake");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn stylesheet_and_headers_are_served() {
    let server = Server::start().await;
    let browser = Browser::new(&server);

    let page = browser.get("/portal/login").await;
    let policy = page.headers.get("content-security-policy").and_then(|value| value.to_str().ok()).unwrap_or("");
    assert!(policy.contains("script-src 'self'"), "{policy}");
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    let href_start = page.body.find("/static/portal.css?v=").expect("stylesheet link");
    let href_end = page.body[href_start..].find('"').expect("link ends") + href_start;

    let css = browser.get(&page.body[href_start..href_end]).await;
    assert_eq!(css.status, StatusCode::OK);
    let content_type = css.headers.get(CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or("");
    assert!(content_type.starts_with("text/css"), "{content_type}");
}

#[tokio::test]
async fn uploaded_file_is_only_for_its_client() {
    let files = tempfile::tempdir().expect("files folder");
    let server = server_with_files(&files).await;
    let owner = add_client(&server, "seema19", "en", 24).await;
    let other = add_client(&server, "rani19", "en", 24).await;
    let owner_browser = signed_in_browser(&server, &owner).await;
    let request_id = create_request(&server, &owner_browser).await;

    let token = owner_browser.csrf_of(&format!("/portal/requests/{request_id}")).await;
    let upload = owner_browser
        .client
        .post(format!("{}/portal/requests/{request_id}/files?name=pixel.png", server.address))
        .header("x-csrf-token", token)
        .body(PNG.to_vec())
        .send()
        .await
        .expect("upload");
    assert_eq!(upload.status(), StatusCode::CREATED);
    let json: serde_json::Value = upload.json().await.expect("JSON body");
    let url = json["file"]["url"].as_str().expect("file url").to_owned();
    assert!(url.starts_with("/portal/files/"), "{url}");

    let download = owner_browser.client.get(format!("{}{url}", server.address)).send().await.expect("download");
    assert_eq!(download.status(), StatusCode::OK);
    assert_eq!(download.bytes().await.expect("file bytes").as_ref(), PNG);

    let other_browser = signed_in_browser(&server, &other).await;
    let denied = other_browser.get(&url).await;
    assert_eq!(denied.status, StatusCode::NOT_FOUND);
    assert!(denied.body.contains("There is no such page, or it is not yours."));
}

#[tokio::test]
async fn websocket_opens_for_the_owner() {
    let server = Server::start().await;
    let client = add_client(&server, "seema20", "en", 24).await;
    let browser = Browser::new(&server);
    let signed_in = portal_sign_in(&browser, &client.login, PASSWORD).await;
    let token = set_cookies(&signed_in)
        .into_iter()
        .find_map(|value| {
            value.strip_prefix("sandesh_client=").map(|rest| rest.split(';').next().unwrap_or("").to_owned())
        })
        .expect("client session cookie");
    let request_id = create_request(&server, &browser).await;

    let address = server.address.replace("http://", "ws://");
    let mut handshake =
        format!("{address}/portal/requests/{request_id}/ws").into_client_request().expect("WebSocket request");
    handshake.headers_mut().insert("cookie", format!("sandesh_client={token}").parse().expect("cookie header"));
    let (mut socket, _) = tokio_tungstenite::connect_async(handshake).await.expect("WebSocket opens");

    let first = tokio::time::timeout(Duration::from_secs(10), socket.next())
        .await
        .expect("a frame within 10 s")
        .expect("the socket stays open")
        .expect("a valid frame");
    let Message::Text(text) = first else {
        panic!("expected a text frame, got {first:?}");
    };
    let frame: serde_json::Value = serde_json::from_str(&text).expect("JSON frame");
    assert_eq!(frame["type"], "history", "{frame}");
}

#[tokio::test]
async fn chat_times_use_the_business_zone() {
    let server = Server::start().await;
    let client = add_client(&server, "seema30", "en", 24).await;
    let browser = signed_in_browser(&server, &client).await;
    let request_id = create_request(&server, &browser).await;

    let page = browser.get(&format!("/portal/requests/{request_id}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let zone = server.engine.settings.zone();
    let attribute = format!("data-time-zone=\"{}\"", zone.name());
    assert!(page.body.contains(&attribute), "the chat section lacks {attribute}: {}", page.body);
}

#[tokio::test]
async fn request_details_omit_required_marks() {
    let server = Server::start().await;
    for (login, language, required) in
        [("seema31", "en", "(required)"), ("seema32", "hi", "(ज़रूरी)"), ("seema33", "mr", "(आवश्यक)")]
    {
        let client = add_client(&server, login, language, 24).await;
        let browser = signed_in_browser(&server, &client).await;
        let request_id = create_request(&server, &browser).await;

        let page = browser.get(&format!("/portal/requests/{request_id}")).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(page.body.contains("<dl class=\"details\">"), "{language} page has no detail list");
        assert!(!page.body.contains(required), "the {language} detail list shows {required}: {}", page.body);
    }
}

#[tokio::test]
async fn non_numeric_ids_get_translated_404() {
    let server = Server::start().await;
    let client = add_client(&server, "seema34", "hi", 24).await;
    let browser = signed_in_browser(&server, &client).await;
    let missing = browser.get("/portal/requests/999999").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.body.contains("नहीं मिला"), "the not-found page is not in Hindi: {}", missing.body);

    for path in ["/portal/requests/abc", "/portal/requests/12x", "/portal/files/abc", "/portal/requests/abc/ws"] {
        let page = browser.get(path).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
        let content_type = page.headers.get(CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or("");
        assert!(content_type.starts_with("text/html"), "{path} is served as {content_type:?}");
        assert_eq!(page.body, missing.body, "{path} differs from the translated not-found page");
    }

    let token = browser.csrf_of("/portal/").await;
    let upload = browser
        .client
        .post(format!("{}/portal/requests/abc/files?name=x.pdf", server.address))
        .header("x-csrf-token", token)
        .body("%PDF-1.4\n")
        .send()
        .await
        .expect("upload");
    assert_eq!(upload.status(), StatusCode::NOT_FOUND);
    assert_eq!(upload.text().await.expect("upload body"), missing.body);
}

/// Signs in and returns the browser with its session cookie value.
async fn signed_in_with_cookie(server: &Server, client: &TestClient) -> (Browser, String) {
    let browser = Browser::new(server);
    let signed_in = portal_sign_in(&browser, &client.login, PASSWORD).await;
    let token = set_cookies(&signed_in)
        .into_iter()
        .find_map(|value| {
            value.strip_prefix("sandesh_client=").map(|rest| rest.split(';').next().unwrap_or("").to_owned())
        })
        .expect("client session cookie");
    (browser, format!("sandesh_client={token}"))
}

#[tokio::test]
async fn expired_session_closes_websocket() {
    use futures_util::SinkExt as _;

    let server = Server::start().await;
    let client = add_client(&server, "seema40", "en", 24).await;
    let (browser, cookie) = signed_in_with_cookie(&server, &client).await;
    let request_id = create_request(&server, &browser).await;
    let address = server.address.replace("http://", "ws://");
    let mut handshake =
        format!("{address}/portal/requests/{request_id}/ws").into_client_request().expect("WebSocket request");
    handshake.headers_mut().insert("cookie", cookie.parse().expect("cookie header"));
    let (mut socket, _) = tokio_tungstenite::connect_async(handshake).await.expect("WebSocket opens");

    server.clock.advance(chrono::Duration::days(31));
    let frame = serde_json::json!({"type": "send", "client_id": "late-1", "text": "hello after expiry"});
    socket.send(Message::text(frame.to_string())).await.expect("frame sent");
    let mut close = None;
    for _ in 0..20 {
        let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a frame within 10 s")
            .expect("a close frame before the end")
            .expect("a valid frame");
        if let Message::Close(frame) = message {
            close = frame;
            break;
        }
    }
    let stored = server
        .db(move |connection| {
            use sandesh::db::schema::chat_messages;
            chat_messages::table.filter(chat_messages::request_id.eq(request_id)).count().get_result::<i64>(connection)
        })
        .await;

    let close = close.expect("the socket closes with a reason");
    assert_eq!(u16::from(close.code), 1008, "{}", close.reason);
    assert!(close.reason.contains("portal session has ended"), "{}", close.reason);
    assert_eq!(stored, 0, "a message was stored after the session expired");
}

#[tokio::test]
async fn websocket_after_must_be_a_number() {
    let server = Server::start().await;
    let client = add_client(&server, "seema41", "en", 24).await;
    let browser = signed_in_browser(&server, &client).await;
    let request_id = create_request(&server, &browser).await;

    let response = browser
        .client
        .get(format!("{}/portal/requests/{request_id}/ws?after=abc", server.address))
        .header("connection", "Upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .send()
        .await
        .expect("ws handshake");
    let status = response.status();
    let body = response.text().await.expect("body");

    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("'abc' is not a message id"), "{body}");
    assert!(!body.contains("Query deserialize error"), "{body}");
}

#[tokio::test]
async fn long_devanagari_description_is_accepted() {
    let server = Server::start().await;
    let client = add_client(&server, "seema42", "hi", 24).await;
    let browser = signed_in_browser(&server, &client).await;
    let area = corporation_id(&server, THANE_CORPORATION).await.to_string();
    let description = "स".repeat(2000);
    let fields = [
        ("origin", "form"),
        ("name", "सीमा देवी"),
        ("phone", "98765 43210"),
        ("category", "health"),
        ("area", area.as_str()),
    ];

    let mut accepted_fields = fields.to_vec();
    accepted_fields.push(("description", description.as_str()));
    let accepted = post_request(&browser, &accepted_fields).await;
    let huge = "स".repeat(8000);
    let mut rejected_fields = fields.to_vec();
    rejected_fields.push(("description", huge.as_str()));
    let rejected = post_request(&browser, &rejected_fields).await;
    let client_id = client.id;
    let stored = server.db(move |connection| ClientRequest::for_client(connection, client_id)).await;

    assert_eq!(accepted.status, StatusCode::SEE_OTHER, "{}", accepted.body);
    assert_eq!(rejected.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(rejected.body.contains("विवरण बहुत लंबा है"), "no translated field error: {}", rejected.body);
    assert!(rejected.body.contains("<html lang=\"hi\">"), "the form comes back in Hindi: {}", rejected.body);
    assert!(stored.iter().any(|request| request.description == description), "the long description was not stored");
}

#[tokio::test]
async fn request_page_marks_status_for_chat() {
    let server = Server::start().await;
    let client = add_client(&server, "seema43", "en", 24).await;
    let browser = signed_in_browser(&server, &client).await;
    let request_id = create_request(&server, &browser).await;

    let page = browser.get(&format!("/portal/requests/{request_id}")).await;

    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("data-chat-status"), "{}", page.body);
    assert!(page.body.contains("data-chat-notice"), "{}", page.body);
    assert!(page.body.contains("data-label-status-assigned=\"A helper is on it\""), "{}", page.body);
    assert!(page.body.contains("data-label-notice-closed="), "{}", page.body);
}

/// Returns the `href="#field"` targets of the error summary, in page order.
fn summary_fields(page: &Page) -> Vec<String> {
    let start = page.body.find("class=\"error-summary\"").expect("the page has an error summary");
    let end = start + page.body[start..].find("</div>").expect("the error summary ends");
    page.body[start..end]
        .split("href=\"#")
        .skip(1)
        .filter_map(|rest| rest.split_once('"'))
        .map(|(field, _)| field.to_owned())
        .collect()
}

#[tokio::test]
async fn error_summary_follows_field_order() {
    let server = Server::start().await;
    let client = add_client(&server, "seema44", "en", 24).await;
    let browser = signed_in_browser(&server, &client).await;

    let form = post_request(
        &browser,
        &[("origin", "form"), ("name", ""), ("phone", "12345"), ("category", "weather"), ("area", "999")],
    )
    .await;
    assert_eq!(form.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", form.body);
    assert_eq!(summary_fields(&form), ["name", "phone", "category", "area", "description"]);

    let chat = post_request(&browser, &[("origin", "chat"), ("category", "weather"), ("area", "999")]).await;
    assert_eq!(chat.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", chat.body);
    assert_eq!(summary_fields(&chat), ["category", "area"]);
}

#[tokio::test]
async fn hindi_request_page_translates_chat_errors() {
    let server = Server::start().await;
    let client = add_client(&server, "seema45", "hi", 24).await;
    let browser = signed_in_browser(&server, &client).await;
    let request_id = create_request(&server, &browser).await;

    let page = browser.get(&format!("/portal/requests/{request_id}")).await;

    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let expected = [
        r#"data-translated-errors="true""#,
        r#"data-label-rejected="यह संदेश नहीं भेजा जा सका। पेज दोबारा खोलकर फिर कोशिश करें।""#,
        r#"data-label-error="चैट में कोई गड़बड़ी हुई। अगर कोई संदेश नहीं जाता, तो पेज दोबारा खोलें।""#,
        r#"data-label-upload-failed="फ़ाइल नहीं भेजी जा सकी। सीमा से छोटी फ़ोटो या PDF चुनकर फिर कोशिश करें।""#,
        r#"data-label-ended="यह चैट आपके लिए बंद हो गई है: फिर से लॉग इन करें या पेज दोबारा खोलें।""#,
    ];
    for attribute in expected {
        assert!(page.body.contains(attribute), "the Hindi request page lacks {attribute}: {}", page.body);
    }
    assert_no_english(&page, "Hindi request page");
}
