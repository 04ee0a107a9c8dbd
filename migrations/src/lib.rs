//! Schema migrations of the Provenance Portal. They run unchanged on SQLite
//! and PostgreSQL, at start-up (`provenance serve`) or on their own
//! (`provenance migrate`). One file per change, named
//! `mYYYYMMDD_HHMMSS_verb_noun.rs`; a migration that has landed is never
//! edited, only followed by another.

pub use sea_orm_migration::prelude::*;

mod m20261130_000001_create_core_tables;
mod m20261130_000002_create_log_tables;
mod m20261130_000003_create_erasure_tables;
mod m20261130_000004_create_access_log;
mod m20261202_000005_create_custody;
mod m20261202_000006_create_warranty_regions;
mod m20261203_000007_access_log_v2;
mod m20261203_000008_view_epochs;
mod m20261203_000009_labels;
mod m20261203_000010_alerts;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261130_000001_create_core_tables::Migration),
            Box::new(m20261130_000002_create_log_tables::Migration),
            Box::new(m20261130_000003_create_erasure_tables::Migration),
            Box::new(m20261130_000004_create_access_log::Migration),
            Box::new(m20261202_000005_create_custody::Migration),
            Box::new(m20261202_000006_create_warranty_regions::Migration),
            Box::new(m20261203_000007_access_log_v2::Migration),
            Box::new(m20261203_000008_view_epochs::Migration),
            Box::new(m20261203_000009_labels::Migration),
            Box::new(m20261203_000010_alerts::Migration),
        ]
    }
}
