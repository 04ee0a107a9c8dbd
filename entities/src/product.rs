use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "product")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// GTIN-14
    #[sea_orm(unique)]
    pub gtin: String,
    pub manufacturer_id: i64,
    pub name: String,
    pub model: String,
    pub warranty_months: i32,
    pub warranty_terms: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
