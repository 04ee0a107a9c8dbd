//! The public pages behind the labels (docs/pages.md): a unit's page for
//! the anonymous visitor and for the customer with the label's code, decided
//! by the policy for that viewer; the caches that serve them from memory;
//! the clone check's scan counts and the customers' reports.
//!
//! Serving from memory: a unit's *card* (its epoch, leaf count, status and
//! label) is kept with the *generation* it was read at. The generation moves
//! whenever the change signature (`store::pages::ChangeSignature`: the log's
//! size and the change stamp) moves, which this process checks after each
//! of its own writes and a poller checks every [`POLL_EVERY`] for everyone
//! else's. A card of the current generation is current without a database
//! read; an older one is read again (one statement) and, when nothing of the
//! unit changed, keeps its rendered pages.

pub mod alerts;
mod model;
pub mod reports;
pub mod scans;

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use lru::LruCache;

pub use model::{Banner, ComponentLine, Happening, PublicEvent, UnitPage, WarrantyState};

use super::Portal;
use super::devices::cache::ViewCache;
use crate::domain::label_code;
use crate::domain::{DeviceKey, Gtin};
use crate::store::StoreError;
use crate::store::pages::{ChangeSignature, UnitCard};

/// How often the change signature is polled for other processes' writes.
pub const POLL_EVERY: Duration = Duration::from_millis(100);

/// Cards kept (about 200 bytes each).
const MAX_CARDS: std::num::NonZeroUsize = std::num::NonZeroUsize::MIN.saturating_add(100_000 - 1);

/// The viewer a page is rendered for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PageViewer {
    /// No code, or a wrong one.
    Anonymous,
    /// The label's code.
    Customer,
}

/// A unit asked for on its page: its card and the viewer the code makes.
#[derive(Clone, Debug)]
pub struct PageUnit {
    pub key: DeviceKey,
    pub card: Arc<UnitCard>,
    pub viewer: PageViewer,
    /// A code was given and it is not this unit's.
    pub wrong_code: bool,
}

/// What a rendered page is cached under: the unit, the viewer kind, the
/// page's language and notice, and the unit's state.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PageKey {
    pub unit: i64,
    pub viewer: PageViewer,
    pub variant: &'static str,
    pub wrong_code: bool,
    pub epoch: i64,
    pub leaves: u64,
    /// The customer's page links to itself with the label's code.
    pub label_generation: u32,
}

impl PageKey {
    pub fn of(unit: &PageUnit, variant: &'static str) -> PageKey {
        PageKey {
            unit: unit.card.device_id,
            viewer: unit.viewer,
            variant,
            wrong_code: unit.wrong_code,
            epoch: unit.card.epoch,
            leaves: unit.card.leaves,
            label_generation: unit.card.label_generation,
        }
    }
}

/// A rendered page.
#[derive(Debug)]
pub struct Rendered {
    /// Shared, not copied, by every answer that serves it.
    pub body: bytes::Bytes,
    pub etag: String,
    /// The next warranty boundary: the page is rendered again after it.
    pub valid_until: Option<DateTime<Utc>>,
    /// The installed parts it shows, as they were: a part's own recall or
    /// theft does not move its parent's epoch.
    pub parts: Vec<PartStamp>,
    /// The generation its parts were last found unchanged at (checked again
    /// only after the generation moved).
    pub parts_checked: AtomicU64,
}

/// A part as a rendered page showed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartStamp {
    pub key: DeviceKey,
    pub epoch: i64,
    pub leaves: u64,
}

/// Unit cards by unit, each with the generation it was read in and, once
/// asked, the code its label carries.
type Cards = LruCache<DeviceKey, Arc<CardEntry>>;

struct CardEntry {
    card: Arc<UnitCard>,
    generation: u64,
    expected: std::sync::OnceLock<Option<String>>,
}

/// The pages' state in memory.
pub struct Pages {
    generation: AtomicU64,
    signature: Mutex<Option<ChangeSignature>>,
    cards: Mutex<Cards>,
    rendered: ViewCache<Rendered, PageKey>,
    pub(crate) scans: scans::ScanCounter,
    pub(crate) reports: reports::ReportLimits,
}

impl std::fmt::Debug for Pages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pages")
            .field("generation", &self.generation.load(Ordering::Relaxed))
            .field("rendered", &self.rendered)
            .finish_non_exhaustive()
    }
}

impl Pages {
    pub fn new(cache_bytes: usize, scans: scans::ScanSettings) -> anyhow::Result<Pages> {
        Ok(Pages {
            generation: AtomicU64::new(0),
            signature: Mutex::new(None),
            cards: Mutex::new(LruCache::new(MAX_CARDS)),
            rendered: ViewCache::new(cache_bytes),
            scans: scans::ScanCounter::new(scans)?,
            reports: reports::ReportLimits::new(),
        })
    }

    fn cards(&self) -> std::sync::MutexGuard<'_, Cards> {
        self.cards.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Portal {
    /// Reads the change signature; when it moved, cards read before are
    /// read again at their next use.
    pub async fn refresh_page_generation(&self) -> Result<(), StoreError> {
        let now = self.store.change_signature().await?;
        let mut last = self
            .pages
            .signature
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if *last != Some(now) {
            *last = Some(now);
            self.pages.generation.fetch_add(1, Ordering::SeqCst);
        }
        Ok(())
    }

    /// [`Portal::refresh_page_generation`] after this process's own writes;
    /// when it fails, the poller catches up.
    pub async fn refresh_pages(&self) {
        if let Err(e) = self.refresh_page_generation().await {
            tracing::warn!(error = %e, "reading the change signature failed");
        }
    }

    /// The unit on its page, with the viewer its code makes, or None for a
    /// unit we do not know. From memory while nothing changed.
    pub async fn page_unit(
        &self,
        key: &DeviceKey,
        code: Option<&str>,
    ) -> Result<Option<PageUnit>, StoreError> {
        // The generation is read before the card: a change after it moves
        // the generation, so the card is read again next time.
        let generation = self.pages.generation.load(Ordering::SeqCst);
        let cached = self
            .pages
            .cards()
            .get(key)
            .filter(|e| e.generation == generation)
            .map(Arc::clone);
        let entry = match cached {
            Some(entry) => entry,
            None => {
                // Unknown serials get no entry.
                let Some(card) = self
                    .store
                    .unit_card(key.gtin().as_str(), key.serial().as_str())
                    .await?
                else {
                    return Ok(None);
                };
                let entry = Arc::new(CardEntry {
                    card: Arc::new(card),
                    generation,
                    expected: std::sync::OnceLock::new(),
                });
                self.pages.cards().put(key.clone(), Arc::clone(&entry));
                entry
            }
        };
        let card = Arc::clone(&entry.card);
        let verified = match code {
            None => false,
            Some(code) => {
                // Computed once per card; a unit without a label gets a code
                // nobody holds, so the work does not tell whether it has one.
                let expected =
                    entry.expected.get_or_init(|| match &card.label_kid {
                        Some(kid) => self.keys().labels.get(kid).map(|secret| {
                            label_code::code(secret.bytes(), key, card.label_generation)
                        }),
                        None => Some(String::new()),
                    });
                let Some(expected) = expected else {
                    return Err(StoreError::Corrupt(format!(
                        "label secret {} is missing from the key directory",
                        card.label_kid.as_deref().unwrap_or_default()
                    )));
                };
                // An empty expected code matches nothing (`matches` wants
                // both of the code's length).
                label_code::matches(expected, code)
            }
        };
        Ok(Some(PageUnit {
            key: key.clone(),
            card,
            viewer: if verified {
                PageViewer::Customer
            } else {
                PageViewer::Anonymous
            },
            wrong_code: code.is_some() && !verified,
        }))
    }

    /// The generation of the cards: a page rendered while it moved is not
    /// kept (what it read may predate a change).
    pub fn page_generation(&self) -> u64 {
        self.pages.generation.load(Ordering::SeqCst)
    }

    /// A rendered page of the unit, if one is cached and still valid: before
    /// its warranty boundary, with each part it shows unchanged.
    pub async fn cached_page(&self, key: &PageKey) -> Result<Option<Arc<Rendered>>, StoreError> {
        let Some(page) = self
            .pages
            .rendered
            .get(key)
            .filter(|r| r.valid_until.is_none_or(|t| t > Utc::now()))
        else {
            return Ok(None);
        };
        let generation = self.page_generation();
        if page.parts_checked.load(Ordering::SeqCst) != generation {
            for part in &page.parts {
                if self.part_stamp(&part.key).await?.as_ref() != Some(part) {
                    return Ok(None);
                }
            }
            page.parts_checked.store(generation, Ordering::SeqCst);
        }
        Ok(Some(page))
    }

    /// A part's stamp now (from memory while nothing changed).
    pub async fn part_stamp(&self, key: &DeviceKey) -> Result<Option<PartStamp>, StoreError> {
        Ok(self.page_unit(key, None).await?.map(|u| PartStamp {
            key: key.clone(),
            epoch: u.card.epoch,
            leaves: u.card.leaves,
        }))
    }

    /// Keeps a rendered page.
    pub fn keep_page(&self, key: PageKey, page: Rendered) -> Arc<Rendered> {
        let page = Arc::new(page);
        let bytes = page.body.len()
            + page.etag.len()
            + page
                .parts
                .iter()
                .map(|p| 64 + p.key.gtin().as_str().len() + p.key.serial().as_str().len())
                .sum::<usize>();
        self.pages.rendered.put(key, Arc::clone(&page), bytes);
        page
    }

    /// The page caches' entries and bytes.
    pub fn page_cache_usage(&self) -> (usize, usize) {
        self.pages.rendered.usage()
    }

    /// Counts a scan of the unit's page with its code (in memory; flushed by
    /// [`Portal::flush_scans`]).
    pub fn count_scan(&self, unit: &PageUnit, client: IpAddr, country: Option<&str>) {
        if unit.viewer == PageViewer::Customer {
            self.pages.scans.record(
                unit.card.device_id,
                unit.card.label_generation,
                client,
                country,
                Utc::now(),
            );
        }
    }

    /// Writes the counted scans and files an alert for each unit scanned
    /// from more networks than the settings allow within their window. An
    /// alarm whose alert could not be stored is raised again next time.
    pub async fn flush_scans(&self) -> Result<usize, StoreError> {
        let flushed = self.pages.scans.take(Utc::now());
        let mut filed = 0;
        let mut failed = None;
        for alarm in flushed.alarms {
            let scope = format!("label-{}", alarm.label_generation);
            match self
                .store
                .file_alert(
                    "copy_suspected",
                    &scope,
                    alarm.device_id,
                    &alarm.evidence,
                    Utc::now(),
                )
                .await
            {
                Ok(id) => {
                    self.pages
                        .scans
                        .alerted(alarm.device_id, alarm.label_generation);
                    if id.is_some() {
                        tracing::warn!(
                            device = alarm.device_id,
                            "a unit's code may have been copied"
                        );
                        filed += 1;
                    }
                }
                Err(e) => failed = Some(e),
            }
        }
        self.store.add_scans(&flushed.rows).await?;
        match failed {
            Some(e) => Err(e),
            None => Ok(filed),
        }
    }

    /// The product page's data (public).
    pub async fn product_page(
        &self,
        gtin: &Gtin,
    ) -> Result<Option<super::devices::ProductView>, StoreError> {
        self.product(gtin).await
    }
}

/// The change signature's poller: every [`POLL_EVERY`] while the portal
/// lives.
pub async fn poller(portal: std::sync::Weak<Portal>) {
    let mut tick = tokio::time::interval(POLL_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(portal) = portal.upgrade() else {
            return;
        };
        if let Err(e) = portal.refresh_page_generation().await {
            tracing::warn!(error = %e, "reading the change signature failed");
        }
    }
}

/// Flushes scan counts every few seconds while the portal lives.
pub async fn scan_flusher(portal: std::sync::Weak<Portal>) {
    let every = match portal.upgrade() {
        Some(p) => p.settings().scan_flush_every,
        None => return,
    };
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(portal) = portal.upgrade() else {
            return;
        };
        if let Err(e) = portal.flush_scans().await {
            tracing::warn!(error = %e, "flushing scan counts failed");
        }
        portal.pages.reports.prune();
    }
}
