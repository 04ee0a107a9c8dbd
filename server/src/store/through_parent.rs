//! The alternative design for a component's custody through its parent,
//! built only to measure it against the one the portal keeps
//! (docs/device-lifecycle.md, "Custody intervals"): every change of a
//! device's holder, shipped-to or installed-in also rewrites an interval
//! for each device installed in it, at every level below, in a table of its
//! own. Compiled only with the `bench-variants` feature, switched on per
//! store by the capture benchmark; nothing reads what it writes.

use std::collections::{HashMap, HashSet};

use entities::custody_interval;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Statement};

use super::bulk::Rows;
use super::capture::CaptureTx;
use super::custody::CustodyWrite;
use super::{Store, StoreResult};
use crate::domain::custody::Kind;

const TABLE: &str = "through_parent_interval";

/// From a log position on, with a party or (None) with nobody.
type Change = (u64, Option<i64>);

impl Store {
    /// From now on, capture through this store also writes the per-component
    /// intervals (creating their table, with the same indexes as
    /// `custody_interval`, when missing).
    pub async fn store_through_parent_per_component(&self) -> StoreResult<()> {
        let id = match self.db().get_database_backend() {
            sea_orm::DbBackend::Postgres => "id BIGSERIAL PRIMARY KEY",
            _ => "id INTEGER PRIMARY KEY AUTOINCREMENT",
        };
        for sql in [
            format!(
                "CREATE TABLE IF NOT EXISTS {TABLE} ({id}, device_id BIGINT NOT NULL, kind VARCHAR(32) NOT NULL, party_id BIGINT NOT NULL, from_pos BIGINT NOT NULL, to_pos BIGINT)"
            ),
            format!("CREATE INDEX IF NOT EXISTS ix_{TABLE}_device ON {TABLE} (device_id, kind)"),
            format!("CREATE INDEX IF NOT EXISTS ix_{TABLE}_party ON {TABLE} (party_id, kind)"),
        ] {
            self.db().execute_unprepared(&sql).await?;
        }
        self.stored_through_parent
            .store(true, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }
}

/// The per-component kind a change of `kind` rewrites, if any.
fn through(kind: Kind) -> Option<&'static str> {
    match kind {
        Kind::Holder | Kind::InstalledIn => Some("through_holder"),
        Kind::ShippedTo => Some("through_shipped_to"),
        _ => None,
    }
}

impl CaptureTx {
    /// Writes what the per-component design would: for each change, the
    /// devices installed in the changed device (found level by level through
    /// the open `installed_in` intervals, the batch's own already written),
    /// and for an installation the component itself, close their open
    /// interval of the matching kind and open one with the change's party.
    pub(super) async fn write_through_parent(&self, writes: &[CustodyWrite]) -> StoreResult<()> {
        // The open links below the changed devices, level by level.
        let roots: Vec<i64> = writes
            .iter()
            .filter(|w| w.existing && through(w.kind).is_some())
            .map(|w| w.device)
            .collect();
        let mut children: HashMap<i64, Vec<i64>> = HashMap::new();
        let mut seen: HashSet<i64> = roots.iter().copied().collect();
        let mut frontier: Vec<i64> = seen.iter().copied().collect();
        for _ in 0..16 {
            if frontier.is_empty() {
                break;
            }
            let mut next = Vec::new();
            for chunk in frontier.chunks(self.chunk) {
                let rows = custody_interval::Entity::find()
                    .filter(custody_interval::Column::Kind.eq(Kind::InstalledIn.as_str()))
                    .filter(custody_interval::Column::ToPos.is_null())
                    .filter(custody_interval::Column::PartyId.is_in(chunk.iter().copied()))
                    .all(&self.tx)
                    .await?;
                for r in rows {
                    children.entry(r.party_id).or_default().push(r.device_id);
                    if seen.insert(r.device_id) {
                        next.push(r.device_id);
                    }
                }
            }
            frontier = next;
        }
        let below = |root: i64| {
            let mut out = Vec::new();
            let mut stack = vec![root];
            while let Some(d) = stack.pop() {
                for &c in children.get(&d).into_iter().flatten() {
                    out.push(c);
                    stack.push(c);
                }
            }
            out
        };
        // The changes per (device, kind) in log order, as the builder keeps
        // them for `custody_interval`.
        let mut changes: HashMap<(i64, &'static str), Vec<Change>> = HashMap::new();
        for w in writes {
            let Some(kind) = through(w.kind) else {
                continue;
            };
            let own = (w.kind == Kind::InstalledIn).then_some(w.device);
            // (For an installation the party stands for the parent's holder:
            // the rows written are the same in number.)
            let party = w.party;
            for d in below(w.device).into_iter().chain(own) {
                changes.entry((d, kind)).or_default().push((w.pos, party));
            }
        }
        let mut closes: HashMap<(u64, &'static str), Vec<i64>> = HashMap::new();
        let mut rows = Rows::new(
            TABLE,
            &["device_id", "kind", "party_id", "from_pos", "to_pos"],
            changes.len(),
        );
        for ((device, kind), seq) in &changes {
            closes.entry((seq[0].0, kind)).or_default().push(*device);
            for (i, &(pos, party)) in seq.iter().enumerate() {
                let Some(party) = party else { continue };
                let to = seq.get(i + 1).map(|n| n.0 as i64);
                rows.push([
                    (*device).into(),
                    (*kind).into(),
                    party.into(),
                    (pos as i64).into(),
                    to.into(),
                ]);
            }
        }
        let backend = self.tx.get_database_backend();
        for ((pos, kind), devices) in closes {
            for chunk in devices.chunks(self.chunk) {
                let ids: Vec<String> = chunk.iter().map(i64::to_string).collect();
                self.tx
                    .execute_raw(Statement::from_string(
                        backend,
                        format!(
                            "UPDATE {TABLE} SET to_pos = {pos} WHERE kind = '{kind}' AND to_pos IS NULL AND device_id IN ({})",
                            ids.join(",")
                        ),
                    ))
                    .await?;
            }
        }
        rows.insert(&self.tx, "").await?;
        Ok(())
    }
}
