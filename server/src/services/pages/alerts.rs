//! Alerts for staff (docs/pages.md, "Alerts"): a code scanned from too many
//! networks (`copy_suspected`) and customers' reports (`reported_stolen`,
//! `reported_found`). Staff confirm or dismiss each; a confirmed
//! `copy_suspected` shows on the unit's page.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::auth::Principal;
use crate::policy::{self, Operation, Relationship};
use crate::services::Portal;
use crate::store::StoreError;
use crate::store::pages::AlertRow;

/// At most this many alerts per read.
pub const MAX_ALERTS: u64 = 500;

/// An alert as staff see it.
#[derive(Clone, Debug)]
pub struct AlertView {
    pub id: i64,
    pub kind: String,
    pub scope: String,
    pub gtin: Option<String>,
    pub serial: Option<String>,
    pub evidence: Value,
    pub state: String,
    pub created_at: DateTime<Utc>,
    pub acknowledged_by: Option<String>,
    pub acknowledged_at: Option<DateTime<Utc>>,
}

#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    #[error("only the manufacturer's staff review alerts")]
    Forbidden,
    #[error("no open alert with this id")]
    NotFound,
    #[error("{0}")]
    InvalidInput(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What staff decide about an open alert.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Confirm,
    Dismiss,
}

impl Decision {
    fn state(self) -> &'static str {
        match self {
            Decision::Confirm => "confirmed",
            Decision::Dismiss => "dismissed",
        }
    }
}

pub const STATES: [&str; 3] = ["open", "confirmed", "dismissed"];

pub const KINDS: [&str; 3] = ["copy_suspected", "reported_stolen", "reported_found"];

impl Portal {
    fn may_review(principal: &Principal) -> Result<(), AlertError> {
        if policy::may(
            principal.into(),
            Relationship::None,
            Operation::ReviewAlerts,
        ) {
            Ok(())
        } else {
            Err(AlertError::Forbidden)
        }
    }

    async fn alert_view(&self, row: AlertRow) -> Result<AlertView, AlertError> {
        let device = match row.device_id {
            Some(id) => self.store.device_by_id(id).await?,
            None => None,
        };
        Ok(AlertView {
            id: row.id,
            kind: row.kind,
            scope: row.scope,
            gtin: device.as_ref().map(|d| d.gtin.clone()),
            serial: device.map(|d| d.serial),
            evidence: serde_json::from_str(&row.evidence).unwrap_or(Value::Null),
            state: row.state,
            created_at: row.created_at,
            acknowledged_by: row.acknowledged_by,
            acknowledged_at: row.acknowledged_at,
        })
    }

    /// The alerts in a state and of a kind (all without), newest first,
    /// older than the alert `before` when given.
    pub async fn alerts(
        &self,
        principal: &Principal,
        state: Option<&str>,
        kind: Option<&str>,
        before: Option<i64>,
        limit: u64,
    ) -> Result<Vec<AlertView>, AlertError> {
        Self::may_review(principal)?;
        if let Some(s) = state
            && !STATES.contains(&s)
        {
            return Err(AlertError::InvalidInput(format!(
                "state must be one of {}",
                STATES.join(", ")
            )));
        }
        let mut out = Vec::new();
        if let Some(k) = kind
            && !KINDS.contains(&k)
        {
            return Err(AlertError::InvalidInput(format!(
                "kind must be one of {}",
                KINDS.join(", ")
            )));
        }
        for row in self
            .store
            .alerts(state, kind, before, limit.min(MAX_ALERTS))
            .await?
        {
            out.push(self.alert_view(row).await?);
        }
        Ok(out)
    }

    /// Confirms or dismisses an open alert.
    pub async fn decide_alert(
        &self,
        principal: &Principal,
        id: i64,
        decision: Decision,
    ) -> Result<AlertView, AlertError> {
        Self::may_review(principal)?;
        let by = if principal.subject.contains('@') {
            principal.subject.clone()
        } else {
            format!("{}@{}", principal.subject, principal.org)
        };
        let row = self
            .store
            .decide_alert(id, decision.state(), &by, Utc::now())
            .await?
            .ok_or(AlertError::NotFound)?;
        tracing::info!(alert = id, state = decision.state(), by = %by, "an alert was decided");
        // This process's pages show the decision at once.
        self.refresh_pages().await;
        self.alert_view(row).await
    }
}
