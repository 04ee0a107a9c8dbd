//! Use cases. `Portal` is what the web and GraphQL layers hold: it owns the
//! store and the keys, and every operation that needs them goes through it.

pub mod audit;
pub mod capture;
pub mod demo;
mod demo_data;
pub mod devices;
pub mod erasure;
pub mod keys;
pub mod log;
pub mod reference;
mod tokens;

use anyhow::Context;

use crate::auth::{Principal, TokenError};
use crate::config::Settings;
use crate::store::Store;

pub use tokens::IssueError;

/// The portal's state: settings, database, keys.
#[derive(Debug)]
pub struct Portal {
    settings: Settings,
    store: Store,
    /// Replaced whole when a rotation is noticed.
    keys: std::sync::RwLock<std::sync::Arc<keys::Keys>>,
    /// SQLite's single writer: captures in this process take turns (on
    /// PostgreSQL the database serializes them as well, across processes).
    writer: tokio::sync::Mutex<()>,
}

/// What `/readyz` reports.
#[derive(Debug, serde::Serialize)]
pub struct Readiness {
    pub database: bool,
    pub pending_migrations: Option<usize>,
}

impl Readiness {
    pub fn is_ready(&self) -> bool {
        self.database && self.pending_migrations == Some(0)
    }
}

impl Portal {
    /// Creates the data directory, opens (and migrates) the database and
    /// loads or creates the keys.
    pub async fn open(settings: Settings) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&settings.data_dir)
            .with_context(|| format!("creating data directory {}", settings.data_dir.display()))?;
        let store = Store::connect(&settings.database_url)
            .await
            .context("opening the database")?;
        store.migrate().await.context("running migrations")?;
        Self::with_store(settings, store)
    }

    /// Like `open`, without running migrations.
    pub async fn open_unmigrated(settings: Settings) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&settings.data_dir)?;
        let store = Store::connect(&settings.database_url)
            .await
            .context("opening the database")?;
        Self::with_store(settings, store)
    }

    fn with_store(settings: Settings, store: Store) -> anyhow::Result<Self> {
        let keys = keys::Keys::load(&settings)?;
        Ok(Self {
            settings,
            store,
            keys: std::sync::RwLock::new(std::sync::Arc::new(keys)),
            writer: tokio::sync::Mutex::new(()),
        })
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// For tests and tooling that inspect the database directly.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The caller behind a bearer token; every refusal is logged at debug
    /// level only, and looks the same to the caller.
    pub fn authenticate(&self, bearer: Option<&str>) -> Result<Principal, TokenError> {
        let token = bearer.ok_or(TokenError::Missing)?;
        self.keys().tokens.validate(token).inspect_err(|e| {
            tracing::debug!(reason = %e, "token refused");
        })
    }

    pub async fn readiness(&self) -> Readiness {
        let database = self.store.ping().await.is_ok();
        let pending_migrations = if database {
            self.store.pending_migrations().await.ok()
        } else {
            None
        };
        Readiness {
            database,
            pending_migrations,
        }
    }
}
