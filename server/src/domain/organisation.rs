//! Organisations and their kinds.

use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OrganisationKind {
    Manufacturer,
    Supplier,
    Distributor,
    ServicePartner,
    WarrantyProvider,
    Regulator,
}

impl OrganisationKind {
    pub const ALL: [OrganisationKind; 6] = [
        OrganisationKind::Manufacturer,
        OrganisationKind::Supplier,
        OrganisationKind::Distributor,
        OrganisationKind::ServicePartner,
        OrganisationKind::WarrantyProvider,
        OrganisationKind::Regulator,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrganisationKind::Manufacturer => "manufacturer",
            OrganisationKind::Supplier => "supplier",
            OrganisationKind::Distributor => "distributor",
            OrganisationKind::ServicePartner => "service_partner",
            OrganisationKind::WarrantyProvider => "warranty_provider",
            OrganisationKind::Regulator => "regulator",
        }
    }
}

impl fmt::Display for OrganisationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OrganisationKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown organisation kind {s:?}"))
    }
}

/// An organisation slug: 2–64 characters of `a-z`, `0-9` and `-`, starting
/// with a letter.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Slug(String);

impl Slug {
    pub fn parse(s: &str) -> Result<Self, String> {
        let ok = (2..=64).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_lowercase())
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(format!(
                "invalid organisation slug {s:?}: 2-64 of a-z, 0-9 and '-', starting with a letter"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Organisation {
    pub id: i64,
    pub slug: Slug,
    pub name: String,
    pub kind: OrganisationKind,
    pub country: Option<String>,
}

#[derive(Clone, Debug)]
pub struct NewOrganisation {
    pub slug: Slug,
    pub name: String,
    pub kind: OrganisationKind,
    pub country: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_and_kinds() {
        assert!(Slug::parse("ampera").is_ok());
        assert!(Slug::parse("veloparts-eu2").is_ok());
        for bad in ["", "a", "Ampera", "1abc", "a b", "a_b", &"a".repeat(65)] {
            assert!(Slug::parse(bad).is_err(), "{bad}");
        }
        for k in OrganisationKind::ALL {
            assert_eq!(k.as_str().parse::<OrganisationKind>().unwrap(), k);
        }
        assert!("bank".parse::<OrganisationKind>().is_err());
    }
}
