use super::*;
use crate::policy::tests::documented_rows;
use crate::policy::{one_of_each_role, table_viewers};

fn cell(text: &str) -> bool {
    match text {
        "yes" => true,
        "no" => false,
        other => panic!("{other:?} in an operations table"),
    }
}

/// docs/access-policy.md ("Operations") carries the same table: every
/// allow and every deny, viewer by viewer.
#[test]
fn the_documented_operation_table_is_the_code() {
    let rows = documented_rows("<!-- operations:begin -->", "<!-- operations:end -->");
    let principals = one_of_each_role();
    let viewers = table_viewers(&principals);
    assert_eq!(rows.len(), viewers.len());
    let doc = include_str!("../../../docs/access-policy.md");
    let header: Vec<&str> = doc
        .split_once("<!-- operations:begin -->")
        .expect("marker")
        .1
        .lines()
        .find(|l| l.starts_with("| viewer"))
        .expect("header")
        .split('|')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    let ops: Vec<&str> = Operation::TABLE.iter().map(|o| o.as_str()).collect();
    assert_eq!(&header[1..], ops.as_slice());
    for (row, (viewer, _)) in rows.iter().zip(viewers) {
        assert_eq!(row[0], viewer.name());
        assert_eq!(row.len(), ops.len() + 1);
        for (text, op) in row[1..].iter().zip(Operation::TABLE) {
            // These operations do not depend on a device: every
            // relationship answers alike.
            for rel in Relationship::ALL {
                assert_eq!(
                    cell(text),
                    may(viewer, rel, op),
                    "{} / {}",
                    viewer.name(),
                    op.as_str()
                );
            }
        }
    }
}

/// docs/access-policy.md ("Capture by relationship"): for every role and
/// every relationship to a device, which kinds of event it may capture for
/// it; the public captures nothing.
#[test]
fn the_documented_capture_table_is_the_code() {
    let rows = documented_rows("<!-- capture:begin -->", "<!-- capture:end -->");
    let principals = one_of_each_role();
    let mut expected = Vec::new();
    for (viewer, relationships) in table_viewers(&principals) {
        if viewer.principal().is_none() {
            for rel in Relationship::ALL {
                for kind in CaptureKind::ALL {
                    assert!(!may(viewer, rel, Operation::Capture(kind)));
                }
            }
            continue;
        }
        for rel in relationships {
            let mut row = vec![viewer.name().to_owned(), rel.as_str().to_owned()];
            row.extend(CaptureKind::ALL.iter().map(|k| {
                if may(viewer, rel, Operation::Capture(*k)) {
                    "yes"
                } else {
                    "no"
                }
                .to_owned()
            }));
            expected.push(row);
        }
    }
    assert_eq!(rows, expected);
    for row in &rows {
        for text in &row[2..] {
            cell(text);
        }
    }
}

#[test]
fn kinds_and_refusals() {
    use CaptureKind::*;
    let cases = [
        (Some("commissioning"), Some("recalled"), Commission),
        (Some("shipping"), Some("recalled"), Recall),
        (Some("shipping"), Some("destroyed"), EndLife),
        (Some("decommissioning"), Some("stolen"), EndLife),
        (Some("receiving"), Some("stolen"), ReportStolen),
        (Some(crate::domain::cbv::RECOVERING_STEP), None, Recover),
        (Some("receiving"), Some("in_progress"), Receive),
        (Some("repairing"), None, Other),
        (None, None, Other),
    ];
    for (step, disposition, kind) in cases {
        assert_eq!(
            CaptureKind::of(step, disposition),
            kind,
            "{step:?} {disposition:?}"
        );
    }
    // A partner is refused commissioning and recalls before any device is
    // looked at; a service partner also ending a unit's life.
    assert_eq!(
        role_refusal(Role::Distributor, Some("commissioning"), None).map(|r| r.0),
        Some("bizStep")
    );
    assert_eq!(
        role_refusal(Role::Distributor, Some("shipping"), Some("recalled")).map(|r| r.0),
        Some("disposition")
    );
    assert_eq!(
        role_refusal(Role::ServicePartner, Some("repairing"), Some("destroyed")).map(|r| r.0),
        Some("disposition")
    );
    assert_eq!(
        role_refusal(Role::Distributor, Some("destroying"), None),
        None
    );
    assert_eq!(role_refusal(Role::Staff, Some("commissioning"), None), None);
    assert_eq!(
        capture_refusal(
            Role::Distributor,
            Relationship::ShippedTo,
            Some("repairing"),
            None
        ),
        Some("a device shipped to you takes only its receipt")
    );
    assert_eq!(
        capture_refusal(
            Role::Distributor,
            Relationship::ShippedTo,
            Some("receiving"),
            None
        ),
        None
    );
}
