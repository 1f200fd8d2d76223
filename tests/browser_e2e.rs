//! Browser tests of the staff dashboard in headless Chromium. Each test
//! starts the real server on a loopback port 0 with the demo NGO and a
//! fresh SQLite file, and starts chromedriver on a free loopback port.
//! fantoccini (WebDriver) then drives Chromium through the pages as a
//! person would click through them.
//!
//! Scenarios:
//! - an admin made with `sandesh create-admin` signs in, and an SMS booked
//!   through the webhook shows in the task list;
//! - a flagged booking SMS is listed, then corrected and booked;
//! - an officer's task list has only their corporation's tasks, and
//!   another corporation's task by URL is 404;
//! - an admin creates a facility, an agent and a weekly slot series, and
//!   the new agent's SMS books into that series.
//!
//! The tests are ignored by default because they need Debian's `chromium`
//! and `chromium-driver` packages (`/usr/bin/chromium`,
//! `/usr/bin/chromedriver`). Run them with `.ci/run browser` or
//! `cargo test --test browser_e2e -- --ignored --test-threads=1`. A
//! screenshot of the task list is saved as
//! `target/screenshots/task-list.png`.
//!
//! Chromium runs with background networking, component updates, sync and
//! QUIC turned off. Its host resolver maps every name except `localhost`
//! and `127.0.0.1` to "not found", so the browser sends traffic only to the
//! loopback server.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use secrecy::SecretString;
use serde_json::json;
use tokio::sync::oneshot;

use sandesh::channels::memory::MemoryProvider;
use sandesh::clock::{Clock as _, SystemClock};
use sandesh::config::Settings;
use sandesh::db::flags::FlaggedMessage;
use sandesh::db::ids::CorporationId;
use sandesh::db::schema::corporations;
use sandesh::db::staff::{NewStaffUser, Role, StaffUser};
use sandesh::db::tasks::Task;
use sandesh::db::{DbConnection, DbError};
use sandesh::engine::Engine;
use sandesh::startup::{AppOptions, Application, Core};
use sandesh::web::dashboard::password;

/// The shared secret of the test webhook.
const TOKEN: &str = "browser-test-token";

const ADMIN_EMAIL: &str = "admin@ngo.example";
const ADMIN_PASSWORD: &str = "admin password for browser tests";
const OFFICER_EMAIL: &str = "officer.thane@ngo.example";
const OFFICER_PASSWORD: &str = "officer password for browser tests";

/// Demo agent 12 works at Thane facilities, agent 15 in Mumbai.
const THANE_AGENT_PHONE: &str = "+919812345678";
const MUMBAI_AGENT_PHONE: &str = "+919812345679";
const THANE_CORPORATION: &str = "Thane Municipal Corporation";

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// Names a folder for each test's chromedriver log, Chromium profile and
/// `chromedriver.pid`, so `.ci/run` can stop what a killed test left
/// running. The system's temporary folder when unset.
const RUN_ROOT_VARIABLE: &str = "BROWSER_E2E_RUN_ROOT";

/// How long to wait for the engine, chromedriver or a page before failing.
const WAIT_TIMEOUT: Duration = Duration::from_secs(20);
const POLL_INTERVAL: Duration = Duration::from_millis(50);

// ----------------------------------------------------------------- server

/// A running server with the demo NGO on the system clock.
struct Server {
    address: String,
    engine: Engine,
    database_url: String,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    _directory: tempfile::TempDir,
}

impl Server {
    async fn start() -> Server {
        let directory = tempfile::tempdir().expect("create a temporary folder");
        let database_url = directory.path().join("sandesh.db").to_str().expect("UTF-8 path").to_owned();
        let mut settings = Settings::load(None).expect("default settings load");
        settings.server.host = "127.0.0.1".into();
        settings.server.port = 0;
        settings.server.workers = 2;
        settings.database.url = database_url.clone();
        settings.sms.inbound_token = Some(SecretString::from(TOKEN.to_owned()));
        settings.outbox.poll_interval_ms = 20;
        settings.validate().expect("test settings are valid");

        let options =
            AppOptions { clock: Arc::new(SystemClock), provider: Some(Arc::new(MemoryProvider::new())), demo: true };
        let (ready_sender, ready) = oneshot::channel::<anyhow::Result<(u16, Core)>>();
        let (stop, stop_requested) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("sandesh-browser".into())
            .spawn(move || serve(settings, options, ready_sender, stop_requested))
            .expect("spawn the server thread");
        let (port, core) = ready.await.expect("server thread ended early").expect("application builds");

        Server {
            address: format!("http://127.0.0.1:{port}"),
            engine: core.engine,
            database_url,
            stop: Some(stop),
            thread: Some(thread),
            _directory: directory,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    async fn db<T, F>(&self, work: F) -> T
    where
        F: FnOnce(&mut DbConnection) -> QueryResult<T> + Send + 'static,
        T: Send + 'static,
    {
        self.engine.database.run(move |connection| work(connection).map_err(DbError::from)).await.expect("query")
    }

    /// Sends an SMS through the webhook as `from`.
    async fn send_sms(&self, from: &str, text: &str) {
        let response = reqwest::Client::new()
            .get(self.url("/sms/inbound"))
            .query(&[("token", TOKEN), ("from", from), ("to", "5676791"), ("text", text)])
            .send()
            .await
            .expect("webhook request");
        assert_eq!(response.status(), reqwest::StatusCode::OK, "webhook rejected {text:?}");
    }

    /// Waits until at least `tasks` tasks and `flags` flags exist.
    async fn wait_for(&self, tasks: usize, flags: usize) {
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
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    async fn task_id_of(&self, beneficiary: &str) -> i32 {
        let name = beneficiary.to_owned();
        self.db(Task::all)
            .await
            .into_iter()
            .find(|task| task.beneficiary_name == name)
            .unwrap_or_else(|| panic!("no task for {beneficiary}"))
            .id
            .0
    }

    /// Creates the first admin with `sandesh create-admin`, the command the
    /// README gives operators.
    fn create_admin_with_cli(&self) {
        let output = Command::new(env!("CARGO_BIN_EXE_sandesh"))
            .args(["create-admin", "--email", ADMIN_EMAIL, "--name", "Browser Admin"])
            .env("SANDESH__DATABASE__URL", &self.database_url)
            .env("SANDESH_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .stdin(Stdio::null())
            .output()
            .expect("run sandesh create-admin");
        assert!(
            output.status.success(),
            "create-admin failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Creates an officer of the Thane corporation.
    async fn add_thane_officer(&self) {
        let hash = password::hash(OFFICER_PASSWORD).expect("hash the password");
        let now = SystemClock.now_naive();
        self.db(move |connection| {
            let user = StaffUser::insert(
                connection,
                &NewStaffUser {
                    name: "Thane Officer",
                    email: OFFICER_EMAIL,
                    designation: "Community organiser",
                    role: Role::Officer.as_str(),
                    password_hash: &hash,
                    active: true,
                    created_at: now,
                    password_changed_at: now,
                },
            )?;
            let thane: CorporationId = corporations::table
                .filter(corporations::name.eq(THANE_CORPORATION))
                .select(corporations::id)
                .first(connection)?;
            StaffUser::assign_corporation(connection, user.id, thane)
        })
        .await;
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
            let _ = stop_requested.await;
        }
        handle.stop(false).await;
    });
}

// ---------------------------------------------------------------- browser

/// A chromedriver process and the Chromium profile folder it uses. Drop
/// kills chromedriver's process group by its PID, which also ends a
/// Chromium that a failed test left open.
struct ChromeDriver {
    child: Child,
    port: u16,
    profile: tempfile::TempDir,
}

impl ChromeDriver {
    /// Starts chromedriver on a free loopback port and waits until it
    /// reports ready.
    async fn start() -> ChromeDriver {
        assert!(
            Path::new(CHROMEDRIVER).exists() && Path::new(CHROMIUM).exists(),
            "{CHROMEDRIVER} or {CHROMIUM} is missing: apt-get install chromium chromium-driver, or run .ci/run browser"
        );
        let port = free_port();
        let profile = match std::env::var_os(RUN_ROOT_VARIABLE) {
            Some(root) => tempfile::tempdir_in(root),
            None => tempfile::tempdir(),
        }
        .expect("create the Chromium profile folder");
        let log = std::fs::File::create(profile.path().join("chromedriver.log")).expect("create the chromedriver log");
        let child = {
            use std::os::unix::process::CommandExt as _;
            Command::new(CHROMEDRIVER)
                .arg(format!("--port={port}"))
                .arg("--allowed-ips=127.0.0.1")
                // Chromium's crash handler and caches use these folders,
                // not the --user-data-dir.
                .env("XDG_CONFIG_HOME", profile.path().join("config"))
                .env("XDG_CACHE_HOME", profile.path().join("cache"))
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("clone the log handle"))
                .stderr(log)
                .process_group(0)
                .spawn()
                .expect("start chromedriver")
        };
        std::fs::write(profile.path().join("chromedriver.pid"), child.id().to_string())
            .expect("record chromedriver's PID");
        let driver = ChromeDriver { child, port, profile };
        driver.wait_ready().await;
        driver
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    async fn wait_ready(&self) {
        let client = reqwest::Client::builder().timeout(Duration::from_secs(2)).build().expect("HTTP client");
        let started = Instant::now();
        loop {
            if let Ok(response) = client.get(format!("{}/status", self.url())).send().await {
                let status: serde_json::Value = response.json().await.unwrap_or_default();
                if status["value"]["ready"] == true {
                    return;
                }
            }
            assert!(
                started.elapsed() < WAIT_TIMEOUT,
                "chromedriver on port {} not ready after {WAIT_TIMEOUT:?}",
                self.port
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Opens a headless Chromium session with a fresh profile.
    async fn browser(&self) -> Client {
        let profile = self.profile.path().join("chromium");
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--no-default-browser-check",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--disable-extensions",
                    "--disable-dev-shm-usage",
                    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
                    "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.display()),
                ],
            },
        });
        let serde_json::Value::Object(capabilities) = capabilities else { unreachable!("capabilities are an object") };
        ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url())
            .await
            .expect("start a Chromium session through chromedriver")
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        // The group id is chromedriver's PID (process_group(0) above).
        let group = format!("-{}", self.child.id());
        let killed = Command::new("kill").args(["-s", "KILL", "--", &group]).stderr(Stdio::null()).status();
        if !killed.is_ok_and(|status| status.success()) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// Returns a loopback port that was free a moment ago.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

/// Waits until the page's body contains `text`; fails with the page's
/// text after [`WAIT_TIMEOUT`].
async fn wait_for_text(browser: &Client, text: &str) -> String {
    let started = Instant::now();
    loop {
        let body = page_text(browser).await;
        if body.contains(text) {
            return body;
        }
        assert!(started.elapsed() < WAIT_TIMEOUT, "page never showed {text:?}; it shows:\n{body}");
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

async fn page_text(browser: &Client) -> String {
    match browser.find(Locator::Css("body")).await {
        Ok(body) => body.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Signs in through the sign-in form and waits for the home page.
async fn sign_in(browser: &Client, server: &Server, email: &str, password: &str) {
    browser.goto(&server.url("/dashboard/login")).await.expect("open the sign-in page");
    browser.find(Locator::Id("email")).await.expect("email field").send_keys(email).await.expect("type the email");
    browser
        .find(Locator::Id("password"))
        .await
        .expect("password field")
        .send_keys(password)
        .await
        .expect("type the password");
    browser
        .find(Locator::Css("form.stacked button[type=submit]"))
        .await
        .expect("sign-in button")
        .click()
        .await
        .expect("click");
    wait_for_text(browser, "Sign out").await;
    let url = browser.current_url().await.expect("current URL");
    assert_eq!(url.path(), "/dashboard/", "signing in leads to the home page");
}

/// Requests `path` with the browser's session cookie and returns the
/// HTTP status, which WebDriver does not report.
async fn status_with_session(browser: &Client, server: &Server, path: &str) -> reqwest::StatusCode {
    let cookie = browser.get_named_cookie("sandesh_session").await.expect("the browser has a session cookie");
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("HTTP client")
        .get(server.url(path))
        .header(reqwest::header::COOKIE, format!("sandesh_session={}", cookie.value()))
        .send()
        .await
        .expect("request with the session cookie")
        .status()
}

/// Types `value` into the form field with this id, replacing its value.
/// Date and time fields get the value set by script, in the form HTML
/// submits (`yyyy-mm-dd`, `HH:MM`), because typing into them depends on the
/// browser's locale.
async fn fill(browser: &Client, id: &str, value: &str) {
    let field = browser.find(Locator::Id(id)).await.unwrap_or_else(|error| panic!("no field #{id}: {error}"));
    let kind = field.attr("type").await.expect("read the field type").unwrap_or_default();
    if kind == "date" || kind == "time" {
        browser
            .execute("document.getElementById(arguments[0]).value = arguments[1];", vec![json!(id), json!(value)])
            .await
            .expect("set the field by script");
        return;
    }
    field.clear().await.expect("clear the field");
    field.send_keys(value).await.expect("type into the field");
}

/// Chooses the option whose text contains `text` in the `<select>` with
/// this id.
async fn choose(browser: &Client, id: &str, text: &str) {
    let xpath = format!("//select[@id='{id}']/option[contains(normalize-space(.), '{text}')]");
    let option =
        browser.find(Locator::XPath(&xpath)).await.unwrap_or_else(|error| panic!("#{id} has no {text:?}: {error}"));
    option.click().await.expect("choose the option");
}

/// Ticks the checkbox named `name` whose label contains `text`, if it is
/// not ticked yet.
async fn tick(browser: &Client, name: &str, text: &str) {
    let xpath = format!("//label[contains(normalize-space(.), '{text}')]/input[@type='checkbox'][@name='{name}']");
    let checkbox =
        browser.find(Locator::XPath(&xpath)).await.unwrap_or_else(|error| panic!("no {name} box {text:?}: {error}"));
    if !checkbox.is_selected().await.expect("read the checkbox") {
        checkbox.click().await.expect("tick the checkbox");
    }
}

/// Submits the page's main form and waits for the next page to show
/// `expected`.
async fn submit_form(browser: &Client, expected: &str) -> String {
    browser
        .find(Locator::Css("main form.stacked button[type=submit]"))
        .await
        .expect("submit button")
        .click()
        .await
        .expect("submit the form");
    wait_for_text(browser, expected).await
}

/// Saves a PNG screenshot of the page under `target/screenshots/`.
async fn save_screenshot(browser: &Client, name: &str) -> PathBuf {
    let folder = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is inside the target folder")
        .join("screenshots");
    std::fs::create_dir_all(&folder).expect("create target/screenshots");
    let png = browser.screenshot().await.expect("take a screenshot");
    assert!(png.starts_with(b"\x89PNG"), "the screenshot is not a PNG");
    let path = folder.join(name);
    std::fs::write(&path, png).expect("write the screenshot");
    path
}

// ------------------------------------------------------------------ tests

#[tokio::test]
#[ignore = "needs Debian's chromium and chromium-driver; run with .ci/run browser"]
async fn admin_sees_booked_sms_in_task_list() {
    let server = Server::start().await;
    server.create_admin_with_cli();
    let driver = ChromeDriver::start().await;
    let browser = driver.browser().await;

    sign_in(&browser, &server, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    server.send_sms(THANE_AGENT_PHONE, "12 ANC Seema Devi 9876543210").await;
    server.wait_for(1, 0).await;
    browser.find(Locator::LinkText("Tasks")).await.expect("Tasks link").click().await.expect("open the task list");
    let list = wait_for_text(&browser, "Seema Devi").await;
    let screenshot = save_screenshot(&browser, "task-list.png").await;
    let task_id = server.task_id_of("Seema Devi").await;
    let task_link = format!("#{task_id}");
    browser.find(Locator::LinkText(&task_link)).await.expect("task link").click().await.expect("open the task");
    let task = wait_for_text(&browser, "12 ANC Seema Devi 9876543210").await;
    browser.close().await.expect("close the browser");

    assert!(list.contains("1 task"), "{list}");
    assert!(list.contains("Wagle HP (WGL)") || list.contains("Kisan Nagar"), "{list}");
    assert!(std::fs::metadata(&screenshot).is_ok_and(|file| file.len() > 1000), "{}", screenshot.display());
    assert!(task.contains("Created as Booked"), "{task}");
    assert!(task.contains("Thane Municipal Corporation"), "{task}");
}

#[tokio::test]
#[ignore = "needs Debian's chromium and chromium-driver; run with .ci/run browser"]
async fn flagged_message_is_visible() {
    let server = Server::start().await;
    server.create_admin_with_cli();
    server.send_sms(THANE_AGENT_PHONE, "12 XYZ Lata Shinde 9876500002").await;
    server.wait_for(0, 1).await;
    let driver = ChromeDriver::start().await;
    let browser = driver.browser().await;

    sign_in(&browser, &server, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    browser.find(Locator::LinkText("Flags")).await.expect("Flags link").click().await.expect("open the flags");
    let flags = wait_for_text(&browser, "12 XYZ Lata Shinde 9876500002").await;
    browser.close().await.expect("close the browser");

    assert!(flags.contains("Unknown case type"), "{flags}");
    assert!(flags.contains("Asha Patil (12)"), "{flags}");
}

#[tokio::test]
#[ignore = "needs Debian's chromium and chromium-driver; run with .ci/run browser"]
async fn officer_sees_only_own_corporation() {
    let server = Server::start().await;
    server.add_thane_officer().await;
    server.send_sms(THANE_AGENT_PHONE, "12 ANC Seema Devi 9876543210").await;
    server.send_sms(MUMBAI_AGENT_PHONE, "15 ANC Rani Kumari 9876500001").await;
    server.wait_for(2, 0).await;
    let mumbai_task = server.task_id_of("Rani Kumari").await;
    let thane_task = server.task_id_of("Seema Devi").await;
    let driver = ChromeDriver::start().await;
    let browser = driver.browser().await;

    sign_in(&browser, &server, OFFICER_EMAIL, OFFICER_PASSWORD).await;
    browser.goto(&server.url("/dashboard/tasks")).await.expect("open the task list");
    let list = wait_for_text(&browser, "Seema Devi").await;
    browser.goto(&server.url(&format!("/dashboard/tasks/{mumbai_task}"))).await.expect("open the Mumbai task");
    let other = wait_for_text(&browser, "Not found").await;
    let title = browser.title().await.expect("page title");
    let status = status_with_session(&browser, &server, &format!("/dashboard/tasks/{mumbai_task}")).await;
    let own_status = status_with_session(&browser, &server, &format!("/dashboard/tasks/{thane_task}")).await;
    browser.close().await.expect("close the browser");

    assert!(list.contains("1 task"), "{list}");
    assert!(!list.contains("Rani Kumari"), "a Mumbai task is listed to a Thane officer:\n{list}");
    assert!(other.contains("There is no such page, or it is not one you can see."), "{other}");
    assert!(!other.contains("Rani Kumari"), "{other}");
    assert!(title.contains("Not found"), "{title}");
    assert_eq!(status, reqwest::StatusCode::NOT_FOUND, "another corporation's task by URL");
    assert_eq!(own_status, reqwest::StatusCode::OK);
}

#[tokio::test]
#[ignore = "needs Debian's chromium and chromium-driver; run with .ci/run browser"]
async fn flagged_booking_is_corrected_and_booked() {
    let server = Server::start().await;
    server.create_admin_with_cli();
    server.send_sms(THANE_AGENT_PHONE, "12 XYZ Lata Shinde 9876500002").await;
    server.wait_for(0, 1).await;
    let flag_id = server.db(FlaggedMessage::all).await.first().expect("the SMS is flagged").id;
    let driver = ChromeDriver::start().await;
    let browser = driver.browser().await;

    sign_in(&browser, &server, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    browser.goto(&server.url("/dashboard/flags")).await.expect("open the flags");
    wait_for_text(&browser, "12 XYZ Lata Shinde 9876500002").await;
    let correct = format!("Correct and book flag #{flag_id}");
    browser
        .find(Locator::LinkText(&correct))
        .await
        .expect("correct-and-book link")
        .click()
        .await
        .expect("open the form");
    wait_for_text(&browser, &format!("Correct and book flag {flag_id}")).await;
    choose(&browser, "agent", "(12)").await;
    choose(&browser, "case_code", "(ANC)").await;
    fill(&browser, "name", "Lata Shinde").await;
    fill(&browser, "phone", "9876500002").await;
    fill(&browser, "note", "The agent meant ANC; confirmed by phone.").await;
    let task_page = submit_form(&browser, "Lata Shinde").await;
    let task_url = browser.current_url().await.expect("current URL");
    browser.goto(&server.url("/dashboard/flags?view=closed")).await.expect("open the closed flags");
    let closed = wait_for_text(&browser, "The agent meant ANC; confirmed by phone.").await;
    browser.close().await.expect("close the browser");
    let tasks = server.db(Task::all).await;

    assert!(task_url.path().starts_with("/dashboard/tasks/"), "booking leads to the new task: {task_url}");
    assert!(task_page.contains("Booked"), "{task_page}");
    assert_eq!(tasks.len(), 1, "one task was booked");
    assert_eq!(tasks[0].beneficiary_name, "Lata Shinde");
    assert_eq!(tasks[0].beneficiary_phone, "+919876500002");
    assert!(closed.contains("Resolved"), "the flag is resolved: {closed}");
}

#[tokio::test]
#[ignore = "needs Debian's chromium and chromium-driver; run with .ci/run browser"]
async fn admin_creates_facility_agent_and_series() {
    let server = Server::start().await;
    server.create_admin_with_cli();
    let driver = ChromeDriver::start().await;
    let browser = driver.browser().await;
    sign_in(&browser, &server, ADMIN_EMAIL, ADMIN_PASSWORD).await;

    browser.goto(&server.url("/dashboard/admin/facilities/new")).await.expect("open the facility form");
    choose(&browser, "corporation", THANE_CORPORATION).await;
    fill(&browser, "name", "Naupada HP").await;
    fill(&browser, "code", "NPD").await;
    fill(&browser, "address", "Gokhale Road, Naupada, Thane").await;
    let facilities = submit_form(&browser, "Naupada HP").await;

    browser.goto(&server.url("/dashboard/admin/agents/new")).await.expect("open the agent form");
    fill(&browser, "id", "31").await;
    fill(&browser, "name", "Kavita More").await;
    fill(&browser, "phone", "98123 45690").await;
    choose(&browser, "language", "English").await;
    tick(&browser, "active", "Active").await;
    tick(&browser, "facilities", "(NPD)").await;
    let agents = submit_form(&browser, "Kavita More").await;

    let zone = server.engine.settings.zone();
    let tomorrow = chrono::Utc::now().with_timezone(&zone).date_naive() + chrono::Days::new(1);
    browser.goto(&server.url("/dashboard/slots/new")).await.expect("open the slot series form");
    choose(&browser, "facility", "(NPD)").await;
    choose(&browser, "case_type", "(ANC)").await;
    fill(&browser, "first_date", &tomorrow.format("%Y-%m-%d").to_string()).await;
    fill(&browser, "start_time", "10:00").await;
    fill(&browser, "capacity", "5").await;
    choose(&browser, "recurrence", "Weekly").await;
    fill(&browser, "occurrences", "4").await;
    let slots = submit_form(&browser, "Slots").await;

    // The new agent books through the webhook, into the new series.
    server.send_sms("+919812345690", "31 ANC Sunita Kale 9876500031").await;
    server.wait_for(1, 0).await;
    browser.goto(&server.url("/dashboard/tasks")).await.expect("open the task list");
    let tasks = wait_for_text(&browser, "Sunita Kale").await;
    browser.close().await.expect("close the browser");

    assert!(facilities.contains("Added."), "{facilities}");
    assert!(facilities.contains("NPD"), "{facilities}");
    assert!(agents.contains("Added."), "{agents}");
    assert!(agents.contains("+919812345690"), "the phone is stored in E.164: {agents}");
    assert!(slots.contains(&tomorrow.format("%d-%m-%Y").to_string()), "the first slot is listed: {slots}");
    assert!(tasks.contains("Naupada HP (NPD)"), "booked at the new facility: {tasks}");
}
