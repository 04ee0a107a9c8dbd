//! View epochs: a counter on each device and each organisation that moves
//! whenever what a cached view of the device, or of any device for the
//! organisation, would show may have changed without the device's leaf
//! count moving (server/src/services/devices/cache.rs): a custody interval
//! opened or closed, an assignment, an erasure. Existing rows start at 0.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Device::Table)
                    .add_column(big_integer(Device::Epoch).default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Organisation::Table)
                    .add_column(big_integer(Organisation::Epoch).default(0))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Device::Table)
                    .drop_column(Device::Epoch)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Organisation::Table)
                    .drop_column(Organisation::Epoch)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Device {
    Table,
    Epoch,
}

#[derive(DeriveIden)]
enum Organisation {
    Table,
    Epoch,
}
