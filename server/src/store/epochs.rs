//! View epochs (migration m20261203_000008): counters on devices and
//! organisations that move, in the transaction of the change, whenever a
//! cached view may have changed without the device's leaf count moving.
//! What moves them is listed in server/src/services/devices/cache.rs.

use entities::{
    change_stamp, component_link, custody_interval, device, event_device, leaf, organisation,
};

use crate::domain::custody::Kind;
use sea_orm::sea_query::{Expr, ExprTrait, Func, Query, SubQueryStatement};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

use super::{Store, StoreResult};

/// Moves the change stamp (`change_stamp`, polled by the page caches:
/// `services::pages`) by one, in the transaction of the change.
pub(super) async fn bump_change_stamp<C: ConnectionTrait>(conn: &C) -> StoreResult<()> {
    change_stamp::Entity::update_many()
        .col_expr(
            change_stamp::Column::Value,
            Expr::col(change_stamp::Column::Value).add(1),
        )
        .exec(conn)
        .await?;
    Ok(())
}

/// Moves the epochs of these devices and organisations by one.
pub(super) async fn bump<C: ConnectionTrait>(
    conn: &C,
    chunk: usize,
    devices: &[i64],
    organisations: &[i64],
) -> StoreResult<()> {
    bump_change_stamp(conn).await?;
    let mut devices = devices.to_vec();
    devices.sort_unstable();
    devices.dedup();
    for part in devices.chunks(chunk.max(1)) {
        device::Entity::update_many()
            .col_expr(
                device::Column::Epoch,
                Expr::col(device::Column::Epoch).add(1),
            )
            .filter(device::Column::Id.is_in(part.iter().copied()))
            .exec(conn)
            .await?;
    }
    let mut organisations = organisations.to_vec();
    organisations.sort_unstable();
    organisations.dedup();
    for part in organisations.chunks(chunk.max(1)) {
        organisation::Entity::update_many()
            .col_expr(
                organisation::Column::Epoch,
                Expr::col(organisation::Column::Epoch).add(1),
            )
            .filter(organisation::Column::Id.is_in(part.iter().copied()))
            .exec(conn)
            .await?;
    }
    Ok(())
}

/// The devices installed now in any of `parents`, at any depth (within
/// `conn`'s view, so a transaction sees its own links).
pub(super) async fn installed_below<C: ConnectionTrait>(
    conn: &C,
    chunk: usize,
    parents: &[i64],
) -> StoreResult<Vec<i64>> {
    let mut seen: std::collections::HashSet<i64> = std::collections::HashSet::new();
    let mut frontier: Vec<i64> = parents.to_vec();
    for _ in 0..crate::domain::custody::MAX_ASSEMBLY_DEPTH {
        let mut next = Vec::new();
        for part in frontier.chunks(chunk.max(1)) {
            let children: Vec<i64> = component_link::Entity::find()
                .select_only()
                .column(component_link::Column::ChildId)
                .filter(component_link::Column::ParentId.is_in(part.iter().copied()))
                .filter(component_link::Column::RemovedAt.is_null())
                .into_tuple()
                .all(conn)
                .await?;
            next.extend(children.into_iter().filter(|c| seen.insert(*c)));
        }
        if next.is_empty() {
            break;
        }
        frontier = next;
    }
    Ok(seen.into_iter().collect())
}

/// The organisations with an open relationship (holder, shipped to,
/// service partner, warranty provider) to any of `devices` or to a device
/// one of them is installed in now: those for whom a part of theirs
/// exists.
pub(super) async fn organisations_around<C: ConnectionTrait>(
    conn: &C,
    chunk: usize,
    devices: &[i64],
) -> StoreResult<Vec<i64>> {
    let mut chain: std::collections::HashSet<i64> = devices.iter().copied().collect();
    let mut frontier: Vec<i64> = devices.to_vec();
    for _ in 0..crate::domain::custody::MAX_ASSEMBLY_DEPTH {
        let mut next = Vec::new();
        for part in frontier.chunks(chunk.max(1)) {
            let parents: Vec<i64> = component_link::Entity::find()
                .select_only()
                .column(component_link::Column::ParentId)
                .filter(component_link::Column::ChildId.is_in(part.iter().copied()))
                .filter(component_link::Column::RemovedAt.is_null())
                .into_tuple()
                .all(conn)
                .await?;
            next.extend(parents.into_iter().filter(|p| chain.insert(*p)));
        }
        if next.is_empty() {
            break;
        }
        frontier = next;
    }
    let chain: Vec<i64> = chain.into_iter().collect();
    let mut out = Vec::new();
    for part in chain.chunks(chunk.max(1)) {
        let parties: Vec<i64> = custody_interval::Entity::find()
            .select_only()
            .column(custody_interval::Column::PartyId)
            .filter(custody_interval::Column::DeviceId.is_in(part.iter().copied()))
            .filter(custody_interval::Column::ToPos.is_null())
            .filter(custody_interval::Column::Kind.ne(Kind::InstalledIn.as_str()))
            .into_tuple()
            .all(conn)
            .await?;
        out.extend(parties);
    }
    Ok(out)
}

/// Moves every epoch (after a data step rewrote what views are made of).
pub(super) async fn bump_all<C: ConnectionTrait>(conn: &C) -> StoreResult<()> {
    bump_change_stamp(conn).await?;
    device::Entity::update_many()
        .col_expr(
            device::Column::Epoch,
            Expr::col(device::Column::Epoch).add(1),
        )
        .exec(conn)
        .await?;
    organisation::Entity::update_many()
        .col_expr(
            organisation::Column::Epoch,
            Expr::col(organisation::Column::Epoch).add(1),
        )
        .exec(conn)
        .await?;
    Ok(())
}

/// Moves the epochs of every device of these events by one (an erasure
/// changes what all of them show).
pub(super) async fn bump_devices_of_events<C: ConnectionTrait>(
    conn: &C,
    chunk: usize,
    events: &[i64],
) -> StoreResult<()> {
    bump_change_stamp(conn).await?;
    for part in events.chunks(chunk.max(1)) {
        let devices = Query::select()
            .column(event_device::Column::DeviceId)
            .from(event_device::Entity)
            .and_where(event_device::Column::EventId.is_in(part.iter().copied()))
            .to_owned();
        device::Entity::update_many()
            .col_expr(
                device::Column::Epoch,
                Expr::col(device::Column::Epoch).add(1),
            )
            .filter(device::Column::Id.in_subquery(devices))
            .exec(conn)
            .await?;
    }
    Ok(())
}

/// What a cached view of a device for an organisation is keyed by, read
/// now: the device's own leaf count and epoch, and the organisation's
/// epoch (0 without one).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ViewEpochs {
    pub leaves: u64,
    pub device: i64,
    pub organisation: i64,
}

impl Store {
    /// The counters of a device's views for an organisation, read now.
    pub async fn view_epochs(
        &self,
        device_id: i64,
        organisation: Option<&str>,
    ) -> StoreResult<ViewEpochs> {
        let epoch: Option<i64> = device::Entity::find_by_id(device_id)
            .select_only()
            .column(device::Column::Epoch)
            .into_tuple()
            .one(self.db())
            .await?;
        let (leaves, organisation) = self.leaves_and_org_epoch(device_id, organisation).await?;
        Ok(ViewEpochs {
            leaves,
            device: epoch.unwrap_or(-1),
            organisation,
        })
    }

    /// The counters of the views of a device row just read (its epoch is
    /// the row's): one query for the leaf count and the organisation's.
    pub async fn view_epochs_of(
        &self,
        row: &super::capture::DeviceRow,
        organisation: Option<&str>,
    ) -> StoreResult<ViewEpochs> {
        let (leaves, organisation) = self.leaves_and_org_epoch(row.id, organisation).await?;
        Ok(ViewEpochs {
            leaves,
            device: row.epoch,
            organisation,
        })
    }

    async fn leaves_and_org_epoch(
        &self,
        device_id: i64,
        organisation: Option<&str>,
    ) -> StoreResult<(u64, i64)> {
        let leaves = Query::select()
            .expr(Expr::col(leaf::Column::LeafIndex).count())
            .from(leaf::Entity)
            .and_where(leaf::Column::DeviceId.eq(device_id))
            .to_owned();
        let org = Query::select()
            .column(organisation::Column::Epoch)
            .from(organisation::Entity)
            .and_where(organisation::Column::Slug.eq(organisation.unwrap_or("")))
            .to_owned();
        let both = Query::select()
            .expr_as(SubQueryStatement::SelectStatement(leaves), "leaves")
            .expr_as(
                Func::coalesce([
                    Expr::SubQuery(None, Box::new(SubQueryStatement::SelectStatement(org))),
                    Expr::val(0i64),
                ]),
                "org",
            )
            .to_owned();
        let backend = self.db().get_database_backend();
        let row = self
            .db()
            .query_one_raw(backend.build(&both))
            .await?
            .ok_or_else(|| super::StoreError::Corrupt("no counters".into()))?;
        let leaves: i64 = row.try_get("", "leaves")?;
        let org: i64 = row.try_get("", "org")?;
        Ok((
            u64::try_from(leaves).map_err(|_| super::StoreError::Corrupt("leaf count".into()))?,
            org,
        ))
    }
}
