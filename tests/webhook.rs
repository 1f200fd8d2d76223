//! Black-box tests of the SMS webhook: every kind of bad input, repeated
//! deliveries, racing bookings, restarts and outbox retries. Each test runs
//! the real application against its own SQLite file and checks that every
//! message gets a clear result, is stored, and is neither lost nor
//! processed twice.

mod common;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::NaiveDate;
use tokio::task::JoinSet;

use common::{days_after, virtual_start, Fixture, Seeded, TestApp, TestConfig, TOKEN};
use sandesh::booking::intake::{store_arrival, Arrival};
use sandesh::channels::SendError;
use sandesh::db::flags::FlaggedMessage;
use sandesh::db::ids::InboundId;
use sandesh::db::inbound::InboundMessage;
use sandesh::db::outbound::{NewOutboundMessage, OutboundMessage};
use sandesh::db::tasks::Task;

/// The agent most tests book as.
const AGENT_ID: i32 = 12;
const AGENT_PHONE: &str = "+919812345678";
/// An agent whose active flag is off.
const INACTIVE_ID: i32 = 13;
const INACTIVE_PHONE: &str = "+919812345680";
/// A valid mobile number that belongs to no agent.
const STRANGER_PHONE: &str = "+919700000001";

const BOOKING: &str = "12 ANC Seema Devi 9876543210";
const BENEFICIARY_PHONE: &str = "+919876543210";
const BENEFICIARY_NAME: &str = "Seema Devi";

/// The usage hint that ends most replies to agents (locales/en/sms.ftl).
const USAGE: &str = "Send: <agent-id> <case-code> <name> <phone>";

fn fixture(slot_date: NaiveDate) -> Fixture {
    Fixture::new(slot_date).agent(AGENT_ID, AGENT_PHONE).inactive_agent(INACTIVE_ID, INACTIVE_PHONE)
}

/// Starts an application on the system clock with the standard fixture,
/// whose slot is two days from today at 10:00.
async fn start() -> (TestApp, Seeded, NaiveDate) {
    let config = TestConfig::new();
    let slot_date = days_after(config.today(), 2);
    let seeded = config.seed(&fixture(slot_date));
    (TestApp::spawn(config).await, seeded, slot_date)
}

fn patient_text(name: &str, slot_date: NaiveDate) -> String {
    format!("{name} visit Wagle HP, Road 16, Wagle Estate, Thane on {} at 10:00 for ANC", slot_date.format("%d-%m-%Y"))
}

fn booked_text(name: &str, slot_date: NaiveDate) -> String {
    format!("Booked: {name} (ANC) at Wagle HP on {} 10:00.", slot_date.format("%d-%m-%Y"))
}

/// What became of one inbound message.
#[derive(Debug)]
struct Handling {
    inbound: InboundMessage,
    flags: Vec<FlaggedMessage>,
    tasks: Vec<Task>,
    /// Outbound SMS queued for this message, in creation order.
    replies: Vec<OutboundMessage>,
}

async fn handling(app: &TestApp, id: InboundId) -> Handling {
    let inbound = app.inbound(id).await;
    let flags = app.flags().await.into_iter().filter(|flag| flag.inbound_message_id == Some(id)).collect();
    let tasks = app.tasks().await.into_iter().filter(|task| task.inbound_message_id == Some(id)).collect();
    let replies = app.outbound().await.into_iter().filter(|message| message.inbound_message_id == Some(id)).collect();
    Handling { inbound, flags, tasks, replies }
}

/// Loads the newest inbound message.
async fn last_inbound(app: &TestApp) -> InboundMessage {
    app.inbound_all().await.pop().expect("at least one inbound message stored")
}

/// Checks that a message was processed into exactly one flag with
/// `reason`, no task, and one reply `text` sent to `reply_to`.
fn assert_flagged(case: &str, handled: &Handling, reason: &str, reply_to: &str, text: &str) {
    assert_eq!(handled.inbound.status, "processed", "{case}: inbound status");
    assert_eq!(handled.inbound.outcome.as_deref(), Some("flagged"), "{case}: inbound outcome");
    assert_eq!(handled.flags.len(), 1, "{case}: flags {:?}", handled.flags);
    assert_eq!(handled.flags[0].reason, reason, "{case}: flag reason ({})", handled.flags[0].detail);
    assert_eq!(handled.flags[0].status, "open", "{case}: flag status");
    assert!(handled.tasks.is_empty(), "{case}: tasks {:?}", handled.tasks);
    assert_eq!(handled.replies.len(), 1, "{case}: replies {:?}", handled.replies);
    assert_eq!(handled.replies[0].recipient, reply_to, "{case}: reply recipient");
    assert_eq!(handled.replies[0].text, text, "{case}: reply text");
    assert_eq!(handled.replies[0].status, "sent", "{case}: reply status");
}

fn assert_stored_ok(case: &str, response: &common::WebhookResponse) {
    assert_eq!(response.status, 200, "{case}: status, body {:?}", response.body);
    assert!(response.body.is_empty(), "{case}: the answer body must be empty, got {:?}", response.body);
}

#[tokio::test]
async fn booking_queues_patient_and_agent_sms() {
    let (app, seeded, slot_date) = start().await;

    let response = app.send_sms(AGENT_PHONE, BOOKING, Some("kannel-1")).await;
    app.wait_idle().await;

    assert_stored_ok("booking", &response);
    let inbound = last_inbound(&app).await;
    assert_eq!(inbound.sender, AGENT_PHONE);
    assert_eq!(inbound.recipient, app.config.settings.sms.vmn);
    assert_eq!(inbound.provider_message_id.as_deref(), Some("kannel-1"));
    let handled = handling(&app, inbound.id).await;
    assert_eq!(handled.inbound.status, "processed");
    assert_eq!(handled.inbound.outcome.as_deref(), Some("booked"));
    assert!(handled.flags.is_empty(), "flags {:?}", handled.flags);
    assert_eq!(handled.tasks.len(), 1);
    assert_eq!(handled.tasks[0].beneficiary_phone, BENEFICIARY_PHONE);
    assert_eq!(handled.tasks[0].beneficiary_name, BENEFICIARY_NAME);
    assert_eq!(handled.tasks[0].slot_id, seeded.slot_id);
    let texts: Vec<(&str, &str)> =
        handled.replies.iter().map(|message| (message.recipient.as_str(), message.text.as_str())).collect();
    assert_eq!(
        texts,
        vec![
            (BENEFICIARY_PHONE, patient_text(BENEFICIARY_NAME, slot_date).as_str()),
            (AGENT_PHONE, booked_text(BENEFICIARY_NAME, slot_date).as_str()),
        ]
    );
    assert_eq!(app.slot(seeded.slot_id).await.booked, 1);
    assert_eq!(app.config.provider.sent().len(), 2);
}

#[tokio::test]
async fn empty_text_flagged() {
    let (app, _, _) = start().await;

    let response = app.send_sms(AGENT_PHONE, "", None).await;
    app.wait_idle().await;

    assert_stored_ok("empty text", &response);
    let inbound = last_inbound(&app).await;
    assert_eq!(inbound.text, "");
    let reply = format!("Your SMS was empty. {USAGE}");
    assert_flagged("empty text", &handling(&app, inbound.id).await, "invalid_format", AGENT_PHONE, &reply);
}

#[tokio::test]
async fn missing_text_flagged_as_empty() {
    let (app, _, _) = start().await;

    let response =
        app.send_params(&[("token", TOKEN), ("from", AGENT_PHONE), ("to", "5676791"), ("id", "no-text-1")]).await;
    app.wait_idle().await;

    assert_stored_ok("missing text", &response);
    let inbound = last_inbound(&app).await;
    assert_eq!(inbound.text, "");
    let reply = format!("Your SMS was empty. {USAGE}");
    assert_flagged("missing text", &handling(&app, inbound.id).await, "invalid_format", AGENT_PHONE, &reply);
}

#[tokio::test]
async fn long_text_stored_whole_and_flagged() {
    let (app, _, _) = start().await;
    let text = format!("12 ANC Seema {}", "a".repeat(2_000 - 13));
    assert_eq!(text.chars().count(), 2_000);

    let response = app.send_sms(AGENT_PHONE, &text, None).await;
    app.wait_idle().await;

    assert_stored_ok("2,000 characters", &response);
    let inbound = last_inbound(&app).await;
    assert_eq!(inbound.text, text, "the stored text must be the whole text");
    let reply = format!("Your SMS is too long (2000 characters). {USAGE}");
    assert_flagged("2,000 characters", &handling(&app, inbound.id).await, "invalid_format", AGENT_PHONE, &reply);
}

#[tokio::test]
async fn invalid_utf8_stored_and_flagged() {
    let (app, _, _) = start().await;

    let response = app
        .send_raw_query(&format!("token={TOKEN}&from=%2B919812345678&text=12%20ANC%20Seema%FF%FE%209876543210"))
        .await;
    app.wait_idle().await;

    assert_stored_ok("invalid UTF-8", &response);
    let inbound = last_inbound(&app).await;
    assert_eq!(inbound.text, "12 ANC Seema\u{FFFD}\u{FFFD} 9876543210", "bad bytes are kept as U+FFFD");
    let handled = handling(&app, inbound.id).await;
    let reply = format!("Your SMS has an unreadable character. Type it again. {USAGE}");
    assert_flagged("invalid UTF-8", &handled, "invalid_format", AGENT_PHONE, &reply);
    assert!(handled.flags[0].detail.contains("UTF-8"), "flag detail: {}", handled.flags[0].detail);
}

#[tokio::test]
async fn control_characters_flagged() {
    let (app, _, _) = start().await;
    let cases = [("%07", '\u{7}', "U+0007"), ("%00", '\u{0}', "U+0000"), ("%1B", '\u{1B}', "U+001B")];

    for (escape, character, code) in cases {
        let case = format!("control character {escape}");
        let query = format!("token={TOKEN}&from=%2B919812345678&text=12%20ANC%20Seema{escape}%209876543210");

        let response = app.send_raw_query(&query).await;
        app.wait_idle().await;

        assert_stored_ok(&case, &response);
        let inbound = last_inbound(&app).await;
        assert_eq!(inbound.text, format!("12 ANC Seema{character} 9876543210"), "{case}: stored text");
        let handled = handling(&app, inbound.id).await;
        let reply = format!("Your SMS has an unreadable character. Type it again. {USAGE}");
        assert_flagged(&case, &handled, "invalid_format", AGENT_PHONE, &reply);
        assert!(handled.flags[0].detail.contains(code), "{case}: flag detail {}", handled.flags[0].detail);
    }
    assert_eq!(app.inbound_all().await.len(), cases.len());
}

#[tokio::test]
async fn missing_from_stored_and_flagged() {
    let (app, _, _) = start().await;
    let cases = [
        ("no from parameter", format!("token={TOKEN}&to=5676791&text=12+ANC+Seema+9876543210&id=no-from-1")),
        ("empty from", format!("token={TOKEN}&from=&text=12+ANC+Seema+9876543211&id=no-from-2")),
        ("from is a lone unencoded plus", format!("token={TOKEN}&from=+&text=12+ANC+Seema+9876543212&id=no-from-3")),
    ];

    for (case, query) in &cases {
        let response = app.send_raw_query(query).await;
        app.wait_idle().await;

        assert_eq!(response.status, 400, "{case}: status");
        assert!(response.body.contains("'from'"), "{case}: the body must name the parameter: {:?}", response.body);
        let handled = handling(&app, last_inbound(&app).await.id).await;
        assert_eq!(handled.inbound.sender, "", "{case}: stored sender");
        assert!(handled.inbound.text.starts_with("12 ANC Seema"), "{case}: stored text {:?}", handled.inbound.text);
        assert_eq!(handled.inbound.status, "processed", "{case}: inbound status");
        assert_eq!(handled.inbound.outcome.as_deref(), Some("flagged"), "{case}: inbound outcome");
        assert_eq!(handled.flags.len(), 1, "{case}: flags {:?}", handled.flags);
        assert_eq!(handled.flags[0].reason, "invalid_format", "{case}: flag reason");
        assert!(handled.flags[0].detail.contains("'from'"), "{case}: flag detail {}", handled.flags[0].detail);
        assert!(handled.tasks.is_empty(), "{case}: a message without a sender books nothing");
        assert!(handled.replies.is_empty(), "{case}: there is no one to reply to");
    }
    assert_eq!(app.inbound_all().await.len(), cases.len(), "each request is stored once");
}

#[tokio::test]
async fn missing_to_uses_vmn() {
    let (app, _, _) = start().await;

    let response = app.send_params(&[("token", TOKEN), ("from", AGENT_PHONE), ("text", BOOKING)]).await;
    app.wait_idle().await;

    assert_stored_ok("missing to", &response);
    let inbound = last_inbound(&app).await;
    assert_eq!(inbound.recipient, app.config.settings.sms.vmn, "the recipient defaults to sms.vmn");
    assert_eq!(handling(&app, inbound.id).await.tasks.len(), 1, "a message without 'to' still books");
}

#[tokio::test]
async fn empty_to_uses_vmn() {
    let (app, _, _) = start().await;

    let response = app.send_params(&[("token", TOKEN), ("from", AGENT_PHONE), ("to", ""), ("text", BOOKING)]).await;
    app.wait_idle().await;

    assert_stored_ok("empty to", &response);
    let inbound = last_inbound(&app).await;
    assert_eq!(inbound.recipient, app.config.settings.sms.vmn, "an empty 'to' defaults to sms.vmn");
}

#[tokio::test]
async fn token_missing_rejected() {
    let (app, _, _) = start().await;

    let response = app.send_params(&[("from", AGENT_PHONE), ("to", "5676791"), ("text", BOOKING)]).await;

    assert_eq!(response.status, 401);
    assert!(response.body.contains("'token'"), "the body must name the parameter: {:?}", response.body);
    assert!(app.inbound_all().await.is_empty(), "nothing may be stored without the token");
}

#[tokio::test]
async fn token_wrong_rejected() {
    let (app, _, _) = start().await;
    let same_length = format!("{}X", &TOKEN[..TOKEN.len() - 1]);
    let cases = [
        ("empty", ""),
        ("prefix", &TOKEN[..4]),
        ("same length", same_length.as_str()),
        ("longer", "test-inbound-token-2"),
    ];

    for (case, token) in cases {
        let response =
            app.send_params(&[("token", token), ("from", AGENT_PHONE), ("to", "5676791"), ("text", BOOKING)]).await;

        assert_eq!(response.status, 401, "{case}: status");
    }
    assert!(app.inbound_all().await.is_empty(), "nothing may be stored with a wrong token");
}

#[tokio::test]
async fn unknown_agent_flagged() {
    let (app, _, _) = start().await;

    let response = app.send_sms(STRANGER_PHONE, "99 ANC Seema 9876543210", None).await;
    app.wait_idle().await;

    assert_stored_ok("unknown agent", &response);
    let handled = handling(&app, last_inbound(&app).await.id).await;
    let reply = format!("Agent id 99 is not registered. Check your id. {USAGE}");
    assert_flagged("unknown agent", &handled, "unknown_agent", STRANGER_PHONE, &reply);
    assert_eq!(handled.flags[0].agent_id, None);
}

#[tokio::test]
async fn inactive_agent_flagged() {
    let (app, _, _) = start().await;

    let response = app.send_sms(INACTIVE_PHONE, "13 ANC Seema 9876543210", None).await;
    app.wait_idle().await;

    assert_stored_ok("inactive agent", &response);
    let handled = handling(&app, last_inbound(&app).await.id).await;
    let reply = format!("Agent id {INACTIVE_ID} is not active. Please call your officer.");
    assert_flagged("inactive agent", &handled, "inactive_agent", INACTIVE_PHONE, &reply);
    assert_eq!(handled.flags[0].agent_id.map(|id| id.0), Some(INACTIVE_ID));
}

#[tokio::test]
async fn sender_mismatch_flagged() {
    let (app, _, _) = start().await;

    let response = app.send_sms(STRANGER_PHONE, BOOKING, None).await;
    app.wait_idle().await;

    assert_stored_ok("sender mismatch", &response);
    let handled = handling(&app, last_inbound(&app).await.id).await;
    let reply = format!("This phone is not registered for agent id {AGENT_ID}. Send from your registered phone.");
    assert_flagged("sender mismatch", &handled, "sender_mismatch", STRANGER_PHONE, &reply);
    assert_eq!(handled.flags[0].agent_id.map(|id| id.0), Some(AGENT_ID));
    assert!(
        !handled.flags[0].detail.contains(STRANGER_PHONE),
        "the flag detail must mask the sender: {}",
        handled.flags[0].detail
    );
}

#[tokio::test]
async fn unencoded_plus_sender_books() {
    let (app, _, slot_date) = start().await;

    let response = app
        .send_raw_query(&format!("token={TOKEN}&from=+919812345678&to=5676791&text=12+ANC+Seema+Devi+9876543210"))
        .await;
    app.wait_idle().await;

    assert_stored_ok("unencoded plus", &response);
    let inbound = last_inbound(&app).await;
    assert_eq!(inbound.sender, AGENT_PHONE, "a '+' that arrived as a space is restored");
    assert_eq!(inbound.text, BOOKING);
    let handled = handling(&app, inbound.id).await;
    assert_eq!(handled.tasks.len(), 1, "flags {:?}", handled.flags);
    let agent_reply = handled.replies.iter().find(|message| message.recipient == AGENT_PHONE).expect("agent reply");
    assert_eq!(agent_reply.text, booked_text(BENEFICIARY_NAME, slot_date));
}

#[tokio::test]
async fn non_phone_sender_flagged_without_reply() {
    let (app, _, _) = start().await;

    let response = app.send_sms("VM-ALERTS", BOOKING, None).await;
    app.wait_idle().await;

    assert_stored_ok("non-phone sender", &response);
    let handled = handling(&app, last_inbound(&app).await.id).await;
    assert_eq!(handled.inbound.sender, "VM-ALERTS");
    assert_eq!(handled.inbound.status, "processed");
    assert_eq!(handled.flags.len(), 1);
    assert_eq!(handled.flags[0].reason, "sender_mismatch");
    assert!(handled.tasks.is_empty());
    assert!(handled.replies.is_empty(), "no SMS can go to a sender that is not a phone: {:?}", handled.replies);
}

#[tokio::test]
async fn format_errors_flagged() {
    let (app, _, _) = start().await;
    let cases = [
        (
            "unknown case code",
            "12 XYZ Seema 9876543210",
            "unknown_case_type",
            "Case code XYZ is unknown. Did you mean ANC? Send again with the right code.".to_owned(),
        ),
        (
            "short phone",
            "12 ANC Seema 12345",
            "invalid_format",
            format!("Phone \"12345\" is wrong: use 10 digits starting 6-9. {USAGE}"),
        ),
        ("missing name", "12 ANC 9876543210", "invalid_format", format!("name is missing. {USAGE}")),
        ("missing phone", "12 ANC Seema", "invalid_format", format!("phone is missing. {USAGE}")),
        ("word as agent id", "hello", "invalid_format", format!("agent id \"hello\" is wrong. {USAGE}")),
        (
            "unknown facility",
            "12 ANC Seema 9876543210 XYZ",
            "unknown_facility",
            "Facility code XYZ is unknown. Use one of WGL or leave it out.".to_owned(),
        ),
        (
            "text after facility",
            "12 ANC Seema 9876543210 WGL please",
            "invalid_format",
            format!("Extra text \"please\" at the end. {USAGE}"),
        ),
        (
            "follow-up with unknown tracking id",
            "-1 SC 9876543210 Seema 123459",
            "unknown_tracking_id",
            "Tracking id 123459 is not known. Check the id in the follow-up SMS.".to_owned(),
        ),
        (
            "follow-up with wrong check digit",
            "-1 SC 9876543210 Seema 123456",
            "invalid_tracking_id",
            "Tracking id 123456 has a typing mistake. Check the digits and send again.".to_owned(),
        ),
    ];

    for (case, text, reason, reply) in &cases {
        let response = app.send_sms(AGENT_PHONE, text, None).await;
        app.wait_idle().await;

        assert_stored_ok(case, &response);
        let inbound = last_inbound(&app).await;
        assert_eq!(inbound.text, *text, "{case}: stored text");
        assert_flagged(case, &handling(&app, inbound.id).await, reason, AGENT_PHONE, reply);
    }
    assert_eq!(app.inbound_all().await.len(), cases.len());
    assert!(app.tasks().await.is_empty());
}

#[tokio::test]
async fn repeated_id_stored_as_duplicate() {
    let (app, seeded, _) = start().await;

    let first = app.send_sms(AGENT_PHONE, BOOKING, Some("kannel-7")).await;
    app.wait_idle().await;
    let second = app.send_sms(AGENT_PHONE, BOOKING, Some("kannel-7")).await;
    let third = app.send_sms(AGENT_PHONE, "12 ANC Kavita 9876543211", Some("kannel-7")).await;
    app.wait_idle().await;

    assert_stored_ok("first delivery", &first);
    assert_stored_ok("second delivery", &second);
    assert_stored_ok("third delivery with other text", &third);
    let inbound = app.inbound_all().await;
    assert_eq!(inbound.len(), 3, "every delivery is stored");
    assert_eq!(inbound[0].status, "processed");
    for repeat in &inbound[1..] {
        assert_eq!(repeat.status, "duplicate", "message {}", repeat.id);
        assert_eq!(repeat.outcome.as_deref(), Some("duplicate"), "message {}", repeat.id);
        assert_eq!(repeat.duplicate_of, Some(inbound[0].id), "message {}", repeat.id);
    }
    assert_eq!(app.tasks().await.len(), 1, "a repeat books nothing");
    assert!(app.flags().await.is_empty());
    assert_eq!(app.outbound().await.len(), 2, "a repeat sends nothing");
    assert_eq!(app.slot(seeded.slot_id).await.booked, 1);
}

#[tokio::test]
async fn repeated_id_concurrent_books_once() {
    let (app, seeded, _) = start().await;
    let app = std::sync::Arc::new(app);

    let mut requests = JoinSet::new();
    for _ in 0..10 {
        let app = app.clone();
        requests.spawn(async move { app.send_sms(AGENT_PHONE, BOOKING, Some("kannel-race")).await });
    }
    while let Some(response) = requests.join_next().await {
        assert_stored_ok("concurrent repeat", &response.expect("request task"));
    }
    app.wait_idle().await;

    let inbound = app.inbound_all().await;
    assert_eq!(inbound.len(), 10, "every delivery is stored");
    let originals: Vec<_> = inbound.iter().filter(|message| message.duplicate_of.is_none()).collect();
    assert_eq!(originals.len(), 1, "exactly one delivery is the original");
    assert_eq!(originals[0].status, "processed");
    assert_eq!(inbound.iter().filter(|message| message.status == "duplicate").count(), 9);
    assert_eq!(app.tasks().await.len(), 1);
    assert_eq!(app.slot(seeded.slot_id).await.booked, 1);
}

#[tokio::test]
async fn repeated_text_in_window_duplicate() {
    let (app, _, _) = start().await;

    let first = app.send_sms(AGENT_PHONE, BOOKING, None).await;
    app.wait_idle().await;
    let second = app.send_sms(AGENT_PHONE, BOOKING, None).await;
    let other_sender = app.send_sms(STRANGER_PHONE, BOOKING, None).await;
    app.wait_idle().await;

    assert_stored_ok("first", &first);
    assert_stored_ok("second", &second);
    assert_stored_ok("same text from another sender", &other_sender);
    let inbound = app.inbound_all().await;
    assert_eq!(inbound.len(), 3);
    assert_eq!(inbound[1].status, "duplicate");
    assert_eq!(inbound[1].duplicate_of, Some(inbound[0].id));
    assert_eq!(inbound[2].status, "processed", "the same text from another sender is no repeat");
    assert_eq!(app.tasks().await.len(), 1);
    let flags = app.flags().await;
    assert_eq!(flags.len(), 1);
    assert_eq!(flags[0].reason, "sender_mismatch");
}

#[tokio::test]
async fn repeated_text_after_window_processed() {
    let mut config = TestConfig::new();
    config.settings.sms.duplicate_text_window_secs = 300;
    let clock = config.use_virtual_clock(virtual_start());
    let slot_date = days_after(config.today(), 2);
    config.seed(&fixture(slot_date));
    let app = TestApp::spawn(config).await;
    // A text that is flagged every time it is processed, so the result does
    // not depend on the rules for booking the same beneficiary twice.
    let text = "12 XYZ Seema 9876543210";

    app.send_sms(AGENT_PHONE, text, None).await;
    app.wait_idle().await;
    clock.advance(chrono::Duration::seconds(300));
    app.send_sms(AGENT_PHONE, text, None).await;
    app.wait_idle().await;
    clock.advance(chrono::Duration::seconds(1));
    app.send_sms(AGENT_PHONE, text, None).await;
    app.wait_idle().await;

    let inbound = app.inbound_all().await;
    assert_eq!(inbound.len(), 3);
    assert_eq!(inbound[0].status, "processed");
    assert_eq!(inbound[1].status, "duplicate", "300 s later is still inside the window");
    assert_eq!(inbound[1].duplicate_of, Some(inbound[0].id));
    assert_eq!(inbound[2].status, "processed", "301 s later is outside the window");
    assert_eq!(inbound[2].duplicate_of, None);
    let flagged: Vec<Option<InboundId>> = app.flags().await.iter().map(|flag| flag.inbound_message_id).collect();
    assert_eq!(flagged, vec![Some(inbound[0].id), Some(inbound[2].id)], "the repeat inside the window is not flagged");
    assert_eq!(app.outbound().await.len(), 2, "the repeat inside the window gets no reply");
}

#[tokio::test]
async fn concurrent_bookings_fill_capacity() {
    let config = TestConfig::new();
    let slot_date = days_after(config.today(), 2);
    let agents: Vec<(i32, String)> = (101..=140).map(|id| (id, format!("+9198100{id:05}"))).collect();
    let fixture =
        agents.iter().fold(Fixture::new(slot_date).capacity(10), |fixture, (id, phone)| fixture.agent(*id, phone));
    let seeded = config.seed(&fixture);
    let app = std::sync::Arc::new(TestApp::spawn(config).await);

    let mut requests = JoinSet::new();
    for (id, phone) in agents.clone() {
        let app = app.clone();
        requests.spawn(async move {
            let text = format!("{id} ANC Seema Devi 98700{id:05}");
            app.send_sms(&phone, &text, Some(&format!("race-{id}"))).await
        });
    }
    while let Some(response) = requests.join_next().await {
        assert_stored_ok("racing booking", &response.expect("request task"));
    }
    app.wait_idle().await;

    let tasks = app.tasks().await;
    assert_eq!(tasks.len(), 10, "exactly the capacity is booked");
    assert_eq!(app.slot(seeded.slot_id).await.booked, 10);
    let flags = app.flags().await;
    assert_eq!(flags.len(), 30);
    assert!(flags.iter().all(|flag| flag.reason == "no_free_slot"), "reasons: {flags:?}");
    let inbound = app.inbound_all().await;
    assert_eq!(inbound.len(), 40);
    assert!(inbound.iter().all(|message| message.status == "processed"), "statuses: {inbound:?}");
    assert_eq!(inbound.iter().filter(|message| message.outcome.as_deref() == Some("booked")).count(), 10);

    let booked_agents: HashSet<i32> = tasks.iter().map(|task| task.agent_id.0).collect();
    assert_eq!(booked_agents.len(), 10, "no agent books twice");
    let flagged_agents: HashSet<i32> = flags.iter().filter_map(|flag| flag.agent_id.map(|id| id.0)).collect();
    assert_eq!(flagged_agents.len(), 30);
    assert!(booked_agents.is_disjoint(&flagged_agents));

    let outbound = app.outbound().await;
    let mut per_recipient: HashMap<&str, Vec<&str>> = HashMap::new();
    for message in &outbound {
        per_recipient.entry(message.recipient.as_str()).or_default().push(message.text.as_str());
    }
    let booked = booked_text(BENEFICIARY_NAME, slot_date);
    let no_slot = "No free ANC slot at your facilities. An officer will book Seema Devi and tell you.";
    for (id, phone) in &agents {
        let replies = per_recipient.get(phone.as_str()).cloned().unwrap_or_default();
        let expected = if booked_agents.contains(id) { booked.as_str() } else { no_slot };
        assert_eq!(replies, vec![expected], "replies to agent {id}");
    }
    assert_eq!(outbound.len(), 50, "40 agent replies and 10 patient SMS");
    assert!(outbound.iter().all(|message| message.status == "sent"));
    assert_eq!(app.config.provider.sent().len(), 50);
}

#[tokio::test]
async fn restart_processes_stored_messages() {
    let config = TestConfig::new();
    let slot_date = days_after(config.today(), 2);
    let seeded = config.seed(&fixture(slot_date));
    let app = TestApp::spawn(config).await;
    app.send_sms(AGENT_PHONE, BOOKING, Some("before-crash")).await;
    app.wait_idle().await;
    let config = app.stop().await;

    // A crash right after the webhook responded leaves stored messages that
    // no actor has processed yet.
    let database = config.open_database();
    let mut connection = database.connection().expect("database connection");
    let mut stored = Vec::new();
    for (id, text) in [("stored-1", "12 ANC Kavita 9876543211"), ("stored-2", "12 ANC Rupa 9876543212")] {
        let arrival = Arrival {
            channel: "sms",
            provider_message_id: Some(id.to_owned()),
            sender: AGENT_PHONE.to_owned(),
            recipient: config.settings.sms.vmn.clone(),
            text: text.to_owned(),
        };
        stored.push(
            store_arrival(&mut connection, &config.settings.sms, &arrival, config.clock.now_naive()).expect("store"),
        );
    }
    drop(connection);
    let app = TestApp::spawn(config).await;
    app.wait_idle().await;

    for message in &stored {
        let handled = handling(&app, message.id).await;
        assert_eq!(handled.inbound.status, "processed", "message {}", message.id);
        assert_eq!(handled.tasks.len(), 1, "message {}: flags {:?}", message.id, handled.flags);
        assert_eq!(handled.replies.len(), 2, "message {}", message.id);
    }
    let names: Vec<String> = app.tasks().await.into_iter().map(|task| task.beneficiary_name).collect();
    assert_eq!(names, ["Seema Devi", "Kavita", "Rupa"], "the message booked before the crash is not booked again");
    assert_eq!(app.slot(seeded.slot_id).await.booked, 3);
    assert_eq!(app.config.provider.sent().len(), 6);
}

#[tokio::test]
async fn restart_sends_in_flight_message() {
    let config = TestConfig::new();
    let app = TestApp::spawn(config).await;
    let config = app.stop().await;

    // A message that was handed to the provider when the server died has
    // the status `sending` and one counted attempt.
    let now = config.clock.now_naive();
    let database = config.open_database();
    let mut connection = database.connection().expect("database connection");
    let text = "Kavita visit Wagle HP, Road 16, Wagle Estate, Thane on 04-03-2026 at 10:00 for ANC";
    let id = OutboundMessage::enqueue(
        &mut connection,
        &NewOutboundMessage {
            channel: "sms",
            recipient: BENEFICIARY_PHONE,
            text,
            template_id: "patient-appointment",
            language: "en",
            status: "sending",
            attempts: 1,
            next_attempt_at: now,
            task_id: None,
            inbound_message_id: None,
            created_at: now,
            updated_at: now,
        },
    )
    .expect("insert in-flight message");
    drop(connection);
    let app = TestApp::spawn(config).await;
    app.wait_idle().await;

    let message = app.db(move |connection| OutboundMessage::find(connection, id)).await.expect("message exists");
    assert_eq!(message.status, "sent");
    assert_eq!(message.attempts, 2, "the attempt after the restart is counted");
    let sent = app.config.provider.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to.as_str(), BENEFICIARY_PHONE);
    assert_eq!(sent[0].text, text);
}

/// Starts an application on a virtual clock and books one appointment. The
/// agent confirmation is off, so the patient's SMS is the only one the
/// outbox sends and the planned provider failures all hit it.
async fn start_with_one_sms(failures: Vec<SendError>) -> (TestApp, sandesh::clock::VirtualClock, NaiveDate) {
    let mut config = TestConfig::new();
    config.settings.booking.confirm_to_agent = false;
    config.settings.outbox.max_attempts = 3;
    config.settings.outbox.backoff_initial_secs = 30;
    config.settings.outbox.backoff_max_secs = 3_600;
    let clock = config.use_virtual_clock(virtual_start());
    let slot_date = days_after(config.today(), 2);
    config.seed(&fixture(slot_date));
    config.provider.fail_next(failures);
    let app = TestApp::spawn(config).await;

    assert_stored_ok("booking", &app.send_sms(AGENT_PHONE, BOOKING, None).await);
    app.wait_idle().await;
    (app, clock, slot_date)
}

async fn only_outbound(app: &TestApp) -> OutboundMessage {
    let mut outbound = app.outbound().await;
    assert_eq!(outbound.len(), 1, "outbound: {outbound:?}");
    outbound.remove(0)
}

/// Lets the outbox poll several times at the current virtual time.
async fn let_outbox_poll() {
    tokio::time::sleep(Duration::from_millis(common::OUTBOX_POLL_MS * 10)).await;
}

#[tokio::test]
async fn outbox_retries_temporary_failure() {
    let (app, clock, slot_date) = start_with_one_sms(vec![SendError::Temporary("gateway timed out".into())]).await;
    let start = virtual_start().naive_utc();

    let first = only_outbound(&app).await;
    assert_eq!(first.status, "queued", "a temporary failure puts the message back in the queue");
    assert_eq!(first.attempts, 1);
    assert_eq!(first.last_error.as_deref(), Some("gateway timed out"));
    assert_eq!(first.next_attempt_at, start + chrono::Duration::seconds(30), "first backoff is 30 s");
    assert!(app.config.provider.sent().is_empty());

    clock.advance(chrono::Duration::seconds(29));
    let_outbox_poll().await;
    let waiting = only_outbound(&app).await;
    assert_eq!(waiting.status, "queued", "no retry before the backoff has passed");
    assert_eq!(waiting.attempts, 1);

    clock.advance(chrono::Duration::seconds(1));
    app.wait_idle().await;
    let sent = only_outbound(&app).await;
    assert_eq!(sent.status, "sent");
    assert_eq!(sent.attempts, 2);
    assert_eq!(sent.last_error, None, "a successful attempt clears the error");
    assert_eq!(sent.provider_message_id, Some(format!("memory-{}", sent.id)));
    let delivered = app.config.provider.sent();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].text, patient_text(BENEFICIARY_NAME, slot_date));
}

#[tokio::test]
async fn outbox_fails_after_max_attempts() {
    let error = "HTTP 503 from the gateway";
    let failures = vec![SendError::Temporary(error.into()); 4];
    let (app, clock, _) = start_with_one_sms(failures).await;
    let start = virtual_start().naive_utc();

    let first = only_outbound(&app).await;
    assert_eq!((first.status.as_str(), first.attempts), ("queued", 1));
    assert_eq!(first.next_attempt_at, start + chrono::Duration::seconds(30));

    clock.advance(chrono::Duration::seconds(30));
    app.wait_idle().await;
    let second = only_outbound(&app).await;
    assert_eq!((second.status.as_str(), second.attempts), ("queued", 2));
    assert_eq!(second.next_attempt_at, start + chrono::Duration::seconds(90), "second backoff is 60 s");

    clock.advance(chrono::Duration::seconds(60));
    app.wait_idle().await;
    let last = only_outbound(&app).await;
    assert_eq!(last.status, "failed", "outbox.max_attempts is 3");
    assert_eq!(last.attempts, 3);
    assert_eq!(last.last_error, Some(format!("{error} (gave up after 3 attempts)")));

    clock.advance(chrono::Duration::hours(2));
    let_outbox_poll().await;
    let after = only_outbound(&app).await;
    assert_eq!((after.status.as_str(), after.attempts), ("failed", 3), "a failed message is not tried again");
    assert!(app.config.provider.sent().is_empty());
}

#[tokio::test]
async fn outbox_permanent_failure_not_retried() {
    let error = "number is on the do-not-disturb list";
    let (app, clock, _) = start_with_one_sms(vec![SendError::Permanent(error.into())]).await;

    clock.advance(chrono::Duration::hours(1));
    let_outbox_poll().await;

    let message = only_outbound(&app).await;
    assert_eq!(message.status, "failed");
    assert_eq!(message.attempts, 1);
    assert_eq!(message.last_error.as_deref(), Some(error));
    assert!(app.config.provider.sent().is_empty());
}
