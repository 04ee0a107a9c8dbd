use sea_orm::entity::prelude::*;

/// One interval of a relationship to a device, in log positions: from the
/// first leaf index of the event (or the tree size at the assignment) that
/// opened it, up to but excluding the one that closed it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "custody_interval")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub device_id: i64,
    /// `holder`, `shipped_to`, `service_partner`, `warranty_provider`
    /// (party: an organisation)
    /// or `installed_in` (party: the parent device)
    pub kind: String,
    pub party_id: i64,
    pub from_pos: i64,
    pub to_pos: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
