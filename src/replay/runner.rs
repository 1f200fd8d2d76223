//! Runs one parsed scenario against the real engine. Each run gets a fresh
//! SQLite file and its own actix system, in which `Core::start` runs with a
//! virtual clock and the in-memory SMS provider. Inbound SMS are injected
//! the way the webhook injects them, and every check waits until the engine
//! is idle.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chrono::{TimeZone as _, Utc};
use chrono_tz::Tz;
use diesel::connection::SimpleConnection as _;
use diesel::prelude::*;

use super::expect::{
    compare_flags, compare_inbound, compare_sms, compare_tasks, normalise_phone, ActualFlag, ActualInbound, ActualSms,
    ActualTask, AgentPhones, Comparison,
};
use super::fixture::{self, to_utc};
use super::format::{Action, ClockTarget, LocalDateTime, Located, Recipient, Scenario, Sender, Step};
use super::pattern::{fill, Captures};
use super::report::Failure;
use crate::actors::registry::Dispatch;
use crate::actors::scheduler::RunNow;
use crate::booking::intake::Arrival;
use crate::channels::memory::MemoryProvider;
use crate::clock::{Clock as _, VirtualClock};
use crate::config::{ProviderKind, Settings};
use crate::db::flags::FlaggedMessage;
use crate::db::ids::AgentId;
use crate::db::inbound::InboundMessage;
use crate::db::organisation::{CaseType, Facility};
use crate::db::outbound::OutboundMessage;
use crate::db::schema::{agents, inbound_messages};
use crate::db::slots::Slot;
use crate::db::tasks::Task;
use crate::db::DbError;
use crate::startup::{AppOptions, Core};

/// The maximum wait for the engine to finish one step's work. Steps take
/// milliseconds; hitting this means a message is stuck.
const IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// Pause between two idle checks.
const IDLE_POLL: Duration = Duration::from_millis(2);

/// The outbox poll interval during replay, in milliseconds, so queued SMS
/// go out within a few milliseconds even without a wake-up.
const OUTBOX_POLL_MS: u64 = 5;

/// Configuration sections a scenario may override. The others configure
/// the server, database, provider and logging, which replay replaces.
const OVERRIDABLE_SECTIONS: [&str; 6] = ["time", "sms", "booking", "agents", "scheduler", "outbox"];

/// The steps run and the failures of one scenario run.
#[derive(Debug)]
pub struct RunResult {
    /// Steps that ran, including a failing one.
    pub steps: usize,
    pub failures: Vec<Failure>,
}

impl RunResult {
    fn failed(steps: usize, failure: Failure) -> Self {
        Self { steps, failures: vec![failure] }
    }
}

/// Runs a scenario from start to end, stopping at the first step whose
/// expectations fail. Must not be called inside an async runtime, because
/// it starts its own actix system.
pub fn run(scenario: &Scenario) -> RunResult {
    let database = match TempDatabase::create() {
        Ok(database) => database,
        Err(error) => {
            return RunResult::failed(
                0,
                Failure::new(
                    None,
                    format!("creating a temporary database in {} failed: {error}", std::env::temp_dir().display()),
                ),
            )
        }
    };
    if let Err(message) = database.prepare_wal() {
        return RunResult::failed(0, Failure::new(None, message));
    }
    let settings = match load_settings(scenario.config.as_ref(), &database.path()) {
        Ok(settings) => settings,
        Err(failure) => return RunResult::failed(0, failure),
    };
    let zone = settings.zone();
    let start = match to_utc(zone, scenario.start.0) {
        Ok(start) => start,
        Err(message) => return RunResult::failed(0, Failure::new(Some("start".into()), message)),
    };
    let clock = VirtualClock::new(Utc.from_utc_datetime(&start));
    let provider = MemoryProvider::new();

    let system = actix_rt::System::new();
    system.block_on(replay(scenario, settings, clock, provider))
}

/// Builds settings as `Settings::load(None)` does (built-in defaults, then
/// `SANDESH__SECTION__KEY` variables), with the scenario's `[config]` on
/// top, then points them at the replay database.
fn load_settings(overrides: Option<&Located<toml::Table>>, database: &Path) -> Result<Settings, Failure> {
    let location = overrides.map(|overrides| format!("config (line {})", overrides.line));
    let mut builder = config::Config::builder().add_source(
        config::Environment::with_prefix("SANDESH").prefix_separator("__").separator("__").try_parsing(true),
    );
    if let Some(overrides) = overrides {
        for section in overrides.value.keys() {
            if !OVERRIDABLE_SECTIONS.contains(&section.as_str()) {
                return Err(Failure::new(
                    location,
                    format!(
                        "config section {section:?} cannot be set in a scenario, because replay uses its own \
                         database and SMS provider: set only {}",
                        OVERRIDABLE_SECTIONS.join(", ")
                    ),
                ));
            }
        }
        let text = toml::to_string(&overrides.value)
            .map_err(|error| Failure::new(location.clone(), format!("invalid [config] table: {error}")))?;
        builder = builder.add_source(config::File::from_str(&text, config::FileFormat::Toml));
    }
    let mut settings: Settings = builder
        .build()
        .and_then(config::Config::try_deserialize)
        .map_err(|error| Failure::new(location.clone(), format!("invalid configuration: {error}")))?;

    settings.database.url = database.to_string_lossy().into_owned();
    settings.outbox.provider = ProviderKind::Log;
    settings.outbox.poll_interval_ms = OUTBOX_POLL_MS;
    settings.validate().map_err(|error| Failure::new(location, error.to_string()))?;
    Ok(settings)
}

async fn replay(scenario: &Scenario, settings: Settings, clock: VirtualClock, provider: MemoryProvider) -> RunResult {
    let zone = settings.zone();
    let vmn = settings.sms.vmn.clone();
    let options =
        AppOptions { clock: Arc::new(clock.clone()), provider: Some(Arc::new(provider.clone())), demo: false };
    let core = match Core::start(settings, options).await {
        Ok(core) => core,
        Err(error) => {
            return RunResult::failed(0, Failure::new(None, format!("starting the engine failed: {error:#}")))
        }
    };

    let fixture = scenario.fixture.clone();
    let today = scenario.start.0.date();
    let now = clock.now_naive();
    let applied = core
        .engine
        .database
        .run(move |connection| Ok::<_, DbError>(fixture::apply(connection, &fixture, zone, today, now)))
        .await;
    match applied {
        Ok(Ok(())) => {}
        Ok(Err(error)) => {
            let location =
                Some(error.line.map_or_else(|| "fixture".to_owned(), |line| format!("fixture (line {line})")));
            return RunResult::failed(0, Failure::new(location, error.message));
        }
        Err(error) => {
            return RunResult::failed(
                0,
                Failure::new(Some("fixture".into()), format!("applying the fixture failed: {error}")),
            )
        }
    }

    let agents = match core
        .engine
        .database
        .run(|connection| {
            agents::table
                .select((agents::id, agents::phone))
                .load::<(AgentId, String)>(connection)
                .map_err(DbError::from)
        })
        .await
    {
        Ok(rows) => AgentPhones::new(rows.into_iter().map(|(id, phone)| (id.0, phone))),
        Err(error) => return RunResult::failed(0, Failure::new(None, format!("loading agents failed: {error}"))),
    };

    let mut session = Session { core, clock, provider, zone, vmn, agents, captures: Captures::new() };
    for step in &scenario.steps {
        let failures = session.run_step(step).await;
        if !failures.is_empty() {
            return RunResult { steps: step.number, failures };
        }
    }

    let steps = scenario.steps.len();
    let location = Some("end of scenario".to_owned());
    if let Err(message) = session.wait_idle().await {
        return RunResult::failed(steps, Failure::new(location, message));
    }
    let unchecked = session.take_sent();
    if !unchecked.is_empty() {
        let comparison = compare_sms(&[], &unchecked, &session.agents, &session.captures).comparison;
        return RunResult::failed(
            steps,
            Failure::difference(
                location,
                format!(
                    "{} SMS sent after the last expect_sms were not checked: end the scenario with an expect_sms step that lists them",
                    unchecked.len()
                ),
                comparison.expected,
                comparison.actual,
            ),
        );
    }
    RunResult { steps, failures: Vec::new() }
}

/// Turns one expectation's outcome into a failure, or `None` when it
/// matched.
fn check_result(location: &str, key: &str, what: &str, result: Result<Comparison, String>) -> Option<Failure> {
    match result {
        Ok(comparison) if comparison.matched => None,
        Ok(comparison) => Some(Failure::difference(
            Some(location.to_owned()),
            format!("{key}: {what} differ from the expected ones"),
            comparison.expected,
            comparison.actual,
        )),
        Err(message) => Some(Failure::new(Some(location.to_owned()), format!("{key}: {message}"))),
    }
}

/// A running engine and the handles a scenario drives it with.
struct Session {
    core: Core,
    clock: VirtualClock,
    provider: MemoryProvider,
    zone: Tz,
    vmn: String,
    agents: AgentPhones,
    /// Placeholder values captured by expect_sms steps so far.
    captures: Captures,
}

impl Session {
    /// Performs the step's action, waits until the engine is idle, and
    /// checks every expectation of the step.
    async fn run_step(&mut self, step: &Step) -> Vec<Failure> {
        let location = match &step.note {
            Some(note) => format!("step {} (line {}, {note})", step.number, step.line),
            None => format!("step {} (line {})", step.number, step.line),
        };
        let fail = |message: String| vec![Failure::new(Some(location.clone()), message)];

        let acted = match &step.action {
            Some(Action::Inbound(sms)) => self.receive(sms).await,
            Some(Action::At(target)) => match self.move_clock_to(*target) {
                Ok(()) => self.run_scheduler().await,
                Err(message) => Err(message),
            },
            Some(Action::Advance(duration)) => {
                self.clock.advance(duration.0);
                self.run_scheduler().await
            }
            None => Ok(()),
        };
        if let Err(message) = acted {
            return fail(message);
        }
        if let Err(message) = self.wait_idle().await {
            return fail(message);
        }

        let mut failures = Vec::new();
        if let Some(expected) = &step.expect_sms {
            let result = self.check_recipients(expected.iter().map(|sms| &sms.to)).map(|()| {
                let sent = self.take_sent();
                let result = compare_sms(expected, &sent, &self.agents, &self.captures);
                self.captures = result.captures;
                result.comparison
            });
            failures.extend(check_result(
                &location,
                "expect_sms",
                "the SMS sent since the previous expect_sms",
                result,
            ));
        }
        let mut check = |key: &str, what: &str, result: Result<Comparison, String>| {
            failures.extend(check_result(&location, key, what, result));
        };
        if let Some(expected) = &step.expect_flags {
            let result = self.load_flags().await.map(|flags| compare_flags(expected, &flags));
            check("expect_flags", "the flagged messages", result);
        }
        if let Some(expected) = &step.expect_tasks {
            let result = self.load_tasks().await.map(|tasks| compare_tasks(expected, &tasks));
            check("expect_tasks", "the tasks", result);
        }
        if let Some(expected) = &step.expect_inbound {
            let result = self.load_inbound().await.map(|inbound| compare_inbound(expected, &inbound));
            check("expect_inbound", "the stored inbound messages", result);
        }
        failures
    }

    /// Stores the SMS and dispatches it to its agent actor, exactly as the
    /// webhook does after its HTTP response to the provider.
    async fn receive(&self, sms: &super::format::InboundSms) -> Result<(), String> {
        let sender = match &sms.sender {
            Sender::Phone(phone) => normalise_phone(phone),
            Sender::Agent(id) => self.agents.phone_of(*id).map(str::to_owned).ok_or_else(|| {
                format!("from_agent = {id} is not an agent of the fixture: use from = \"+91...\" for other phones")
            })?,
        };
        let text = fill(&sms.text, &self.captures).map_err(|message| format!("inbound: {message}"))?;
        let arrival = Arrival {
            channel: "sms",
            provider_message_id: sms.provider_id.clone().filter(|id| !id.trim().is_empty()),
            sender,
            recipient: self.vmn.clone(),
            text,
        };
        let stored =
            self.core.engine.receive(arrival).await.map_err(|error| format!("storing the SMS failed: {error}"))?;
        if stored.duplicate_of.is_none() {
            self.core.registry.do_send(Dispatch { id: stored.id, agent_id: stored.agent_id });
        }
        Ok(())
    }

    fn move_clock_to(&self, target: ClockTarget) -> Result<(), String> {
        let now = self.clock.now();
        let local = match target {
            ClockTarget::DateTime(date_time) => date_time.0,
            ClockTarget::TimeOfDay(time) => self.zone.from_utc_datetime(&now.naive_utc()).date_naive().and_time(time),
        };
        let target = to_utc(self.zone, local)?;
        if target < now.naive_utc() {
            let shown_now = self.zone.from_utc_datetime(&now.naive_utc()).format("%Y-%m-%d %H:%M");
            return Err(format!(
                "at {} is before the clock ({shown_now}): the clock only moves forward; write a later time, \
                 with the date if it is on another day",
                LocalDateTime(local)
            ));
        }
        self.clock.set(Utc.from_utc_datetime(&target));
        Ok(())
    }

    /// Runs the scheduler's due work (follow-ups, reminders, escalations)
    /// for the new clock time, as its periodic tick would.
    async fn run_scheduler(&self) -> Result<(), String> {
        match self.core.scheduler.send(RunNow::default()).await {
            Ok(Ok(_summary)) => Ok(()),
            Ok(Err(error)) => Err(format!("the scheduler run failed: {error}")),
            Err(error) => Err(format!("the scheduler stopped: {error}")),
        }
    }

    /// Waits until no inbound message waits for processing and no SMS is
    /// due or being sent, so every SMS of the step has reached the provider.
    async fn wait_idle(&self) -> Result<(), String> {
        let deadline = Instant::now() + IDLE_TIMEOUT;
        loop {
            let now = self.clock.now_naive();
            let counts = self
                .core
                .engine
                .database
                .run(move |connection| {
                    let pending = InboundMessage::count_pending(connection)?;
                    let due = OutboundMessage::count_due(connection, now)?;
                    Ok::<_, DbError>((pending, due))
                })
                .await
                .map_err(|error| format!("checking whether the engine is idle failed: {error}"))?;
            let (pending, due) = counts;
            if pending == 0 && due == 0 {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "the engine did not become idle within {} s: {pending} inbound messages still wait for \
                     processing and {due} SMS are still due or being sent",
                    IDLE_TIMEOUT.as_secs()
                ));
            }
            actix_rt::time::sleep(IDLE_POLL).await;
        }
    }

    fn check_recipients<'a>(&self, recipients: impl Iterator<Item = &'a Recipient>) -> Result<(), String> {
        for recipient in recipients {
            if let Recipient::Agent(id) = recipient {
                if self.agents.phone_of(*id).is_none() {
                    return Err(format!("to_agent = {id} is not an agent of the fixture: use to = \"+91...\""));
                }
            }
        }
        Ok(())
    }

    /// Removes and returns the SMS the provider accepted so far.
    fn take_sent(&self) -> Vec<ActualSms> {
        self.provider
            .take_sent()
            .into_iter()
            .map(|sms| ActualSms { to: sms.to.as_str().to_owned(), text: sms.text })
            .collect()
    }

    async fn load_flags(&self) -> Result<Vec<ActualFlag>, String> {
        let flags = self
            .core
            .engine
            .database
            .run(|connection| FlaggedMessage::all(connection).map_err(DbError::from))
            .await
            .map_err(|error| format!("loading flags failed: {error}"))?;
        Ok(flags
            .into_iter()
            .map(|flag| ActualFlag { reason: flag.reason, detail: flag.detail, agent: flag.agent_id.map(|id| id.0) })
            .collect())
    }

    async fn load_tasks(&self) -> Result<Vec<ActualTask>, String> {
        let zone = self.zone;
        self.core
            .engine
            .database
            .run(move |connection| {
                let mut tasks = Vec::new();
                for task in Task::all(connection)? {
                    let slot = Slot::find(connection, task.slot_id)?;
                    let facility = Facility::find(connection, task.facility_id)?;
                    let case_type = CaseType::find(connection, task.case_type_id)?;
                    tasks.push(ActualTask {
                        beneficiary: task.beneficiary_name,
                        phone: task.beneficiary_phone,
                        agent: task.agent_id.0,
                        case: case_type.code,
                        facility: facility.code,
                        appointment: LocalDateTime(slot.local_start(zone).naive_local()),
                        status: task.status,
                    });
                }
                Ok::<_, DbError>(tasks)
            })
            .await
            .map_err(|error| format!("loading tasks failed: {error}"))
    }

    async fn load_inbound(&self) -> Result<Vec<ActualInbound>, String> {
        let messages = self
            .core
            .engine
            .database
            .run(|connection| {
                inbound_messages::table
                    .order(inbound_messages::id.asc())
                    .select(InboundMessage::as_select())
                    .load(connection)
                    .map_err(DbError::from)
            })
            .await
            .map_err(|error| format!("loading inbound messages failed: {error}"))?;
        Ok(messages
            .into_iter()
            .map(|message| ActualInbound {
                from: message.sender,
                text: message.text,
                status: message.status,
                outcome: message.outcome,
            })
            .collect())
    }
}

/// A temporary folder holding one replay database, removed on drop.
struct TempDatabase {
    directory: PathBuf,
}

impl TempDatabase {
    fn create() -> std::io::Result<Self> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.subsec_nanos());
        let mut last_error = None;
        for _ in 0..100 {
            let number = COUNTER.fetch_add(1, Ordering::Relaxed);
            let directory =
                std::env::temp_dir().join(format!("sandesh-replay-{}-{nanos}-{number}", std::process::id()));
            match std::fs::create_dir(&directory) {
                Ok(()) => return Ok(Self { directory }),
                Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => last_error = Some(error),
                Err(error) => return Err(error),
            }
        }
        Err(last_error.unwrap_or_else(|| std::io::Error::other("no free temporary folder name")))
    }

    fn path(&self) -> PathBuf {
        self.directory.join("replay.db")
    }

    /// Creates the database file in WAL mode with one connection. When the
    /// pool opens its connections to a new file at once, each switches the
    /// file to WAL and the losers fail with "database is locked" until
    /// r2d2 retries them, which logs an error and costs hundreds of
    /// milliseconds.
    fn prepare_wal(&self) -> Result<(), String> {
        let path = self.path();
        let mut connection = SqliteConnection::establish(&path.to_string_lossy())
            .map_err(|error| format!("creating {} failed: {error}", path.display()))?;
        connection
            .batch_execute("PRAGMA journal_mode = WAL;")
            .map_err(|error| format!("switching {} to WAL failed: {error}", path.display()))
    }
}

impl Drop for TempDatabase {
    fn drop(&mut self) {
        if let Err(error) = std::fs::remove_dir_all(&self.directory) {
            tracing::warn!(%error, folder = %self.directory.display(), "removing the replay database failed");
        }
    }
}
