//! Loading the stored state a batch touches into a [`Planner`], and the
//! write plan it ends with.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::{Dev, Fresh, LinkRef, Planner, theft_named};
use crate::auth::Principal;
use crate::domain::DeviceKey;
use crate::domain::cbv::BizStep;
use crate::services::capture::CaptureError;
use crate::store::capture::{CaptureTx, DeviceHandle, DeviceRow, DeviceState, LinkRow, WritePlan};

impl Planner {
    pub(in crate::services::capture) async fn load(
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
        let mut named: Vec<String> = fresh
            .iter()
            .filter(|(_, e, _)| e.biz_step.as_ref().is_some_and(BizStep::is_recovering))
            .filter_map(|(_, e, _)| theft_named(e).map(str::to_owned))
            .collect();
        named.sort();
        named.dedup();
        let thefts: HashMap<String, HashSet<DeviceHandle>> = tx
            .theft_reports(&named)
            .await?
            .into_iter()
            .map(|(id, devices)| {
                (
                    id,
                    devices.into_iter().map(DeviceHandle::Existing).collect(),
                )
            })
            .collect();
        let mut rows: Vec<DeviceRow> = tx.devices_by_key(&keys).await?;
        // Follow open links upwards, so that custody can be resolved through
        // parents, and downwards one level, so that installs see occupants.
        let mut known: HashSet<i64> = rows.iter().map(|d| d.id).collect();
        let mut links: HashMap<i64, LinkRow> = HashMap::new();
        let mut frontier: Vec<i64> = known.iter().copied().collect();
        frontier.sort_unstable();
        // At most one level per step, and no assembly is deeper than
        // MAX_ASSEMBLY_DEPTH (capture refuses deeper installs).
        for _ in 0..=crate::domain::custody::MAX_ASSEMBLY_DEPTH + 1 {
            if frontier.is_empty() {
                break;
            }
            let found = tx.open_links_touching(&frontier).await?;
            let below: HashSet<i64> = frontier.iter().copied().collect();
            let mut missing: Vec<i64> = found
                .iter()
                .filter(|l| below.contains(&l.child_id))
                .map(|l| l.parent_id)
                .filter(|id| known.insert(*id))
                .collect();
            missing.sort_unstable();
            for l in found {
                links.entry(l.id).or_insert(l);
            }
            let more = tx.devices_by_id(&missing).await?;
            frontier = more.iter().map(|d| d.id).collect();
            rows.extend(more);
        }
        let mut links: Vec<LinkRow> = links.into_values().collect();
        links.sort_by_key(|l| l.id);
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
            thefts,
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

    /// The `(01)…(21)…` element string of each device of each planned
    /// event, in the order the plan lists them.
    pub(in crate::services::capture) fn elements(&self) -> Vec<Vec<String>> {
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

    pub(in crate::services::capture) fn finish(mut self) -> WritePlan {
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
