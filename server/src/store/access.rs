//! The access log: append-only, hash-chained. Each row's hash is
//! `SHA-256(previous hash ‖ JCS(row))` (the first row's previous hash is 32
//! zero bytes); the head row holds the last id and hash, and is locked
//! while rows are appended, so writes (inside their own transaction) and
//! the buffered reads share one chain.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait, Value};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::{Store, StoreError, StoreResult};

/// One audited operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessRow {
    pub at: DateTime<Utc>,
    pub subject: String,
    pub role: String,
    pub organisation: String,
    pub operation: String,
    /// `GTIN/SERIAL` of each device concerned.
    pub devices: Vec<String>,
    /// The field classes returned (reads) or written.
    pub classes: Vec<String>,
    pub client: String,
    pub outcome: String,
    /// Why, for requests that must state it.
    pub reason: Option<String>,
}

impl AccessRow {
    /// The time as stored (microseconds), so that hashes recompute.
    pub fn now() -> DateTime<Utc> {
        let now = Utc::now();
        DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
    }
}

/// Filters of [`Store::access_rows`].
#[derive(Clone, Debug, Default)]
pub struct AccessFilter {
    pub subject: Option<String>,
    pub organisation: Option<String>,
    /// `GTIN/SERIAL`
    pub device: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// `SHA-256(prev ‖ JCS(row with its id))`.
pub fn row_hash(prev: &[u8], id: i64, row: &AccessRow) -> StoreResult<Vec<u8>> {
    let doc = json!({
        "id": id,
        "at": row.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "subject": row.subject,
        "role": row.role,
        "organisation": row.organisation,
        "operation": row.operation,
        "devices": row.devices,
        "classes": row.classes,
        "client": row.client,
        "outcome": row.outcome,
        "reason": row.reason,
    });
    let canonical = crate::ledger::jcs::canonicalize(&doc)
        .map_err(|e| StoreError::Corrupt(format!("access row: {e}")))?;
    let mut h = Sha256::new();
    h.update(prev);
    h.update(&canonical);
    Ok(h.finalize().to_vec())
}

pub(crate) fn sql(backend: DbBackend, text: &str, values: Vec<Value>) -> Statement {
    // Written with `?`; PostgreSQL wants `$n`.
    let text = if backend == DbBackend::Postgres {
        let mut out = String::with_capacity(text.len() + 8);
        let mut n = 0;
        for c in text.chars() {
            if c == '?' {
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
            } else {
                out.push(c);
            }
        }
        out
    } else {
        text.to_owned()
    };
    Statement::from_sql_and_values(backend, text, values)
}

/// Appends rows to the chain on `db` (a transaction the caller commits).
pub async fn append_in<C: ConnectionTrait>(db: &C, rows: &[AccessRow]) -> StoreResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    super::write_lock_now(db).await?;
    let backend = db.get_database_backend();
    let lock = if backend == DbBackend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    let head = db
        .query_one_raw(sql(
            backend,
            &format!("SELECT last_id, hash FROM access_log_head WHERE id = 1{lock}"),
            vec![],
        ))
        .await?
        .ok_or_else(|| StoreError::Corrupt("no access log head".into()))?;
    let mut id: i64 = head.try_get("", "last_id")?;
    let mut prev: Vec<u8> = head.try_get("", "hash")?;
    for row in rows {
        id += 1;
        let hash = row_hash(&prev, id, row)?;
        db.execute_raw(sql(
            backend,
            "INSERT INTO access_log (id, at, subject, role, organisation, operation, devices, \
             classes, client, outcome, reason, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            vec![
                id.into(),
                row.at.into(),
                row.subject.clone().into(),
                row.role.clone().into(),
                row.organisation.clone().into(),
                row.operation.clone().into(),
                serde_json::to_string(&row.devices)
                    .unwrap_or_default()
                    .into(),
                row.classes.join(",").into(),
                row.client.clone().into(),
                row.outcome.clone().into(),
                row.reason.clone().into(),
                hash.clone().into(),
            ],
        ))
        .await?;
        prev = hash;
    }
    db.execute_raw(sql(
        backend,
        "UPDATE access_log_head SET last_id = ?, hash = ? WHERE id = 1",
        vec![id.into(), prev.into()],
    ))
    .await?;
    Ok(())
}

fn from_row(r: &sea_orm::QueryResult) -> StoreResult<(i64, AccessRow, Vec<u8>)> {
    let devices: String = r.try_get("", "devices")?;
    let classes: String = r.try_get("", "classes")?;
    Ok((
        r.try_get("", "id")?,
        AccessRow {
            at: r.try_get("", "at")?,
            subject: r.try_get("", "subject")?,
            role: r.try_get("", "role")?,
            organisation: r.try_get("", "organisation")?,
            operation: r.try_get("", "operation")?,
            devices: serde_json::from_str(&devices).unwrap_or_default(),
            classes: classes
                .split(',')
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect(),
            client: r.try_get("", "client")?,
            outcome: r.try_get("", "outcome")?,
            reason: r.try_get("", "reason")?,
        },
        r.try_get("", "hash")?,
    ))
}

impl super::capture::CaptureTx {
    /// Appends rows inside the capture transaction.
    pub async fn append_access(&self, rows: &[AccessRow]) -> StoreResult<()> {
        append_in(&self.tx, rows).await
    }
}

impl Store {
    /// Appends rows in their own transaction (the buffered reads).
    pub async fn append_access(&self, rows: &[AccessRow]) -> StoreResult<()> {
        let tx = self.db().begin().await?;
        append_in(&tx, rows).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Rows matching `filter` with id above `after`, ascending, at most
    /// `limit`.
    pub async fn access_rows(
        &self,
        filter: &AccessFilter,
        after: i64,
        limit: u64,
    ) -> StoreResult<Vec<(i64, AccessRow)>> {
        let backend = self.backend();
        let mut text = String::from("SELECT * FROM access_log WHERE id > ?");
        let mut values: Vec<Value> = vec![after.into()];
        if let Some(s) = &filter.subject {
            text.push_str(" AND subject = ?");
            values.push(s.clone().into());
        }
        if let Some(o) = &filter.organisation {
            text.push_str(" AND organisation = ?");
            values.push(o.clone().into());
        }
        if let Some(d) = &filter.device {
            // The devices column is a JSON array of strings.
            text.push_str(" AND devices LIKE ? ESCAPE '!'");
            let escaped = d.replace('!', "!!").replace('%', "!%").replace('_', "!_");
            values.push(format!("%\"{escaped}\"%").into());
        }
        if let Some(t) = filter.from {
            text.push_str(" AND at >= ?");
            values.push(t.into());
        }
        if let Some(t) = filter.to {
            text.push_str(" AND at <= ?");
            values.push(t.into());
        }
        text.push_str(&format!(" ORDER BY id LIMIT {limit}"));
        self.db()
            .query_all_raw(sql(backend, &text, values))
            .await?
            .iter()
            .map(|r| from_row(r).map(|(id, row, _)| (id, row)))
            .collect()
    }

    /// Recomputes the chain; `Err((id, what))` at the first row that does
    /// not hold. Returns the number of rows.
    pub async fn check_access_chain(&self) -> StoreResult<Result<u64, (i64, String)>> {
        let backend = self.backend();
        let rows = self
            .db()
            .query_all_raw(sql(backend, "SELECT * FROM access_log ORDER BY id", vec![]))
            .await?;
        let mut prev = vec![0u8; 32];
        let mut expected_id = 0i64;
        for r in &rows {
            let (id, row, hash) = from_row(r)?;
            expected_id += 1;
            if id != expected_id {
                return Ok(Err((expected_id, "access log row is missing".into())));
            }
            if row_hash(&prev, id, &row)? != hash {
                return Ok(Err((
                    id,
                    "access log row does not match its hash chain".into(),
                )));
            }
            prev = hash;
        }
        let head = self
            .db()
            .query_one_raw(sql(
                backend,
                "SELECT last_id, hash FROM access_log_head WHERE id = 1",
                vec![],
            ))
            .await?
            .ok_or_else(|| StoreError::Corrupt("no access log head".into()))?;
        let last: i64 = head.try_get("", "last_id")?;
        let head_hash: Vec<u8> = head.try_get("", "hash")?;
        if last != expected_id || head_hash != prev {
            return Ok(Err((
                last,
                "the access log head is not the end of the chain (rows removed at the end?)".into(),
            )));
        }
        Ok(Ok(rows.len() as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_member_is_in_the_hash() {
        let row = AccessRow {
            at: DateTime::from_timestamp_micros(1_780_000_000_000_000).unwrap(),
            subject: "s".into(),
            role: "staff".into(),
            organisation: "ampera".into(),
            operation: "captureEvents".into(),
            devices: vec!["04012345000016/P1".into()],
            classes: vec!["partner".into()],
            client: "127.0.0.1".into(),
            outcome: "ok".into(),
            reason: None,
        };
        let base = row_hash(&[0; 32], 1, &row).unwrap();
        let mut other = row.clone();
        other.reason = Some("x".into());
        assert_ne!(row_hash(&[0; 32], 1, &other).unwrap(), base);
        assert_ne!(row_hash(&[1; 32], 1, &row).unwrap(), base);
        assert_ne!(row_hash(&[0; 32], 2, &row).unwrap(), base);
    }
}
