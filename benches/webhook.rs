//! Throughput of the SMS webhook and the booking engine, end to end.
//!
//! Starts the application in-process on loopback with a temporary SQLite
//! file and the in-memory SMS provider, sends synthetic booking SMS through
//! the HTTP webhook from several concurrent clients, and reports bookings
//! per second, the latency from each request to its task, and the webhook's
//! response latency. Before and after the bookings it measures how many
//! durable single-row commits per second one connection gets on the same
//! database file, because every write transaction of the application ends
//! in such a commit (an fsync of the write-ahead log).
//!
//! Run with `cargo bench --bench webhook`. Environment variables:
//!
//! - `SANDESH_BENCH_MESSAGES`: booking SMS to send (default 10000);
//! - `SANDESH_BENCH_CLIENTS`: concurrent HTTP clients (default 16);
//! - `SANDESH_BENCH_AGENTS`: agents the messages are spread over (default 64);
//! - `SANDESH_BENCH_MAX_SECS`: clients stop sending after this many seconds
//!   (default 90), so a slow disk cannot make a run take much longer;
//! - `SANDESH_BENCH_COMMIT_SECS`: length of each of the four commit-rate
//!   measurements in seconds (default 3);
//! - `SANDESH_BENCH_DIR`: folder for the temporary database (default: the
//!   system's temporary folder), to measure another disk.
//!
//! It prints figures and asserts nothing about them.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::connection::SimpleConnection as _;
use diesel::prelude::*;
use diesel::sql_types::Text;
use tokio::task::JoinSet;

use common::{days_after, Fixture, TestApp, TestConfig};
use sandesh::config::OutboxSettings;
use sandesh::db::ids::TaskId;
use sandesh::db::inbound::InboundMessage;
use sandesh::db::outbound::OutboundMessage;
use sandesh::db::schema::tasks;
use sandesh::db::tasks::Task;
use support::{env_value, load_average, measure_commits, BUSY_TIMEOUT_MS};

/// How long the benchmark waits for the engine to process what the clients
/// sent, and for the outbox to send the replies, before it reports anyway.
/// It is longer than the agent registry's 60 s sweep, which retries
/// messages whose processing failed.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(75);

/// How often the commit observer looks for new tasks.
const OBSERVE_INTERVAL: Duration = Duration::from_millis(2);

/// The commit observer stops after this long even if its stop flag is never set.
const OBSERVE_LIMIT: Duration = Duration::from_secs(300);

/// How often progress is printed.
const PROGRESS_INTERVAL: Duration = Duration::from_secs(2);

/// Run parameters, read from the environment.
#[derive(Debug, Clone)]
struct Options {
    messages: usize,
    clients: usize,
    agents: usize,
    max_send: Duration,
    commit_duration: Duration,
    directory: Option<PathBuf>,
}

impl Options {
    fn from_env() -> anyhow::Result<Self> {
        let options = Self {
            messages: env_value("SANDESH_BENCH_MESSAGES", 10_000)?,
            clients: env_value("SANDESH_BENCH_CLIENTS", 16)?,
            agents: env_value("SANDESH_BENCH_AGENTS", 64)?,
            max_send: Duration::from_secs(env_value("SANDESH_BENCH_MAX_SECS", 90)?),
            commit_duration: Duration::from_secs_f64(env_value("SANDESH_BENCH_COMMIT_SECS", 3.0)?),
            directory: std::env::var_os("SANDESH_BENCH_DIR").map(PathBuf::from),
        };
        anyhow::ensure!(options.messages > 0, "SANDESH_BENCH_MESSAGES must be at least 1");
        anyhow::ensure!(options.messages < 90_000_000, "SANDESH_BENCH_MESSAGES must be below 90000000");
        anyhow::ensure!(options.clients > 0, "SANDESH_BENCH_CLIENTS must be at least 1");
        anyhow::ensure!((1..=99_999_999).contains(&options.agents), "SANDESH_BENCH_AGENTS must be 1 to 99999999");
        Ok(options)
    }
}

/// One webhook call as a client saw it.
#[derive(Debug, Clone, Copy)]
struct Sent {
    index: usize,
    /// Wall-clock time just before the request, comparable with
    /// `tasks.created_at`.
    sent_at: DateTime<Utc>,
    response_time: Duration,
    status: u16,
}

fn agent_id(index: usize, agents: usize) -> usize {
    index % agents + 1
}

fn agent_phone(id: usize) -> String {
    format!("+9197{id:08}")
}

/// Returns a distinct Indian mobile number per message, so that each task
/// can be matched to its request.
fn beneficiary_digits(index: usize) -> String {
    format!("9{:09}", 100_000_000 + index)
}

fn main() -> anyhow::Result<()> {
    let options = Options::from_env()?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("client runtime")?;
    runtime.block_on(run(options))
}

async fn run(options: Options) -> anyhow::Result<()> {
    let mut config = match &options.directory {
        Some(directory) => TestConfig::new_in(directory),
        None => TestConfig::new(),
    };
    // Production defaults where the test harness differs.
    config.settings.server.workers = 0;
    config.settings.outbox.poll_interval_ms = OutboxSettings::default().poll_interval_ms;
    if std::env::var_os("RUST_LOG").is_some() {
        sandesh::telemetry::init(&config.settings.log);
    }

    let slot_date = days_after(config.today(), 2);
    let capacity = i32::try_from(options.messages).context("message count fits a slot capacity")?;
    let fixture = (1..=options.agents).fold(Fixture::new(slot_date).capacity(capacity), |fixture, id| {
        fixture.agent(i32::try_from(id).unwrap_or(i32::MAX), &agent_phone(id))
    });
    config.seed(&fixture);
    let database_path = config.database_path();
    println!("webhook benchmark");
    println!("  load average at start: {}", load_average());
    let commits_before = measure_commits(&database_path, options.commit_duration, Some("before the bookings")).await?;
    let app = Arc::new(TestApp::spawn(config).await);
    let pragmas = app.db(read_pragmas).await;

    println!(
        "  {} messages, {} clients, {} agents, database {} ({pragmas})",
        options.messages,
        options.clients,
        options.agents,
        database_path.display()
    );
    println!(
        "  {} CPU threads available, HTTP workers: one per core, pool size {}",
        std::thread::available_parallelism().map_or(0, usize::from),
        app.config.settings.database.pool_size
    );

    let stop_observer = Arc::new(AtomicBool::new(false));
    let observer = observe_commits(database_path.clone(), stop_observer.clone())?;
    let started = Instant::now();
    let started_at = Utc::now().naive_utc();
    let sent = send_all(&app, &options, started).await;
    let sending_done = started.elapsed();
    let accepted = sent.iter().filter(|call| call.status == 200).count();
    println!("  sending finished after {:.1} s: {accepted} accepted of {}", sending_done.as_secs_f64(), sent.len());

    let processed_after = wait_for(&app, "the engine to process every message", started, |connection| {
        InboundMessage::count_pending(connection).map(|pending| pending == 0)
    })
    .await;
    let outbox_after = wait_for(&app, "the outbox to send every reply", started, |connection| {
        OutboundMessage::count_due(connection, Utc::now().naive_utc()).map(|due| due == 0)
    })
    .await;

    stop_observer.store(true, Ordering::Relaxed);
    let observed: Vec<TaskTime> = tokio::task::spawn_blocking(move || observer.join())
        .await
        .context("observer join task")?
        .map_err(|_| anyhow::anyhow!("the commit observer thread panicked"))??;
    let created: Vec<TaskTime> =
        app.db(|connection| tasks::table.select((tasks::beneficiary_phone, tasks::created_at)).load(connection)).await;
    let booked = created.len();
    let flags = app.flags().await;
    let created_latencies = latencies_to_tasks(&sent, &created);
    let commit_latencies = latencies_to_tasks(&sent, &observed);
    let mut response_latencies: Vec<f64> = sent.iter().map(|call| call.response_time.as_secs_f64() * 1_000.0).collect();
    response_latencies.sort_by(f64::total_cmp);

    // The application stops first, so that its outbox polls and this
    // measurement do not wait for each other's write lock.
    let app = Arc::into_inner(app).context("a client task still holds the application")?;
    // The returned config keeps the temporary folder, and so the database
    // file, alive until the end of the run.
    let stopped = app.stop().await;
    let commits_after = measure_commits(&database_path, options.commit_duration, Some("after the bookings")).await?;
    let commits_idle = (commits_before.idle + commits_after.idle) / 2.0;
    let commits_busy = (commits_before.busy + commits_after.busy) / 2.0;

    let bookings_per_sec = processed_after.map(|elapsed| booked as f64 / elapsed.as_secs_f64());
    let bookings_per_sec_99 = rate_until_fraction(&observed, started_at, 0.99);
    println!();
    println!("results");
    println!("  requests sent                  {}", sent.len());
    println!("  webhook answers 200            {accepted}");
    for (status, count) in status_counts(&sent) {
        if status != 200 {
            println!("  webhook answers {status}            {count}");
        }
    }
    println!("  tasks booked                   {booked}");
    println!("  flags                          {}", flags.len());
    for (reason, count) in flag_counts(&flags) {
        println!("    {reason}: {count}");
    }
    println!("  webhook accepted/s             {:.0}", accepted as f64 / sending_done.as_secs_f64());
    match bookings_per_sec {
        Some(rate) => println!("  bookings/s, first request to last task committed     {rate:.0}"),
        None => println!("  bookings/s                     n/a: processing did not finish in time"),
    }
    if let Some(rate) = bookings_per_sec_99 {
        println!("  bookings/s, first request to 99% of tasks committed  {rate:.0}");
    }
    if let Some(elapsed) = outbox_after {
        println!("  outbox drained after           {:.1} s", elapsed.as_secs_f64());
    }
    print_percentiles("request sent -> task created_at (ms)", &created_latencies);
    print_percentiles("request sent -> task seen committed (ms)", &commit_latencies);
    print_percentiles("webhook response (ms)", &response_latencies);
    println!(
        "  durable commits/s, 1 connection, idle CPUs: {:.0} before, {:.0} after, mean {commits_idle:.0}",
        commits_before.idle, commits_after.idle
    );
    println!(
        "  durable commits/s, 1 connection, one CPU kept busy: {:.0} before, {:.0} after, mean {commits_busy:.0}",
        commits_before.busy, commits_after.busy
    );
    if let Some(rate) = bookings_per_sec_99.filter(|_| commits_idle > 0.0 && commits_busy > 0.0) {
        println!("  bookings/s (99%) / commits/s (idle CPUs)     {:.3}", rate / commits_idle);
        println!("  bookings/s (99%) / commits/s (one CPU busy)  {:.3}", rate / commits_busy);
    }
    println!("  load average at end: {}", load_average());
    drop(stopped);
    Ok(())
}

/// Sends `options.messages` booking SMS from `options.clients` concurrent
/// clients, each taking the next message number, until all are sent or
/// `options.max_send` has passed.
async fn send_all(app: &Arc<TestApp>, options: &Options, started: Instant) -> Vec<Sent> {
    let next = Arc::new(AtomicUsize::new(0));
    let mut clients = JoinSet::new();
    for _ in 0..options.clients {
        let (app, next, options) = (app.clone(), next.clone(), options.clone());
        clients.spawn(async move {
            let mut calls = Vec::new();
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= options.messages || started.elapsed() >= options.max_send {
                    return calls;
                }
                let agent = agent_id(index, options.agents);
                let text = format!("{agent} ANC Seema Devi {}", beneficiary_digits(index));
                let id = format!("bench-{index}");
                let sent_at = Utc::now();
                let request_started = Instant::now();
                let response = app.send_sms(&agent_phone(agent), &text, Some(&id)).await;
                calls.push(Sent {
                    index,
                    sent_at,
                    response_time: request_started.elapsed(),
                    status: response.status.as_u16(),
                });
            }
        });
    }

    let mut progress = tokio::time::interval(PROGRESS_INTERVAL);
    progress.tick().await;
    let mut sent = Vec::with_capacity(options.messages);
    loop {
        tokio::select! {
            finished = clients.join_next() => match finished {
                Some(Ok(calls)) => sent.extend(calls),
                Some(Err(error)) => eprintln!("  a client task failed: {error}"),
                None => break,
            },
            _ = progress.tick() => {
                let taken = next.load(Ordering::Relaxed).min(options.messages);
                let booked = app.db(Task::count).await;
                println!("  {:>5.1} s: {taken} requests started, {booked} tasks booked", started.elapsed().as_secs_f64());
            }
        }
    }
    sent.sort_by_key(|call| call.index);
    sent
}

/// Waits until `condition` holds, printing progress, and returns the time
/// since `started`; `None` after [`DRAIN_TIMEOUT`].
async fn wait_for<F>(app: &TestApp, what: &str, started: Instant, condition: F) -> Option<Duration>
where
    F: Fn(&mut diesel::SqliteConnection) -> QueryResult<bool> + Send + Sync + Clone + 'static,
{
    let waiting_since = Instant::now();
    let mut last_report = Instant::now();
    loop {
        let check = condition.clone();
        if app.db(move |connection| check(connection)).await {
            return Some(started.elapsed());
        }
        if waiting_since.elapsed() >= DRAIN_TIMEOUT {
            eprintln!("  gave up waiting for {what} after {DRAIN_TIMEOUT:?}");
            return None;
        }
        if last_report.elapsed() >= PROGRESS_INTERVAL {
            let booked = app.db(Task::count).await;
            println!("  {:>5.1} s: waiting for {what}; {booked} tasks booked", started.elapsed().as_secs_f64());
            last_report = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A task's beneficiary phone and a UTC time recorded for the task.
type TaskTime = (String, NaiveDateTime);

/// Starts a thread that polls the `tasks` table through a connection of its
/// own every [`OBSERVE_INTERVAL`] and records when each task's row became
/// visible, that is committed, until `stop` is set or [`OBSERVE_LIMIT`]
/// has passed. Returns the beneficiary phone and UTC time of each task.
fn observe_commits(
    path: PathBuf,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<std::thread::JoinHandle<anyhow::Result<Vec<TaskTime>>>> {
    let url = path.to_str().context("database path is not UTF-8")?.to_owned();
    let mut connection = diesel::SqliteConnection::establish(&url).context("open the database for the observer")?;
    connection.batch_execute(&format!("PRAGMA busy_timeout = {BUSY_TIMEOUT_MS};"))?;
    let thread = std::thread::Builder::new().name("commit-observer".into()).spawn(move || {
        let started = Instant::now();
        let mut last = TaskId(0);
        let mut seen = Vec::new();
        while !stop.load(Ordering::Relaxed) && started.elapsed() < OBSERVE_LIMIT {
            let rows: Vec<(TaskId, String)> = tasks::table
                .filter(tasks::id.gt(last))
                .order(tasks::id.asc())
                .select((tasks::id, tasks::beneficiary_phone))
                .load(&mut connection)?;
            let now = Utc::now().naive_utc();
            if let Some((id, _)) = rows.last() {
                last = *id;
            }
            seen.extend(rows.into_iter().map(|(_, phone)| (phone, now)));
            std::thread::sleep(OBSERVE_INTERVAL);
        }
        Ok(seen)
    })?;
    Ok(thread)
}

/// Milliseconds from each request to the time recorded for the task booked
/// for its beneficiary, sorted.
fn latencies_to_tasks(sent: &[Sent], created: &[TaskTime]) -> Vec<f64> {
    let by_phone: HashMap<String, DateTime<Utc>> =
        sent.iter().map(|call| (format!("+91{}", beneficiary_digits(call.index)), call.sent_at)).collect();
    let mut latencies: Vec<f64> = created
        .iter()
        .filter_map(|(phone, created_at)| {
            let sent_at = by_phone.get(phone)?;
            let latency = created_at.and_utc() - *sent_at;
            Some(latency.num_microseconds().unwrap_or(i64::MAX) as f64 / 1_000.0)
        })
        .collect();
    latencies.sort_by(f64::total_cmp);
    latencies
}

/// Returns tasks per second from `started_at` until `fraction` of the
/// observed tasks were committed, so that one late task does not decide the
/// rate.
fn rate_until_fraction(observed: &[TaskTime], started_at: NaiveDateTime, fraction: f64) -> Option<f64> {
    let mut times: Vec<NaiveDateTime> = observed.iter().map(|(_, seen_at)| *seen_at).collect();
    times.sort_unstable();
    let count = ((fraction * times.len() as f64).ceil() as usize).min(times.len());
    let last = *times.get(count.checked_sub(1)?)?;
    let seconds = (last - started_at).num_microseconds()? as f64 / 1e6;
    (seconds > 0.0).then(|| count as f64 / seconds)
}

/// Returns the value at rank `fraction` of `sorted` by the nearest-rank method.
fn percentile(sorted: &[f64], fraction: f64) -> f64 {
    let rank = (fraction * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn print_percentiles(label: &str, sorted: &[f64]) {
    if sorted.is_empty() {
        println!("  {label}: no samples");
        return;
    }
    println!(
        "  {label}: p50 {:.1}, p99 {:.1}, max {:.1} ({} samples)",
        percentile(sorted, 0.50),
        percentile(sorted, 0.99),
        sorted[sorted.len() - 1],
        sorted.len()
    );
}

fn status_counts(sent: &[Sent]) -> Vec<(u16, usize)> {
    let mut counts: HashMap<u16, usize> = HashMap::new();
    for call in sent {
        *counts.entry(call.status).or_default() += 1;
    }
    let mut counts: Vec<_> = counts.into_iter().collect();
    counts.sort_unstable();
    counts
}

fn flag_counts(flags: &[sandesh::db::flags::FlaggedMessage]) -> Vec<(String, usize)> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for flag in flags {
        *counts.entry(flag.reason.clone()).or_default() += 1;
    }
    let mut counts: Vec<_> = counts.into_iter().collect();
    counts.sort_unstable();
    counts
}

#[derive(QueryableByName)]
struct PragmaValue {
    #[diesel(sql_type = Text)]
    value: String,
}

/// Reads the journal mode and synchronous level of an application connection.
fn read_pragmas(connection: &mut diesel::SqliteConnection) -> QueryResult<String> {
    let journal = diesel::sql_query("SELECT journal_mode AS value FROM pragma_journal_mode()")
        .get_result::<PragmaValue>(connection)?
        .value;
    let synchronous = diesel::sql_query("SELECT CAST(synchronous AS TEXT) AS value FROM pragma_synchronous()")
        .get_result::<PragmaValue>(connection)?
        .value;
    Ok(format!("journal_mode={journal}, synchronous={synchronous}"))
}
