//! The audit's check of the device rows and component links (docs/
//! ledger-format.md §7c, item 11): what drives access and public status
//! must be what the events say.

use std::collections::{BTreeSet, HashMap};

use super::{AuditError, fail};
use crate::domain::custody::{Interval, Kind, State};
use crate::services::Portal;
use crate::services::capture::status_of;

impl Portal {
    /// Each device row's status, custodian and shipped-to are those the
    /// replayed events give it; the component links are exactly the
    /// replayed installed-in intervals, with their events' times. Returns
    /// how many rows were compared.
    pub(super) async fn audit_device_rows(
        &self,
        replayed: &[Interval],
        states: &HashMap<i64, State>,
    ) -> Result<u64, AuditError> {
        let histories = self.store.all_status_histories().await?;
        let rows = self.store.device_row_states().await?;
        for row in &rows {
            let state = states.get(&row.id).copied().unwrap_or_default();
            let status = status_of(histories.get(&row.id).map_or(&[][..], Vec::as_slice));
            let differs = |what: &str| {
                Err(AuditError::Mismatch(
                    fail(format!(
                        "the device row's {what} is not what its events give it"
                    ))
                    .device(&row.key),
                ))
            };
            if row.status != status {
                return differs(&format!(
                    "status ({:?}, the events: {status:?})",
                    row.status
                ));
            }
            if row.custodian != state.custodian {
                return differs("custodian");
            }
            if row.shipped_to != state.shipped_to {
                return differs("shipped-to organisation");
            }
        }
        let links = self.store.all_links().await?;
        let mut from_links: BTreeSet<(i64, i64, u64, Option<u64>)> = BTreeSet::new();
        for l in &links {
            let bad = |what: &str| {
                Err(AuditError::Mismatch(fail(format!(
                    "component link row {} (device row {} in {}) {what}",
                    l.id, l.child, l.parent
                ))))
            };
            let Some((from, installed_time)) = l.installed_by else {
                return bad("names an installing event that is not in the log");
            };
            if installed_time != l.installed_at {
                return bad("was installed at another time than its event says");
            }
            let to = match l.removed_by {
                None if l.removed_at.is_some() => return bad("has a removal time but no removal"),
                None => None,
                Some(None) => return bad("names a removing event that is not in the log"),
                Some(Some((pos, time))) => {
                    if l.removed_at != Some(time) {
                        return bad("was removed at another time than its event says");
                    }
                    Some(pos)
                }
            };
            if !from_links.insert((l.child, l.parent, from, to)) {
                return bad("is stored twice");
            }
        }
        let from_events: BTreeSet<(i64, i64, u64, Option<u64>)> = replayed
            .iter()
            .filter(|i| i.kind == Kind::InstalledIn)
            .map(|i| (i.device, i.party, i.from, i.to))
            .collect();
        if let Some((child, parent, from, to)) = from_events
            .symmetric_difference(&from_links)
            .next()
            .copied()
        {
            let missing = !from_links.contains(&(child, parent, from, to));
            return Err(AuditError::Mismatch(fail(format!(
                "device row {child} installed in {parent} from position {from} to {}: {}",
                to.map_or("now".to_owned(), |t| t.to_string()),
                if missing {
                    "the events imply it, but no component link says so"
                } else {
                    "a component link says so, but the events do not"
                }
            ))));
        }
        Ok((rows.len() + links.len()) as u64)
    }
}
