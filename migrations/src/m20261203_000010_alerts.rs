//! Alerts for staff (docs/pages.md, "Alerts"): a unit whose code is
//! scanned from too many networks, a customer's report that a unit was
//! stolen or found. Later issues add kinds. And the scan counts behind the
//! clone check: per unit, day and keyed network prefix (never an address).
//! And one counter that every change of what a page shows moves, besides
//! the log's size (`change_stamp`, one row): page caches poll the two.

use sea_orm_migration::sea_orm::ConnectionTrait;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Alert::Table)
                    .col(big_pk_auto(Alert::Id))
                    .col(string_len(Alert::Kind, 32))
                    .col(big_integer_null(Alert::DeviceId))
                    .col(string_len(Alert::Scope, 32))
                    .col(text(Alert::Evidence))
                    .col(string_len(Alert::State, 16))
                    .col(timestamp_with_time_zone(Alert::CreatedAt))
                    .col(text_null(Alert::AcknowledgedBy))
                    .col(timestamp_with_time_zone_null(Alert::AcknowledgedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Alert::Table, Alert::DeviceId)
                            .to(Device::Table, Device::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_alert_device")
                    .table(Alert::Table)
                    .col(Alert::DeviceId)
                    .col(Alert::Kind)
                    .col(Alert::Scope)
                    .to_owned(),
            )
            .await?;
        // At most one live (open or confirmed) alert per unit, kind and
        // scope, also when two processes file at once. A partial index:
        // the same SQL on SQLite and PostgreSQL.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX ux_alert_live ON alert (device_id, kind, scope) \
                 WHERE state IN ('open', 'confirmed')",
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ScanCount::Table)
                    .col(big_integer(ScanCount::DeviceId))
                    .col(string_len(ScanCount::Day, 10))
                    .col(string_len(ScanCount::Network, 32))
                    .col(string_len_null(ScanCount::Country, 2))
                    .col(big_integer(ScanCount::Scans))
                    .primary_key(
                        Index::create()
                            .col(ScanCount::DeviceId)
                            .col(ScanCount::Day)
                            .col(ScanCount::Network),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ScanCount::Table, ScanCount::DeviceId)
                            .to(Device::Table, Device::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ChangeStamp::Table)
                    .col(integer(ChangeStamp::Id).primary_key())
                    .col(big_integer(ChangeStamp::Value))
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(ChangeStamp::Table)
                    .columns([ChangeStamp::Id, ChangeStamp::Value])
                    .values_panic([1.into(), 0i64.into()])
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ChangeStamp::Table.into_iden(),
            ScanCount::Table.into_iden(),
            Alert::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Alert {
    Table,
    Id,
    Kind,
    Scope,
    DeviceId,
    Evidence,
    State,
    CreatedAt,
    AcknowledgedBy,
    AcknowledgedAt,
}

#[derive(DeriveIden)]
enum ScanCount {
    Table,
    DeviceId,
    Day,
    Network,
    Country,
    Scans,
}

#[derive(DeriveIden)]
enum Device {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum ChangeStamp {
    Table,
    Id,
    Value,
}
