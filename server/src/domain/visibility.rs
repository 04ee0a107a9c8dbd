//! Visibility classes of event fields, and the fixed class of every
//! standard EPCIS member (documented in docs/access-policy.md, which a test
//! keeps in step with this table).

use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Visibility {
    /// Anyone, including a customer scanning the label.
    Public,
    /// Organisations with a relationship to the device.
    Partner,
    /// The manufacturer (and regulators).
    Internal,
    /// Personal data: erasable, shown to the fewest.
    Personal,
}

impl Visibility {
    pub const ALL: [Visibility; 4] = [
        Visibility::Public,
        Visibility::Partner,
        Visibility::Internal,
        Visibility::Personal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Public => "public",
            Visibility::Partner => "partner",
            Visibility::Internal => "internal",
            Visibility::Personal => "personal",
        }
    }
}

impl fmt::Display for Visibility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Visibility {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| format!("unknown visibility class {s:?}"))
    }
}

/// Standard members and the fields the portal derives or adds, with their
/// fixed classes. Extension fields are not listed: they default to
/// `internal` unless the capturing organisation declares another class.
pub const STANDARD_FIELDS: &[(&str, Visibility)] = &[
    ("eventID", Visibility::Partner),
    ("type", Visibility::Public),
    ("action", Visibility::Public),
    ("bizStep", Visibility::Public),
    ("disposition", Visibility::Public),
    ("eventTime", Visibility::Partner),
    ("eventTimeZoneOffset", Visibility::Partner),
    ("epcList", Visibility::Public),
    ("parentID", Visibility::Public),
    ("childEPCs", Visibility::Public),
    ("readPoint", Visibility::Partner),
    ("bizLocation", Visibility::Partner),
    ("sourceList", Visibility::Partner),
    ("destinationList", Visibility::Partner),
    ("ilmd", Visibility::Partner),
    ("sensorElementList", Visibility::Internal),
    ("organisation", Visibility::Partner),
    ("operator", Visibility::Internal),
    ("eventType", Visibility::Public),
    ("eventDate", Visibility::Public),
    ("country", Visibility::Public),
    ("errorDeclaration", Visibility::Public),
];

/// Names an extension field may not take: the standard members, the derived
/// fields, and `recordTime`.
pub fn is_reserved_name(name: &str) -> bool {
    // `device` and `prev` are the names of a leaf's own commitments (their
    // salts are stored under them beside the field salts).
    matches!(name, "recordTime" | "device" | "prev")
        || STANDARD_FIELDS.iter().any(|(n, _)| *n == name)
}

pub fn standard_class(name: &str) -> Option<Visibility> {
    STANDARD_FIELDS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| *v)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// docs/access-policy.md carries the same table; the two must agree.
    #[test]
    fn documented_table_matches_code() {
        let doc = include_str!("../../../docs/access-policy.md");
        let start = doc
            .find("<!-- standard-fields:start -->")
            .expect("table start marker");
        let end = doc
            .find("<!-- standard-fields:end -->")
            .expect("table end marker");
        let rows: Vec<(String, String)> = doc[start..end]
            .lines()
            .filter(|l| l.starts_with("| `"))
            .map(|l| {
                let cells: Vec<&str> = l.split('|').map(str::trim).collect();
                (cells[1].trim_matches('`').to_owned(), cells[2].to_owned())
            })
            .collect();
        let code: Vec<(String, String)> = STANDARD_FIELDS
            .iter()
            .map(|(n, v)| ((*n).to_owned(), v.as_str().to_owned()))
            .collect();
        assert_eq!(rows, code);
    }

    #[test]
    fn names() {
        assert!(is_reserved_name("recordTime"));
        assert!(is_reserved_name("bizStep"));
        assert!(is_reserved_name("device"));
        assert!(is_reserved_name("prev"));
        assert!(!is_reserved_name("qcResult"));
        assert_eq!(standard_class("operator"), Some(Visibility::Internal));
        for v in Visibility::ALL {
            assert_eq!(v.as_str().parse::<Visibility>().unwrap(), v);
        }
    }
}
