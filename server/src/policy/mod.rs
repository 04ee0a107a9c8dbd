//! Who may see what: the one place that decides. Until the access issue
//! brings the full table (principal, relationship to the device, field
//! class) → disclose / commitment only / absent, it decides by role, as
//! docs/access-policy.md "Reads" states; services ask it, nothing else
//! decides.

use crate::auth::Role;
use crate::domain::visibility::Visibility;

/// The field classes a role may read on a device it may see.
pub fn visible_classes(role: Role) -> &'static [Visibility] {
    match role {
        Role::Admin | Role::Staff => &Visibility::ALL,
        Role::Regulator | Role::Auditor => &[
            Visibility::Public,
            Visibility::Partner,
            Visibility::Internal,
        ],
        Role::Distributor | Role::ServicePartner | Role::WarrantyAgent => {
            &[Visibility::Public, Visibility::Partner]
        }
    }
}

/// Whether a role sees every device; the other roles see only devices their
/// organisation holds or held, was shipped, or services.
pub fn sees_every_device(role: Role) -> bool {
    matches!(
        role,
        Role::Admin | Role::Staff | Role::Regulator | Role::Auditor
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_table() {
        for role in Role::ALL {
            let classes = visible_classes(role);
            assert!(classes.contains(&Visibility::Public), "{role}");
            assert_eq!(
                classes.contains(&Visibility::Personal),
                role.is_manufacturer(),
                "{role}: personal data only for the manufacturer"
            );
            assert_eq!(
                classes.contains(&Visibility::Internal),
                sees_every_device(role),
                "{role}"
            );
        }
        assert!(!sees_every_device(Role::Distributor));
        assert!(sees_every_device(Role::Regulator));
    }
}
