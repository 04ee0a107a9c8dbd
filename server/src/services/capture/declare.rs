//! EPCIS error declarations (docs/device-lifecycle.md, "Corrections"): the
//! manufacturer re-sends a captured event with an `errorDeclaration`; the
//! declaration is captured as an event of its own (under the eventID
//! `{eventID}#errorDeclaration`, with a leaf per device like any event), the
//! declared event stays in the log, and the status of its devices is
//! recomputed without it.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::planner::Fresh;
use super::{CaptureError, Receipt, Rejection, canonical_hash, status, status_after};
use crate::auth::Principal;
use crate::domain::event::{
    Action, EventType, RawErrorDeclaration, RawEvent, ValidEvent, validate,
};
use crate::domain::visibility::Visibility;
use crate::services::Portal;
use crate::services::log::{build_leaves, chain_heads, leaf_job};
use crate::store::StoreError;
use crate::store::capture::{CaptureTx, DeviceHandle, NewEvent, WritePlan};

/// What a declaration's own eventID ends with.
use crate::domain::cbv::{BizStep, Disposition};

pub const DECLARATION_SUFFIX: &str = "#errorDeclaration";

/// The status a device has after these (bizStep, disposition) pairs of the
/// events naming it in `epcList`, in capture order.
pub fn status_of(history: &[(Option<String>, Option<String>)]) -> String {
    let mut current = status::COMMISSIONED.to_owned();
    for (step, disposition) in history {
        let step = step.as_deref().map(BizStep::from_stored);
        let disposition = disposition.as_deref().map(Disposition::from_stored);
        if step == Some(BizStep::Commissioning) {
            current = status::COMMISSIONED.to_owned();
        } else if let Some(s) = status_after(&current, step.as_ref(), disposition.as_ref()) {
            current = s.to_owned();
        }
    }
    current
}

fn reject(index: usize, field: &str, reason: impl Into<String>) -> Rejection {
    Rejection {
        index,
        field: field.into(),
        reason: reason.into(),
    }
}

impl Portal {
    /// Captures a batch of error declarations (only declarations, only by
    /// the manufacturer: the caller checked both) in `tx`.
    pub(super) async fn declare(
        &self,
        tx: CaptureTx,
        principal: &Principal,
        client: &str,
        valid: Vec<Fresh>,
        total: usize,
        now: DateTime<Utc>,
    ) -> Result<Vec<Option<Receipt>>, CaptureError> {
        let organisation_id = tx_org(&tx, principal).await?;
        let mut ids: Vec<String> = Vec::new();
        for (_, e, _) in &valid {
            ids.push(e.event_id.clone());
            ids.push(format!("{}{DECLARATION_SUFFIX}", e.event_id));
        }
        ids.sort();
        ids.dedup();
        let stored: HashMap<String, _> = tx
            .events_by_event_id(&ids)
            .await?
            .into_iter()
            .map(|e| (e.event_id.clone(), e))
            .collect();
        let mut receipts: Vec<Option<Receipt>> = vec![None; total];
        let mut rejections = Vec::new();
        let mut fresh: Vec<(usize, ValidEvent, String, i64)> = Vec::new();
        for (index, e, hash) in valid {
            let derived = format!("{}{DECLARATION_SUFFIX}", e.event_id);
            if derived.len() > 512 {
                rejections.push(reject(
                    index,
                    "eventID",
                    format!(
                        "an event declared in error has an eventID of at most {} characters",
                        512 - DECLARATION_SUFFIX.len()
                    ),
                ));
                continue;
            }
            if let Some(d) = stored.get(&derived) {
                if d.canonical_hash == hash {
                    let leaves = tx.leaf_indexes(&[d.id]).await?;
                    receipts[index] = Some(Receipt {
                        event_id: d.event_id.clone(),
                        record_time: d.record_time,
                        leaf_indexes: leaves
                            .get(&d.id)
                            .map(|l| l.iter().map(|i| *i as u64).collect())
                            .unwrap_or_default(),
                    });
                } else {
                    rejections.push(reject(
                        index,
                        "errorDeclaration",
                        "this event is already declared in error",
                    ));
                }
                continue;
            }
            let Some(original) = stored.get(&e.event_id) else {
                rejections.push(reject(
                    index,
                    "eventID",
                    "an errorDeclaration names an event that was captured",
                ));
                continue;
            };
            // The event re-sent with its declaration must be the event as
            // it was captured.
            let mut bare = e.clone();
            bare.error_declaration = None;
            bare.fields.retain(|f| f.name != "errorDeclaration");
            let slug = tx
                .organisation_slug(original.organisation_id)
                .await?
                .unwrap_or_default();
            if canonical_hash(&bare, &slug).ok().as_deref()
                != Some(original.canonical_hash.as_str())
            {
                rejections.push(reject(
                    index,
                    "errorDeclaration",
                    "send the declared event exactly as it was captured, with the errorDeclaration added",
                ));
                continue;
            }
            let moved = matches!(
                original.biz_step.as_deref(),
                Some("commissioning") | Some("shipping") | Some("receiving")
            ) || (original.event_type == EventType::Aggregation.as_str()
                && matches!(
                    original.action.as_deref(),
                    Some(a) if a == Action::Add.as_str() || a == Action::Delete.as_str()
                ));
            if moved {
                rejections.push(reject(
                    index,
                    "errorDeclaration",
                    "the event commissioned, moved custody or changed component links; correct it with new events instead",
                ));
                continue;
            }
            fresh.push((index, e, hash, original.id));
        }
        if !rejections.is_empty() {
            return Err(CaptureError::Rejected(rejections));
        }
        // Only the latest event of each unit it names: later events were
        // accepted under the status it gave, and would not all be now.
        let mut keys: Vec<(String, String)> = fresh
            .iter()
            .flat_map(|(_, e, _, _)| e.devices())
            .map(|d| (d.key.gtin().to_string(), d.key.serial().to_string()))
            .collect();
        keys.sort();
        keys.dedup();
        let rows = tx.devices_by_key(&keys).await?;
        let by_key: HashMap<(String, String), i64> = rows
            .iter()
            .map(|r| ((r.gtin.clone(), r.serial.clone()), r.id))
            .collect();
        let ids: Vec<i64> = by_key.values().copied().collect();
        let latest = tx.latest_live_events(&ids).await?;
        for (index, e, _, original) in &fresh {
            for d in e.devices() {
                let key = (d.key.gtin().to_string(), d.key.serial().to_string());
                let id = by_key.get(&key).copied();
                if id.and_then(|id| latest.get(&id)) != Some(original) {
                    rejections.push(reject(
                        *index,
                        "errorDeclaration",
                        format!(
                            "only the latest event of {} can be declared in error; declare the later ones first",
                            d.key
                        ),
                    ));
                    break;
                }
            }
        }
        if !rejections.is_empty() {
            return Err(CaptureError::Rejected(rejections));
        }
        if fresh.is_empty() {
            return Ok(receipts);
        }
        let mut plan = WritePlan {
            record_time: Some(now),
            ..Default::default()
        };
        let mut jobs = Vec::with_capacity(fresh.len());
        let mut existing: Vec<i64> = Vec::new();
        let mut epc_devices: Vec<i64> = Vec::new();
        for (index, e, hash, _) in &fresh {
            let derived = format!("{}{DECLARATION_SUFFIX}", e.event_id);
            let stored_form = own_event(e, &derived, now)
                .map_err(|f| CaptureError::Rejected(vec![reject(*index, &f.field, f.reason)]))?;
            let mut devices: Vec<(DeviceHandle, &'static str)> = Vec::new();
            let mut elements: Vec<(DeviceHandle, String)> = Vec::new();
            for (list, role) in [
                (e.parent.iter().collect::<Vec<_>>(), "parent"),
                (e.epcs.iter().collect(), "epc"),
                (e.children.iter().collect(), "child"),
            ] {
                for d in list {
                    let key = (d.key.gtin().to_string(), d.key.serial().to_string());
                    let id = *by_key.get(&key).ok_or_else(|| {
                        StoreError::Corrupt(format!("declared event names unknown {}", d.key))
                    })?;
                    let h = DeviceHandle::Existing(id);
                    devices.push((h, role));
                    elements.push((h, d.key.element_string()));
                    existing.push(id);
                    if role == "epc" {
                        epc_devices.push(id);
                    }
                }
            }
            let fields = super::stored_fields(&stored_form, &principal.org, &principal.subject);
            jobs.push(leaf_job(
                &stored_form,
                elements,
                &principal.org,
                &principal.subject,
                now,
            ));
            plan.events.push(NewEvent {
                event_id: derived,
                event_type: stored_form.event_type.as_str().into(),
                action: stored_form.action.map(|a| a.as_str().into()),
                biz_step: None,
                disposition: None,
                event_time: stored_form.event_time,
                event_time_zone_offset: stored_form.event_time_zone_offset.clone(),
                read_point: None,
                biz_location: None,
                organisation_id,
                operator: principal.subject.clone(),
                canonical_hash: hash.clone(),
                fields,
                devices,
            });
        }
        let heads = chain_heads(&tx, existing).await?;
        let built = tokio::task::spawn_blocking(move || build_leaves(&jobs, heads))
            .await
            .map_err(|e| StoreError::Corrupt(format!("building the leaves failed: {e}")))??;
        let written = tx.write(plan).await?;
        let leaves = self.append_to_log(&tx, built, &written).await?;
        for ((_, _, _, original), declaration) in fresh.iter().zip(&written.event_ids) {
            tx.record_declaration(*original, *declaration, now).await?;
        }
        // Status without the declared events.
        epc_devices.sort_unstable();
        epc_devices.dedup();
        let history = tx.status_history(&epc_devices).await?;
        let statuses: Vec<(i64, String)> = epc_devices
            .iter()
            .map(|d| (*d, status_of(history.get(d).map_or(&[][..], Vec::as_slice))))
            .collect();
        tx.set_statuses(&statuses).await?;
        let mut devices: Vec<String> = fresh
            .iter()
            .flat_map(|(_, e, _, _)| e.devices().into_iter().map(|d| d.key.to_string()))
            .collect();
        devices.sort();
        devices.dedup();
        tx.append_access(&[crate::services::access::row(
            principal.into(),
            client,
            "captureEvents",
            devices,
            &[Visibility::Public],
            &format!("ok: {} error declaration(s) recorded", fresh.len()),
        )])
        .await?;
        tx.commit().await?;
        for ((index, e, _, _), leaf_indexes) in fresh.into_iter().zip(leaves) {
            receipts[index] = Some(Receipt {
                event_id: format!("{}{DECLARATION_SUFFIX}", e.event_id),
                record_time: now,
                leaf_indexes,
            });
        }
        Ok(receipts)
    }
}

/// The declaration as an event of its own: the declared event's type,
/// action and device lists, at the declaration's time, with the
/// `errorDeclaration` — none of the declared event's other members, which
/// stay where they were (in its own leaves, under their relationships).
fn own_event(
    e: &ValidEvent,
    derived: &str,
    now: DateTime<Utc>,
) -> Result<ValidEvent, crate::domain::event::FieldError> {
    let d = e
        .error_declaration
        .as_ref()
        .ok_or_else(|| crate::domain::event::FieldError::new("errorDeclaration", "missing"))?;
    let member = |name: &str| e.fields.iter().find(|f| f.name == name).map(|f| &f.value);
    let links = |name: &str| -> Vec<String> {
        member(name)
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let time = d
        .declaration_time
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let raw = RawEvent {
        event_id: derived.to_owned(),
        event_type: e.event_type,
        action: e.action,
        biz_step: None,
        disposition: None,
        event_time: time.clone(),
        event_time_zone_offset: "+00:00".into(),
        epc_list: links("epcList"),
        parent_id: member("parentID").and_then(|v| v.as_str().map(str::to_owned)),
        child_epcs: links("childEPCs"),
        read_point: None,
        biz_location: None,
        source_list: Vec::new(),
        destination_list: Vec::new(),
        sensor_element_list: None,
        ilmd: None,
        extensions: Vec::new(),
        error_declaration: Some(RawErrorDeclaration {
            declaration_time: time,
            reason: d.reason.clone(),
            corrective_event_ids: d.corrective_event_ids.clone(),
        }),
    };
    validate(raw, now)
}

async fn tx_org(tx: &CaptureTx, principal: &Principal) -> Result<i64, CaptureError> {
    tx.organisation_ids(std::slice::from_ref(&principal.org))
        .await?
        .get(&principal.org)
        .copied()
        .ok_or_else(|| CaptureError::Forbidden("the token's organisation does not exist".into()))
}
