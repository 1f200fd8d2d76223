//! The WhatsApp channel end to end: the real application on a loopback
//! port receives signed Cloud API webhook calls, onboards clients, and
//! sends its replies to a stand-in Graph API server started by each test.

mod common;
mod whatsapp_support;

use std::time::{Duration, Instant};

use diesel::prelude::*;
use serde_json::json;

use common::{TestApp, TestConfig};
use sandesh::db::clients::Client;
use sandesh::db::inbound::{InboundMessage, NewWhatsAppMessage};
use sandesh::db::outbound::OutboundMessage;
use sandesh::db::schema::{client_sessions, clients, inbound_messages};
use sandesh::web::dashboard::password;
use whatsapp_support::*;

/// A Mumbai number as WhatsApp writes a wa_id.
const ASHA: &str = "919876543210";
const RAVI: &str = "919812300001";

struct Setup {
    app: TestApp,
    graph: GraphStandIn,
}

async fn start() -> Setup {
    start_with(|_| {}).await
}

/// Starts the application after `adjust` changed the test settings.
async fn start_with(adjust: impl FnOnce(&mut TestConfig)) -> Setup {
    let graph = GraphStandIn::start().await;
    let mut config = TestConfig::new();
    enable_whatsapp(&mut config.settings, &graph.base_url);
    adjust(&mut config);
    let app = TestApp::spawn(config).await;
    Setup { app, graph }
}

/// Signs in to the portal with the credentials of a WhatsApp reply and
/// returns an HTTP client that carries the session cookie.
async fn portal_session(address: &str, login: &str, password: &str) -> reqwest::Client {
    let (browser, status) = portal_sign_in(address, login, password).await;
    assert_eq!(status, 303, "sign-in of {login} failed");
    browser
}

/// Submits the portal sign-in form and returns the HTTP client with its
/// cookies and the response status: 303 when signed in.
async fn portal_sign_in(address: &str, login: &str, password: &str) -> (reqwest::Client, u16) {
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("HTTP client builds");
    let form = browser.get(format!("{address}/portal/login")).send().await.expect("sign-in form");
    let form = form.text().await.expect("sign-in form body");
    let marker = r#"name="csrf_token" value=""#;
    let start = form.find(marker).expect("sign-in form has a CSRF field") + marker.len();
    let token = &form[start..start + form[start..].find('"').expect("CSRF value ends")];
    let signed_in = browser
        .post(format!("{address}/portal/login"))
        .form(&[("csrf_token", token), ("login", login), ("password", password)])
        .send()
        .await
        .expect("sign-in");
    let status = signed_in.status().as_u16();
    (browser, status)
}

/// Returns the status of `GET /portal/` for a portal client.
async fn portal_home_status(browser: &reqwest::Client, address: &str) -> u16 {
    browser.get(format!("{address}/portal/")).send().await.expect("portal home").status().as_u16()
}

impl Setup {
    /// Posts a signed notification and expects 200.
    async fn deliver(&self, body: &str) {
        let response = post_signed(&self.app.address, body).await;
        assert_eq!(response.status, 200, "webhook returned {}: {}", response.status, response.body);
    }

    /// Waits until the stand-in received `count` requests in all.
    async fn wait_for_requests(&self, count: usize) -> Vec<GraphRequest> {
        let started = Instant::now();
        loop {
            let received = self.graph.received();
            if received.len() >= count {
                return received;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "the Graph stand-in received {} requests, expected {count}",
                received.len()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn client(&self, wa_id: &str) -> Client {
        let wa_id = wa_id.to_owned();
        self.app
            .db(move |connection| Client::find_by_whatsapp_id(connection, &wa_id))
            .await
            .expect("client created for the WhatsApp id")
    }

    async fn client_count(&self) -> i64 {
        self.app.db(|connection| clients::table.count().get_result(connection)).await
    }

    async fn whatsapp_inbound(&self) -> Vec<InboundMessage> {
        self.app.inbound_all().await.into_iter().filter(|message| message.channel == "whatsapp").collect()
    }

    async fn outbound_by_provider_id(&self, provider_id: &str) -> OutboundMessage {
        let provider_id = provider_id.to_owned();
        self.app
            .db(move |connection| OutboundMessage::find_by_provider_id(connection, "whatsapp", &provider_id))
            .await
            .expect("outbound message with this provider id")
    }

    /// Sends a text from `wa_id` and returns the reply the stand-in got.
    async fn exchange(&self, message_id: &str, wa_id: &str, text: &str) -> GraphRequest {
        let before = self.graph.received().len();
        self.deliver(&one_text(message_id, wa_id, "Asha Patil", text)).await;
        let received = self.wait_for_requests(before + 1).await;
        self.app.wait_idle().await;
        received[before].clone()
    }
}

// ------------------------------------------------------------ verification

#[tokio::test]
async fn verification_handshake_echoes_challenge() {
    let setup = start().await;
    let response = verify_handshake(
        &setup.app.address,
        &[("hub.mode", "subscribe"), ("hub.verify_token", VERIFY_TOKEN), ("hub.challenge", "1158201444")],
    )
    .await;
    assert_eq!(response.status, 200);
    assert_eq!(response.body, "1158201444");
}

#[tokio::test]
async fn verification_rejects_wrong_token_or_mode() {
    let setup = start().await;
    let cases: [&[(&str, &str)]; 4] = [
        &[("hub.mode", "subscribe"), ("hub.verify_token", "wrong-token"), ("hub.challenge", "1")],
        &[("hub.mode", "subscribe"), ("hub.verify_token", "test-verify-toke"), ("hub.challenge", "1")],
        &[("hub.mode", "unsubscribe"), ("hub.verify_token", VERIFY_TOKEN), ("hub.challenge", "1")],
        &[("hub.challenge", "1")],
    ];
    for params in cases {
        let response = verify_handshake(&setup.app.address, params).await;
        assert_eq!(response.status, 403, "params {params:?}");
        assert!(response.body.contains("hub.verify_token"), "body {:?}", response.body);
        assert!(!response.body.contains(VERIFY_TOKEN), "the body must not reveal the token");
    }
}

#[tokio::test]
async fn disabled_channel_returns_404() {
    let mut config = TestConfig::new();
    config.settings.whatsapp.enabled = false;
    let app = TestApp::spawn(config).await;

    let handshake = verify_handshake(
        &app.address,
        &[("hub.mode", "subscribe"), ("hub.verify_token", VERIFY_TOKEN), ("hub.challenge", "1")],
    )
    .await;
    assert_eq!(handshake.status, 404);
    assert!(handshake.body.contains("whatsapp.enabled"));

    let post = post_signed(&app.address, &one_text("wamid.disabled", ASHA, "Asha", "hello")).await;
    assert_eq!(post.status, 404);
    assert!(app.inbound_all().await.is_empty());
}

// -------------------------------------------------------------- signatures

#[tokio::test]
async fn missing_signature_is_rejected() {
    let setup = start().await;
    let response = post_with_signature(&setup.app.address, &one_text("wamid.nosig", ASHA, "Asha", "hello"), None).await;
    assert_eq!(response.status, 401);
    assert!(response.body.contains("missing X-Hub-Signature-256"), "body {:?}", response.body);
    assert!(setup.app.inbound_all().await.is_empty());
}

#[tokio::test]
async fn bad_signature_is_rejected() {
    let setup = start().await;
    let body = one_text("wamid.badsig", ASHA, "Asha", "hello");
    let signed_with_other_secret = sandesh::channels::whatsapp::signature::sign(b"another secret", body.as_bytes());
    let response = post_with_signature(&setup.app.address, &body, Some(&signed_with_other_secret)).await;
    assert_eq!(response.status, 401);
    assert!(response.body.contains("does not match"), "body {:?}", response.body);
    assert!(!response.body.contains(APP_SECRET));

    // The signature of the original body does not match an altered body.
    let original = sandesh::channels::whatsapp::signature::sign(APP_SECRET.as_bytes(), body.as_bytes());
    let altered = body.replace("hello", "hellO");
    let response = post_with_signature(&setup.app.address, &altered, Some(&original)).await;
    assert_eq!(response.status, 401);

    let response = post_with_signature(&setup.app.address, &body, Some("sha1=0123")).await;
    assert_eq!(response.status, 401);
    assert!(setup.app.inbound_all().await.is_empty());
}

#[tokio::test]
async fn malformed_json_returns_400() {
    let setup = start().await;
    let response = post_signed(&setup.app.address, r#"{"object":"whatsapp_business_account","entry":[{"#).await;
    assert_eq!(response.status, 400);
    assert!(response.body.contains("invalid WhatsApp notification"), "body {:?}", response.body);

    let response = post_signed(&setup.app.address, r#"{"entry":[]}"#).await;
    assert_eq!(response.status, 400);
    assert!(response.body.contains("object"), "body {:?}", response.body);
    assert!(setup.app.inbound_all().await.is_empty());
}

#[tokio::test]
async fn oversized_body_names_the_limit() {
    let setup = start().await;
    let limit = sandesh::web::whatsapp::MAX_BODY_BYTES;
    let padding = "x".repeat(limit);
    let body = one_text("wamid.large", ASHA, "Asha", &padding);
    let response = post_signed(&setup.app.address, &body).await;
    assert_eq!(response.status, 413);
    assert!(response.body.contains(&format!("{limit} bytes")), "body {:?}", response.body);
    assert!(setup.app.inbound_all().await.is_empty());

    // A body just under the limit is read in full and stored.
    let fits = one_text("wamid.fits", ASHA, "Asha", "");
    let fits = fits.replace(r#""body":"""#, &format!(r#""body":"{}""#, "y".repeat(limit - fits.len() - 1)));
    assert_eq!(fits.len(), limit - 1);
    setup.deliver(&fits).await;
    setup.wait_for_requests(1).await;
    assert_eq!(setup.whatsapp_inbound().await.len(), 1);
}

// ------------------------------------------------------------- onboarding

#[tokio::test]
async fn first_text_creates_client_and_replies() {
    let setup = start().await;
    let reply = setup.exchange("wamid.HBgMOTE5ODc2NTQzMjEwFQIAEhgg", ASHA, "Hello, I need help").await;

    let stored = setup.whatsapp_inbound().await;
    assert_eq!(stored.len(), 1);
    let message = &stored[0];
    assert_eq!(message.provider_message_id.as_deref(), Some("wamid.HBgMOTE5ODc2NTQzMjEwFQIAEhgg"));
    assert_eq!(message.sender, "+919876543210");
    assert_eq!(message.recipient, PHONE_NUMBER_ID);
    assert_eq!(message.text, "Hello, I need help");
    assert_eq!(message.status, "processed");
    assert_eq!(message.outcome.as_deref(), Some("client_created"));
    assert_eq!(message.media_kind, None);

    let client = setup.client(ASHA).await;
    assert_eq!(client.phone.as_deref(), Some("+919876543210"));
    assert_eq!(client.display_name, "Asha Patil");
    assert_eq!(client.language, "en");
    assert_eq!(client.login.len(), 8);
    assert!(client.login.bytes().all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit()));
    assert!(client.password_used_at.is_none());

    assert_eq!(reply.path, format!("/v21.0/{PHONE_NUMBER_ID}/messages"));
    assert_eq!(reply.authorization, format!("Bearer {ACCESS_TOKEN}"));
    assert_eq!(reply.body["messaging_product"], "whatsapp");
    assert_eq!(reply.body["recipient_type"], "individual");
    assert_eq!(reply.body["type"], "text");
    assert_eq!(reply.body["text"]["preview_url"], false);
    assert_eq!(reply.to(), "+919876543210");
    let text = reply.text();
    let link = format!("{PUBLIC_URL}/portal/login?login={}&lang=en", client.login);
    assert!(text.contains(&link), "reply {text:?} lacks {link}");
    assert_eq!(word_after(&text, "Login: "), client.login);
    let one_time = word_after(&text, "One-time password: ");
    assert_eq!(one_time.len(), 10);
    assert!(password::verify(&one_time, &client.password_hash), "the sent password must match the stored hash");
    assert!(text.contains("send ENGLISH, HINDI or MARATHI"), "reply {text:?} must say how to switch language");

    let outbound = setup.outbound_by_provider_id("wamid.out.1").await;
    assert_eq!(outbound.status, "sent");
    assert_eq!(outbound.template_id, "whatsapp-welcome");
    assert_eq!(outbound.recipient, "+919876543210");
    assert_eq!(outbound.inbound_message_id, Some(message.id));
}

#[tokio::test]
async fn devanagari_first_message_starts_in_hindi() {
    let setup = start().await;
    let reply = setup.exchange("wamid.hindi.1", ASHA, "नमस्ते, मुझे मदद चाहिए").await;
    let client = setup.client(ASHA).await;
    assert_eq!(client.language, "hi");
    let text = reply.text();
    assert!(text.contains(&format!("login={}&lang=hi", client.login)), "reply {text:?}");
    assert!(text.contains("लॉगिन:"), "reply {text:?} is not Hindi");
    assert!(text.contains("भाषा बदलने के लिए"), "reply {text:?} must say how to switch language");
}

#[tokio::test]
async fn greeting_hi_stays_english() {
    let setup = start().await;
    setup.exchange("wamid.greeting", ASHA, "Hi").await;
    assert_eq!(setup.client(ASHA).await.language, "en");

    // A returning client who greets again gets the link, not Hindi.
    let again = setup.exchange("wamid.greeting.again", ASHA, "Hi").await;
    assert_eq!(setup.client(ASHA).await.language, "en");
    assert!(again.text().contains("/portal/login"), "reply {:?}", again.text());
}

#[tokio::test]
async fn english_welcome_offers_hindi_and_marathi() {
    let setup = start().await;
    let reply = setup.exchange("wamid.greeting.2", ASHA, "hi").await;
    let text = reply.text();
    assert!(text.contains("send ENGLISH, HINDI or MARATHI"), "reply {text:?}");
    assert!(text.contains("हिंदी में जवाब के लिए हिंदी भेजें।"), "reply {text:?} lacks the Hindi line");
    assert!(text.contains("मराठीत उत्तर हवे असल्यास मराठी पाठवा."), "reply {text:?} lacks the Marathi line");

    setup.exchange("wamid.greeting.3", ASHA, "हिंदी").await;
    assert_eq!(setup.client(ASHA).await.language, "hi", "the keyword the welcome names switches to Hindi");
}

#[tokio::test]
async fn later_message_gets_link_without_password() {
    let setup = start().await;
    setup.exchange("wamid.first", ASHA, "hello").await;
    let before = setup.client(ASHA).await;

    let reply = setup.exchange("wamid.second", ASHA, "any news?").await;
    let text = reply.text();
    assert!(text.contains(&format!("login={}&lang=en", before.login)), "reply {text:?}");
    assert!(!text.contains("One-time password"), "a later reply must not carry a password: {text:?}");
    assert!(text.contains("send PASSWORD"), "reply {text:?}");

    let after = setup.client(ASHA).await;
    assert_eq!(after.password_hash, before.password_hash);
    assert_eq!(setup.client_count().await, 1);
    let outcomes: Vec<Option<String>> =
        setup.whatsapp_inbound().await.into_iter().map(|message| message.outcome).collect();
    assert_eq!(outcomes, vec![Some("client_created".to_owned()), Some("link_sent".to_owned())]);
}

#[tokio::test]
async fn password_keyword_replaces_old_password() {
    let setup = start().await;
    let welcome = setup.exchange("wamid.p1", ASHA, "hello").await;
    let old_password = word_after(&welcome.text(), "One-time password: ");
    let before = setup.client(ASHA).await;

    let reply = setup.exchange("wamid.p2", ASHA, "New password").await;
    let text = reply.text();
    let new_password = word_after(&text, "one-time password is ");
    assert_ne!(new_password, old_password);
    assert_eq!(word_after(&text, "Login: "), before.login);

    let after = setup.client(ASHA).await;
    assert_eq!(after.login, before.login);
    assert_ne!(after.password_hash, before.password_hash);
    assert!(password::verify(&new_password, &after.password_hash));
    assert!(!password::verify(&old_password, &after.password_hash), "the old password must stop working");
    assert!(after.password_used_at.is_none());

    let outbound = setup.outbound_by_provider_id("wamid.out.2").await;
    assert_eq!(outbound.template_id, "whatsapp-new-password");

    let devanagari = setup.exchange("wamid.p3", ASHA, "पासवर्ड").await;
    let third = word_after(&devanagari.text(), "one-time password is ");
    assert!(password::verify(&third, &setup.client(ASHA).await.password_hash));
}

#[tokio::test]
async fn new_password_ends_portal_sessions() {
    let setup = start().await;
    let welcome = setup.exchange("wamid.s1", ASHA, "hello").await;
    let text = welcome.text();
    let (login, password) = (word_after(&text, "Login: "), word_after(&text, "One-time password: "));
    let lost_phone = portal_session(&setup.app.address, &login, &password).await;
    assert_eq!(portal_home_status(&lost_phone, &setup.app.address).await, 200);

    let reply = setup.exchange("wamid.s2", ASHA, "PASSWORD").await;
    let client_id = setup.client(ASHA).await.id;
    let sessions: i64 = setup
        .app
        .db(move |connection| {
            client_sessions::table.filter(client_sessions::client_id.eq(client_id)).count().get_result(connection)
        })
        .await;
    assert_eq!(sessions, 0, "new credentials must end every portal session");
    assert_eq!(
        portal_home_status(&lost_phone, &setup.app.address).await,
        303,
        "the old session still opens the portal"
    );

    let new_password = word_after(&reply.text(), "one-time password is ");
    let new_phone = portal_session(&setup.app.address, &login, &new_password).await;
    assert_eq!(portal_home_status(&new_phone, &setup.app.address).await, 200);
}

#[tokio::test]
async fn reply_does_not_wait_for_outbox_poll() {
    // With an hour-long poll, only a wake-up from the webhook can send the
    // reply within the test.
    let setup = start_with(|config| config.settings.outbox.poll_interval_ms = 3_600_000).await;
    // The outbox runs one round when it starts. The message must come
    // after that round, so that only a wake-up can send its reply.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let started = Instant::now();
    setup.deliver(&one_text("wamid.wake.1", ASHA, "Asha Patil", "hello")).await;
    while setup.graph.received().is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the reply was not sent within 15 s; it waits for the outbox poll"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(setup.graph.received()[0].to(), "+919876543210");
}

#[tokio::test]
async fn language_keyword_switches_replies() {
    let setup = start().await;
    setup.exchange("wamid.l1", ASHA, "hello").await;

    let reply = setup.exchange("wamid.l2", ASHA, "Marathi").await;
    let client = setup.client(ASHA).await;
    assert_eq!(client.language, "mr");
    let text = reply.text();
    assert!(text.contains("मराठीत"), "reply {text:?} is not Marathi");
    assert!(text.contains(&format!("login={}&lang=mr", client.login)), "reply {text:?}");

    let later = setup.exchange("wamid.l3", ASHA, "ok").await;
    assert!(later.text().contains("भाषा बदलण्यासाठी"), "later reply {:?} is not Marathi", later.text());

    setup.exchange("wamid.l4", ASHA, "हिंदी").await;
    assert_eq!(setup.client(ASHA).await.language, "hi");
    let english = setup.exchange("wamid.l5", ASHA, "ENGLISH").await;
    assert_eq!(setup.client(ASHA).await.language, "en");
    assert!(english.text().contains("reply in English"), "reply {:?}", english.text());
}

#[tokio::test]
async fn language_keyword_as_first_message() {
    let setup = start().await;
    let reply = setup.exchange("wamid.first.mr", RAVI, "मराठी").await;
    let client = setup.client(RAVI).await;
    assert_eq!(client.language, "mr");
    assert!(reply.text().contains("नमस्कार"), "welcome {:?} is not Marathi", reply.text());
    assert!(reply.text().contains("lang=mr"));
}

// ------------------------------------------------------------------- media

#[tokio::test]
async fn image_and_document_store_media() {
    let setup = start().await;
    let body = notification(vec![vec![messages_value(
        vec![contact(ASHA, "Asha Patil")],
        vec![
            image_message("wamid.image", ASHA, Some("my ration card")),
            image_message("wamid.image.bare", ASHA, None),
            document_message("wamid.document", ASHA, "lab-report.pdf", "blood test"),
        ],
    )]]);
    setup.deliver(&body).await;
    setup.wait_for_requests(3).await;
    setup.app.wait_idle().await;

    let stored = setup.whatsapp_inbound().await;
    assert_eq!(stored.len(), 3);
    let image = &stored[0];
    assert_eq!(image.text, "my ration card");
    assert_eq!(image.media_kind.as_deref(), Some("image"));
    assert_eq!(image.media_id.as_deref(), Some("1003383421387256"));
    assert_eq!(image.media_mime_type.as_deref(), Some("image/jpeg"));
    assert_eq!(image.media_filename, None);

    assert_eq!(stored[1].text, "");
    assert_eq!(stored[1].media_kind.as_deref(), Some("image"));

    let document = &stored[2];
    assert_eq!(document.text, "blood test");
    assert_eq!(document.media_kind.as_deref(), Some("document"));
    assert_eq!(document.media_id.as_deref(), Some("2754859441498128"));
    assert_eq!(document.media_mime_type.as_deref(), Some("application/pdf"));
    assert_eq!(document.media_filename.as_deref(), Some("lab-report.pdf"));
    assert!(stored.iter().all(|message| message.status == "processed"));
    assert_eq!(setup.client_count().await, 1);
}

// ---------------------------------------------------- batches and repeats

#[tokio::test]
async fn repeated_message_id_is_stored_once() {
    let setup = start().await;
    let body = one_text("wamid.repeat", ASHA, "Asha", "hello");
    setup.deliver(&body).await;
    setup.wait_for_requests(1).await;
    setup.app.wait_idle().await;
    setup.deliver(&body).await;
    setup.deliver(&body).await;
    setup.app.wait_idle().await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    let stored = setup.whatsapp_inbound().await;
    assert_eq!(stored.len(), 1);
    assert_eq!(setup.graph.received().len(), 1, "a repeated delivery must not get a second reply");
    assert_eq!(setup.client_count().await, 1);
}

#[tokio::test]
async fn batched_entries_are_all_stored() {
    let setup = start().await;
    let third = "919812300002";
    let body = notification(vec![
        vec![messages_value(
            vec![contact(ASHA, "Asha")],
            vec![
                text_message("wamid.b1", ASHA, "one"),
                text_message("wamid.b2", ASHA, "two"),
                text_message("wamid.b3", ASHA, "three"),
            ],
        )],
        vec![
            messages_value(vec![contact(RAVI, "Ravi")], vec![text_message("wamid.b4", RAVI, "four")]),
            messages_value(
                vec![contact(third, "Meena")],
                vec![text_message("wamid.b5", third, "पाँच"), text_message("wamid.b6", third, "six")],
            ),
        ],
    ]);
    setup.deliver(&body).await;
    let replies = setup.wait_for_requests(6).await;
    setup.app.wait_idle().await;

    let stored = setup.whatsapp_inbound().await;
    let ids: Vec<String> = stored.iter().filter_map(|message| message.provider_message_id.clone()).collect();
    assert_eq!(ids, ["wamid.b1", "wamid.b2", "wamid.b3", "wamid.b4", "wamid.b5", "wamid.b6"]);
    assert!(stored.iter().all(|message| message.status == "processed"));
    assert_eq!(setup.client_count().await, 3);
    assert_eq!(setup.client(third).await.language, "hi");
    assert_eq!(setup.client(third).await.display_name, "Meena");
    assert_eq!(replies.len(), 6);
    let welcomes =
        replies.iter().filter(|reply| reply.text().contains("password: ") || reply.text().contains("पासवर्ड: ")).count();
    assert_eq!(welcomes, 3, "each new client gets one password");
}

// --------------------------------------------------------------- statuses

#[tokio::test]
async fn statuses_update_outbound_messages() {
    let setup = start().await;
    setup.exchange("wamid.s1", ASHA, "hello").await;
    setup.exchange("wamid.s2", ASHA, "again").await;
    setup.exchange("wamid.s3", ASHA, "and again").await;

    let delivered = notification(vec![vec![status_value("wamid.out.1", "delivered", ASHA, vec![])]]);
    setup.deliver(&delivered).await;
    let first = setup.outbound_by_provider_id("wamid.out.1").await;
    assert_eq!(first.status, "delivered");
    assert!(first.delivered_at.is_some());
    assert!(first.read_at.is_none());

    let read = notification(vec![vec![status_value("wamid.out.1", "read", ASHA, vec![])]]);
    setup.deliver(&read).await;
    let first = setup.outbound_by_provider_id("wamid.out.1").await;
    assert_eq!(first.status, "delivered");
    assert!(first.read_at.is_some());

    // A read report may come without a delivery report before it.
    let read_only = notification(vec![vec![status_value("wamid.out.2", "read", ASHA, vec![])]]);
    setup.deliver(&read_only).await;
    let second = setup.outbound_by_provider_id("wamid.out.2").await;
    assert_eq!(second.status, "delivered");
    assert!(second.delivered_at.is_some());
    assert!(second.read_at.is_some());

    let failed = notification(vec![vec![status_value(
        "wamid.out.3",
        "failed",
        ASHA,
        vec![json!({
            "code": 131047,
            "title": "Re-engagement message",
            "message": "Re-engagement message",
            "error_data": {"details": "Message failed to send because more than 24 hours have passed since the customer last replied to this number."},
        })],
    )]]);
    setup.deliver(&failed).await;
    let third = setup.outbound_by_provider_id("wamid.out.3").await;
    assert_eq!(third.status, "failed");
    let error = third.last_error.expect("failure reason stored");
    assert!(error.contains("131047"), "error {error:?}");
    assert!(error.contains("more than 24 hours"), "error {error:?}");
    // An officer learns that the client never got the reply, once even
    // when the report comes again.
    setup.deliver(&failed).await;
    let flags = setup.app.flags().await;
    assert_eq!(flags.len(), 1, "{flags:?}");
    assert_eq!(flags[0].reason, "sms_failed");
    assert!(flags[0].detail.contains("131047"), "{}", flags[0].detail);

    // A status for a message Sandesh never sent changes nothing.
    let unknown = notification(vec![vec![status_value("wamid.unknown", "delivered", ASHA, vec![])]]);
    setup.deliver(&unknown).await;
    let all = setup.app.outbound().await;
    assert_eq!(all.len(), 3);
}

// ----------------------------------------------------------------- sending

#[tokio::test]
async fn graph_rejection_fails_permanently() {
    let setup = start().await;
    setup.graph.respond_next(
        400,
        r#"{"error":{"message":"(#131030) Recipient phone number not in allowed list","type":"OAuthException","code":131030,"error_data":{"messaging_product":"whatsapp","details":"Recipient phone number not in allowed list: Add recipient phone number to recipient list and try again."},"fbtrace_id":"AbCd"}}"#,
    );
    setup.exchange("wamid.reject", ASHA, "hello").await;
    let outbound = setup.app.outbound().await;
    assert_eq!(outbound.len(), 1);
    assert_eq!(outbound[0].status, "failed");
    let error = outbound[0].last_error.clone().expect("error stored");
    assert!(error.contains("131030"), "error {error:?}");
    assert!(error.contains("not in allowed list"), "error {error:?}");
}

#[tokio::test]
async fn graph_server_error_is_retried() {
    let setup = start().await;
    setup.graph.respond_next(503, r#"{"error":{"message":"Service temporarily unavailable","code":2}}"#);
    setup.exchange("wamid.retry", ASHA, "hello").await;
    let outbound = setup.app.outbound().await;
    assert_eq!(outbound[0].status, "queued");
    assert_eq!(outbound[0].attempts, 1);
    assert!(outbound[0].last_error.as_deref().unwrap_or_default().contains("503"));
}

// ---------------------------------------------------------------- restarts

#[tokio::test]
async fn stored_message_replied_at_start() {
    let graph = GraphStandIn::start().await;
    let mut config = TestConfig::new();
    enable_whatsapp(&mut config.settings, &graph.base_url);
    // A message the webhook stored just before a crash, with no reply yet.
    let database = config.open_database();
    let mut connection = database.connection().expect("database connection");
    let now = chrono::Utc::now().naive_utc();
    InboundMessage::insert_whatsapp_once(
        &mut connection,
        &NewWhatsAppMessage {
            channel: "whatsapp",
            provider_message_id: "wamid.before.crash",
            sender: "+919876543210",
            recipient: PHONE_NUMBER_ID,
            text: "hello",
            received_at: now,
            status: "received",
            outcome: None,
            processed_at: None,
            media_kind: None,
            media_id: None,
            media_mime_type: None,
            media_filename: None,
            sender_name: Some("Asha Patil"),
        },
    )
    .expect("insert the stored message");
    drop(connection);

    let app = TestApp::spawn(config).await;
    let setup = Setup { app, graph };
    let replies = setup.wait_for_requests(1).await;
    setup.app.wait_idle().await;
    assert!(replies[0].text().contains("One-time password"));
    let stored = setup.whatsapp_inbound().await;
    assert_eq!(stored[0].status, "processed");
    assert_eq!(stored[0].outcome.as_deref(), Some("client_created"));
    assert_eq!(setup.client(ASHA).await.phone.as_deref(), Some("+919876543210"));
    assert_eq!(setup.client(ASHA).await.display_name, "Asha Patil", "the stored profile name names the client");

    // The agent actors leave WhatsApp rows alone, so nothing was flagged.
    assert!(setup.app.flags().await.is_empty());
    let count: i64 = setup
        .app
        .db(|connection| {
            inbound_messages::table.filter(inbound_messages::channel.eq("whatsapp")).count().get_result(connection)
        })
        .await;
    assert_eq!(count, 1);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(setup.graph.received().len(), 1, "the message gets one reply");
}

// ------------------------------------------------------- malformed payloads

/// Returns a text message from `wa_id` with `id` as its message id.
fn text_with_id(id: &str, wa_id: &str, body: &str) -> serde_json::Value {
    json!({"from": wa_id, "id": id, "timestamp": "1767225600", "type": "text", "text": {"body": body}})
}

#[tokio::test]
async fn empty_message_id_is_skipped() {
    let setup = start().await;
    let first = notification(vec![vec![messages_value(
        vec![contact(ASHA, "Asha")],
        vec![
            text_with_id("", ASHA, "empty id"),
            text_with_id("  ", ASHA, "blank id"),
            text_with_id("wamid.e1", ASHA, "hello"),
        ],
    )]]);
    setup.deliver(&first).await;
    setup.wait_for_requests(1).await;
    setup.app.wait_idle().await;

    // A later empty id from another sender must not hide its valid message.
    let second = notification(vec![vec![messages_value(
        vec![contact(RAVI, "Ravi")],
        vec![text_with_id("", RAVI, "empty id"), text_with_id("wamid.e2", RAVI, "hello")],
    )]]);
    setup.deliver(&second).await;
    setup.wait_for_requests(2).await;
    setup.app.wait_idle().await;

    let ids: Vec<Option<String>> =
        setup.whatsapp_inbound().await.into_iter().map(|message| message.provider_message_id).collect();
    assert_eq!(ids, [Some("wamid.e1".to_owned()), Some("wamid.e2".to_owned())]);
    assert_eq!(setup.client_count().await, 2);
}

#[tokio::test]
async fn malformed_items_keep_valid_ones() {
    let setup = start().await;
    setup.exchange("wamid.m0", ASHA, "hello").await;

    let mut statuses = status_value("wamid.out.1", "delivered", ASHA, vec![]);
    statuses["statuses"]
        .as_array_mut()
        .expect("statuses array")
        .insert(0, json!({"id": "wamid.out.1", "timestamp": "1767229200"}));
    let body = notification(vec![vec![
        messages_value(
            vec![contact(RAVI, "Ravi")],
            vec![
                json!({"from": RAVI, "type": "text", "text": {"body": "no id"}}),
                text_with_id("wamid.m1", RAVI, "hello"),
                json!({"from": RAVI, "id": "wamid.m2", "type": "text", "text": "not an object"}),
            ],
        ),
        statuses,
        json!("not a change value"),
    ]]);
    let response = post_signed(&setup.app.address, &body).await;
    assert_eq!(response.status, 200, "body {:?}", response.body);
    setup.wait_for_requests(2).await;
    setup.app.wait_idle().await;

    let ids: Vec<Option<String>> =
        setup.whatsapp_inbound().await.into_iter().map(|message| message.provider_message_id).collect();
    assert_eq!(ids, [Some("wamid.m0".to_owned()), Some("wamid.m1".to_owned())]);
    assert_eq!(setup.client(RAVI).await.display_name, "Ravi");
    let delivered = setup.outbound_by_provider_id("wamid.out.1").await;
    assert!(delivered.delivered_at.is_some(), "the valid status after the malformed one was not applied");
}

#[tokio::test]
async fn long_profile_name_is_capped() {
    let setup = start().await;
    let name = format!("{}\u{7}\n{}", "A".repeat(10), "अ".repeat(200_000));
    setup.deliver(&one_text("wamid.name.1", ASHA, &name, "hello")).await;
    setup.wait_for_requests(1).await;
    setup.app.wait_idle().await;
    let stored = setup.client(ASHA).await.display_name;
    assert_eq!(stored.chars().count(), sandesh::channels::whatsapp::payload::MAX_PROFILE_NAME_CHARS);
    assert!(stored.starts_with("AAAAAAAAAAअ"), "control characters were kept: {stored:?}");

    // A later message with the same long name does not grow it either.
    setup.exchange("wamid.name.2", ASHA, "again").await;
    setup.deliver(&one_text("wamid.name.3", ASHA, &name, "and again")).await;
    setup.wait_for_requests(3).await;
    setup.app.wait_idle().await;
    assert_eq!(setup.client(ASHA).await.display_name, stored);
}

#[tokio::test]
async fn reactions_get_no_reply() {
    let setup = start().await;
    setup.exchange("wamid.r0", ASHA, "hello").await;

    let reaction = json!({
        "from": ASHA, "id": "wamid.r1", "timestamp": "1767225603", "type": "reaction",
        "reaction": {"message_id": "wamid.out.1", "emoji": "👍"},
    });
    let unsupported = json!({
        "from": ASHA, "id": "wamid.r2", "timestamp": "1767225604", "type": "unsupported",
        "errors": [{"code": 131051, "title": "Message type unknown", "message": "Message type unknown"}],
    });
    setup
        .deliver(&notification(vec![vec![messages_value(vec![contact(ASHA, "Asha")], vec![reaction, unsupported])]]))
        .await;
    setup.app.wait_idle().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(setup.graph.received().len(), 1, "a reaction or unsupported message got a reply");

    let stored = setup.whatsapp_inbound().await;
    assert_eq!(stored.len(), 3);
    assert_eq!(stored[1].text, "👍");
    assert_eq!(stored[1].status, "processed");
    assert_eq!(stored[1].outcome.as_deref(), Some("reaction_stored"));
    assert!(stored[1].processed_at.is_some());
    assert_eq!(stored[2].status, "processed");
    assert_eq!(stored[2].outcome.as_deref(), Some("unsupported_stored"));
}

#[tokio::test]
async fn button_payload_keyword_is_used() {
    let setup = start().await;
    let welcome = setup.exchange("wamid.k0", ASHA, "hello").await;
    let old_password = word_after(&welcome.text(), "One-time password: ");

    let button = json!({
        "from": ASHA, "id": "wamid.k1", "timestamp": "1767225605", "type": "button",
        "button": {"text": "Get a new password", "payload": "PASSWORD"},
    });
    setup.deliver(&notification(vec![vec![messages_value(vec![contact(ASHA, "Asha")], vec![button])]])).await;
    let replies = setup.wait_for_requests(2).await;
    setup.app.wait_idle().await;
    let new_password = word_after(&replies[1].text(), "one-time password is ");
    assert_ne!(new_password, old_password);
    assert!(password::verify(&new_password, &setup.client(ASHA).await.password_hash));

    let list_reply = json!({
        "from": ASHA, "id": "wamid.k2", "timestamp": "1767225606", "type": "interactive",
        "interactive": {"type": "button_reply", "button_reply": {"id": "choose-language-mr", "title": "मराठी"}},
    });
    setup.deliver(&notification(vec![vec![messages_value(vec![contact(ASHA, "Asha")], vec![list_reply])]])).await;
    setup.wait_for_requests(3).await;
    setup.app.wait_idle().await;
    assert_eq!(setup.client(ASHA).await.language, "mr", "a button titled with a keyword switches the language");
    let outcomes: Vec<Option<String>> =
        setup.whatsapp_inbound().await.into_iter().map(|message| message.outcome).collect();
    let expected = ["client_created", "credentials_sent", "language_set"].map(|outcome| Some(outcome.to_owned()));
    assert_eq!(outcomes, expected);
}

#[tokio::test]
async fn user_id_sender_gets_reply() {
    let setup = start().await;
    let user_id = "IN.13491208655302741918";
    let body = notification(vec![vec![messages_value(
        vec![json!({"profile": {"name": "Asha"}, "user_id": user_id})],
        vec![
            json!({"from_user_id": user_id, "id": "wamid.u1", "timestamp": "1767225600", "type": "text", "text": {"body": "hello"}}),
        ],
    )]]);
    setup.deliver(&body).await;
    let replies = setup.wait_for_requests(1).await;

    assert_eq!(replies[0].recipient(), user_id);
    assert_eq!(replies[0].to(), "", "a user id is not sent as a phone number");
    assert!(replies[0].text().contains("One-time password: "), "{}", replies[0].text());
    setup.app.wait_idle().await;
    let outbound = setup.app.outbound().await;
    assert_eq!(outbound[0].recipient, user_id);
    assert_eq!(outbound[0].status, "sent");
}

#[tokio::test]
async fn malformed_user_id_failure_is_masked() {
    let setup = start().await;
    let user_id = "in.13491208655302741918";
    let body = notification(vec![vec![messages_value(
        vec![json!({"profile": {"name": "Asha"}, "user_id": user_id})],
        vec![
            json!({"from_user_id": user_id, "id": "wamid.u2", "timestamp": "1767225600", "type": "text", "text": {"body": "hello"}}),
        ],
    )]]);
    setup.deliver(&body).await;
    setup
        .app
        .wait_until("the reply to a malformed user id fails", |connection| {
            use sandesh::db::schema::outbound_messages;
            outbound_messages::table
                .filter(outbound_messages::status.eq("failed"))
                .count()
                .get_result::<i64>(connection)
                .map(|failed| failed == 1)
        })
        .await;

    let outbound = setup.app.outbound().await;
    let error = outbound[0].last_error.clone().expect("failure reason stored");
    assert!(error.contains("invalid recipient"), "error {error:?}");
    assert!(error.contains("WhatsApp user id such as"), "error {error:?}");
    assert!(!error.contains(user_id), "error {error:?} shows the raw user id");
    let flags = setup.app.flags().await;
    assert_eq!(flags.len(), 1);
    assert!(!flags[0].detail.contains(user_id), "flag {:?} shows the raw user id", flags[0].detail);
    assert_eq!(setup.graph.received().len(), 0);
}

#[tokio::test]
async fn new_password_lifts_sign_in_lockout() {
    let setup = start().await;
    let welcome = setup.exchange("wamid.lock.1", ASHA, "hello").await;
    let text = welcome.text();
    let (login, first_password) = (word_after(&text, "Login: "), word_after(&text, "One-time password: "));

    for attempt in 0..5 {
        let (_, status) = portal_sign_in(&setup.app.address, &login, "wrong-password").await;
        assert_eq!(status, 200, "wrong password {attempt} got {status}");
    }
    let (_, locked) = portal_sign_in(&setup.app.address, &login, &first_password).await;
    assert_eq!(locked, 429, "the login is not locked after 5 failures");

    let reply = setup.exchange("wamid.lock.2", ASHA, "PASSWORD").await;
    let new_password = word_after(&reply.text(), "one-time password is ");
    let (_, status) = portal_sign_in(&setup.app.address, &login.to_uppercase(), &new_password).await;
    assert_eq!(status, 303, "the new one-time password is still locked out");
}
