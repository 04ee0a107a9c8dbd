//! Capturing a batch of events: all or nothing, in one transaction.
//!
//! Every event is first validated on its own (`domain::event`), then the
//! batch is checked against the stored state and against the events before
//! it in the same batch: known products and devices, who may capture for
//! which device, custody, component links. Any rejection rejects the batch;
//! an accepted batch is committed before the receipts are returned.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::Portal;
use crate::auth::{Principal, Role};
use crate::domain::DeviceKey;
use crate::domain::event::{Action, DeviceRef, EventType, RawEvent, ValidEvent, validate};
use crate::domain::visibility::{Visibility, standard_class};
use crate::store::StoreError;
use crate::store::capture::{
    CaptureTx, DeviceHandle, DeviceRow, DeviceState, NewDevice, NewEvent, NewLink, WritePlan,
};

pub const MAX_BATCH: usize = 10_000;

/// Device statuses, set by events only (docs/device-lifecycle.md).
pub mod status {
    pub const COMMISSIONED: &str = "commissioned";
    pub const IN_TRANSIT: &str = "in_transit";
    pub const IN_STOCK: &str = "in_stock";
    pub const INSTALLED: &str = "installed";
    pub const IN_REPAIR: &str = "in_repair";
    pub const RETURNED: &str = "returned";
    pub const RECALLED: &str = "recalled";
    pub const STOLEN: &str = "stolen";
    pub const DECOMMISSIONED: &str = "decommissioned";
}

/// The status an event gives the devices of its `epcList`, if it changes it.
/// A disposition that says what happened to the unit wins over the step.
pub fn status_after(biz_step: Option<&str>, disposition: Option<&str>) -> Option<&'static str> {
    let by_disposition = match disposition {
        Some("returned") => Some(status::RETURNED),
        Some("recalled") => Some(status::RECALLED),
        Some("stolen") => Some(status::STOLEN),
        Some("destroyed") => Some(status::DECOMMISSIONED),
        _ => None,
    };
    by_disposition.or(match biz_step {
        Some("commissioning") => Some(status::COMMISSIONED),
        Some("shipping") => Some(status::IN_TRANSIT),
        Some("receiving") => Some(status::IN_STOCK),
        Some("installing") => Some(status::INSTALLED),
        Some("repairing") => Some(status::IN_REPAIR),
        Some("decommissioning") | Some("destroying") => Some(status::DECOMMISSIONED),
        _ => None,
    })
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    pub event_id: String,
    pub record_time: DateTime<Utc>,
    /// The event's leaves in the public log, one per device it touches.
    pub leaf_indexes: Vec<u64>,
}

/// One rejected event: its position in the batch, the member at fault and
/// why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    pub index: usize,
    pub field: String,
    pub reason: String,
}

#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("{} event(s) rejected; nothing was written", .0.len())]
    Rejected(Vec<Rejection>),
    #[error("{0}")]
    InvalidBatch(String),
    #[error("{0}")]
    Forbidden(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// RFC 8785 canonical form of the normalised event, hashed: two captures
/// under one eventID are the same event exactly when these agree.
fn canonical_hash(event: &ValidEvent, organisation: &str) -> Result<String, String> {
    // The capturing organisation is part of the event: another
    // organisation's identical body is not a replay of this one.
    let input =
        serde_json::json!({ "event": event.normalised_json(), "organisation": organisation });
    let canonical = crate::ledger::jcs::canonicalize(&input)
        .map_err(|e| format!("cannot be put in canonical form: {e}"))?;
    Ok(hex(&Sha256::digest(&canonical)))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn key_str(key: &DeviceKey) -> String {
    key.to_string()
}

impl Portal {
    /// Captures a batch for `principal`.
    #[tracing::instrument(skip_all, fields(events = raw.len(), org = %principal.org))]
    pub async fn capture(
        &self,
        principal: &Principal,
        raw: Vec<RawEvent>,
    ) -> Result<Vec<Receipt>, CaptureError> {
        if !matches!(
            principal.role,
            Role::Admin | Role::Staff | Role::Distributor | Role::ServicePartner
        ) {
            return Err(CaptureError::Forbidden(format!(
                "the {} role does not capture events",
                principal.role
            )));
        }
        if raw.is_empty() || raw.len() > MAX_BATCH {
            return Err(CaptureError::InvalidBatch(format!(
                "a batch holds 1 to {MAX_BATCH} events; this one has {}",
                raw.len()
            )));
        }
        let now = Utc::now();
        let mut rejections = Vec::new();
        let mut valid = Vec::with_capacity(raw.len());
        for (index, r) in raw.into_iter().enumerate() {
            match validate(r, now) {
                Ok(e) => match canonical_hash(&e, &principal.org) {
                    Ok(hash) => valid.push((index, e, hash)),
                    Err(reason) => rejections.push(Rejection {
                        index,
                        field: String::new(),
                        reason,
                    }),
                },
                Err(f) => rejections.push(Rejection {
                    index,
                    field: f.field,
                    reason: f.reason,
                }),
            }
        }
        if !rejections.is_empty() {
            return Err(CaptureError::Rejected(rejections));
        }
        // The same eventID twice in one batch: one event if identical.
        let mut first_of: HashMap<&str, (usize, &str)> = HashMap::new();
        let mut duplicate_of: HashMap<usize, usize> = HashMap::new();
        for (index, e, hash) in &valid {
            match first_of.get(e.event_id.as_str()) {
                Some((first, h)) if *h == hash.as_str() => {
                    duplicate_of.insert(*index, *first);
                }
                Some(_) => rejections.push(Rejection {
                    index: *index,
                    field: "eventID".into(),
                    reason: "given twice in this batch with different content".into(),
                }),
                None => {
                    first_of.insert(&e.event_id, (*index, hash));
                }
            }
        }
        if !rejections.is_empty() {
            return Err(CaptureError::Rejected(rejections));
        }

        let _writer = self.writer.lock().await;
        let tx = self.store.begin_capture().await?;
        let ids: Vec<String> = first_of.keys().map(|s| (*s).to_owned()).collect();
        let stored = tx.events_by_event_id(&ids).await?;
        let stored_ids: Vec<i64> = stored.iter().map(|e| e.id).collect();
        let mut stored_leaves = tx.leaf_indexes(&stored_ids).await?;
        let existing: HashMap<String, (String, DateTime<Utc>, Vec<u64>)> = stored
            .into_iter()
            .map(|e| {
                let leaves = stored_leaves
                    .remove(&e.id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|i| i as u64)
                    .collect();
                (e.event_id, (e.canonical_hash, e.record_time, leaves))
            })
            .collect();
        let mut receipts: Vec<Option<Receipt>> = vec![None; valid.len()];
        let mut fresh = Vec::new();
        for (index, e, hash) in valid {
            if duplicate_of.contains_key(&index) {
                continue;
            }
            match existing.get(&e.event_id) {
                Some((h, record_time, leaves)) if *h == hash => {
                    receipts[index] = Some(Receipt {
                        event_id: e.event_id.clone(),
                        record_time: *record_time,
                        leaf_indexes: leaves.clone(),
                    });
                }
                Some(_) => rejections.push(Rejection {
                    index,
                    field: "eventID".into(),
                    reason: "already used by a different event".into(),
                }),
                None => fresh.push((index, e, hash)),
            }
        }
        if !rejections.is_empty() {
            return Err(CaptureError::Rejected(rejections));
        }
        if !fresh.is_empty() {
            let mut planner = Planner::load(&tx, principal, &fresh, now).await?;
            for (index, e, hash) in &fresh {
                if let Err(r) = planner.apply(*index, e, hash) {
                    rejections.push(r);
                }
            }
            if !rejections.is_empty() {
                return Err(CaptureError::Rejected(rejections));
            }
            let elements = planner.elements();
            let written = tx.write(planner.finish()).await?;
            let events: Vec<&ValidEvent> = fresh.iter().map(|(_, e, _)| e).collect();
            let leaves = self
                .append_to_log(
                    &tx,
                    &events,
                    &elements,
                    &written,
                    &principal.org,
                    &principal.subject,
                )
                .await?;
            tx.commit().await?;
            for ((index, e, _), leaf_indexes) in fresh.into_iter().zip(leaves) {
                receipts[index] = Some(Receipt {
                    event_id: e.event_id,
                    record_time: now,
                    leaf_indexes,
                });
            }
        }
        for (dup, first) in duplicate_of {
            receipts[dup] = receipts[first].clone();
        }
        receipts
            .into_iter()
            .map(|r| r.ok_or_else(|| StoreError::Corrupt("missing receipt".into()).into()))
            .collect()
    }
}

struct Dev {
    gtin: String,
    serial: String,
    service_partner_id: Option<i64>,
    state: DeviceState,
}

/// Where a component's current link came from.
#[derive(Clone, Copy)]
enum LinkRef {
    Existing(i64),
    New(usize),
}

/// Applies a batch to an in-memory copy of the state it touches, producing
/// the write plan or the first rejection of each event.
struct Planner {
    org_id: i64,
    role: Role,
    org_slug: String,
    operator: String,
    handles: HashMap<String, DeviceHandle>,
    devices: HashMap<DeviceHandle, Dev>,
    original: HashMap<i64, DeviceState>,
    parent_of: HashMap<DeviceHandle, (DeviceHandle, LinkRef)>,
    products: HashMap<String, i64>,
    orgs: HashMap<String, i64>,
    plan: WritePlan,
}

type Fresh = (usize, ValidEvent, String);

impl Planner {
    async fn load(
        tx: &CaptureTx,
        principal: &Principal,
        fresh: &[Fresh],
        now: DateTime<Utc>,
    ) -> Result<Self, CaptureError> {
        let mut keys: Vec<(String, String)> = Vec::new();
        let mut gtins: Vec<String> = Vec::new();
        let mut slugs: Vec<String> = vec![principal.org.clone()];
        for (_, e, _) in fresh {
            for d in e.devices() {
                keys.push((d.key.gtin().to_string(), d.key.serial().to_string()));
                gtins.push(d.key.gtin().to_string());
            }
            slugs.extend(e.destinations.iter().map(|p| p.id.clone()));
        }
        keys.sort();
        keys.dedup();
        gtins.sort();
        gtins.dedup();
        slugs.sort();
        slugs.dedup();
        let orgs = tx.organisation_ids(&slugs).await?;
        let org_id = *orgs.get(&principal.org).ok_or_else(|| {
            CaptureError::Forbidden("the token's organisation does not exist".into())
        })?;
        let products = tx.products_by_gtin(&gtins).await?;
        let mut rows: Vec<DeviceRow> = tx.devices_by_key(&keys).await?;
        // Follow open links upwards, so that custody can be resolved through
        // parents, and downwards one level, so that installs see occupants.
        let mut links = Vec::new();
        let mut frontier: Vec<i64> = rows.iter().map(|d| d.id).collect();
        while !frontier.is_empty() {
            let found = tx.open_links_touching(&frontier).await?;
            let known: Vec<i64> = rows.iter().map(|d| d.id).collect();
            let mut missing: Vec<i64> = found
                .iter()
                .filter(|l| frontier.contains(&l.child_id))
                .map(|l| l.parent_id)
                .filter(|id| !known.contains(id))
                .collect();
            missing.sort_unstable();
            missing.dedup();
            for l in found {
                if !links
                    .iter()
                    .any(|x: &crate::store::capture::LinkRow| x.id == l.id)
                {
                    links.push(l);
                }
            }
            let more = tx.devices_by_id(&missing).await?;
            frontier = more.iter().map(|d| d.id).collect();
            rows.extend(more);
        }
        let mut planner = Planner {
            org_id,
            role: principal.role,
            org_slug: principal.org.clone(),
            operator: principal.subject.clone(),
            handles: HashMap::new(),
            devices: HashMap::new(),
            original: HashMap::new(),
            parent_of: HashMap::new(),
            products,
            orgs,
            plan: WritePlan {
                record_time: Some(now),
                ..Default::default()
            },
        };
        for d in rows {
            let h = DeviceHandle::Existing(d.id);
            let state = DeviceState {
                status: d.status,
                custodian_id: d.custodian_id,
                shipped_to_id: d.shipped_to_id,
                revision: d.revision,
            };
            planner.original.insert(d.id, state.clone());
            planner
                .handles
                .insert(format!("{}/{}", d.gtin, d.serial), h);
            planner.devices.insert(
                h,
                Dev {
                    gtin: d.gtin,
                    serial: d.serial,
                    service_partner_id: d.service_partner_id,
                    state,
                },
            );
        }
        for l in links {
            planner.parent_of.insert(
                DeviceHandle::Existing(l.child_id),
                (DeviceHandle::Existing(l.parent_id), LinkRef::Existing(l.id)),
            );
        }
        Ok(planner)
    }

    fn custodian(&self, h: DeviceHandle) -> Option<i64> {
        let mut h = h;
        // Components follow their parent's custody; bounded against cycles.
        for _ in 0..64 {
            match self.parent_of.get(&h) {
                Some((p, _)) => h = *p,
                None => break,
            }
        }
        self.devices.get(&h).and_then(|d| d.state.custodian_id)
    }

    fn key_of(&self, h: DeviceHandle) -> String {
        self.devices
            .get(&h)
            .map(|d| format!("{}/{}", d.gtin, d.serial))
            .unwrap_or_default()
    }

    /// May the caller capture this event for this device? Partners: devices
    /// they hold, or that they service (directly or as part of a device they
    /// service); a device shipped to them only to record its receipt. A
    /// device they may not touch is reported exactly like an unknown one.
    fn may_touch(&self, h: DeviceHandle, receiving: bool) -> bool {
        if self.role.is_manufacturer() {
            return true;
        }
        let Some(d) = self.devices.get(&h) else {
            return false;
        };
        if self.custodian(h) == Some(self.org_id)
            || (receiving && d.state.shipped_to_id == Some(self.org_id))
        {
            return true;
        }
        // The service partner of the device or of any device it is in.
        let mut current = Some(h);
        for _ in 0..64 {
            let Some(c) = current else { break };
            if self
                .devices
                .get(&c)
                .is_some_and(|x| x.service_partner_id == Some(self.org_id))
            {
                return true;
            }
            current = self.parent_of.get(&c).map(|(p, _)| *p);
        }
        false
    }

    fn existing(
        &self,
        field: &str,
        d: &DeviceRef,
        receiving: bool,
    ) -> Result<DeviceHandle, (String, String)> {
        let unknown = || (field.to_owned(), format!("unknown device {}", d.key));
        let h = *self.handles.get(&key_str(&d.key)).ok_or_else(unknown)?;
        if !self.may_touch(h, receiving) {
            return Err(unknown());
        }
        if self
            .devices
            .get(&h)
            .is_some_and(|x| x.state.status == status::DECOMMISSIONED)
        {
            return Err((field.to_owned(), format!("{} is decommissioned", d.key)));
        }
        Ok(h)
    }

    fn apply(&mut self, index: usize, e: &ValidEvent, hash: &str) -> Result<(), Rejection> {
        let reject = |(field, reason): (String, String)| Rejection {
            index,
            field,
            reason,
        };
        let commissioning = e.is_biz_step("commissioning");
        let receiving = e.is_biz_step("receiving");
        // Resolve every device first; nothing changes before all are known.
        let mut epcs = Vec::with_capacity(e.epcs.len());
        for d in &e.epcs {
            if commissioning {
                if !self.role.is_manufacturer() {
                    return Err(reject((
                        "epcList".into(),
                        "only the manufacturer commissions devices".into(),
                    )));
                }
                if self.handles.contains_key(&key_str(&d.key)) {
                    return Err(reject((
                        "epcList".into(),
                        format!("{} is already commissioned", d.key),
                    )));
                }
                let Some(&product_id) = self.products.get(d.key.gtin().as_str()) else {
                    return Err(reject((
                        "epcList".into(),
                        format!("no product with GTIN {} is registered", d.key.gtin()),
                    )));
                };
                let h = DeviceHandle::New(self.plan.new_devices.len());
                self.plan.new_devices.push(NewDevice {
                    gtin: d.key.gtin().to_string(),
                    serial: d.key.serial().to_string(),
                    product_id,
                    lot: d.lot.as_ref().map(|l| l.as_str().to_owned()),
                    state: DeviceState {
                        status: status::COMMISSIONED.into(),
                        custodian_id: Some(self.org_id),
                        shipped_to_id: None,
                        revision: e.revision.clone(),
                    },
                });
                self.handles.insert(key_str(&d.key), h);
                self.devices.insert(
                    h,
                    Dev {
                        gtin: d.key.gtin().to_string(),
                        serial: d.key.serial().to_string(),
                        service_partner_id: None,
                        state: DeviceState {
                            status: status::COMMISSIONED.into(),
                            custodian_id: Some(self.org_id),
                            shipped_to_id: None,
                            revision: e.revision.clone(),
                        },
                    },
                );
                epcs.push(h);
            } else {
                epcs.push(self.existing("epcList", d, receiving).map_err(reject)?);
            }
        }
        let parent = match &e.parent {
            Some(p) => Some(self.existing("parentID", p, false).map_err(reject)?),
            None => None,
        };
        let mut children = Vec::with_capacity(e.children.len());
        for c in &e.children {
            children.push(self.existing("childEPCs", c, false).map_err(reject)?);
        }

        // Component links.
        if let (EventType::Aggregation, Some(p)) = (e.event_type, parent) {
            match e.action {
                Some(Action::Add) => {
                    for &c in &children {
                        if let Some((current, _)) = self.parent_of.get(&c) {
                            return Err(reject((
                                "childEPCs".into(),
                                // Name the other device only to those who may
                                // see it.
                                if self.may_touch(*current, false) {
                                    format!(
                                        "{} is installed in {}",
                                        self.key_of(c),
                                        self.key_of(*current)
                                    )
                                } else {
                                    format!("{} is installed in another device", self.key_of(c))
                                },
                            )));
                        }
                        let mut up = Some(p);
                        while let Some(a) = up {
                            if a == c {
                                return Err(reject((
                                    "childEPCs".into(),
                                    format!("{} contains {}", self.key_of(c), self.key_of(p)),
                                )));
                            }
                            up = self.parent_of.get(&a).map(|(x, _)| *x);
                        }
                    }
                    let holder = self.custodian(p);
                    for &c in &children {
                        let link = self.plan.new_links.len();
                        self.plan.new_links.push(NewLink {
                            parent: p,
                            child: c,
                            installed_by: self.plan.events.len(),
                            installed_at: e.event_time,
                            removed: None,
                        });
                        self.parent_of.insert(c, (p, LinkRef::New(link)));
                        if let Some(d) = self.devices.get_mut(&c) {
                            d.state.custodian_id = holder;
                            d.state.shipped_to_id = None;
                        }
                    }
                }
                Some(Action::Delete) => {
                    for &c in &children {
                        match self.parent_of.get(&c) {
                            Some((current, _)) if *current == p => {}
                            _ => {
                                return Err(reject((
                                    "childEPCs".into(),
                                    format!(
                                        "{} is not installed in {}",
                                        self.key_of(c),
                                        self.key_of(p)
                                    ),
                                )));
                            }
                        }
                    }
                    let holder = self.custodian(p);
                    let event_index = self.plan.events.len();
                    for &c in &children {
                        if let Some((_, link)) = self.parent_of.remove(&c) {
                            match link {
                                LinkRef::Existing(id) => {
                                    self.plan.closed_links.push((id, event_index, e.event_time))
                                }
                                LinkRef::New(i) => {
                                    self.plan.new_links[i].removed =
                                        Some((event_index, e.event_time))
                                }
                            }
                        }
                        if let Some(d) = self.devices.get_mut(&c) {
                            d.state.custodian_id = holder;
                        }
                    }
                }
                _ => {}
            }
        }

        // Custody and status of the epcList.
        let destination = if e.is_biz_step("shipping") {
            let found = e
                .destinations
                .iter()
                .find_map(|p| self.orgs.get(&p.id).copied());
            match found {
                Some(id) => Some(id),
                None => {
                    return Err(reject((
                        "destinationList".into(),
                        "shipping must name the receiving organisation by its slug".into(),
                    )));
                }
            }
        } else {
            None
        };
        for &h in &epcs {
            let holds = self.custodian(h) == Some(self.org_id);
            let installed = self.parent_of.contains_key(&h);
            let Some(d) = self.devices.get(&h) else {
                continue;
            };
            let (key, shipped_to) = (format!("{}/{}", d.gtin, d.serial), d.state.shipped_to_id);
            if let Some(dest) = destination {
                if !self.role.is_manufacturer() && !holds {
                    return Err(reject(("epcList".into(), format!("you do not hold {key}"))));
                }
                if installed {
                    return Err(reject((
                        "epcList".into(),
                        format!("{key} is installed in another device; ship that one"),
                    )));
                }
                if let Some(d) = self.devices.get_mut(&h) {
                    d.state.shipped_to_id = Some(dest);
                }
            }
            if e.is_biz_step("receiving") {
                if !self.role.is_manufacturer() && shipped_to != Some(self.org_id) && !holds {
                    return Err(reject((
                        "epcList".into(),
                        format!("{key} was not shipped to you"),
                    )));
                }
                if let Some(d) = self.devices.get_mut(&h) {
                    d.state.custodian_id = Some(self.org_id);
                    d.state.shipped_to_id = None;
                }
            }
            if let Some(s) = status_after(e.biz_step.as_deref(), e.disposition.as_deref())
                && let Some(d) = self.devices.get_mut(&h)
            {
                d.state.status = s.to_owned();
            }
        }

        // The event itself.
        let mut fields: Vec<(String, String, String)> = e
            .fields
            .iter()
            .map(|f| {
                (
                    f.name.clone(),
                    f.value.to_string(),
                    f.class.as_str().to_owned(),
                )
            })
            .collect();
        for (name, value) in [
            ("organisation", self.org_slug.clone()),
            ("operator", self.operator.clone()),
        ] {
            let class = standard_class(name).unwrap_or(Visibility::Internal);
            fields.push((
                name.into(),
                serde_json::Value::String(value).to_string(),
                class.as_str().into(),
            ));
        }
        let mut devices: Vec<(DeviceHandle, &'static str)> = Vec::new();
        for (hs, role) in [
            (parent.into_iter().collect::<Vec<_>>(), "parent"),
            (epcs, "epc"),
            (children, "child"),
        ] {
            for h in hs {
                if !devices.iter().any(|(x, _)| *x == h) {
                    devices.push((h, role));
                }
            }
        }
        self.plan.events.push(NewEvent {
            event_id: e.event_id.clone(),
            event_type: e.event_type.as_str().into(),
            action: e.action.map(|a| a.as_str().into()),
            biz_step: e.biz_step.clone(),
            disposition: e.disposition.clone(),
            event_time: e.event_time,
            event_time_zone_offset: e.event_time_zone_offset.clone(),
            read_point: e.read_point.clone(),
            biz_location: e.biz_location.clone(),
            organisation_id: self.org_id,
            operator: self.operator.clone(),
            canonical_hash: hash.to_owned(),
            fields,
            devices,
        });
        Ok(())
    }

    /// The `(01)…(21)…` element string of each device of each planned
    /// event, in the order the plan lists them.
    fn elements(&self) -> Vec<Vec<String>> {
        self.plan
            .events
            .iter()
            .map(|e| {
                e.devices
                    .iter()
                    .map(|(h, _)| {
                        self.devices
                            .get(h)
                            .and_then(|d| {
                                DeviceKey::parse(&format!("{}/{}", d.gtin, d.serial)).ok()
                            })
                            .map(|k| k.element_string())
                            .unwrap_or_default()
                    })
                    .collect()
            })
            .collect()
    }

    fn finish(mut self) -> WritePlan {
        // New devices carry their final state; existing ones are updated
        // where the batch changed them.
        for (i, nd) in self.plan.new_devices.iter_mut().enumerate() {
            if let Some(d) = self.devices.get(&DeviceHandle::New(i)) {
                nd.state = d.state.clone();
            }
        }
        let mut updates: Vec<(i64, DeviceState)> = Vec::new();
        for (h, d) in &self.devices {
            if let DeviceHandle::Existing(id) = h
                && let Some(orig) = self.original.get(id)
                && (orig.status != d.state.status
                    || orig.custodian_id != d.state.custodian_id
                    || orig.shipped_to_id != d.state.shipped_to_id)
            {
                updates.push((*id, d.state.clone()));
            }
        }
        updates.sort_by_key(|(id, _)| *id);
        self.plan.device_updates = updates;
        self.plan
    }
}
