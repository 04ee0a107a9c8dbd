use super::*;
use crate::domain::cbv::{BizStep, Disposition};
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
    let step = |t: &str| Some(BizStep::parse(t).unwrap());
    let disp = |t: &str| Some(Disposition::parse(t).unwrap());
    let cases = [
        (step("commissioning"), disp("recalled"), Commission),
        (step("shipping"), disp("recalled"), Recall),
        (step("shipping"), disp("destroyed"), EndLife),
        (step("decommissioning"), disp("stolen"), EndLife),
        (step("receiving"), disp("stolen"), ReportStolen),
        (step(crate::domain::cbv::RECOVERING_STEP), None, Recover),
        (step("receiving"), disp("in_progress"), Receive),
        (step("repairing"), None, Other),
        (None, None, Other),
    ];
    for (s, d, kind) in &cases {
        assert_eq!(
            CaptureKind::of(s.as_ref(), d.as_ref()),
            *kind,
            "{s:?} {d:?}"
        );
    }
    let refusal = |role, s: Option<BizStep>, d: Option<Disposition>| {
        role_refusal(role, s.as_ref(), d.as_ref()).map(|r| r.0)
    };
    // A partner is refused commissioning and recalls before any device is
    // looked at; a service partner also ending a unit's life.
    assert_eq!(
        refusal(Role::Distributor, step("commissioning"), None),
        Some("bizStep")
    );
    assert_eq!(
        refusal(Role::Distributor, step("shipping"), disp("recalled")),
        Some("disposition")
    );
    assert_eq!(
        refusal(Role::ServicePartner, step("repairing"), disp("destroyed")),
        Some("disposition")
    );
    assert_eq!(refusal(Role::Distributor, step("destroying"), None), None);
    assert_eq!(refusal(Role::Staff, step("commissioning"), None), None);
    let repairing = step("repairing");
    let receiving = step("receiving");
    assert_eq!(
        capture_refusal(
            Role::Distributor,
            Relationship::ShippedTo,
            repairing.as_ref(),
            None
        ),
        Some("a device shipped to you takes only its receipt")
    );
    assert_eq!(
        capture_refusal(
            Role::Distributor,
            Relationship::ShippedTo,
            receiving.as_ref(),
            None
        ),
        None
    );
}
