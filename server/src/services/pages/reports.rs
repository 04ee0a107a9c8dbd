//! Customers' reports that a unit was stolen or found (docs/pages.md,
//! "Reports"): no account, a form on the unit's page, rate-limited per
//! network and per unit, recorded as an alert for staff. A report changes
//! nothing by itself: staff confirm it and capture the event.

use std::net::IpAddr;
use std::num::NonZeroU32;

use chrono::Utc;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde_json::json;

use super::{PageUnit, PageViewer};
use crate::services::Portal;
use crate::store::StoreError;

/// Reports a network may file: 5 an hour.
pub const PER_NETWORK_PER_HOUR: NonZeroU32 = NonZeroU32::MIN.saturating_add(5 - 1);
/// Reports one unit may receive: 10 a day.
pub const PER_UNIT_PER_DAY: NonZeroU32 = NonZeroU32::MIN.saturating_add(10 - 1);

/// What a customer reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportKind {
    Stolen,
    Found,
}

impl ReportKind {
    pub fn parse(text: &str) -> Option<ReportKind> {
        match text {
            "stolen" => Some(ReportKind::Stolen),
            "found" => Some(ReportKind::Found),
            _ => None,
        }
    }

    pub fn alert_kind(self) -> &'static str {
        match self {
            ReportKind::Stolen => "reported_stolen",
            ReportKind::Found => "reported_found",
        }
    }
}

/// The outcome of a report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reported {
    /// Recorded for staff (or already open for them).
    Recorded,
    /// Too many reports; try again after this many seconds.
    Limited { retry_after: u64 },
}

pub struct ReportLimits {
    networks: DefaultKeyedRateLimiter<Vec<u8>>,
    /// Per unit, reports without the code.
    units: DefaultKeyedRateLimiter<i64>,
    /// Per unit, reports with the code: its own limiter, so that reports
    /// without it can use up neither its quota nor its room (only code
    /// holders make keys here).
    owners: DefaultKeyedRateLimiter<i64>,
}

/// Keys each limiter holds at most; past it, new keys are refused until
/// [`ReportLimits::prune`] drops the refilled ones.
const MAX_KEYS: usize = 100_000;

impl ReportLimits {
    pub fn new() -> ReportLimits {
        let per_unit = || {
            Quota::with_period(std::time::Duration::from_secs(
                24 * 3600 / u64::from(PER_UNIT_PER_DAY.get()),
            ))
            .unwrap_or_else(|| Quota::per_hour(NonZeroU32::MIN))
            .allow_burst(PER_UNIT_PER_DAY)
        };
        ReportLimits {
            networks: RateLimiter::keyed(Quota::per_hour(PER_NETWORK_PER_HOUR)),
            units: RateLimiter::keyed(per_unit()),
            owners: RateLimiter::keyed(per_unit()),
        }
    }

    /// Drops the keys whose quota refilled (on the flusher's timer, not on
    /// a request).
    pub fn prune(&self) {
        self.networks.retain_recent();
        self.units.retain_recent();
        self.owners.retain_recent();
    }
}

impl Default for ReportLimits {
    fn default() -> Self {
        Self::new()
    }
}

fn limited<K: std::hash::Hash + Eq + Clone>(
    limiter: &DefaultKeyedRateLimiter<K>,
    key: &K,
    capped: bool,
) -> Option<u64> {
    use governor::clock::Clock;
    if capped && limiter.len() >= MAX_KEYS {
        // Full until the next prune: refused, so memory stays bounded.
        return Some(60);
    }
    limiter.check_key(key).err().map(|not_until| {
        not_until
            .wait_time_from(governor::clock::DefaultClock::default().now())
            .as_secs()
            .max(1)
    })
}

impl Portal {
    /// Records a customer's report about a unit.
    pub async fn report_unit(
        &self,
        unit: &PageUnit,
        kind: ReportKind,
        client: IpAddr,
    ) -> Result<Reported, StoreError> {
        let limits = &self.pages.reports;
        let with_code = unit.viewer == PageViewer::Customer;
        let network = super::scans::prefix(client);
        // The owner's reports are limited per unit only: a flood from many
        // networks without the code must not silence them.
        let limit = if with_code {
            limited(&limits.owners, &unit.card.device_id, false)
        } else {
            limited(&limits.networks, &network, true)
                .or_else(|| limited(&limits.units, &unit.card.device_id, true))
        };
        if let Some(retry_after) = limit {
            return Ok(Reported::Limited { retry_after });
        }
        let evidence = json!({
            "withCode": with_code,
            "via": "page",
        });
        self.store
            .file_alert(
                kind.alert_kind(),
                if with_code { "code" } else { "no-code" },
                unit.card.device_id,
                &evidence,
                Utc::now(),
            )
            .await?;
        Ok(Reported::Recorded)
    }
}
