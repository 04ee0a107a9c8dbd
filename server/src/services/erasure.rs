//! Erasure of a device's personal values: their values and salts are
//! deleted, an erasure record keeps who, when, why and which commitments;
//! the leaves, tiles and checkpoints stay as they are, so the log still
//! verifies (docs/ledger-format.md, "Erasure").

use std::collections::{HashMap, HashSet};

use chrono::Utc;

use super::Portal;
use crate::domain::DeviceKey;
use crate::domain::visibility::Visibility;
use crate::ledger::Leaf;
use crate::store::StoreError;
use crate::store::audit::{ErasedValue, NewErasure};

#[derive(Debug, thiserror::Error)]
pub enum EraseError {
    #[error("{0}")]
    InvalidInput(String),
    #[error("no device {0}")]
    UnknownDevice(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What an erasure did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Erased {
    /// The erasure record, when anything was erased.
    pub record: Option<i64>,
    /// Distinct (event, member) values deleted.
    pub values: usize,
    /// Commitments (one per leaf that committed a deleted value).
    pub commitments: usize,
}

impl Portal {
    /// Erases the values of class `class` (only `personal` may be erased)
    /// of every event in the device's history.
    pub async fn erase(
        &self,
        device: &str,
        class: &str,
        reason: &str,
        actor: &str,
    ) -> Result<Erased, EraseError> {
        if class != Visibility::Personal.as_str() {
            return Err(EraseError::InvalidInput(format!(
                "only personal values can be erased, not {class:?}"
            )));
        }
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(EraseError::InvalidInput("give a reason".into()));
        }
        let key = DeviceKey::parse(device).map_err(|e| EraseError::InvalidInput(e.to_string()))?;
        // Captures wait: the leaves' salts are rewritten.
        let _writer = self.writer.lock().await;
        let row = self
            .store
            .device_by_key(key.gtin().as_ref(), key.serial().as_ref())
            .await?
            .ok_or_else(|| EraseError::UnknownDevice(device.to_owned()))?;
        let mut events: Vec<i64> = self
            .store
            .leaves_of_device(row.id)
            .await?
            .iter()
            .map(|l| l.event_id)
            .collect();
        events.sort_unstable();
        events.dedup();
        let fields = self.store.event_fields(&events).await?;
        let personal: HashMap<i64, HashSet<String>> = fields
            .into_iter()
            .map(|(event, rows)| {
                let names = rows
                    .into_iter()
                    .filter(|(_, _, c)| c == class)
                    .map(|(n, _, _)| n)
                    .collect::<HashSet<_>>();
                (event, names)
            })
            .filter(|(_, names)| !names.is_empty())
            .collect();
        let values = personal.values().map(HashSet::len).sum();
        if values == 0 {
            // Nothing (left) to erase; an earlier erasure whose WAL
            // truncation failed is finished here.
            self.store.purge_freed_bytes().await?;
            return Ok(Erased {
                record: None,
                values: 0,
                commitments: 0,
            });
        }
        let touched: Vec<i64> = personal.keys().copied().collect();
        let mut erased = Vec::new();
        let mut salts = Vec::new();
        // Every leaf of those events commits the values: each device of an
        // event has its own commitment (its own salt) to them.
        for leaf in self.store.leaves_of_events(&touched).await? {
            let names = &personal[&leaf.event_id];
            let decoded = Leaf::decode(&leaf.data)
                .map_err(|e| StoreError::Corrupt(format!("leaf {}: {e}", leaf.leaf_index)))?;
            let mut leaf_salts: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(&leaf.salts)
                    .map_err(|_| StoreError::Corrupt(format!("leaf {}: salts", leaf.leaf_index)))?;
            for name in names {
                // A version-2 leaf lists what may be erased; a value stored
                // as personal that its leaf does not list is not erased.
                if decoded.is_personal(name) == Some(false) {
                    return Err(StoreError::Corrupt(format!(
                        "leaf {} does not list {name:?} as personal",
                        leaf.leaf_index
                    ))
                    .into());
                }
                if let Some(c) = decoded.fields.get(name) {
                    erased.push(ErasedValue {
                        leaf_index: leaf.leaf_index,
                        event_id: leaf.event_id,
                        name: name.clone(),
                        class: class.to_owned(),
                        commitment: c.to_base64(),
                    });
                }
                leaf_salts.remove(name);
            }
            salts.push((
                leaf.leaf_index,
                serde_json::Value::Object(leaf_salts).to_string(),
            ));
        }
        let commitments = erased.len();
        let audit = crate::store::access::AccessRow {
            at: crate::store::access::AccessRow::now(),
            subject: actor.to_owned(),
            role: "operator".to_owned(),
            organisation: String::new(),
            operation: "erase".to_owned(),
            devices: vec![key.to_string()],
            classes: vec![class.to_owned()],
            client: super::access::current_client(),
            outcome: format!("ok: {values} value(s), {commitments} commitment(s)"),
            reason: Some(reason.to_owned()),
        };
        let record = self
            .store
            .erase(NewErasure {
                device_id: row.id,
                class: class.to_owned(),
                reason: reason.to_owned(),
                actor: actor.to_owned(),
                at: Utc::now(),
                values: erased,
                salts,
                audit,
            })
            .await?;
        tracing::info!(
            record,
            values,
            commitments,
            "erased personal values of a device"
        );
        Ok(Erased {
            record: Some(record),
            values,
            commitments,
        })
    }
}
