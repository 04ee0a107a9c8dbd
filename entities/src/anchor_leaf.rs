use sea_orm::entity::prelude::*;

/// A leaf of the public log that is not a device's: it commits to the
/// access log's head (docs/ledger-format.md §3a). `Debug` leaves the salt
/// out.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "anchor_leaf")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub leaf_index: i64,
    pub data: Vec<u8>,
    pub hash: Vec<u8>,
    /// The id of the last access-log row the anchor commits to
    pub access_last_id: i64,
    /// base64 salt of the commitment
    pub salt: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("leaf_index", &self.leaf_index)
            .field("data", &self.data)
            .field("hash", &self.hash)
            .field("access_last_id", &self.access_last_id)
            .field("salt", &"[redacted]")
            .field("created_at", &self.created_at)
            .finish()
    }
}
