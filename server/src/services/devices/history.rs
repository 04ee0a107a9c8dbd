//! A device's history as the caller may see it: the organisation's
//! relationship to the device at each event, and every field decided by
//! `crate::policy`.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use std::sync::Arc;

use super::cache::{ViewKey, ViewerKey};
use super::{DeviceView, EventRef, EventView, FieldView, HistoryFilter, ReadError};
use crate::domain::cbv::BizStep;
use crate::domain::principal::Viewer;
use crate::domain::visibility::Visibility;
use crate::policy::{self, Disclosure, Operation, Relationship};
use crate::services::Portal;
use crate::store::StoreError;
use crate::store::devices::EventRecord;

impl Portal {
    /// The view caches' entries and estimated bytes, together.
    pub fn view_cache_usage(&self) -> (usize, usize) {
        let (a, b) = self.history_cache.usage();
        let (c, d) = self.device_cache.usage();
        (a + c, b + d)
    }

    /// The device's events the viewer may see, with only the fields the
    /// viewer may see; none for a viewer that reads no history. Served from
    /// the view cache while the unit's key holds (`cache`).
    pub async fn history(
        &self,
        viewer: Viewer<'_>,
        client: &str,
        device: &DeviceView,
        filter: &HistoryFilter,
    ) -> Result<Vec<EventRef>, ReadError> {
        if !policy::may(viewer, Relationship::None, Operation::ReadHistory) {
            return Ok(Vec::new());
        }
        // The counters are read before the view is computed: a change
        // committed in between gives a newer view under an older key,
        // never an older view under a newer one.
        let epochs = match device.epochs {
            Some(read) => read,
            None => {
                self.store
                    .view_epochs(device.id(), viewer.principal().map(|p| p.org.as_str()))
                    .await?
            }
        };
        let key = ViewKey {
            unit: device.id(),
            viewer: ViewerKey::of(viewer),
            epochs,
        };
        let all = match self.history_cache.get(&key) {
            Some(hit) => hit,
            None => {
                let decided = Arc::new(self.decided_history(viewer, device).await?);
                // Personal values are not kept in memory beyond the request:
                // an erasure (by another process, too) must leave no copy.
                let personal = decided.iter().any(|e| {
                    e.fields.iter().any(|f| {
                        f.class == Visibility::Personal && f.commitment.is_none() && !f.erased
                    })
                });
                if !personal {
                    self.history_cache
                        .put(key, Arc::clone(&decided), weight(&decided));
                }
                decided
            }
        };
        let mut events: Vec<EventRef> = (0..all.len())
            .filter(|i| {
                let e = &all[*i];
                filter
                    .biz_step
                    .as_ref()
                    .is_none_or(|s| e.biz_step.as_ref() == Some(s))
                    && filter
                        .from
                        .is_none_or(|t| e.event_time.is_some_and(|at| at >= t))
                    && filter
                        .to
                        .is_none_or(|t| e.event_time.is_some_and(|at| at <= t))
            })
            .map(|index| EventRef {
                all: Arc::clone(&all),
                index,
            })
            .collect();
        // A read that returns non-public values is audited, hit or not.
        let mut returned: Vec<Visibility> = events
            .iter()
            .flat_map(|e| e.fields.iter())
            .filter(|f| f.commitment.is_none() && !f.erased && f.class != Visibility::Public)
            .map(|f| f.class)
            .collect();
        returned.sort_by_key(|c| c.as_str());
        returned.dedup();
        if !returned.is_empty() {
            self.record_read(crate::services::access::row(
                viewer,
                client,
                "device.history",
                vec![format!("{}/{}", device.gtin, device.serial)],
                &returned,
                "ok",
            ))
            .await;
        }
        if filter.newest_first {
            events.reverse();
        }
        Ok(events)
    }

    /// Every event of the device, decided for the viewer, oldest first.
    async fn decided_history(
        &self,
        viewer: Viewer<'_>,
        device: &DeviceView,
    ) -> Result<Vec<EventView>, ReadError> {
        let leaves = self.store.leaf_indexes_of_device(device.id()).await?;
        let records = self.store.events_of_device(device.id()).await?;
        let relationships = self
            .relationships(viewer, device, &records, &leaves)
            .await?;
        let ids: Vec<i64> = records.iter().map(|e| e.id).collect();
        let mut erased = self.store.erased_names(&ids).await?;
        // Commitments are read from the device's leaves, only when the
        // policy shows some field as its commitment.
        let needs_commitments = Relationship::ALL.iter().any(|rel| {
            Visibility::ALL
                .iter()
                .any(|c| policy::decide(viewer, *rel, *c) == Disclosure::Commitment)
        });
        let mut commitments: HashMap<i64, BTreeMap<String, String>> = HashMap::new();
        if needs_commitments {
            for leaf in self.store.leaves_of_device(device.id()).await? {
                if let Ok(decoded) = crate::ledger::Leaf::decode(&leaf.data) {
                    // The eventID is committed as the leaf's `event`.
                    let mut map: BTreeMap<String, String> = decoded
                        .fields
                        .iter()
                        .map(|(k, c)| (k.clone(), c.to_base64()))
                        .collect();
                    map.insert(
                        crate::ledger::leaf::EVENT_FIELD.to_owned(),
                        decoded.event.to_base64(),
                    );
                    commitments.insert(leaf.event_id, map);
                }
            }
        }
        let mut events: Vec<EventView> = Vec::with_capacity(records.len());
        for (e, relationship) in records.into_iter().zip(relationships) {
            let committed = commitments.remove(&e.id).unwrap_or_default();
            let fields: Vec<FieldView> = e
                .fields
                .into_iter()
                .map(|(name, value, class)| {
                    let value = serde_json::from_str(&value).unwrap_or(Value::Null);
                    (name, value, class, false)
                })
                .chain(
                    erased
                        .remove(&e.id)
                        .unwrap_or_default()
                        .into_iter()
                        .map(|(name, class)| (name, Value::Null, class, true)),
                )
                .filter_map(|(name, value, class, erased)| {
                    let class: Visibility = class.parse().ok()?;
                    match policy::decide(viewer, relationship, class) {
                        Disclosure::Absent => None,
                        Disclosure::Disclose => Some(FieldView {
                            name,
                            value,
                            class,
                            erased,
                            commitment: None,
                        }),
                        Disclosure::Commitment => Some(FieldView {
                            commitment: committed.get(&name).cloned(),
                            name,
                            value: Value::Null,
                            class,
                            erased,
                        }),
                    }
                })
                .collect();
            let shown = |name: &str| {
                fields
                    .iter()
                    .any(|f: &FieldView| f.name == name && f.commitment.is_none() && !f.erased)
            };
            let event_time = shown("eventTime").then_some(e.event_time);
            events.push(EventView {
                leaf_index: leaves.get(&e.id).map(|i| *i as u64),
                biz_step: e
                    .biz_step
                    .as_deref()
                    .filter(|_| shown("bizStep"))
                    .map(BizStep::from_stored),
                event_time,
                record_time: event_time.map(|_| e.record_time),
                fields,
            });
        }
        self.decide_members(viewer, device, &mut events).await?;
        Ok(events)
    }

    /// The viewer's organisation's relationship to the device at each of
    /// its events: a lookup in the custody intervals written at capture
    /// (`policy::relationship_at`), never a replay of the history. A
    /// viewer that is no member, or sees every device, relates to none.
    async fn relationships(
        &self,
        viewer: Viewer<'_>,
        device: &DeviceView,
        records: &[EventRecord],
        leaves: &HashMap<i64, i64>,
    ) -> Result<Vec<Relationship>, StoreError> {
        let principal = match viewer.principal() {
            Some(p) if !policy::sees_every_device(p.role) => p,
            _ => return Ok(vec![Relationship::None; records.len()]),
        };
        let Some(org) = self.store.organisation_by_slug(&principal.org).await? else {
            return Ok(vec![Relationship::None; records.len()]);
        };
        let custody = self.store.custody_chain(&[device.id()]).await?;
        // An event without a leaf for the device (none should exist) gets
        // no relationship.
        let positions: Vec<Option<u64>> = records
            .iter()
            .map(|e| leaves.get(&e.id).and_then(|l| u64::try_from(*l).ok()))
            .collect();
        let known: Vec<u64> = positions.iter().flatten().copied().collect();
        let mut found = policy::relationships_at(&custody, device.id(), org.id, &known).into_iter();
        Ok(positions
            .iter()
            .map(|p| match p {
                Some(_) => found.next().unwrap_or(Relationship::None),
                None => Relationship::None,
            })
            .collect())
    }
}

/// A decided history's estimated size in memory, for the cache's budget:
/// counted from the structure (a JSON map costs far more in memory than in
/// its text).
fn weight(events: &[EventView]) -> usize {
    events
        .iter()
        .map(|e| {
            256 + e
                .fields
                .iter()
                .map(|f| {
                    96 + f.name.len()
                        + f.commitment.as_ref().map_or(0, String::len)
                        + json_weight(&f.value)
                })
                .sum::<usize>()
        })
        .sum()
}

/// What a JSON value holds in memory, about: each node, string and map
/// entry with its allocation overhead (validation bounds the depth).
fn json_weight(value: &Value) -> usize {
    const NODE: usize = 32;
    match value {
        Value::Null | Value::Bool(_) | Value::Number(_) => NODE,
        Value::String(s) => NODE + 16 + s.len(),
        Value::Array(items) => NODE + 16 + items.iter().map(json_weight).sum::<usize>(),
        Value::Object(map) => {
            NODE + 64
                + map
                    .iter()
                    .map(|(k, v)| 96 + k.len() + json_weight(v))
                    .sum::<usize>()
        }
    }
}
