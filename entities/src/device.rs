use sea_orm::entity::prelude::*;

/// A serialized unit. Components are devices too; their links live in
/// `component_link`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "device")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// GTIN-14; unique together with `serial`
    pub gtin: String,
    pub serial: String,
    pub product_id: i64,
    pub lot: Option<String>,
    pub revision: Option<String>,
    pub status: String,
    pub custodian_id: Option<i64>,
    pub service_partner_id: Option<i64>,
    /// the organisation a shipment in progress is addressed to
    pub shipped_to_id: Option<i64>,
    pub created_at: DateTimeUtc,
    /// moves whenever a cached view of it may have changed without a new
    /// leaf (server/src/services/devices/cache.rs)
    pub epoch: i64,
    /// the label secret its label was printed with; none until printed
    pub label_kid: Option<String>,
    /// its label's generation: a reprint moves it on (docs/labels.md)
    pub label_generation: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
