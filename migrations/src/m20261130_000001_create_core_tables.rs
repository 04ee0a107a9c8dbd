//! Organisations, locations, products, devices, component links, events and
//! their per-field values: the reference data and the capture record.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Organisation::Table)
                    .col(big_pk_auto(Organisation::Id))
                    .col(string_len_uniq(Organisation::Slug, 64))
                    .col(string_len(Organisation::Name, 200))
                    .col(string_len(Organisation::Kind, 32))
                    .col(string_len_null(Organisation::Country, 2))
                    .col(timestamp_with_time_zone(Organisation::CreatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Location::Table)
                    .col(big_pk_auto(Location::Id))
                    .col(big_integer(Location::OrganisationId))
                    .col(string_len_null(Location::Gln, 13))
                    .col(string_len_null(Location::LocalId, 64))
                    .col(string_len(Location::Name, 200))
                    .col(string_len_null(Location::Country, 2))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Location::Table, Location::OrganisationId)
                            .to(Organisation::Table, Organisation::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_location_gln")
                    .table(Location::Table)
                    .col(Location::Gln)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_location_org_local_id")
                    .table(Location::Table)
                    .col(Location::OrganisationId)
                    .col(Location::LocalId)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Product::Table)
                    .col(big_pk_auto(Product::Id))
                    .col(string_len_uniq(Product::Gtin, 14))
                    .col(big_integer(Product::ManufacturerId))
                    .col(string_len(Product::Name, 200))
                    .col(string_len(Product::Model, 100))
                    .col(integer(Product::WarrantyMonths))
                    .col(text(Product::WarrantyTerms))
                    .col(timestamp_with_time_zone(Product::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Product::Table, Product::ManufacturerId)
                            .to(Organisation::Table, Organisation::Id),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Device::Table)
                    .col(big_pk_auto(Device::Id))
                    .col(string_len(Device::Gtin, 14))
                    .col(string_len(Device::Serial, 20))
                    .col(big_integer(Device::ProductId))
                    .col(string_len_null(Device::Lot, 20))
                    .col(string_len_null(Device::Revision, 32))
                    .col(string_len(Device::Status, 32))
                    .col(big_integer_null(Device::CustodianId))
                    .col(big_integer_null(Device::ServicePartnerId))
                    .col(big_integer_null(Device::ShippedToId))
                    .col(timestamp_with_time_zone(Device::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Device::Table, Device::ProductId)
                            .to(Product::Table, Product::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Device::Table, Device::CustodianId)
                            .to(Organisation::Table, Organisation::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Device::Table, Device::ServicePartnerId)
                            .to(Organisation::Table, Organisation::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Device::Table, Device::ShippedToId)
                            .to(Organisation::Table, Organisation::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_device_gtin_serial")
                    .table(Device::Table)
                    .col(Device::Gtin)
                    .col(Device::Serial)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_device_lot")
                    .table(Device::Table)
                    .col(Device::Gtin)
                    .col(Device::Lot)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Event::Table)
                    .col(big_pk_auto(Event::Id))
                    .col(string_len_uniq(Event::EventId, 512))
                    .col(string_len(Event::EventType, 32))
                    .col(string_len_null(Event::Action, 8))
                    .col(string_len_null(Event::BizStep, 512))
                    .col(string_len_null(Event::Disposition, 512))
                    .col(timestamp_with_time_zone(Event::EventTime))
                    .col(string_len(Event::EventTimeZoneOffset, 6))
                    .col(timestamp_with_time_zone(Event::RecordTime))
                    .col(string_len_null(Event::ReadPoint, 512))
                    .col(string_len_null(Event::BizLocation, 512))
                    .col(big_integer(Event::OrganisationId))
                    .col(string_len(Event::Operator, 200))
                    .col(string_len(Event::CanonicalHash, 64))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Event::Table, Event::OrganisationId)
                            .to(Organisation::Table, Organisation::Id),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(EventField::Table)
                    .col(big_pk_auto(EventField::Id))
                    .col(big_integer(EventField::EventId))
                    .col(string_len(EventField::Name, 64))
                    .col(text(EventField::Value))
                    .col(string_len(EventField::Class, 16))
                    .foreign_key(
                        ForeignKey::create()
                            .from(EventField::Table, EventField::EventId)
                            .to(Event::Table, Event::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_event_field_event_name")
                    .table(EventField::Table)
                    .col(EventField::EventId)
                    .col(EventField::Name)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(EventDevice::Table)
                    .col(big_pk_auto(EventDevice::Id))
                    .col(big_integer(EventDevice::EventId))
                    .col(big_integer(EventDevice::DeviceId))
                    .col(string_len(EventDevice::Role, 16))
                    .foreign_key(
                        ForeignKey::create()
                            .from(EventDevice::Table, EventDevice::EventId)
                            .to(Event::Table, Event::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(EventDevice::Table, EventDevice::DeviceId)
                            .to(Device::Table, Device::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_event_device")
                    .table(EventDevice::Table)
                    .col(EventDevice::DeviceId)
                    .col(EventDevice::EventId)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ComponentLink::Table)
                    .col(big_pk_auto(ComponentLink::Id))
                    .col(big_integer(ComponentLink::ParentId))
                    .col(big_integer(ComponentLink::ChildId))
                    .col(big_integer(ComponentLink::InstalledBy))
                    .col(big_integer_null(ComponentLink::RemovedBy))
                    .col(timestamp_with_time_zone(ComponentLink::InstalledAt))
                    .col(timestamp_with_time_zone_null(ComponentLink::RemovedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ComponentLink::Table, ComponentLink::ParentId)
                            .to(Device::Table, Device::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ComponentLink::Table, ComponentLink::ChildId)
                            .to(Device::Table, Device::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ComponentLink::Table, ComponentLink::InstalledBy)
                            .to(Event::Table, Event::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ComponentLink::Table, ComponentLink::RemovedBy)
                            .to(Event::Table, Event::Id),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, col) in [
            ("ix_component_link_parent", ComponentLink::ParentId),
            ("ix_component_link_child", ComponentLink::ChildId),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(ComponentLink::Table)
                        .col(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ComponentLink::Table.into_iden(),
            EventDevice::Table.into_iden(),
            EventField::Table.into_iden(),
            Event::Table.into_iden(),
            Device::Table.into_iden(),
            Product::Table.into_iden(),
            Location::Table.into_iden(),
            Organisation::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Organisation {
    Table,
    Id,
    Slug,
    Name,
    Kind,
    Country,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Location {
    Table,
    Id,
    OrganisationId,
    Gln,
    LocalId,
    Name,
    Country,
}

#[derive(DeriveIden)]
enum Product {
    Table,
    Id,
    Gtin,
    ManufacturerId,
    Name,
    Model,
    WarrantyMonths,
    WarrantyTerms,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Device {
    Table,
    Id,
    Gtin,
    Serial,
    ProductId,
    Lot,
    Revision,
    Status,
    CustodianId,
    ServicePartnerId,
    ShippedToId,
    CreatedAt,
}

#[derive(DeriveIden)]
#[expect(
    clippy::enum_variant_names,
    reason = "the column names are EPCIS member names"
)]
enum Event {
    Table,
    Id,
    EventId,
    EventType,
    Action,
    BizStep,
    Disposition,
    EventTime,
    EventTimeZoneOffset,
    RecordTime,
    ReadPoint,
    BizLocation,
    OrganisationId,
    Operator,
    CanonicalHash,
}

#[derive(DeriveIden)]
enum EventField {
    Table,
    Id,
    EventId,
    Name,
    Value,
    Class,
}

#[derive(DeriveIden)]
enum EventDevice {
    Table,
    Id,
    EventId,
    DeviceId,
    Role,
}

#[derive(DeriveIden)]
enum ComponentLink {
    Table,
    Id,
    ParentId,
    ChildId,
    InstalledBy,
    RemovedBy,
    InstalledAt,
    RemovedAt,
}
