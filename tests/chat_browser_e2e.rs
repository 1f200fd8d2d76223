//! Real-time chat between a client and a helper in two headless Chromium
//! sessions, each with its own profile, so they are two people with their
//! own cookies.
//!
//! The client signs in to the portal with the credentials WhatsApp gave
//! them and starts a chat. The helper, an officer of the same corporation,
//! takes the request on the dashboard, and the client's page shows that
//! without a reload. They exchange text and a file, and the client sees
//! when the helper has read a message. The client's browser reaches the
//! server through a loopback link that the test cuts and restores, as a
//! phone losing its network would. Messages sent on both sides meanwhile
//! must arrive once each. A reload shows the whole history in order.
//!
//! Ignored by default like the other browser tests; run with
//! `.ci/run browser` or
//! `cargo test --test chat_browser_e2e -- --ignored --test-threads=1`.

mod browser_harness;

use std::time::{Duration, Instant};

use chrono::Duration as Span;
use fantoccini::{Client, Locator};
use serde_json::json;

use browser_harness::*;
use sandesh::clock::{Clock as _, SystemClock};
use sandesh::db::clients::{Client as ChatClient, NewClient};
use sandesh::web::dashboard::password;

const CLIENT_LOGIN: &str = "k7m2q9xa";
const CLIENT_PASSWORD: &str = "r4t8w-c2n6p";

/// How long a message may take to show on the other side. Generous,
/// because a reconnect waits out the chat script's backoff.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(30);

/// A PNG of one transparent pixel.
const PIXEL_PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49,
    0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x60, 0x00, 0x02, 0x00, 0x00, 0x05, 0x00, 0x01, 0xe9, 0xfa, 0xdc, 0xd8, 0x00,
    0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// Creates the client that WhatsApp onboarding would have made.
async fn add_client(server: &Server) {
    let hash = password::hash(CLIENT_PASSWORD).expect("hash the password");
    let now = SystemClock.now_naive();
    server
        .db(move |connection| {
            ChatClient::insert(
                connection,
                &NewClient {
                    whatsapp_id: "919876500001",
                    phone: Some("+919876500001"),
                    display_name: "Sunita",
                    language: "en",
                    login: CLIENT_LOGIN,
                    password_hash: &hash,
                    password_expires_at: now + Span::hours(24),
                    created_at: now,
                    last_message_at: now,
                },
            )
        })
        .await;
}

/// Signs the client in through `link` and starts a chat with the Thane
/// team; returns the new request's id.
async fn client_starts_chat(browser: &Client, link: &CuttableLink) -> i32 {
    browser.goto(&link.url(&format!("/portal/login?login={CLIENT_LOGIN}"))).await.expect("open the sign-in page");
    fill(browser, "password", CLIENT_PASSWORD).await;
    browser
        .find(Locator::Css("main form.stacked button[type=submit]"))
        .await
        .expect("sign-in button")
        .click()
        .await
        .expect("sign in");
    // The click returns before the next page loads, so each step waits for
    // an element of the page it expects.
    browser
        .wait()
        .at_most(WAIT_TIMEOUT)
        .for_element(Locator::Css("a.choice[href='/portal/requests/new?origin=chat']"))
        .await
        .expect("the home page offers a chat")
        .click()
        .await
        .expect("choose chat");
    browser.wait().at_most(WAIT_TIMEOUT).for_element(Locator::Id("category")).await.expect("the chat form opens");
    browser
        .execute("document.getElementById('category').value = 'health';", vec![])
        .await
        .expect("choose the category");
    choose(browser, "area", "Thane").await;
    browser
        .find(Locator::Css("main form.stacked button[type=submit]"))
        .await
        .expect("start button")
        .click()
        .await
        .expect("start the chat");
    wait_for_chat(browser).await;
    let url = browser.current_url().await.expect("current URL");
    let id = url.path().trim_start_matches("/portal/requests/");
    id.parse().unwrap_or_else(|_| panic!("the chat opens on its request page, not {url}"))
}

/// Waits until the chat widget has connected and loaded its history.
async fn wait_for_chat(browser: &Client) {
    let started = Instant::now();
    loop {
        let ready = browser
            .execute(
                "var root = document.getElementById('chat');\
                 return !!root && !!root.querySelector('.chat-messages') && !!root.querySelector('form.chat-form');",
                vec![],
            )
            .await
            .unwrap_or(json!(false));
        if ready == json!(true) {
            return;
        }
        assert!(
            started.elapsed() < WAIT_TIMEOUT,
            "the chat never appeared; the page shows:\n{}",
            page_text(browser).await
        );
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// Waits until `script` returns a string containing `expected`, such as a
/// status label that the chat updates live.
async fn wait_for_script(browser: &Client, script: &str, expected: &str) {
    let started = Instant::now();
    loop {
        let value = browser.execute(script, vec![]).await.unwrap_or(json!(null));
        if value.as_str().is_some_and(|text| text.contains(expected)) {
            return;
        }
        assert!(started.elapsed() < DELIVERY_TIMEOUT, "{script} never returned {expected:?}; last: {value}");
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// Types `text` into the chat and sends it.
async fn say(browser: &Client, text: &str) {
    let input = browser.find(Locator::Css("#chat textarea.chat-text")).await.expect("the chat has a text box");
    input.send_keys(text).await.expect("type the message");
    browser.find(Locator::Css("#chat button.chat-send")).await.expect("send button").click().await.expect("send");
}

/// One message as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Shown {
    id: Option<i64>,
    client_id: String,
    classes: String,
    text: String,
}

/// Reads the chat's messages in page order.
async fn shown_messages(browser: &Client) -> Vec<Shown> {
    let rows = browser
        .execute(
            "return Array.from(document.querySelectorAll('#chat .message')).map(function (node) {\
               var body = node.querySelector('.body');\
               var link = node.querySelector('.file-link');\
               return [node.getAttribute('data-message-id'), node.getAttribute('data-client-id'), node.className,\
                       body ? body.textContent : (link ? 'file:' + (link.textContent || link.querySelector('img').alt) : '')];\
             });",
            vec![],
        )
        .await
        .expect("read the chat");
    rows.as_array()
        .expect("an array of messages")
        .iter()
        .map(|row| Shown {
            id: row[0].as_str().and_then(|id| id.parse().ok()),
            client_id: row[1].as_str().unwrap_or_default().to_owned(),
            classes: row[2].as_str().unwrap_or_default().to_owned(),
            text: row[3].as_str().unwrap_or_default().to_owned(),
        })
        .collect()
}

/// Waits until every text in `expected` shows as a stored message (one
/// with an id), and returns what the chat shows then.
async fn wait_for_messages(browser: &Client, expected: &[&str]) -> Vec<Shown> {
    let started = Instant::now();
    loop {
        let shown = shown_messages(browser).await;
        let missing: Vec<&&str> = expected
            .iter()
            .filter(|text| !shown.iter().any(|message| message.id.is_some() && message.text == **text))
            .collect();
        if missing.is_empty() {
            return shown;
        }
        assert!(
            started.elapsed() < DELIVERY_TIMEOUT,
            "after {DELIVERY_TIMEOUT:?} the chat still lacks {missing:?}; it shows {shown:#?}"
        );
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// Checks that no message shows twice and that stored messages are in id
/// order.
fn assert_once_and_in_order(who: &str, shown: &[Shown]) {
    let mut client_ids: Vec<&str> = shown.iter().map(|message| message.client_id.as_str()).collect();
    client_ids.sort_unstable();
    let before = client_ids.len();
    client_ids.dedup();
    assert_eq!(client_ids.len(), before, "{who} shows a message twice: {shown:#?}");
    let ids: Vec<i64> = shown.iter().filter_map(|message| message.id).collect();
    assert!(ids.windows(2).all(|pair| pair[0] < pair[1]), "{who} shows messages out of order: {shown:#?}");
}

#[tokio::test]
#[ignore = "needs Debian's chromium and chromium-driver; run with .ci/run browser"]
async fn client_and_helper_chat_through_a_cut_connection() {
    let server = Server::start().await;
    add_client(&server).await;
    server.add_thane_officer().await;
    let link = CuttableLink::start(server.port()).await;
    let driver = ChromeDriver::start().await;
    let client = driver.browser().await;
    let helper = driver.browser().await;

    // The client starts a chat; the helper finds it in the queue and takes it.
    let request = client_starts_chat(&client, &link).await;
    sign_in(&helper, &server, OFFICER_EMAIL, OFFICER_PASSWORD).await;
    helper.goto(&server.url("/dashboard/requests")).await.expect("open the queue");
    wait_for_text(&helper, &format!("#{request}")).await;
    helper.goto(&server.url(&format!("/dashboard/requests/{request}"))).await.expect("open the request");
    helper
        .find(Locator::Css(&format!("form[action='/dashboard/requests/{request}/accept'] button")))
        .await
        .expect("the helper may accept the request")
        .click()
        .await
        .expect("accept");
    wait_for_chat(&helper).await;
    wait_for_script(&client, "return document.querySelector('[data-chat-status]').textContent;", "A helper is on it")
        .await;

    // A new chat has no older messages to offer.
    let older = client.find(Locator::Css("#chat .chat-older")).await.expect("the chat has an older-messages button");
    assert!(!older.is_displayed().await.expect("read the button"), "a new chat offers no older messages");

    // Text both ways, in real time.
    say(&client, "Namaste, my mother needs a doctor").await;
    wait_for_messages(&helper, &["Namaste, my mother needs a doctor"]).await;
    say(&helper, "Hello Sunita, which area do you live in?").await;
    wait_for_messages(&client, &["Hello Sunita, which area do you live in?"]).await;
    // The helper's open page has shown the client's message, so it is read.
    wait_for_script(
        &client,
        "return document.querySelector('#chat .message.sent .receipt').className;",
        "receipt read",
    )
    .await;

    // A file from the client reaches the helper, who may download it.
    let folder = tempfile::tempdir().expect("a folder for the upload");
    let photo = folder.path().join("prescription.png");
    std::fs::write(&photo, PIXEL_PNG).expect("write the photo");
    client
        .find(Locator::Css("#chat input.chat-file-input"))
        .await
        .expect("the chat has a file picker")
        .send_keys(photo.to_str().expect("UTF-8 path"))
        .await
        .expect("pick the photo");
    let shown = wait_for_messages(&helper, &["file:prescription.png"]).await;
    assert!(
        shown.iter().any(|message| message.text == "file:prescription.png" && message.classes.contains("received")),
        "the helper sees the photo as a received file: {shown:#?}"
    );
    let file_url: String = helper
        .execute("return document.querySelector('#chat .file-link').getAttribute('href');", vec![])
        .await
        .expect("read the file link")
        .as_str()
        .expect("a link")
        .to_owned();
    let cookie = helper.get_named_cookie("sandesh_session").await.expect("the helper has a session");
    let download = reqwest::Client::new()
        .get(server.url(&file_url))
        .header(reqwest::header::COOKIE, format!("sandesh_session={}", cookie.value()))
        .send()
        .await
        .expect("download the file");
    assert_eq!(download.status(), reqwest::StatusCode::OK, "the helper downloads {file_url}");
    assert_eq!(download.bytes().await.expect("file bytes").as_ref(), PIXEL_PNG, "the file arrives unchanged");

    // The client's network drops. Both sides write meanwhile.
    link.cut();
    say(&helper, "I have booked a visit for tomorrow").await;
    say(&helper, "Please bring the prescription").await;
    say(&client, "Sent while my phone was offline").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    link.restore();

    let expected = [
        "Namaste, my mother needs a doctor",
        "Hello Sunita, which area do you live in?",
        "file:prescription.png",
        "I have booked a visit for tomorrow",
        "Please bring the prescription",
        "Sent while my phone was offline",
    ];
    let client_view = wait_for_messages(&client, &expected).await;
    let helper_view = wait_for_messages(&helper, &expected).await;
    assert_once_and_in_order("the client", &client_view);
    assert_once_and_in_order("the helper", &helper_view);
    assert_eq!(client_view.len(), expected.len(), "the client shows exactly the messages sent: {client_view:#?}");
    assert_eq!(helper_view.len(), expected.len(), "the helper shows exactly the messages sent: {helper_view:#?}");

    // A reload shows the whole history, in the order it was stored.
    client.refresh().await.expect("reload the client's page");
    wait_for_chat(&client).await;
    let reloaded = wait_for_messages(&client, &expected).await;
    assert_once_and_in_order("the reloaded client page", &reloaded);
    let texts: Vec<&str> = reloaded.iter().map(|message| message.text.as_str()).collect();
    let stored_order: Vec<&str> = helper_view.iter().map(|message| message.text.as_str()).collect();
    assert_eq!(texts, stored_order, "both sides show the same history in the same order");
    let stored = server.chat_message_count(request).await;
    assert_eq!(stored, expected.len(), "each message is stored once");
    save_screenshot(&client, "portal-chat.png").await;
    save_screenshot(&helper, "dashboard-chat.png").await;

    client.close().await.expect("close the client's browser");
    helper.close().await.expect("close the helper's browser");
}
