use sea_orm::entity::prelude::*;

/// A warranty provider assigned to a product in a region, from the tree size
/// at the assignment up to (excluding) the tree size at the next one.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "warranty_assignment")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub product_id: i64,
    pub region_id: i64,
    pub organisation_id: i64,
    pub from_pos: i64,
    pub to_pos: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
