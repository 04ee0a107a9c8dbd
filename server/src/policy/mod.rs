//! Who may see what: the one place that decides. From (the caller's role,
//! the caller's organisation's relationship to the device when the event
//! happened, the field's class) it decides whether a field is disclosed,
//! shown as its ledger commitment only, or absent. The same table is in
//! docs/access-policy.md; a test fails when the two differ. Services ask it;
//! nothing else decides.

mod operations;
pub use operations::{CaptureKind, Operation, capture_refusal, may, role_refusal};

use crate::domain::custody::{Custody, Kind, span_at};
use crate::domain::principal::{Audience, Role, Viewer};
use crate::domain::visibility::Visibility;

/// The caller's organisation's relationship to a device, for one event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Relationship {
    /// It holds the device now, and held it when the event happened.
    CurrentCustodian,
    /// It held the device when the event happened (or captured the event),
    /// and holds it no longer.
    PastCustodian,
    /// It is the device's assigned service partner.
    ServicePartner,
    /// It is the warranty provider assigned to the device's product in the
    /// device's region.
    WarrantyProvider,
    /// The device was shipped to it and it has not received it yet.
    ShippedTo,
    /// None of the above (always, for a viewer that is no member).
    None,
}

impl Relationship {
    pub const ALL: [Relationship; 6] = [
        Relationship::CurrentCustodian,
        Relationship::PastCustodian,
        Relationship::ServicePartner,
        Relationship::WarrantyProvider,
        Relationship::ShippedTo,
        Relationship::None,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Relationship::CurrentCustodian => "current custodian",
            Relationship::PastCustodian => "past custodian",
            Relationship::ServicePartner => "service partner",
            Relationship::WarrantyProvider => "warranty provider",
            Relationship::ShippedTo => "shipped to",
            Relationship::None => "none",
        }
    }
}

/// What a caller gets of one field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disclosure {
    /// The value.
    Disclose,
    /// Only the field's commitment in the public log (its name and the
    /// 32-byte hash), never the value.
    Commitment,
    /// Nothing: the field is not in the response at all.
    Absent,
}

impl Disclosure {
    pub fn as_str(self) -> &'static str {
        match self {
            Disclosure::Disclose => "disclose",
            Disclosure::Commitment => "commitment",
            Disclosure::Absent => "absent",
        }
    }
}

/// Whether the role captures events at all (docs/device-lifecycle.md, "Who
/// may capture what", decides which). Only such principals may send large
/// request bodies.
pub fn may_capture(role: Role) -> bool {
    operations::role_may(role, Relationship::None, Operation::CaptureEvents)
}

/// The policy table (docs/access-policy.md, "Policy table"): what `viewer`
/// gets of a field of `class` of an event of a device it stood in
/// `relationship` to when the event happened — or, for a device's own
/// attributes (status, custodian, revision, …), stands in now.
pub fn decide(viewer: Viewer<'_>, relationship: Relationship, class: Visibility) -> Disclosure {
    match viewer {
        Viewer::Member(p) => decide_role(p.role, relationship, class),
        Viewer::Certificate(Audience::Regulator) => {
            decide_role(Role::Regulator, Relationship::None, class)
        }
        // The public: public fields only (whether it reads a history at
        // all is `Operation::ReadHistory`).
        Viewer::Anonymous | Viewer::Customer | Viewer::Certificate(Audience::Public) => {
            if class == Visibility::Public {
                Disclosure::Disclose
            } else {
                Disclosure::Absent
            }
        }
    }
}

fn decide_role(role: Role, relationship: Relationship, class: Visibility) -> Disclosure {
    use Disclosure::{Absent, Commitment, Disclose};
    use Visibility::{Internal, Partner, Personal, Public};
    match role {
        // The manufacturer sees everything it recorded.
        Role::Admin | Role::Staff => Disclose,
        // Every device, every field but personal ones, which come only
        // with an audited request; their commitments prove they exist.
        Role::Regulator => match class {
            Personal => Commitment,
            _ => Disclose,
        },
        // Ledger metadata only: every field as its commitment.
        Role::Auditor => Commitment,
        // Partners: public fields always; partner fields of what happened
        // while they held the device, or of any event of a device they
        // service; never internal or personal fields. A warranty provider
        // sees the device and its public fields: partner fields come only
        // with a claim (issue 17). A device shipped to it and not yet
        // received is not yet its own.
        Role::Distributor | Role::ServicePartner | Role::WarrantyAgent => {
            match (relationship, class) {
                (_, Public) => Disclose,
                (
                    Relationship::None | Relationship::WarrantyProvider | Relationship::ShippedTo,
                    Partner,
                ) => Absent,
                (_, Partner) => Disclose,
                (_, Internal | Personal) => Absent,
            }
        }
    }
}

/// The viewer's relationship to a device now, for the device's own
/// attributes: its holder (`custodian`, a slug), its service partner, or
/// none.
pub fn relationship_now(
    viewer: Viewer<'_>,
    custodian: Option<&str>,
    service_partner: Option<&str>,
) -> Relationship {
    let Some(p) = viewer.principal() else {
        return Relationship::None;
    };
    let org = Some(p.org.as_str());
    if custodian == org {
        Relationship::CurrentCustodian
    } else if service_partner == org {
        Relationship::ServicePartner
    } else {
        Relationship::None
    }
}

/// The field classes a role may read on some device: what capture errors
/// and component views may mention.
pub fn visible_classes(role: Role) -> Vec<Visibility> {
    Visibility::ALL
        .into_iter()
        .filter(|class| {
            Relationship::ALL
                .iter()
                .any(|rel| decide_role(role, *rel, *class) == Disclosure::Disclose)
        })
        .collect()
}

/// Whether a role sees every device; the other roles see only devices their
/// organisation holds or held, was shipped, or services — any other device
/// does not exist for them.
pub fn sees_every_device(role: Role) -> bool {
    operations::role_may(role, Relationship::None, Operation::SeeEveryDevice)
}

/// The organisation's relationship to `device` at the event whose leaf for
/// the device is `leaf`, from the custody intervals (docs/access-policy.md,
/// "Relationships"). A service partner relates to every event of the
/// device it services, while it services it; a holder to the events while
/// it held the device, directly or through a device it was installed in:
/// current custodian while that custody lasts, past custodian after.
pub fn relationship_at(custody: &Custody, device: i64, org: i64, leaf: u64) -> Relationship {
    relationships_at(custody, device, org, &[leaf])
        .pop()
        .unwrap_or(Relationship::None)
}

/// [`relationship_at`] for many events of one device: the spans are
/// computed once.
pub fn relationships_at(
    custody: &Custody,
    device: i64,
    org: i64,
    leaves: &[u64],
) -> Vec<Relationship> {
    if custody.is_open(device, Kind::ServicePartner, org) {
        return vec![Relationship::ServicePartner; leaves.len()];
    }
    let spans = custody.held_spans(device, org);
    let otherwise = if custody.is_open(device, Kind::WarrantyProvider, org) {
        Relationship::WarrantyProvider
    } else if custody.is_open(device, Kind::ShippedTo, org) {
        Relationship::ShippedTo
    } else {
        Relationship::None
    };
    leaves
        .iter()
        .map(|leaf| match span_at(&spans, *leaf) {
            Some(true) => Relationship::CurrentCustodian,
            Some(false) => Relationship::PastCustodian,
            None => otherwise,
        })
        .collect()
}

/// Whether the organisation may see the device at all (for roles that do
/// not see every device): it holds or held it (directly, or through a
/// device it was in while it was in there), it was shipped to it, it
/// services it; or the device is installed now in one the organisation
/// holds, was shipped or services now. Otherwise the device does not exist
/// for it. (Having held a pack once does not reveal what was installed in
/// it after it left.)
pub fn may_see_device(custody: &Custody, device: i64, org: i64) -> bool {
    let now = |d: i64| {
        custody.is_open(d, Kind::ShippedTo, org)
            || custody.is_open(d, Kind::ServicePartner, org)
            || custody.is_open(d, Kind::WarrantyProvider, org)
    };
    if !custody.held_spans(device, org).is_empty() || now(device) {
        return true;
    }
    let mut current = device;
    for _ in 0..crate::domain::custody::MAX_ASSEMBLY_DEPTH {
        match custody.parent_now(current) {
            Some(p) => current = p,
            None => return false,
        }
        if custody.holds_now(current, org) || now(current) {
            return true;
        }
    }
    false
}

/// Every viewer of the documented tables, each with the relationships it
/// can stand in: a member of each role in every relationship, the others
/// in none. For tests.
#[cfg(test)]
pub(crate) fn table_viewers(
    principals: &[crate::domain::principal::Principal],
) -> Vec<(Viewer<'_>, Vec<Relationship>)> {
    let mut out: Vec<(Viewer<'_>, Vec<Relationship>)> = principals
        .iter()
        .map(|p| (Viewer::Member(p), Relationship::ALL.to_vec()))
        .collect();
    for v in [
        Viewer::Anonymous,
        Viewer::Customer,
        Viewer::Certificate(Audience::Public),
        Viewer::Certificate(Audience::Regulator),
    ] {
        out.push((v, vec![Relationship::None]));
    }
    out
}

/// A member of each role, for tests.
#[cfg(test)]
pub(crate) fn one_of_each_role() -> Vec<crate::domain::principal::Principal> {
    Role::ALL
        .iter()
        .map(|r| crate::domain::principal::Principal {
            subject: format!("{r}-1"),
            role: *r,
            org: format!("{r}-org"),
        })
        .collect()
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
