use sea_orm::entity::prelude::*;

/// A country of a region, with the one time zone the region uses there; a
/// country is in at most one region.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "region_country")]
pub struct Model {
    /// ISO 3166-1 alpha-2
    #[sea_orm(primary_key, auto_increment = false)]
    pub country: String,
    pub region_id: i64,
    /// an IANA time zone name
    pub time_zone: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
