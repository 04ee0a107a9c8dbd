use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "organisation")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub slug: String,
    pub name: String,
    /// manufacturer, supplier, distributor, service_partner, warranty_provider, regulator
    pub kind: String,
    /// ISO 3166-1 alpha-2
    pub country: Option<String>,
    pub created_at: DateTimeUtc,
    /// moves whenever a cached view of it may have changed without a new
    /// leaf (server/src/services/devices/cache.rs)
    pub epoch: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
