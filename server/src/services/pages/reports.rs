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
pub const PER_NETWORK_PER_HOUR: NonZeroU32 = NonZeroU32::new(5).unwrap();
/// Reports one unit may receive: 10 a day.
pub const PER_UNIT_PER_DAY: NonZeroU32 = NonZeroU32::new(10).unwrap();

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
    units: DefaultKeyedRateLimiter<i64>,
}

impl ReportLimits {
    pub fn new() -> ReportLimits {
        ReportLimits {
            networks: RateLimiter::keyed(Quota::per_hour(PER_NETWORK_PER_HOUR)),
            units: RateLimiter::keyed(
                Quota::with_period(std::time::Duration::from_secs(
                    24 * 3600 / u64::from(PER_UNIT_PER_DAY.get()),
                ))
                .unwrap_or_else(|| Quota::per_hour(NonZeroU32::MIN))
                .allow_burst(PER_UNIT_PER_DAY),
            ),
        }
    }
}

impl Default for ReportLimits {
    fn default() -> Self {
        Self::new()
    }
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
        // Memory stays bounded: keys whose quota refilled are dropped.
        if limits.networks.len() > 10_000 {
            limits.networks.retain_recent();
        }
        if limits.units.len() > 10_000 {
            limits.units.retain_recent();
        }
        let clock = governor::clock::DefaultClock::default();
        let network = super::scans::prefix(client);
        if let Err(not_until) = limits.networks.check_key(&network) {
            use governor::clock::Clock;
            return Ok(Reported::Limited {
                retry_after: not_until.wait_time_from(clock.now()).as_secs().max(1),
            });
        }
        if let Err(not_until) = limits.units.check_key(&unit.card.device_id) {
            use governor::clock::Clock;
            return Ok(Reported::Limited {
                retry_after: not_until.wait_time_from(clock.now()).as_secs().max(1),
            });
        }
        let evidence = json!({
            "withCode": unit.viewer == PageViewer::Customer,
            "via": "page",
        });
        self.store
            .file_alert(
                kind.alert_kind(),
                unit.card.device_id,
                &evidence,
                Utc::now(),
            )
            .await?;
        Ok(Reported::Recorded)
    }
}
