//! The access log: append-only, hash-chained. Each row's hash is
//! `SHA-256(previous hash ‖ JCS(row))` (the first row's previous hash is 32
//! zero bytes); the head row holds the last id and hash, and is locked
//! while rows are appended, so writes (inside their own transaction) and
//! the buffered reads share one chain. Rows of the second form (docs/
//! access-policy.md, "Access log") chain a salted commitment of the client
//! address instead of the address, so that the address can be erased; the
//! devices of every row are also rows of `access_log_device`, for exact
//! filtering.

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

/// The chain's check: (rows, chain hashes of the wanted rows), or the
/// first row that does not hold and why.
pub type ChainCheck = Result<(u64, std::collections::HashMap<i64, Vec<u8>>), (i64, String)>;

/// The member name a client address is committed under.
pub const CLIENT_FIELD: &str = "client";

/// `SHA-256(prev ‖ JCS(row with its id))`. With `client_commitment` (the
/// second form), the row's JCS carries `"clientCommitment"` and `"v": 2`
/// in place of the address.
pub fn row_hash(
    prev: &[u8],
    id: i64,
    row: &AccessRow,
    client_commitment: Option<&str>,
) -> StoreResult<Vec<u8>> {
    let mut doc = json!({
        "id": id,
        "at": row.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "subject": row.subject,
        "role": row.role,
        "organisation": row.organisation,
        "operation": row.operation,
        "devices": row.devices,
        "classes": row.classes,
        "outcome": row.outcome,
        "reason": row.reason,
    });
    match client_commitment {
        Some(c) => {
            doc["clientCommitment"] = json!(c);
            doc["v"] = json!(2);
        }
        None => doc["client"] = json!(row.client),
    }
    let canonical = crate::ledger::jcs::canonicalize(&doc)
        .map_err(|e| StoreError::Corrupt(format!("access row: {e}")))?;
    let mut h = Sha256::new();
    h.update(prev);
    h.update(&canonical);
    Ok(h.finalize().to_vec())
}

/// The operation of the row that records an erasure of client addresses.
pub const ERASE_CLIENTS: &str = "eraseClientAddresses";

/// The outcome of that row: how many, and the last row id erased.
pub fn erasure_outcome(erased: u64, up_to: i64) -> String {
    format!("ok: {erased} address(es) erased, rows up to {up_to}")
}

/// The last row id an erasure row covers.
fn erasure_cover(row: &AccessRow) -> Option<i64> {
    if row.operation != ERASE_CLIENTS {
        return None;
    }
    row.outcome.rsplit_once("rows up to ")?.1.parse().ok()
}

/// A device as the access log keys it: `GTIN-14/serial` when it parses,
/// else as given.
pub fn device_key(text: &str) -> String {
    crate::domain::DeviceKey::parse(text).map_or_else(|_| text.to_owned(), |k| k.to_string())
}

/// The distinct keys of a row's devices, sorted by bytes.
pub(super) fn device_keys(devices: &[String]) -> Vec<String> {
    let mut keys: Vec<String> = devices.iter().map(|d| device_key(d)).collect();
    keys.sort();
    keys.dedup();
    keys
}

/// A fresh salt and the commitment of a client address, both base64.
fn commit_client(client: &str) -> StoreResult<(String, String)> {
    let salt = crate::ledger::Salt::random().map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let c = crate::ledger::commit(&salt, CLIENT_FIELD, &serde_json::Value::from(client))
        .map_err(|e| StoreError::Corrupt(format!("access row: {e}")))?;
    Ok((salt.to_base64(), c.to_base64()))
}

/// Whether a stored salt opens a stored client commitment.
fn client_opens(client: &str, salt: &str, commitment: &str) -> bool {
    crate::ledger::Salt::from_base64(salt).is_ok_and(|s| {
        crate::ledger::commit(&s, CLIENT_FIELD, &serde_json::Value::from(client))
            .is_ok_and(|c| c.to_base64() == commitment)
    })
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
    let mut device_rows = super::bulk::Rows::new(
        "access_log_device",
        &["access_id", "device"],
        rows.iter().map(|r| r.devices.len()).sum(),
    );
    let mut id: i64 = head.try_get("", "last_id")?;
    let mut prev: Vec<u8> = head.try_get("", "hash")?;
    for row in rows {
        id += 1;
        let (salt, commitment) = commit_client(&row.client)?;
        let hash = row_hash(&prev, id, row, Some(&commitment))?;
        db.execute_raw(sql(
            backend,
            "INSERT INTO access_log (id, at, subject, role, organisation, operation, devices, \
             classes, client, outcome, reason, hash, client_salt, client_commitment) \
             VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
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
                salt.into(),
                commitment.into(),
            ],
        ))
        .await?;
        for key in device_keys(&row.devices) {
            device_rows.push([id.into(), key.into()]);
        }
        prev = hash;
    }
    // Multi-row inserts: a capture's row may name half a million devices.
    device_rows.insert(db, "").await?;
    db.execute_raw(sql(
        backend,
        "UPDATE access_log_head SET last_id = ?, hash = ? WHERE id = 1",
        vec![id.into(), prev.into()],
    ))
    .await?;
    Ok(())
}

/// A stored row: its id, contents, hash, and client salt and commitment
/// (second form; the salt is gone once the address is erased).
struct Stored {
    id: i64,
    row: AccessRow,
    hash: Vec<u8>,
    client_salt: Option<String>,
    client_commitment: Option<String>,
}

fn from_row(r: &sea_orm::QueryResult) -> StoreResult<Stored> {
    let devices: String = r.try_get("", "devices")?;
    let classes: String = r.try_get("", "classes")?;
    Ok(Stored {
        id: r.try_get("", "id")?,
        row: AccessRow {
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
        hash: r.try_get("", "hash")?,
        client_salt: r.try_get("", "client_salt")?,
        client_commitment: r.try_get("", "client_commitment")?,
    })
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
            text.push_str(" AND id IN (SELECT access_id FROM access_log_device WHERE device = ?)");
            values.push(device_key(d).into());
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
            .map(|r| from_row(r).map(|s| (s.id, s.row)))
            .collect()
    }

    /// Recomputes the chain; `Err((id, what))` at the first row that does
    /// not hold. Returns the number of rows.
    /// Also returns the chain hashes of the rows in `wanted` (32 zero
    /// bytes for id 0).
    pub async fn check_access_chain(
        &self,
        wanted: &std::collections::HashSet<i64>,
    ) -> StoreResult<ChainCheck> {
        let backend = self.backend();
        let rows = self
            .db()
            .query_all_raw(sql(backend, "SELECT * FROM access_log ORDER BY id", vec![]))
            .await?;
        let mut devices: std::collections::HashMap<i64, Vec<String>> =
            std::collections::HashMap::new();
        for r in self
            .db()
            .query_all_raw(sql(
                backend,
                "SELECT access_id, device FROM access_log_device ORDER BY access_id, device",
                vec![],
            ))
            .await?
        {
            devices
                .entry(r.try_get("", "access_id")?)
                .or_default()
                .push(r.try_get("", "device")?);
        }
        // In byte order, as the rows' own lists are (the database's
        // collation may order text otherwise).
        for list in devices.values_mut() {
            list.sort();
        }
        let mut erased: Vec<i64> = Vec::new();
        let mut covers: Vec<(i64, i64)> = Vec::new();
        let mut prev = vec![0u8; 32];
        let mut expected_id = 0i64;
        let mut found: std::collections::HashMap<i64, Vec<u8>> = std::collections::HashMap::new();
        if wanted.contains(&0) {
            found.insert(0, prev.clone());
        }
        for r in &rows {
            let s = from_row(r)?;
            let id = s.id;
            expected_id += 1;
            if id != expected_id {
                return Ok(Err((expected_id, "access log row is missing".into())));
            }
            if row_hash(&prev, id, &s.row, s.client_commitment.as_deref())? != s.hash {
                return Ok(Err((
                    id,
                    "access log row does not match its hash chain".into(),
                )));
            }
            if let Some(c) = &s.client_commitment {
                let holds = match &s.client_salt {
                    Some(salt) => client_opens(&s.row.client, salt, c),
                    // Erased: the address went with its salt.
                    None => {
                        erased.push(id);
                        s.row.client.is_empty()
                    }
                };
                if !holds {
                    return Ok(Err((
                        id,
                        "access log row's client address does not open its commitment".into(),
                    )));
                }
            }
            if devices.remove(&id).unwrap_or_default() != device_keys(&s.row.devices) {
                return Ok(Err((
                    id,
                    "access log row's device rows are not the devices it names".into(),
                )));
            }
            if wanted.contains(&id) {
                found.insert(id, s.hash.clone());
            }
            if let Some(up_to) = erasure_cover(&s.row) {
                covers.push((id, up_to));
            }
            prev = s.hash;
        }
        // An erased address is one a later erasure row covers; any other
        // missing address was removed behind the portal's back.
        let mut best = i64::MIN;
        let mut cover_after: Vec<(i64, i64)> = Vec::with_capacity(covers.len());
        for (id, up_to) in covers.iter().rev() {
            best = best.max(*up_to);
            cover_after.push((*id, best));
        }
        cover_after.reverse();
        for id in erased {
            let i = cover_after.partition_point(|(e, _)| *e <= id);
            if cover_after.get(i).is_none_or(|(_, up_to)| *up_to < id) {
                return Ok(Err((
                    id,
                    "access log row's client address is gone, but no erasure row covers it".into(),
                )));
            }
        }
        if let Some(id) = devices.keys().min() {
            return Ok(Err((
                *id,
                "device rows name an access log row that does not exist".into(),
            )));
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
        Ok(Ok((rows.len() as u64, found)))
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
        for c in [None, Some("Y29tbWl0bWVudA==")] {
            let base = row_hash(&[0; 32], 1, &row, c).unwrap();
            let mut other = row.clone();
            other.reason = Some("x".into());
            assert_ne!(row_hash(&[0; 32], 1, &other, c).unwrap(), base);
            assert_ne!(row_hash(&[1; 32], 1, &row, c).unwrap(), base);
            assert_ne!(row_hash(&[0; 32], 2, &row, c).unwrap(), base);
            let mut other = row.clone();
            other.client = "10.0.0.1".into();
            // The second form chains the commitment, not the address.
            assert_eq!(
                row_hash(&[0; 32], 1, &other, c).unwrap() == base,
                c.is_some()
            );
        }
        assert_ne!(
            row_hash(&[0; 32], 1, &row, None).unwrap(),
            row_hash(&[0; 32], 1, &row, Some("Y29tbWl0bWVudA==")).unwrap()
        );
    }
}
