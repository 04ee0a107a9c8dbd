//! Use cases. `Portal` is what the web and GraphQL layers hold: it owns the
//! store and the keys, and every operation that needs them goes through it.

pub mod access;
pub mod audit;
pub mod capture;
pub mod demo;
mod demo_data;
pub mod devices;
pub mod erasure;
pub mod keys;
pub mod labels;
pub mod log;
pub mod pages;
pub mod reference;
pub mod resolver;
mod tokens;
pub mod warranty;

use anyhow::Context;

use crate::auth::issuers::ExternalIssuer;
use crate::auth::{Principal, TokenError};
use crate::config::Settings;
use crate::store::Store;

/// Spawns the data loader's tasks so that the store's per-request query
/// counter follows them.
pub use crate::store::spawn_counted;
pub use tokens::IssueError;

/// The portal's state: settings, database, keys.
#[derive(Debug)]
pub struct Portal {
    settings: Settings,
    store: Store,
    /// Replaced whole when a rotation is noticed.
    keys: std::sync::RwLock<std::sync::Arc<keys::Keys>>,
    /// External token issuers, from the settings.
    issuers: Vec<ExternalIssuer>,
    /// The buffered access-log rows of reads, and (until the server takes
    /// it) the receiving end.
    access: tokio::sync::mpsc::Sender<crate::store::access::AccessRow>,
    access_rx:
        std::sync::Mutex<Option<tokio::sync::mpsc::Receiver<crate::store::access::AccessRow>>>,
    /// SQLite's single writer: captures in this process take turns (on
    /// PostgreSQL the database serializes them as well, across processes).
    writer: tokio::sync::Mutex<()>,
    /// Decided histories and device views (`devices::cache`), each with
    /// half of `view_cache_bytes`.
    history_cache: devices::cache::ViewCache<Vec<devices::EventView>>,
    device_cache: devices::cache::ViewCache<devices::DeviceView>,
    /// The public pages' cards, rendered pages, scan counts and report
    /// limits (`pages`).
    pages: pages::Pages,
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
        let store = Store::connect(settings.database_url.expose())
            .await
            .context("opening the database")?
            .with_list_chunk(settings.list_chunk);
        store.migrate().await.context("running migrations")?;
        // Versioned data steps that fill what a migration added.
        if store
            .run_custody_step(|events| crate::domain::custody::replay(&events))
            .await
            .context("filling the custody intervals")?
        {
            tracing::info!(
                step = crate::store::custody::CUSTODY_STEP,
                "data step applied"
            );
        }
        if store
            .run_access_devices_step()
            .await
            .context("filling the access log's device rows")?
        {
            tracing::info!(
                step = crate::store::access_v2::ACCESS_DEVICES_STEP,
                "data step applied"
            );
        }
        Self::with_store(settings, store)
    }

    /// Like `open`, without running migrations.
    pub async fn open_unmigrated(settings: Settings) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&settings.data_dir)?;
        let store = Store::connect(settings.database_url.expose())
            .await
            .context("opening the database")?
            .with_list_chunk(settings.list_chunk);
        Self::with_store(settings, store)
    }

    fn with_store(settings: Settings, store: Store) -> anyhow::Result<Self> {
        let keys = keys::Keys::load(&settings)?;
        let issuers = settings
            .issuers
            .iter()
            .cloned()
            .map(|c| ExternalIssuer::new(c, settings.max_token_lifetime))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let (access, access_rx) = tokio::sync::mpsc::channel(access::QUEUE);
        let settings_cache_bytes = settings.view_cache_bytes;
        let pages = pages::Pages::new(
            settings.page_cache_bytes,
            pages::scans::ScanSettings {
                networks: settings.clone_networks,
                window: settings.clone_window,
            },
        )?;
        Ok(Self {
            settings,
            store,
            issuers,
            access,
            access_rx: std::sync::Mutex::new(Some(access_rx)),
            keys: std::sync::RwLock::new(std::sync::Arc::new(keys)),
            writer: tokio::sync::Mutex::new(()),
            history_cache: devices::cache::ViewCache::new(settings_cache_bytes / 2),
            device_cache: devices::cache::ViewCache::new(settings_cache_bytes / 2),
            pages,
        })
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// For tests and tooling that inspect the database directly.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The caller behind a bearer token: the portal's own (by `kid`
    /// among its published token keys) or a configured external issuer's
    /// (chosen by `iss`, then by `kid` among that issuer's keys). Every
    /// refusal is logged at debug level only, and looks the same to the
    /// caller.
    pub async fn authenticate(&self, bearer: Option<&str>) -> Result<Principal, TokenError> {
        let token = bearer.ok_or(TokenError::Missing)?;
        self.validate_token(token).await.inspect_err(|e| {
            tracing::debug!(reason = %e, "token refused");
        })
    }

    async fn validate_token(&self, token: &str) -> Result<Principal, TokenError> {
        // Which issuer to ask; nothing of the token is trusted before its
        // signature is checked against that issuer's keys.
        let claims: serde_json::Value = jsonwebtoken::dangerous::insecure_decode_claims(token)?;
        let iss = claims.get("iss").and_then(serde_json::Value::as_str);
        if iss == Some(self.settings.public_base_url.as_str()) {
            return self.keys().tokens.validate(token);
        }
        let issuer = self
            .issuers
            .iter()
            .find(|i| Some(i.config.issuer.as_str()) == iss)
            .ok_or(TokenError::UnknownKey)?;
        let principal = issuer.validate(token).await?;
        // The organisation must exist and be of a kind the role fits.
        let org = self
            .store
            .organisation_by_slug(&principal.org)
            .await
            .map_err(|_| TokenError::Claims)?
            .ok_or(TokenError::Claims)?;
        if !principal
            .role
            .organisation_kinds()
            .contains(&org.kind.as_str())
        {
            return Err(TokenError::Claims);
        }
        Ok(principal)
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
