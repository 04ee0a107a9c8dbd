//! Custody intervals (docs/device-lifecycle.md, "Custody intervals"):
//! written in the capture transaction and by service-partner assignments,
//! read by every relationship lookup, filled for existing databases by a
//! recorded data step.

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use entities::{custody_interval, data_step, device, event, event_device, event_field, leaf};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::bulk::Rows;
use super::capture::CaptureTx;
use super::{Store, StoreError, StoreResult};
use crate::domain::custody::{Builder, Custody, Interval, Kind, ReplayEvent};

/// The data step that fills the intervals of a database captured before
/// they existed.
pub const CUSTODY_STEP: &str = "2026-12-02-custody-intervals";

/// One change, resolved: from `pos` on, the device's `kind` interval is with
/// `party` (None: with nobody).
#[derive(Clone, Debug)]
pub struct CustodyWrite {
    pub device: i64,
    /// The device existed before this batch, so it may have open intervals.
    pub existing: bool,
    pub kind: Kind,
    pub party: Option<i64>,
    pub pos: u64,
}

fn to_interval(m: custody_interval::Model) -> StoreResult<Interval> {
    let kind = Kind::parse(&m.kind)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown custody kind {:?}", m.kind)))?;
    let pos = |v: i64| {
        u64::try_from(v).map_err(|_| StoreError::Corrupt("negative custody position".into()))
    };
    Ok(Interval {
        device: m.device_id,
        kind,
        party: m.party_id,
        from: pos(m.from_pos)?,
        to: m.to_pos.map(pos).transpose()?,
    })
}

fn rows_of(intervals: &[Interval]) -> StoreResult<Rows> {
    let mut rows = Rows::new(
        "custody_interval",
        &["device_id", "kind", "party_id", "from_pos", "to_pos"],
        intervals.len(),
    );
    let int = |v: u64| {
        i64::try_from(v).map_err(|_| StoreError::Corrupt("custody position overflows".into()))
    };
    for i in intervals {
        rows.push([
            i.device.into(),
            i.kind.as_str().into(),
            i.party.into(),
            int(i.from)?.into(),
            i.to.map(int).transpose()?.into(),
        ]);
    }
    Ok(rows)
}

async fn intervals_of<C: ConnectionTrait>(
    db: &C,
    chunk_size: usize,
    devices: &[i64],
    open_only: bool,
) -> StoreResult<Vec<custody_interval::Model>> {
    let mut out = Vec::new();
    for chunk in devices.chunks(chunk_size) {
        let mut q = custody_interval::Entity::find()
            .filter(custody_interval::Column::DeviceId.is_in(chunk.iter().copied()));
        if open_only {
            q = q.filter(custody_interval::Column::ToPos.is_null());
        }
        out.extend(q.all(db).await?);
    }
    Ok(out)
}

impl CaptureTx {
    /// Applies a batch's custody changes, given in log order: each closes
    /// the device's open interval of its kind and opens the new one.
    pub async fn write_custody(&self, writes: &[CustodyWrite]) -> StoreResult<()> {
        if writes.is_empty() {
            return Ok(());
        }
        let changed: HashSet<(i64, Kind)> = writes.iter().map(|w| (w.device, w.kind)).collect();
        let mut existing: Vec<i64> = writes
            .iter()
            .filter(|w| w.existing)
            .map(|w| w.device)
            .collect();
        existing.sort_unstable();
        existing.dedup();
        let mut builder = Builder::default();
        let mut replaced: Vec<i64> = Vec::new();
        // Every interval that opens or closes moves the view epochs of its
        // device and party (an organisation, or the parent device).
        let (mut devices, mut organisations) = (existing.clone(), Vec::new());
        let mut installed_in_closed: Vec<i64> = Vec::new();
        let mut party = |kind: Kind, party: i64| match kind {
            Kind::InstalledIn => devices.push(party),
            _ => organisations.push(party),
        };
        for m in intervals_of(&self.tx, self.chunk, &existing, true).await? {
            let id = m.id;
            let interval = to_interval(m)?;
            if changed.contains(&(interval.device, interval.kind)) {
                replaced.push(id);
                party(interval.kind, interval.party);
                if interval.kind == Kind::InstalledIn {
                    installed_in_closed.push(interval.party);
                }
                builder.seed(interval);
            }
        }
        for w in writes {
            if let Some(p) = w.party {
                party(w.kind, p);
            }
        }
        // A part shows its assembly's holder, and exists for whoever has
        // the assembly: the parts installed in a changed device move too.
        let below = super::epochs::installed_below(&self.tx, self.chunk, &existing).await?;
        devices.extend(below);
        // A part put in or taken out of an assembly comes to exist, or
        // stops existing, for every organisation related to the assembly
        // now (it may be named in another unit's list members).
        let assemblies: Vec<i64> = writes
            .iter()
            .filter(|w| w.kind == Kind::InstalledIn)
            .filter_map(|w| w.party)
            .chain(installed_in_closed)
            .collect();
        organisations
            .extend(super::epochs::organisations_around(&self.tx, self.chunk, &assemblies).await?);
        super::epochs::bump(&self.tx, self.chunk, &devices, &organisations).await?;
        // The open intervals that change are rewritten with their end.
        for chunk in replaced.chunks(self.chunk) {
            custody_interval::Entity::delete_many()
                .filter(custody_interval::Column::Id.is_in(chunk.iter().copied()))
                .exec(&self.tx)
                .await?;
        }
        for w in writes {
            builder.change(w.device, w.kind, w.party, w.pos);
        }
        rows_of(&builder.finish())?.insert(&self.tx, "").await?;
        #[cfg(feature = "bench-variants")]
        if self.stored_through_parent {
            self.write_through_parent(writes).await?;
        }
        Ok(())
    }
}

impl Store {
    /// The intervals of the devices and of every device they were ever
    /// installed in, up the tree: one query per level.
    pub async fn custody_chain(&self, devices: &[i64]) -> StoreResult<Custody> {
        let mut all: Vec<Interval> = Vec::new();
        let mut seen: HashSet<i64> = devices.iter().copied().collect();
        let mut frontier: Vec<i64> = devices.to_vec();
        for _ in 0..=crate::domain::custody::MAX_ASSEMBLY_DEPTH {
            if frontier.is_empty() {
                break;
            }
            let found = intervals_of(self.db(), self.chunk(), &frontier, false).await?;
            frontier.clear();
            for m in found {
                let i = to_interval(m)?;
                if i.kind == Kind::InstalledIn && seen.insert(i.party) {
                    frontier.push(i.party);
                }
                all.push(i);
            }
        }
        Ok(Custody::new(all))
    }

    /// Sets (or with None clears) the device's service partner, closing the
    /// open service-partner interval and opening the new one at the log's
    /// size now; `audit` is appended in the same transaction. False when
    /// there is no such device.
    pub async fn assign_service_partner(
        &self,
        device_id: i64,
        org_id: Option<i64>,
        audit: &super::access::AccessRow,
    ) -> StoreResult<bool> {
        let tx = self.begin_capture().await?;
        let (size, _) = tx.lock_log_head().await?;
        let r = device::Entity::update_many()
            .col_expr(device::Column::ServicePartnerId, Expr::value(org_id))
            .filter(device::Column::Id.eq(device_id))
            .exec(&tx.tx)
            .await?;
        if r.rows_affected != 1 {
            return Ok(false);
        }
        let pos = u64::try_from(size).map_err(|_| StoreError::Corrupt("negative size".into()))?;
        tx.write_custody(&[CustodyWrite {
            device: device_id,
            existing: true,
            kind: Kind::ServicePartner,
            party: org_id,
            pos,
        }])
        .await?;
        tx.append_access(std::slice::from_ref(audit)).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Whether the named data step has run on this database.
    pub async fn data_step_done(&self, name: &str) -> StoreResult<bool> {
        Ok(data_step::Entity::find_by_id(name.to_owned())
            .one(self.db())
            .await?
            .is_some())
    }

    /// Every stored interval, sorted.
    pub async fn all_intervals(&self) -> StoreResult<Vec<Interval>> {
        let mut out = custody_interval::Entity::find()
            .all(self.db())
            .await?
            .into_iter()
            .map(to_interval)
            .collect::<StoreResult<Vec<_>>>()?;
        out.sort();
        Ok(out)
    }

    /// The open service-partner interval every device should have: (device,
    /// organisation) by the device rows.
    pub async fn service_partners(&self) -> StoreResult<Vec<(i64, i64)>> {
        let rows: Vec<(i64, Option<i64>)> = device::Entity::find()
            .select_only()
            .column(device::Column::Id)
            .column(device::Column::ServicePartnerId)
            .filter(device::Column::ServicePartnerId.is_not_null())
            .order_by_asc(device::Column::Id)
            .into_tuple()
            .all(self.db())
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(d, o)| o.map(|o| (d, o)))
            .collect())
    }

    /// Every stored event, in capture order, as [`crate::domain::custody::replay`]
    /// needs it.
    pub async fn replay_events(&self) -> StoreResult<Vec<ReplayEvent>> {
        replay_events(self.db()).await
    }

    /// Runs the custody data step if it has not run: in one transaction,
    /// replaces the intervals by those replayed from the events (and an
    /// open service-partner interval, from the log's size now, for each
    /// assigned partner, and the warranty-provider intervals the
    /// assignments imply) and records the step. Idempotent.
    pub async fn run_custody_step(
        &self,
        replayed: impl FnOnce(Vec<ReplayEvent>) -> Vec<Interval>,
    ) -> StoreResult<bool> {
        let tx = self.begin_capture().await?;
        if data_step::Entity::find_by_id(CUSTODY_STEP.to_owned())
            .one(&tx.tx)
            .await?
            .is_some()
        {
            return Ok(false);
        }
        let (size, _) = tx.lock_log_head().await?;
        let pos = u64::try_from(size).map_err(|_| StoreError::Corrupt("negative size".into()))?;
        let mut intervals = replayed(replay_events(&tx.tx).await?);
        let partners: Vec<(i64, Option<i64>)> = device::Entity::find()
            .select_only()
            .column(device::Column::Id)
            .column(device::Column::ServicePartnerId)
            .filter(device::Column::ServicePartnerId.is_not_null())
            .into_tuple()
            .all(&tx.tx)
            .await?;
        intervals.extend(partners.into_iter().filter_map(|(d, o)| {
            o.map(|o| Interval {
                device: d,
                kind: Kind::ServicePartner,
                party: o,
                from: pos,
                to: None,
            })
        }));
        let coverage = super::warranty::coverage(&tx.tx, super::warranty::Load::All).await?;
        if !coverage.is_empty() {
            let products = super::warranty::device_products(&tx.tx).await?;
            let warranty = coverage.intervals(&intervals, &products);
            intervals.extend(warranty);
        }
        custody_interval::Entity::delete_many().exec(&tx.tx).await?;
        rows_of(&intervals)?.insert(&tx.tx, "").await?;
        // Every interval was rewritten: no cached view may outlive it.
        super::epochs::bump_all(&tx.tx).await?;
        data_step::Entity::insert(data_step::ActiveModel {
            name: sea_orm::Set(CUSTODY_STEP.to_owned()),
            applied_at: sea_orm::Set(Utc::now()),
        })
        .exec(&tx.tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }
}

/// (row id, organisation, type, action, bizStep) of an event.
type EventHead = (i64, i64, String, Option<String>, Option<String>);

async fn replay_events<C: ConnectionTrait>(db: &C) -> StoreResult<Vec<ReplayEvent>> {
    let events: Vec<EventHead> = event::Entity::find()
        .select_only()
        .column(event::Column::Id)
        .column(event::Column::OrganisationId)
        .column(event::Column::EventType)
        .column(event::Column::Action)
        .column(event::Column::BizStep)
        .order_by_asc(event::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    let positions: Vec<(i64, Option<i64>)> = leaf::Entity::find()
        .select_only()
        .column(leaf::Column::EventId)
        .column_as(leaf::Column::LeafIndex.min(), "pos")
        .group_by(leaf::Column::EventId)
        .into_tuple()
        .all(db)
        .await?;
    let positions: HashMap<i64, i64> = positions
        .into_iter()
        .filter_map(|(e, p)| p.map(|p| (e, p)))
        .collect();
    let mut devices: HashMap<i64, Vec<(i64, String)>> = HashMap::new();
    let rows: Vec<(i64, i64, String)> = event_device::Entity::find()
        .select_only()
        .column(event_device::Column::EventId)
        .column(event_device::Column::DeviceId)
        .column(event_device::Column::Role)
        .into_tuple()
        .all(db)
        .await?;
    for (e, d, role) in rows {
        devices.entry(e).or_default().push((d, role));
    }
    let slugs: HashMap<String, i64> = entities::organisation::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|o| (o.slug, o.id))
        .collect();
    let destinations: Vec<(i64, String)> = event_field::Entity::find()
        .select_only()
        .column(event_field::Column::EventId)
        .column(event_field::Column::Value)
        .filter(event_field::Column::Name.eq("destinationList"))
        .into_tuple()
        .all(db)
        .await?;
    let destination: HashMap<i64, i64> = destinations
        .into_iter()
        .filter_map(|(e, v)| {
            let list: serde_json::Value = serde_json::from_str(&v).ok()?;
            // Capture takes the first entry as the receiver.
            let found = list
                .as_array()?
                .first()?
                .get("destination")
                .and_then(|d| d.as_str())
                .and_then(|s| slugs.get(s).copied())?;
            Some((e, found))
        })
        .collect();
    let mut out = Vec::with_capacity(events.len());
    for (id, organisation, event_type, action, biz_step) in events {
        let Some(pos) = positions.get(&id) else {
            return Err(StoreError::Corrupt(format!("event row {id} has no leaf")));
        };
        let mut e = ReplayEvent {
            pos: u64::try_from(*pos).map_err(|_| StoreError::Corrupt("negative leaf".into()))?,
            organisation,
            event_type,
            action,
            biz_step,
            epcs: Vec::new(),
            parent: None,
            children: Vec::new(),
            destination: destination.get(&id).copied(),
        };
        let mut touched = devices.remove(&id).unwrap_or_default();
        touched.sort();
        for (d, role) in touched {
            match role.as_str() {
                "parent" => e.parent = Some(d),
                "child" => e.children.push(d),
                _ => e.epcs.push(d),
            }
        }
        out.push(e);
    }
    Ok(out)
}
