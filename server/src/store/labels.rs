//! Labels (docs/labels.md): which secret and generation each unit's label
//! was printed with.

use entities::device;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait};

use super::access::AccessRow;
use super::{Store, StoreError, StoreResult};

/// A unit's label state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelRow {
    pub device_id: i64,
    pub gtin: String,
    pub serial: String,
    pub lot: Option<String>,
    pub product_id: i64,
    /// None until its label is first printed.
    pub kid: Option<String>,
    pub generation: u32,
}

fn row(m: device::Model) -> StoreResult<LabelRow> {
    Ok(LabelRow {
        device_id: m.id,
        gtin: m.gtin,
        serial: m.serial,
        lot: m.lot,
        product_id: m.product_id,
        kid: m.label_kid,
        generation: u32::try_from(m.label_generation)
            .map_err(|_| StoreError::Corrupt("negative label generation".into()))?,
    })
}

/// What printing does to the units' labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrintMode {
    /// Nothing: the labels printed so far, as they are (units never
    /// printed are left out).
    Existing,
    /// A unit never printed gets its first label; the others keep theirs.
    Print,
    /// Every unit gets a new label (voiding the earlier codes).
    Reprint,
}

/// Which units.
#[derive(Clone, Debug)]
pub enum LabelSelection {
    /// Every unit of the GTIN in the lot.
    Lot { gtin: String, lot: String },
    /// These serials of the GTIN.
    Serials { gtin: String, serials: Vec<String> },
}

impl Store {
    /// The label state of one unit.
    pub async fn label_of(&self, gtin: &str, serial: &str) -> StoreResult<Option<LabelRow>> {
        device::Entity::find()
            .filter(device::Column::Gtin.eq(gtin))
            .filter(device::Column::Serial.eq(serial))
            .one(self.db())
            .await?
            .map(row)
            .transpose()
    }

    /// Gives the selected units a label printed with `kid`: a unit never
    /// printed gets generation 0; with `reprint`, every unit moves to its
    /// next generation (voiding its earlier code) and to `kid`; otherwise a
    /// printed unit keeps its label. `audit` is appended in the same
    /// transaction. Returns the units in serial order, as they are now.
    pub async fn print_labels(
        &self,
        selection: &LabelSelection,
        kid: &str,
        mode: PrintMode,
        limit: usize,
        audit: &AccessRow,
    ) -> StoreResult<Option<Vec<LabelRow>>> {
        let tx = self.db().begin().await?;
        let mut query = device::Entity::find();
        query = match selection {
            LabelSelection::Lot { gtin, lot } => query
                .filter(device::Column::Gtin.eq(gtin.as_str()))
                .filter(device::Column::Lot.eq(lot.as_str())),
            LabelSelection::Serials { gtin, serials } => query
                .filter(device::Column::Gtin.eq(gtin.as_str()))
                .filter(device::Column::Serial.is_in(serials.iter().map(String::as_str))),
        };
        // More than `limit` units: nothing is written (None).
        let found = query
            .order_by_asc(device::Column::Serial)
            .limit(u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1))
            .all(&tx)
            .await?;
        if found.len() > limit {
            return Ok(None);
        }
        let never: Vec<i64> = found
            .iter()
            .filter(|d| d.label_kid.is_none() && mode != PrintMode::Existing)
            .map(|d| d.id)
            .collect();
        let reprint = mode == PrintMode::Reprint;
        for part in never.chunks(self.chunk().max(1)) {
            device::Entity::update_many()
                .col_expr(device::Column::LabelKid, Expr::value(kid))
                .col_expr(device::Column::LabelGeneration, Expr::value(0))
                .filter(device::Column::Id.is_in(part.iter().copied()))
                // A print running beside this one keeps the label it gave.
                .filter(device::Column::LabelKid.is_null())
                .exec(&tx)
                .await?;
        }
        if reprint {
            let printed: Vec<i64> = found
                .iter()
                .filter(|d| d.label_kid.is_some())
                .map(|d| d.id)
                .collect();
            for part in printed.chunks(self.chunk().max(1)) {
                device::Entity::update_many()
                    .col_expr(device::Column::LabelKid, Expr::value(kid))
                    .col_expr(
                        device::Column::LabelGeneration,
                        Expr::col(device::Column::LabelGeneration).add(1),
                    )
                    .filter(device::Column::Id.is_in(part.iter().copied()))
                    .exec(&tx)
                    .await?;
            }
        }
        if !never.is_empty() || reprint {
            // A reprint voids codes that cached pages still accept.
            super::epochs::bump_change_stamp(&tx).await?;
        }
        super::access::append_in(&tx, std::slice::from_ref(audit)).await?;
        let ids: Vec<i64> = found.iter().map(|d| d.id).collect();
        let mut out = Vec::with_capacity(ids.len());
        for part in ids.chunks(self.chunk().max(1)) {
            for m in device::Entity::find()
                .filter(device::Column::Id.is_in(part.iter().copied()))
                .all(&tx)
                .await?
            {
                out.push(row(m)?);
            }
        }
        tx.commit().await?;
        out.retain(|r| r.kid.is_some());
        out.sort_by(|a, b| a.serial.cmp(&b.serial));
        Ok(Some(out))
    }
}
