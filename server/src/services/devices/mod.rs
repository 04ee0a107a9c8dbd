//! Reading devices: identity, product, status, custody, history, components,
//! parent and lineage, filtered by what the caller may see.
//!
//! `crate::policy` decides which roles see every device and which field
//! classes each role reads (docs/access-policy.md "Reads"); this module
//! finds the organisation's relationship to a device: a partner sees only
//! devices its organisation holds or held, was shipped or services — any
//! other device is not found, exactly like an unknown one.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::Value;

pub(crate) mod cache;
mod history;
mod list;
mod members;

pub use list::DeviceListFilter;

use super::Portal;
use crate::domain::cbv::BizStep;
use crate::domain::principal::Viewer;
use crate::domain::status::DeviceStatus;
use crate::domain::visibility::Visibility;
use crate::domain::{DeviceKey, DigitalLink, canonical_uri};
use crate::policy::{self, Disclosure, Operation, Relationship};
use crate::store::StoreError;
use crate::store::capture::DeviceRow;
use crate::store::devices::LinkRecord;

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{0}")]
    InvalidInput(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Clone, Debug)]
pub struct ProductView {
    pub gtin: String,
    pub name: String,
    pub model: String,
    pub warranty_months: i32,
    pub warranty_terms: String,
}

/// A device as services hand it out: which one it is, for the services
/// alone (no database id leaves them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DeviceHandle(i64);

impl DeviceHandle {
    pub(in crate::services) fn id(self) -> i64 {
        self.0
    }

    /// The handle as a page cursor of device lists: a position in the
    /// list, which decides nothing about what the list shows.
    pub fn cursor(self) -> String {
        self.0.to_string()
    }

    /// A cursor written by [`DeviceHandle::cursor`].
    pub fn from_cursor(text: &str) -> Option<DeviceHandle> {
        text.parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .map(DeviceHandle)
    }
}

/// A device as one viewer may see it: every attribute already decided by
/// the policy, by the viewer's relationship to the device now (`None` when
/// it is not disclosed).
#[derive(Clone, Debug)]
pub struct DeviceView {
    pub handle: DeviceHandle,
    pub gtin: String,
    pub serial: String,
    pub digital_link: String,
    /// Public (the lot is in the label's Digital Link).
    pub lot: Option<String>,
    /// Partner class (instance master data).
    pub revision: Option<String>,
    /// Public.
    pub status: Option<DeviceStatus>,
    /// The holder's slug (a component follows its parent); partner class.
    pub custodian: Option<String>,
    /// Partner class.
    pub service_partner: Option<String>,
    /// Public.
    pub product: Option<ProductView>,
    /// The counters this view was decided at, when it was read on its own
    /// (`cache`): the history read next goes by the same.
    pub(in crate::services) epochs: Option<crate::store::epochs::ViewEpochs>,
}

impl DeviceView {
    fn id(&self) -> i64 {
        self.handle.id()
    }

    /// Its estimated size in memory, for the cache's budget.
    fn weight(&self) -> usize {
        let text = |s: &Option<String>| s.as_ref().map_or(0, String::len);
        320 + self.gtin.len()
            + self.serial.len()
            + self.digital_link.len()
            + text(&self.lot)
            + text(&self.revision)
            + text(&self.custodian)
            + text(&self.service_partner)
            + self.product.as_ref().map_or(0, |p| {
                64 + p.gtin.len() + p.name.len() + p.model.len() + p.warranty_terms.len()
            })
    }
}

#[derive(Clone, Debug)]
pub struct FieldView {
    pub name: String,
    /// Null when erased or shown as its commitment only.
    pub value: Value,
    pub class: Visibility,
    /// The value was erased (its commitment stays in the log).
    pub erased: bool,
    /// The field's commitment in the public log (base64), when the policy
    /// shows only that.
    pub commitment: Option<String>,
}

#[derive(Clone, Debug)]
pub struct EventView {
    /// This event's leaf for this device in the public log.
    pub leaf_index: Option<u64>,
    /// The step, when the viewer sees `bizStep` (filters match only what
    /// the viewer sees, or they would tell what it may not).
    pub biz_step: Option<BizStep>,
    /// The event's instant, when the viewer sees `eventTime`.
    pub event_time: Option<DateTime<Utc>>,
    /// When the portal recorded it: shown with `eventTime` only (it would
    /// give the event's time away).
    pub record_time: Option<DateTime<Utc>>,
    /// Only the fields the viewer may see.
    pub fields: Vec<FieldView>,
}

/// One event of a history as handed out: shared with the cached history it
/// came from, never copied.
#[derive(Clone, Debug)]
pub struct EventRef {
    pub(super) all: std::sync::Arc<Vec<EventView>>,
    pub(super) index: usize,
}

impl std::ops::Deref for EventRef {
    type Target = EventView;
    fn deref(&self) -> &EventView {
        &self.all[self.index]
    }
}

impl EventView {
    pub fn field(&self, name: &str) -> Option<&Value> {
        self.fields
            .iter()
            .find(|f| f.name == name)
            .map(|f| &f.value)
    }
}

/// A device's latest event, as every role but the auditor may see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LatestEventView {
    pub biz_step: Option<String>,
    /// `YYYY-MM-DD` in the event's own offset.
    pub event_date: String,
}

/// Filters on a device's history.
#[derive(Clone, Debug, Default)]
pub struct HistoryFilter {
    pub biz_step: Option<BizStep>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub newest_first: bool,
}

#[derive(Clone, Debug)]
pub struct ComponentView {
    pub device: DeviceView,
    pub installed_at: DateTime<Utc>,
    pub removed_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug)]
pub struct LineageNode {
    pub device: DeviceView,
    pub installed_at: Option<DateTime<Utc>>,
    pub removed_at: Option<DateTime<Utc>>,
    pub components: Vec<LineageNode>,
}

fn active_at(link: &LinkRecord, at: DateTime<Utc>) -> bool {
    link.installed_at <= at && link.removed_at.is_none_or(|r| r > at)
}

impl Portal {
    /// The device, if it exists and the viewer may see it.
    pub async fn device(
        &self,
        viewer: Viewer<'_>,
        key: &DeviceKey,
    ) -> Result<Option<DeviceView>, ReadError> {
        let Some(row) = self
            .store
            .device_by_key(key.gtin().as_str(), key.serial().as_str())
            .await?
        else {
            self.not_found(viewer).await?;
            return Ok(None);
        };
        self.cached_view_if_visible(viewer, row).await
    }

    /// A product's public data (its page, for anyone).
    pub async fn product(
        &self,
        gtin: &crate::domain::Gtin,
    ) -> Result<Option<ProductView>, StoreError> {
        Ok(self
            .store
            .product_by_gtin(gtin.as_str())
            .await?
            .map(|p| ProductView {
                gtin: p.gtin,
                name: p.name,
                model: p.model,
                warranty_months: p.warranty_months,
                warranty_terms: p.warranty_terms,
            }))
    }

    /// Resolves any Digital Link form of a serialized unit.
    pub async fn device_by_digital_link(
        &self,
        viewer: Viewer<'_>,
        link: DigitalLink,
    ) -> Result<Option<DeviceView>, ReadError> {
        match link {
            DigitalLink::NotOurs(_) => Ok(None),
            DigitalLink::Serialized(link) => {
                let key = link.device_key();
                let Some(row) = self
                    .store
                    .device_by_key(key.gtin().as_str(), key.serial().as_str())
                    .await?
                else {
                    self.not_found(viewer).await?;
                    return Ok(None);
                };
                if let (Some(asked), Some(stored)) = (link.lot(), row.lot.as_deref())
                    && asked.as_str() != stored
                {
                    self.not_found(viewer).await?;
                    return Ok(None);
                }
                self.cached_view_if_visible(viewer, row).await
            }
        }
    }

    /// An unknown device costs what a device the viewer may not see costs:
    /// the same relationship queries run, so that response times do not
    /// tell the two apart.
    async fn not_found(&self, viewer: Viewer<'_>) -> Result<(), StoreError> {
        let nobody = DeviceRow {
            id: -1,
            gtin: String::new(),
            serial: String::new(),
            product_id: -1,
            lot: None,
            revision: None,
            status: String::new(),
            custodian_id: None,
            service_partner_id: None,
            shipped_to_id: None,
            epoch: 0,
        };
        self.store
            .view_epochs_of(&nobody, viewer.principal().map(|p| p.org.as_str()))
            .await?;
        self.may_see(viewer, &nobody).await.map(|_| ())
    }

    /// [`Self::view_if_visible`] through the view cache (`cache`): a view
    /// decided for this viewer at the unit's current counters is served
    /// as it is. Only views are kept, never a refusal, so an unknown and a
    /// hidden device keep costing the same.
    async fn cached_view_if_visible(
        &self,
        viewer: Viewer<'_>,
        row: DeviceRow,
    ) -> Result<Option<DeviceView>, ReadError> {
        let epochs = self
            .store
            .view_epochs_of(&row, viewer.principal().map(|p| p.org.as_str()))
            .await?;
        let key = cache::ViewKey {
            unit: row.id,
            viewer: cache::ViewerKey::of(viewer),
            epochs,
        };
        if let Some(hit) = self.device_cache.get(&key) {
            return Ok(Some((*hit).clone()));
        }
        // A miss decides on the row as it is now, read after the counters:
        // a status changed since `row` was read (a leaf, but no epoch)
        // must not be kept under the counters that include it.
        let Some(row) = self.store.device_by_id(row.id).await? else {
            self.not_found(viewer).await?;
            return Ok(None);
        };
        let Some(mut view) = self.view_if_visible(viewer, row).await? else {
            return Ok(None);
        };
        view.epochs = Some(epochs);
        let weight = view.weight();
        self.device_cache
            .put(key, std::sync::Arc::new(view.clone()), weight);
        Ok(Some(view))
    }

    /// Whether the device exists for the viewer: for every member who sees
    /// every device and for the public (who learn that a unit exists and
    /// its status, never more without its code), always; for a partner, by
    /// its organisation's custody (`policy::may_see_device`).
    async fn may_see(&self, viewer: Viewer<'_>, row: &DeviceRow) -> Result<bool, StoreError> {
        let Some(principal) = viewer.principal() else {
            return Ok(true);
        };
        if policy::may(viewer, Relationship::None, Operation::SeeEveryDevice) {
            return Ok(true);
        }
        let Some(org) = self.store.organisation_by_slug(&principal.org).await? else {
            return Ok(false);
        };
        let custody = self.store.custody_chain(&[row.id]).await?;
        Ok(policy::may_see_device(&custody, row.id, org.id))
    }

    async fn view_if_visible(
        &self,
        viewer: Viewer<'_>,
        row: DeviceRow,
    ) -> Result<Option<DeviceView>, ReadError> {
        if !self.may_see(viewer, &row).await? {
            return Ok(None);
        }
        Ok(Some(self.view(viewer, row).await?))
    }

    async fn view(&self, viewer: Viewer<'_>, row: DeviceRow) -> Result<DeviceView, StoreError> {
        self.views(viewer, vec![row])
            .await?
            .pop()
            .ok_or_else(|| StoreError::Corrupt("device view missing".into()))
    }

    /// Views of many devices with a constant number of queries: products,
    /// the open links up to each assembly's top (one query per level),
    /// organisation slugs. Every attribute is decided for the viewer.
    pub(crate) async fn views(
        &self,
        viewer: Viewer<'_>,
        rows: Vec<DeviceRow>,
    ) -> Result<Vec<DeviceView>, StoreError> {
        let mut product_ids: Vec<i64> = rows.iter().map(|r| r.product_id).collect();
        product_ids.sort_unstable();
        product_ids.dedup();
        let products = self.store.products_by_ids(&product_ids).await?;
        // Effective custodian: the custodian of the top of each assembly.
        let mut known: HashMap<i64, DeviceRow> = rows.iter().map(|r| (r.id, r.clone())).collect();
        let mut top: HashMap<i64, i64> = rows.iter().map(|r| (r.id, r.id)).collect();
        let mut frontier: Vec<i64> = rows.iter().map(|r| r.id).collect();
        for _ in 0..=crate::domain::custody::MAX_ASSEMBLY_DEPTH {
            frontier.sort_unstable();
            frontier.dedup();
            let links = self.store.open_links(&frontier, false).await?;
            if links.is_empty() {
                break;
            }
            let parent_of: HashMap<i64, i64> =
                links.iter().map(|l| (l.child_id, l.parent_id)).collect();
            let missing: Vec<i64> = parent_of
                .values()
                .copied()
                .filter(|id| !known.contains_key(id))
                .collect();
            for parent in self.store.devices_by_ids(&missing).await? {
                known.insert(parent.id, parent);
            }
            frontier.clear();
            for current in top.values_mut() {
                if let Some(parent) = parent_of.get(current) {
                    *current = *parent;
                    frontier.push(*parent);
                }
            }
        }
        let custodian_of = |id: i64| -> Option<i64> {
            top.get(&id)
                .and_then(|t| known.get(t))
                .and_then(|d| d.custodian_id)
        };
        let mut org_ids: Vec<i64> = rows
            .iter()
            .flat_map(|r| [custodian_of(r.id), r.service_partner_id])
            .flatten()
            .collect();
        org_ids.sort_unstable();
        org_ids.dedup();
        let slugs = self.store.organisation_slugs(&org_ids).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let key = DeviceKey::parse(&format!("{}/{}", row.gtin, row.serial))
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let status: DeviceStatus = row.status.parse().map_err(StoreError::Corrupt)?;
            let custodian = custodian_of(row.id).and_then(|id| slugs.get(&id).cloned());
            let service_partner = row
                .service_partner_id
                .and_then(|id| slugs.get(&id).cloned());
            let relationship =
                policy::relationship_now(viewer, custodian.as_deref(), service_partner.as_deref());
            let shows = |class: Visibility| {
                policy::decide(viewer, relationship, class) == Disclosure::Disclose
            };
            let (public, partner) = (shows(Visibility::Public), shows(Visibility::Partner));
            let product = products
                .get(&row.product_id)
                .filter(|_| public)
                .map(|p| ProductView {
                    gtin: p.gtin.clone(),
                    name: p.name.clone(),
                    model: p.model.clone(),
                    warranty_months: p.warranty_months,
                    warranty_terms: p.warranty_terms.clone(),
                });
            out.push(DeviceView {
                handle: DeviceHandle(row.id),
                digital_link: canonical_uri(&self.settings.public_base_url, &key),
                custodian: custodian.filter(|_| partner),
                service_partner: service_partner.filter(|_| partner),
                gtin: row.gtin,
                serial: row.serial,
                lot: row.lot.filter(|_| public),
                revision: row.revision.filter(|_| partner),
                status: public.then_some(status),
                product,
                epochs: None,
            });
        }
        Ok(out)
    }

    /// Components installed at `at` (now by default) — or, with `all`, every
    /// component ever installed, with its dates. Only parts that exist for
    /// the viewer, each decided for it.
    pub async fn components(
        &self,
        viewer: Viewer<'_>,
        device: &DeviceView,
        at: Option<DateTime<Utc>>,
        all: bool,
    ) -> Result<Vec<ComponentView>, ReadError> {
        self.components_within(viewer, device, at, all, None).await
    }

    /// As `components`, only the links that overlap `window` (installed,
    /// removed), checked before any of their devices is loaded.
    async fn components_within(
        &self,
        viewer: Viewer<'_>,
        device: &DeviceView,
        at: Option<DateTime<Utc>>,
        all: bool,
        window: Option<(DateTime<Utc>, Option<DateTime<Utc>>)>,
    ) -> Result<Vec<ComponentView>, ReadError> {
        let at = at.unwrap_or_else(Utc::now);
        let mut out = Vec::new();
        for link in self.store.links_as_parent(device.id()).await? {
            if !all && !active_at(&link, at) {
                continue;
            }
            // Only what was inside the part while it was installed there.
            if let Some((installed, removed)) = window
                && !(removed.is_none_or(|r| link.installed_at < r)
                    && link.removed_at.is_none_or(|r| r > installed))
            {
                continue;
            }
            let Some(row) = self.store.device_by_id(link.child_id).await? else {
                continue;
            };
            // Only parts that exist for the caller: a part installed now is
            // seen through a device the caller holds, services or covers
            // now (not one it held before the part went in); a part removed
            // since has a life of its own.
            if !self.may_see(viewer, &row).await? {
                continue;
            }
            out.push(ComponentView {
                device: self.view(viewer, row).await?,
                installed_at: link.installed_at,
                removed_at: link.removed_at,
            });
        }
        Ok(out)
    }

    /// The device this one is installed in now, if the caller may see it.
    pub async fn parent(
        &self,
        viewer: Viewer<'_>,
        device: &DeviceView,
    ) -> Result<Option<DeviceView>, ReadError> {
        let links = self.store.links_as_child(device.id()).await?;
        let Some(open) = links.iter().find(|l| l.removed_at.is_none()) else {
            return Ok(None);
        };
        let Some(row) = self.store.device_by_id(open.parent_id).await? else {
            return Ok(None);
        };
        self.view_if_visible(viewer, row).await
    }

    /// The assembly tree below the device: as of `at` (only what was
    /// installed then), or every component ever installed when `at` is None.
    pub async fn lineage(
        &self,
        viewer: Viewer<'_>,
        device: &DeviceView,
        at: Option<DateTime<Utc>>,
    ) -> Result<Vec<LineageNode>, ReadError> {
        let mut roots = Vec::new();
        for c in self.components(viewer, device, at, at.is_none()).await? {
            roots.push(Box::pin(self.lineage_node(viewer, c, at, 1)).await?);
        }
        Ok(roots)
    }

    async fn lineage_node(
        &self,
        viewer: Viewer<'_>,
        c: ComponentView,
        at: Option<DateTime<Utc>>,
        depth: usize,
    ) -> Result<LineageNode, ReadError> {
        let mut components = Vec::new();
        if depth < crate::domain::custody::MAX_ASSEMBLY_DEPTH {
            // Only what was inside this part while it was installed here.
            let window = Some((c.installed_at, c.removed_at));
            for sub in self
                .components_within(viewer, &c.device, at, at.is_none(), window)
                .await?
            {
                components.push(Box::pin(self.lineage_node(viewer, sub, at, depth + 1)).await?);
            }
        }
        Ok(LineageNode {
            device: c.device,
            installed_at: Some(c.installed_at),
            removed_at: c.removed_at,
            components,
        })
    }
}
