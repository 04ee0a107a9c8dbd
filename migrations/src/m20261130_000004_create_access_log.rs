//! The access log: every write, and every read that returns non-public
//! fields, as an append-only, hash-chained row.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AccessLog::Table)
                    .col(big_integer(AccessLog::Id).primary_key())
                    .col(timestamp_with_time_zone(AccessLog::At))
                    .col(text(AccessLog::Subject))
                    .col(text(AccessLog::Role))
                    .col(text(AccessLog::Organisation))
                    .col(text(AccessLog::Operation))
                    .col(text(AccessLog::Devices))
                    .col(text(AccessLog::Classes))
                    .col(text(AccessLog::Client))
                    .col(text(AccessLog::Outcome))
                    .col(text_null(AccessLog::Reason))
                    .col(binary(AccessLog::Hash))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_access_log_subject")
                    .table(AccessLog::Table)
                    .col(AccessLog::Subject)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AccessLogHead::Table)
                    .col(integer(AccessLogHead::Id).primary_key())
                    .col(big_integer(AccessLogHead::LastId))
                    .col(binary(AccessLogHead::Hash))
                    .to_owned(),
            )
            .await?;
        // The chain starts from 32 zero bytes.
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(AccessLogHead::Table)
                    .columns([
                        AccessLogHead::Id,
                        AccessLogHead::LastId,
                        AccessLogHead::Hash,
                    ])
                    .values_panic([1.into(), 0i64.into(), vec![0u8; 32].into()])
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            AccessLogHead::Table.into_iden(),
            AccessLog::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum AccessLog {
    Table,
    Id,
    At,
    Subject,
    Role,
    Organisation,
    Operation,
    Devices,
    Classes,
    Client,
    Outcome,
    Reason,
    Hash,
}

#[derive(DeriveIden)]
enum AccessLogHead {
    Table,
    Id,
    LastId,
    Hash,
}
