//! Who is asking: a role and the caller (subject, role, organisation).
//! Pure data, shared by authentication (which establishes it) and the
//! policy (which decides on it), so that the policy needs nothing that
//! does I/O.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Staff,
    Distributor,
    ServicePartner,
    WarrantyAgent,
    Regulator,
    Auditor,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::Admin,
        Role::Staff,
        Role::Distributor,
        Role::ServicePartner,
        Role::WarrantyAgent,
        Role::Regulator,
        Role::Auditor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Staff => "staff",
            Role::Distributor => "distributor",
            Role::ServicePartner => "service_partner",
            Role::WarrantyAgent => "warranty_agent",
            Role::Regulator => "regulator",
            Role::Auditor => "auditor",
        }
    }

    /// Roles of the manufacturer itself (as opposed to partner organisations).
    pub fn is_manufacturer(self) -> bool {
        matches!(self, Role::Admin | Role::Staff)
    }

    /// The organisation kinds a holder of this role may belong to.
    pub fn organisation_kinds(self) -> &'static [&'static str] {
        match self {
            Role::Admin | Role::Staff => &["manufacturer"],
            Role::Distributor => &["distributor"],
            Role::ServicePartner => &["service_partner"],
            Role::WarrantyAgent => &["warranty_provider"],
            Role::Regulator | Role::Auditor => &["regulator"],
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Role::ALL.iter().map(|r| r.as_str()).collect();
                format!("unknown role {s:?}; expected one of {}", names.join(", "))
            })
    }
}

/// The authenticated caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub subject: String,
    pub role: Role,
    /// The organisation's slug.
    pub org: String,
}

/// Whom a certificate is issued for (docs/access-policy.md, "Viewers").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Audience {
    /// Anyone holding it: what the unit's customer sees.
    Public,
    /// A regulator's edition: what a regulator sees.
    Regulator,
}

/// Who reads: every read and write is decided for a viewer
/// (docs/access-policy.md, "Viewers").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Viewer<'a> {
    /// A visitor of a unit's page without its verification code.
    Anonymous,
    /// A visitor of a unit's page, or a reader of its certificate, who
    /// presented the unit's verification code.
    Customer,
    /// A signed-in caller with a role in an organisation.
    Member(&'a Principal),
    /// The reader of a certificate issued for an audience.
    Certificate(Audience),
}

impl<'a> Viewer<'a> {
    /// The caller, for a viewer that is one.
    pub fn principal(self) -> Option<&'a Principal> {
        match self {
            Viewer::Member(p) => Some(p),
            _ => None,
        }
    }

    /// The viewer's name in the documented tables: a role's name for a
    /// member.
    pub fn name(self) -> &'static str {
        match self {
            Viewer::Anonymous => "anonymous",
            Viewer::Customer => "customer",
            Viewer::Member(p) => p.role.as_str(),
            Viewer::Certificate(Audience::Public) => "certificate (public)",
            Viewer::Certificate(Audience::Regulator) => "certificate (regulator)",
        }
    }
}

impl<'a> From<&'a Principal> for Viewer<'a> {
    fn from(p: &'a Principal) -> Self {
        Viewer::Member(p)
    }
}
