use sea_orm::entity::prelude::*;

/// One captured EPCIS 2.0 event. Members that are not columns here are rows
/// of `event_field`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "event")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// EPCIS `eventID`, unique
    #[sea_orm(unique)]
    pub event_id: String,
    pub event_type: String,
    pub action: Option<String>,
    pub biz_step: Option<String>,
    pub disposition: Option<String>,
    pub event_time: DateTimeUtc,
    /// EPCIS `eventTimeZoneOffset`, e.g. `+02:00`
    pub event_time_zone_offset: String,
    pub record_time: DateTimeUtc,
    pub read_point: Option<String>,
    pub biz_location: Option<String>,
    /// the acting organisation, from the capturing token
    pub organisation_id: i64,
    /// the operator (token subject)
    pub operator: String,
    /// hex SHA-256 of the RFC 8785 form of the normalised input; makes
    /// capture idempotent by eventID
    pub canonical_hash: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
