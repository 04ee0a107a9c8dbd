//! The public log: leaves (one per event and device, with the salts of their
//! commitments), Merkle tiles, the log head and signed checkpoints.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Leaf::Table)
                    .col(big_integer(Leaf::LeafIndex).primary_key())
                    .col(big_integer(Leaf::EventId))
                    .col(big_integer(Leaf::DeviceId))
                    .col(big_integer(Leaf::Seq))
                    .col(binary(Leaf::Data))
                    .col(binary(Leaf::Hash))
                    .col(text(Leaf::Salts))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Leaf::Table, Leaf::EventId)
                            .to(Event::Table, Event::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Leaf::Table, Leaf::DeviceId)
                            .to(Device::Table, Device::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_leaf_device_seq")
                    .table(Leaf::Table)
                    .col(Leaf::DeviceId)
                    .col(Leaf::Seq)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_leaf_event")
                    .table(Leaf::Table)
                    .col(Leaf::EventId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Tile::Table)
                    .col(small_integer(Tile::Level))
                    .col(big_integer(Tile::Idx))
                    .col(binary(Tile::Data))
                    .primary_key(Index::create().col(Tile::Level).col(Tile::Idx))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(LogHead::Table)
                    .col(integer(LogHead::Id).primary_key())
                    .col(big_integer(LogHead::Size))
                    .col(binary(LogHead::Root))
                    .to_owned(),
            )
            .await?;
        // RFC 9162: the root of the empty tree is SHA-256 of nothing.
        let empty_root: Vec<u8> = vec![
            0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f,
            0xb9, 0x24, 0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b,
            0x78, 0x52, 0xb8, 0x55,
        ];
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(LogHead::Table)
                    .columns([LogHead::Id, LogHead::Size, LogHead::Root])
                    .values_panic([1.into(), 0i64.into(), empty_root.into()])
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Checkpoint::Table)
                    .col(big_pk_auto(Checkpoint::Id))
                    .col(big_integer(Checkpoint::Size))
                    .col(binary(Checkpoint::Root))
                    .col(text(Checkpoint::Note))
                    .col(timestamp_with_time_zone(Checkpoint::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_checkpoint_size")
                    .table(Checkpoint::Table)
                    .col(Checkpoint::Size)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Checkpoint::Table.into_iden(),
            LogHead::Table.into_iden(),
            Tile::Table.into_iden(),
            Leaf::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
#[expect(clippy::enum_variant_names, reason = "the column is leaf_index")]
enum Leaf {
    Table,
    LeafIndex,
    EventId,
    DeviceId,
    Seq,
    Data,
    Hash,
    Salts,
}

#[derive(DeriveIden)]
enum Tile {
    Table,
    Level,
    Idx,
    Data,
}

#[derive(DeriveIden)]
enum LogHead {
    Table,
    Id,
    Size,
    Root,
}

#[derive(DeriveIden)]
enum Checkpoint {
    Table,
    Id,
    Size,
    Root,
    Note,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Event {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Device {
    Table,
    Id,
}
