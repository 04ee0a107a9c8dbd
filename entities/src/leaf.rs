use sea_orm::entity::prelude::*;

/// One leaf of the public log: the leaf data of one (event, device), its
/// hash, and the salts of its commitments (a JSON object name → base64).
/// `Debug` leaves the salts out: with the leaf's commitments they disclose
/// the values.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "leaf")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub leaf_index: i64,
    pub event_id: i64,
    pub device_id: i64,
    /// 0-based position in the device's chain
    pub seq: i64,
    pub data: Vec<u8>,
    pub hash: Vec<u8>,
    pub salts: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("leaf_index", &self.leaf_index)
            .field("event_id", &self.event_id)
            .field("device_id", &self.device_id)
            .field("seq", &self.seq)
            .field("data", &self.data)
            .field("hash", &self.hash)
            .field("salts", &"[redacted]")
            .finish()
    }
}
