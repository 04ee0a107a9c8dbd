//! The audit's check of the custody intervals (docs/ledger-format.md §7c,
//! item 10).

use std::collections::{BTreeMap, BTreeSet};

use super::{AuditError, fail};
use crate::domain::custody::{self, Interval, Kind};
use crate::services::Portal;

/// An assignment's `[from, to)`.
type Span = (u64, Option<u64>);

impl Portal {
    /// The custody intervals, recomputed from the events by capture's rules
    /// (holder, shipped-to, installed-in) and from the device rows (one open
    /// service-partner interval per assigned partner, at most one per
    /// device), and the warranty-provider intervals from those and the
    /// assignments, must be the stored ones. Returns how many were
    /// compared.
    pub(super) async fn audit_custody(&self) -> Result<(u64, u64), AuditError> {
        let stored = self.store.all_intervals().await?;
        let (partners, rest): (Vec<Interval>, Vec<Interval>) = stored
            .into_iter()
            .partition(|i| i.kind == Kind::ServicePartner);
        let (warranty, from_events): (Vec<Interval>, Vec<Interval>) = rest
            .into_iter()
            .partition(|i| i.kind == Kind::WarrantyProvider);
        let (replayed, states) = custody::replay_with_state(&self.store.replay_events().await?);
        compare(&replayed, &from_events, "the events imply it")?;
        let rows = self.audit_device_rows(&replayed, &states).await?;
        self.audit_assignments().await?;
        let implied = self
            .store
            .coverage()
            .await?
            .intervals(&replayed, &self.store.device_products().await?);
        compare(
            &implied,
            &warranty,
            "the events and the warranty assignments imply it",
        )?;
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
        Ok((
            (from_events.len() + partners.len() + warranty.len()) as u64,
            rows,
        ))
    }

    /// Each product's assignments in a region follow one another: each ends
    /// after it starts, none overlaps the next, at most one is open.
    async fn audit_assignments(&self) -> Result<(), AuditError> {
        let mut by_key: BTreeMap<(i64, i64), Vec<Span>> = BTreeMap::new();
        for a in self.store.assignments().await? {
            by_key
                .entry((a.product, a.region))
                .or_default()
                .push((a.from, a.to));
        }
        for ((product, region), mut spans) in by_key {
            spans.sort();
            let bad = spans.iter().any(|(f, t)| t.is_some_and(|t| t <= *f))
                || spans
                    .windows(2)
                    .any(|w| w[0].1.is_none_or(|end| end > w[1].0));
            if bad {
                return Err(AuditError::Mismatch(fail(format!(
                    "the warranty assignments of product row {product} in region row {region} overlap or end before they start"
                ))));
            }
        }
        Ok(())
    }
}

/// The stored intervals of some kinds must be exactly the implied ones.
/// Intervals of one device, kind and party that meet (`[a, p)` and
/// `[p, b)`) say the same as `[a, b)` and compare as it: an assignment and
/// an event at the same position may leave either form.
fn compare(implied: &[Interval], stored: &[Interval], why: &str) -> Result<(), AuditError> {
    let set: BTreeSet<&Interval> = stored.iter().collect();
    if set.len() != stored.len() {
        return Err(AuditError::Mismatch(fail(
            "a custody interval is stored twice",
        )));
    }
    let (implied, stored) = (merged(implied), merged(stored));
    let implied: BTreeSet<&Interval> = implied.iter().collect();
    let set: BTreeSet<&Interval> = stored.iter().collect();
    if let Some(i) = implied
        .difference(&set)
        .chain(set.difference(&implied))
        .next()
    {
        let missing = !set.contains(i);
        return Err(AuditError::Mismatch(fail(format!(
            "custody interval {} {} of organisation or device row {} from position {} to {}: {}",
            i.kind.as_str(),
            i.device,
            i.party,
            i.from,
            i.to.map_or("now".to_owned(), |t| t.to_string()),
            if missing {
                format!("{why}, but it is not stored")
            } else {
                format!("stored, but nothing implies it ({why} otherwise)")
            }
        ))));
    }
    Ok(())
}

fn merged(intervals: &[Interval]) -> Vec<Interval> {
    let mut sorted: Vec<Interval> = intervals.to_vec();
    sorted.sort_by_key(|i| (i.device, i.kind, i.party, i.from));
    let mut out: Vec<Interval> = Vec::with_capacity(sorted.len());
    for i in sorted {
        match out.last_mut() {
            Some(last)
                if (last.device, last.kind, last.party) == (i.device, i.kind, i.party)
                    && last.to == Some(i.from) =>
            {
                last.to = i.to;
            }
            _ => out.push(i),
        }
    }
    out
}
