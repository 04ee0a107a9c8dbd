//! What error declarations and theft reports need of the capture
//! transaction (docs/device-lifecycle.md, "Recovery" and "Corrections"):
//! theft reports by eventID, each unit's status-giving events and latest
//! event without declared ones, and the record of a declaration.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use entities::{device, event, organisation};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};

use super::StoreResult;
use super::capture::CaptureTx;

/// Per device, the (bizStep, disposition) of its status-giving events.
pub type StatusHistory = HashMap<i64, Vec<(Option<String>, Option<String>)>>;

impl CaptureTx {
    /// The event rows that were declared in error, and the declarations'
    /// own rows: what status, theft reports and "latest event" leave out.
    async fn declared_rows(&self) -> StoreResult<HashSet<i64>> {
        let declarations: Vec<(i64, i64)> = entities::event_declaration::Entity::find()
            .select_only()
            .column(entities::event_declaration::Column::EventId)
            .column(entities::event_declaration::Column::DeclarationId)
            .into_tuple()
            .all(&self.tx)
            .await?;
        Ok(declarations.into_iter().flat_map(|(a, b)| [a, b]).collect())
    }

    /// The devices each of these events reported stolen (disposition
    /// `stolen`, the devices of its `epcList`), by eventID.
    pub async fn theft_reports(
        &self,
        event_ids: &[String],
    ) -> StoreResult<HashMap<String, Vec<i64>>> {
        let mut out: HashMap<String, Vec<i64>> = HashMap::new();
        if event_ids.is_empty() {
            return Ok(out);
        }
        // A theft report declared in error ends nothing (and a declaration
        // is no theft report).
        let skip = self.declared_rows().await?;
        for chunk in event_ids.chunks(self.chunk) {
            let events = event::Entity::find()
                .filter(event::Column::EventId.is_in(chunk.iter().cloned()))
                .filter(event::Column::Disposition.eq("stolen"))
                .all(&self.tx)
                .await?;
            let mut ids: HashMap<i64, String> =
                events.into_iter().map(|m| (m.id, m.event_id)).collect();
            ids.retain(|id, _| !skip.contains(id));
            if ids.is_empty() {
                continue;
            }
            let rows = entities::event_device::Entity::find()
                .filter(entities::event_device::Column::EventId.is_in(ids.keys().copied()))
                .filter(entities::event_device::Column::Role.eq("epc"))
                .all(&self.tx)
                .await?;
            for r in rows {
                if let Some(id) = ids.get(&r.event_id) {
                    out.entry(id.clone()).or_default().push(r.device_id);
                }
            }
        }
        Ok(out)
    }

    /// The slug of an organisation by id.
    pub async fn organisation_slug(&self, id: i64) -> StoreResult<Option<String>> {
        Ok(organisation::Entity::find_by_id(id)
            .one(&self.tx)
            .await?
            .map(|m| m.slug))
    }

    /// For each device, the (bizStep, disposition) of the events that name
    /// it in `epcList`, in capture order, leaving out events declared in
    /// error and declarations: what its status follows from.
    pub async fn status_history(&self, devices: &[i64]) -> StoreResult<StatusHistory> {
        let mut out = StatusHistory::new();
        let skip = self.declared_rows().await?;
        for chunk in devices.chunks(self.chunk) {
            let rows = entities::event_device::Entity::find()
                .filter(entities::event_device::Column::DeviceId.is_in(chunk.iter().copied()))
                .filter(entities::event_device::Column::Role.eq("epc"))
                .all(&self.tx)
                .await?;
            let mut ids: Vec<i64> = rows.iter().map(|r| r.event_id).collect();
            ids.sort_unstable();
            ids.dedup();
            let mut events: HashMap<i64, (Option<String>, Option<String>)> = HashMap::new();
            for ids in ids.chunks(self.chunk) {
                for m in event::Entity::find()
                    .filter(event::Column::Id.is_in(ids.iter().copied()))
                    .all(&self.tx)
                    .await?
                {
                    events.insert(m.id, (m.biz_step, m.disposition));
                }
            }
            let mut by_device: HashMap<i64, Vec<i64>> = HashMap::new();
            for r in rows {
                by_device.entry(r.device_id).or_default().push(r.event_id);
            }
            for (device, mut ids) in by_device {
                ids.sort_unstable();
                let list = out.entry(device).or_default();
                for id in ids.into_iter().filter(|id| !skip.contains(id)) {
                    if let Some(e) = events.get(&id) {
                        list.push(e.clone());
                    }
                }
            }
        }
        Ok(out)
    }

    /// For each device, its latest event row in capture order (any role),
    /// leaving out events declared in error and declarations.
    pub async fn latest_live_events(&self, devices: &[i64]) -> StoreResult<HashMap<i64, i64>> {
        let skip = self.declared_rows().await?;
        let mut out: HashMap<i64, i64> = HashMap::new();
        for chunk in devices.chunks(self.chunk) {
            for r in entities::event_device::Entity::find()
                .filter(entities::event_device::Column::DeviceId.is_in(chunk.iter().copied()))
                .all(&self.tx)
                .await?
            {
                if skip.contains(&r.event_id) {
                    continue;
                }
                let e = out.entry(r.device_id).or_insert(r.event_id);
                *e = (*e).max(r.event_id);
            }
        }
        Ok(out)
    }

    /// Sets device statuses.
    pub async fn set_statuses(&self, statuses: &[(i64, String)]) -> StoreResult<()> {
        for (id, status) in statuses {
            device::Entity::update_many()
                .col_expr(device::Column::Status, Expr::value(status.clone()))
                .filter(device::Column::Id.eq(*id))
                .exec(&self.tx)
                .await?;
        }
        Ok(())
    }

    /// Records that `event` was declared in error by `declaration`.
    pub async fn record_declaration(
        &self,
        event: i64,
        declaration: i64,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        entities::event_declaration::Entity::insert(entities::event_declaration::ActiveModel {
            event_id: sea_orm::Set(event),
            declaration_id: sea_orm::Set(declaration),
            declared_at: sea_orm::Set(at),
        })
        .exec(&self.tx)
        .await?;
        Ok(())
    }
}
