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
