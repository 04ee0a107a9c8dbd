//! The capture transaction: what the capture service reads to check a batch,
//! and the one write that applies it. On PostgreSQL the transaction first
//! takes an advisory lock, so captures are serialized in the database; on
//! SQLite the caller holds the process's single writer.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entities::{component_link, device, event, organisation, product};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Statement, TransactionTrait,
};

use super::bulk::Rows;
use super::{Store, StoreResult};

/// Key of the advisory lock that serializes captures on PostgreSQL.
const CAPTURE_LOCK_KEY: i64 = 0x5052_4f56_0001;
#[derive(Clone, Debug)]
pub struct DeviceRow {
    pub id: i64,
    pub gtin: String,
    pub serial: String,
    pub product_id: i64,
    pub lot: Option<String>,
    pub revision: Option<String>,
    pub status: String,
    pub custodian_id: Option<i64>,
    pub service_partner_id: Option<i64>,
    pub shipped_to_id: Option<i64>,
    /// Its view epoch (`store::epochs`) when it was read.
    pub epoch: i64,
}

impl From<device::Model> for DeviceRow {
    fn from(m: device::Model) -> Self {
        Self {
            id: m.id,
            gtin: m.gtin,
            serial: m.serial,
            product_id: m.product_id,
            lot: m.lot,
            revision: m.revision,
            status: m.status,
            custodian_id: m.custodian_id,
            service_partner_id: m.service_partner_id,
            shipped_to_id: m.shipped_to_id,
            epoch: m.epoch,
        }
    }
}

#[derive(Clone, Debug)]
pub struct LinkRow {
    pub id: i64,
    pub parent_id: i64,
    pub child_id: i64,
}

#[derive(Clone, Debug)]
pub struct StoredEventRef {
    pub id: i64,
    pub event_id: String,
    pub canonical_hash: String,
    pub record_time: DateTime<Utc>,
    pub organisation_id: i64,
    pub event_type: String,
    pub action: Option<String>,
    pub biz_step: Option<String>,
}

/// A device in a write plan: one that exists, or the n-th new one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeviceHandle {
    Existing(i64),
    New(usize),
}

#[derive(Clone, Debug)]
pub struct DeviceState {
    pub status: String,
    pub custodian_id: Option<i64>,
    pub shipped_to_id: Option<i64>,
    pub revision: Option<String>,
}

#[derive(Clone, Debug)]
pub struct NewDevice {
    pub gtin: String,
    pub serial: String,
    pub product_id: i64,
    pub lot: Option<String>,
    pub state: DeviceState,
}

#[derive(Clone, Debug)]
pub struct NewEvent {
    pub event_id: String,
    pub event_type: String,
    pub action: Option<String>,
    pub biz_step: Option<String>,
    pub disposition: Option<String>,
    pub event_time: DateTime<Utc>,
    pub event_time_zone_offset: String,
    pub read_point: Option<String>,
    pub biz_location: Option<String>,
    pub organisation_id: i64,
    pub operator: String,
    pub canonical_hash: String,
    /// (name, JSON text, class)
    pub fields: Vec<(String, String, String)>,
    /// (device, role: `epc`, `parent`, `child`)
    pub devices: Vec<(DeviceHandle, &'static str)>,
}

#[derive(Clone, Debug)]
pub struct NewLink {
    pub parent: DeviceHandle,
    pub child: DeviceHandle,
    /// index into `WritePlan::events`
    pub installed_by: usize,
    pub installed_at: DateTime<Utc>,
    pub removed: Option<(usize, DateTime<Utc>)>,
}

/// A custody interval that a planned event opens or closes (indexes into
/// that event's `devices`).
#[derive(Clone, Debug)]
pub struct CustodyChange {
    /// index into `WritePlan::events`
    pub event: usize,
    /// index into that event's `devices`
    pub device: usize,
    /// the device existed before the batch (it may have open intervals)
    pub existing: bool,
    pub kind: crate::domain::custody::Kind,
    /// the new party (a device as an index into the event's `devices`);
    /// None closes the open interval only
    pub party: Option<crate::domain::custody::Party<usize>>,
}

/// Everything one accepted batch writes.
#[derive(Debug, Default)]
pub struct WritePlan {
    pub record_time: Option<DateTime<Utc>>,
    pub new_devices: Vec<NewDevice>,
    pub device_updates: Vec<(i64, DeviceState)>,
    pub events: Vec<NewEvent>,
    pub new_links: Vec<NewLink>,
    /// (existing link id, removing event index, removal time)
    pub closed_links: Vec<(i64, usize, DateTime<Utc>)>,
    /// In plan order; written after the leaves, whose indexes bound them.
    pub custody: Vec<CustodyChange>,
}

/// Database ids of what `CaptureTx::write` inserted, in plan order.
#[derive(Debug, Default)]
pub struct Written {
    pub event_ids: Vec<i64>,
    /// The device ids of each event, in its devices' order.
    pub devices_per_event: Vec<Vec<i64>>,
}

/// An open capture transaction. Dropping it without `commit` rolls back.
pub struct CaptureTx {
    pub(super) tx: DatabaseTransaction,
    /// Ids per `IN (…)` list.
    pub(super) chunk: usize,
    #[cfg(feature = "bench-variants")]
    pub(super) stored_through_parent: bool,
}

impl Store {
    #[tracing::instrument(skip(self))]
    pub async fn begin_capture(&self) -> StoreResult<CaptureTx> {
        let tx = self.db().begin().await?;
        super::write_lock_now(&tx).await?;
        if tx.get_database_backend() == DbBackend::Postgres {
            // Plan each lookup for the table as it is now: a generic plan
            // cached while the tables were small (or never analysed, as with
            // autovacuum off) would scan whole tables for every batch.
            tx.execute_unprepared("SET LOCAL plan_cache_mode = force_custom_plan")
                .await?;
            tx.execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT pg_advisory_xact_lock($1)",
                [CAPTURE_LOCK_KEY.into()],
            ))
            .await?;
        }
        Ok(CaptureTx {
            tx,
            chunk: self.chunk,
            #[cfg(feature = "bench-variants")]
            stored_through_parent: self
                .stored_through_parent
                .load(std::sync::atomic::Ordering::Relaxed),
        })
    }
}

impl CaptureTx {
    pub async fn events_by_event_id(&self, ids: &[String]) -> StoreResult<Vec<StoredEventRef>> {
        let mut out = Vec::new();
        for chunk in ids.chunks(self.chunk) {
            let rows = event::Entity::find()
                .filter(event::Column::EventId.is_in(chunk.iter().cloned()))
                .all(&self.tx)
                .await?;
            out.extend(rows.into_iter().map(|m| StoredEventRef {
                id: m.id,
                event_id: m.event_id,
                canonical_hash: m.canonical_hash,
                record_time: m.record_time,
                organisation_id: m.organisation_id,
                event_type: m.event_type,
                action: m.action,
                biz_step: m.biz_step,
            }));
        }
        Ok(out)
    }

    /// Leaf indexes of stored events, ascending, by event row id.
    pub async fn leaf_indexes(&self, event_ids: &[i64]) -> StoreResult<HashMap<i64, Vec<i64>>> {
        let mut out: HashMap<i64, Vec<i64>> = HashMap::new();
        for chunk in event_ids.chunks(self.chunk) {
            let rows: Vec<(i64, i64)> = entities::leaf::Entity::find()
                .select_only()
                .column(entities::leaf::Column::EventId)
                .column(entities::leaf::Column::LeafIndex)
                .filter(entities::leaf::Column::EventId.is_in(chunk.iter().copied()))
                .order_by_asc(entities::leaf::Column::LeafIndex)
                .into_tuple()
                .all(&self.tx)
                .await?;
            for (e, i) in rows {
                out.entry(e).or_default().push(i);
            }
        }
        Ok(out)
    }

    /// Devices by (GTIN-14, serial).
    pub async fn devices_by_key(&self, keys: &[(String, String)]) -> StoreResult<Vec<DeviceRow>> {
        let mut by_gtin: HashMap<&str, Vec<&str>> = HashMap::new();
        for (g, s) in keys {
            by_gtin.entry(g).or_default().push(s);
        }
        let mut out = Vec::new();
        for (gtin, serials) in by_gtin {
            for chunk in serials.chunks(self.chunk) {
                let rows = device::Entity::find()
                    .filter(device::Column::Gtin.eq(gtin))
                    .filter(device::Column::Serial.is_in(chunk.iter().copied()))
                    .all(&self.tx)
                    .await?;
                out.extend(rows.into_iter().map(DeviceRow::from));
            }
        }
        Ok(out)
    }

    pub async fn devices_by_id(&self, ids: &[i64]) -> StoreResult<Vec<DeviceRow>> {
        let mut out = Vec::new();
        for chunk in ids.chunks(self.chunk) {
            let rows = device::Entity::find()
                .filter(device::Column::Id.is_in(chunk.iter().copied()))
                .all(&self.tx)
                .await?;
            out.extend(rows.into_iter().map(DeviceRow::from));
        }
        Ok(out)
    }

    /// Open component links in which any of `ids` is parent or child.
    pub async fn open_links_touching(&self, ids: &[i64]) -> StoreResult<Vec<LinkRow>> {
        let mut out: Vec<LinkRow> = Vec::new();
        let mut seen: std::collections::HashSet<i64> = std::collections::HashSet::new();
        for chunk in ids.chunks(self.chunk) {
            let rows = component_link::Entity::find()
                .filter(component_link::Column::RemovedBy.is_null())
                .filter(
                    Condition::any()
                        .add(component_link::Column::ChildId.is_in(chunk.iter().copied()))
                        .add(component_link::Column::ParentId.is_in(chunk.iter().copied())),
                )
                .all(&self.tx)
                .await?;
            for m in rows {
                if seen.insert(m.id) {
                    out.push(LinkRow {
                        id: m.id,
                        parent_id: m.parent_id,
                        child_id: m.child_id,
                    });
                }
            }
        }
        Ok(out)
    }

    /// Product ids by GTIN-14.
    pub async fn products_by_gtin(&self, gtins: &[String]) -> StoreResult<HashMap<String, i64>> {
        let mut out = HashMap::new();
        for chunk in gtins.chunks(self.chunk) {
            let rows = product::Entity::find()
                .filter(product::Column::Gtin.is_in(chunk.iter().cloned()))
                .all(&self.tx)
                .await?;
            out.extend(rows.into_iter().map(|m| (m.gtin, m.id)));
        }
        Ok(out)
    }

    /// Organisation ids by slug.
    pub async fn organisation_ids(&self, slugs: &[String]) -> StoreResult<HashMap<String, i64>> {
        let mut out = HashMap::new();
        for chunk in slugs.chunks(self.chunk) {
            let rows = organisation::Entity::find()
                .filter(organisation::Column::Slug.is_in(chunk.iter().cloned()))
                .all(&self.tx)
                .await?;
            out.extend(rows.into_iter().map(|m| (m.slug, m.id)));
        }
        Ok(out)
    }

    /// Applies an accepted batch.
    #[tracing::instrument(skip_all, fields(events = plan.events.len()))]
    pub async fn write(&self, plan: WritePlan) -> StoreResult<Written> {
        let Some(record_time) = plan.record_time else {
            return Ok(Written::default());
        };
        let now = record_time;
        // New devices, with their final state after the batch.
        let mut rows = Rows::new(
            "device",
            &[
                "gtin",
                "serial",
                "product_id",
                "lot",
                "revision",
                "status",
                "custodian_id",
                "service_partner_id",
                "shipped_to_id",
                "created_at",
            ],
            plan.new_devices.len(),
        );
        let keys: Vec<(String, String)> = plan
            .new_devices
            .iter()
            .map(|d| (d.gtin.clone(), d.serial.clone()))
            .collect();
        for d in plan.new_devices {
            rows.push([
                d.gtin.into(),
                d.serial.into(),
                d.product_id.into(),
                d.lot.into(),
                d.state.revision.into(),
                d.state.status.into(),
                d.state.custodian_id.into(),
                Option::<i64>::None.into(),
                d.state.shipped_to_id.into(),
                now.into(),
            ]);
        }
        let mut by_key: HashMap<(String, String), i64> = HashMap::with_capacity(keys.len());
        for row in rows.insert_returning(&self.tx, "id, gtin, serial").await? {
            by_key.insert(
                (row.try_get("", "gtin")?, row.try_get("", "serial")?),
                row.try_get("", "id")?,
            );
        }
        let new_ids: Vec<i64> = keys
            .iter()
            .map(|k| {
                by_key.get(k).copied().ok_or_else(|| {
                    super::StoreError::Corrupt("inserted device not returned".into())
                })
            })
            .collect::<StoreResult<_>>()?;
        let resolve = |h: DeviceHandle| -> StoreResult<i64> {
            match h {
                DeviceHandle::Existing(id) => Ok(id),
                DeviceHandle::New(i) => new_ids
                    .get(i)
                    .copied()
                    .ok_or_else(|| super::StoreError::Corrupt("unknown new device".into())),
            }
        };
        for (id, state) in &plan.device_updates {
            device::Entity::update_many()
                .col_expr(device::Column::Status, Expr::value(state.status.clone()))
                .col_expr(device::Column::CustodianId, Expr::value(state.custodian_id))
                .col_expr(
                    device::Column::ShippedToId,
                    Expr::value(state.shipped_to_id),
                )
                .col_expr(
                    device::Column::Revision,
                    Expr::value(state.revision.clone()),
                )
                .filter(device::Column::Id.eq(*id))
                .exec(&self.tx)
                .await?;
        }

        // Events, then their fields and devices.
        let mut rows = Rows::new(
            "event",
            &[
                "event_id",
                "event_type",
                "action",
                "biz_step",
                "disposition",
                "event_time",
                "event_time_zone_offset",
                "record_time",
                "read_point",
                "biz_location",
                "organisation_id",
                "operator",
                "canonical_hash",
            ],
            plan.events.len(),
        );
        for e in &plan.events {
            rows.push([
                e.event_id.clone().into(),
                e.event_type.clone().into(),
                e.action.clone().into(),
                e.biz_step.clone().into(),
                e.disposition.clone().into(),
                e.event_time.into(),
                e.event_time_zone_offset.clone().into(),
                record_time.into(),
                e.read_point.clone().into(),
                e.biz_location.clone().into(),
                e.organisation_id.into(),
                e.operator.clone().into(),
                e.canonical_hash.clone().into(),
            ]);
        }
        let mut by_id: HashMap<String, i64> = HashMap::with_capacity(plan.events.len());
        for row in rows.insert_returning(&self.tx, "id, event_id").await? {
            by_id.insert(row.try_get("", "event_id")?, row.try_get("", "id")?);
        }
        let event_ids: Vec<i64> =
            plan.events
                .iter()
                .map(|e| {
                    by_id.get(&e.event_id).copied().ok_or_else(|| {
                        super::StoreError::Corrupt("inserted event not returned".into())
                    })
                })
                .collect::<StoreResult<_>>()?;
        let field_count = plan.events.iter().map(|e| e.fields.len()).sum();
        let mut fields = Rows::new(
            "event_field",
            &["event_id", "name", "value", "class"],
            field_count,
        );
        let mut touched = Rows::new(
            "event_device",
            &["event_id", "device_id", "role"],
            plan.events.len(),
        );
        let mut devices_per_event = Vec::with_capacity(plan.events.len());
        for (e, &id) in plan.events.into_iter().zip(&event_ids) {
            let mut ids = Vec::with_capacity(e.devices.len());
            for (handle, role) in &e.devices {
                let device = resolve(*handle)?;
                touched.push([id.into(), device.into(), (*role).into()]);
                ids.push(device);
            }
            devices_per_event.push(ids);
            for (name, value, class) in e.fields {
                fields.push([id.into(), name.into(), value.into(), class.into()]);
            }
        }
        fields.insert(&self.tx, "").await?;
        touched.insert(&self.tx, "ON CONFLICT DO NOTHING").await?;

        // Component links: closed ones keep their row; history is never
        // overwritten.
        for (link_id, removed_by, removed_at) in &plan.closed_links {
            component_link::Entity::update_many()
                .col_expr(
                    component_link::Column::RemovedBy,
                    Expr::value(event_ids[*removed_by]),
                )
                .col_expr(component_link::Column::RemovedAt, Expr::value(*removed_at))
                .filter(component_link::Column::Id.eq(*link_id))
                .filter(component_link::Column::RemovedBy.is_null())
                .exec(&self.tx)
                .await?;
        }
        let mut links = Rows::new(
            "component_link",
            &[
                "parent_id",
                "child_id",
                "installed_by",
                "removed_by",
                "installed_at",
                "removed_at",
            ],
            plan.new_links.len(),
        );
        for l in &plan.new_links {
            links.push([
                resolve(l.parent)?.into(),
                resolve(l.child)?.into(),
                event_ids[l.installed_by].into(),
                l.removed.map(|(i, _)| event_ids[i]).into(),
                l.installed_at.into(),
                l.removed.map(|(_, t)| t).into(),
            ]);
        }
        links.insert(&self.tx, "").await?;
        Ok(Written {
            event_ids,
            devices_per_event,
        })
    }

    pub async fn commit(self) -> StoreResult<()> {
        self.tx.commit().await?;
        Ok(())
    }
}
