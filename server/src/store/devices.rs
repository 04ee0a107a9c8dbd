//! Reading devices, their events and their component links.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entities::{component_link, device, event, event_device, event_field, organisation};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Statement,
};

use super::capture::DeviceRow;
use super::{Store, StoreResult};

#[derive(Clone, Debug)]
pub struct EventRecord {
    pub id: i64,
    pub event_id: String,
    pub event_type: String,
    pub action: Option<String>,
    pub biz_step: Option<String>,
    pub disposition: Option<String>,
    pub event_time: DateTime<Utc>,
    pub event_time_zone_offset: String,
    pub record_time: DateTime<Utc>,
    pub organisation_id: i64,
    /// (name, JSON text, class), in capture order
    pub fields: Vec<(String, String, String)>,
}

#[derive(Clone, Debug)]
pub struct LinkRecord {
    pub parent_id: i64,
    pub child_id: i64,
    pub installed_at: DateTime<Utc>,
    pub removed_at: Option<DateTime<Utc>>,
    pub installed_by: i64,
    pub removed_by: Option<i64>,
}

impl From<component_link::Model> for LinkRecord {
    fn from(m: component_link::Model) -> Self {
        Self {
            parent_id: m.parent_id,
            child_id: m.child_id,
            installed_at: m.installed_at,
            removed_at: m.removed_at,
            installed_by: m.installed_by,
            removed_by: m.removed_by,
        }
    }
}

impl Store {
    #[tracing::instrument(skip(self))]
    pub async fn device_by_key(&self, gtin: &str, serial: &str) -> StoreResult<Option<DeviceRow>> {
        Ok(device::Entity::find()
            .filter(device::Column::Gtin.eq(gtin))
            .filter(device::Column::Serial.eq(serial))
            .one(self.db())
            .await?
            .map(DeviceRow::from))
    }

    pub async fn device_by_id(&self, id: i64) -> StoreResult<Option<DeviceRow>> {
        self.count_device_query();
        Ok(device::Entity::find_by_id(id)
            .one(self.db())
            .await?
            .map(DeviceRow::from))
    }

    /// The row id of the event with this EPCIS eventID.
    pub async fn event_row_id(&self, event_id: &str) -> StoreResult<Option<i64>> {
        Ok(event::Entity::find()
            .filter(event::Column::EventId.eq(event_id))
            .one(self.db())
            .await?
            .map(|m| m.id))
    }

    pub async fn organisation_slug(&self, id: i64) -> StoreResult<Option<String>> {
        self.count_device_query();
        Ok(organisation::Entity::find_by_id(id)
            .one(self.db())
            .await?
            .map(|m| m.slug))
    }

    /// The device's events, oldest first (by eventTime, then capture order):
    /// two queries whatever their number (the device's events as a
    /// subquery, not a list of ids).
    #[tracing::instrument(skip(self))]
    pub async fn events_of_device(&self, device_id: i64) -> StoreResult<Vec<EventRecord>> {
        let of_device = || {
            sea_orm::sea_query::Query::select()
                .column(event_device::Column::EventId)
                .from(event_device::Entity)
                .and_where(event_device::Column::DeviceId.eq(device_id))
                .to_owned()
        };
        let events = event::Entity::find()
            .filter(event::Column::Id.in_subquery(of_device()))
            .order_by_asc(event::Column::EventTime)
            .order_by_asc(event::Column::Id)
            .all(self.db())
            .await?;
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let mut fields: std::collections::HashMap<i64, Vec<(String, String, String)>> =
            std::collections::HashMap::with_capacity(events.len());
        for f in event_field::Entity::find()
            .filter(event_field::Column::EventId.in_subquery(of_device()))
            .order_by_asc(event_field::Column::Id)
            .all(self.db())
            .await?
        {
            fields
                .entry(f.event_id)
                .or_default()
                .push((f.name, f.value, f.class));
        }
        Ok(events
            .into_iter()
            .map(|e| EventRecord {
                fields: fields.remove(&e.id).unwrap_or_default(),
                id: e.id,
                event_id: e.event_id,
                event_type: e.event_type,
                action: e.action,
                biz_step: e.biz_step,
                disposition: e.disposition,
                event_time: e.event_time,
                event_time_zone_offset: e.event_time_zone_offset,
                record_time: e.record_time,
                organisation_id: e.organisation_id,
            })
            .collect())
    }

    /// Every link (open or closed) where the device is the parent.
    pub async fn links_as_parent(&self, device_id: i64) -> StoreResult<Vec<LinkRecord>> {
        self.links_where(component_link::Column::ParentId, device_id)
            .await
    }

    /// Every link (open or closed) where the device is the child.
    pub async fn links_as_child(&self, device_id: i64) -> StoreResult<Vec<LinkRecord>> {
        self.links_where(component_link::Column::ChildId, device_id)
            .await
    }

    async fn links_where(
        &self,
        column: component_link::Column,
        device_id: i64,
    ) -> StoreResult<Vec<LinkRecord>> {
        self.count_device_query();
        Ok(component_link::Entity::find()
            .filter(column.eq(device_id))
            .order_by_asc(component_link::Column::Id)
            .all(self.db())
            .await?
            .into_iter()
            .map(LinkRecord::from)
            .collect())
    }
}

/// Filters of [`Store::devices_page`].
#[derive(Clone, Debug, Default)]
pub struct DeviceFilter {
    pub gtin: Option<String>,
    pub lot: Option<String>,
    pub status: Option<String>,
    pub custodian_id: Option<i64>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
}

impl Store {
    /// Devices after id `after`, ascending by id, at most `limit`. With
    /// `scope`, only devices that organisation holds or held, was shipped
    /// or services (by the custody intervals).
    pub async fn devices_page(
        &self,
        filter: &DeviceFilter,
        scope: Option<i64>,
        after: i64,
        limit: u64,
    ) -> StoreResult<Vec<DeviceRow>> {
        let backend = self.backend();
        let mut text = String::from("SELECT * FROM device WHERE id > ?");
        let mut values: Vec<sea_orm::Value> = vec![after.into()];
        let mut clause = |sql: &str, v: sea_orm::Value| {
            text.push_str(sql);
            values.push(v);
        };
        if let Some(g) = &filter.gtin {
            clause(" AND gtin = ?", g.clone().into());
        }
        if let Some(l) = &filter.lot {
            clause(" AND lot = ?", l.clone().into());
        }
        if let Some(s) = &filter.status {
            clause(" AND status = ?", s.clone().into());
        }
        if let Some(c) = filter.custodian_id {
            clause(" AND custodian_id = ?", c.into());
        }
        if let Some(t) = filter.created_from {
            clause(" AND created_at >= ?", t.into());
        }
        if let Some(t) = filter.created_to {
            clause(" AND created_at <= ?", t.into());
        }
        if let Some(org) = scope {
            // What the custody intervals say it holds or held, was
            // shipped and has not received, services or covers now.
            text.push_str(
                " AND id IN (SELECT device_id FROM custody_interval WHERE party_id = ? AND \
                 (kind = 'holder' OR (kind IN ('shipped_to', 'service_partner', 'warranty_provider') \
                 AND to_pos IS NULL)))",
            );
            values.push(org.into());
        }
        text.push_str(&format!(" ORDER BY id LIMIT {limit}"));
        self.count_device_query();
        let models = device::Entity::find()
            .from_raw_sql(super::access::sql(backend, &text, values))
            .all(self.db())
            .await?;
        Ok(models.into_iter().map(DeviceRow::from).collect())
    }
}

/// The latest event of a device (by event time, then capture order).
#[derive(Clone, Debug)]
pub struct LatestEvent {
    pub event_id: String,
    pub biz_step: Option<String>,
    pub event_time: DateTime<Utc>,
    pub event_time_zone_offset: String,
}

impl Store {
    /// Device row ids by (GTIN-14, serial), for those that exist: one query
    /// per list chunk.
    pub async fn device_ids_by_keys(
        &self,
        keys: &[(String, String)],
    ) -> StoreResult<HashMap<(String, String), i64>> {
        // `gtin = ? AND serial IN (…)` per GTIN: a long OR chain of pairs
        // would exceed SQLite's expression depth.
        let mut by_gtin: HashMap<&str, Vec<String>> = HashMap::new();
        for (g, s) in keys {
            by_gtin.entry(g.as_str()).or_default().push(s.clone());
        }
        let mut out = HashMap::with_capacity(keys.len());
        for (gtin, serials) in by_gtin {
            for chunk in serials.chunks(self.chunk()) {
                self.count_device_query();
                let rows: Vec<(i64, String, String)> = device::Entity::find()
                    .select_only()
                    .column(device::Column::Id)
                    .column(device::Column::Gtin)
                    .column(device::Column::Serial)
                    .filter(device::Column::Gtin.eq(gtin))
                    .filter(device::Column::Serial.is_in(chunk.iter().cloned()))
                    .into_tuple()
                    .all(self.db())
                    .await?;
                out.extend(rows.into_iter().map(|(id, g, s)| ((g, s), id)));
            }
        }
        Ok(out)
    }

    /// Devices by id: one query per list chunk.
    pub async fn devices_by_ids(&self, ids: &[i64]) -> StoreResult<Vec<DeviceRow>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(self.chunk()) {
            self.count_device_query();
            out.extend(
                device::Entity::find()
                    .filter(device::Column::Id.is_in(chunk.iter().copied()))
                    .all(self.db())
                    .await?
                    .into_iter()
                    .map(DeviceRow::from),
            );
        }
        Ok(out)
    }

    /// Organisation slugs by id: one query per list chunk.
    pub async fn organisation_slugs(
        &self,
        ids: &[i64],
    ) -> StoreResult<std::collections::HashMap<i64, String>> {
        if ids.is_empty() {
            return Ok(Default::default());
        }
        let mut out = std::collections::HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(self.chunk()) {
            self.count_device_query();
            out.extend(
                organisation::Entity::find()
                    .filter(organisation::Column::Id.is_in(chunk.iter().copied()))
                    .all(self.db())
                    .await?
                    .into_iter()
                    .map(|m| (m.id, m.slug)),
            );
        }
        Ok(out)
    }

    /// Open links (installed now) where any of `ids` is the child (or, with
    /// `as_parent`, the parent), by link id: one query per list chunk.
    pub async fn open_links(&self, ids: &[i64], as_parent: bool) -> StoreResult<Vec<LinkRecord>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let column = if as_parent {
            component_link::Column::ParentId
        } else {
            component_link::Column::ChildId
        };
        let mut out = Vec::new();
        for chunk in ids.chunks(self.chunk()) {
            self.count_device_query();
            out.extend(
                component_link::Entity::find()
                    .filter(column.is_in(chunk.iter().copied()))
                    .filter(component_link::Column::RemovedBy.is_null())
                    .all(self.db())
                    .await?,
            );
        }
        out.sort_by_key(|m| m.id);
        Ok(out.into_iter().map(LinkRecord::from).collect())
    }

    /// The latest event of each device: one query per list chunk.
    pub async fn latest_events(
        &self,
        ids: &[i64],
    ) -> StoreResult<std::collections::HashMap<i64, LatestEvent>> {
        if ids.is_empty() {
            return Ok(Default::default());
        }
        let backend = self.backend();
        let mut out = std::collections::HashMap::new();
        for chunk in ids.chunks(self.chunk()) {
            self.count_device_query();
            let list = chunk
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(",");
            let text = format!(
                "SELECT device_id, event_id, biz_step, event_time, event_time_zone_offset FROM \
                 (SELECT d.device_id, e.event_id, e.biz_step, e.event_time, e.event_time_zone_offset, \
                 ROW_NUMBER() OVER (PARTITION BY d.device_id ORDER BY e.event_time DESC, e.id DESC) AS rn \
                 FROM event_device d JOIN event e ON e.id = d.event_id WHERE d.device_id IN ({list})) t \
                 WHERE rn = 1"
            );
            for r in self
                .db()
                .query_all_raw(Statement::from_string(backend, text))
                .await?
            {
                out.insert(
                    r.try_get::<i64>("", "device_id")?,
                    LatestEvent {
                        event_id: r.try_get("", "event_id")?,
                        biz_step: r.try_get("", "biz_step")?,
                        event_time: r.try_get("", "event_time")?,
                        event_time_zone_offset: r.try_get("", "event_time_zone_offset")?,
                    },
                );
            }
        }
        Ok(out)
    }
}
