//! The audit's check of the custody intervals (docs/ledger-format.md §7c,
//! item 10).

use super::{AuditError, fail};
use crate::domain::custody::{self, Interval, Kind};
use crate::services::Portal;

impl Portal {
    /// The custody intervals, recomputed from the events by capture's rules
    /// (holder, shipped-to, installed-in) and from the device rows (one open
    /// service-partner interval per assigned partner, at most one per
    /// device), must be the stored ones. Returns how many were compared.
    pub(super) async fn audit_custody(&self) -> Result<u64, AuditError> {
        let stored = self.store.all_intervals().await?;
        let (partners, from_events): (Vec<Interval>, Vec<Interval>) = stored
            .into_iter()
            .partition(|i| i.kind == Kind::ServicePartner);
        let replayed: std::collections::BTreeSet<Interval> =
            custody::replay(&self.store.replay_events().await?)
                .into_iter()
                .collect();
        let stored: std::collections::BTreeSet<Interval> = from_events.iter().cloned().collect();
        if stored.len() != from_events.len() {
            return Err(AuditError::Mismatch(fail(
                "a custody interval is stored twice",
            )));
        }
        if let Some(i) = replayed
            .difference(&stored)
            .chain(stored.difference(&replayed))
            .next()
        {
            let missing = !stored.contains(i);
            return Err(AuditError::Mismatch(fail(format!(
                "custody interval {} {} of organisation or device row {} from position {} to {}: {}",
                i.kind.as_str(),
                i.device,
                i.party,
                i.from,
                i.to.map_or("now".to_owned(), |t| t.to_string()),
                if missing {
                    "the events imply it, but it is not stored"
                } else {
                    "stored, but the events do not imply it"
                }
            ))));
        }
        let mut open: Vec<(i64, i64)> = partners
            .iter()
            .filter(|i| i.to.is_none())
            .map(|i| (i.device, i.party))
            .collect();
        open.sort_unstable();
        let assigned = self.store.service_partners().await?;
        if open != assigned {
            return Err(AuditError::Mismatch(fail(
                "the open service-partner intervals do not match the devices' service partners",
            )));
        }
        if let Some(i) = partners.iter().find(|i| i.to.is_some_and(|t| t <= i.from)) {
            return Err(AuditError::Mismatch(fail(format!(
                "service-partner interval of device row {} ends before it starts",
                i.device
            ))));
        }
        Ok((from_events.len() + partners.len()) as u64)
    }
}
