//! Test harness: starts the real application on a loopback port 0 against a
//! fresh SQLite file, with an in-memory SMS provider, and offers helpers to
//! call the webhook, wait for the engine and read the stored rows.
//!
//! The application runs in its own thread with its own actix system, like a
//! separate server process. [`TestApp::stop`] ends that system, which drops
//! every actor without any shutdown work, so a later [`TestApp::spawn`] on
//! the same [`TestConfig`] behaves like a restart after a crash.
//!
//! `benches/webhook.rs` includes this module too. The server thread and
//! the helpers that other harnesses share are in [`server`].

#![allow(dead_code, reason = "each test or bench target that includes this module uses a different subset of it")]

pub mod server;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Days, NaiveDate, NaiveDateTime, NaiveTime, TimeZone as _, Utc};
use chrono_tz::Tz;
use diesel::prelude::*;

use sandesh::channels::memory::MemoryProvider;
use sandesh::clock::{SharedClock, SystemClock, VirtualClock};
use sandesh::config::Settings;
use sandesh::db::flags::FlaggedMessage;
use sandesh::db::ids::{AgentId, CaseTypeId, FacilityId, InboundId, SlotId, SlotSeriesId};
use sandesh::db::inbound::InboundMessage;
use sandesh::db::organisation::{
    Agent, CaseType, Corporation, Facility, NewAgent, NewCaseType, NewCorporation, NewFacility,
};
use sandesh::db::outbound::OutboundMessage;
use sandesh::db::schema::{inbound_messages, slots};
use sandesh::db::slots::{NewSlotSeries, Recurrence, Slot, SlotSeries};
use sandesh::db::tasks::Task;
use sandesh::db::{write_transaction, Database, DbConnection};
use sandesh::engine::Engine;
use sandesh::startup::AppOptions;

use server::{run_db, wait_until, webhook_settings, ServerThread, POLL_INTERVAL};
#[allow(unused_imports, reason = "each test or bench target uses a different subset of this module")]
pub use server::{virtual_start, OUTBOX_POLL_MS, WAIT_TIMEOUT};

/// The shared secret the test webhook requires.
pub const TOKEN: &str = "test-inbound-token";

/// Settings, clock and provider of one test application, and the temporary
/// folder that holds its database. Clones share the folder, the clock and
/// the provider's record, so an application started again from a clone
/// reopens the same database file.
#[derive(Debug, Clone)]
pub struct TestConfig {
    pub settings: Settings,
    pub clock: SharedClock,
    pub provider: MemoryProvider,
    directory: Arc<tempfile::TempDir>,
}

impl TestConfig {
    /// Default settings (from `Settings::load(None)`, so `SANDESH__…`
    /// variables apply) adjusted for tests, with a database in a new
    /// temporary folder and the system clock.
    pub fn new() -> Self {
        Self::with_directory(tempfile::tempdir().expect("create a temporary folder"))
    }

    /// Like [`TestConfig::new`] with the temporary folder created inside
    /// `parent`, for example to measure a particular disk.
    pub fn new_in(parent: &Path) -> Self {
        Self::with_directory(tempfile::tempdir_in(parent).expect("create a temporary folder"))
    }

    fn with_directory(directory: tempfile::TempDir) -> Self {
        let settings = webhook_settings(directory.path(), TOKEN);
        Self { settings, clock: Arc::new(SystemClock), provider: MemoryProvider::new(), directory: Arc::new(directory) }
    }

    /// Switches to a virtual clock starting at `start` and returns it, so
    /// the test can move time.
    pub fn use_virtual_clock(&mut self, start: DateTime<Utc>) -> VirtualClock {
        let clock = VirtualClock::new(start);
        self.clock = Arc::new(clock.clone());
        clock
    }

    pub fn database_path(&self) -> std::path::PathBuf {
        self.settings.database_path()
    }

    /// Opens the database file (running migrations) for work before the
    /// application starts or after it stopped.
    pub fn open_database(&self) -> Database {
        Database::open(&self.settings.database).expect("open the test database")
    }

    pub fn zone(&self) -> Tz {
        self.settings.zone()
    }

    /// Returns today's date in the business time zone by this config's clock.
    pub fn today(&self) -> NaiveDate {
        self.zone().from_utc_datetime(&self.clock.now_naive()).date_naive()
    }

    /// Inserts `fixture` through a connection of its own; for use before
    /// the application starts.
    pub fn seed(&self, fixture: &Fixture) -> Seeded {
        let database = self.open_database();
        let mut connection = database.connection().expect("database connection");
        fixture.insert(&mut connection, self.zone(), self.clock.now_naive()).expect("insert fixture")
    }
}

impl Default for TestConfig {
    fn default() -> Self {
        Self::new()
    }
}

/// The HTTP status and body of a webhook call.
#[derive(Debug, Clone)]
pub struct WebhookResponse {
    pub status: reqwest::StatusCode,
    pub body: String,
}

/// A running application.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    pub port: u16,
    pub engine: Engine,
    pub config: TestConfig,
    client: reqwest::Client,
    server: Option<ServerThread>,
}

impl TestApp {
    /// Builds the application with `Application::build` on port 0 and
    /// serves it from a new thread. Messages left unprocessed in the
    /// database are dispatched before this returns.
    pub async fn spawn(config: TestConfig) -> Self {
        let options =
            AppOptions { clock: config.clock.clone(), provider: Some(Arc::new(config.provider.clone())), demo: false };
        let server = ServerThread::start("sandesh-app", config.settings.clone(), options).await;

        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(64)
            .build()
            .expect("HTTP client builds");
        Self {
            address: server.address(),
            port: server.port,
            engine: server.core.engine.clone(),
            config,
            client,
            server: Some(server),
        }
    }

    /// Stops the HTTP server and drops every actor at once, as a crash
    /// would, and returns the config to start the application again on the
    /// same database file.
    pub async fn stop(mut self) -> TestConfig {
        if let Some(server) = self.server.take() {
            server.stop().await;
        }
        self.config.clone()
    }

    /// Sends an SMS through the webhook with the token, `from`, `to` (the
    /// configured VMN), `text` and, if given, the provider's message `id`,
    /// form-encoded as Kannel does.
    pub async fn send_sms(&self, from: &str, text: &str, id: Option<&str>) -> WebhookResponse {
        let sms = &self.config.settings.sms;
        let mut params = vec![
            (sms.token_param.as_str(), TOKEN),
            (sms.from_param.as_str(), from),
            (sms.to_param.as_str(), sms.vmn.as_str()),
            (sms.text_param.as_str(), text),
        ];
        if let Some(id) = id {
            params.push((sms.id_param.as_str(), id));
        }
        self.send_params(&params).await
    }

    /// Sends exactly these query parameters, form-encoded; nothing is added.
    pub async fn send_params(&self, params: &[(&str, &str)]) -> WebhookResponse {
        let request = self.client.get(format!("{}/sms/inbound", self.address)).query(params);
        Self::finish(request).await
    }

    /// Sends `query` as the query string exactly as written, so tests can
    /// send bytes a form encoder would escape, such as `%FF` or a bare `+`.
    pub async fn send_raw_query(&self, query: &str) -> WebhookResponse {
        let request = self.client.get(format!("{}/sms/inbound?{query}", self.address));
        Self::finish(request).await
    }

    async fn finish(request: reqwest::RequestBuilder) -> WebhookResponse {
        let response = request.send().await.expect("webhook request");
        let status = response.status();
        let body = response.text().await.expect("webhook response body");
        WebhookResponse { status, body }
    }

    /// Runs `work` on a pooled connection of the application's database.
    pub async fn db<T, F>(&self, work: F) -> T
    where
        F: FnOnce(&mut DbConnection) -> QueryResult<T> + Send + 'static,
        T: Send + 'static,
    {
        run_db(&self.engine, work).await
    }

    /// Waits until no inbound message waits for processing and no outbound
    /// message is due or being sent, by the application's clock. Fails the
    /// test after [`WAIT_TIMEOUT`].
    pub async fn wait_idle(&self) {
        let started = Instant::now();
        loop {
            let clock = self.config.clock.clone();
            let (pending, due) = self
                .db(move |connection| {
                    let pending = InboundMessage::count_pending(connection)?;
                    // Processing queues replies due at the clock reading it
                    // took before its commit, so the clock is read only after
                    // the pending count has seen that commit.
                    let now = clock.now_naive();
                    Ok((pending, OutboundMessage::count_due(connection, now)?))
                })
                .await;
            if pending == 0 && due == 0 {
                return;
            }
            assert!(
                started.elapsed() < WAIT_TIMEOUT,
                "engine still busy after {WAIT_TIMEOUT:?}: {pending} inbound messages pending, {due} outbound due"
            );
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Waits until `condition` holds for the stored rows; fails the test
    /// with `what` after [`WAIT_TIMEOUT`].
    pub async fn wait_until<F>(&self, what: &str, condition: F)
    where
        F: Fn(&mut DbConnection) -> QueryResult<bool> + Send + Sync + Clone + 'static,
    {
        wait_until(&self.engine, what, condition).await;
    }

    pub async fn tasks(&self) -> Vec<Task> {
        self.db(Task::all).await
    }

    pub async fn flags(&self) -> Vec<FlaggedMessage> {
        self.db(FlaggedMessage::all).await
    }

    pub async fn outbound(&self) -> Vec<OutboundMessage> {
        self.db(OutboundMessage::all).await
    }

    pub async fn inbound(&self, id: InboundId) -> InboundMessage {
        self.db(move |connection| InboundMessage::find(connection, id))
            .await
            .unwrap_or_else(|| panic!("inbound message {id} not found"))
    }

    /// Loads all inbound messages in arrival order.
    pub async fn inbound_all(&self) -> Vec<InboundMessage> {
        self.db(|connection| {
            inbound_messages::table
                .order(inbound_messages::id.asc())
                .select(InboundMessage::as_select())
                .load(connection)
        })
        .await
    }

    pub async fn slot(&self, id: SlotId) -> Slot {
        self.db(move |connection| Slot::find(connection, id)).await
    }

    /// Inserts `fixture` into the running application's database.
    pub async fn seed(&self, fixture: Fixture) -> Seeded {
        let zone = self.config.zone();
        let now = self.config.clock.now_naive();
        self.db(move |connection| fixture.insert(connection, zone, now)).await
    }
}

/// An agent to create in a [`Fixture`].
#[derive(Debug, Clone)]
pub struct AgentSpec {
    pub id: i32,
    pub name: String,
    /// E.164.
    pub phone: String,
    /// `en`, `hi` or `mr`.
    pub language: String,
    pub active: bool,
}

/// Custom booking data: one corporation, one facility, one case type, the
/// agents (all assigned to the facility) and one slot series with a single
/// slot of the given capacity.
#[derive(Debug, Clone)]
pub struct Fixture {
    pub facility_name: String,
    pub facility_code: String,
    pub facility_address: String,
    pub case_code: String,
    pub agents: Vec<AgentSpec>,
    /// Local date of the slot in the business time zone.
    pub slot_date: NaiveDate,
    /// Local start time of the slot.
    pub slot_time: NaiveTime,
    pub capacity: i32,
}

/// Ids of what [`Fixture::insert`] created.
#[derive(Debug, Clone)]
pub struct Seeded {
    pub facility_id: FacilityId,
    pub case_type_id: CaseTypeId,
    pub series_id: SlotSeriesId,
    pub slot_id: SlotId,
}

/// The facility and case type a new fixture creates.
pub const FACILITY_NAME: &str = "Wagle HP";
pub const FACILITY_CODE: &str = "WGL";
pub const FACILITY_ADDRESS: &str = "Road 16, Wagle Estate, Thane";
pub const CASE_CODE: &str = "ANC";

impl Fixture {
    /// Returns a fixture without agents whose slot is at 10:00 local time
    /// on `slot_date`, with capacity 10.
    pub fn new(slot_date: NaiveDate) -> Self {
        Self {
            facility_name: FACILITY_NAME.into(),
            facility_code: FACILITY_CODE.into(),
            facility_address: FACILITY_ADDRESS.into(),
            case_code: CASE_CODE.into(),
            agents: Vec::new(),
            slot_date,
            slot_time: NaiveTime::from_hms_opt(10, 0, 0).expect("valid time"),
            capacity: 10,
        }
    }

    /// Adds an active agent who reads English.
    pub fn agent(mut self, id: i32, phone: &str) -> Self {
        self.agents.push(AgentSpec {
            id,
            name: format!("Agent {id}"),
            phone: phone.into(),
            language: "en".into(),
            active: true,
        });
        self
    }

    /// Adds an agent whose active flag is off.
    pub fn inactive_agent(mut self, id: i32, phone: &str) -> Self {
        self = self.agent(id, phone);
        if let Some(last) = self.agents.last_mut() {
            last.active = false;
        }
        self
    }

    pub fn capacity(mut self, capacity: i32) -> Self {
        self.capacity = capacity;
        self
    }

    /// Creates the fixture's rows in one write transaction.
    pub fn insert(&self, connection: &mut DbConnection, zone: Tz, now: NaiveDateTime) -> QueryResult<Seeded> {
        write_transaction(connection, |connection| {
            let corporation = Corporation::insert(
                connection,
                &NewCorporation {
                    name: "Thane Municipal Corporation",
                    address: "Panchpakhadi, Thane West",
                    area: "Thane",
                    created_at: now,
                },
            )?;
            let facility = Facility::insert(
                connection,
                &NewFacility {
                    corporation_id: corporation.id,
                    name: &self.facility_name,
                    code: &self.facility_code,
                    address: &self.facility_address,
                    created_at: now,
                },
            )?;
            let case_type = CaseType::insert(
                connection,
                &NewCaseType {
                    code: &self.case_code,
                    name: "Antenatal care",
                    description: "Check-up during pregnancy",
                    created_at: now,
                },
            )?;
            for agent in &self.agents {
                Agent::insert(
                    connection,
                    &NewAgent {
                        id: AgentId(agent.id),
                        name: &agent.name,
                        phone: &agent.phone,
                        language: &agent.language,
                        active: agent.active,
                        created_at: now,
                    },
                )?;
                Agent::assign_facility(connection, AgentId(agent.id), facility.id)?;
            }

            let series = SlotSeries::insert(
                connection,
                &NewSlotSeries {
                    facility_id: facility.id,
                    case_type_id: case_type.id,
                    first_date: self.slot_date,
                    start_time: self.slot_time,
                    capacity: self.capacity,
                    recurrence: Recurrence::Never.as_str(),
                    end_date: None,
                    occurrences: None,
                    created_at: now,
                },
            )?;
            series.materialise(connection, zone, self.slot_date, now)?;
            let slot_id =
                slots::table.filter(slots::series_id.eq(series.id)).select(slots::id).first::<SlotId>(connection)?;
            Ok(Seeded { facility_id: facility.id, case_type_id: case_type.id, series_id: series.id, slot_id })
        })
    }
}

/// Returns the local date `days` after `today`.
pub fn days_after(today: NaiveDate, days: u64) -> NaiveDate {
    today.checked_add_days(Days::new(days)).expect("date in range")
}
