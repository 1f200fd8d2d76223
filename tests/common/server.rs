//! The test server that every black-box harness starts: the real
//! application, built with `Application::build` on a loopback port 0 in a
//! thread of its own with its own actix system, like a separate server
//! process. Also the helpers the harnesses share: settings, log capture,
//! database access, polling, staff creation and demo bookings.
//!
//! `tests/common/mod.rs` declares this module, and the other harnesses and
//! test files include it with `#[path = ".../common/server.rs"] mod server;`.

#![allow(dead_code, reason = "each test file that includes this module uses a different part of it")]

use std::io::Write;
use std::path::Path;
use std::sync::{Mutex, Once};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDateTime, TimeZone as _, Utc};
use diesel::prelude::*;
use secrecy::SecretString;
use tokio::sync::oneshot;

use sandesh::config::Settings;
use sandesh::db::flags::FlaggedMessage;
use sandesh::db::ids::{AgentId, CorporationId, FlagId, TaskId};
use sandesh::db::schema::corporations;
use sandesh::db::staff::{NewStaffUser, Role, StaffId, StaffUser};
use sandesh::db::tasks::Task;
use sandesh::db::{DbConnection, DbError};
use sandesh::engine::Engine;
use sandesh::startup::{AppOptions, Application, Core};
use sandesh::web::dashboard::password;

/// Demo agent 12 works at Thane facilities, agent 15 in Mumbai.
pub const THANE_AGENT_PHONE: &str = "+919812345678";
pub const MUMBAI_AGENT_PHONE: &str = "+919812345679";
pub const THANE_CORPORATION: &str = "Thane Municipal Corporation";

/// The VMN of the default settings, which webhook calls send to.
const VMN: &str = "5676791";

/// Outbox poll interval in tests, in milliseconds, so that replies and
/// retries after a virtual clock advance go out quickly.
pub const OUTBOX_POLL_MS: u64 = 20;

/// How long the polling helpers wait before they fail the test.
pub const WAIT_TIMEOUT: Duration = Duration::from_secs(20);

/// How often the polling helpers look at the database.
pub const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// Returns the instant where virtual-clock tests start: Monday 2 March
/// 2026, 09:00 in Mumbai.
pub fn virtual_start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 3, 30, 0).single().expect("valid start instant")
}

/// Returns default settings (from `Settings::load(None)`, so `SANDESH__…`
/// variables apply) for a server on 127.0.0.1 port 0 with two workers, and
/// its database file and chat files in `directory`.
pub fn loopback_settings(directory: &Path) -> Settings {
    let mut settings = Settings::load(None).expect("default settings load");
    settings.server.host = "127.0.0.1".into();
    settings.server.port = 0;
    settings.server.workers = 2;
    settings.database.url = directory.join("sandesh.db").to_str().expect("UTF-8 temporary path").to_owned();
    settings.chat.files_dir = directory.join("files").to_str().expect("UTF-8 temporary path").to_owned();
    settings
}

/// Returns [`loopback_settings`] with the SMS webhook secret `token` and
/// the outbox polling every [`OUTBOX_POLL_MS`].
pub fn webhook_settings(directory: &Path, token: &str) -> Settings {
    let mut settings = loopback_settings(directory);
    settings.sms.inbound_token = Some(SecretString::from(token.to_owned()));
    settings.outbox.poll_interval_ms = OUTBOX_POLL_MS;
    settings
}

// ------------------------------------------------------------ log capture

/// Everything the application logged, from every test in this binary.
pub static LOG: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        LOG.lock().unwrap_or_else(std::sync::PoisonError::into_inner).extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Sends the logs of every test in this binary to [`LOG`] at the `filter`
/// level (`info`, `debug`, …). Only the first call in a binary installs
/// the subscriber, so later filters are ignored.
pub fn capture_logs(filter: &str) {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let subscriber =
            tracing_subscriber::fmt().with_env_filter(filter).with_ansi(false).with_writer(|| LogWriter).finish();
        tracing::subscriber::set_global_default(subscriber).expect("install the log subscriber");
    });
}

/// Returns everything captured in [`LOG`] so far.
pub fn captured_log() -> String {
    String::from_utf8_lossy(&LOG.lock().unwrap_or_else(std::sync::PoisonError::into_inner)).into_owned()
}

// ----------------------------------------------------------------- server

/// An application serving from a thread of its own. Dropping it stops the
/// HTTP server and drops every actor at once, as a crash would, and waits
/// for the thread to end.
pub struct ServerThread {
    pub port: u16,
    pub core: Core,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl ServerThread {
    /// Validates `settings`, builds the application in a new thread named
    /// `thread_name` and returns once it listens. Messages left
    /// unprocessed in the database are dispatched before this returns.
    pub async fn start(thread_name: &str, settings: Settings, options: AppOptions) -> ServerThread {
        settings.validate().expect("test settings are valid");
        let (ready_sender, ready) = oneshot::channel::<anyhow::Result<(u16, Core)>>();
        let (stop, stop_requested) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(thread_name.to_owned())
            .spawn(move || serve(settings, options, ready_sender, stop_requested))
            .expect("spawn the server thread");
        let (port, core) = ready.await.expect("server thread ended early").expect("application builds");
        ServerThread { port, core, stop: Some(stop), thread: Some(thread) }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn address(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Stops the server like [`Drop`] does, but waits for the thread on the
    /// blocking pool and fails the test if it panicked.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            // The thread may have ended already; then there is nothing to stop.
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            tokio::task::spawn_blocking(move || thread.join())
                .await
                .expect("join task")
                .expect("server thread panicked");
        }
    }
}

impl Drop for ServerThread {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Runs the server thread: builds the application in a new actix system,
/// sends the port and core back, serves until the stop channel fires or
/// closes, and then drops the system with every actor in it.
fn serve(
    settings: Settings,
    options: AppOptions,
    ready: oneshot::Sender<anyhow::Result<(u16, Core)>>,
    stop_requested: oneshot::Receiver<()>,
) {
    let system = actix_rt::System::new();
    system.block_on(async move {
        let application = match Application::build(settings, options).await {
            Ok(application) => application,
            Err(error) => {
                let _ = ready.send(Err(error));
                return;
            }
        };
        let port = application.port();
        let (server, core) = application.into_server();
        let handle = server.handle();
        actix_rt::spawn(server);
        if ready.send(Ok((port, core))).is_ok() {
            // A dropped sender (the test is gone) also means stop.
            let _ = stop_requested.await;
        }
        handle.stop(false).await;
    });
}

// --------------------------------------------------------------- database

/// Runs `work` on a pooled connection of the application's database.
pub async fn run_db<T, F>(engine: &Engine, work: F) -> T
where
    F: FnOnce(&mut DbConnection) -> QueryResult<T> + Send + 'static,
    T: Send + 'static,
{
    engine.database.run(move |connection| work(connection).map_err(DbError::from)).await.expect("database query")
}

/// Waits until `condition` holds for the stored rows, looking every
/// [`POLL_INTERVAL`]; fails the test with `what` after [`WAIT_TIMEOUT`].
pub async fn wait_until<F>(engine: &Engine, what: &str, condition: F)
where
    F: Fn(&mut DbConnection) -> QueryResult<bool> + Send + Sync + Clone + 'static,
{
    let started = Instant::now();
    loop {
        let check = condition.clone();
        if run_db(engine, move |connection| check(connection)).await {
            return;
        }
        assert!(started.elapsed() < WAIT_TIMEOUT, "timed out after {WAIT_TIMEOUT:?} waiting until {what}");
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// Waits until at least `tasks` tasks and `flags` flags exist.
pub async fn wait_for_bookings(engine: &Engine, tasks: usize, flags: usize) {
    wait_until(engine, &format!("{tasks} tasks and {flags} flags exist"), move |connection| {
        Ok(Task::all(connection)?.len() >= tasks && FlaggedMessage::all(connection)?.len() >= flags)
    })
    .await;
}

/// Returns the task of `beneficiary`; fails the test if there is none.
pub async fn task_of(engine: &Engine, beneficiary: &str) -> Task {
    let name = beneficiary.to_owned();
    run_db(engine, Task::all)
        .await
        .into_iter()
        .find(|task| task.beneficiary_name == name)
        .unwrap_or_else(|| panic!("no task for {beneficiary}"))
}

/// A staff user to create with [`add_staff`].
#[derive(Debug, Clone, Copy)]
pub struct StaffSpec<'a> {
    pub name: &'a str,
    pub email: &'a str,
    pub designation: &'a str,
    pub role: Role,
    pub password: &'a str,
    /// Names of the corporations the user is assigned to.
    pub corporations: &'a [&'a str],
}

impl<'a> StaffSpec<'a> {
    /// Returns a spec named "Test Staff" with the designation "Tester".
    pub fn tester(email: &'a str, role: Role, password: &'a str, corporations: &'a [&'a str]) -> Self {
        Self { name: "Test Staff", email, designation: "Tester", role, password, corporations }
    }
}

/// Creates an active staff user as `staff` describes, created and with its
/// password changed at `now`, and returns its id.
pub async fn add_staff(engine: &Engine, staff: StaffSpec<'_>, now: NaiveDateTime) -> StaffId {
    let hash = password::hash(staff.password).expect("hash the password");
    let (name, email, designation) = (staff.name.to_owned(), staff.email.to_owned(), staff.designation.to_owned());
    let role = staff.role;
    let corporation_names: Vec<String> = staff.corporations.iter().map(|name| (*name).to_owned()).collect();
    run_db(engine, move |connection| {
        let user = StaffUser::insert(
            connection,
            &NewStaffUser {
                name: &name,
                email: &email,
                designation: &designation,
                role: role.as_str(),
                password_hash: &hash,
                active: true,
                created_at: now,
                password_changed_at: now,
            },
        )?;
        for corporation in &corporation_names {
            let id: CorporationId = corporations::table
                .filter(corporations::name.eq(corporation))
                .select(corporations::id)
                .first(connection)?;
            StaffUser::assign_corporation(connection, user.id, id)?;
        }
        Ok(user.id)
    })
    .await
}

// ---------------------------------------------------------------- webhook

/// Sends an SMS from `from` through the webhook at `address` with the
/// secret `token`, and checks that it was accepted.
pub async fn send_sms(address: &str, token: &str, from: &str, text: &str) {
    let response = reqwest::Client::new()
        .get(format!("{address}/sms/inbound"))
        .query(&[("token", token), ("from", from), ("to", VMN), ("text", text)])
        .send()
        .await
        .expect("webhook request");
    assert_eq!(response.status(), reqwest::StatusCode::OK, "webhook rejected {text:?}");
}

/// Ids of what [`seed_bookings`] created.
#[derive(Debug, Clone, Copy)]
pub struct Seeded {
    pub thane_task: TaskId,
    pub mumbai_task: TaskId,
    pub thane_flag: FlagId,
    pub mumbai_flag: FlagId,
}

/// Books one appointment in Thane (agent 12) and one in Mumbai (agent 15)
/// of the demo NGO through the webhook, and flags one bad message of each
/// agent. Returns the Thane and Mumbai task ids and flag ids.
pub async fn seed_bookings(engine: &Engine, address: &str, token: &str) -> Seeded {
    send_sms(address, token, THANE_AGENT_PHONE, "12 ANC Seema Devi 9876543210").await;
    send_sms(address, token, MUMBAI_AGENT_PHONE, "15 ANC Rani Kumari 9876500001").await;
    send_sms(address, token, THANE_AGENT_PHONE, "12 XYZ Lata Shinde 9876500002").await;
    send_sms(address, token, MUMBAI_AGENT_PHONE, "15 XYZ Meena Gupta 9876500003").await;
    wait_for_bookings(engine, 2, 2).await;

    let flags = run_db(engine, FlaggedMessage::all).await;
    let flag_of = |agent: i32| flags.iter().find(|flag| flag.agent_id == Some(AgentId(agent))).expect("flag").id;
    Seeded {
        thane_task: task_of(engine, "Seema Devi").await.id,
        mumbai_task: task_of(engine, "Rani Kumari").await.id,
        thane_flag: flag_of(12),
        mumbai_flag: flag_of(15),
    }
}
