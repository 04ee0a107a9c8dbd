//! What `provenance audit` and erasure read and write: leaves in index
//! order with the rows they commit to, every tile, erasure records.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entities::{device, erased_commitment, erasure, event, event_device, event_field, leaf, tile};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Statement, TransactionTrait,
};

use super::log::LeafRow;
use super::{Store, StoreResult};

/// The event columns the views read; the audit checks them against the
/// committed members.
#[derive(Clone, Debug)]
pub struct EventColumns {
    pub event_id: String,
    pub event_type: String,
    pub action: Option<String>,
    pub biz_step: Option<String>,
    pub disposition: Option<String>,
    pub event_time: DateTime<Utc>,
    pub event_time_zone_offset: String,
    pub record_time: DateTime<Utc>,
    pub organisation_id: i64,
}

/// (GTIN, serial, created_at)
pub type DeviceKeyRow = (String, String, DateTime<Utc>);

/// (name, JSON text, class)
pub type FieldRow = (String, String, String);

#[derive(Clone, Debug)]
pub struct ErasedRow {
    pub erasure_id: i64,
    pub event_id: i64,
    pub class: String,
    pub commitment: String,
}

/// One value to erase: the leaf it is committed in, its event and member.
#[derive(Clone, Debug)]
pub struct ErasedValue {
    pub leaf_index: i64,
    pub event_id: i64,
    pub name: String,
    pub class: String,
    pub commitment: String,
}

/// An erasure to apply in one transaction. `Debug` leaves the new salts out.
#[derive(Clone)]
pub struct NewErasure {
    pub device_id: i64,
    pub class: String,
    pub reason: String,
    pub actor: String,
    pub at: DateTime<Utc>,
    pub values: Vec<ErasedValue>,
    /// The leaves whose salts lose the erased members: (leaf index, new
    /// salts JSON).
    pub salts: Vec<(i64, String)>,
    /// Its access-log row, written in the same transaction.
    pub audit: super::access::AccessRow,
}

impl std::fmt::Debug for NewErasure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewErasure")
            .field("device_id", &self.device_id)
            .field("class", &self.class)
            .field("reason", &self.reason)
            .field("actor", &self.actor)
            .field("at", &self.at)
            .field("values", &self.values)
            .field(
                "salts",
                &format_args!("[{} leaves, redacted]", self.salts.len()),
            )
            .field("audit", &self.audit)
            .finish()
    }
}

impl Store {
    /// Up to `limit` leaves from index `from` on, ascending.
    pub async fn leaves_from(&self, from: i64, limit: u64) -> StoreResult<Vec<LeafRow>> {
        Ok(leaf::Entity::find()
            .filter(leaf::Column::LeafIndex.gte(from))
            .order_by_asc(leaf::Column::LeafIndex)
            .limit(limit)
            .all(self.db())
            .await?
            .into_iter()
            .map(LeafRow::from)
            .collect())
    }

    pub async fn leaf_count(&self) -> StoreResult<u64> {
        Ok(leaf::Entity::find().count(self.db()).await?)
    }

    /// Every (event row, device) pair the events name.
    pub async fn event_device_pairs(&self) -> StoreResult<Vec<(i64, i64)>> {
        Ok(event_device::Entity::find()
            .all(self.db())
            .await?
            .into_iter()
            .map(|m| (m.event_id, m.device_id))
            .collect())
    }

    /// Every organisation's slug by id.
    pub async fn all_organisation_slugs(&self) -> StoreResult<HashMap<i64, String>> {
        Ok(entities::organisation::Entity::find()
            .all(self.db())
            .await?
            .into_iter()
            .map(|m| (m.id, m.slug))
            .collect())
    }

    pub async fn event_columns(&self, ids: &[i64]) -> StoreResult<HashMap<i64, EventColumns>> {
        let mut out = HashMap::new();
        for chunk in ids.chunks(self.chunk()) {
            for m in event::Entity::find()
                .filter(event::Column::Id.is_in(chunk.iter().copied()))
                .all(self.db())
                .await?
            {
                out.insert(
                    m.id,
                    EventColumns {
                        event_id: m.event_id,
                        event_type: m.event_type,
                        action: m.action,
                        biz_step: m.biz_step,
                        disposition: m.disposition,
                        event_time: m.event_time,
                        event_time_zone_offset: m.event_time_zone_offset,
                        record_time: m.record_time,
                        organisation_id: m.organisation_id,
                    },
                );
            }
        }
        Ok(out)
    }

    /// The stored members of events, by event row id.
    pub async fn event_fields(&self, ids: &[i64]) -> StoreResult<HashMap<i64, Vec<FieldRow>>> {
        let mut out: HashMap<i64, Vec<FieldRow>> = HashMap::new();
        for chunk in ids.chunks(self.chunk()) {
            for m in event_field::Entity::find()
                .filter(event_field::Column::EventId.is_in(chunk.iter().copied()))
                .all(self.db())
                .await?
            {
                out.entry(m.event_id)
                    .or_default()
                    .push((m.name, m.value, m.class));
            }
        }
        Ok(out)
    }

    /// (GTIN, serial) by device id.
    /// (GTIN, serial, created_at) of devices.
    pub async fn device_keys(&self, ids: &[i64]) -> StoreResult<HashMap<i64, DeviceKeyRow>> {
        let mut out = HashMap::new();
        for chunk in ids.chunks(self.chunk()) {
            for m in device::Entity::find()
                .filter(device::Column::Id.is_in(chunk.iter().copied()))
                .all(self.db())
                .await?
            {
                out.insert(m.id, (m.gtin, m.serial, m.created_at));
            }
        }
        Ok(out)
    }

    pub async fn all_tiles(&self) -> StoreResult<Vec<(i16, i64, Vec<u8>)>> {
        Ok(tile::Entity::find()
            .all(self.db())
            .await?
            .into_iter()
            .map(|m| (m.level, m.idx, m.data))
            .collect())
    }

    /// Every erased commitment, by (leaf index, member name).
    pub async fn erased_commitments(&self) -> StoreResult<HashMap<(i64, String), ErasedRow>> {
        let erasures: HashMap<i64, erasure::Model> = erasure::Entity::find()
            .all(self.db())
            .await?
            .into_iter()
            .map(|m| (m.id, m))
            .collect();
        let mut out = HashMap::new();
        for m in erased_commitment::Entity::find().all(self.db()).await? {
            // A commitment row without its erasure record does not count.
            if !erasures.contains_key(&m.erasure_id) {
                continue;
            }
            out.insert(
                (m.leaf_index, m.name),
                ErasedRow {
                    erasure_id: m.erasure_id,
                    event_id: m.event_id,
                    class: m.class,
                    commitment: m.commitment,
                },
            );
        }
        Ok(out)
    }

    /// Erased members by event row id: (name, class), once each.
    pub async fn erased_names(
        &self,
        event_ids: &[i64],
    ) -> StoreResult<HashMap<i64, Vec<(String, String)>>> {
        let mut out: HashMap<i64, Vec<(String, String)>> = HashMap::new();
        for chunk in event_ids.chunks(self.chunk()) {
            for m in erased_commitment::Entity::find()
                .filter(erased_commitment::Column::EventId.is_in(chunk.iter().copied()))
                .all(self.db())
                .await?
            {
                let names = out.entry(m.event_id).or_default();
                if !names.iter().any(|(n, _)| *n == m.name) {
                    names.push((m.name, m.class));
                }
            }
        }
        Ok(out)
    }

    /// The leaves of a device, ascending, with their events' stored members.
    pub async fn leaves_of_device(&self, device_id: i64) -> StoreResult<Vec<LeafRow>> {
        Ok(leaf::Entity::find()
            .filter(leaf::Column::DeviceId.eq(device_id))
            .order_by_asc(leaf::Column::LeafIndex)
            .all(self.db())
            .await?
            .into_iter()
            .map(LeafRow::from)
            .collect())
    }

    /// All leaves of the given events (every device they touch).
    pub async fn leaves_of_events(&self, event_ids: &[i64]) -> StoreResult<Vec<LeafRow>> {
        let mut out = Vec::new();
        for chunk in event_ids.chunks(self.chunk()) {
            out.extend(
                leaf::Entity::find()
                    .filter(leaf::Column::EventId.is_in(chunk.iter().copied()))
                    .order_by_asc(leaf::Column::LeafIndex)
                    .all(self.db())
                    .await?
                    .into_iter()
                    .map(LeafRow::from),
            );
        }
        Ok(out)
    }

    /// Applies an erasure: deletes the values, rewrites the salts, writes
    /// the record; one transaction. On SQLite the freed pages are zeroed
    /// (`secure_delete`) and the WAL is then checkpointed and truncated;
    /// on PostgreSQL the touched tables are vacuumed.
    pub async fn erase(&self, e: NewErasure) -> StoreResult<i64> {
        let tx = self.db().begin().await?;
        let record = erasure::Entity::insert(erasure::ActiveModel {
            id: NotSet,
            device_id: Set(e.device_id),
            class: Set(e.class.clone()),
            reason: Set(e.reason.clone()),
            actor: Set(e.actor.clone()),
            created_at: Set(e.at),
        })
        .exec(&tx)
        .await?
        .last_insert_id;
        let mut by_event: HashMap<i64, Vec<String>> = HashMap::new();
        for v in &e.values {
            by_event.entry(v.event_id).or_default().push(v.name.clone());
            erased_commitment::Entity::insert(erased_commitment::ActiveModel {
                id: NotSet,
                erasure_id: Set(record),
                leaf_index: Set(v.leaf_index),
                event_id: Set(v.event_id),
                name: Set(v.name.clone()),
                class: Set(v.class.clone()),
                commitment: Set(v.commitment.clone()),
            })
            .exec_without_returning(&tx)
            .await?;
        }
        for (event_id, mut names) in by_event {
            names.sort();
            names.dedup();
            event_field::Entity::delete_many()
                .filter(event_field::Column::EventId.eq(event_id))
                .filter(event_field::Column::Name.is_in(names))
                .exec(&tx)
                .await?;
        }
        // Every device of the events shows them otherwise now.
        let mut events: Vec<i64> = e.values.iter().map(|v| v.event_id).collect();
        events.sort_unstable();
        events.dedup();
        super::epochs::bump_devices_of_events(&tx, self.chunk(), &events).await?;
        // The canonical hash of a whole event is unsalted: it would let a
        // guessed value be confirmed. Replays of an erased event are refused.
        for event_id in e.values.iter().map(|v| v.event_id) {
            event::Entity::update_many()
                .col_expr(event::Column::CanonicalHash, Expr::value("erased"))
                .filter(event::Column::Id.eq(event_id))
                .exec(&tx)
                .await?;
        }
        for (leaf_index, salts) in e.salts {
            leaf::Entity::update_many()
                .col_expr(leaf::Column::Salts, Expr::value(salts))
                .filter(leaf::Column::LeafIndex.eq(leaf_index))
                .exec(&tx)
                .await?;
        }
        super::access::append_in(&tx, std::slice::from_ref(&e.audit)).await?;
        tx.commit().await?;
        self.purge_freed_bytes().await?;
        Ok(record)
    }

    /// Makes deleted bytes unrecoverable from the database files as far as
    /// the engine allows (docs/ledger-format.md, "Erasure").
    pub async fn purge_freed_bytes(&self) -> StoreResult<()> {
        self.purge_tables(&["event_field", "leaf", "event"]).await
    }

    /// As [`Store::purge_freed_bytes`], after client addresses were erased.
    pub async fn purge_access_bytes(&self) -> StoreResult<()> {
        self.purge_tables(&["access_log"]).await
    }

    async fn purge_tables(&self, tables: &[&str]) -> StoreResult<()> {
        let backend = self.backend();
        if backend != DbBackend::Sqlite {
            for table in tables {
                self.db()
                    .execute_raw(Statement::from_string(backend, format!("VACUUM {table}")))
                    .await?;
            }
            return Ok(());
        }
        // The WAL still holds the frames that wrote the values; a TRUNCATE
        // checkpoint copies the new pages home and empties the file. It
        // reports `busy` while a reader holds an older snapshot: retry.
        for _ in 0..50 {
            let row = self
                .db()
                .query_one_raw(Statement::from_string(
                    backend,
                    "PRAGMA wal_checkpoint(TRUNCATE)",
                ))
                .await?;
            let busy: i64 = match row {
                Some(r) => r.try_get_by_index(0)?,
                None => 0,
            };
            if busy == 0 {
                return Ok(());
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        Err(super::StoreError::Corrupt(
            "the WAL could not be truncated after the erasure (readers kept it busy); \
             run the erasure again"
                .into(),
        ))
    }
}
