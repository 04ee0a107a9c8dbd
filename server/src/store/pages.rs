//! What the public pages read (docs/pages.md): the change signature their
//! caches poll, a unit's card (what says whether a cached page of it is
//! current and whether a code matches), alerts for staff and scan counts.

use chrono::{DateTime, Utc};
use entities::{alert, change_stamp, device, leaf, log_head, scan_count};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query, SubQueryStatement};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait,
};

use super::{Store, StoreError, StoreResult};

/// What every change a page may show moves: the log's size (events) and
/// the change stamp (custody, erasure, labels, alerts).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ChangeSignature {
    pub log_size: i64,
    pub stamp: i64,
}

/// A unit as its page cache sees it: what it is keyed by, and the label
/// its code is checked against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnitCard {
    pub device_id: i64,
    pub epoch: i64,
    pub leaves: u64,
    pub status: String,
    pub lot: Option<String>,
    pub label_kid: Option<String>,
    pub label_generation: u32,
}

/// An alert for staff.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertRow {
    pub id: i64,
    pub kind: String,
    pub scope: String,
    pub device_id: Option<i64>,
    pub evidence: String,
    pub state: String,
    pub created_at: DateTime<Utc>,
    pub acknowledged_by: Option<String>,
    pub acknowledged_at: Option<DateTime<Utc>>,
}

impl From<alert::Model> for AlertRow {
    fn from(m: alert::Model) -> Self {
        AlertRow {
            id: m.id,
            kind: m.kind,
            scope: m.scope,
            device_id: m.device_id,
            evidence: m.evidence,
            state: m.state,
            created_at: m.created_at,
            acknowledged_by: m.acknowledged_by,
            acknowledged_at: m.acknowledged_at,
        }
    }
}

/// One flushed scan count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScanRow {
    pub device_id: i64,
    pub day: String,
    pub network: String,
    pub country: Option<String>,
    pub scans: i64,
}

impl Store {
    /// The change signature now (one statement).
    pub async fn change_signature(&self) -> StoreResult<ChangeSignature> {
        let size = Query::select()
            .column(log_head::Column::Size)
            .from(log_head::Entity)
            .and_where(log_head::Column::Id.eq(1))
            .to_owned();
        let stamp = Query::select()
            .column(change_stamp::Column::Value)
            .from(change_stamp::Entity)
            .and_where(change_stamp::Column::Id.eq(1))
            .to_owned();
        let both = Query::select()
            .expr_as(
                Expr::SubQuery(None, Box::new(SubQueryStatement::SelectStatement(size))),
                "log_size",
            )
            .expr_as(
                Expr::SubQuery(None, Box::new(SubQueryStatement::SelectStatement(stamp))),
                "stamp",
            )
            .to_owned();
        let backend = self.db().get_database_backend();
        let Some(row) = self.db().query_one_raw(backend.build(&both)).await? else {
            return Ok(ChangeSignature::default());
        };
        Ok(ChangeSignature {
            log_size: row.try_get::<Option<i64>>("", "log_size")?.unwrap_or(0),
            stamp: row.try_get::<Option<i64>>("", "stamp")?.unwrap_or(0),
        })
    }

    /// A unit's card, read now (one statement).
    pub async fn unit_card(&self, gtin: &str, serial: &str) -> StoreResult<Option<UnitCard>> {
        let leaves = Query::select()
            .expr(Expr::col(leaf::Column::LeafIndex).count())
            .from(leaf::Entity)
            .and_where(
                Expr::col((leaf::Entity, leaf::Column::DeviceId))
                    .equals((device::Entity, device::Column::Id)),
            )
            .to_owned();
        let q = Query::select()
            .columns([
                (device::Entity, device::Column::Id),
                (device::Entity, device::Column::Epoch),
                (device::Entity, device::Column::Status),
                (device::Entity, device::Column::Lot),
                (device::Entity, device::Column::LabelKid),
                (device::Entity, device::Column::LabelGeneration),
            ])
            .expr_as(
                Expr::SubQuery(None, Box::new(SubQueryStatement::SelectStatement(leaves))),
                "leaves",
            )
            .from(device::Entity)
            .and_where(device::Column::Gtin.eq(gtin))
            .and_where(device::Column::Serial.eq(serial))
            .to_owned();
        let backend = self.db().get_database_backend();
        let Some(row) = self.db().query_one_raw(backend.build(&q)).await? else {
            return Ok(None);
        };
        let leaves: i64 = row.try_get("", "leaves")?;
        let generation: i32 = row.try_get("", "label_generation")?;
        Ok(Some(UnitCard {
            device_id: row.try_get("", "id")?,
            epoch: row.try_get("", "epoch")?,
            leaves: u64::try_from(leaves).unwrap_or(0),
            status: row.try_get("", "status")?,
            lot: row.try_get("", "lot")?,
            label_kid: row.try_get("", "label_kid")?,
            label_generation: u32::try_from(generation)
                .map_err(|_| StoreError::Corrupt("negative label generation".into()))?,
        }))
    }

    /// Files an alert unless one of the same kind and scope for the unit is
    /// open or confirmed. Returns its id when one was filed. One statement:
    /// the partial unique index `ux_alert_live` refuses a second live
    /// alert, also when two processes file at once.
    pub async fn file_alert(
        &self,
        kind: &str,
        scope: &str,
        device_id: i64,
        evidence: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<i64>> {
        let inserted = alert::Entity::insert(alert::ActiveModel {
            kind: Set(kind.to_owned()),
            scope: Set(scope.to_owned()),
            device_id: Set(Some(device_id)),
            evidence: Set(evidence.to_string()),
            state: Set("open".to_owned()),
            created_at: Set(now),
            acknowledged_by: Set(None),
            acknowledged_at: Set(None),
            ..Default::default()
        })
        .exec(self.db())
        .await;
        match inserted {
            Ok(r) => Ok(Some(r.last_insert_id)),
            Err(e)
                if matches!(
                    e.sql_err(),
                    Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The alerts in a state and of a kind (all without), newest first,
    /// older than `before` when given, at most `limit`.
    pub async fn alerts(
        &self,
        state: Option<&str>,
        kind: Option<&str>,
        before: Option<i64>,
        limit: u64,
    ) -> StoreResult<Vec<AlertRow>> {
        let mut q = alert::Entity::find();
        if let Some(state) = state {
            q = q.filter(alert::Column::State.eq(state));
        }
        if let Some(kind) = kind {
            q = q.filter(alert::Column::Kind.eq(kind));
        }
        if let Some(before) = before {
            q = q.filter(alert::Column::Id.lt(before));
        }
        Ok(q.order_by_desc(alert::Column::Id)
            .limit(limit)
            .all(self.db())
            .await?
            .into_iter()
            .map(AlertRow::from)
            .collect())
    }

    /// Confirms or dismisses an open alert, moving its unit's epoch (a
    /// confirmed copy shows on the unit's page). None when there is no
    /// open alert with this id.
    pub async fn decide_alert(
        &self,
        id: i64,
        state: &str,
        by: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<AlertRow>> {
        let tx = self.db().begin().await?;
        let done = alert::Entity::update_many()
            .col_expr(alert::Column::State, Expr::value(state))
            .col_expr(alert::Column::AcknowledgedBy, Expr::value(by))
            .col_expr(alert::Column::AcknowledgedAt, Expr::value(now))
            .filter(alert::Column::Id.eq(id))
            .filter(alert::Column::State.eq("open"))
            .exec(&tx)
            .await?;
        if done.rows_affected == 0 {
            return Ok(None);
        }
        let row = alert::Entity::find_by_id(id)
            .one(&tx)
            .await?
            .map(AlertRow::from)
            .ok_or_else(|| StoreError::Corrupt("a decided alert vanished".into()))?;
        let devices: Vec<i64> = row.device_id.into_iter().collect();
        super::epochs::bump(&tx, self.chunk(), &devices, &[]).await?;
        tx.commit().await?;
        Ok(Some(row))
    }

    /// Whether staff confirmed that the code of this generation of the
    /// unit's label was copied.
    pub async fn copy_confirmed(&self, device_id: i64, label_generation: u32) -> StoreResult<bool> {
        Ok(alert::Entity::find()
            .filter(alert::Column::DeviceId.eq(device_id))
            .filter(alert::Column::Kind.eq("copy_suspected"))
            .filter(alert::Column::Scope.eq(format!("label-{label_generation}")))
            .filter(alert::Column::State.eq("confirmed"))
            .one(self.db())
            .await?
            .is_some())
    }

    /// Adds flushed scan counts to the stored ones (one statement per row;
    /// all in one transaction).
    pub async fn add_scans(&self, rows: &[ScanRow]) -> StoreResult<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let tx = self.db().begin().await?;
        for part in rows.chunks(self.chunk().max(1)) {
            let models = part.iter().map(|r| scan_count::ActiveModel {
                device_id: Set(r.device_id),
                day: Set(r.day.clone()),
                network: Set(r.network.clone()),
                country: Set(r.country.clone()),
                scans: Set(r.scans),
            });
            scan_count::Entity::insert_many(models)
                .on_conflict(
                    OnConflict::columns([
                        scan_count::Column::DeviceId,
                        scan_count::Column::Day,
                        scan_count::Column::Network,
                    ])
                    .value(
                        scan_count::Column::Scans,
                        Expr::col((scan_count::Entity, scan_count::Column::Scans))
                            .add(Expr::cust("excluded.scans")),
                    )
                    .value(
                        scan_count::Column::Country,
                        Expr::cust("COALESCE(scan_count.country, excluded.country)"),
                    )
                    .to_owned(),
                )
                .exec(&tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A unit's stored scan counts, oldest day first.
    pub async fn scans_of(&self, device_id: i64) -> StoreResult<Vec<ScanRow>> {
        Ok(scan_count::Entity::find()
            .filter(scan_count::Column::DeviceId.eq(device_id))
            .order_by_asc(scan_count::Column::Day)
            .all(self.db())
            .await?
            .into_iter()
            .map(|m| ScanRow {
                device_id: m.device_id,
                day: m.day,
                network: m.network,
                country: m.country,
                scans: m.scans,
            })
            .collect())
    }
}
