//! Throughput and latency of one chat room, and the server's memory per idle
//! chat WebSocket.
//!
//! The benchmark seeds a temporary SQLite file through the library: an
//! admin, an officer with API tokens, one client and their requests. It
//! then starts the `sandesh` binary as a child process on a free loopback
//! port, so that the memory of the benchmark's own clients does not count
//! as the server's. Every connection is the officer API's WebSocket,
//! `GET /api/v1/requests/{id}/ws` with `Authorization: Bearer <token>`.
//!
//! 1. Durable commits per second of one connection on the same file, before
//!    the server starts, with idle CPUs and with one CPU kept busy. Every
//!    chat message is stored in a write transaction of its own before it is
//!    sent to the room, so this is the least a message costs.
//! 2. Room runs. The officer the request is assigned to sends
//!    `{"type":"send",...}` frames, keeping at most a window of messages
//!    whose echo it has not yet received, while every member of the room
//!    records when each `{"type":"message",...}` frame arrives. The first
//!    run has the sender alone in the room (the baseline), the second has
//!    the sender and 99 admins reading along, and the third repeats the
//!    second with one message in flight, for latency without queueing.
//!    Each run uses a request of its own.
//! 3. Idle connections, spread over several requests' rooms. The server's
//!    `VmRSS` is read from `/proc/<pid>/status` before they open, once they
//!    are all open, and after they closed.
//!
//! Run with `cargo bench --bench chat`. Environment variables:
//!
//! - `SANDESH_BENCH_CHAT_MESSAGES`: messages each room run sends (default 2000);
//! - `SANDESH_BENCH_CHAT_MEMBERS`: WebSocket sessions in the large room,
//!   the sender included (default 100);
//! - `SANDESH_BENCH_CHAT_WINDOW`: messages the sender may have in flight,
//!   sent but not echoed back to it (default 16);
//! - `SANDESH_BENCH_IDLE_CONNECTIONS`: idle WebSockets to open (default 10000);
//! - `SANDESH_BENCH_IDLE_ROOMS`: requests the idle WebSockets are spread
//!   over (default 100);
//! - `SANDESH_BENCH_MAX_SECS`: each room run stops sending, and the idle
//!   phase stops opening, after this many seconds (default 120);
//! - `SANDESH_BENCH_COMMIT_SECS`: length of each commit-rate measurement in
//!   seconds (default 3);
//! - `SANDESH_BENCH_DIR`: folder for the temporary database (default: the
//!   system's temporary folder).
//!
//! It prints figures and asserts nothing about them. The server child is
//! killed by its PID when the run ends, also when it fails.

#[path = "support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::Utc;
use diesel::connection::SimpleConnection as _;
use diesel::prelude::*;
use futures_util::{SinkExt as _, StreamExt as _};
use tokio::net::TcpStream;
use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::header::{HeaderValue, AUTHORIZATION};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use sandesh::config::DatabaseSettings;
use sandesh::db::api_tokens::{ApiToken, NewApiToken};
use sandesh::db::client_requests::{origin, status, ClientRequest, NewClientRequest};
use sandesh::db::clients::{Client, NewClient};
use sandesh::db::ids::ClientRequestId;
use sandesh::db::organisation::{Corporation, NewCorporation};
use sandesh::db::schema::chat_messages;
use sandesh::db::staff::{NewStaffUser, Role, Scope, StaffUser};
use sandesh::db::{write_transaction, Database};
use sandesh::web::dashboard::session::{random_token, sha256_hex};
use support::{env_value, load_average, measure_commits, CommitRates, BUSY_TIMEOUT_MS};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long the server may take to respond to `GET /health` after it starts.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// Time limit of one WebSocket handshake, and of waiting for the history
/// frame that follows it.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// WebSocket handshakes in progress at once.
const CONNECT_CONCURRENCY: usize = 32;

/// After the sender stops, members wait this long for the remaining frames.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// The sender gives up when no echo arrives for this long with a full window.
const STALL_TIMEOUT: Duration = Duration::from_secs(15);

/// Time given to the server after connections open or close before its
/// memory is read, so that work queued by the handshakes has finished.
const SETTLE_TIME: Duration = Duration::from_secs(3);

/// Time limit of closing one WebSocket politely.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// How often progress is printed.
const PROGRESS_INTERVAL: Duration = Duration::from_secs(2);

/// File descriptors the benchmark process needs besides the idle sockets.
const SPARE_FILE_DESCRIPTORS: u64 = 200;

/// Run parameters, read from the environment.
#[derive(Debug, Clone)]
struct Options {
    messages: usize,
    members: usize,
    window: usize,
    idle_connections: usize,
    idle_rooms: usize,
    max_run: Duration,
    commit_duration: Duration,
    directory: Option<PathBuf>,
}

impl Options {
    fn from_env() -> anyhow::Result<Self> {
        let options = Self {
            messages: env_value("SANDESH_BENCH_CHAT_MESSAGES", 2_000)?,
            members: env_value("SANDESH_BENCH_CHAT_MEMBERS", 100)?,
            window: env_value("SANDESH_BENCH_CHAT_WINDOW", 16)?,
            idle_connections: env_value("SANDESH_BENCH_IDLE_CONNECTIONS", 10_000)?,
            idle_rooms: env_value("SANDESH_BENCH_IDLE_ROOMS", 100)?,
            max_run: Duration::from_secs(env_value("SANDESH_BENCH_MAX_SECS", 120)?),
            commit_duration: Duration::from_secs_f64(env_value("SANDESH_BENCH_COMMIT_SECS", 3.0)?),
            directory: std::env::var_os("SANDESH_BENCH_DIR").map(PathBuf::from),
        };
        anyhow::ensure!(options.messages > 0, "SANDESH_BENCH_CHAT_MESSAGES must be at least 1");
        anyhow::ensure!(options.members > 0, "SANDESH_BENCH_CHAT_MEMBERS must be at least 1");
        anyhow::ensure!(options.window > 0, "SANDESH_BENCH_CHAT_WINDOW must be at least 1");
        anyhow::ensure!(options.idle_rooms > 0, "SANDESH_BENCH_IDLE_ROOMS must be at least 1");
        let limit = open_files_limit()?;
        let needed = (options.idle_connections.max(options.members) as u64).saturating_add(SPARE_FILE_DESCRIPTORS);
        anyhow::ensure!(
            needed <= limit,
            "SANDESH_BENCH_IDLE_CONNECTIONS={} needs about {needed} open files, but the soft limit is {limit}: \
             lower it or raise the limit with `ulimit -n`",
            options.idle_connections
        );
        Ok(options)
    }
}

/// Returns the soft limit on open files of this process, which the server
/// child inherits.
fn open_files_limit() -> anyhow::Result<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").context("reading /proc/self/limits failed")?;
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))
        .context("/proc/self/limits has no 'Max open files' line")?;
    let soft = line.split_whitespace().nth(3).context("'Max open files' line has no soft limit")?;
    Ok(if soft == "unlimited" { u64::MAX } else { soft.parse().context("soft open files limit")? })
}

fn main() -> anyhow::Result<()> {
    let options = Options::from_env()?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("client runtime")?;
    runtime.block_on(run(options))
}

async fn run(options: Options) -> anyhow::Result<()> {
    let directory = match &options.directory {
        Some(parent) => tempfile::tempdir_in(parent),
        None => tempfile::tempdir(),
    }
    .context("creating the temporary folder failed")?;
    let database_path = directory.path().join("sandesh.db");
    let database_url = database_path.to_str().context("the temporary path is not UTF-8")?.to_owned();

    println!("chat benchmark");
    println!("  load average at start: {}", load_average());
    println!(
        "  {} CPU threads available; open files limit {}",
        std::thread::available_parallelism().map_or(0, usize::from),
        open_files_limit()?
    );
    let seeded = seed(&database_url, options.idle_rooms)?;
    println!("  seeded {} with {} requests", database_path.display(), seeded.idle_requests.len() + 3);

    let commits = measure_commits(&database_path, options.commit_duration, None).await?;

    let mut server = ServerProcess::spawn(directory.path(), &database_url)?;
    let result = measure(&mut server, &seeded, &options, &database_path, commits).await;
    if result.is_err() {
        eprintln!("  server log, last lines:\n{}", server.log_tail(20));
    }
    server.stop();
    println!("  load average at end: {}", load_average());
    result
}

/// Runs the room runs and the idle phase against a started server.
async fn measure(
    server: &mut ServerProcess,
    seeded: &Seeded,
    options: &Options,
    database_path: &Path,
    commits: CommitRates,
) -> anyhow::Result<()> {
    server.wait_until_healthy().await?;
    println!("  server pid {} listening on {}", server.pid, server.address);

    let baseline = run_room(server, seeded, seeded.baseline_request, 1, options.window, options).await?;
    let room = run_room(server, seeded, seeded.chat_request, options.members, options.window, options).await?;
    let unloaded = run_room(server, seeded, seeded.unloaded_request, options.members, 1, options).await?;
    let idle = run_idle(server, seeded, options).await?;

    let stored_baseline = count_stored(database_path, seeded.baseline_request)?;
    let stored_room = count_stored(database_path, seeded.chat_request)?;
    let stored_unloaded = count_stored(database_path, seeded.unloaded_request)?;

    println!();
    println!("results");
    baseline.print(&format!("room with the sender alone (baseline), window {}", options.window), stored_baseline);
    room.print(&format!("room with {} members, window {}", room.members, options.window), stored_room);
    unloaded.print(&format!("room with {} members, window 1", unloaded.members), stored_unloaded);
    println!(
        "  durable commits/s, one connection: {:.0} with idle CPUs, {:.0} with one CPU kept busy",
        commits.idle, commits.busy
    );
    if let (Some(room_rate), Some(baseline_rate)) = (room.messages_per_sec(), baseline.messages_per_sec()) {
        let members = room.members;
        println!("  messages/s, {members} members / 1 member                 {:.3}", room_rate / baseline_rate);
        println!("  messages/s, {members} members / commits/s (idle CPUs)    {:.3}", room_rate / commits.idle);
        println!("  messages/s, {members} members / commits/s (one CPU busy) {:.3}", room_rate / commits.busy);
        println!("  messages/s, 1 member / commits/s (idle CPUs)       {:.3}", baseline_rate / commits.idle);
        println!("  messages/s, 1 member / commits/s (one CPU busy)    {:.3}", baseline_rate / commits.busy);
    }
    idle.print();
    Ok(())
}

/// Ids and tokens of the seeded rows.
struct Seeded {
    /// Token of the officer the chat requests are assigned to.
    helper_token: String,
    /// Token of an admin, who may read every request but post in none.
    admin_token: String,
    /// Request of the large room run.
    chat_request: ClientRequestId,
    /// Request of the one-member baseline run.
    baseline_request: ClientRequestId,
    /// Request of the large room run with one message in flight.
    unloaded_request: ClientRequestId,
    /// Open requests the idle connections are spread over.
    idle_requests: Vec<ClientRequestId>,
}

/// Creates the database file (running migrations) and inserts one
/// corporation, an admin and an officer with a live API token each, one
/// client, three requests assigned to the officer and `idle_rooms` open
/// requests.
fn seed(database_url: &str, idle_rooms: usize) -> anyhow::Result<Seeded> {
    let settings = DatabaseSettings { url: database_url.to_owned(), ..DatabaseSettings::default() };
    let database = Database::open(&settings)?;
    let mut connection = database.connection()?;
    let now = Utc::now().naive_utc();
    let expires_at = now + chrono::Duration::days(1);
    let (helper_token, admin_token) = (random_token(), random_token());

    write_transaction(&mut connection, |connection| {
        let corporation = Corporation::insert(
            connection,
            &NewCorporation { name: "Bench corporation", address: "", area: "", created_at: now },
        )?;
        let mut staff = Vec::new();
        for (name, email, role) in
            [("Bench officer", "officer@bench.test", Role::Officer), ("Bench admin", "admin@bench.test", Role::Admin)]
        {
            staff.push(StaffUser::insert(
                connection,
                &NewStaffUser {
                    name,
                    email,
                    designation: "",
                    role: role.as_str(),
                    password_hash: "not used: the benchmark signs in with API tokens",
                    active: true,
                    created_at: now,
                    password_changed_at: now,
                },
            )?);
        }
        let (helper, admin) = (&staff[0], &staff[1]);
        StaffUser::assign_corporation(connection, helper.id, corporation.id)?;
        for (user, token) in [(helper, &helper_token), (admin, &admin_token)] {
            let token_hash = sha256_hex(token);
            ApiToken::insert(
                connection,
                &NewApiToken { token_hash: &token_hash, staff_id: user.id, created_at: now, expires_at },
            )?;
        }

        let client = Client::insert(
            connection,
            &NewClient {
                whatsapp_id: "919800000001",
                phone: Some("+919800000001"),
                display_name: "Bench client",
                language: "en",
                login: "bench-client",
                password_hash: "not used: the benchmark does not sign in as the client",
                password_expires_at: now,
                created_at: now,
                last_message_at: now,
            },
        )?;
        let mut insert_request = |description: &str| {
            ClientRequest::insert(
                connection,
                &NewClientRequest {
                    client_id: client.id,
                    corporation_id: corporation.id,
                    origin: origin::CHAT,
                    category: "other",
                    contact_name: "Bench client",
                    contact_phone: "+919800000001",
                    description,
                    status: status::OPEN,
                    created_at: now,
                    updated_at: now,
                },
            )
            .map(|request| request.id)
        };
        let chat_request = insert_request("large room run")?;
        let baseline_request = insert_request("one-member baseline run")?;
        let unloaded_request = insert_request("large room run, one message in flight")?;
        let idle_requests = (0..idle_rooms)
            .map(|room| insert_request(&format!("idle room {room}")))
            .collect::<QueryResult<Vec<_>>>()?;

        let scope = Scope::Corporations(vec![corporation.id]);
        for request in [chat_request, baseline_request, unloaded_request] {
            ClientRequest::accept(connection, request, helper.id, &scope, u32::MAX, now)?;
        }
        Ok::<_, anyhow::Error>(Seeded {
            helper_token,
            admin_token,
            chat_request,
            baseline_request,
            unloaded_request,
            idle_requests,
        })
    })
}

/// Counts the stored chat messages of `request` through a connection of the
/// benchmark's own.
fn count_stored(path: &Path, request: ClientRequestId) -> anyhow::Result<i64> {
    let url = path.to_str().context("database path is not UTF-8")?;
    let mut connection = diesel::SqliteConnection::establish(url).context("open the database to count messages")?;
    connection.batch_execute(&format!("PRAGMA busy_timeout = {BUSY_TIMEOUT_MS};"))?;
    Ok(chat_messages::table.filter(chat_messages::request_id.eq(request.0)).count().get_result(&mut connection)?)
}

/// The `sandesh serve` child process. Dropping it kills the process by its
/// PID, so that no error path leaves a server running.
struct ServerProcess {
    child: Child,
    pid: u32,
    /// `127.0.0.1:<port>`.
    address: String,
    log_path: PathBuf,
    http: reqwest::Client,
}

impl ServerProcess {
    /// Starts `env!("CARGO_BIN_EXE_sandesh") serve` in `directory`, configured
    /// through `SANDESH__…` variables: loopback on a free port, the given
    /// database, the log provider (no SMS leaves the machine) and warnings
    /// only in its log file.
    fn spawn(directory: &Path, database_url: &str) -> anyhow::Result<Self> {
        let port = free_port()?;
        let log_path = directory.join("server.log");
        let log = std::fs::File::create(&log_path).context("creating the server log file failed")?;
        let log_for_stderr = log.try_clone().context("duplicating the server log file failed")?;
        let files = directory.join("files");
        let child = Command::new(env!("CARGO_BIN_EXE_sandesh"))
            .arg("serve")
            .current_dir(directory)
            .env("SANDESH__SERVER__HOST", "127.0.0.1")
            .env("SANDESH__SERVER__PORT", port.to_string())
            .env("SANDESH__DATABASE__URL", database_url)
            .env("SANDESH__SMS__INBOUND_TOKEN", random_token())
            .env("SANDESH__OUTBOX__PROVIDER", "log")
            .env("SANDESH__CHAT__FILES_DIR", files.to_str().context("the temporary path is not UTF-8")?)
            .env("SANDESH__LOG__FILTER", "warn")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_for_stderr)
            .spawn()
            .context("starting the sandesh binary failed")?;
        let pid = child.id();
        let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().context("HTTP client builds")?;
        Ok(Self { child, pid, address: format!("127.0.0.1:{port}"), log_path, http })
    }

    /// Polls `GET /health` every 100 ms until it returns 200, the process
    /// exits, or [`STARTUP_TIMEOUT`] passes.
    async fn wait_until_healthy(&mut self) -> anyhow::Result<()> {
        let started = Instant::now();
        let url = format!("http://{}/health", self.address);
        loop {
            if let Some(exit) = self.child.try_wait().context("checking the server process failed")? {
                anyhow::bail!("the server exited during start-up with {exit}");
            }
            if let Ok(response) = self.http.get(&url).send().await {
                if response.status().is_success() {
                    return Ok(());
                }
            }
            anyhow::ensure!(
                started.elapsed() < STARTUP_TIMEOUT,
                "the server did not answer {url} within {STARTUP_TIMEOUT:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Returns the server's memory figures from `/proc/<pid>/status`.
    fn memory(&self) -> anyhow::Result<Memory> {
        let path = format!("/proc/{}/status", self.pid);
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path} failed"))?;
        let field = |name: &str| -> anyhow::Result<u64> {
            let line =
                text.lines().find(|line| line.starts_with(name)).with_context(|| format!("{path} has no {name}"))?;
            let kib = line.split_whitespace().nth(1).with_context(|| format!("{path}: {name} has no value"))?;
            kib.parse().with_context(|| format!("{path}: invalid {name} value {kib:?}"))
        };
        Ok(Memory { rss_kib: field("VmRSS:")?, peak_kib: field("VmHWM:")? })
    }

    /// Counts the server's open file descriptors.
    fn open_files(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid)).map_or(0, Iterator::count)
    }

    /// Returns the CPU time the server used so far, user and system, from
    /// `/proc/<pid>/stat`.
    fn cpu_time(&self) -> Option<Duration> {
        let text = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).ok()?;
        // The command name in brackets may contain spaces; fields after it
        // start with the state, field 3 of proc(5).
        let fields: Vec<&str> = text.rsplit_once(')')?.1.split_whitespace().collect();
        let user: u64 = fields.get(11)?.parse().ok()?;
        let system: u64 = fields.get(12)?.parse().ok()?;
        Some(Duration::from_secs_f64((user + system) as f64 / clock_ticks_per_sec()))
    }

    fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Kills the server by its PID and waits for it.
    fn stop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            if let Err(error) = self.child.kill() {
                eprintln!("  killing server pid {} failed: {error}", self.pid);
            }
        }
        if let Err(error) = self.child.wait() {
            eprintln!("  waiting for server pid {} failed: {error}", self.pid);
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Returns a TCP port on 127.0.0.1 that was free a moment ago.
fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("binding a free loopback port failed")?;
    Ok(listener.local_addr()?.port())
}

/// Returns the kernel's clock ticks per second (`getconf CLK_TCK`), or 100,
/// the value on Linux for x86 and ARM, if `getconf` is missing.
fn clock_ticks_per_sec() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|output| String::from_utf8(output.stdout).ok())
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// The server's resident memory now and at its peak, in KiB.
#[derive(Debug, Clone, Copy)]
struct Memory {
    rss_kib: u64,
    peak_kib: u64,
}

/// Opens the officer API WebSocket of `request` with `token` and reads up
/// to the first `history` frame, so that the session has joined the room
/// when this returns.
async fn connect(address: &str, request: ClientRequestId, token: &str) -> anyhow::Result<Socket> {
    let url = format!("ws://{address}/api/v1/requests/{request}/ws");
    let mut handshake = url.as_str().into_client_request()?;
    handshake.headers_mut().insert(AUTHORIZATION, HeaderValue::from_str(&format!("Bearer {token}"))?);
    let connecting = tokio_tungstenite::connect_async_with_config(handshake, None, true);
    let (mut socket, _) = tokio::time::timeout(CONNECT_TIMEOUT, connecting)
        .await
        .with_context(|| format!("WebSocket handshake with {url} timed out after {CONNECT_TIMEOUT:?}"))?
        .with_context(|| format!("WebSocket handshake with {url} failed"))?;

    let deadline = tokio::time::Instant::now() + CONNECT_TIMEOUT;
    loop {
        let frame = tokio::time::timeout_at(deadline, socket.next())
            .await
            .with_context(|| format!("no history frame from {url} within {CONNECT_TIMEOUT:?}"))?;
        let text = match frame {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(close))) => anyhow::bail!("{url} closed before the history frame: {close:?}"),
            Some(Ok(_)) => continue,
            Some(Err(error)) => return Err(error).with_context(|| format!("reading from {url} failed")),
            None => anyhow::bail!("{url} ended before the history frame"),
        };
        let frame: serde_json::Value = serde_json::from_str(text.as_str())
            .with_context(|| format!("{url} sent a frame that is not JSON: {}", text.as_str()))?;
        match frame["type"].as_str() {
            Some("history") => return Ok(socket),
            Some("error") => anyhow::bail!("{url} sent an error before the history frame: {}", frame["message"]),
            _ => continue,
        }
    }
}

/// Returns the `client_id` of a benchmark message: a version 4 UUID whose
/// first group marks the run and whose last group is the message number.
fn client_message_id(run: u32, index: usize) -> String {
    format!("{run:08x}-0000-4000-8000-{index:012x}")
}

/// Returns the message number of a `client_id` made by [`client_message_id`]
/// for `run`.
fn message_index(run: u32, client_id: &str) -> Option<usize> {
    let (prefix, index) = client_id.rsplit_once('-')?;
    if prefix != format!("{run:08x}-0000-4000-8000") {
        return None;
    }
    usize::from_str_radix(index, 16).ok()
}

/// Frames one member of a room run received.
struct Received {
    /// Arrival time per message number.
    arrivals: Vec<Option<Instant>>,
    /// Frames of type `error`, and the first of them.
    errors: usize,
    first_error: Option<String>,
    /// Reason the member stopped reading before all messages arrived, if it did.
    ended_early: Option<String>,
}

/// Figures of one room run.
struct RoomReport {
    members: usize,
    sent: Vec<Instant>,
    received: Vec<Received>,
    sender_stopped: Option<String>,
    server_cpu: Option<Duration>,
}

/// Fills one room with `members` WebSocket sessions and sends
/// `options.messages` messages from the first, which belongs to the
/// officer the request is assigned to, with at most `window` of them sent
/// but not yet echoed back to it. The other sessions are the admin's.
async fn run_room(
    server: &ServerProcess,
    seeded: &Seeded,
    request: ClientRequestId,
    members: usize,
    window: usize,
    options: &Options,
) -> anyhow::Result<RoomReport> {
    println!("  room run: {members} members, {} messages, window {window}", options.messages);
    let run: u32 = rand::random();
    let sender = connect(&server.address, request, &seeded.helper_token).await?;
    let listeners: Vec<anyhow::Result<Socket>> = futures_util::stream::iter(1..members)
        .map(|_| connect(&server.address, request, &seeded.admin_token))
        .buffer_unordered(CONNECT_CONCURRENCY)
        .collect()
        .await;
    let listeners = listeners.into_iter().collect::<anyhow::Result<Vec<_>>>()?;
    let cpu_before = server.cpu_time();

    let (mut sink, sender_stream) = sender.split();
    let echoed = Arc::new(AtomicUsize::new(0));
    let echo_arrived = Arc::new(Notify::new());
    let sent_total = Arc::new(AtomicUsize::new(usize::MAX));
    let hard_deadline = Instant::now() + options.max_run + DRAIN_TIMEOUT;
    let messages = options.messages;

    let mut readers = JoinSet::new();
    {
        let (echoed, echo_arrived, sent_total) = (echoed.clone(), echo_arrived.clone(), sent_total.clone());
        readers.spawn(async move {
            let mut stream = sender_stream;
            let on_message = || {
                echoed.fetch_add(1, Ordering::Release);
                echo_arrived.notify_one();
            };
            (0, read_room(&mut stream, run, messages, &sent_total, hard_deadline, on_message).await)
        });
    }
    for (member, mut socket) in listeners.into_iter().enumerate() {
        let sent_total = sent_total.clone();
        readers.spawn(async move {
            let received = read_room(&mut socket, run, messages, &sent_total, hard_deadline, || {}).await;
            // The figures are taken; a failed close changes none of them.
            let _ = tokio::time::timeout(CLOSE_TIMEOUT, socket.close(None)).await;
            (member + 1, received)
        });
    }

    let started = Instant::now();
    let mut sent = Vec::with_capacity(messages);
    let mut sender_stopped = None;
    let mut last_progress = Instant::now();
    while sent.len() < messages {
        if started.elapsed() >= options.max_run {
            sender_stopped = Some(format!("stopped sending after {:?} (SANDESH_BENCH_MAX_SECS)", options.max_run));
            break;
        }
        let waiting_since = Instant::now();
        while sent.len() - echoed.load(Ordering::Acquire).min(sent.len()) >= window {
            if waiting_since.elapsed() >= STALL_TIMEOUT {
                break;
            }
            // A lost wake-up costs at most this poll interval.
            let _ = tokio::time::timeout(Duration::from_millis(50), echo_arrived.notified()).await;
        }
        if waiting_since.elapsed() >= STALL_TIMEOUT {
            sender_stopped = Some(format!("no echo of its own messages for {STALL_TIMEOUT:?} with {window} in flight"));
            break;
        }
        let index = sent.len();
        let frame = serde_json::json!({
            "type": "send",
            "client_id": client_message_id(run, index),
            "text": format!("benchmark message {index}"),
        });
        sent.push(Instant::now());
        if let Err(error) = sink.send(Message::text(frame.to_string())).await {
            sent.pop();
            sender_stopped = Some(format!("sending failed: {error}"));
            break;
        }
        if last_progress.elapsed() >= PROGRESS_INTERVAL {
            let echoes = echoed.load(Ordering::Acquire);
            println!(
                "  {:>5.1} s: {} sent, {echoes} echoed to the sender",
                started.elapsed().as_secs_f64(),
                sent.len()
            );
            last_progress = Instant::now();
        }
    }
    sent_total.store(sent.len(), Ordering::Release);

    let mut received: Vec<(usize, Received)> = Vec::with_capacity(members);
    while let Some(joined) = readers.join_next().await {
        received.push(joined.context("a room member task panicked")?);
    }
    received.sort_by_key(|(member, _)| *member);
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, sink.close()).await;
    let server_cpu = cpu_before.zip(server.cpu_time()).map(|(before, after)| after.saturating_sub(before));
    Ok(RoomReport {
        members,
        sent,
        received: received.into_iter().map(|(_, received)| received).collect(),
        sender_stopped,
        server_cpu,
    })
}

/// Reads a room member's frames and records when each benchmark message
/// arrives, until every sent message arrived (`sent_total` contains the count
/// once the sender stopped) or `deadline` passes. Calls `on_message` for
/// each first arrival.
async fn read_room<S>(
    stream: &mut S,
    run: u32,
    messages: usize,
    sent_total: &AtomicUsize,
    deadline: Instant,
    mut on_message: impl FnMut(),
) -> Received
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    let mut received = Received { arrivals: vec![None; messages], errors: 0, first_error: None, ended_early: None };
    let mut count = 0;
    loop {
        if count >= sent_total.load(Ordering::Acquire) {
            return received;
        }
        if Instant::now() >= deadline {
            received.ended_early = Some(format!("{count} messages had arrived when the time limit passed"));
            return received;
        }
        let text = match tokio::time::timeout(Duration::from_millis(100), stream.next()).await {
            Err(_) => continue,
            Ok(Some(Ok(Message::Text(text)))) => text,
            Ok(Some(Ok(Message::Close(close)))) => {
                received.ended_early = Some(format!("the server closed the socket: {close:?}"));
                return received;
            }
            Ok(Some(Ok(_))) => continue,
            Ok(Some(Err(error))) => {
                received.ended_early = Some(format!("reading failed: {error}"));
                return received;
            }
            Ok(None) => {
                received.ended_early = Some("the socket ended".to_owned());
                return received;
            }
        };
        let arrived = Instant::now();
        let Ok(frame) = serde_json::from_str::<serde_json::Value>(text.as_str()) else {
            continue;
        };
        match frame["type"].as_str() {
            Some("message") => {
                let index = frame["message"]["client_id"].as_str().and_then(|id| message_index(run, id));
                if let Some(slot) = index.and_then(|index| received.arrivals.get_mut(index)) {
                    if slot.is_none() {
                        *slot = Some(arrived);
                        count += 1;
                        on_message();
                    }
                }
            }
            Some("error") => {
                received.errors += 1;
                if received.first_error.is_none() {
                    received.first_error = Some(frame["message"].to_string());
                }
            }
            _ => {}
        }
    }
}

impl RoomReport {
    /// Returns, per sent message, when the last member received it, or
    /// `None` for a message some member never received.
    fn completions(&self) -> Vec<Option<Instant>> {
        (0..self.sent.len())
            .map(|index| {
                let mut latest: Option<Instant> = None;
                for member in &self.received {
                    let arrival = member.arrivals[index]?;
                    latest = Some(latest.map_or(arrival, |latest| latest.max(arrival)));
                }
                latest
            })
            .collect()
    }

    /// Returns messages received by every member per second, from the first
    /// send to the last such message's last arrival.
    fn messages_per_sec(&self) -> Option<f64> {
        let first = *self.sent.first()?;
        let completions: Vec<Instant> = self.completions().into_iter().flatten().collect();
        let last = completions.iter().max()?;
        let seconds = last.duration_since(first).as_secs_f64();
        (seconds > 0.0).then(|| completions.len() as f64 / seconds)
    }

    /// Milliseconds from each send to each arrival at the members selected
    /// by `members`, sorted.
    fn latencies(&self, members: std::ops::Range<usize>) -> Vec<f64> {
        let mut latencies: Vec<f64> = self.received[members]
            .iter()
            .flat_map(|member| {
                member.arrivals.iter().zip(&self.sent).filter_map(|(arrival, sent)| {
                    arrival.map(|arrival| arrival.duration_since(*sent).as_secs_f64() * 1_000.0)
                })
            })
            .collect();
        latencies.sort_by(f64::total_cmp);
        latencies
    }

    fn print(&self, title: &str, stored: i64) {
        let deliveries: usize = self.received.iter().map(|member| member.arrivals.iter().flatten().count()).sum();
        let complete = self.completions().iter().flatten().count();
        println!("  {title}");

        println!("    messages sent                       {}", self.sent.len());
        println!("    messages stored for the request     {stored}");
        println!("    messages received by every member   {complete}");
        println!("    deliveries, received / expected     {deliveries} / {}", self.sent.len() * self.members);
        if let Some(reason) = &self.sender_stopped {
            println!("    the sender stopped early: {reason}");
        }

        let errors: usize = self.received.iter().map(|member| member.errors).sum();
        if let Some(first) = self.received.iter().find_map(|member| member.first_error.as_ref()) {
            println!("    error frames                        {errors}, the first: {first}");
        }
        let ended: Vec<&String> = self.received.iter().filter_map(|member| member.ended_early.as_ref()).collect();
        if let Some(first) = ended.first() {
            println!("    members that stopped early          {}, the first: {first}", ended.len());
        }

        match self.messages_per_sec() {
            Some(rate) => {
                println!("    messages/s received by every member {rate:.0}");
                println!("    deliveries/s                        {:.0}", rate * self.members as f64);
            }
            None => println!("    messages/s                          n/a: no message reached every member"),
        }
        if let Some(cpu) = self.server_cpu.filter(|_| !self.sent.is_empty()) {
            println!(
                "    server CPU time                     {:.2} s, {:.2} ms per message",
                cpu.as_secs_f64(),
                cpu.as_secs_f64() * 1_000.0 / self.sent.len() as f64
            );
        }

        print_percentiles("send -> echo to the sender (ms)", &self.latencies(0..1));
        if self.members > 1 {
            print_percentiles("send -> arrival at the other members (ms)", &self.latencies(1..self.members));
        }
    }
}

/// Figures of the idle phase.
struct IdleReport {
    requested: usize,
    opened: usize,
    failed: usize,
    first_failure: Option<String>,
    closed_by_server: usize,
    frames_while_idle: usize,
    open_seconds: f64,
    before: Memory,
    after_open: Memory,
    after_close: Memory,
    open_files: (usize, usize, usize),
}

/// Keeps reading one idle WebSocket, so that the client returns pongs to
/// the server's pings, until `stop` changes, then closes the socket.
async fn hold_idle(
    mut socket: Socket,
    mut stop: watch::Receiver<bool>,
    frames: Arc<AtomicUsize>,
    closed_by_server: Arc<AtomicUsize>,
) {
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            frame = socket.next() => match frame {
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => {
                    closed_by_server.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                Some(Ok(_)) => {
                    frames.fetch_add(1, Ordering::Relaxed);
                }
            },
        }
    }
    // The figures are taken; a failed close changes none of them.
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, socket.close(None)).await;
}

/// Opens `options.idle_connections` WebSockets as the admin, spread over the
/// idle requests, and reads the server's memory before, with all open, and
/// after closing them.
async fn run_idle(server: &ServerProcess, seeded: &Seeded, options: &Options) -> anyhow::Result<IdleReport> {
    let requested = options.idle_connections;
    println!("  idle phase: {requested} connections over {} rooms", seeded.idle_requests.len());
    // A few connections opened and closed first, so that what the first
    // connection sets up once does not count per connection.
    for request in seeded.idle_requests.iter().take(4) {
        let mut socket = connect(&server.address, *request, &seeded.admin_token).await?;
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, socket.close(None)).await;
    }
    tokio::time::sleep(SETTLE_TIME).await;
    let before = server.memory()?;
    let files_before = server.open_files();
    println!("    before: VmRSS {} KiB, {files_before} open files", before.rss_kib);

    let (stop, stop_requested) = watch::channel(false);
    let frames = Arc::new(AtomicUsize::new(0));
    let closed_by_server = Arc::new(AtomicUsize::new(0));
    let mut holders = JoinSet::new();
    let mut failed = 0;
    let mut first_failure = None;
    let started = Instant::now();
    let mut last_progress = Instant::now();
    let rooms = &seeded.idle_requests;
    let mut opening = futures_util::stream::iter(0..requested)
        .map(|index| {
            let request = rooms[index % rooms.len()];
            async move {
                if started.elapsed() >= options.max_run {
                    anyhow::bail!("not opened: SANDESH_BENCH_MAX_SECS passed");
                }
                connect(&server.address, request, &seeded.admin_token).await
            }
        })
        .buffer_unordered(CONNECT_CONCURRENCY);
    while let Some(result) = opening.next().await {
        match result {
            Ok(socket) => {
                holders.spawn(hold_idle(socket, stop_requested.clone(), frames.clone(), closed_by_server.clone()));
            }
            Err(error) => {
                failed += 1;
                first_failure.get_or_insert_with(|| format!("{error:#}"));
            }
        }
        if last_progress.elapsed() >= PROGRESS_INTERVAL {
            let rss = server.memory().map_or(0, |memory| memory.rss_kib);
            println!(
                "    {:>5.1} s: {} open, {failed} failed, server VmRSS {rss} KiB",
                started.elapsed().as_secs_f64(),
                holders.len()
            );
            last_progress = Instant::now();
        }
    }
    let open_seconds = started.elapsed().as_secs_f64();
    let opened = holders.len();
    tokio::time::sleep(SETTLE_TIME).await;
    let after_open = server.memory()?;
    let files_open = server.open_files();
    let frames_while_idle = frames.load(Ordering::Relaxed);

    stop.send_replace(true);
    while let Some(joined) = holders.join_next().await {
        joined.context("an idle connection task panicked")?;
    }
    tokio::time::sleep(SETTLE_TIME).await;
    let after_close = server.memory()?;
    let files_closed = server.open_files();
    Ok(IdleReport {
        requested,
        opened,
        failed,
        first_failure,
        closed_by_server: closed_by_server.load(Ordering::Relaxed),
        frames_while_idle,
        open_seconds,
        before,
        after_open,
        after_close,
        open_files: (files_before, files_open, files_closed),
    })
}

impl IdleReport {
    fn print(&self) {
        let (files_before, files_open, files_closed) = self.open_files;
        println!("  idle connections");
        println!("    requested / opened / failed         {} / {} / {}", self.requested, self.opened, self.failed);
        if let Some(failure) = &self.first_failure {
            println!("    first failure: {failure}");
        }
        println!("    closed by the server while idle     {}", self.closed_by_server);
        println!("    frames received while idle          {}", self.frames_while_idle);
        println!("    opening took                        {:.1} s", self.open_seconds);
        println!(
            "    server open files before / open / after closing   {files_before} / {files_open} / {files_closed}"
        );
        println!(
            "    server VmRSS before / all open / after closing    {} / {} / {} KiB",
            self.before.rss_kib, self.after_open.rss_kib, self.after_close.rss_kib
        );
        println!("    server VmHWM at the end             {} KiB", self.after_close.peak_kib);
        if self.opened > 0 {
            let grown = self.after_open.rss_kib as f64 - self.before.rss_kib as f64;
            println!(
                "    memory per idle connection          {:.1} KiB ((all open - before) / {})",
                grown / self.opened as f64,
                self.opened
            );
        }
    }
}

/// Returns the value at rank `fraction` of `sorted` by the nearest-rank method.
fn percentile(sorted: &[f64], fraction: f64) -> f64 {
    let rank = (fraction * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn print_percentiles(label: &str, sorted: &[f64]) {
    if sorted.is_empty() {
        println!("    {label}: no samples");
        return;
    }
    println!(
        "    {label}: p50 {:.1}, p99 {:.1}, max {:.1} ({} samples)",
        percentile(sorted, 0.50),
        percentile(sorted, 0.99),
        sorted[sorted.len() - 1],
        sorted.len()
    );
}
