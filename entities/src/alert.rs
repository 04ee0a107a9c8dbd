use sea_orm::entity::prelude::*;

/// Something for staff to look at: its kind (`copy_suspected`,
/// `reported_stolen`, `reported_found`), the unit, the evidence (JSON),
/// and its state (`open`, then `confirmed` or `dismissed` by a person).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "alert")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub kind: String,
    /// What of the unit it is about, beyond its kind: `label-{generation}`
    /// for `copy_suspected` (a reprint's new code starts afresh), `code` or
    /// `no-code` for a report (made with the label's code or without).
    pub scope: String,
    pub device_id: Option<i64>,
    pub evidence: String,
    pub state: String,
    pub created_at: DateTimeUtc,
    pub acknowledged_by: Option<String>,
    pub acknowledged_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
