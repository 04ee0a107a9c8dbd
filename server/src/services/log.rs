//! The public log: appending a batch's leaves inside its capture
//! transaction, signing checkpoints (at most one a second, never two that
//! disagree), and serving tiles, entries and proofs.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::Portal;
use crate::domain::event::ValidEvent;
use crate::domain::visibility::Visibility;
use crate::ledger::{
    self, Checkpoint, CommittedLeaf, Hash, LeafInput, MemoryTileStore, NoteSigner, NoteVerifier,
    RootHash, Tile, TlogProof,
};
use crate::store::StoreError;
use crate::store::capture::{CaptureTx, DeviceHandle, Written};
use crate::store::log::LeafRow;

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("{0}")]
    InvalidInput(String),
    #[error("not found")]
    NotFound,
    /// No checkpoint covers the leaf yet; try again shortly.
    #[error("no checkpoint covers this entry yet")]
    NotYetCovered,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the log's stored data is inconsistent: {0}")]
    Corrupt(String),
}

enum Attempt {
    Signed(u64),
    NothingNew,
    Moved,
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

fn to_hash(bytes: &[u8]) -> Result<Hash, StoreError> {
    Hash::from_slice(bytes).map_err(corrupt)
}

/// Fetches the tiles a computation needs in one query and wraps them.
async fn tile_store(portal: &Portal, tiles: &[Tile]) -> Result<MemoryTileStore, StoreError> {
    let keys: Vec<(i16, i64)> = tiles
        .iter()
        .map(|t| (i16::from(t.level), t.index as i64))
        .collect();
    let rows = portal.store.tiles(&keys).await?;
    Ok(MemoryTileStore::from_tiles(tiles.iter().filter_map(|t| {
        rows.get(&(i16::from(t.level), t.index as i64))
            .map(|b| (*t, b.clone()))
    })))
}

/// One planned event's part in the log: its eventID, the members it
/// commits, and its devices (their handle in the write plan and element
/// string) in leaf order.
pub(crate) struct LeafJob {
    pub event_id: String,
    pub fields: Vec<(String, Value)>,
    /// The names among `fields` an erasure may take (class `personal`).
    pub personal: Vec<String>,
    pub devices: Vec<(DeviceHandle, String)>,
}

/// A leaf built before its rows have database ids.
pub(crate) struct BuiltLeaf {
    seq: i64,
    data: Vec<u8>,
    hash: Hash,
    /// JSON object: member → base64 salt (stored, never served)
    salts: String,
}

/// The member a version-2 leaf commits the event's record time under.
pub(crate) const RECORD_TIME: &str = "recordTime";

/// A record time as leaves commit it: UTC, millisecond precision.
pub(crate) fn record_time_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The `LeafJob` of an event: every member but eventID (committed as the
/// leaf's `event`), plus the acting organisation, operator and the batch's
/// record time.
pub(crate) fn leaf_job(
    event: &ValidEvent,
    devices: Vec<(DeviceHandle, String)>,
    organisation: &str,
    operator: &str,
    record_time: DateTime<Utc>,
) -> LeafJob {
    let mut fields: Vec<(String, Value)> = event
        .fields
        .iter()
        .filter(|f| f.name != "eventID")
        .map(|f| (f.name.clone(), f.value.clone()))
        .collect();
    fields.push(("organisation".into(), json!(organisation)));
    fields.push(("operator".into(), json!(operator)));
    fields.push((RECORD_TIME.into(), json!(record_time_text(record_time))));
    let personal = event
        .fields
        .iter()
        .filter(|f| f.class == Visibility::Personal)
        .map(|f| f.name.clone())
        .collect();
    LeafJob {
        event_id: event.event_id.clone(),
        fields,
        personal,
        devices,
    }
}

/// The last leaf (seq, hash) of each stored device in `ids`.
pub(crate) async fn chain_heads(
    tx: &CaptureTx,
    mut ids: Vec<i64>,
) -> Result<HashMap<DeviceHandle, (i64, Hash)>, StoreError> {
    ids.sort_unstable();
    ids.dedup();
    let mut heads = HashMap::with_capacity(ids.len());
    for (d, (seq, h)) in tx.chain_heads(&ids).await? {
        heads.insert(DeviceHandle::Existing(d), (seq, to_hash(&h)?));
    }
    Ok(heads)
}

/// Builds one leaf per (event, device), chaining each device's leaves from
/// `heads` (its last stored leaf's seq and hash) through the batch. Pure
/// computation: runs on a blocking thread while the batch's rows are
/// written.
pub(crate) fn build_leaves(
    jobs: &[LeafJob],
    mut heads: HashMap<DeviceHandle, (i64, Hash)>,
) -> Result<Vec<Vec<BuiltLeaf>>, StoreError> {
    let mut out = Vec::with_capacity(jobs.len());
    for job in jobs {
        let mut mine = Vec::with_capacity(job.devices.len());
        for (handle, element) in &job.devices {
            let (seq, prev) = match heads.get(handle) {
                Some((s, h)) => (s + 1, Some(*h)),
                None => (0, None),
            };
            let leaf = CommittedLeaf::build_random(LeafInput {
                device: element,
                event_id: &job.event_id,
                seq: u64::try_from(seq).map_err(corrupt)?,
                prev,
                fields: &job.fields,
                personal: &job.personal,
            })
            .map_err(corrupt)?;
            let mut salts = serde_json::Map::new();
            salts.insert("device".into(), json!(leaf.device.salt.to_base64()));
            salts.insert("eventID".into(), json!(leaf.event.salt.to_base64()));
            salts.insert("prev".into(), json!(leaf.prev.salt.to_base64()));
            for (o, _) in &leaf.fields {
                salts.insert(o.name.clone(), json!(o.salt.to_base64()));
            }
            heads.insert(*handle, (seq, leaf.hash));
            mine.push(BuiltLeaf {
                seq,
                data: leaf.data,
                hash: leaf.hash,
                salts: Value::Object(salts).to_string(),
            });
        }
        out.push(mine);
    }
    Ok(out)
}

/// How often a running server anchors the access log's head in the
/// public log (when it moved since the last anchor).
pub const ANCHOR_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

/// The tiles that appending `hashes` to a tree of `size` changes, read
/// from and for `tx`, with the new size and root.
async fn grow(
    tx: &CaptureTx,
    size: u64,
    hashes: &[Hash],
) -> Result<(Vec<(i16, i64, Vec<u8>)>, i64, Vec<u8>), StoreError> {
    let edge = ledger::append_read_tiles(size);
    let keys: Vec<(i16, i64)> = edge
        .iter()
        .map(|t| (i16::from(t.level), t.index as i64))
        .collect();
    let stored = tx.read_tiles(&keys).await?;
    let view = MemoryTileStore::from_tiles(edge.iter().filter_map(|t| {
        stored
            .get(&(i16::from(t.level), t.index as i64))
            .map(|b| (*t, b.clone()))
    }));
    let appended = ledger::append(&view, size, hashes).map_err(corrupt)?;
    let tiles = appended
        .tiles
        .into_iter()
        .map(|t| (i16::from(t.tile.level), t.tile.index as i64, t.bytes))
        .collect();
    Ok((
        tiles,
        i64::try_from(appended.root.size).map_err(corrupt)?,
        appended.root.hash.0.to_vec(),
    ))
}

impl Portal {
    pub fn log_origin(&self) -> String {
        self.keys().log.origin.clone()
    }

    /// The log's verifier keys, current first.
    pub fn log_verifiers(&self) -> Vec<NoteVerifier> {
        self.keys().log.verifiers.clone()
    }

    /// Appends an accepted batch's leaves (built by [`build_leaves`]) inside
    /// its transaction, after its rows are written; returns each event's
    /// leaf indexes.
    pub(crate) async fn append_to_log(
        &self,
        tx: &CaptureTx,
        built: Vec<Vec<BuiltLeaf>>,
        written: &Written,
    ) -> Result<Vec<Vec<u64>>, StoreError> {
        let (size, _) = tx.lock_log_head().await?;
        let size = u64::try_from(size).map_err(corrupt)?;
        let mut rows = Vec::new();
        let mut hashes = Vec::new();
        let mut indexes = Vec::with_capacity(built.len());
        let mut next = size;
        for (k, leaves) in built.into_iter().enumerate() {
            let devices = written
                .devices_per_event
                .get(k)
                .filter(|d| d.len() == leaves.len())
                .ok_or_else(|| corrupt("leaves and written devices disagree"))?;
            let mut mine = Vec::with_capacity(leaves.len());
            for (leaf, device_id) in leaves.into_iter().zip(devices) {
                rows.push(LeafRow {
                    leaf_index: i64::try_from(next).map_err(corrupt)?,
                    event_id: written.event_ids[k],
                    device_id: *device_id,
                    seq: leaf.seq,
                    data: leaf.data,
                    hash: leaf.hash.0.to_vec(),
                    salts: leaf.salts,
                });
                hashes.push(leaf.hash);
                mine.push(next);
                next += 1;
            }
            indexes.push(mine);
        }
        let (tiles, new_size, root) = grow(tx, size, &hashes).await?;
        tx.append_leaves(rows, tiles, new_size, root).await?;
        Ok(indexes)
    }

    /// Appends an anchor leaf committing to the access log's head
    /// (docs/ledger-format.md §3a), unless the newest anchor already
    /// commits to it. Returns the anchor's leaf index.
    pub async fn anchor_access_log(&self) -> Result<Option<u64>, LogError> {
        let _writer = self.writer.lock().await;
        let tx = self.store.begin_capture().await?;
        let (size, _) = tx.lock_log_head().await?;
        let ((last_id, head_hash), anchored) = tx.access_head_and_anchor().await?;
        if last_id == 0 || anchored == Some(last_id) {
            return Ok(None);
        }
        let salt = ledger::Salt::random().map_err(corrupt)?;
        let (anchor, _) =
            ledger::AnchorLeaf::commit(last_id, &to_hash(&head_hash)?, salt).map_err(corrupt)?;
        let data = anchor.encode().map_err(corrupt)?;
        let hash = ledger::leaf_hash(&data);
        let index = u64::try_from(size).map_err(corrupt)?;
        let (tiles, new_size, root) = grow(&tx, index, &[hash]).await?;
        tx.append_anchor(
            entities::anchor_leaf::Model {
                leaf_index: size,
                data,
                hash: hash.0.to_vec(),
                access_last_id: last_id,
                salt: salt.to_base64(),
                created_at: chrono::Utc::now(),
            },
            tiles,
            new_size,
            root,
        )
        .await?;
        tx.commit().await?;
        Ok(Some(index))
    }

    /// Signs a checkpoint of the current head if the log grew since the
    /// last one. Before signing, the new root is proved consistent with the
    /// last checkpoint from the stored tiles; a failure is logged and nothing
    /// is signed. Returns the new checkpoint's size.
    pub async fn checkpoint_now(&self) -> Result<Option<u64>, LogError> {
        // In this process, captures wait while the head is read, checked and
        // signed; another process (PostgreSQL) may still move the head, so
        // a changed head means a retry.
        let _writer = self.writer.lock().await;
        for _ in 0..3 {
            match self.try_checkpoint().await? {
                Attempt::Signed(size) => return Ok(Some(size)),
                Attempt::NothingNew => return Ok(None),
                Attempt::Moved => continue,
            }
        }
        Ok(None)
    }

    async fn try_checkpoint(&self) -> Result<Attempt, LogError> {
        let (size, root) = self.store.log_head().await?;
        let latest = self.store.latest_checkpoint().await?;
        if latest.as_ref().is_some_and(|c| c.size >= size) {
            return Ok(Attempt::NothingNew);
        }
        let new_root = RootHash::new(u64::try_from(size).map_err(corrupt)?, to_hash(&root)?);
        if let Some(old) = &latest {
            let old_root = RootHash::new(
                u64::try_from(old.size).map_err(corrupt)?,
                to_hash(&old.root)?,
            );
            if old_root.size > 0 {
                let tiles = ledger::consistency_tiles(old_root.size, new_root.size)
                    .map_err(|e| LogError::Corrupt(e.to_string()))?;
                let store = tile_store(self, &tiles).await?;
                let proof = ledger::consistency_proof(&store, old_root.size, new_root.size)
                    .map_err(|e| LogError::Corrupt(e.to_string()))?;
                if new_root.verify_consistency(&old_root, &proof).is_err() {
                    tracing::error!(
                        old = old_root.size,
                        new = new_root.size,
                        "log head is inconsistent with the last checkpoint; not signing"
                    );
                    return Err(LogError::Corrupt(
                        "head inconsistent with the last checkpoint".into(),
                    ));
                }
            }
        }
        // The current key signs; keys retired within the overlap co-sign.
        let keys = self.keys();
        let checkpoint = Checkpoint::new(&keys.log.origin, new_root);
        let signers: Vec<&NoteSigner> = keys.log.signers.iter().collect();
        let note = checkpoint
            .sign(&signers)
            .map_err(|e| LogError::Corrupt(e.to_string()))?;
        let latest_id = latest.map(|c| c.id);
        let mut moved = false;
        let stored = self
            .store
            .with_checkpoint_lock(|_head_size, _head_root, now_latest| {
                // Sign what was checked: (size, root) was the head and is
                // consistent with the latest checkpoint, which must still be
                // the latest. A head that grew since is signed next time.
                let same = now_latest.map(|c| c.id) == latest_id;
                moved = !same;
                same.then(|| (size, root.clone(), note))
            })
            .await?;
        Ok(match stored {
            Some(c) => Attempt::Signed(c.size as u64),
            None if moved => Attempt::Moved,
            // Another process holds the signing lock.
            None => Attempt::NothingNew,
        })
    }

    /// The latest signed checkpoint note.
    pub async fn checkpoint_note(&self) -> Result<Option<String>, LogError> {
        Ok(self.store.latest_checkpoint().await?.map(|c| c.note))
    }

    /// A tile's bytes (`width * 32`), if the log has grown that far.
    pub async fn tile(&self, tile: Tile) -> Result<Vec<u8>, LogError> {
        let rows = self
            .store
            .tiles(&[(i16::from(tile.level), tile.index as i64)])
            .await?;
        let bytes = rows
            .get(&(i16::from(tile.level), tile.index as i64))
            .ok_or(LogError::NotFound)?;
        bytes
            .get(..tile.byte_len())
            .map(<[u8]>::to_vec)
            .ok_or(LogError::NotFound)
    }

    /// An entry bundle: the leaf data of a level-0 tile's leaves.
    pub async fn entry_bundle(&self, tile: Tile) -> Result<Vec<u8>, LogError> {
        let start = tile.start_leaf() as i64;
        let data = self
            .store
            .leaf_data(start, start + i64::from(tile.width))
            .await?;
        if data.len() != usize::from(tile.width) {
            return Err(LogError::NotFound);
        }
        ledger::tile::encode_bundle(&data).map_err(|e| LogError::Corrupt(e.to_string()))
    }

    fn check_size(&self, size: u64, head: i64) -> Result<(), LogError> {
        if size == 0 || size > head as u64 {
            return Err(LogError::InvalidInput(format!(
                "size must be between 1 and the log's size ({head})"
            )));
        }
        Ok(())
    }

    pub async fn inclusion(&self, index: u64, size: u64) -> Result<Vec<Hash>, LogError> {
        let (head, _) = self.store.log_head().await?;
        self.check_size(size, head)?;
        let tiles = ledger::inclusion_tiles(index, size)
            .map_err(|e| LogError::InvalidInput(e.to_string()))?;
        let store = tile_store(self, &tiles).await?;
        ledger::inclusion_proof(&store, index, size).map_err(|e| LogError::Corrupt(e.to_string()))
    }

    pub async fn consistency(&self, old: u64, new: u64) -> Result<Vec<Hash>, LogError> {
        let (head, _) = self.store.log_head().await?;
        self.check_size(new, head)?;
        let tiles = ledger::consistency_tiles(old, new)
            .map_err(|e| LogError::InvalidInput(e.to_string()))?;
        let store = tile_store(self, &tiles).await?;
        ledger::consistency_proof(&store, old, new).map_err(|e| LogError::Corrupt(e.to_string()))
    }

    /// The C2SP tlog-proof of one leaf against the latest checkpoint.
    pub async fn tlog_proof(&self, leaf_index: u64) -> Result<String, LogError> {
        let checkpoint = self
            .store
            .latest_checkpoint()
            .await?
            .ok_or(LogError::NotYetCovered)?;
        let size = checkpoint.size as u64;
        if leaf_index >= size {
            // Past the log's end: not found; within it: the next
            // checkpoint covers it.
            let log_size = self.store.change_signature().await?.log_size;
            if i64::try_from(leaf_index).map_or(true, |i| i >= log_size) {
                return Err(LogError::NotFound);
            }
            return Err(LogError::NotYetCovered);
        }
        let tiles = ledger::inclusion_tiles(leaf_index, size)
            .map_err(|e| LogError::Corrupt(e.to_string()))?;
        let store = tile_store(self, &tiles).await?;
        let proof = ledger::inclusion_proof(&store, leaf_index, size)
            .map_err(|e| LogError::Corrupt(e.to_string()))?;
        Ok(TlogProof::new(leaf_index, proof, &checkpoint.note).to_text())
    }

    /// The leaf index of (eventID, device).
    pub async fn leaf_index_of(&self, event_id: &str, device: &str) -> Result<u64, LogError> {
        let key = crate::domain::DeviceKey::parse(device)
            .map_err(|e| LogError::InvalidInput(format!("device: {e}")))?;
        let row = self
            .store
            .device_by_key(key.gtin().as_str(), key.serial().as_str())
            .await?
            .ok_or(LogError::NotFound)?;
        let event = self
            .store
            .event_row_id(event_id)
            .await?
            .ok_or(LogError::NotFound)?;
        let leaf = self
            .store
            .leaf_of(event, row.id)
            .await?
            .ok_or(LogError::NotFound)?;
        Ok(leaf.leaf_index as u64)
    }
}
