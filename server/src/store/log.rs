//! The public log's tables: leaves, tiles, the head and checkpoints.
//! Appends happen inside the capture transaction (`CaptureTx`), after the
//! head row is locked; reads serve tiles, entries, proofs and checkpoints.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entities::{anchor_leaf, checkpoint, leaf, log_head, tile};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Statement, TransactionTrait,
};

use super::bulk::Rows;
use super::capture::CaptureTx;
use super::{Store, StoreError, StoreResult};

/// Key of the advisory lock held by the one process that signs checkpoints.
const CHECKPOINT_LOCK_KEY: i64 = 0x5052_4f56_0002;

/// `Debug` leaves the salts out: with the leaf's commitments they disclose
/// the values.
#[derive(Clone)]
pub struct LeafRow {
    pub leaf_index: i64,
    pub event_id: i64,
    pub device_id: i64,
    pub seq: i64,
    pub data: Vec<u8>,
    pub hash: Vec<u8>,
    /// JSON object: field name → base64 salt
    pub salts: String,
}

impl std::fmt::Debug for LeafRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeafRow")
            .field("leaf_index", &self.leaf_index)
            .field("event_id", &self.event_id)
            .field("device_id", &self.device_id)
            .field("seq", &self.seq)
            .field("data", &self.data)
            .field("hash", &self.hash)
            .field("salts", &"[redacted]")
            .finish()
    }
}

impl From<leaf::Model> for LeafRow {
    fn from(m: leaf::Model) -> Self {
        Self {
            leaf_index: m.leaf_index,
            event_id: m.event_id,
            device_id: m.device_id,
            seq: m.seq,
            data: m.data,
            hash: m.hash,
            salts: m.salts,
        }
    }
}

#[derive(Clone, Debug)]
pub struct CheckpointRow {
    pub id: i64,
    pub size: i64,
    pub root: Vec<u8>,
    pub note: String,
    pub created_at: DateTime<Utc>,
}

impl From<checkpoint::Model> for CheckpointRow {
    fn from(m: checkpoint::Model) -> Self {
        Self {
            id: m.id,
            size: m.size,
            root: m.root,
            note: m.note,
            created_at: m.created_at,
        }
    }
}

fn tile_condition(tiles: &[(i16, i64)]) -> Condition {
    tiles.iter().fold(Condition::any(), |c, (level, idx)| {
        c.add(
            Condition::all()
                .add(tile::Column::Level.eq(*level))
                .add(tile::Column::Idx.eq(*idx)),
        )
    })
}

impl CaptureTx {
    /// Locks the log head for this transaction and returns (size, root).
    pub async fn lock_log_head(&self) -> StoreResult<(i64, Vec<u8>)> {
        let mut q = log_head::Entity::find_by_id(1);
        if self.tx.get_database_backend() == DbBackend::Postgres {
            q = q.lock_exclusive();
        }
        let head = q
            .one(&self.tx)
            .await?
            .ok_or_else(|| StoreError::Corrupt("no log head".into()))?;
        Ok((head.size, head.root))
    }

    /// For each device, its last leaf's (seq, hash).
    pub async fn chain_heads(
        &self,
        device_ids: &[i64],
    ) -> StoreResult<HashMap<i64, (i64, Vec<u8>)>> {
        let mut out = HashMap::new();
        for chunk in device_ids.chunks(self.chunk) {
            let list = chunk
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(",");
            let sql = format!(
                "SELECT l.device_id, l.seq, l.hash FROM leaf l JOIN \
                 (SELECT device_id, MAX(seq) AS s FROM leaf WHERE device_id IN ({list}) GROUP BY device_id) m \
                 ON l.device_id = m.device_id AND l.seq = m.s"
            );
            let backend = self.tx.get_database_backend();
            for row in self
                .tx
                .query_all_raw(Statement::from_string(backend, sql))
                .await?
            {
                let d: i64 = row.try_get("", "device_id")?;
                let seq: i64 = row.try_get("", "seq")?;
                let hash: Vec<u8> = row.try_get("", "hash")?;
                out.insert(d, (seq, hash));
            }
        }
        Ok(out)
    }

    pub async fn read_tiles(
        &self,
        tiles: &[(i16, i64)],
    ) -> StoreResult<HashMap<(i16, i64), Vec<u8>>> {
        if tiles.is_empty() {
            return Ok(HashMap::new());
        }
        Ok(tile::Entity::find()
            .filter(tile_condition(tiles))
            .all(&self.tx)
            .await?
            .into_iter()
            .map(|m| ((m.level, m.idx), m.data))
            .collect())
    }

    /// Writes leaves, the tiles they changed and the new head.
    pub async fn append_leaves(
        &self,
        leaves: Vec<LeafRow>,
        tiles: Vec<(i16, i64, Vec<u8>)>,
        size: i64,
        root: Vec<u8>,
    ) -> StoreResult<()> {
        let mut rows = Rows::new(
            "leaf",
            &[
                "leaf_index",
                "event_id",
                "device_id",
                "seq",
                "data",
                "hash",
                "salts",
            ],
            leaves.len(),
        );
        for l in leaves {
            rows.push([
                l.leaf_index.into(),
                l.event_id.into(),
                l.device_id.into(),
                l.seq.into(),
                l.data.into(),
                l.hash.into(),
                l.salts.into(),
            ]);
        }
        rows.insert(&self.tx, "").await?;
        self.write_tiles_and_head(tiles, size, root).await
    }

    /// Writes an anchor leaf (docs/ledger-format.md §3a), the tiles it
    /// changed and the new head.
    pub async fn append_anchor(
        &self,
        anchor: anchor_leaf::Model,
        tiles: Vec<(i16, i64, Vec<u8>)>,
        size: i64,
        root: Vec<u8>,
    ) -> StoreResult<()> {
        anchor_leaf::Entity::insert(anchor_leaf::ActiveModel::from(anchor))
            .exec_without_returning(&self.tx)
            .await?;
        self.write_tiles_and_head(tiles, size, root).await
    }

    /// The access log's head (last id, hash), read in this transaction,
    /// and the last id the newest anchor commits to.
    pub async fn access_head_and_anchor(&self) -> StoreResult<((i64, Vec<u8>), Option<i64>)> {
        let backend = self.tx.get_database_backend();
        let head = self
            .tx
            .query_one_raw(Statement::from_string(
                backend,
                "SELECT last_id, hash FROM access_log_head WHERE id = 1",
            ))
            .await?
            .ok_or_else(|| StoreError::Corrupt("no access log head".into()))?;
        let anchored: Option<i64> = anchor_leaf::Entity::find()
            .select_only()
            .column_as(anchor_leaf::Column::AccessLastId.max(), "m")
            .into_tuple::<Option<i64>>()
            .one(&self.tx)
            .await?
            .flatten();
        Ok((
            (head.try_get("", "last_id")?, head.try_get("", "hash")?),
            anchored,
        ))
    }

    async fn write_tiles_and_head(
        &self,
        tiles: Vec<(i16, i64, Vec<u8>)>,
        size: i64,
        root: Vec<u8>,
    ) -> StoreResult<()> {
        for (level, idx, data) in tiles {
            tile::Entity::insert(tile::ActiveModel {
                level: Set(level),
                idx: Set(idx),
                data: Set(data),
            })
            .on_conflict(
                OnConflict::columns([tile::Column::Level, tile::Column::Idx])
                    .update_column(tile::Column::Data)
                    .to_owned(),
            )
            .exec_without_returning(&self.tx)
            .await?;
        }
        log_head::Entity::update(log_head::ActiveModel {
            id: Set(1),
            size: Set(size),
            root: Set(root),
        })
        .exec(&self.tx)
        .await?;
        Ok(())
    }
}

impl Store {
    pub async fn log_head(&self) -> StoreResult<(i64, Vec<u8>)> {
        self.count_log_round_trip();
        let head = log_head::Entity::find_by_id(1)
            .one(self.db())
            .await?
            .ok_or_else(|| StoreError::Corrupt("no log head".into()))?;
        Ok((head.size, head.root))
    }

    pub async fn tiles(&self, tiles: &[(i16, i64)]) -> StoreResult<HashMap<(i16, i64), Vec<u8>>> {
        if tiles.is_empty() {
            return Ok(HashMap::new());
        }
        self.count_log_round_trip();
        Ok(tile::Entity::find()
            .filter(tile_condition(tiles))
            .all(self.db())
            .await?
            .into_iter()
            .map(|m| ((m.level, m.idx), m.data))
            .collect())
    }

    /// Leaf data of `[start, end)` (device leaves and anchors), in order.
    pub async fn leaf_data(&self, start: i64, end: i64) -> StoreResult<Vec<Vec<u8>>> {
        let mut rows: Vec<(i64, Vec<u8>)> = leaf::Entity::find()
            .select_only()
            .column(leaf::Column::LeafIndex)
            .column(leaf::Column::Data)
            .filter(leaf::Column::LeafIndex.gte(start))
            .filter(leaf::Column::LeafIndex.lt(end))
            .into_tuple()
            .all(self.db())
            .await?;
        rows.extend(
            anchor_leaf::Entity::find()
                .select_only()
                .column(anchor_leaf::Column::LeafIndex)
                .column(anchor_leaf::Column::Data)
                .filter(anchor_leaf::Column::LeafIndex.gte(start))
                .filter(anchor_leaf::Column::LeafIndex.lt(end))
                .into_tuple::<(i64, Vec<u8>)>()
                .all(self.db())
                .await?,
        );
        rows.sort_unstable_by_key(|(i, _)| *i);
        Ok(rows.into_iter().map(|(_, d)| d).collect())
    }

    /// Every anchor leaf, by index.
    pub async fn all_anchors(&self) -> StoreResult<Vec<anchor_leaf::Model>> {
        Ok(anchor_leaf::Entity::find()
            .order_by_asc(anchor_leaf::Column::LeafIndex)
            .all(self.db())
            .await?)
    }

    pub async fn leaf_of(&self, event_id: i64, device_id: i64) -> StoreResult<Option<LeafRow>> {
        Ok(leaf::Entity::find()
            .filter(leaf::Column::EventId.eq(event_id))
            .filter(leaf::Column::DeviceId.eq(device_id))
            .one(self.db())
            .await?
            .map(LeafRow::from))
    }

    /// event row id → leaf index, for one device.
    pub async fn leaf_indexes_of_device(&self, device_id: i64) -> StoreResult<HashMap<i64, i64>> {
        let rows: Vec<(i64, i64)> = leaf::Entity::find()
            .select_only()
            .column(leaf::Column::EventId)
            .column(leaf::Column::LeafIndex)
            .filter(leaf::Column::DeviceId.eq(device_id))
            .into_tuple()
            .all(self.db())
            .await?;
        Ok(rows.into_iter().collect())
    }

    pub async fn latest_checkpoint(&self) -> StoreResult<Option<CheckpointRow>> {
        self.count_log_round_trip();
        Ok(checkpoint::Entity::find()
            .order_by_desc(checkpoint::Column::Size)
            .order_by_desc(checkpoint::Column::Id)
            .one(self.db())
            .await?
            .map(CheckpointRow::from))
    }

    pub async fn checkpoints(&self) -> StoreResult<Vec<CheckpointRow>> {
        Ok(checkpoint::Entity::find()
            .order_by_asc(checkpoint::Column::Id)
            .all(self.db())
            .await?
            .into_iter()
            .map(CheckpointRow::from)
            .collect())
    }

    /// Runs `sign` with the checkpoint lock held (on PostgreSQL an advisory
    /// lock, so one process at a time signs) and stores what it returns:
    /// `sign` gets the head and the latest checkpoint and returns the note to
    /// store, or `None` when there is nothing to sign.
    pub async fn with_checkpoint_lock<F>(&self, sign: F) -> StoreResult<Option<CheckpointRow>>
    where
        F: FnOnce(i64, Vec<u8>, Option<CheckpointRow>) -> Option<(i64, Vec<u8>, String)>,
    {
        let tx = self.db().begin().await?;
        super::write_lock_now(&tx).await?;
        if tx.get_database_backend() == DbBackend::Postgres {
            let row = tx
                .query_one_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "SELECT pg_try_advisory_xact_lock($1) AS locked",
                    [CHECKPOINT_LOCK_KEY.into()],
                ))
                .await?;
            let locked = row.map(|r| r.try_get::<bool>("", "locked")).transpose()?;
            if locked != Some(true) {
                return Ok(None);
            }
        }
        let head = log_head::Entity::find_by_id(1)
            .one(&tx)
            .await?
            .ok_or_else(|| StoreError::Corrupt("no log head".into()))?;
        let latest = checkpoint::Entity::find()
            .order_by_desc(checkpoint::Column::Size)
            .order_by_desc(checkpoint::Column::Id)
            .one(&tx)
            .await?
            .map(CheckpointRow::from);
        let Some((size, root, note)) = sign(head.size, head.root, latest) else {
            return Ok(None);
        };
        let m = checkpoint::Entity::insert(checkpoint::ActiveModel {
            id: Default::default(),
            size: Set(size),
            root: Set(root),
            note: Set(note),
            created_at: Set(Utc::now()),
        })
        .exec_with_returning(&tx)
        .await?;
        tx.commit().await?;
        Ok(Some(m.into()))
    }
}
