//! View epochs (migration m20261203_000008): counters on devices and
//! organisations that move, in the transaction of the change, whenever a
//! cached view may have changed without the device's leaf count moving.
//! What moves them is listed in server/src/services/devices/cache.rs.

use entities::{device, event_device, leaf, organisation};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect,
};

use super::{Store, StoreResult};

/// Moves the epochs of these devices and organisations by one.
pub(super) async fn bump<C: ConnectionTrait>(
    conn: &C,
    chunk: usize,
    devices: &[i64],
    organisations: &[i64],
) -> StoreResult<()> {
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

/// Moves the epochs of every device of these events by one (an erasure
/// changes what all of them show).
pub(super) async fn bump_devices_of_events<C: ConnectionTrait>(
    conn: &C,
    chunk: usize,
    events: &[i64],
) -> StoreResult<()> {
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
    pub async fn view_epochs(
        &self,
        device_id: i64,
        organisation: Option<&str>,
    ) -> StoreResult<ViewEpochs> {
        let leaves = leaf::Entity::find()
            .filter(leaf::Column::DeviceId.eq(device_id))
            .count(self.db())
            .await?;
        let device: Option<i64> = device::Entity::find_by_id(device_id)
            .select_only()
            .column(device::Column::Epoch)
            .into_tuple()
            .one(self.db())
            .await?;
        let organisation: Option<i64> = match organisation {
            Some(slug) => {
                organisation::Entity::find()
                    .select_only()
                    .column(organisation::Column::Epoch)
                    .filter(organisation::Column::Slug.eq(slug))
                    .into_tuple()
                    .one(self.db())
                    .await?
            }
            None => None,
        };
        Ok(ViewEpochs {
            leaves,
            device: device.unwrap_or(-1),
            organisation: organisation.unwrap_or(0),
        })
    }
}
