//! Storage: the connection pool, migrations, the one way async code reaches
//! the database, and one module per aggregate with its rows and queries.
//!
//! SQLite is the embedded backend. Queries use only what PostgreSQL also
//! supports; SQLite-specific statements (pragmas, immediate transactions)
//! stay in this file.

pub mod api_tokens;
pub mod chat;
pub mod client_requests;
pub mod client_sessions;
pub mod clients;
pub mod export;
pub mod flags;
pub mod followups;
pub mod ids;
pub mod inbound;
pub mod organisation;
pub mod outbound;
pub mod schema;
pub mod scoped;
pub mod scoped_outbox;
pub mod scoped_slots;
pub mod slots;
pub mod staff;
pub mod tasks;

use std::time::Duration;

use anyhow::Context as _;
use diesel::connection::SimpleConnection as _;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::config::DatabaseSettings;

/// The connection type every model function takes.
pub type DbConnection = SqliteConnection;

type DbPool = Pool<ConnectionManager<DbConnection>>;

/// Migrations compiled into the binary and run at start.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// A pooled database handle, cheap to clone.
#[derive(Clone)]
pub struct Database {
    pool: DbPool,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database").field("state", &self.pool.state()).finish()
    }
}

/// The database could not be reached in time, so the web layer returns 503.
#[derive(Debug, thiserror::Error)]
pub enum Unavailable {
    #[error("no database connection became free within {0:?}")]
    PoolTimeout(Duration),
    #[error("the database stayed locked by another process: {0}")]
    Locked(String),
    #[error("the database task was cancelled or panicked: {0}")]
    TaskFailed(String),
}

/// A failed database call from async code.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(transparent)]
    Unavailable(#[from] Unavailable),
    #[error("database query failed: {0}")]
    Query(diesel::result::Error),
}

impl From<diesel::result::Error> for DbError {
    /// Treats SQLite's "database is locked" (another process held the write
    /// lock past the busy timeout) as temporary, so callers return 503.
    fn from(error: diesel::result::Error) -> Self {
        if let diesel::result::Error::DatabaseError(_, info) = &error {
            let message = info.message();
            if message.contains("database is locked") || message.contains("database is busy") {
                return DbError::Unavailable(Unavailable::Locked(message.to_owned()));
            }
        }
        DbError::Query(error)
    }
}

/// Sets the pragmas that make SQLite durable and safe for several
/// connections: write-ahead log, full fsync on commit, a busy timeout and
/// foreign keys.
#[derive(Debug, Clone, Copy)]
struct SqlitePragmas {
    busy_timeout_ms: u64,
}

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, connection: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        connection
            .batch_execute(&format!(
                "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
                self.busy_timeout_ms
            ))
            .map_err(diesel::r2d2::Error::QueryError)
    }
}

impl Database {
    /// Opens (creating if needed) the database file, builds the pool and
    /// runs pending migrations.
    pub fn open(settings: &DatabaseSettings) -> anyhow::Result<Self> {
        let path = settings.url.trim_start_matches("sqlite://").to_owned();
        if let Some(parent) = std::path::Path::new(&path).parent() {
            if !parent.as_os_str().is_empty() && !parent.exists() {
                anyhow::bail!("database folder {} does not exist: create it or change database.url", parent.display());
            }
        }
        // Switching a new file to WAL from several pool connections at once
        // makes all but one fail with "database is locked", so one
        // connection does it before the pool opens the others.
        {
            use diesel::Connection as _;
            let mut first = SqliteConnection::establish(&path).with_context(|| {
                format!("opening SQLite database {path} failed: check database.url and permissions")
            })?;
            first
                .batch_execute(&format!(
                    "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL;",
                    settings.busy_timeout_ms
                ))
                .with_context(|| format!("switching {path} to write-ahead logging failed"))?;
        }
        let manager = ConnectionManager::<DbConnection>::new(&path);
        let pool = Pool::builder()
            .max_size(settings.pool_size)
            .connection_timeout(Duration::from_millis(settings.pool_timeout_ms))
            .connection_customizer(Box::new(SqlitePragmas { busy_timeout_ms: settings.busy_timeout_ms }))
            .build(manager)
            .with_context(|| format!("opening SQLite database {path} failed"))?;
        let database = Self { pool };
        database.migrate()?;
        Ok(database)
    }

    /// Runs pending migrations and returns how many ran.
    pub fn migrate(&self) -> anyhow::Result<usize> {
        let mut connection = self.connection()?;
        let applied = connection
            .run_pending_migrations(MIGRATIONS)
            .map_err(|error| anyhow::anyhow!("running migrations failed: {error}"))?;
        for version in &applied {
            tracing::info!(%version, "applied migration");
        }
        Ok(applied.len())
    }

    /// Checks out a connection on the current thread. Async code uses
    /// [`Database::run`] instead.
    pub fn connection(&self) -> anyhow::Result<PooledConnection<ConnectionManager<DbConnection>>> {
        self.pool.get().context("no database connection available")
    }

    /// Runs `work` with a pooled connection on the blocking thread pool and
    /// keeps the caller's tracing span. Pool exhaustion becomes
    /// [`Unavailable::PoolTimeout`] after the configured wait.
    pub async fn run<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<Unavailable> + Send + 'static,
    {
        let pool = self.pool.clone();
        let span = tracing::Span::current();
        let joined = tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            let timeout = pool.connection_timeout();
            let mut connection = pool.get().map_err(|_| E::from(Unavailable::PoolTimeout(timeout)))?;
            work(&mut connection)
        })
        .await;
        match joined {
            Ok(result) => result,
            Err(error) => Err(E::from(Unavailable::TaskFailed(error.to_string()))),
        }
    }
}

/// Serialises this process's write transactions. SQLite has one write
/// lock, and its busy handler retries by sleeping rather than queueing, so
/// under load a writer could lose the lock until the busy timeout expired.
/// Waiting here first makes writers take turns; the busy timeout then only
/// covers writers in other processes (the CLI, a second server).
static WRITE_TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs `work` in a write transaction. On SQLite this takes the write lock
/// at `BEGIN` so that concurrent writers wait instead of failing when a
/// read turns into a write.
pub fn write_transaction<T, E, F>(connection: &mut DbConnection, work: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    let _turn = WRITE_TURN.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    connection.immediate_transaction(work)
}

#[cfg(test)]
mod tests {
    use diesel::Connection as _;

    use super::*;

    #[test]
    fn migrations_run_down_and_up_again() {
        let directory = tempfile::tempdir().expect("temporary directory");
        let path = directory.path().join("migrations.db");
        let mut connection = SqliteConnection::establish(path.to_str().expect("utf-8 path")).expect("open database");

        let applied = connection.run_pending_migrations(MIGRATIONS).expect("migrate up").len();
        assert!(applied > 0, "no migrations applied");
        connection.revert_all_migrations(MIGRATIONS).expect("migrate down");
        let reapplied = connection.run_pending_migrations(MIGRATIONS).expect("migrate up again").len();

        assert_eq!(applied, reapplied);
    }
}
