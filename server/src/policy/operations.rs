//! What each role may do, apart from reading fields (the policy table)
//! and the per-device capture rules (docs/device-lifecycle.md, "Who may
//! capture what"): one table, in code and in docs/access-policy.md
//! ("Operations"), which a test keeps equal.

use crate::domain::principal::Role;

/// An operation a service asks the policy about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    /// `captureEvents` at all (which events, for which devices, the
    /// capture rules decide).
    CaptureEvents,
    /// Declaring captured events in error (`errorDeclaration`).
    DeclareInError,
    /// Products, organisations, locations, regions, warranty providers and
    /// service-partner assignments.
    WriteReferenceData,
    /// `accessLog`.
    ReadAccessLog,
    /// `requestPersonalData`, with a stated reason.
    RequestPersonalData,
    /// Every device exists for the role (no relationship needed).
    SeeEveryDevice,
}

impl Operation {
    pub const ALL: [Operation; 6] = [
        Operation::CaptureEvents,
        Operation::DeclareInError,
        Operation::WriteReferenceData,
        Operation::ReadAccessLog,
        Operation::RequestPersonalData,
        Operation::SeeEveryDevice,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Operation::CaptureEvents => "capture events",
            Operation::DeclareInError => "declare events in error",
            Operation::WriteReferenceData => "write reference data",
            Operation::ReadAccessLog => "read the access log",
            Operation::RequestPersonalData => "request personal data",
            Operation::SeeEveryDevice => "see every device",
        }
    }
}

/// Whether `role` may perform `op`.
pub fn may(role: Role, op: Operation) -> bool {
    use Operation::*;
    use Role::*;
    match op {
        CaptureEvents => matches!(role, Admin | Staff | Distributor | ServicePartner),
        DeclareInError | WriteReferenceData => matches!(role, Admin | Staff),
        ReadAccessLog => matches!(role, Admin | Auditor),
        RequestPersonalData => matches!(role, Regulator),
        SeeEveryDevice => matches!(role, Admin | Staff | Regulator | Auditor),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// docs/access-policy.md ("Operations") carries the same table: every
    /// allow and every deny, role by role.
    #[test]
    fn the_documented_operation_table_is_the_code() {
        let doc = include_str!("../../../docs/access-policy.md");
        let table = doc
            .split_once("<!-- operations:begin -->")
            .and_then(|(_, rest)| rest.split_once("<!-- operations:end -->"))
            .map(|(t, _)| t)
            .expect("the operations table markers");
        let rows: Vec<Vec<String>> = table
            .lines()
            .filter(|l| l.starts_with("| `"))
            .map(|l| {
                l.split('|')
                    .map(|c| c.trim().trim_matches('`').to_owned())
                    .filter(|c| !c.is_empty())
                    .collect()
            })
            .collect();
        assert_eq!(rows.len(), Role::ALL.len());
        let header: Vec<&str> = table
            .lines()
            .find(|l| l.starts_with("| role"))
            .expect("header")
            .split('|')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect();
        let ops: Vec<&str> = Operation::ALL.iter().map(|o| o.as_str()).collect();
        assert_eq!(&header[1..], ops.as_slice());
        for (row, role) in rows.iter().zip(Role::ALL) {
            assert_eq!(row[0], role.as_str());
            for (cell, op) in row[1..].iter().zip(Operation::ALL) {
                let documented = match cell.as_str() {
                    "yes" => true,
                    "no" => false,
                    other => panic!("{other:?} in the operations table"),
                };
                assert_eq!(documented, may(role, op), "{role} / {}", op.as_str());
            }
        }
    }
}
