//! The device members of a history's events (`epcList`, `childEPCs`,
//! `parentID`), decided per listed device: a viewer sees only the devices
//! it may see, so one pack's history does not name the other packs it was
//! shipped with (docs/access-policy.md, "List members").

use std::collections::HashSet;

use serde_json::Value;

use super::{DeviceView, EventView};
use crate::auth::Principal;
use crate::domain::event::device_key_of;
use crate::policy;
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
    /// Removes from the events' device members every device the caller may
    /// not see; a `parentID` it may not see is removed whole. The history's
    /// own device always stays. Viewers who see every device keep all.
    pub(super) async fn decide_members(
        &self,
        principal: &Principal,
        device: &DeviceView,
        events: &mut [EventView],
    ) -> Result<(), StoreError> {
        if policy::sees_every_device(principal.role) {
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
        let org = self.store.organisation_by_slug(&principal.org).await?;
        let visible: HashSet<String> = match org {
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
