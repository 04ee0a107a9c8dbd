//! The audit's check of the anchor leaves (docs/ledger-format.md §3a and
//! §7c, item 9): each is canonical, hashed as stored, and opens — with its
//! stored salt — to the access log's head as the recomputed chain has it.

use std::collections::{BTreeMap, HashMap};

use super::{AuditError, fail};
use crate::ledger::{AnchorLeaf, Hash, Salt, leaf_hash};

/// The anchors, taken in index order as the walk reaches them.
pub(super) struct Anchors {
    pending: BTreeMap<i64, entities::anchor_leaf::Model>,
    /// (leaf index, access-log id, anchor, salt) of those read.
    read: Vec<(i64, i64, AnchorLeaf, Salt)>,
}

impl Anchors {
    pub(super) fn new(rows: Vec<entities::anchor_leaf::Model>) -> Self {
        Self {
            pending: rows.into_iter().map(|a| (a.leaf_index, a)).collect(),
            read: Vec::new(),
        }
    }

    /// Adds anchors not seen yet (appended since the audit began).
    pub(super) fn refresh(&mut self, rows: Vec<entities::anchor_leaf::Model>) {
        let read: std::collections::HashSet<i64> = self.read.iter().map(|r| r.0).collect();
        for a in rows {
            if !read.contains(&a.leaf_index) {
                self.pending.entry(a.leaf_index).or_insert(a);
            }
        }
    }

    /// Reads the anchors at `*next`, `*next + 1`, …, pushing their hashes
    /// and advancing `next`.
    pub(super) fn take(
        &mut self,
        next: &mut i64,
        hashes: &mut Vec<Hash>,
    ) -> Result<(), AuditError> {
        while let Some(a) = self.pending.remove(next) {
            let at = |what: &str| {
                AuditError::Mismatch(fail(format!("anchor leaf {}: {what}", a.leaf_index)))
            };
            let anchor = AnchorLeaf::decode(&a.data).map_err(|e| at(&e.to_string()))?;
            let hash = leaf_hash(&a.data);
            if a.hash != hash.0.to_vec() {
                return Err(at("the stored hash is not the hash of its data"));
            }
            let salt = Salt::from_base64(&a.salt).map_err(|_| at("the salt is malformed"))?;
            if self
                .read
                .last()
                .is_some_and(|(_, id, _, _)| *id > a.access_last_id)
            {
                return Err(at(
                    "commits to an older access-log head than the anchor before it",
                ));
            }
            self.read
                .push((a.leaf_index, a.access_last_id, anchor, salt));
            hashes.push(hash);
            *next += 1;
        }
        Ok(())
    }

    /// After the walk: no anchor may lie beyond the leaves.
    pub(super) fn finish(&self) -> Result<(), AuditError> {
        match self.pending.keys().next() {
            Some(i) => Err(AuditError::Mismatch(fail(format!(
                "anchor leaf {i} lies beyond the log's leaves"
            )))),
            None => Ok(()),
        }
    }

    pub(super) fn count(&self) -> u64 {
        self.read.len() as u64
    }

    /// The access-log ids whose chain hashes the anchors need.
    pub(super) fn wanted(&self) -> std::collections::HashSet<i64> {
        self.read.iter().map(|(_, id, _, _)| *id).collect()
    }

    /// Each anchor opens to the chain hash of its row (`hashes`, from the
    /// recomputed chain): otherwise the access log was rewritten or cut
    /// below it after it was anchored.
    pub(super) fn check(&self, hashes: &HashMap<i64, Vec<u8>>) -> Result<(), AuditError> {
        for (leaf, id, anchor, salt) in &self.read {
            let at = |what: String| {
                AuditError::Mismatch(fail(format!(
                    "anchor leaf {leaf} (access log row {id}): {what}"
                )))
            };
            let Some(bytes) = hashes.get(id) else {
                return Err(at(
                    "the access log no longer reaches the row it anchors".into()
                ));
            };
            let hash = Hash::from_slice(bytes).map_err(|e| at(e.to_string()))?;
            if !anchor.opens(*id, &hash, salt) {
                return Err(at(
                    "does not open to the access log's chain: rows before it were rewritten".into(),
                ));
            }
        }
        Ok(())
    }
}
