//! Alerts over GraphQL (staff only): suspected copies of a label's code
//! and customers' reports, and staff's decisions on them.

use async_graphql::{Enum, Json, Result, SimpleObject};

use super::{ErrorCode, internal};
use crate::services::pages::alerts::{AlertError, AlertView, Decision};

/// An alert's state.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum AlertState {
    Open,
    Confirmed,
    Dismissed,
}

impl AlertState {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            AlertState::Open => "open",
            AlertState::Confirmed => "confirmed",
            AlertState::Dismissed => "dismissed",
        }
    }
}

/// What staff decide about an open alert.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum AlertDecision {
    /// It is so: a confirmed `copy_suspected` shows on the unit's page.
    Confirm,
    Dismiss,
}

impl From<AlertDecision> for Decision {
    fn from(d: AlertDecision) -> Decision {
        match d {
            AlertDecision::Confirm => Decision::Confirm,
            AlertDecision::Dismiss => Decision::Dismiss,
        }
    }
}

/// Something for staff to look at (docs/pages.md, "Alerts").
#[derive(SimpleObject)]
pub struct Alert {
    id: String,
    /// `copy_suspected`, `reported_stolen` or `reported_found`.
    kind: String,
    /// What of the unit it is about: `label-{generation}` for a suspected
    /// copy (of that label's code), `code` or `no-code` for a report (made
    /// with the label's code or without).
    scope: String,
    gtin: Option<String>,
    serial: Option<String>,
    /// What raised it: for `copy_suspected` the number of distinct
    /// networks, the window and the coarse countries.
    evidence: Json<serde_json::Value>,
    /// `open`, `confirmed` or `dismissed`.
    state: String,
    created_at: String,
    acknowledged_by: Option<String>,
    acknowledged_at: Option<String>,
}

fn time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl From<AlertView> for Alert {
    fn from(a: AlertView) -> Alert {
        Alert {
            id: a.id.to_string(),
            kind: a.kind,
            scope: a.scope,
            gtin: a.gtin,
            serial: a.serial,
            evidence: Json(a.evidence),
            state: a.state,
            created_at: time(a.created_at),
            acknowledged_by: a.acknowledged_by,
            acknowledged_at: a.acknowledged_at.map(time),
        }
    }
}

pub(super) fn error(e: AlertError) -> async_graphql::Error {
    match e {
        AlertError::Forbidden => ErrorCode::Forbidden.error(e.to_string()),
        AlertError::NotFound => ErrorCode::NotFound.error(e.to_string()),
        AlertError::InvalidInput(m) => ErrorCode::InvalidInput.error(m),
        AlertError::Store(s) => internal(s),
    }
}

pub(super) fn id(text: &str) -> Result<i64> {
    text.parse::<i64>()
        .map_err(|_| ErrorCode::NotFound.error("no open alert with this id"))
}
