use sea_orm::entity::prelude::*;

/// One field of one event: its JSON value and its visibility class
/// (`public`, `partner`, `internal`, `personal`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "event_field")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub event_id: i64,
    pub name: String,
    /// the value as JSON text
    pub value: String,
    pub class: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
