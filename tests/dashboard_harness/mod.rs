//! The dashboard test harness shared by the dashboard and admin test files:
//! a real server on port 0 with the demo NGO, a fresh SQLite file and a
//! virtual clock, log capture, and a cookie-keeping HTTP client that does
//! not follow redirects. The server thread and the helpers behind it are
//! in `tests/common/server.rs`.

#![allow(dead_code, reason = "each test file uses a different part of the harness")]

#[path = "../common/server.rs"]
pub mod server;

use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use reqwest::header::{HeaderMap, LOCATION};
use reqwest::StatusCode;

use sandesh::channels::memory::MemoryProvider;
use sandesh::clock::VirtualClock;
use sandesh::config::Settings;
use sandesh::db::outbound::OutboundMessage;
use sandesh::db::staff::{Role, StaffId};
use sandesh::db::DbConnection;
use sandesh::engine::Engine;
use sandesh::startup::AppOptions;

#[allow(unused_imports, reason = "each test file uses a different part of the harness")]
pub use server::{captured_log, Seeded, MUMBAI_AGENT_PHONE, THANE_AGENT_PHONE, THANE_CORPORATION, WAIT_TIMEOUT};
use server::{ServerThread, StaffSpec, POLL_INTERVAL};

/// The shared secret of the test webhook.
pub const TOKEN: &str = "dashboard-test-token";

pub const ADMIN_EMAIL: &str = "admin@ngo.example";
pub const ADMIN_PASSWORD: &str = "admin password for tests";
pub const OFFICER_EMAIL: &str = "officer.thane@ngo.example";
pub const OFFICER_PASSWORD: &str = "officer password for tests";

/// Sends the logs of every test in this binary to `server::LOG` at info
/// level, once.
pub fn capture_logs() {
    server::capture_logs("info");
}

// ----------------------------------------------------------------- server

/// A running server with the demo NGO, on its own database and clock.
/// Dropping it stops the server.
pub struct Server {
    pub address: String,
    pub engine: Engine,
    pub clock: VirtualClock,
    pub provider: MemoryProvider,
    thread: ServerThread,
    _directory: tempfile::TempDir,
}

impl Server {
    /// Starts the server with the demo data (`AppOptions { demo: true }`)
    /// on a virtual clock at 09:00 on a Monday in Mumbai.
    pub async fn start() -> Server {
        Self::start_with(|_| {}).await
    }

    /// Starts the server like [`Server::start`] after `adjust` changed the
    /// test settings.
    pub async fn start_with(adjust: impl FnOnce(&mut Settings)) -> Server {
        capture_logs();
        let directory = tempfile::tempdir().expect("create a temporary folder");
        let mut settings = server::webhook_settings(directory.path(), TOKEN);
        adjust(&mut settings);

        let clock = VirtualClock::new(server::virtual_start());
        let provider = MemoryProvider::new();
        let options =
            AppOptions { clock: Arc::new(clock.clone()), provider: Some(Arc::new(provider.clone())), demo: true };
        let thread = ServerThread::start("sandesh-dashboard", settings, options).await;

        Server {
            address: thread.address(),
            engine: thread.core.engine.clone(),
            clock,
            provider,
            thread,
            _directory: directory,
        }
    }

    /// Runs `work` on a pooled connection of the server's database.
    pub async fn db<T, F>(&self, work: F) -> T
    where
        F: FnOnce(&mut DbConnection) -> QueryResult<T> + Send + 'static,
        T: Send + 'static,
    {
        server::run_db(&self.engine, work).await
    }

    /// Sends an SMS through the webhook as `from`.
    pub async fn send_sms(&self, from: &str, text: &str) {
        server::send_sms(&self.address, TOKEN, from, text).await;
    }

    /// Waits until at least `tasks` tasks and `flags` flags exist.
    pub async fn wait_for(&self, tasks: usize, flags: usize) {
        server::wait_for_bookings(&self.engine, tasks, flags).await;
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
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Creates a staff user with `password`, assigned to the corporations
    /// named in `corporations`.
    pub async fn add_staff(&self, email: &str, role: Role, password: &str, corporations: &[&str]) -> StaffId {
        let staff = StaffSpec::tester(email, role, password, corporations);
        server::add_staff(&self.engine, staff, self.clock_now()).await
    }

    pub fn clock_now(&self) -> chrono::NaiveDateTime {
        use sandesh::clock::Clock as _;
        self.clock.now_naive()
    }

    /// Books one appointment in Thane (agent 12) and one in Mumbai
    /// (agent 15), and flags one bad message of each agent. Returns the
    /// Thane and Mumbai task ids and flag ids.
    pub async fn seed_bookings(&self) -> Seeded {
        server::seed_bookings(&self.engine, &self.address, TOKEN).await
    }
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
