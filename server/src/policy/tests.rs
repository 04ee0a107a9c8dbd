use super::*;

/// The policy is pure: it imports only domain types, nothing that reads
/// files, the network or the database.
#[test]
fn the_policy_imports_nothing_that_does_io() {
    for (name, text) in [
        ("mod.rs", include_str!("mod.rs")),
        ("operations.rs", include_str!("operations.rs")),
    ] {
        let imports: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("use ") || l.starts_with("pub use "))
            .filter(|l| !l.contains("use super::") && !l.contains("use operations::"))
            .collect();
        assert!(!imports.is_empty(), "{name}");
        for line in imports {
            assert!(line.starts_with("use crate::domain::"), "{name}: {line}");
        }
    }
}

/// The rows between two markers of docs/access-policy.md, cell by cell.
pub(super) fn documented_rows(start: &str, end: &str) -> Vec<Vec<String>> {
    let doc = include_str!("../../../docs/access-policy.md");
    let table = doc
        .split_once(start)
        .and_then(|(_, rest)| rest.split_once(end))
        .map(|(t, _)| t)
        .unwrap_or_else(|| panic!("markers {start} … {end}"));
    table
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            l.split('|')
                .map(|c| c.trim().trim_matches('`').to_owned())
                .filter(|c| !c.is_empty())
                .collect()
        })
        .collect()
}

/// docs/access-policy.md carries the same table; the two must agree, row
/// for row: every viewer, every relationship it can stand in, every class.
#[test]
fn documented_table_matches_code() {
    let rows = documented_rows("<!-- policy:start -->", "<!-- policy:end -->");
    let principals = one_of_each_role();
    let mut expected = Vec::new();
    for (viewer, relationships) in table_viewers(&principals) {
        for rel in relationships {
            let mut row = vec![viewer.name().to_owned(), rel.as_str().to_owned()];
            row.extend(
                Visibility::ALL
                    .iter()
                    .map(|c| decide(viewer, rel, *c).as_str().to_owned()),
            );
            expected.push(row);
        }
    }
    assert_eq!(rows, expected);
}

#[test]
fn invariants() {
    let principals = one_of_each_role();
    for (viewer, relationships) in table_viewers(&principals) {
        let manufacturer = viewer.principal().is_some_and(|p| p.role.is_manufacturer());
        let auditor = viewer.principal().is_some_and(|p| p.role == Role::Auditor);
        for rel in relationships {
            // Personal values are disclosed only to the manufacturer.
            assert_eq!(
                decide(viewer, rel, Visibility::Personal) == Disclosure::Disclose,
                manufacturer,
                "{} {rel:?}",
                viewer.name()
            );
            // Public fields are disclosed to everyone but the auditor.
            assert_eq!(
                decide(viewer, rel, Visibility::Public) == Disclosure::Disclose,
                !auditor
            );
            // The public never sees more than public fields.
            if viewer.principal().is_none() && viewer != Viewer::Certificate(Audience::Regulator) {
                for class in [
                    Visibility::Partner,
                    Visibility::Internal,
                    Visibility::Personal,
                ] {
                    assert_eq!(decide(viewer, rel, class), Disclosure::Absent);
                }
            }
        }
    }
    for role in Role::ALL {
        assert_eq!(
            visible_classes(role).contains(&Visibility::Internal),
            sees_every_device(role) && role != Role::Auditor,
            "{role}"
        );
    }
    let distributor = &principals[2];
    assert_eq!(distributor.role, Role::Distributor);
    for rel in [Relationship::None, Relationship::ShippedTo] {
        assert_eq!(
            decide(Viewer::Member(distributor), rel, Visibility::Partner),
            Disclosure::Absent
        );
    }
    assert_eq!(
        decide(
            Viewer::Member(&principals[3]),
            Relationship::ServicePartner,
            Visibility::Partner
        ),
        Disclosure::Disclose
    );
}

/// A holder, a shipped-to organisation and a service partner are told
/// apart; a past holder's relationship ends with its span.
#[test]
fn relationships_now() {
    let principals = one_of_each_role();
    let partner = Viewer::Member(&principals[3]);
    let org = principals[3].org.as_str();
    assert_eq!(
        relationship_now(partner, Some(org), None),
        Relationship::CurrentCustodian
    );
    assert_eq!(
        relationship_now(partner, Some("other"), Some(org)),
        Relationship::ServicePartner
    );
    assert_eq!(
        relationship_now(partner, Some("other"), None),
        Relationship::None
    );
    assert_eq!(
        relationship_now(Viewer::Customer, Some(org), Some(org)),
        Relationship::None
    );
}
