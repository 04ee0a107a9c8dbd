//! Capturing a batch of events: all or nothing, in one transaction.
//!
//! Every event is first validated on its own (`domain::event`), then the
//! batch is checked against the stored state and against the events before
//! it in the same batch: known products and devices, who may capture for
//! which device, custody, component links. Any rejection rejects the batch;
//! an accepted batch is committed before the receipts are returned.

mod declare;
mod planner;

pub use declare::{DECLARATION_SUFFIX, status_of};

use std::collections::HashMap;

use chrono::{DateTime, SubsecRound, Utc};
use sha2::{Digest, Sha256};

use super::Portal;
use super::log::{build_leaves, chain_heads, leaf_job};
use crate::auth::Principal;
use crate::domain::DeviceKey;
use crate::domain::cbv::{BizStep, Disposition};
use crate::domain::custody::Party;
use crate::domain::event::{RawEvent, ValidEvent, validate};
use crate::domain::visibility::{Visibility, standard_class};
use crate::store::StoreError;
use crate::store::capture::DeviceHandle;
use crate::store::custody::CustodyWrite;
use planner::Planner;

pub const MAX_BATCH: usize = 10_000;

/// Device statuses, set by events only (docs/device-lifecycle.md), as
/// stored: the names of [`DeviceStatus`](crate::domain::status::DeviceStatus).
pub mod status {
    use crate::domain::status::DeviceStatus;
    pub const COMMISSIONED: &str = DeviceStatus::Commissioned.as_str();
    pub const IN_TRANSIT: &str = DeviceStatus::InTransit.as_str();
    pub const IN_STOCK: &str = DeviceStatus::InStock.as_str();
    pub const INSTALLED: &str = DeviceStatus::Installed.as_str();
    pub const IN_REPAIR: &str = DeviceStatus::InRepair.as_str();
    pub const RETURNED: &str = DeviceStatus::Returned.as_str();
    pub const RECALLED: &str = DeviceStatus::Recalled.as_str();
    pub const STOLEN: &str = DeviceStatus::Stolen.as_str();
    pub const DECOMMISSIONED: &str = DeviceStatus::Decommissioned.as_str();
    /// The portal's own business step that ends a theft (CBV has none):
    /// docs/device-lifecycle.md, "Recovery".
    pub const RECOVERING_STEP: &str = crate::domain::cbv::RECOVERING_STEP;
}

/// The status an event gives the devices of its `epcList`, if it changes
/// it (docs/device-lifecycle.md, "Status"). A disposition that says what
/// happened to the unit wins over the step. A stolen unit's status changes
/// only by its recovery; a recalled unit's only by its decommissioning
/// (later also by the recall's remedy): no other event clears either.
pub fn status_after(
    current: &str,
    biz_step: Option<&BizStep>,
    disposition: Option<&Disposition>,
) -> Option<&'static str> {
    let decommissioned = disposition == Some(&Disposition::Destroyed)
        || matches!(
            biz_step,
            Some(BizStep::Decommissioning | BizStep::Destroying)
        );
    match current {
        status::STOLEN => {
            return biz_step
                .is_some_and(BizStep::is_recovering)
                .then_some(status::IN_STOCK);
        }
        status::RECALLED => return decommissioned.then_some(status::DECOMMISSIONED),
        _ => {}
    }
    let by_disposition = match disposition {
        Some(Disposition::Returned) => Some(status::RETURNED),
        Some(Disposition::Recalled) => Some(status::RECALLED),
        Some(Disposition::Stolen) => Some(status::STOLEN),
        Some(Disposition::Destroyed) => Some(status::DECOMMISSIONED),
        _ => None,
    };
    by_disposition.or(match biz_step {
        Some(BizStep::Commissioning) => Some(status::COMMISSIONED),
        Some(BizStep::Shipping) => Some(status::IN_TRANSIT),
        Some(BizStep::Receiving) => Some(status::IN_STOCK),
        Some(BizStep::Installing) => Some(status::INSTALLED),
        Some(BizStep::Repairing) => Some(status::IN_REPAIR),
        Some(BizStep::Decommissioning | BizStep::Destroying) => Some(status::DECOMMISSIONED),
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

/// The event's stored field rows (name, JSON text, class): its members and
/// the acting organisation and operator.
fn stored_fields(
    e: &ValidEvent,
    organisation: &str,
    operator: &str,
) -> Vec<(String, String, String)> {
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
    for (name, value) in [("organisation", organisation), ("operator", operator)] {
        let class = standard_class(name).unwrap_or(Visibility::Internal);
        fields.push((
            name.into(),
            serde_json::Value::String(value.to_owned()).to_string(),
            class.as_str().into(),
        ));
    }
    fields
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn key_str(key: &DeviceKey) -> String {
    key.to_string()
}

impl Portal {
    /// Captures a batch for `principal` (audited as from `internal`).
    pub async fn capture(
        &self,
        principal: &Principal,
        raw: Vec<RawEvent>,
    ) -> Result<Vec<Receipt>, CaptureError> {
        self.capture_from(principal, "internal", raw).await
    }

    /// Captures a batch for `principal` calling from `client`. An accepted
    /// batch's access-log row is written in its transaction; a refused
    /// one's goes through the buffered writer.
    pub async fn capture_from(
        &self,
        principal: &Principal,
        client: &str,
        raw: Vec<RawEvent>,
    ) -> Result<Vec<Receipt>, CaptureError> {
        let result = self.capture_inner(principal, client, raw).await;
        if result.is_ok() {
            // This process's pages show the capture at once.
            self.refresh_pages().await;
        }
        if let Err(e) = &result {
            self.record_read(super::access::row(
                principal.into(),
                client,
                "captureEvents",
                Vec::new(),
                &[],
                &format!("refused: {e}"),
            ))
            .await;
        }
        result
    }

    #[tracing::instrument(skip_all, fields(events = raw.len(), org = %principal.org))]
    async fn capture_inner(
        &self,
        principal: &Principal,
        client: &str,
        raw: Vec<RawEvent>,
    ) -> Result<Vec<Receipt>, CaptureError> {
        if !crate::policy::may_capture(principal.role) {
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
        // Millisecond precision: the record time is committed in the leaves
        // in that form, and the column must say exactly the same.
        let now = Utc::now().trunc_subsecs(3);
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
        // What the role may capture for no device at all is refused before
        // any device is loaded or the writer lock is taken.
        for (index, e, _) in &valid {
            if let Some((field, reason)) = crate::policy::role_refusal(
                principal.role,
                e.biz_step.as_ref(),
                e.disposition.as_ref(),
            ) {
                rejections.push(Rejection {
                    index: *index,
                    field: field.into(),
                    reason: reason.into(),
                });
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

        // Error declarations (docs/device-lifecycle.md, "Corrections") come
        // in batches of their own, from the manufacturer.
        let declaring = valid
            .iter()
            .filter(|(_, e, _)| e.error_declaration.is_some())
            .count();
        if declaring > 0 {
            if declaring != valid.len() {
                return Err(CaptureError::InvalidBatch(
                    "a batch with an errorDeclaration holds error declarations only".into(),
                ));
            }
            if !crate::policy::may(
                principal.into(),
                crate::policy::Relationship::None,
                crate::policy::Operation::DeclareInError,
            ) {
                return Err(CaptureError::Forbidden(
                    "only the manufacturer declares events in error".into(),
                ));
            }
            let total = valid.len();
            let firsts: Vec<planner::Fresh> = valid
                .into_iter()
                .filter(|(i, _, _)| !duplicate_of.contains_key(i))
                .collect();
            let _writer = self.writer.lock().await;
            let tx = self.store.begin_capture().await?;
            let mut receipts = self
                .declare(tx, principal, client, firsts, total, now)
                .await?;
            for (dup, first) in duplicate_of {
                receipts[dup] = receipts[first].clone();
            }
            return receipts
                .into_iter()
                .map(|r| r.ok_or_else(|| StoreError::Corrupt("missing receipt".into()).into()))
                .collect();
        }
        if let Some((index, _, _)) = valid
            .iter()
            .find(|(_, e, _)| e.event_id.ends_with(DECLARATION_SUFFIX))
        {
            return Err(CaptureError::Rejected(vec![Rejection {
                index: *index,
                field: "eventID".into(),
                reason: format!(
                    "an eventID ending in {DECLARATION_SUFFIX} names an error declaration"
                ),
            }]));
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
            let mut plan = planner.finish();
            let custody = std::mem::take(&mut plan.custody);
            let mut existing = Vec::new();
            let mut jobs = Vec::with_capacity(fresh.len());
            for (((_, e, _), planned), elements) in fresh.iter().zip(&plan.events).zip(elements) {
                let devices: Vec<(DeviceHandle, String)> = planned
                    .devices
                    .iter()
                    .map(|(h, _)| *h)
                    .zip(elements)
                    .collect();
                existing.extend(devices.iter().filter_map(|(h, _)| match h {
                    DeviceHandle::Existing(id) => Some(*id),
                    DeviceHandle::New(_) => None,
                }));
                jobs.push(leaf_job(
                    e,
                    devices,
                    &principal.org,
                    &principal.subject,
                    now,
                ));
            }
            // The leaves are pure computation: build them on another thread
            // while the batch's rows are written.
            let heads = chain_heads(&tx, existing).await?;
            let building = tokio::task::spawn_blocking(move || build_leaves(&jobs, heads));
            let written = tx.write(plan).await?;
            let built = building
                .await
                .map_err(|e| StoreError::Corrupt(format!("building the leaves failed: {e}")))??;
            let leaves = self.append_to_log(&tx, built, &written).await?;
            // Custody intervals are bounded by the leaves' indexes: an
            // event's position is its first leaf.
            let mut writes = Vec::with_capacity(custody.len());
            for c in custody {
                let (Some(pos), Some(ids)) = (
                    leaves.get(c.event).and_then(|l| l.first()),
                    written.devices_per_event.get(c.event),
                ) else {
                    return Err(StoreError::Corrupt("custody change of no event".into()).into());
                };
                let party = match c.party {
                    None => None,
                    Some(Party::Organisation(o)) => Some(o),
                    Some(Party::Device(j)) => Some(*ids.get(j).ok_or_else(|| {
                        StoreError::Corrupt("custody change of no device".into())
                    })?),
                };
                writes.push(CustodyWrite {
                    device: *ids
                        .get(c.device)
                        .ok_or_else(|| StoreError::Corrupt("custody change of no device".into()))?,
                    existing: c.existing,
                    kind: c.kind,
                    party,
                    pos: *pos,
                });
            }
            // Units that change hands may change region, and so warranty
            // provider; new units inherit their product's assignment.
            let warranty = tx.warranty_writes(&writes).await?;
            writes.extend(warranty);
            tx.write_custody(&writes).await?;
            let mut devices: Vec<String> = Vec::new();
            let mut classes: Vec<crate::domain::visibility::Visibility> = Vec::new();
            for (_, e, _) in &fresh {
                devices.extend(e.devices().into_iter().map(|d| d.key.to_string()));
                classes.extend(e.fields.iter().map(|f| f.class));
            }
            devices.sort();
            devices.dedup();
            tx.append_access(&[super::access::row(
                principal.into(),
                client,
                "captureEvents",
                devices,
                &classes,
                &format!("ok: {} event(s) recorded", fresh.len()),
            )])
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
