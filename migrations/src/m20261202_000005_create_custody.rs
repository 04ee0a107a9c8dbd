//! Custody as data: who holds, was shipped, services each unit, and which
//! device a component is installed in, as intervals of log positions
//! (docs/device-lifecycle.md, "Custody intervals"); and the record of the
//! data steps that fill new tables of existing databases; and which events
//! were declared in error, by which declaration.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CustodyInterval::Table)
                    .col(big_pk_auto(CustodyInterval::Id))
                    .col(big_integer(CustodyInterval::DeviceId))
                    .col(string_len(CustodyInterval::Kind, 32))
                    .col(big_integer(CustodyInterval::PartyId))
                    .col(big_integer(CustodyInterval::FromPos))
                    .col(big_integer_null(CustodyInterval::ToPos))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_custody_interval_device")
                    .table(CustodyInterval::Table)
                    .col(CustodyInterval::DeviceId)
                    .col(CustodyInterval::Kind)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_custody_interval_party")
                    .table(CustodyInterval::Table)
                    .col(CustodyInterval::PartyId)
                    .col(CustodyInterval::Kind)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(EventDeclaration::Table)
                    .col(big_integer(EventDeclaration::EventId).primary_key())
                    .col(big_integer(EventDeclaration::DeclarationId))
                    .col(timestamp_with_time_zone(EventDeclaration::DeclaredAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(DataStep::Table)
                    .col(string_len(DataStep::Name, 100).primary_key())
                    .col(timestamp_with_time_zone(DataStep::AppliedAt))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            DataStep::Table.into_iden(),
            EventDeclaration::Table.into_iden(),
            CustodyInterval::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum CustodyInterval {
    Table,
    Id,
    DeviceId,
    Kind,
    PartyId,
    FromPos,
    ToPos,
}

#[derive(DeriveIden)]
enum EventDeclaration {
    Table,
    EventId,
    DeclarationId,
    DeclaredAt,
}

#[derive(DeriveIden)]
enum DataStep {
    Table,
    Name,
    AppliedAt,
}
