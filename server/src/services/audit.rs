//! `provenance audit`: recomputes, from the database alone, every
//! commitment, leaf, device chain link, tile, the head and every
//! checkpoint's signatures and root, and stops at the first thing that does
//! not match (docs/ledger-format.md, "Audit").

use std::collections::{HashMap, HashSet};
use std::fmt;

use serde_json::Value;

use super::Portal;
use crate::auth::keyring::{Keyring, Purpose};
use crate::ledger::{
    self, Hash, MemoryTileStore, NoteVerifier, leaf_hash, node_hash, open_checkpoint,
};
use crate::store::custody::CUSTODY_STEP;

mod anchors;
mod custody;
mod devices;
mod leaf;
use leaf::check_leaf;

/// Leaves read per query.
const PAGE: u64 = 5_000;

/// What the audit checked.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct AuditSummary {
    pub leaves: u64,
    pub events: u64,
    pub devices: u64,
    pub commitments: u64,
    pub erased: u64,
    pub tiles: u64,
    pub checkpoints: u64,
    pub log_keys: u64,
    pub access_rows: u64,
    pub custody_intervals: u64,
    /// Leaves in format version 2 (the rest are version 1).
    pub v2_leaves: u64,
    /// Device rows and component links recomputed from the events.
    pub device_rows: u64,
    /// Anchor leaves (access-log heads) among the leaves, each opened.
    pub anchors: u64,
}

impl fmt::Display for AuditSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "audit passed: {} leaves ({} of them version 2; {} events, {} devices), {} \
             commitments opened, {} erased with a record, {} tiles, {} checkpoints verified with \
             {} log key(s), {} access-log rows chained ({} anchors opened), {} custody intervals and {} device rows and \
             component links recomputed",
            self.leaves,
            self.v2_leaves,
            self.events,
            self.devices,
            self.commitments,
            self.erased,
            self.tiles,
            self.checkpoints,
            self.log_keys,
            self.access_rows,
            self.anchors,
            self.custody_intervals,
            self.device_rows
        )
    }
}

mod finding;
use finding::fail;
pub use finding::{AuditError, Finding};

type Check<T> = Result<T, Finding>;

/// RFC 6962 tree heads of every prefix, computed as leaves arrive: a stack
/// of perfect subtrees.
#[derive(Default)]
struct Prefix {
    stack: Vec<(u32, Hash)>,
}

impl Prefix {
    fn push(&mut self, leaf: Hash) {
        let mut node = (0u32, leaf);
        while let Some(&(h, left)) = self.stack.last() {
            if h != node.0 {
                break;
            }
            self.stack.pop();
            node = (h + 1, node_hash(&left, &node.1));
        }
        self.stack.push(node);
    }

    fn root(&self) -> Hash {
        let mut it = self.stack.iter().rev();
        let Some(&(_, mut acc)) = it.next() else {
            return ledger::empty_root();
        };
        for (_, left) in it {
            acc = node_hash(left, &acc);
        }
        acc
    }
}

impl Portal {
    /// Audits the whole database; see the module documentation.
    pub async fn audit(&self) -> Result<AuditSummary, AuditError> {
        let store = &self.store;
        for step in [CUSTODY_STEP, crate::store::access_v2::ACCESS_DEVICES_STEP] {
            if !store.data_step_done(step).await? {
                return Err(AuditError::CannotRun(format!(
                    "the data step {step} has not run; run provenance migrate"
                )));
            }
        }
        let log_ring = Keyring::load(&self.settings.keys_dir, Purpose::Log)
            .map_err(|e| AuditError::CannotRun(format!("{e:#}")))?;
        let origin = ledger::log_origin(&self.settings.public_base_url);
        let verifiers: Vec<NoteVerifier> = log_ring
            .all()
            .map(|k| {
                ledger::NoteSigner::new(&origin, k.signing_key().clone())
                    .map(|s| s.verifier().clone())
                    .map_err(|e| AuditError::CannotRun(e.to_string()))
            })
            .collect::<Result<_, _>>()?;
        let erased = store.erased_commitments().await?;
        let mut summary = AuditSummary {
            log_keys: verifiers.len() as u64,
            ..Default::default()
        };
        let mut erased_seen: HashSet<(i64, String)> = HashSet::new();
        let mut chains: HashMap<i64, (u64, Hash)> = HashMap::new();
        let mut events_seen: HashSet<i64> = HashSet::new();
        let mut pairs: HashSet<(i64, i64)> = HashSet::new();
        let slugs = store.all_organisation_slugs().await?;
        let mut hashes: Vec<Hash> = Vec::new();
        let mut anchors = anchors::Anchors::new(store.all_anchors().await?);
        let mut next: i64 = 0;
        loop {
            anchors.take(&mut next, &mut hashes)?;
            let page = store.leaves_from(next, PAGE).await?;
            if page.is_empty() {
                break;
            }
            let mut event_ids: Vec<i64> = page.iter().map(|l| l.event_id).collect();
            event_ids.sort_unstable();
            event_ids.dedup();
            let mut device_ids: Vec<i64> = page.iter().map(|l| l.device_id).collect();
            device_ids.sort_unstable();
            device_ids.dedup();
            let columns = store.event_columns(&event_ids).await?;
            let mut fields = store.event_fields(&event_ids).await?;
            let devices = store.device_keys(&device_ids).await?;
            for row in &page {
                anchors.take(&mut next, &mut hashes)?;
                if row.leaf_index != next {
                    // An anchor appended while the audit runs.
                    anchors.refresh(store.all_anchors().await?);
                    anchors.take(&mut next, &mut hashes)?;
                }
                summary.anchors = anchors.count();
                if row.leaf_index != next {
                    return Err(AuditError::Mismatch(
                        fail(format!(
                            "leaf index {next} is missing (the next stored leaf is {})",
                            row.leaf_index
                        ))
                        .at_leaf(row),
                    ));
                }
                let cols = columns.get(&row.event_id).ok_or_else(|| {
                    AuditError::Mismatch(
                        fail(format!(
                            "the leaf's event (row {}) does not exist",
                            row.event_id
                        ))
                        .at_leaf(row),
                    )
                })?;
                let stored: HashMap<String, (Value, String)> = fields
                    .remove(&row.event_id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(name, text, class)| {
                        let value = serde_json::from_str(&text).unwrap_or(Value::Null);
                        (name, (value, class))
                    })
                    .collect();
                let slug = slugs.get(&cols.organisation_id).map(String::as_str);
                check_leaf(
                    row,
                    cols,
                    slug,
                    &stored,
                    &devices,
                    &erased,
                    &mut chains,
                    &mut erased_seen,
                    &mut summary,
                )
                .map_err(AuditError::Mismatch)?;
                // Fields are per event; keep them for the event's next leaf.
                fields.insert(
                    row.event_id,
                    stored
                        .into_iter()
                        .map(|(n, (v, c))| (n, v.to_string(), c))
                        .collect(),
                );
                events_seen.insert(row.event_id);
                pairs.insert((row.event_id, row.device_id));
                hashes.push(leaf_hash(&row.data));
                next += 1;
            }
        }
        anchors.take(&mut next, &mut hashes)?;
        anchors.finish()?;
        summary.anchors = anchors.count();
        summary.leaves = hashes.len() as u64;
        // Every stored leaf was read: none hides at an anchor's index.
        let stored_leaves = store.leaf_count().await?;
        if stored_leaves + summary.anchors != summary.leaves {
            return Err(AuditError::Mismatch(fail(format!(
                "{stored_leaves} device leaves and {} anchors are stored, but the log's indexes hold {}",
                summary.anchors, summary.leaves
            ))));
        }
        summary.events = events_seen.len() as u64;
        summary.devices = chains.len() as u64;
        summary.erased = erased_seen.len() as u64;
        if let Some((leaf, name)) = erased.keys().find(|k| !erased_seen.contains(*k)) {
            return Err(AuditError::Mismatch(Finding {
                what: "an erasure record names a commitment no leaf has".into(),
                leaf: Some(*leaf),
                field: Some(name.clone()),
                ..Default::default()
            }));
        }
        // The (event, device) pairs the events name are exactly the leaves'.
        let links = store.event_device_pairs().await?;
        if let Some((event, device)) = links.iter().find(|p| !pairs.contains(p)) {
            return Err(AuditError::Mismatch(fail(format!(
                "event row {event} names device row {device}, but no leaf commits that pair"
            ))));
        }
        if links.len() as u64 != summary.leaves - summary.anchors {
            return Err(AuditError::Mismatch(fail(format!(
                "{} (event, device) rows but {} device leaves: an event or a leaf is missing",
                links.len(),
                summary.leaves - summary.anchors
            ))));
        }
        self.audit_tree(&hashes, &verifiers, &origin, &mut summary)
            .await?;
        match store.check_access_chain(&anchors.wanted()).await? {
            Ok((rows, anchored)) => {
                summary.access_rows = rows;
                anchors.check(&anchored)?;
            }
            Err((id, what)) => {
                return Err(AuditError::Mismatch(fail(format!(
                    "{what} (access log row {id})"
                ))));
            }
        }
        // Last: the intervals are derived from everything checked above.
        (summary.custody_intervals, summary.device_rows) = self.audit_custody().await?;
        Ok(summary)
    }

    async fn audit_tree(
        &self,
        hashes: &[Hash],
        verifiers: &[NoteVerifier],
        origin: &str,
        summary: &mut AuditSummary,
    ) -> Result<(), AuditError> {
        let store = &self.store;
        let size = hashes.len() as u64;
        // Tiles: recomputed from the leaves, compared with every stored row.
        let appended = ledger::append(&MemoryTileStore::new(), 0, hashes)
            .map_err(|e| AuditError::CannotRun(e.to_string()))?;
        let mut expected: HashMap<(i16, i64), Vec<u8>> = appended
            .tiles
            .into_iter()
            .map(|t| ((i16::from(t.tile.level), t.tile.index as i64), t.bytes))
            .collect();
        let stored = store.all_tiles().await?;
        for (level, idx, data) in &stored {
            match expected.remove(&(*level, *idx)) {
                Some(bytes) if bytes == *data => {}
                Some(_) => {
                    return Err(AuditError::Mismatch(fail(format!(
                        "tile level {level} index {idx} differs from the tile recomputed from the leaves"
                    ))));
                }
                None => {
                    return Err(AuditError::Mismatch(fail(format!(
                        "tile level {level} index {idx} is stored but the leaves make no such tile"
                    ))));
                }
            }
        }
        if let Some(((level, idx), _)) = expected.into_iter().next() {
            return Err(AuditError::Mismatch(fail(format!(
                "tile level {level} index {idx} is missing"
            ))));
        }
        summary.tiles = stored.len() as u64;
        let (head_size, head_root) = store.log_head().await?;
        if head_size != size as i64 || head_root != appended.root.hash.0.to_vec() {
            return Err(AuditError::Mismatch(fail(format!(
                "the log head (size {head_size}) is not the tree of the {size} stored leaves"
            ))));
        }
        // Checkpoints: signed by a log key (and no other), and the root of
        // the stored leaves at their size.
        let checkpoints = store.checkpoints().await?;
        let mut sizes: Vec<u64> = checkpoints
            .iter()
            .filter_map(|c| u64::try_from(c.size).ok())
            .collect();
        sizes.sort_unstable();
        sizes.dedup();
        let mut roots: HashMap<u64, Hash> = HashMap::new();
        let mut prefix = Prefix::default();
        let mut wanted = sizes.iter().peekable();
        while wanted.peek() == Some(&&0) {
            roots.insert(0, prefix.root());
            wanted.next();
        }
        for (i, h) in hashes.iter().enumerate() {
            prefix.push(*h);
            while wanted.peek() == Some(&&(i as u64 + 1)) {
                roots.insert(i as u64 + 1, prefix.root());
                wanted.next();
            }
        }
        for c in &checkpoints {
            let at =
                |what: String| AuditError::Mismatch(fail(format!("checkpoint #{} {what}", c.id)));
            let opened = open_checkpoint(&c.note, origin, verifiers)
                .map_err(|e| at(format!("does not verify with the log's keys: {e}")))?;
            if !opened.note.unverified.is_empty() {
                return Err(at(
                    "carries a signature by a key that is not the log's".into()
                ));
            }
            let cp = &opened.checkpoint;
            if cp.size as i64 != c.size || cp.root.0.to_vec() != c.root {
                return Err(at("row's size or root differs from its signed note".into()));
            }
            if cp.size > size {
                return Err(at(format!(
                    "covers {} leaves but only {size} are stored: the log was truncated",
                    cp.size
                )));
            }
            if roots.get(&cp.size) != Some(&cp.root) {
                return Err(at(format!(
                    "root at size {} is not the root of the stored leaves",
                    cp.size
                )));
            }
        }
        summary.checkpoints = checkpoints.len() as u64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_roots_match_the_tree() {
        let leaves: Vec<Hash> = (0u64..37).map(|i| Hash::sha256(&i.to_be_bytes())).collect();
        let mut p = Prefix::default();
        assert_eq!(p.root(), ledger::empty_root());
        for (i, h) in leaves.iter().enumerate() {
            p.push(*h);
            let full = ledger::append(&MemoryTileStore::new(), 0, &leaves[..=i]).unwrap();
            assert_eq!(p.root(), full.root.hash, "size {}", i + 1);
        }
    }
}
