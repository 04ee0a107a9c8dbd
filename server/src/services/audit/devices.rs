//! The audit's check of the device rows and component links (docs/
//! ledger-format.md §7c, item 11): what drives access and public status
//! must be what the events say.

use std::collections::{BTreeSet, HashMap};

use super::{AuditError, fail};
use crate::domain::custody::{Interval, Kind, State};
use crate::domain::event::device_key_of;
use crate::services::Portal;
use crate::services::capture::{DECLARATION_SUFFIX, status_of};
use crate::store::audit_rows::DeviceRowState;

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
        let rows = self.store.device_row_states().await?;
        self.audit_roles_and_declarations(&rows).await?;
        let histories = self.store.all_status_histories().await?;
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

    /// What the status and custody replays read besides the events'
    /// columns: each (event, device) row's role is the one the committed
    /// `parentID`, `epcList` and `childEPCs` give (the first list naming
    /// the device, in that order), and `event_declaration` holds exactly
    /// the pairs the committed eventIDs imply (`X` and `X#errorDeclaration`).
    async fn audit_roles_and_declarations(
        &self,
        rows: &[DeviceRowState],
    ) -> Result<(), AuditError> {
        let ids: HashMap<&str, i64> = rows.iter().map(|r| (r.key.as_str(), r.id)).collect();
        let mut expected: BTreeSet<(i64, i64, &'static str)> = BTreeSet::new();
        for (event, lists) in self.store.device_lists().await? {
            let mut named: Vec<(&'static str, Vec<String>)> = Vec::new();
            for (role, field) in [
                ("parent", "parentID"),
                ("epc", "epcList"),
                ("child", "childEPCs"),
            ] {
                let Some((_, text)) = lists.iter().find(|(n, _)| n == field) else {
                    continue;
                };
                let uris: Vec<String> = match serde_json::from_str::<serde_json::Value>(text) {
                    Ok(serde_json::Value::String(u)) => vec![u],
                    Ok(serde_json::Value::Array(a)) => a
                        .into_iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect(),
                    _ => Vec::new(),
                };
                named.push((role, uris));
            }
            let mut seen = std::collections::HashSet::new();
            for (role, uris) in named {
                for uri in uris {
                    let device = device_key_of(&uri)
                        .and_then(|k| ids.get(k.to_string().as_str()).copied())
                        .ok_or_else(|| {
                            AuditError::Mismatch(fail(format!(
                                "event row {event} names {uri}, which is no stored device"
                            )))
                        })?;
                    if seen.insert(device) {
                        expected.insert((event, device, role));
                    }
                }
            }
        }
        let mut stored: BTreeSet<(i64, i64, &'static str)> = BTreeSet::new();
        for (event, device, role) in self.store.event_roles().await? {
            let role = match role.as_str() {
                "parent" => "parent",
                "epc" => "epc",
                "child" => "child",
                _ => {
                    return Err(AuditError::Mismatch(fail(format!(
                        "event row {event} names device row {device} in an unknown role {role:?}"
                    ))));
                }
            };
            stored.insert((event, device, role));
        }
        if let Some((event, device, role)) = expected.symmetric_difference(&stored).next() {
            return Err(AuditError::Mismatch(fail(format!(
                "event row {event}, device row {device}: the role {role} is {}",
                if stored.contains(&(*event, *device, *role)) {
                    "stored, but the committed lists do not give it"
                } else {
                    "what the committed lists give, but it is not stored"
                }
            ))));
        }
        let by_event_id: HashMap<String, i64> = self
            .store
            .event_ids()
            .await?
            .into_iter()
            .map(|(id, e)| (e, id))
            .collect();
        let implied: BTreeSet<(i64, i64)> = by_event_id
            .iter()
            .filter_map(|(e, declaration)| {
                let declared = e.strip_suffix(DECLARATION_SUFFIX)?;
                Some((*by_event_id.get(declared)?, *declaration))
            })
            .collect();
        let stored: BTreeSet<(i64, i64)> = self.store.declarations().await?.into_iter().collect();
        if let Some((declared, by)) = implied.symmetric_difference(&stored).next() {
            return Err(AuditError::Mismatch(fail(format!(
                "the declaration of event row {declared} by event row {by} {}",
                if stored.contains(&(*declared, *by)) {
                    "is recorded, but no committed eventID says so"
                } else {
                    "is what the committed eventIDs say, but it is not recorded"
                }
            ))));
        }
        Ok(())
    }
}
