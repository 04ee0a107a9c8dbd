//! What `serve --demo` asks before seeding devices.

use entities::{device, product};
use sea_orm::{EntityTrait, PaginatorTrait};

use super::{Store, StoreResult};

impl Store {
    /// How many products and devices exist: demo devices are seeded only
    /// into a database that has neither.
    pub async fn product_and_device_counts(&self) -> StoreResult<(u64, u64)> {
        let products = product::Entity::find().count(self.db()).await?;
        let devices = device::Entity::find().count(self.db()).await?;
        Ok((products, devices))
    }
}
