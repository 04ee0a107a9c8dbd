//! The only code that talks to the database. Opens the pool (SQLite in WAL
//! with `synchronous=FULL`, or PostgreSQL), runs the migrations and maps rows
//! to domain values.

pub mod access;
pub mod access_v2;
pub mod audit;
pub mod audit_rows;
mod bulk;
pub mod capture;
pub mod custody;
pub mod declarations;
mod demo;
pub mod devices;
pub mod epochs;
pub mod labels;
pub mod log;
mod organisations;
pub mod pages;
pub mod reference;
#[cfg(feature = "bench-variants")]
mod through_parent;
pub mod warranty;

use std::time::Duration;

use migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sea_orm::DbErr),
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// On SQLite, takes the database's write lock now, as `BEGIN IMMEDIATE`
/// would (sea-orm opens deferred transactions): a transaction that reads
/// before it writes would otherwise fail with `SQLITE_BUSY_SNAPSHOT` when
/// another writer (the access-log flusher, the checkpointer, a reference
/// write) commits in between; waiting for the lock is retried by
/// `busy_timeout`. No-op on PostgreSQL.
pub(crate) async fn write_lock_now<C: ConnectionTrait>(db: &C) -> StoreResult<()> {
    if db.get_database_backend() == DbBackend::Sqlite {
        db.execute_unprepared("UPDATE access_log_head SET last_id = last_id WHERE id = 1")
            .await?;
    }
    Ok(())
}

tokio::task_local! {
    /// The device read path's query count of the request being served,
    /// where one is counted: only that request's queries, never those of
    /// another request or a background task.
    static DEVICE_QUERIES: std::sync::Arc<std::sync::atomic::AtomicU64>;
}

/// Runs `f`, counting in `counter` the queries of the device read path it
/// makes, in its own task and in those it spawns through
/// [`spawn_counted`] (for the test that a page of devices costs a
/// constant number of them).
pub async fn count_device_queries<F: std::future::Future>(
    counter: std::sync::Arc<std::sync::atomic::AtomicU64>,
    f: F,
) -> F::Output {
    DEVICE_QUERIES.scope(counter, f).await
}

/// `tokio::spawn`, keeping the current request's query count (if any) in
/// the spawned task: the GraphQL data loaders load in tasks of their own.
pub fn spawn_counted<F>(f: F) -> tokio::task::JoinHandle<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    match DEVICE_QUERIES.try_with(std::sync::Arc::clone) {
        Ok(counter) => tokio::spawn(DEVICE_QUERIES.scope(counter, f)),
        Err(_) => tokio::spawn(f),
    }
}

/// `message` without `url` or its password: the driver's errors quote the
/// connection string.
fn redact_url(message: &str, url: &str) -> String {
    let mut out = message.replace(url, "[the database URL]");
    let userinfo = url
        .split_once("://")
        .and_then(|(_, rest)| rest.split('/').next())
        .and_then(|authority| authority.rsplit_once('@'))
        .map(|(userinfo, _)| userinfo);
    if let Some((_, password)) = userinfo.and_then(|u| u.split_once(':'))
        && !password.is_empty()
    {
        out = out.replace(password, "[redacted]");
    }
    out
}

/// Ids per `IN (…)` list by default: far below the bound parameters a
/// statement takes (32,766 on SQLite, 65,535 on PostgreSQL).
pub const DEFAULT_LIST_CHUNK: usize = 1000;

#[derive(Clone, Debug)]
pub struct Store {
    db: DatabaseConnection,
    /// Round trips made by the log's read path (head, tiles, checkpoints),
    /// for the proof benchmark.
    log_round_trips: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// Ids per `IN (…)` list ([`DEFAULT_LIST_CHUNK`]; tests make it small).
    chunk: usize,
    /// The measured alternative of `through_parent` is on.
    #[cfg(feature = "bench-variants")]
    stored_through_parent: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Store {
    /// Opens a pool on `url`. SQLite files are created when missing.
    #[tracing::instrument(skip_all)]
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let mut options = ConnectOptions::new(url.to_owned());
        options
            .sqlx_logging(false)
            .connect_timeout(Duration::from_secs(10))
            .acquire_timeout(Duration::from_secs(30));
        if url.starts_with("sqlite:") {
            options.max_connections(8).map_sqlx_sqlite_opts(|o| {
                o.create_if_missing(true)
                    .pragma("journal_mode", "WAL")
                    .pragma("synchronous", "FULL")
                    .pragma("foreign_keys", "ON")
                    .pragma("secure_delete", "ON")
                    .busy_timeout(Duration::from_secs(10))
            });
        } else {
            options.max_connections(16);
        }
        let db = Database::connect(options)
            .await
            .map_err(|e| StoreError::Db(sea_orm::DbErr::Custom(redact_url(&e.to_string(), url))))?;
        Ok(Self {
            db,
            log_round_trips: Default::default(),
            chunk: DEFAULT_LIST_CHUNK,
            #[cfg(feature = "bench-variants")]
            stored_through_parent: Default::default(),
        })
    }

    /// Lists of ids go to the database in `IN (…)` lists of at most `n`.
    pub fn with_list_chunk(mut self, n: usize) -> Self {
        self.chunk = n.max(1);
        self
    }

    pub(crate) fn chunk(&self) -> usize {
        self.chunk
    }

    /// Database round trips made so far by the log's read path.
    pub fn log_round_trips(&self) -> u64 {
        self.log_round_trips
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Counts a query of the device read path for the request being
    /// served, if it is counted ([`count_device_queries`]).
    pub(crate) fn count_device_query(&self) {
        let _ = DEVICE_QUERIES.try_with(|c| c.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    }

    pub(crate) fn count_log_round_trip(&self) {
        self.log_round_trips
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }

    pub(crate) fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    #[tracing::instrument(skip_all)]
    pub async fn migrate(&self) -> StoreResult<()> {
        Migrator::up(&self.db, None).await?;
        Ok(())
    }

    /// Number of migrations not yet applied (0 when the schema is current).
    pub async fn pending_migrations(&self) -> StoreResult<usize> {
        Ok(Migrator::get_pending_migrations(&self.db).await?.len())
    }

    pub async fn ping(&self) -> StoreResult<()> {
        self.db.ping().await?;
        Ok(())
    }

    /// The names of the tables in the current schema (for tests and `readyz`).
    pub async fn table_names(&self) -> StoreResult<Vec<String>> {
        let sql = match self.backend() {
            DbBackend::Sqlite => {
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            }
            _ => {
                "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name"
            }
        };
        let rows = self
            .db
            .query_all_raw(sea_orm::Statement::from_string(self.backend(), sql))
            .await?;
        rows.iter()
            .map(|r| r.try_get::<String>("", "name").map_err(StoreError::from))
            .collect()
    }

    /// The SQLite `journal_mode` and `synchronous` pragmas in force on one
    /// pooled connection; `None` on PostgreSQL.
    pub async fn sqlite_pragmas(&self) -> StoreResult<Option<(String, i64)>> {
        if self.backend() != DbBackend::Sqlite {
            return Ok(None);
        }
        let stmt = |sql: &str| sea_orm::Statement::from_string(DbBackend::Sqlite, sql.to_owned());
        let journal = self
            .db
            .query_one_raw(stmt("PRAGMA journal_mode"))
            .await?
            .ok_or_else(|| StoreError::Corrupt("no journal_mode".into()))?
            .try_get_by_index::<String>(0)?;
        let sync = self
            .db
            .query_one_raw(stmt("PRAGMA synchronous"))
            .await?
            .ok_or_else(|| StoreError::Corrupt("no synchronous".into()))?
            .try_get_by_index::<i64>(0)?;
        Ok(Some((journal, sync)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_connection_error_names_no_password() {
        let url = "postgres://portal:s3cr%2Ft@[::1:5432/portal";
        let e = Store::connect(url).await.expect_err("a malformed URL");
        let shown = format!("{e} {e:?}");
        assert!(!shown.contains("s3cr"), "{shown}");
        assert_eq!(
            redact_url(
                "cannot parse 'postgres://u:pw@h/db' (pw)",
                "postgres://u:pw@h/db"
            ),
            "cannot parse '[the database URL]' ([redacted])"
        );
    }
}
