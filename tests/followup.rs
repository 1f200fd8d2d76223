//! The follow-up loop through the real engine and actors: booking, the
//! evening follow-up, SC and RS replies, escalation and two schedulers on
//! one database.

use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveDate, TimeZone as _};
use sandesh::actors::registry::Dispatch;
use sandesh::actors::scheduler::RunNow;
use sandesh::booking::intake::Arrival;
use sandesh::channels::memory::MemoryProvider;
use sandesh::clock::VirtualClock;
use sandesh::config::Settings;
use sandesh::db::flags::FlaggedMessage;
use sandesh::db::followups::FollowUp;
use sandesh::db::inbound::InboundMessage;
use sandesh::db::outbound::OutboundMessage;
use sandesh::db::tasks::Task;
use sandesh::db::DbError;
use sandesh::startup::{AppOptions, Core};

const AGENT_PHONE: &str = "+919812345678";

struct Harness {
    core: Core,
    clock: VirtualClock,
    provider: MemoryProvider,
    _directory: tempfile::TempDir,
}

fn local(date: (i32, u32, u32), time: (u32, u32)) -> chrono::DateTime<chrono::Utc> {
    let naive = NaiveDate::from_ymd_opt(date.0, date.1, date.2)
        .and_then(|day| day.and_hms_opt(time.0, time.1, 0))
        .expect("valid local time");
    chrono_tz::Asia::Kolkata.from_local_datetime(&naive).single().expect("unambiguous").with_timezone(&chrono::Utc)
}

fn settings_for(directory: &tempfile::TempDir) -> Settings {
    let mut settings = Settings::load(None).expect("default settings");
    settings.database.url = directory.path().join("followup.db").display().to_string();
    settings.outbox.poll_interval_ms = 5;
    settings.scheduler.tick_secs = 3_600;
    settings
}

async fn start(start_at: chrono::DateTime<chrono::Utc>) -> Harness {
    let directory = tempfile::tempdir().expect("temporary directory");
    let clock = VirtualClock::new(start_at);
    let provider = MemoryProvider::new();
    let options = AppOptions { clock: Arc::new(clock.clone()), provider: Some(Arc::new(provider.clone())), demo: true };
    let core = Core::start(settings_for(&directory), options).await.expect("core starts");
    Harness { core, clock, provider, _directory: directory }
}

impl Harness {
    async fn sms(&self, from: &str, text: &str) {
        let arrival = Arrival {
            channel: "sms",
            provider_message_id: None,
            sender: from.to_owned(),
            recipient: "5676791".to_owned(),
            text: text.to_owned(),
        };
        let stored = self.core.engine.receive(arrival).await.expect("stored");
        self.core.registry.do_send(Dispatch { id: stored.id, agent_id: stored.agent_id });
        self.settle().await;
    }

    async fn run_scheduler(&self) {
        self.core.scheduler.send(RunNow::default()).await.expect("scheduler alive").expect("run succeeds");
        self.settle().await;
    }

    /// Waits until every stored message is processed and every due SMS sent.
    async fn settle(&self) {
        let now = self.clock.now_naive_for_tests();
        for _ in 0..1_000 {
            let busy = self
                .core
                .engine
                .database
                .run(move |connection| {
                    let pending = InboundMessage::count_pending(connection)?;
                    let due = OutboundMessage::count_due(connection, now)?;
                    Ok::<_, DbError>(pending + due)
                })
                .await
                .expect("count");
            if busy == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("engine did not settle within 5 s");
    }

    async fn query<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut sandesh::db::DbConnection) -> diesel::QueryResult<T> + Send + 'static,
    ) -> T {
        self.core.engine.database.run(move |connection| work(connection).map_err(DbError::from)).await.expect("query")
    }

    fn sent_to(&self, phone: &str) -> Vec<String> {
        self.provider.take_sent().into_iter().filter(|sms| sms.to.as_str() == phone).map(|sms| sms.text).collect()
    }
}

trait NowForTests {
    fn now_naive_for_tests(&self) -> chrono::NaiveDateTime;
}

impl NowForTests for VirtualClock {
    fn now_naive_for_tests(&self) -> chrono::NaiveDateTime {
        use sandesh::clock::Clock as _;
        self.now_naive()
    }
}

fn tracking_id_in(text: &str) -> String {
    let after = text.strip_prefix("Follow-up ").expect("follow-up text");
    after.split(':').next().expect("tracking id").to_owned()
}

#[actix_web::test]
async fn booking_follow_up_and_sc_complete_task() {
    let harness = start(local((2026, 12, 7), (8, 0))).await;
    harness.sms(AGENT_PHONE, "12 ANC Seema Devi 9876543210").await;
    harness.provider.take_sent();

    harness.clock.set(local((2026, 12, 7), (20, 0)));
    harness.run_scheduler().await;
    let follow_ups = harness.sent_to(AGENT_PHONE);
    assert_eq!(follow_ups.len(), 1, "follow-ups: {follow_ups:?}");
    let tracking_id = tracking_id_in(&follow_ups[0]);
    assert_eq!(tracking_id.len(), 6);
    assert_eq!(
        follow_ups[0],
        format!(
            "Follow-up {tracking_id}: did Seema Devi go to Wagle HP on 07-12-2026 10:00 (ANC)? \
             Yes: -1 SC 9876543210 Seema Devi {tracking_id} No: -1 RS 9876543210 Seema Devi {tracking_id}"
        )
    );

    harness.sms(AGENT_PHONE, &format!("-1 SC 9876543210 Seema Devi {tracking_id}")).await;
    let replies = harness.sent_to(AGENT_PHONE);
    assert_eq!(replies, vec!["Recorded: Seema Devi went for ANC. Thank you.".to_owned()]);
    let tasks = harness.query(Task::all).await;
    assert_eq!(tasks[0].status, "completed");

    harness.sms(AGENT_PHONE, &format!("-1 sc 98765 43210 Seema Devi {tracking_id}")).await;
    let repeated = harness.sent_to(AGENT_PHONE);
    assert_eq!(repeated, vec![format!("Already recorded for Seema Devi ({tracking_id}). Nothing changed.")]);

    harness.run_scheduler().await;
    assert!(harness.sent_to(AGENT_PHONE).is_empty(), "a second run sent another follow-up");
}

#[actix_web::test]
async fn rs_rebooks_and_second_follow_up_completes() {
    let harness = start(local((2026, 12, 7), (8, 0))).await;
    harness.sms(AGENT_PHONE, "12 ANC Seema 9876543210").await;
    harness.clock.set(local((2026, 12, 7), (20, 5)));
    harness.run_scheduler().await;
    let first = tracking_id_in(&harness.sent_to(AGENT_PHONE).pop().expect("follow-up"));

    harness.sms(AGENT_PHONE, &format!("-1 RS 9876543210 Seema {first}")).await;
    let patient = harness.sent_to("+919876543210");
    assert_eq!(
        patient,
        vec!["Seema visit Wagle HP, Road 16, Wagle Estate, Thane on 08-12-2026 at 10:00 for ANC".to_owned()]
    );
    let task = harness.query(Task::all).await.remove(0);
    assert_eq!(task.status, "booked");
    assert_eq!(task.reschedule_count, 1);

    harness.clock.set(local((2026, 12, 8), (20, 0)));
    harness.run_scheduler().await;
    let agent_sms = harness.sent_to(AGENT_PHONE);
    let second = tracking_id_in(agent_sms.last().expect("second follow-up"));
    assert_ne!(first, second);
    harness.sms(AGENT_PHONE, &format!("-1 SC 9876543210 Seema {second}")).await;
    assert_eq!(harness.query(Task::all).await[0].status, "completed");
}

#[actix_web::test]
async fn tracking_id_typos_and_swaps_are_caught() {
    let harness = start(local((2026, 12, 7), (8, 0))).await;
    harness.sms(AGENT_PHONE, "12 ANC Seema 9876543210").await;
    harness.clock.set(local((2026, 12, 7), (20, 0)));
    harness.run_scheduler().await;
    let id = tracking_id_in(&harness.sent_to(AGENT_PHONE).pop().expect("follow-up"));

    let mut typo: Vec<char> = id.chars().collect();
    typo[2] = if typo[2] == '9' { '0' } else { char::from(typo[2] as u8 + 1) };
    let typo: String = typo.into_iter().collect();
    harness.sms(AGENT_PHONE, &format!("-1 SC 9876543210 Seema {typo}")).await;
    assert_eq!(
        harness.sent_to(AGENT_PHONE),
        vec![format!("Tracking id {typo} has a typing mistake. Check the digits and send again.")]
    );

    let mut swapped: Vec<char> = id.chars().collect();
    let position = (0..5).find(|i| swapped[*i] != swapped[*i + 1]).expect("two different adjacent digits");
    swapped.swap(position, position + 1);
    let swapped: String = swapped.into_iter().collect();
    harness.sms(AGENT_PHONE, &format!("-1 SC 9876543210 Seema {swapped}")).await;
    assert_eq!(harness.sent_to(AGENT_PHONE).len(), 1);

    let flags = harness.query(FlaggedMessage::all).await;
    let reasons: Vec<&str> = flags.iter().map(|flag| flag.reason.as_str()).collect();
    assert_eq!(reasons, vec!["invalid_tracking_id", "invalid_tracking_id"]);
    assert_eq!(harness.query(Task::all).await[0].status, "follow_up_sent");
}

#[actix_web::test]
async fn other_agents_tracking_id_is_flagged() {
    let harness = start(local((2026, 12, 7), (8, 0))).await;
    harness.sms(AGENT_PHONE, "12 ANC Seema 9876543210").await;
    harness.clock.set(local((2026, 12, 7), (20, 0)));
    harness.run_scheduler().await;
    let id = tracking_id_in(&harness.sent_to(AGENT_PHONE).pop().expect("follow-up"));

    harness.sms("+919812345680", &format!("-1 SC 9876543210 Seema {id}")).await;
    let flags = harness.query(FlaggedMessage::all).await;
    assert_eq!(flags.len(), 1);
    assert_eq!(flags[0].reason, "follow_up_mismatch");
    assert!(flags[0].detail.contains("belongs to a task of agent 12"), "{}", flags[0].detail);
    assert_eq!(harness.query(Task::all).await[0].status, "follow_up_sent");
}

#[actix_web::test]
async fn no_reply_escalates_after_reply_days() {
    let harness = start(local((2026, 12, 7), (8, 0))).await;
    harness.sms(AGENT_PHONE, "12 ANC Seema 9876543210").await;
    harness.clock.set(local((2026, 12, 7), (20, 0)));
    harness.run_scheduler().await;

    harness.clock.set(local((2026, 12, 9), (20, 1)));
    harness.run_scheduler().await;
    let task = harness.query(Task::all).await.remove(0);
    assert_eq!(task.status, "escalated");
    let flags = harness.query(FlaggedMessage::all).await;
    assert_eq!(flags.len(), 1);
    assert_eq!(flags[0].reason, "no_reply");
    assert_eq!(flags[0].task_id, Some(task.id));
}

#[actix_web::test]
async fn missed_evenings_are_caught_up_once() {
    let harness = start(local((2026, 12, 7), (8, 0))).await;
    harness.sms(AGENT_PHONE, "12 ANC Seema 9876543210").await;
    harness.sms(AGENT_PHONE, "12 ANC Asha 9876543211").await;
    // The server was down on the evenings of 7 and 8 December.
    harness.clock.set(local((2026, 12, 9), (9, 0)));
    harness.run_scheduler().await;
    harness.run_scheduler().await;

    let follow_ups = harness.query(FollowUp::all).await;
    assert_eq!(follow_ups.len(), 2);
    let messages = harness.sent_to(AGENT_PHONE);
    assert_eq!(messages.iter().filter(|text| text.starts_with("Follow-up")).count(), 2, "{messages:?}");
}

#[actix_web::test]
async fn interrupted_run_sends_no_duplicates() {
    let harness = start(local((2026, 12, 7), (6, 0))).await;
    for index in 0..5 {
        let name = ["Asha", "Rita", "Mala", "Geeta", "Sita"][index];
        harness.sms(AGENT_PHONE, &format!("12 ANC {name} 98765432{index:02}")).await;
    }
    harness.clock.set(local((2026, 12, 7), (20, 0)));

    // A run that stops after its first batch of two, as a crash would.
    let mut context = harness.core.engine.booking.clone();
    let mut settings = (*context.settings).clone();
    settings.scheduler.batch_size = 2;
    context.settings = Arc::new(settings);
    let now = harness.clock.now_naive_for_tests();
    let first = harness
        .query(move |connection| sandesh::followup::run::send_follow_ups(connection, &context, now, Some(1)))
        .await;
    assert_eq!(first, 2, "the interrupted run handled one batch of two");

    harness.run_scheduler().await;
    harness.run_scheduler().await;
    let follow_ups = harness.query(FollowUp::all).await;
    assert_eq!(follow_ups.len(), 5);
    let texts = harness.sent_to(AGENT_PHONE);
    assert_eq!(texts.iter().filter(|text| text.starts_with("Follow-up")).count(), 5);
}

#[actix_web::test]
async fn two_schedulers_send_each_follow_up_once() {
    let harness = start(local((2026, 12, 7), (6, 0))).await;
    for index in 0..30 {
        harness
            .sms(AGENT_PHONE, &format!("12 ANC Patient {} 98765432{index:02}", ["Asha", "Rita", "Mala"][index % 3]))
            .await;
    }

    // A second server on the same database file, with its own scheduler.
    let second_provider = MemoryProvider::new();
    let options = AppOptions {
        clock: Arc::new(harness.clock.clone()),
        provider: Some(Arc::new(second_provider.clone())),
        demo: false,
    };
    let second = Core::start(settings_for(&harness._directory), options).await.expect("second core");
    harness.clock.set(local((2026, 12, 7), (20, 0)));

    let (first_run, second_run) =
        tokio::join!(harness.core.scheduler.send(RunNow::default()), second.scheduler.send(RunNow::default()));
    let first_count = first_run.expect("alive").expect("run").follow_ups;
    let second_count = second_run.expect("alive").expect("run").follow_ups;
    harness.settle().await;
    tokio::time::sleep(Duration::from_millis(50)).await;

    assert_eq!(first_count + second_count, 30, "{first_count} + {second_count}");
    assert_eq!(harness.query(FollowUp::all).await.len(), 30);
    let outbound = harness.query(OutboundMessage::all).await;
    let follow_up_sms = outbound.iter().filter(|message| message.template_id == "agent-follow-up").count();
    assert_eq!(follow_up_sms, 30);
    let sent: usize = [harness.provider.sent(), second_provider.sent()]
        .iter()
        .map(|sent| sent.iter().filter(|sms| sms.template_id == "agent-follow-up").count())
        .sum();
    assert_eq!(sent, 30, "each follow-up SMS handed to a provider exactly once");
}

#[actix_web::test]
async fn cancelled_slot_moves_bookings_or_flags_them() {
    let harness = start(local((2026, 12, 7), (8, 0))).await;
    harness.sms(AGENT_PHONE, "12 ANC Seema 9876543210 WGL").await;
    harness.sms("+919812345679", "15 DS Rani 9876543299").await;
    harness.provider.take_sent();
    let tasks = harness.query(Task::all).await;
    let (wagle_slot, dharavi_slot) = (tasks[0].slot_id, tasks[1].slot_id);

    let context = harness.core.engine.booking.clone();
    let now = harness.clock.now_naive_for_tests();
    let summary = harness
        .query(move |connection| {
            sandesh::appointments::slots::cancel(connection, &context, wagle_slot, false, now)
                .map_err(|error| diesel::result::Error::QueryBuilderError(error.to_string().into()))
        })
        .await;
    assert_eq!((summary.slots, summary.moved, summary.flagged), (1, 1, 0));
    harness.settle().await;
    let patient = harness.sent_to("+919876543210");
    assert_eq!(
        patient,
        vec!["Changed: Seema visit Wagle HP, Road 16, Wagle Estate, Thane on 07-12-2026 at 14:00 for ANC".to_owned()],
        "a booking that named WGL stays at WGL"
    );

    // Every other Dharavi DS slot is full, so cancelling this one flags the task.
    let context = harness.core.engine.booking.clone();
    let summary = harness
        .query(move |connection| {
            use diesel::prelude::*;
            use sandesh::db::schema::slots;
            diesel::update(slots::table.filter(slots::id.ne(dharavi_slot)))
                .set(slots::booked.eq(slots::capacity))
                .execute(connection)?;
            sandesh::appointments::slots::cancel(connection, &context, dharavi_slot, false, now)
                .map_err(|error| diesel::result::Error::QueryBuilderError(error.to_string().into()))
        })
        .await;
    assert_eq!((summary.moved, summary.flagged), (0, 1));
    let flags = harness.query(FlaggedMessage::all).await;
    assert_eq!(flags.last().map(|flag| flag.reason.as_str()), Some("no_free_slot"));
    assert_eq!(harness.query(Task::all).await[1].status, "escalated");
}
