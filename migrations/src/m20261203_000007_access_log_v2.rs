//! The access log's second form (docs/access-policy.md, "Access log"): the
//! devices of each row as rows of their own, for exact filtering; the
//! client address beside a salted commitment of it, so that the address can
//! be erased while the chain still verifies; and the public log's anchor
//! leaves, which commit to the access log's head.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AccessLogDevice::Table)
                    .col(big_integer(AccessLogDevice::AccessId))
                    .col(text(AccessLogDevice::Device))
                    .primary_key(
                        Index::create()
                            .col(AccessLogDevice::AccessId)
                            .col(AccessLogDevice::Device),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_access_log_device_device")
                    .table(AccessLogDevice::Table)
                    .col(AccessLogDevice::Device)
                    .col(AccessLogDevice::AccessId)
                    .to_owned(),
            )
            .await?;
        for col in [AccessLog::ClientSalt, AccessLog::ClientCommitment] {
            manager
                .alter_table(
                    Table::alter()
                        .table(AccessLog::Table)
                        .add_column(text_null(col))
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(AnchorLeaf::Table)
                    .col(big_integer(AnchorLeaf::LeafIndex).primary_key())
                    .col(binary(AnchorLeaf::Data))
                    .col(binary(AnchorLeaf::Hash))
                    .col(big_integer(AnchorLeaf::AccessLastId))
                    .col(text(AnchorLeaf::Salt))
                    .col(timestamp_with_time_zone(AnchorLeaf::CreatedAt))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AnchorLeaf::Table).to_owned())
            .await?;
        for col in [AccessLog::ClientSalt, AccessLog::ClientCommitment] {
            manager
                .alter_table(
                    Table::alter()
                        .table(AccessLog::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .drop_table(Table::drop().table(AccessLogDevice::Table).to_owned())
            .await?;
        Ok(())
    }
}

#[derive(DeriveIden)]
enum AccessLogDevice {
    Table,
    AccessId,
    Device,
}

#[derive(DeriveIden)]
enum AccessLog {
    Table,
    ClientSalt,
    ClientCommitment,
}

#[derive(DeriveIden)]
enum AnchorLeaf {
    Table,
    LeafIndex,
    Data,
    Hash,
    AccessLastId,
    Salt,
    CreatedAt,
}
