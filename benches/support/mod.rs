//! Shared parts of the webhook and chat benchmarks: run parameters from the
//! environment, the load average, and the durable commit rate of one
//! SQLite connection on the application's database file. The benchmarks
//! print that rate as the floor of what one stored row costs. A benchmark
//! includes this file with `#[path = "support/mod.rs"] mod support;`.

use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::Utc;
use diesel::connection::SimpleConnection as _;
use diesel::prelude::*;
use diesel::sql_types::Text;

/// The SQLite busy timeout of the benchmarks' own connections, as the
/// application's default `database.busy_timeout_ms`.
pub const BUSY_TIMEOUT_MS: u64 = 5_000;

/// Reads the number in the environment variable `name`, or returns
/// `default` when it is not set.
pub fn env_value<T: FromStr>(name: &str, default: T) -> anyhow::Result<T> {
    match std::env::var(name) {
        Ok(text) => text.trim().parse().map_err(|_| anyhow::anyhow!("invalid {name}={text:?}: expected a number")),
        Err(std::env::VarError::NotPresent) => Ok(default),
        Err(error) => Err(anyhow::anyhow!("reading {name} failed: {error}")),
    }
}

/// Durable commits per second from one connection, measured twice: with
/// the machine otherwise idle, and with one thread spinning on another core.
/// On a virtual machine an idle vCPU can take milliseconds to wake up when
/// the fsync completes, so the first figure may be far below what the disk
/// allows. The second figure shows the disk without that wake-up.
#[derive(Debug, Clone, Copy)]
pub struct CommitRates {
    pub idle: f64,
    pub busy: f64,
}

/// Runs [`commit_rate`] in both conditions on the blocking thread pool and
/// prints the results. `when`, if given, is printed to tell measurements of
/// one run apart.
pub async fn measure_commits(path: &Path, duration: Duration, when: Option<&str>) -> anyhow::Result<CommitRates> {
    let when = when.map(|when| format!("{when}, ")).unwrap_or_default();
    println!("  measuring durable commits on the same file, {when}{:.0} s each", duration.as_secs_f64());
    let (idle_path, busy_path) = (path.to_owned(), path.to_owned());
    let idle = tokio::task::spawn_blocking(move || commit_rate(&idle_path, duration, false))
        .await
        .context("commit task")??;
    let busy =
        tokio::task::spawn_blocking(move || commit_rate(&busy_path, duration, true)).await.context("commit task")??;
    println!("  {idle:.0} commits/s with idle CPUs, {busy:.0} commits/s with one CPU kept busy");
    Ok(CommitRates { idle, busy })
}

/// Returns the 1, 5 and 15 minute load averages from `/proc/loadavg`. Other
/// processes on the machine change how long each fsync takes.
pub fn load_average() -> String {
    match std::fs::read_to_string("/proc/loadavg") {
        Ok(text) => text.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
        Err(_) => "unknown".to_owned(),
    }
}

/// Commits single-row INSERT transactions from one connection for
/// `duration` and returns commits per second. The connection uses the
/// pragmas of the application's pool (WAL, `synchronous = FULL`) and takes
/// the write lock at `BEGIN` as the application's write transactions do.
/// The rows go to a table of their own in the application's database file.
/// With `keep_cpu_busy`, a second thread spins for the same time.
fn commit_rate(path: &Path, duration: Duration, keep_cpu_busy: bool) -> anyhow::Result<f64> {
    let url = path.to_str().context("database path is not UTF-8")?;
    let mut connection = diesel::SqliteConnection::establish(url).context("open the database for the commit test")?;
    connection
        .batch_execute(&format!(
            "PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
             CREATE TABLE IF NOT EXISTS bench_commits (
                 id INTEGER PRIMARY KEY NOT NULL,
                 payload TEXT NOT NULL,
                 created_at TEXT NOT NULL
             );"
        ))
        .context("prepare the commit test table")?;

    let stop_spinner = Arc::new(AtomicBool::new(false));
    let spinner = keep_cpu_busy.then(|| {
        let stop = stop_spinner.clone();
        std::thread::spawn(move || {
            let started = Instant::now();
            while !stop.load(Ordering::Relaxed) && started.elapsed() < duration + Duration::from_secs(1) {
                std::hint::spin_loop();
            }
        })
    });

    let started = Instant::now();
    let mut commits: u64 = 0;
    while started.elapsed() < duration {
        let payload = format!("commit {commits}");
        let created_at = Utc::now().to_rfc3339();
        connection.immediate_transaction(|connection| {
            diesel::sql_query("INSERT INTO bench_commits (payload, created_at) VALUES (?, ?)")
                .bind::<Text, _>(&payload)
                .bind::<Text, _>(&created_at)
                .execute(connection)
        })?;
        commits += 1;
    }
    let rate = commits as f64 / started.elapsed().as_secs_f64();
    stop_spinner.store(true, Ordering::Relaxed);
    if let Some(spinner) = spinner {
        spinner.join().map_err(|_| anyhow::anyhow!("the spinning thread panicked"))?;
    }
    Ok(rate)
}
