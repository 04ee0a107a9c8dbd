use sea_orm::entity::prelude::*;

/// A commitment whose value and salt an erasure deleted: the leaf keeps the
/// commitment, this row says why its opening is gone.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "erased_commitment")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub erasure_id: i64,
    pub leaf_index: i64,
    /// The event row
    pub event_id: i64,
    /// The member's name in the leaf's `fields`
    pub name: String,
    /// Its class when it was captured
    pub class: String,
    /// base64 of the commitment, as in the leaf
    pub commitment: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
