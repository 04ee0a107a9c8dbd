//! The access log's second form, for rows written before it: their devices
//! as rows (a data step), and the erasure of client addresses after their
//! retention (docs/access-policy.md, "Access log").

use chrono::{DateTime, Utc};
use entities::data_step;
use sea_orm::{ConnectionTrait, EntityTrait, TransactionTrait};

use super::access::{AccessRow, device_keys, erasure_outcome, sql};
use super::{Store, StoreResult};

/// The data step that gives rows of the first form their device rows.
pub const ACCESS_DEVICES_STEP: &str = "2026-12-03-access-log-devices";

/// What an erasure of client addresses did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientsErased {
    /// Rows whose address was erased.
    pub erased: u64,
    /// Rows of the first form in the range: their address is chained in
    /// the clear and cannot be erased without breaking the chain.
    pub first_form: u64,
}

impl Store {
    /// Fills `access_log_device` for the rows written before it existed;
    /// runs once (recorded as a data step). Returns whether it ran.
    pub async fn run_access_devices_step(&self) -> StoreResult<bool> {
        let tx = self.db().begin().await?;
        if data_step::Entity::find_by_id(ACCESS_DEVICES_STEP.to_owned())
            .one(&tx)
            .await?
            .is_some()
        {
            return Ok(false);
        }
        super::write_lock_now(&tx).await?;
        // Another process may have run it while this one waited.
        if data_step::Entity::find_by_id(ACCESS_DEVICES_STEP.to_owned())
            .one(&tx)
            .await?
            .is_some()
        {
            return Ok(false);
        }
        let backend = tx.get_database_backend();
        let rows = tx
            .query_all_raw(sql(
                backend,
                "SELECT id, devices FROM access_log WHERE client_commitment IS NULL ORDER BY id",
                vec![],
            ))
            .await?;
        for r in rows {
            let id: i64 = r.try_get("", "id")?;
            let devices: String = r.try_get("", "devices")?;
            let keys =
                device_keys(&serde_json::from_str::<Vec<String>>(&devices).unwrap_or_default());
            let mut device_rows =
                super::bulk::Rows::new("access_log_device", &["access_id", "device"], keys.len());
            for key in keys {
                device_rows.push([id.into(), key.into()]);
            }
            device_rows.insert(&tx, "").await?;
        }
        data_step::Entity::insert(data_step::ActiveModel {
            name: sea_orm::Set(ACCESS_DEVICES_STEP.to_owned()),
            applied_at: sea_orm::Set(Utc::now()),
        })
        .exec(&tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Erases the client address of every second-form row older than
    /// `before`: the address and its salt are deleted, the commitment (and
    /// so the chain) stays. In the same transaction, the row `record`
    /// makes (given how many and the last id erased) is appended with the
    /// outcome the audit reads. The freed bytes are purged as for an
    /// erasure.
    pub async fn erase_client_addresses(
        &self,
        before: DateTime<Utc>,
        record: impl FnOnce(String) -> AccessRow,
    ) -> StoreResult<ClientsErased> {
        let tx = self.db().begin().await?;
        super::write_lock_now(&tx).await?;
        let backend = tx.get_database_backend();
        let pending = "at < ? AND client_commitment IS NOT NULL AND client_salt IS NOT NULL";
        let up_to = tx
            .query_one_raw(sql(
                backend,
                &format!("SELECT MAX(id) AS m FROM access_log WHERE {pending}"),
                vec![before.into()],
            ))
            .await?
            .map(|r| r.try_get::<Option<i64>>("", "m"))
            .transpose()?
            .flatten();
        let erased = match up_to {
            Some(up_to) => tx
                .execute_raw(sql(
                    backend,
                    &format!(
                        "UPDATE access_log SET client = '', client_salt = NULL WHERE {pending} AND id <= ?"
                    ),
                    vec![before.into(), up_to.into()],
                ))
                .await?
                .rows_affected(),
            None => 0,
        };
        let first_form = tx
            .query_one_raw(sql(
                backend,
                "SELECT COUNT(*) AS n FROM access_log WHERE at < ? AND client_commitment IS NULL",
                vec![before.into()],
            ))
            .await?
            .map(|r| r.try_get::<i64>("", "n"))
            .transpose()?
            .unwrap_or(0);
        super::access::append_in(&tx, &[record(erasure_outcome(erased, up_to.unwrap_or(0)))])
            .await?;
        tx.commit().await?;
        if erased > 0 {
            self.purge_access_bytes().await?;
        }
        Ok(ClientsErased {
            erased,
            first_form: u64::try_from(first_form).unwrap_or(0),
        })
    }
}
