//! What the audit reports: the first mismatch and where, or why it could
//! not run.

use std::fmt;

use crate::store::StoreError;
use crate::store::log::LeafRow;

/// The first thing that does not match, and where.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Finding {
    pub what: String,
    pub leaf: Option<i64>,
    pub event: Option<String>,
    pub device: Option<String>,
    pub field: Option<String>,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.what)?;
        if let Some(l) = self.leaf {
            write!(f, "; leaf index {l}")?;
        }
        if let Some(e) = &self.event {
            write!(f, "; event {e}")?;
        }
        if let Some(d) = &self.device {
            write!(f, "; device {d}")?;
        }
        if let Some(x) = &self.field {
            write!(f, "; field {x}")?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// Exit 1.
    #[error("audit failed: {0}")]
    Mismatch(Finding),
    /// Exit 2.
    #[error("audit could not run: {0}")]
    CannotRun(String),
}

impl From<StoreError> for AuditError {
    fn from(e: StoreError) -> Self {
        AuditError::CannotRun(e.to_string())
    }
}

pub(super) fn fail(what: impl Into<String>) -> Finding {
    Finding {
        what: what.into(),
        ..Default::default()
    }
}

impl Finding {
    pub(super) fn at_leaf(mut self, row: &LeafRow) -> Self {
        self.leaf = Some(row.leaf_index);
        self
    }
    pub(super) fn event(mut self, e: &str) -> Self {
        self.event = Some(e.to_owned());
        self
    }
    pub(super) fn device(mut self, d: &str) -> Self {
        self.device = Some(d.to_owned());
        self
    }
    pub(super) fn field(mut self, f: &str) -> Self {
        self.field = Some(f.to_owned());
        self
    }
}
