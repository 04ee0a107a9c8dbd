//! Labels (docs/labels.md): which label secret a unit's label was printed
//! with (none until it is first printed) and the label's generation, which
//! a reprint moves on (voiding the earlier code).

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
                    .add_column(text_null(Device::LabelKid))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Device::Table)
                    .add_column(integer(Device::LabelGeneration).default(0))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for col in [Device::LabelKid, Device::LabelGeneration] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Device::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Device {
    Table,
    LabelKid,
    LabelGeneration,
}
