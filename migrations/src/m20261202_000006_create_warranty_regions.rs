//! Regions (a list of countries, each with one time zone) and the warranty
//! providers assigned per product and region, as intervals of log positions
//! (docs/device-lifecycle.md, "Warranty providers"). A country belongs to
//! at most one region: the primary key of `region_country` says so.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Region::Table)
                    .col(big_pk_auto(Region::Id))
                    .col(string_len(Region::Name, 64).unique_key())
                    .col(timestamp_with_time_zone(Region::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RegionCountry::Table)
                    .col(string_len(RegionCountry::Country, 2).primary_key())
                    .col(big_integer(RegionCountry::RegionId))
                    .col(string_len(RegionCountry::TimeZone, 64))
                    .foreign_key(
                        ForeignKey::create()
                            .from(RegionCountry::Table, RegionCountry::RegionId)
                            .to(Region::Table, Region::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WarrantyAssignment::Table)
                    .col(big_pk_auto(WarrantyAssignment::Id))
                    .col(big_integer(WarrantyAssignment::ProductId))
                    .col(big_integer(WarrantyAssignment::RegionId))
                    .col(big_integer(WarrantyAssignment::OrganisationId))
                    .col(big_integer(WarrantyAssignment::FromPos))
                    .col(big_integer_null(WarrantyAssignment::ToPos))
                    .foreign_key(
                        ForeignKey::create()
                            .from(WarrantyAssignment::Table, WarrantyAssignment::RegionId)
                            .to(Region::Table, Region::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_warranty_assignment_product")
                    .table(WarrantyAssignment::Table)
                    .col(WarrantyAssignment::ProductId)
                    .col(WarrantyAssignment::RegionId)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            WarrantyAssignment::Table.into_iden(),
            RegionCountry::Table.into_iden(),
            Region::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Region {
    Table,
    Id,
    Name,
    CreatedAt,
}

#[derive(DeriveIden)]
enum RegionCountry {
    Table,
    Country,
    RegionId,
    TimeZone,
}

#[derive(DeriveIden)]
enum WarrantyAssignment {
    Table,
    Id,
    ProductId,
    RegionId,
    OrganisationId,
    FromPos,
    ToPos,
}
