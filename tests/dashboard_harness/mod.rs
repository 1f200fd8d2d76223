//! The dashboard test harness shared by the dashboard and admin test files:
//! a real server on port 0 with the demo NGO, a fresh SQLite file and a
//! virtual clock, log capture, and a cookie-keeping HTTP client that does
//! not follow redirects.

#![allow(dead_code, reason = "each test file uses a different part of the harness")]

use std::io::Write;
use std::sync::{Arc, Mutex, Once};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::{TimeZone as _, Utc};
use diesel::prelude::*;
use reqwest::header::{HeaderMap, LOCATION};
use reqwest::StatusCode;
use secrecy::SecretString;
use tokio::sync::oneshot;

use sandesh::channels::memory::MemoryProvider;
use sandesh::clock::VirtualClock;
use sandesh::config::Settings;
use sandesh::db::flags::FlaggedMessage;
use sandesh::db::ids::{AgentId, CorporationId, FlagId, TaskId};
use sandesh::db::outbound::OutboundMessage;
use sandesh::db::schema::corporations;
use sandesh::db::staff::{NewStaffUser, Role, StaffId, StaffUser};
use sandesh::db::tasks::Task;
use sandesh::db::{DbConnection, DbError};
use sandesh::engine::Engine;
use sandesh::startup::{AppOptions, Application, Core};
use sandesh::web::dashboard::password;

/// The shared secret of the test webhook.
pub const TOKEN: &str = "dashboard-test-token";

pub const ADMIN_EMAIL: &str = "admin@ngo.example";
pub const ADMIN_PASSWORD: &str = "admin password for tests";
pub const OFFICER_EMAIL: &str = "officer.thane@ngo.example";
pub const OFFICER_PASSWORD: &str = "officer password for tests";

/// Demo agent 12 works at Thane facilities, agent 15 in Mumbai.
pub const THANE_AGENT_PHONE: &str = "+919812345678";
pub const MUMBAI_AGENT_PHONE: &str = "+919812345679";
pub const THANE_CORPORATION: &str = "Thane Municipal Corporation";

/// How long helpers wait for the engine before failing the test.
pub const WAIT_TIMEOUT: Duration = Duration::from_secs(20);

// ------------------------------------------------------------ log capture

/// Everything the application logged, from every test in this binary.
pub static LOG: Mutex<Vec<u8>> = Mutex::new(Vec::new());

pub struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        LOG.lock().unwrap_or_else(std::sync::PoisonError::into_inner).extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Sends the logs of every test in this binary to [`LOG`], once.
pub fn capture_logs() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let subscriber =
            tracing_subscriber::fmt().with_env_filter("info").with_ansi(false).with_writer(|| LogWriter).finish();
        tracing::subscriber::set_global_default(subscriber).expect("install the log subscriber");
    });
}

pub fn captured_log() -> String {
    String::from_utf8_lossy(&LOG.lock().unwrap_or_else(std::sync::PoisonError::into_inner)).into_owned()
}

// ----------------------------------------------------------------- server

/// A running server with the demo NGO, on its own database and clock.
pub struct Server {
    pub address: String,
    pub engine: Engine,
    pub clock: VirtualClock,
    pub provider: MemoryProvider,
    pub stop: Option<oneshot::Sender<()>>,
    pub thread: Option<JoinHandle<()>>,
    pub _directory: tempfile::TempDir,
}

impl Server {
    /// Starts the server with the demo data (`AppOptions { demo: true }`)
    /// on a virtual clock at 09:00 on a Monday in Mumbai.
    pub async fn start() -> Server {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(adjust: impl FnOnce(&mut Settings)) -> Server {
        capture_logs();
        let directory = tempfile::tempdir().expect("create a temporary folder");
        let mut settings = Settings::load(None).expect("default settings load");
        settings.server.host = "127.0.0.1".into();
        settings.server.port = 0;
        settings.server.workers = 2;
        settings.database.url = directory.path().join("sandesh.db").to_str().expect("UTF-8 path").to_owned();
        settings.chat.files_dir = directory.path().join("files").to_str().expect("UTF-8 path").to_owned();
        settings.sms.inbound_token = Some(SecretString::from(TOKEN.to_owned()));
        settings.outbox.poll_interval_ms = 20;
        adjust(&mut settings);
        settings.validate().expect("test settings are valid");

        let clock = VirtualClock::new(Utc.with_ymd_and_hms(2026, 3, 2, 3, 30, 0).single().expect("valid instant"));
        let provider = MemoryProvider::new();
        let options =
            AppOptions { clock: Arc::new(clock.clone()), provider: Some(Arc::new(provider.clone())), demo: true };
        let (ready_sender, ready) = oneshot::channel::<anyhow::Result<(u16, Core)>>();
        let (stop, stop_requested) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("sandesh-dashboard".into())
            .spawn(move || serve(settings, options, ready_sender, stop_requested))
            .expect("spawn the server thread");
        let (port, core) = ready.await.expect("server thread ended early").expect("application builds");

        Server {
            address: format!("http://127.0.0.1:{port}"),
            engine: core.engine,
            clock,
            provider,
            stop: Some(stop),
            thread: Some(thread),
            _directory: directory,
        }
    }

    /// Runs `work` on a pooled connection of the server's database.
    pub async fn db<T, F>(&self, work: F) -> T
    where
        F: FnOnce(&mut DbConnection) -> QueryResult<T> + Send + 'static,
        T: Send + 'static,
    {
        self.engine.database.run(move |connection| work(connection).map_err(DbError::from)).await.expect("query")
    }

    /// Sends an SMS through the webhook as `from`.
    pub async fn send_sms(&self, from: &str, text: &str) {
        let response = reqwest::Client::new()
            .get(format!("{}/sms/inbound", self.address))
            .query(&[("token", TOKEN), ("from", from), ("to", "5676791"), ("text", text)])
            .send()
            .await
            .expect("webhook request");
        assert_eq!(response.status(), StatusCode::OK, "webhook rejected {text:?}");
    }

    /// Waits until at least `tasks` tasks and `flags` flags exist.
    pub async fn wait_for(&self, tasks: usize, flags: usize) {
        let started = Instant::now();
        loop {
            let (task_count, flag_count) =
                self.db(|connection| Ok((Task::all(connection)?.len(), FlaggedMessage::all(connection)?.len()))).await;
            if task_count >= tasks && flag_count >= flags {
                return;
            }
            assert!(
                started.elapsed() < WAIT_TIMEOUT,
                "after {WAIT_TIMEOUT:?}: {task_count} of {tasks} tasks and {flag_count} of {flags} flags"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until the outbox has no message queued or being sent.
    pub async fn wait_outbox_idle(&self) {
        let started = Instant::now();
        loop {
            let busy = self
                .db(|connection| {
                    let messages = OutboundMessage::all(connection)?;
                    Ok(messages
                        .iter()
                        .filter(|message| matches!(message.status.as_str(), "queued" | "sending"))
                        .count())
                })
                .await;
            if busy == 0 {
                return;
            }
            assert!(started.elapsed() < WAIT_TIMEOUT, "{busy} outbound messages still unsent after {WAIT_TIMEOUT:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Creates a staff user with `password`, assigned to the corporations
    /// named in `corporations`.
    pub async fn add_staff(&self, email: &str, role: Role, password: &str, corporations: &[&str]) -> StaffId {
        let hash = password::hash(password).expect("hash the password");
        let email = email.to_owned();
        let names: Vec<String> = corporations.iter().map(|name| (*name).to_owned()).collect();
        let now = self.clock_now();
        self.db(move |connection| {
            let user = StaffUser::insert(
                connection,
                &NewStaffUser {
                    name: "Test Staff",
                    email: &email,
                    designation: "Tester",
                    role: role.as_str(),
                    password_hash: &hash,
                    active: true,
                    created_at: now,
                    password_changed_at: now,
                },
            )?;
            for name in &names {
                let id: CorporationId = corporations::table
                    .filter(corporations::name.eq(name))
                    .select(corporations::id)
                    .first(connection)?;
                StaffUser::assign_corporation(connection, user.id, id)?;
            }
            Ok(user.id)
        })
        .await
    }

    pub fn clock_now(&self) -> chrono::NaiveDateTime {
        use sandesh::clock::Clock as _;
        self.clock.now_naive()
    }

    /// Books one appointment in Thane (agent 12) and one in Mumbai
    /// (agent 15), and flags one bad message of each agent. Returns the
    /// Thane and Mumbai task ids and flag ids.
    pub async fn seed_bookings(&self) -> Seeded {
        self.send_sms(THANE_AGENT_PHONE, "12 ANC Seema Devi 9876543210").await;
        self.send_sms(MUMBAI_AGENT_PHONE, "15 ANC Rani Kumari 9876500001").await;
        self.send_sms(THANE_AGENT_PHONE, "12 XYZ Lata Shinde 9876500002").await;
        self.send_sms(MUMBAI_AGENT_PHONE, "15 XYZ Meena Gupta 9876500003").await;
        self.wait_for(2, 2).await;

        let tasks = self.db(Task::all).await;
        let flags = self.db(FlaggedMessage::all).await;
        let task_of = |name: &str| tasks.iter().find(|task| task.beneficiary_name == name).expect("task booked").id;
        let flag_of = |agent: i32| flags.iter().find(|flag| flag.agent_id == Some(AgentId(agent))).expect("flag").id;
        Seeded {
            thane_task: task_of("Seema Devi"),
            mumbai_task: task_of("Rani Kumari"),
            thane_flag: flag_of(12),
            mumbai_flag: flag_of(15),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Runs the server thread: builds the application in its own actix system
/// and serves until the stop channel fires or closes.
pub fn serve(
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
            let _ = stop_requested.await;
        }
        handle.stop(false).await;
    });
}

#[derive(Debug, Clone, Copy)]
pub struct Seeded {
    pub thane_task: TaskId,
    pub mumbai_task: TaskId,
    pub thane_flag: FlagId,
    pub mumbai_flag: FlagId,
}

// ---------------------------------------------------------------- browser

/// A response: status, redirect target, headers and body.
#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub headers: HeaderMap,
    pub body: String,
}

/// An HTTP client with its own cookie jar that does not follow redirects.
pub struct Browser {
    pub client: reqwest::Client,
    pub base: String,
}

impl Browser {
    pub fn new(server: &Server) -> Self {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .expect("HTTP client builds");
        Self { client, base: server.address.clone() }
    }

    pub async fn read(response: reqwest::Response) -> Page {
        let status = response.status();
        let headers = response.headers().clone();
        let location = headers.get(LOCATION).and_then(|value| value.to_str().ok()).map(str::to_owned);
        let body = response.text().await.expect("response body");
        Page { status, location, headers, body }
    }

    pub async fn get(&self, path: &str) -> Page {
        Self::read(self.client.get(format!("{}{path}", self.base)).send().await.expect("GET request")).await
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        Self::read(self.client.post(format!("{}{path}", self.base)).form(form).send().await.expect("POST request"))
            .await
    }

    /// Opens the sign-in form and sends it with these credentials.
    pub async fn sign_in(&self, email: &str, password: &str) -> Page {
        let form = self.get("/dashboard/login").await;
        assert_eq!(form.status, StatusCode::OK);
        let token = csrf_token(&form.body);
        self.post("/dashboard/login", &[("csrf_token", &token), ("email", email), ("password", password)]).await
    }

    /// Signs in and checks that it worked.
    pub async fn sign_in_ok(&self, email: &str, password: &str) -> Page {
        let page = self.sign_in(email, password).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "sign-in of {email} failed: {}", page.body);
        page
    }

    /// Loads `path` and returns the CSRF token of its forms.
    pub async fn csrf_of(&self, path: &str) -> String {
        let page = self.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "GET {path}");
        csrf_token(&page.body)
    }
}

/// Returns the value of the first `csrf_token` hidden field in a page.
pub fn csrf_token(body: &str) -> String {
    let marker = r#"name="csrf_token" value=""#;
    let start = body.find(marker).expect("page has a CSRF field") + marker.len();
    let end = body[start..].find('"').expect("CSRF value ends") + start;
    body[start..end].to_owned()
}
