//! What the headless Chromium tests share: a server with the demo NGO on
//! a loopback port, chromedriver on another, and helpers that act on pages
//! as a person would.
//!
//! Chromium runs with background networking, component updates, sync and
//! QUIC turned off. Its host resolver maps every name except `localhost`
//! and `127.0.0.1` to "not found", so the browser sends traffic only to the
//! loopback server.

#![allow(dead_code, reason = "each browser test file uses a different part of the harness")]

#[path = "../common/server.rs"]
pub mod server;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

use sandesh::channels::memory::MemoryProvider;
use sandesh::clock::{Clock as _, SystemClock};
use sandesh::db::staff::Role;
use sandesh::db::DbConnection;
use sandesh::engine::Engine;
use sandesh::startup::AppOptions;

use server::{ServerThread, StaffSpec};
#[allow(unused_imports, reason = "each browser test file uses a different part of the harness")]
pub use server::{MUMBAI_AGENT_PHONE, THANE_AGENT_PHONE, THANE_CORPORATION, WAIT_TIMEOUT};

/// The shared secret of the test webhook.
pub const TOKEN: &str = "browser-test-token";

pub const ADMIN_EMAIL: &str = "admin@ngo.example";
pub const ADMIN_PASSWORD: &str = "admin password for browser tests";
pub const OFFICER_EMAIL: &str = "officer.thane@ngo.example";
pub const OFFICER_PASSWORD: &str = "officer password for browser tests";

pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// Names a folder for each test's chromedriver log, Chromium profile and
/// `chromedriver.pid`, so `.ci/run` can stop what a killed test left
/// running. The system's temporary folder when unset.
pub const RUN_ROOT_VARIABLE: &str = "BROWSER_E2E_RUN_ROOT";

/// How often page helpers look at the page again.
pub const POLL_INTERVAL: Duration = Duration::from_millis(50);

// ----------------------------------------------------------------- server

/// A running server with the demo NGO on the system clock. Dropping it
/// stops the server.
pub struct Server {
    pub address: String,
    pub engine: Engine,
    pub database_url: String,
    thread: ServerThread,
    _directory: tempfile::TempDir,
}

impl Server {
    pub async fn start() -> Server {
        let directory = tempfile::tempdir().expect("create a temporary folder");
        let settings = server::webhook_settings(directory.path(), TOKEN);
        let database_url = settings.database.url.clone();
        let options =
            AppOptions { clock: Arc::new(SystemClock), provider: Some(Arc::new(MemoryProvider::new())), demo: true };
        let thread = ServerThread::start("sandesh-browser", settings, options).await;

        Server {
            address: thread.address(),
            engine: thread.core.engine.clone(),
            database_url,
            thread,
            _directory: directory,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Returns the loopback port the server listens on.
    pub fn port(&self) -> u16 {
        self.thread.port
    }

    /// Counts the chat messages stored for a client request.
    pub async fn chat_message_count(&self, request: i32) -> usize {
        use sandesh::db::schema::chat_messages;
        let count: i64 = self
            .db(move |connection| {
                chat_messages::table.filter(chat_messages::request_id.eq(request)).count().get_result(connection)
            })
            .await;
        usize::try_from(count).expect("a count fits usize")
    }

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

    pub async fn task_id_of(&self, beneficiary: &str) -> i32 {
        server::task_of(&self.engine, beneficiary).await.id.0
    }

    /// Creates the first admin with `sandesh create-admin`, the command the
    /// README gives operators.
    pub fn create_admin_with_cli(&self) {
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
    pub async fn add_thane_officer(&self) {
        let staff = StaffSpec {
            name: "Thane Officer",
            email: OFFICER_EMAIL,
            designation: "Community organiser",
            role: Role::Officer,
            password: OFFICER_PASSWORD,
            corporations: &[THANE_CORPORATION],
        };
        server::add_staff(&self.engine, staff, SystemClock.now_naive()).await;
    }
}

// ---------------------------------------------------------------- browser

/// A chromedriver process and the Chromium profile folder it uses. Drop
/// kills chromedriver's process group by its PID, which also ends a
/// Chromium that a failed test left open.
pub struct ChromeDriver {
    child: Child,
    port: u16,
    profile: tempfile::TempDir,
}

impl ChromeDriver {
    /// Starts chromedriver on a free loopback port and waits until it
    /// reports ready.
    pub async fn start() -> ChromeDriver {
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

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub async fn wait_ready(&self) {
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

    /// Opens a headless Chromium session with a fresh profile of its own,
    /// so two sessions from one driver share no cookies: each is a separate
    /// person.
    pub async fn browser(&self) -> Client {
        static SESSIONS: AtomicUsize = AtomicUsize::new(0);
        let session = SESSIONS.fetch_add(1, Ordering::Relaxed);
        let profile = self.profile.path().join(format!("chromium-{session}"));
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
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

/// Waits until the page's body contains `text`; fails with the page's
/// text after [`WAIT_TIMEOUT`].
pub async fn wait_for_text(browser: &Client, text: &str) -> String {
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

pub async fn page_text(browser: &Client) -> String {
    match browser.find(Locator::Css("body")).await {
        Ok(body) => body.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Signs in through the sign-in form and waits for the home page.
pub async fn sign_in(browser: &Client, server: &Server, email: &str, password: &str) {
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
pub async fn status_with_session(browser: &Client, server: &Server, path: &str) -> reqwest::StatusCode {
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
pub async fn fill(browser: &Client, id: &str, value: &str) {
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
pub async fn choose(browser: &Client, id: &str, text: &str) {
    let xpath = format!("//select[@id='{id}']/option[contains(normalize-space(.), '{text}')]");
    let option =
        browser.find(Locator::XPath(&xpath)).await.unwrap_or_else(|error| panic!("#{id} has no {text:?}: {error}"));
    option.click().await.expect("choose the option");
}

/// Ticks the checkbox named `name` whose label contains `text`, if it is
/// not ticked yet.
pub async fn tick(browser: &Client, name: &str, text: &str) {
    let xpath = format!("//label[contains(normalize-space(.), '{text}')]/input[@type='checkbox'][@name='{name}']");
    let checkbox =
        browser.find(Locator::XPath(&xpath)).await.unwrap_or_else(|error| panic!("no {name} box {text:?}: {error}"));
    if !checkbox.is_selected().await.expect("read the checkbox") {
        checkbox.click().await.expect("tick the checkbox");
    }
}

/// Submits the page's main form and waits for the next page to show
/// `expected`. It first waits for the form's page to go away, because the
/// form page itself may contain `expected`.
pub async fn submit_form(browser: &Client, expected: &str) -> String {
    let old_page = browser.find(Locator::Css("html")).await.expect("the page has a root element");
    browser
        .find(Locator::Css("main form.stacked button[type=submit]"))
        .await
        .expect("submit button")
        .click()
        .await
        .expect("submit the form");
    let started = Instant::now();
    // A stale root element means the browser has loaded the next page.
    while old_page.tag_name().await.is_ok() {
        assert!(started.elapsed() < WAIT_TIMEOUT, "the form's page was still shown after {WAIT_TIMEOUT:?}");
        tokio::time::sleep(POLL_INTERVAL).await;
    }
    wait_for_text(browser, expected).await
}

/// Saves a PNG screenshot of the page under `target/screenshots/`.
pub async fn save_screenshot(browser: &Client, name: &str) -> PathBuf {
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

// ------------------------------------------------------------ network cut

/// A loopback TCP proxy in front of the server whose connections can be
/// cut, as a phone losing its network would cut them: [`CuttableLink::cut`]
/// drops every open connection and refuses new ones until
/// [`CuttableLink::restore`].
pub struct CuttableLink {
    pub port: u16,
    state: Arc<LinkState>,
    acceptor: tokio::task::JoinHandle<()>,
}

struct LinkState {
    up: std::sync::atomic::AtomicBool,
    /// Bumped by every cut. A connection ends when it reads a newer value.
    cuts: tokio::sync::watch::Sender<usize>,
}

impl CuttableLink {
    /// Starts forwarding a free loopback port to `upstream_port`.
    pub async fn start(upstream_port: u16) -> CuttableLink {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the link's port");
        let port = listener.local_addr().expect("local address").port();
        let (cuts, _) = tokio::sync::watch::channel(0);
        let state = Arc::new(LinkState { up: std::sync::atomic::AtomicBool::new(true), cuts });
        let shared = state.clone();
        let acceptor = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !shared.up.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let mut cut = shared.cuts.subscribe();
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(("127.0.0.1", upstream_port)).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        CuttableLink { port, state, acceptor }
    }

    /// Returns the server's address for `path` through this link.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Drops every open connection and refuses new ones.
    pub fn cut(&self) {
        self.state.up.store(false, Ordering::SeqCst);
        self.state.cuts.send_modify(|count| *count += 1);
    }

    /// Accepts connections again.
    pub fn restore(&self) {
        self.state.up.store(true, Ordering::SeqCst);
    }
}

impl Drop for CuttableLink {
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}
