//! EPCIS 2.0 `errorDeclaration` (docs/device-lifecycle.md, "Corrections"):
//! its shape as sent, its validated form, and the check between them.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::event::{FieldError, MAX_FUTURE_SKEW};

/// EPCIS 2.0 `errorDeclaration`, as a client sends it: the event it is
/// part of was in error (docs/device-lifecycle.md, "Corrections").
#[derive(Clone, Debug, Default)]
pub struct RawErrorDeclaration {
    pub declaration_time: String,
    pub reason: Option<String>,
    pub corrective_event_ids: Vec<String>,
}

/// A validated `errorDeclaration`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorDeclaration {
    pub declaration_time: DateTime<Utc>,
    /// A CBV 2.0 error reason (`did_not_occur`, `incorrect_data`) or a full
    /// URI of the declarer's own.
    pub reason: Option<String>,
    pub corrective_event_ids: Vec<String>,
}

/// CBV 2.0 error reasons.
pub const ERROR_REASON: super::cbv::Vocabulary = super::cbv::Vocabulary {
    terms: &["did_not_occur", "incorrect_data"],
    web_prefix: "https://ref.gs1.org/cbv/ER-",
    urn_prefix: "urn:epcglobal:cbv:er:",
};

/// At most this many `correctiveEventIDs`.
pub const MAX_CORRECTIVE_EVENTS: usize = 64;

/// Checks a declaration; returns it with its stored (normalised) JSON.
pub(super) fn validate_declaration(
    d: RawErrorDeclaration,
    now: DateTime<Utc>,
) -> Result<(ErrorDeclaration, Value), FieldError> {
    let declaration_time = DateTime::parse_from_rfc3339(&d.declaration_time)
        .map_err(|e| FieldError::new("errorDeclaration", format!("declarationTime: {e}")))?
        .with_timezone(&Utc);
    if declaration_time > now + MAX_FUTURE_SKEW {
        return Err(FieldError::new(
            "errorDeclaration",
            "declarationTime lies in the future",
        ));
    }
    let reason = d
        .reason
        .as_deref()
        .map(|r| ERROR_REASON.normalise(r))
        .transpose()
        .map_err(|r| FieldError::new("errorDeclaration", format!("reason: {r}")))?;
    if d.corrective_event_ids.len() > MAX_CORRECTIVE_EVENTS
        || d.corrective_event_ids
            .iter()
            .any(|id| id.is_empty() || id.len() > 512 || id.trim() != id)
    {
        return Err(FieldError::new(
            "errorDeclaration",
            format!(
                "correctiveEventIDs: at most {MAX_CORRECTIVE_EVENTS} eventIDs of 1-512 characters"
            ),
        ));
    }
    let mut value = json!({
        "declarationTime": declaration_time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    });
    if let Some(r) = &reason {
        value["reason"] = json!(r);
    }
    if !d.corrective_event_ids.is_empty() {
        value["correctiveEventIDs"] = json!(d.corrective_event_ids);
    }
    Ok((
        ErrorDeclaration {
            declaration_time,
            reason,
            corrective_event_ids: d.corrective_event_ids,
        },
        value,
    ))
}
