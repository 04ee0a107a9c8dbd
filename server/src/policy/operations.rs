//! What a viewer may do, apart from reading fields (the policy table):
//! `may(viewer, relationship, operation)`. Two tables, in code and in
//! docs/access-policy.md ("Operations", "Capture by relationship"), which
//! tests keep equal cell by cell.

use super::Relationship;
use crate::domain::cbv::{BizStep, Disposition};
use crate::domain::principal::{Audience, Role, Viewer};

/// What a capture does to a device, as far as who may capture it goes
/// (docs/device-lifecycle.md, "Who may capture what").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CaptureKind {
    /// bizStep `commissioning`.
    Commission,
    /// disposition `recalled`.
    Recall,
    /// bizStep `decommissioning` or `destroying`, disposition `destroyed`.
    EndLife,
    /// disposition `stolen`.
    ReportStolen,
    /// bizStep `urn:provenance-portal:bizstep:recovering`.
    Recover,
    /// bizStep `receiving`.
    Receive,
    /// Any other event.
    Other,
}

impl CaptureKind {
    pub const ALL: [CaptureKind; 7] = [
        CaptureKind::Commission,
        CaptureKind::Recall,
        CaptureKind::EndLife,
        CaptureKind::ReportStolen,
        CaptureKind::Recover,
        CaptureKind::Receive,
        CaptureKind::Other,
    ];

    /// The kind of an event with this step and disposition; the first rule
    /// that matches wins.
    pub fn of(biz_step: Option<&BizStep>, disposition: Option<&Disposition>) -> CaptureKind {
        if biz_step == Some(&BizStep::Commissioning) {
            CaptureKind::Commission
        } else if disposition == Some(&Disposition::Recalled) {
            CaptureKind::Recall
        } else if disposition == Some(&Disposition::Destroyed)
            || matches!(
                biz_step,
                Some(BizStep::Decommissioning | BizStep::Destroying)
            )
        {
            CaptureKind::EndLife
        } else if disposition == Some(&Disposition::Stolen) {
            CaptureKind::ReportStolen
        } else if biz_step.is_some_and(BizStep::is_recovering) {
            CaptureKind::Recover
        } else if biz_step == Some(&BizStep::Receiving) {
            CaptureKind::Receive
        } else {
            CaptureKind::Other
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CaptureKind::Commission => "commission",
            CaptureKind::Recall => "recall",
            CaptureKind::EndLife => "decommission or destroy",
            CaptureKind::ReportStolen => "report stolen",
            CaptureKind::Recover => "record a recovery",
            CaptureKind::Receive => "receive",
            CaptureKind::Other => "any other event",
        }
    }

    /// Why a partner may not, for the message of a refusal.
    fn refusal(self, relationship: Relationship) -> &'static str {
        match self {
            CaptureKind::Commission => "only the manufacturer commissions devices",
            CaptureKind::Recall => "only the manufacturer recalls devices",
            CaptureKind::EndLife => {
                "only the manufacturer, or a distributor holding it, decommissions or destroys a device"
            }
            CaptureKind::ReportStolen => {
                "only its holder or the manufacturer reports a device stolen"
            }
            CaptureKind::Recover => "only its holder or the manufacturer records a recovery",
            _ if relationship == Relationship::ShippedTo => {
                "a device shipped to you takes only its receipt"
            }
            _ => "the device is not yours to capture",
        }
    }
}

/// An operation a service asks the policy about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    /// `captureEvents` at all (which events, for which devices, is
    /// [`Operation::Capture`]).
    CaptureEvents,
    /// Capturing an event of this kind for one device of its `epcList`,
    /// standing in the relationship given towards it now.
    Capture(CaptureKind),
    /// Declaring captured events in error (`errorDeclaration`).
    DeclareInError,
    /// Products, organisations, locations, regions, warranty providers and
    /// service-partner assignments.
    WriteReferenceData,
    /// `accessLog`.
    ReadAccessLog,
    /// `requestPersonalData`, with a stated reason.
    RequestPersonalData,
    /// Every device exists for the viewer (no relationship needed).
    SeeEveryDevice,
    /// A unit's history (each field then decided by the policy table).
    ReadHistory,
    /// Printing and reprinting units' labels, which carry their
    /// verification codes (docs/labels.md).
    PrintLabels,
    /// Reading and deciding alerts: suspected copies of a label's code and
    /// customers' reports (docs/pages.md).
    ReviewAlerts,
}

impl Operation {
    /// The operations of the "Operations" table, which the relationship
    /// does not change.
    pub const TABLE: [Operation; 9] = [
        Operation::CaptureEvents,
        Operation::DeclareInError,
        Operation::WriteReferenceData,
        Operation::ReadAccessLog,
        Operation::RequestPersonalData,
        Operation::SeeEveryDevice,
        Operation::ReadHistory,
        Operation::PrintLabels,
        Operation::ReviewAlerts,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Operation::CaptureEvents => "capture events",
            Operation::Capture(kind) => kind.as_str(),
            Operation::DeclareInError => "declare events in error",
            Operation::WriteReferenceData => "write reference data",
            Operation::ReadAccessLog => "read the access log",
            Operation::RequestPersonalData => "request personal data",
            Operation::SeeEveryDevice => "see every device",
            Operation::ReadHistory => "read a unit's history",
            Operation::PrintLabels => "print labels",
            Operation::ReviewAlerts => "review alerts",
        }
    }
}

/// Whether `viewer`, standing in `relationship` towards the device the
/// operation is about (`Relationship::None` when it is about none), may
/// perform `op`.
pub fn may(viewer: Viewer<'_>, relationship: Relationship, op: Operation) -> bool {
    match viewer {
        Viewer::Member(p) => role_may(p.role, relationship, op),
        // A page without the code shows that the unit exists and its
        // status, never its history.
        Viewer::Anonymous => false,
        Viewer::Customer | Viewer::Certificate(Audience::Public) => op == Operation::ReadHistory,
        Viewer::Certificate(Audience::Regulator) => {
            matches!(op, Operation::ReadHistory | Operation::SeeEveryDevice)
        }
    }
}

pub(super) fn role_may(role: Role, relationship: Relationship, op: Operation) -> bool {
    use Operation::*;
    use Role::*;
    match op {
        CaptureEvents => matches!(role, Admin | Staff | Distributor | ServicePartner),
        Capture(kind) => match role {
            Admin | Staff => true,
            Distributor | ServicePartner => partner_may_capture(role, relationship, kind),
            WarrantyAgent | Regulator | Auditor => false,
        },
        DeclareInError | WriteReferenceData => matches!(role, Admin | Staff),
        ReadAccessLog => matches!(role, Admin | Auditor),
        RequestPersonalData => matches!(role, Regulator),
        SeeEveryDevice => matches!(role, Admin | Staff | Regulator | Auditor),
        ReadHistory => true,
        PrintLabels | ReviewAlerts => matches!(role, Admin | Staff),
    }
}

/// docs/device-lifecycle.md, "Who may capture what": a partner captures
/// for what it holds (`current custodian`), takes the receipt of what was
/// shipped to it, and a service partner captures repairs and the like for
/// what it services.
fn partner_may_capture(role: Role, relationship: Relationship, kind: CaptureKind) -> bool {
    use CaptureKind::*;
    use Relationship::*;
    match kind {
        Commission | Recall => false,
        EndLife => role == Role::Distributor && relationship == CurrentCustodian,
        ReportStolen | Recover => relationship == CurrentCustodian,
        Receive => matches!(relationship, CurrentCustodian | ShippedTo | ServicePartner),
        Other => matches!(relationship, CurrentCustodian | ServicePartner),
    }
}

/// Why the role may not capture an event with this step and disposition
/// for any device at all, with the member that says so; capture asks this
/// before it loads a single device.
pub fn role_refusal(
    role: Role,
    biz_step: Option<&BizStep>,
    disposition: Option<&Disposition>,
) -> Option<(&'static str, &'static str)> {
    let kind = CaptureKind::of(biz_step, disposition);
    if Relationship::ALL
        .iter()
        .any(|r| role_may(role, *r, Operation::Capture(kind)))
    {
        return None;
    }
    // The member that made the event this kind (`CaptureKind::of`).
    let member = match kind {
        CaptureKind::Recall | CaptureKind::ReportStolen => "disposition",
        CaptureKind::EndLife if disposition == Some(&Disposition::Destroyed) => "disposition",
        _ => "bizStep",
    };
    Some((member, kind.refusal(Relationship::None)))
}

/// Why the role may not capture an event with this step and disposition
/// for a device it stands towards as given, or None when it may.
pub fn capture_refusal(
    role: Role,
    relationship: Relationship,
    biz_step: Option<&BizStep>,
    disposition: Option<&Disposition>,
) -> Option<&'static str> {
    let kind = CaptureKind::of(biz_step, disposition);
    (!role_may(role, relationship, Operation::Capture(kind))).then(|| kind.refusal(relationship))
}

#[cfg(test)]
#[path = "operations_tests.rs"]
mod tests;
