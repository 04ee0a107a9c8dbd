//! What the audit reads to recompute the device rows and component links
//! from the events (docs/ledger-format.md §7c, item 11).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use entities::{component_link, device, event, event_declaration, event_device, leaf};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::declarations::StatusHistory;
use super::{Store, StoreResult};

/// A device row's event-driven columns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceRowState {
    pub id: i64,
    /// `GTIN/serial`
    pub key: String,
    pub status: String,
    pub custodian: Option<i64>,
    pub shipped_to: Option<i64>,
}

/// A component link with the positions (first leaf index) and event times
/// of the events it names.
#[derive(Clone, Debug)]
pub struct LinkRow {
    pub id: i64,
    pub parent: i64,
    pub child: i64,
    pub installed_at: DateTime<Utc>,
    pub removed_at: Option<DateTime<Utc>>,
    /// (position, eventTime) of `installed_by`, if that event has a leaf.
    pub installed_by: Option<(u64, DateTime<Utc>)>,
    /// Whether the link names a removal, and (position, eventTime) of it.
    pub removed_by: Option<Option<(u64, DateTime<Utc>)>>,
}

impl Store {
    /// Every device row's status, custodian and shipped-to, by id.
    pub async fn device_row_states(&self) -> StoreResult<Vec<DeviceRowState>> {
        type Row = (i64, String, String, String, Option<i64>, Option<i64>);
        let rows: Vec<Row> = device::Entity::find()
            .select_only()
            .column(device::Column::Id)
            .column(device::Column::Gtin)
            .column(device::Column::Serial)
            .column(device::Column::Status)
            .column(device::Column::CustodianId)
            .column(device::Column::ShippedToId)
            .order_by_asc(device::Column::Id)
            .into_tuple()
            .all(self.db())
            .await?;
        Ok(rows
            .into_iter()
            .map(
                |(id, gtin, serial, status, custodian, shipped_to)| DeviceRowState {
                    id,
                    key: format!("{gtin}/{serial}"),
                    status,
                    custodian,
                    shipped_to,
                },
            )
            .collect())
    }

    /// Per device, the (bizStep, disposition) of the events naming it in
    /// `epcList`, in capture order, without events declared in error and
    /// declarations: what its status follows from.
    pub async fn all_status_histories(&self) -> StoreResult<StatusHistory> {
        let declared: HashSet<i64> = event_declaration::Entity::find()
            .select_only()
            .column(event_declaration::Column::EventId)
            .column(event_declaration::Column::DeclarationId)
            .into_tuple::<(i64, i64)>()
            .all(self.db())
            .await?
            .into_iter()
            .flat_map(|(a, b)| [a, b])
            .collect();
        let steps: HashMap<i64, (Option<String>, Option<String>)> = event::Entity::find()
            .select_only()
            .column(event::Column::Id)
            .column(event::Column::BizStep)
            .column(event::Column::Disposition)
            .into_tuple::<(i64, Option<String>, Option<String>)>()
            .all(self.db())
            .await?
            .into_iter()
            .map(|(id, s, d)| (id, (s, d)))
            .collect();
        let rows: Vec<(i64, i64)> = event_device::Entity::find()
            .select_only()
            .column(event_device::Column::DeviceId)
            .column(event_device::Column::EventId)
            .filter(event_device::Column::Role.eq("epc"))
            .order_by_asc(event_device::Column::EventId)
            .into_tuple()
            .all(self.db())
            .await?;
        let mut out = StatusHistory::new();
        for (device, event) in rows {
            if declared.contains(&event) {
                continue;
            }
            if let Some(step) = steps.get(&event) {
                out.entry(device).or_default().push(step.clone());
            }
        }
        Ok(out)
    }

    /// Every component link, with its events' positions and times.
    pub async fn all_links(&self) -> StoreResult<Vec<LinkRow>> {
        let links = component_link::Entity::find()
            .order_by_asc(component_link::Column::Id)
            .all(self.db())
            .await?;
        let positions: HashMap<i64, i64> = leaf::Entity::find()
            .select_only()
            .column(leaf::Column::EventId)
            .column_as(leaf::Column::LeafIndex.min(), "pos")
            .group_by(leaf::Column::EventId)
            .into_tuple::<(i64, Option<i64>)>()
            .all(self.db())
            .await?
            .into_iter()
            .filter_map(|(e, p)| p.map(|p| (e, p)))
            .collect();
        let mut ids: Vec<i64> = links
            .iter()
            .flat_map(|l| [Some(l.installed_by), l.removed_by])
            .flatten()
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let mut times: HashMap<i64, DateTime<Utc>> = HashMap::new();
        for chunk in ids.chunks(self.chunk()) {
            let rows: Vec<(i64, DateTime<Utc>)> = event::Entity::find()
                .select_only()
                .column(event::Column::Id)
                .column(event::Column::EventTime)
                .filter(event::Column::Id.is_in(chunk.iter().copied()))
                .into_tuple()
                .all(self.db())
                .await?;
            times.extend(rows);
        }
        let at = |id: i64| -> Option<(u64, DateTime<Utc>)> {
            let pos = u64::try_from(*positions.get(&id)?).ok()?;
            Some((pos, *times.get(&id)?))
        };
        Ok(links
            .into_iter()
            .map(|l| LinkRow {
                id: l.id,
                parent: l.parent_id,
                child: l.child_id,
                installed_at: l.installed_at,
                removed_at: l.removed_at,
                installed_by: at(l.installed_by),
                removed_by: l.removed_by.map(at),
            })
            .collect())
    }

    /// Every (event row, device row, role) of `event_device`.
    pub async fn event_roles(&self) -> StoreResult<Vec<(i64, i64, String)>> {
        Ok(event_device::Entity::find()
            .select_only()
            .column(event_device::Column::EventId)
            .column(event_device::Column::DeviceId)
            .column(event_device::Column::Role)
            .into_tuple()
            .all(self.db())
            .await?)
    }

    /// The stored `parentID`, `epcList` and `childEPCs` members (JSON
    /// text) of every event, by event row.
    pub async fn device_lists(&self) -> StoreResult<HashMap<i64, Vec<(String, String)>>> {
        let rows: Vec<(i64, String, String)> = entities::event_field::Entity::find()
            .select_only()
            .column(entities::event_field::Column::EventId)
            .column(entities::event_field::Column::Name)
            .column(entities::event_field::Column::Value)
            .filter(entities::event_field::Column::Name.is_in(["parentID", "epcList", "childEPCs"]))
            .into_tuple()
            .all(self.db())
            .await?;
        let mut out: HashMap<i64, Vec<(String, String)>> = HashMap::new();
        for (e, name, value) in rows {
            out.entry(e).or_default().push((name, value));
        }
        Ok(out)
    }

    /// Every event row's eventID.
    pub async fn event_ids(&self) -> StoreResult<HashMap<i64, String>> {
        Ok(event::Entity::find()
            .select_only()
            .column(event::Column::Id)
            .column(event::Column::EventId)
            .into_tuple::<(i64, String)>()
            .all(self.db())
            .await?
            .into_iter()
            .collect())
    }

    /// Every (declared event row, declaration row) of `event_declaration`.
    pub async fn declarations(&self) -> StoreResult<Vec<(i64, i64)>> {
        Ok(event_declaration::Entity::find()
            .select_only()
            .column(event_declaration::Column::EventId)
            .column(event_declaration::Column::DeclarationId)
            .into_tuple()
            .all(self.db())
            .await?)
    }
}
