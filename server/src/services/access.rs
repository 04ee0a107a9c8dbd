//! The access log as the services use it: writes append their row inside
//! their own transaction; reads that return non-public fields go through a
//! buffered writer that chains and flushes them within a second, so reads
//! never wait on the chain's lock. What the buffer holds when the process
//! dies (at most a second of reads) is lost; writes are never lost.

use std::time::Duration;

use tokio::sync::mpsc;

use super::Portal;
use crate::auth::Principal;
use crate::domain::visibility::Visibility;
use crate::store::Store;
use crate::store::access::{AccessFilter, AccessRow};

tokio::task_local! {
    /// The caller's address while a request is served (set by the web
    /// layer around the GraphQL execution).
    pub static CLIENT: String;
}

/// The current request's client address, or `internal` outside a request
/// (CLI, demo seeding).
pub fn current_client() -> String {
    CLIENT
        .try_with(Clone::clone)
        .unwrap_or_else(|_| "internal".to_owned())
}

/// What `access_log` selects: rows of this subject, organisation, device
/// (`GTIN/SERIAL`, matched exactly after normalising), between these times.
#[derive(Clone, Debug, Default)]
pub struct AccessLogFilter {
    pub subject: Option<String>,
    pub organisation: Option<String>,
    pub device: Option<String>,
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    pub to: Option<chrono::DateTime<chrono::Utc>>,
}

/// Reads are flushed at least this often.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum AccessLogError {
    #[error("{0}")]
    Forbidden(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// A row for `viewer` doing `operation`.
pub fn row(
    viewer: crate::domain::principal::Viewer<'_>,
    client: &str,
    operation: &str,
    devices: Vec<String>,
    classes: &[Visibility],
    outcome: &str,
) -> AccessRow {
    let mut classes: Vec<String> = classes.iter().map(|c| c.as_str().to_owned()).collect();
    classes.sort();
    classes.dedup();
    AccessRow {
        at: AccessRow::now(),
        // A viewer that is no member is named by its kind.
        subject: viewer
            .principal()
            .map_or("-", |p| p.subject.as_str())
            .to_owned(),
        role: viewer.name().to_owned(),
        organisation: viewer.principal().map_or("", |p| p.org.as_str()).to_owned(),
        operation: operation.to_owned(),
        devices,
        classes,
        client: client.to_owned(),
        outcome: outcome.to_owned(),
        reason: None,
    }
}

/// Read rows queued at most: beyond, a read waits for the writer (back-
/// pressure) rather than a row being dropped.
pub const QUEUE: usize = 10_000;
/// Pauses between attempts to write rows that failed: doubling from the
/// first to the last.
const RETRY_FIRST: Duration = Duration::from_millis(200);
pub const RETRY_MAX: Duration = Duration::from_secs(5);

/// Drains the read buffer into the chain: the first row waits at most
/// [`FLUSH_EVERY`] for company. Rows that cannot be written (the database
/// is locked by a long write, or unreachable) are kept and retried, with
/// pauses doubling up to [`RETRY_MAX`], until they are: none is dropped,
/// and while the writer is behind, reads wait once [`QUEUE`] rows are
/// queued. Ends when the portal (the sender) is gone, after a last flush.
pub async fn flusher(store: Store, mut rx: mpsc::Receiver<AccessRow>) {
    while let Some(first) = rx.recv().await {
        let mut rows = vec![first];
        let deadline = tokio::time::Instant::now() + FLUSH_EVERY;
        while let Ok(Some(r)) = tokio::time::timeout_at(deadline, rx.recv()).await {
            rows.push(r);
            if rows.len() >= 1000 {
                break;
            }
        }
        write_until_written(&store, rows, &rx).await;
    }
}

async fn write_until_written(store: &Store, rows: Vec<AccessRow>, rx: &mpsc::Receiver<AccessRow>) {
    let mut pause = RETRY_FIRST;
    let mut attempt = 1u32;
    loop {
        match store.append_access(&rows).await {
            Ok(()) => {
                if attempt > 1 {
                    tracing::info!(rows = rows.len(), attempt, "access log caught up");
                }
                return;
            }
            Err(e) => tracing::warn!(
                error = %e,
                rows = rows.len(),
                queued = rx.len(),
                attempt,
                "access log behind: rows not yet written; retrying"
            ),
        }
        attempt += 1;
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(RETRY_MAX);
    }
}

impl Portal {
    /// Queues a read's row; waits only when [`QUEUE`] rows are already
    /// waiting for the writer.
    pub async fn record_read(&self, row: AccessRow) {
        if self.access.send(row).await.is_err() {
            tracing::error!("access log writer is gone; a read was not logged");
        }
    }

    /// Takes the receiving end of the read buffer, for the flusher task.
    pub fn take_access_receiver(&self) -> Option<mpsc::Receiver<AccessRow>> {
        match self.access_rx.lock() {
            Ok(mut rx) => rx.take(),
            Err(p) => p.into_inner().take(),
        }
    }

    /// The access log, for auditors and admins.
    pub async fn access_log(
        &self,
        principal: &Principal,
        filter: &AccessLogFilter,
        after: i64,
        limit: u64,
    ) -> Result<Vec<(i64, AccessRow)>, AccessLogError> {
        if !crate::policy::may(
            principal.into(),
            crate::policy::Relationship::None,
            crate::policy::Operation::ReadAccessLog,
        ) {
            return Err(AccessLogError::Forbidden(
                "only auditors and admins read the access log".into(),
            ));
        }
        let filter = AccessFilter {
            subject: filter.subject.clone(),
            organisation: filter.organisation.clone(),
            device: filter.device.clone(),
            from: filter.from,
            to: filter.to,
        };
        Ok(self.store.access_rows(&filter, after, limit).await?)
    }
}

impl Portal {
    /// Erases the client addresses of access-log rows older than
    /// `older_than_days` (at least 1), and logs that it did.
    pub async fn erase_client_addresses(
        &self,
        actor: &str,
        older_than_days: u32,
    ) -> Result<crate::store::access_v2::ClientsErased, AccessLogError> {
        if older_than_days == 0 {
            return Err(AccessLogError::Forbidden(
                "keep at least a day of client addresses (--older-than-days 1 or more)".into(),
            ));
        }
        let before = chrono::Utc::now() - chrono::Duration::days(i64::from(older_than_days));
        let client = current_client();
        let done = self
            .store
            .erase_client_addresses(before, |outcome| AccessRow {
                at: AccessRow::now(),
                subject: actor.to_owned(),
                role: "operator".to_owned(),
                organisation: String::new(),
                operation: crate::store::access::ERASE_CLIENTS.to_owned(),
                devices: Vec::new(),
                classes: vec![Visibility::Personal.as_str().to_owned()],
                client,
                outcome,
                reason: Some(format!("retention: older than {older_than_days} day(s)")),
            })
            .await?;
        Ok(done)
    }
}

/// One personal field released by a regulator's request.
#[derive(Clone, Debug)]
pub struct PersonalField {
    pub event_id: String,
    pub name: String,
    pub value: serde_json::Value,
}

impl Portal {
    /// A regulator's explicit request for a device's personal fields,
    /// stating a reason: audited like a write (its row is committed before
    /// anything is returned), and the fields are granted for this request
    /// alone. Unknown devices are `Ok(None)`.
    pub async fn request_personal_data(
        &self,
        principal: &Principal,
        client: &str,
        device: &crate::domain::DeviceKey,
        reason: &str,
    ) -> Result<Option<Vec<PersonalField>>, AccessLogError> {
        if !crate::policy::may(
            principal.into(),
            crate::policy::Relationship::None,
            crate::policy::Operation::RequestPersonalData,
        ) {
            return Err(AccessLogError::Forbidden(
                "only regulators request personal data".into(),
            ));
        }
        let reason = reason.trim();
        if reason.len() < 10 {
            return Err(AccessLogError::Forbidden(
                "state the reason for the request (at least 10 characters)".into(),
            ));
        }
        let Some(row) = self
            .store
            .device_by_key(device.gtin().as_str(), device.serial().as_str())
            .await?
        else {
            return Ok(None);
        };
        let mut out = Vec::new();
        for e in self.store.events_of_device(row.id).await? {
            for (name, value, class) in e.fields {
                if class == Visibility::Personal.as_str() {
                    out.push(PersonalField {
                        event_id: e.event_id.clone(),
                        name,
                        value: serde_json::from_str(&value).unwrap_or(serde_json::Value::Null),
                    });
                }
            }
        }
        let mut audit = row_for(principal, client, &row.gtin, &row.serial, out.len());
        audit.reason = Some(reason.to_owned());
        self.store.append_access(&[audit]).await?;
        Ok(Some(out))
    }
}

fn row_for(
    principal: &Principal,
    client: &str,
    gtin: &str,
    serial: &str,
    fields: usize,
) -> AccessRow {
    row(
        principal.into(),
        client,
        "requestPersonalData",
        vec![format!("{gtin}/{serial}")],
        &[Visibility::Personal],
        &format!("ok: {fields} personal field(s) released"),
    )
}
