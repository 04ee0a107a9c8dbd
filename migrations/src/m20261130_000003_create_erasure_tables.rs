//! Erasure records: who erased which personal values of a device, when and
//! why, and the commitments that stay in the log in their place.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Erasure::Table)
                    .col(big_pk_auto(Erasure::Id))
                    .col(big_integer(Erasure::DeviceId))
                    .col(string_len(Erasure::Class, 32))
                    .col(text(Erasure::Reason))
                    .col(string_len(Erasure::Actor, 200))
                    .col(timestamp_with_time_zone(Erasure::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ErasedCommitment::Table)
                    .col(big_pk_auto(ErasedCommitment::Id))
                    .col(big_integer(ErasedCommitment::ErasureId))
                    .col(big_integer(ErasedCommitment::LeafIndex))
                    .col(big_integer(ErasedCommitment::EventId))
                    .col(string_len(ErasedCommitment::Name, 64))
                    .col(string_len(ErasedCommitment::Class, 32))
                    .col(string_len(ErasedCommitment::Commitment, 64))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ErasedCommitment::Table, ErasedCommitment::ErasureId)
                            .to(Erasure::Table, Erasure::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_erased_commitment_leaf_name")
                    .table(ErasedCommitment::Table)
                    .col(ErasedCommitment::LeafIndex)
                    .col(ErasedCommitment::Name)
                    .unique()
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ErasedCommitment::Table.into_iden(),
            Erasure::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Erasure {
    Table,
    Id,
    DeviceId,
    Class,
    Reason,
    Actor,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ErasedCommitment {
    Table,
    Id,
    ErasureId,
    LeafIndex,
    EventId,
    Name,
    Class,
    Commitment,
}
