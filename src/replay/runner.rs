//! Runs one parsed scenario against the real engine. Each run gets a fresh
//! SQLite file and its own actix system. `Core::start` runs with a virtual
//! clock and the in-memory SMS provider on an arbiter thread of its own, so
//! that a restart can stop every actor of the engine at once and start a
//! new engine on the same file. Inbound SMS are injected the way the
//! webhook injects them, and every check waits until the engine is idle.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chrono::{TimeZone as _, Utc};
use chrono_tz::Tz;
use diesel::connection::SimpleConnection as _;
use diesel::prelude::*;

use super::engine::{engine_options, RunningCore};
use super::expect::{
    check_sms_transforms, compare_flags, compare_inbound, compare_sms, compare_tasks, fill_flags, fill_inbound,
    normalise_phone, ActualFlag, ActualInbound, ActualSms, ActualTask, AgentPhones, Comparison,
};
use super::fixture::{self, to_utc};
use super::format::{
    Action, CancelSlot, ClockMove, ClockTarget, InboundSms, LocalDateTime, Located, Recipient, Scenario, Sender, Step,
};
use super::pattern::{fill, Captures};
use super::report::Failure;
use crate::actors::registry::Dispatch;
use crate::actors::scheduler::RunNow;
use crate::appointments::slots::{self as slot_admin, CancelSummary, SlotError};
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
use crate::followup::run::RunSummary;
use crate::startup::Core;

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
    let options = engine_options(&clock, &provider);
    let running = match RunningCore::start(settings.clone(), options).await {
        Ok(running) => running,
        Err(message) => return RunResult::failed(0, Failure::new(None, message)),
    };
    let mut session = Session {
        running,
        zone: settings.zone(),
        vmn: settings.sms.vmn.clone(),
        settings,
        clock,
        provider,
        agents: AgentPhones::default(),
        captures: Captures::new(),
    };
    let mut result = session.run_scenario(scenario).await;
    if let Err(message) = session.running.stop().await {
        result.failures.push(Failure::new(Some("end of scenario".to_owned()), message));
    }
    result
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
    running: RunningCore,
    /// The settings every engine of the scenario starts with.
    settings: Settings,
    clock: VirtualClock,
    provider: MemoryProvider,
    zone: Tz,
    vmn: String,
    agents: AgentPhones,
    /// Placeholder values captured by expect_sms steps so far.
    captures: Captures,
}

impl Session {
    fn core(&self) -> &Core {
        &self.running.core
    }

    /// Applies the fixture, runs every step and checks that no SMS went
    /// unchecked.
    async fn run_scenario(&mut self, scenario: &Scenario) -> RunResult {
        if let Err(failure) = self.apply_fixture(scenario).await {
            return RunResult::failed(0, failure);
        }
        let agents = self
            .core()
            .engine
            .database
            .run(|connection| {
                agents::table
                    .select((agents::id, agents::phone))
                    .load::<(AgentId, String)>(connection)
                    .map_err(DbError::from)
            })
            .await;
        match agents {
            Ok(rows) => self.agents = AgentPhones::new(rows.into_iter().map(|(id, phone)| (id.0, phone))),
            Err(error) => return RunResult::failed(0, Failure::new(None, format!("loading agents failed: {error}"))),
        }

        for step in &scenario.steps {
            let failures = self.run_step(step).await;
            if !failures.is_empty() {
                return RunResult { steps: step.number, failures };
            }
        }

        let steps = scenario.steps.len();
        let location = Some("end of scenario".to_owned());
        if let Err(message) = self.wait_idle().await {
            return RunResult::failed(steps, Failure::new(location, message));
        }
        let unchecked = self.take_sent();
        if !unchecked.is_empty() {
            let comparison = compare_sms(&[], &unchecked, &self.agents, &self.captures).comparison;
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

    async fn apply_fixture(&self, scenario: &Scenario) -> Result<(), Failure> {
        let fixture = scenario.fixture.clone();
        let zone = self.zone;
        let today = scenario.start.0.date();
        let now = self.clock.now_naive();
        let applied = self
            .core()
            .engine
            .database
            .run(move |connection| Ok::<_, DbError>(fixture::apply(connection, &fixture, zone, today, now)))
            .await;
        match applied {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => {
                let location =
                    Some(error.line.map_or_else(|| "fixture".to_owned(), |line| format!("fixture (line {line})")));
                Err(Failure::new(location, error.message))
            }
            Err(error) => Err(Failure::new(Some("fixture".into()), format!("applying the fixture failed: {error}"))),
        }
    }

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
            Some(Action::MoveClock(clock)) => match self.move_clock(*clock) {
                Ok(()) => self.run_scheduler(None).await.map(|_summary| ()),
                Err(message) => Err(message),
            },
            Some(Action::Restart { while_down }) => {
                self.restart(*while_down).await.map_err(|message| format!("restart: {message}"))
            }
            Some(Action::SchedulerCrash { after_batches, clock }) => self
                .crash_scheduler(*after_batches, *clock)
                .await
                .map_err(|message| format!("scheduler_crash_after_batches: {message}")),
            Some(Action::CancelSlot(cancel)) => {
                self.cancel_slot(cancel).await.map(|_summary| ()).map_err(|message| format!("cancel_slot: {message}"))
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
            let result = self
                .check_recipients(expected.iter().map(|sms| &sms.to))
                .and_then(|()| check_sms_transforms(expected, &self.captures))
                .map(|()| {
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
            let result = match fill_flags(expected, &self.captures) {
                Ok(expected) => self.load_flags().await.map(|flags| compare_flags(&expected, &flags)),
                Err(message) => Err(message),
            };
            check("expect_flags", "the flagged messages", result);
        }
        if let Some(expected) = &step.expect_tasks {
            let result = self.load_tasks().await.map(|tasks| compare_tasks(expected, &tasks));
            check("expect_tasks", "the tasks", result);
        }
        if let Some(expected) = &step.expect_inbound {
            let result = match fill_inbound(expected, &self.captures) {
                Ok(expected) => self.load_inbound().await.map(|inbound| compare_inbound(&expected, &inbound)),
                Err(message) => Err(message),
            };
            check("expect_inbound", "the stored inbound messages", result);
        }
        failures
    }

    /// Stops the engine once everything due has gone out, moves the clock
    /// while it is down, and starts a new engine on the same database. The
    /// new engine's scheduler runs once at start, as after a real restart.
    async fn restart(&mut self, while_down: Option<ClockMove>) -> Result<(), String> {
        // A message in flight when a process dies may be sent twice; waiting
        // first keeps each restart from repeating an SMS.
        self.wait_idle().await?;
        self.running.stop().await?;
        if let Some(clock) = while_down {
            self.move_clock(clock)?;
        }
        let options = engine_options(&self.clock, &self.provider);
        self.running = RunningCore::start(self.settings.clone(), options).await?;
        // Scheduler runs are atomic, so this request waits for the run the
        // new scheduler started with. It finds nothing left when that run
        // came first, and does the same work when it comes first itself.
        self.run_scheduler(None).await.map(|_summary| ())
    }

    /// Moves the clock if asked, runs at most `after_batches` follow-up
    /// batches, then restarts the engine as if it had crashed there.
    async fn crash_scheduler(&mut self, after_batches: usize, clock: Option<ClockMove>) -> Result<(), String> {
        if let Some(clock) = clock {
            self.move_clock(clock)?;
        }
        let summary = self.run_scheduler(Some(after_batches)).await?;
        if summary.follow_ups == 0 {
            return Err(format!(
                "the scheduler run sent no follow-up before the crash, so the crash interrupted nothing: move the \
                 clock to a time when follow-ups are due in this step with `at` or `advance`, and set \
                 scheduler.batch_size in [config] so that {after_batches} batch(es) cannot hold them all"
            ));
        }
        self.restart(None).await
    }

    /// Cancels the slot the step names, as an admin does.
    async fn cancel_slot(&self, cancel: &CancelSlot) -> Result<CancelSummary, String> {
        let context = self.core().engine.booking.clone();
        let zone = self.zone;
        let now = self.clock.now_naive();
        let cancel = cancel.clone();
        let cancelled = self
            .core()
            .engine
            .database
            .run(move |connection| {
                let slot = match fixture::find_slot(connection, zone, &cancel.facility, &cancel.case, cancel.start) {
                    Ok(slot) => slot,
                    Err(message) => return Ok::<_, DbError>(Err(message)),
                };
                let result = match slot_admin::cancel(connection, &context, slot.id, cancel.rest, now) {
                    Ok(summary) => Ok(summary),
                    Err(SlotError::AlreadyCancelled(_)) => Err(format!(
                        "the {} slot at {} at {} is cancelled already: remove this step, or add `rest = true` \
                         to cancel the later slots of its series",
                        cancel.case, cancel.facility, cancel.start
                    )),
                    Err(error) => Err(format!("cancelling the slot failed: {error}")),
                };
                Ok(result)
            })
            .await;
        match cancelled {
            Ok(result) => result,
            Err(error) => Err(format!("cancelling the slot failed: {error}")),
        }
    }

    /// Stores the SMS and dispatches it to its agent actor, exactly as the
    /// webhook does after its HTTP response to the provider.
    async fn receive(&self, sms: &InboundSms) -> Result<(), String> {
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
            self.core().engine.receive(arrival).await.map_err(|error| format!("storing the SMS failed: {error}"))?;
        if stored.duplicate_of.is_none() {
            self.core().registry.do_send(Dispatch { id: stored.id, agent_id: stored.agent_id });
        }
        Ok(())
    }

    fn move_clock(&self, clock: ClockMove) -> Result<(), String> {
        match clock {
            ClockMove::At(target) => self.move_clock_to(target),
            ClockMove::Advance(duration) => {
                self.clock.advance(duration.0);
                Ok(())
            }
        }
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
    /// for the current clock time, as its periodic tick would, stopping
    /// after `max_batches` follow-up batches if given.
    async fn run_scheduler(&self, max_batches: Option<usize>) -> Result<RunSummary, String> {
        match self.core().scheduler.send(RunNow { max_batches }).await {
            Ok(Ok(summary)) => Ok(summary),
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
                .core()
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
            .core()
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
        self.core()
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
            .core()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stopped_core_has_no_running_actors() {
        let database = TempDatabase::create().expect("temporary database");
        database.prepare_wal().expect("WAL");
        let settings = load_settings(None, &database.path()).expect("settings");
        let clock = VirtualClock::new(Utc::now());
        let provider = MemoryProvider::new();

        actix_rt::System::new().block_on(async move {
            let mut running =
                RunningCore::start(settings, engine_options(&clock, &provider)).await.expect("engine starts");
            let core = running.core.clone();
            assert!(core.scheduler.connected(), "the scheduler did not start");
            assert!(core.outbox.connected(), "the outbox did not start");

            running.stop().await.expect("engine stops");
            assert!(!core.scheduler.connected(), "the scheduler still runs");
            assert!(!core.outbox.connected(), "the outbox still runs");
            assert!(!core.registry.connected(), "the agent registry still runs");
            assert!(!core.tasks.connected(), "the task registry still runs");
            assert!(running.stop().await.is_ok(), "a second stop failed");
        });
    }
}
