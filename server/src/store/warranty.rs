//! Regions and warranty-provider assignments, and the warranty-provider
//! intervals they imply (docs/device-lifecycle.md, "Warranty providers"):
//! written by assignments and, as units change hands, in the capture
//! transaction.

use std::collections::HashMap;

use chrono::Utc;
use entities::{
    custody_interval, device, organisation, region, region_country, warranty_assignment,
};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

use super::access::AccessRow;
use super::capture::CaptureTx;
use super::custody::CustodyWrite;
use super::{Store, StoreError, StoreResult};
use crate::domain::custody::Kind;
use crate::domain::region::{Assignment, Coverage, Region};

fn pos_of(v: i64) -> StoreResult<u64> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt("negative log position".into()))
}

fn to_assignment(m: warranty_assignment::Model) -> StoreResult<Assignment> {
    Ok(Assignment {
        product: m.product_id,
        region: m.region_id,
        organisation: m.organisation_id,
        from: pos_of(m.from_pos)?,
        to: m.to_pos.map(pos_of).transpose()?,
    })
}

/// Why a region could not be defined.
#[derive(Debug, PartialEq, Eq)]
pub enum RegionConflict {
    Name,
    /// The country is in that region already.
    Country(String, String),
}

/// A stored region.
#[derive(Clone, Debug)]
pub struct RegionRow {
    pub id: i64,
    pub region: Region,
}

/// Which assignments [`coverage`] loads.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Load {
    /// Every assignment (the audit, the data step).
    All,
    /// The open ones (an assignment's own rewrite).
    Open,
    /// The open ones, and nothing else when there are none (capture's
    /// shortcut: no open assignment, no warranty provider changes).
    OpenIfAny,
}

/// The coverage as stored.
pub(super) async fn coverage<C: ConnectionTrait>(db: &C, load: Load) -> StoreResult<Coverage> {
    let open_only = load != Load::All;
    let mut q = warranty_assignment::Entity::find();
    if open_only {
        q = q.filter(warranty_assignment::Column::ToPos.is_null());
    }
    let assignments = q
        .all(db)
        .await?
        .into_iter()
        .map(to_assignment)
        .collect::<StoreResult<Vec<_>>>()?;
    if assignments.is_empty() && load == Load::OpenIfAny {
        return Ok(Coverage::default());
    }
    let countries: HashMap<String, i64> = region_country::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|m| (m.country, m.region_id))
        .collect();
    let orgs: Vec<(i64, Option<String>)> = organisation::Entity::find()
        .select_only()
        .column(organisation::Column::Id)
        .column(organisation::Column::Country)
        .into_tuple()
        .all(db)
        .await?;
    let orgs = orgs
        .into_iter()
        .filter_map(|(id, c)| c.map(|c| (id, c)))
        .collect();
    Ok(Coverage::new(countries, orgs, assignments))
}

/// The product row of each device.
async fn products_of<C: ConnectionTrait>(
    db: &C,
    chunk_size: usize,
    devices: &[i64],
) -> StoreResult<HashMap<i64, i64>> {
    let mut out = HashMap::with_capacity(devices.len());
    for chunk in devices.chunks(chunk_size) {
        let rows: Vec<(i64, i64)> = device::Entity::find()
            .select_only()
            .column(device::Column::Id)
            .column(device::Column::ProductId)
            .filter(device::Column::Id.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        out.extend(rows);
    }
    Ok(out)
}

impl CaptureTx {
    /// The warranty-provider changes that a batch's holder changes imply:
    /// each new holder puts the unit in its country's region, whose
    /// assigned provider (if any) it gets; a unit without a holder (one
    /// installed in another) has none of its own. Nothing when no
    /// assignment is open.
    pub async fn warranty_writes(&self, writes: &[CustodyWrite]) -> StoreResult<Vec<CustodyWrite>> {
        let holders: Vec<&CustodyWrite> =
            writes.iter().filter(|w| w.kind == Kind::Holder).collect();
        if holders.is_empty() {
            return Ok(Vec::new());
        }
        let coverage = coverage(&self.tx, Load::OpenIfAny).await?;
        if coverage.is_empty() {
            return Ok(Vec::new());
        }
        let mut devices: Vec<i64> = holders.iter().map(|w| w.device).collect();
        devices.sort_unstable();
        devices.dedup();
        let products = products_of(&self.tx, self.chunk, &devices).await?;
        holders
            .into_iter()
            .map(|w| {
                let product = products
                    .get(&w.device)
                    .ok_or_else(|| StoreError::Corrupt("custody change of no device".into()))?;
                Ok(CustodyWrite {
                    device: w.device,
                    existing: w.existing,
                    kind: Kind::WarrantyProvider,
                    party: coverage.provider_at(*product, w.party, w.pos),
                    pos: w.pos,
                })
            })
            .collect()
    }
}

impl Store {
    /// Defines a region; `audit` is appended in the same transaction.
    pub async fn insert_region(
        &self,
        r: &Region,
        audit: &AccessRow,
    ) -> StoreResult<Result<RegionRow, RegionConflict>> {
        let tx = self.begin_capture().await?;
        // Serialises definitions (and assignments) with capture.
        tx.lock_log_head().await?;
        if region::Entity::find()
            .filter(region::Column::Name.eq(r.name.as_str()))
            .one(&tx.tx)
            .await?
            .is_some()
        {
            return Ok(Err(RegionConflict::Name));
        }
        let codes: Vec<&str> = r.countries.iter().map(|(c, _)| c.as_str()).collect();
        if let Some(taken) = region_country::Entity::find()
            .filter(region_country::Column::Country.is_in(codes))
            .order_by_asc(region_country::Column::Country)
            .one(&tx.tx)
            .await?
        {
            let name = region::Entity::find_by_id(taken.region_id)
                .one(&tx.tx)
                .await?
                .map(|m| m.name)
                .unwrap_or_default();
            return Ok(Err(RegionConflict::Country(taken.country, name)));
        }
        let m = region::ActiveModel {
            name: Set(r.name.clone()),
            created_at: Set(Utc::now()),
            ..Default::default()
        }
        .insert(&tx.tx)
        .await?;
        region_country::Entity::insert_many(r.countries.iter().map(|(c, z)| {
            region_country::ActiveModel {
                country: Set(c.clone()),
                region_id: Set(m.id),
                time_zone: Set(z.clone()),
            }
        }))
        .exec(&tx.tx)
        .await?;
        tx.append_access(std::slice::from_ref(audit)).await?;
        tx.commit().await?;
        Ok(Ok(RegionRow {
            id: m.id,
            region: r.clone(),
        }))
    }

    /// Every region, by name.
    pub async fn regions(&self) -> StoreResult<Vec<RegionRow>> {
        let regions = region::Entity::find()
            .order_by_asc(region::Column::Name)
            .all(self.db())
            .await?;
        let mut countries: HashMap<i64, Vec<(String, String)>> = HashMap::new();
        for c in region_country::Entity::find()
            .order_by_asc(region_country::Column::Country)
            .all(self.db())
            .await?
        {
            countries
                .entry(c.region_id)
                .or_default()
                .push((c.country, c.time_zone));
        }
        Ok(regions
            .into_iter()
            .map(|m| RegionRow {
                id: m.id,
                region: Region {
                    name: m.name,
                    countries: countries.remove(&m.id).unwrap_or_default(),
                },
            })
            .collect())
    }

    /// Assigns (or with None ends) the warranty provider of a product in a
    /// region from the log's size now, and moves the warranty-provider
    /// interval of every unit of the product held in the region to it, in
    /// one transaction with `audit`. False when the provider is already
    /// the assigned one (nothing changes).
    pub async fn assign_warranty_provider(
        &self,
        product_id: i64,
        region_id: i64,
        org_id: Option<i64>,
        audit: &AccessRow,
    ) -> StoreResult<bool> {
        let tx = self.begin_capture().await?;
        let (size, _) = tx.lock_log_head().await?;
        let pos = pos_of(size)?;
        let open = warranty_assignment::Entity::find()
            .filter(warranty_assignment::Column::ProductId.eq(product_id))
            .filter(warranty_assignment::Column::RegionId.eq(region_id))
            .filter(warranty_assignment::Column::ToPos.is_null())
            .one(&tx.tx)
            .await?;
        if open.as_ref().map(|m| m.organisation_id) == org_id {
            return Ok(false);
        }
        if let Some(m) = open {
            // An assignment made at this very size is replaced, not ended:
            // an empty interval says nothing.
            if m.from_pos == size {
                warranty_assignment::Entity::delete_by_id(m.id)
                    .exec(&tx.tx)
                    .await?;
            } else {
                warranty_assignment::Entity::update_many()
                    .col_expr(warranty_assignment::Column::ToPos, Expr::value(size))
                    .filter(warranty_assignment::Column::Id.eq(m.id))
                    .exec(&tx.tx)
                    .await?;
            }
        }
        if let Some(org) = org_id {
            warranty_assignment::ActiveModel {
                product_id: Set(product_id),
                region_id: Set(region_id),
                organisation_id: Set(org),
                from_pos: Set(size),
                to_pos: Set(None),
                ..Default::default()
            }
            .insert(&tx.tx)
            .await?;
        }
        // With the maps loaded even when no assignment is left open, so
        // that ending the last one closes its units' intervals.
        let coverage = coverage(&tx.tx, Load::Open).await?;
        // The units of the product held now, and by whom.
        let held: Vec<(i64, i64)> = custody_interval::Entity::find()
            .select_only()
            .column(custody_interval::Column::DeviceId)
            .column(custody_interval::Column::PartyId)
            .filter(custody_interval::Column::Kind.eq(Kind::Holder.as_str()))
            .filter(custody_interval::Column::ToPos.is_null())
            .filter(
                custody_interval::Column::DeviceId.in_subquery(
                    sea_orm::sea_query::Query::select()
                        .column(device::Column::Id)
                        .from(device::Entity)
                        .and_where(device::Column::ProductId.eq(product_id))
                        .to_owned(),
                ),
            )
            .order_by_asc(custody_interval::Column::DeviceId)
            .into_tuple()
            .all(&tx.tx)
            .await?;
        let writes: Vec<CustodyWrite> = held
            .into_iter()
            .filter(|(_, holder)| coverage.region_of(*holder) == Some(region_id))
            .map(|(device, holder)| CustodyWrite {
                device,
                existing: true,
                kind: Kind::WarrantyProvider,
                party: coverage.provider_at(product_id, Some(holder), pos),
                pos,
            })
            .collect();
        tx.write_custody(&writes).await?;
        tx.append_access(std::slice::from_ref(audit)).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Every assignment and what it needs: what the audit recomputes the
    /// warranty-provider intervals from.
    pub async fn coverage(&self) -> StoreResult<Coverage> {
        coverage(self.db(), Load::All).await
    }

    /// Every assignment, in row order.
    pub async fn assignments(&self) -> StoreResult<Vec<Assignment>> {
        warranty_assignment::Entity::find()
            .order_by_asc(warranty_assignment::Column::Id)
            .all(self.db())
            .await?
            .into_iter()
            .map(to_assignment)
            .collect()
    }

    /// The product row of every device.
    pub async fn device_products(&self) -> StoreResult<HashMap<i64, i64>> {
        device_products(self.db()).await
    }
}

pub(super) async fn device_products<C: ConnectionTrait>(db: &C) -> StoreResult<HashMap<i64, i64>> {
    let rows: Vec<(i64, i64)> = device::Entity::find()
        .select_only()
        .column(device::Column::Id)
        .column(device::Column::ProductId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}
