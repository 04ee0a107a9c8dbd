use sea_orm::entity::prelude::*;

/// One period during which `child` was installed in `parent`. A removal
/// closes the row (`removed_by`, `removed_at`); it is never overwritten.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "component_link")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub parent_id: i64,
    pub child_id: i64,
    pub installed_by: i64,
    pub removed_by: Option<i64>,
    pub installed_at: DateTimeUtc,
    pub removed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
