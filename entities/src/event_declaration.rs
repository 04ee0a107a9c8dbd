use sea_orm::entity::prelude::*;

/// An event declared in error (EPCIS `errorDeclaration`) and the event row
/// that declared it. Both stay in the log.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "event_declaration")]
pub struct Model {
    /// the declared event's row
    #[sea_orm(primary_key, auto_increment = false)]
    pub event_id: i64,
    /// the declaration's own event row
    pub declaration_id: i64,
    pub declared_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
