//! Who may see what: the one place that decides. From (the caller's role,
//! the caller's organisation's relationship to the device when the event
//! happened, the field's class) it decides whether a field is disclosed,
//! shown as its ledger commitment only, or absent. The same table is in
//! docs/access-policy.md; a test fails when the two differ. Services ask it;
//! nothing else decides.

mod operations;
pub use operations::{Operation, may};

use crate::domain::custody::{Custody, Kind, span_at};
use crate::domain::principal::{Principal, Role};
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
    /// None of the above.
    None,
}

impl Relationship {
    pub const ALL: [Relationship; 5] = [
        Relationship::CurrentCustodian,
        Relationship::PastCustodian,
        Relationship::ServicePartner,
        Relationship::WarrantyProvider,
        Relationship::None,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Relationship::CurrentCustodian => "current custodian",
            Relationship::PastCustodian => "past custodian",
            Relationship::ServicePartner => "service partner",
            Relationship::WarrantyProvider => "warranty provider",
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
    may(role, Operation::CaptureEvents)
}

/// The policy table (docs/access-policy.md, "Policy table").
pub fn decide(role: Role, relationship: Relationship, class: Visibility) -> Disclosure {
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
        // with a claim (issue 17).
        Role::Distributor | Role::ServicePartner | Role::WarrantyAgent => {
            match (relationship, class) {
                (_, Public) => Disclose,
                (Relationship::None | Relationship::WarrantyProvider, Partner) => Absent,
                (_, Partner) => Disclose,
                (_, Internal | Personal) => Absent,
            }
        }
    }
}

/// Whether a device attribute of `class` (status, custodian, revision, …)
/// is disclosed to `principal`, by its organisation's relationship to the
/// device now: its holder (`custodian`) or its service partner.
pub fn shows_device_attribute(
    principal: &Principal,
    custodian: Option<&str>,
    service_partner: Option<&str>,
    class: Visibility,
) -> bool {
    let org = Some(principal.org.as_str());
    let relationship = if custodian == org {
        Relationship::CurrentCustodian
    } else if service_partner == org {
        Relationship::ServicePartner
    } else {
        Relationship::None
    };
    decide(principal.role, relationship, class) == Disclosure::Disclose
}

/// The field classes a role may read on some device: what capture errors
/// and component views may mention.
pub fn visible_classes(role: Role) -> Vec<Visibility> {
    Visibility::ALL
        .into_iter()
        .filter(|class| {
            Relationship::ALL
                .iter()
                .any(|rel| decide(role, *rel, *class) == Disclosure::Disclose)
        })
        .collect()
}

/// Whether a role sees every device; the other roles see only devices their
/// organisation holds or held, was shipped, or services — any other device
/// does not exist for them.
pub fn sees_every_device(role: Role) -> bool {
    may(role, Operation::SeeEveryDevice)
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

/// The caller's standing towards a device named in an event's `epcList`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    /// Admin or staff of the manufacturer.
    Manufacturer,
    /// Its organisation holds the device (directly or through a parent).
    Holds,
    /// The device was shipped to its organisation (it may record receipt).
    ShippedTo,
    /// Its organisation services the device or a device it is in.
    Services,
}

/// Why the role may not capture an event with this step and disposition
/// for any device at all, with the member that says so; capture asks this
/// before it loads a single device.
pub fn role_refusal(
    role: Role,
    biz_step: Option<&str>,
    disposition: Option<&str>,
) -> Option<(&'static str, &'static str)> {
    if role.is_manufacturer() {
        return None;
    }
    if biz_step == Some("commissioning") {
        return Some(("bizStep", "only the manufacturer commissions devices"));
    }
    if disposition == Some("recalled") {
        return Some(("disposition", "only the manufacturer recalls devices"));
    }
    None
}

/// Why the caller may not capture an event with this step and disposition
/// for a device it stands towards as given, or None when it may
/// (docs/device-lifecycle.md, "Who may capture what").
pub fn capture_refusal(
    role: Role,
    standing: Standing,
    biz_step: Option<&str>,
    disposition: Option<&str>,
) -> Option<&'static str> {
    if standing == Standing::Manufacturer || role.is_manufacturer() {
        return None;
    }
    if let Some((_, reason)) = role_refusal(role, biz_step, disposition) {
        return Some(reason);
    }
    let ends_life = matches!(disposition, Some("destroyed"))
        || matches!(biz_step, Some("decommissioning") | Some("destroying"));
    if ends_life && !(role == Role::Distributor && standing == Standing::Holds) {
        return Some(
            "only the manufacturer, or a distributor holding it, decommissions or destroys a device",
        );
    }
    if disposition == Some("stolen") && standing != Standing::Holds {
        return Some("only its holder or the manufacturer reports a device stolen");
    }
    if biz_step == Some(crate::domain::cbv::RECOVERING_STEP) && standing != Standing::Holds {
        return Some("only its holder or the manufacturer records a recovery");
    }
    if standing == Standing::ShippedTo && biz_step != Some("receiving") {
        return Some("a device shipped to you takes only its receipt");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The policy is pure: it imports only domain types, nothing that
    /// reads files, the network or the database.
    #[test]
    fn the_policy_imports_nothing_that_does_io() {
        let imports: Vec<&str> = include_str!("mod.rs")
            .lines()
            .filter(|l| l.starts_with("use ") || l.starts_with("pub use "))
            .filter(|l| !l.contains("use super::") && !l.contains("use operations::"))
            .collect();
        assert!(!imports.is_empty());
        for line in imports {
            assert!(line.starts_with("use crate::domain::"), "{line}");
        }
    }

    fn role_name(role: Role) -> &'static str {
        role.as_str()
    }

    /// docs/access-policy.md carries the same table; the two must agree,
    /// row for row.
    #[test]
    fn documented_table_matches_code() {
        let doc = include_str!("../../../docs/access-policy.md");
        let start = doc
            .find("<!-- policy:start -->")
            .expect("table start marker");
        let end = doc.find("<!-- policy:end -->").expect("table end marker");
        let mut rows = Vec::new();
        for line in doc[start..end].lines().filter(|l| l.starts_with("| `")) {
            let cells: Vec<String> = line
                .split('|')
                .map(|c| c.trim().trim_matches('`').to_owned())
                .filter(|c| !c.is_empty())
                .collect();
            rows.push(cells);
        }
        let mut expected = Vec::new();
        for role in Role::ALL {
            for rel in Relationship::ALL {
                let mut row = vec![role_name(role).to_owned(), rel.as_str().to_owned()];
                row.extend(
                    Visibility::ALL
                        .iter()
                        .map(|c| decide(role, rel, *c).as_str().to_owned()),
                );
                expected.push(row);
            }
        }
        assert_eq!(rows, expected);
    }

    #[test]
    fn invariants() {
        for role in Role::ALL {
            for rel in Relationship::ALL {
                // Personal values are disclosed only to the manufacturer.
                assert_eq!(
                    decide(role, rel, Visibility::Personal) == Disclosure::Disclose,
                    role.is_manufacturer(),
                    "{role} {rel:?}"
                );
                // Public fields are disclosed to everyone but the auditor.
                assert_eq!(
                    decide(role, rel, Visibility::Public) == Disclosure::Disclose,
                    role != Role::Auditor
                );
            }
            assert_eq!(
                visible_classes(role).contains(&Visibility::Internal),
                sees_every_device(role) && role != Role::Auditor,
                "{role}"
            );
        }
        assert_eq!(
            decide(Role::Distributor, Relationship::None, Visibility::Partner),
            Disclosure::Absent
        );
        assert_eq!(
            decide(
                Role::ServicePartner,
                Relationship::ServicePartner,
                Visibility::Partner
            ),
            Disclosure::Disclose
        );
    }
}
