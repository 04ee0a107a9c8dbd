//! The device members of a history's events (`epcList`, `childEPCs`,
//! `parentID`), decided per listed device: a viewer sees only the devices
//! it may see, so one pack's history does not name the other packs it was
//! shipped with (docs/access-policy.md, "List members").

use std::collections::HashSet;

use serde_json::Value;

use super::{DeviceView, EventView};
use crate::domain::event::device_key_of;
use crate::domain::principal::Viewer;
use crate::policy::{self, Operation, Relationship};
use crate::services::Portal;
use crate::store::StoreError;

/// The members that name devices.
const DEVICE_MEMBERS: [&str; 3] = ["epcList", "childEPCs", "parentID"];

fn uris(value: &Value) -> Vec<&str> {
    match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

impl Portal {
    /// Removes from the events' device members every device the viewer may
    /// not see; a `parentID` it may not see is removed whole. The history's
    /// own device always stays. Viewers who see every device keep all; the
    /// public (a customer, a public certificate) sees besides the unit only
    /// the components installed in it now.
    pub(super) async fn decide_members(
        &self,
        viewer: Viewer<'_>,
        device: &DeviceView,
        events: &mut [EventView],
    ) -> Result<(), StoreError> {
        if policy::may(viewer, Relationship::None, Operation::SeeEveryDevice) {
            return Ok(());
        }
        let own = format!("{}/{}", device.gtin, device.serial);
        let mut keys: HashSet<(String, String)> = HashSet::new();
        for e in events.iter() {
            for f in e
                .fields
                .iter()
                .filter(|f| DEVICE_MEMBERS.contains(&f.name.as_str()))
            {
                for uri in uris(&f.value) {
                    if let Some(k) = device_key_of(uri) {
                        keys.insert((k.gtin().to_string(), k.serial().to_string()));
                    }
                }
            }
        }
        let keys: Vec<(String, String)> = keys.into_iter().collect();
        let ids = self.store.device_ids_by_keys(&keys).await?;
        let org = match viewer.principal() {
            Some(p) => self.store.organisation_by_slug(&p.org).await?,
            None => None,
        };
        let visible: HashSet<String> = match org {
            None if viewer.principal().is_none() => {
                let inside = self.installed_now(device.id()).await?;
                ids.iter()
                    .filter(|(_, id)| inside.contains(id))
                    .map(|((g, s), _)| format!("{g}/{s}"))
                    .collect()
            }
            None => HashSet::new(),
            Some(org) => {
                let wanted: Vec<i64> = ids.values().copied().collect();
                let custody = self.store.custody_chain(&wanted).await?;
                ids.iter()
                    .filter(|(_, id)| policy::may_see_device(&custody, **id, org.id))
                    .map(|((g, s), _)| format!("{g}/{s}"))
                    .collect()
            }
        };
        let may = |uri: &str| {
            device_key_of(uri).is_some_and(|k| {
                let key = k.to_string();
                key == own || visible.contains(&key)
            })
        };
        for e in events.iter_mut() {
            e.fields.retain_mut(|f| {
                if !DEVICE_MEMBERS.contains(&f.name.as_str()) || f.value.is_null() {
                    return true;
                }
                match &f.value {
                    Value::Array(list) => {
                        let kept: Vec<Value> = list
                            .iter()
                            .filter(|v| v.as_str().is_some_and(may))
                            .cloned()
                            .collect();
                        // A list that named only hidden devices is left
                        // out whole, like a hidden parentID.
                        let keep = !kept.is_empty() || list.is_empty();
                        f.value = Value::Array(kept);
                        keep
                    }
                    Value::String(s) => may(s),
                    _ => false,
                }
            });
        }
        Ok(())
    }
}

impl Portal {
    /// The devices installed now in `device`, at any depth.
    async fn installed_now(&self, device: i64) -> Result<HashSet<i64>, StoreError> {
        let mut inside = HashSet::new();
        let mut frontier = vec![device];
        for _ in 0..crate::domain::custody::MAX_ASSEMBLY_DEPTH {
            let links = self.store.open_links(&frontier, true).await?;
            frontier = links
                .into_iter()
                .map(|l| l.child_id)
                .filter(|c| inside.insert(*c))
                .collect();
            if frontier.is_empty() {
                break;
            }
        }
        Ok(inside)
    }
}
