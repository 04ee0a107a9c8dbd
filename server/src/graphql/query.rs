//! Root query.

use async_graphql::{Context, Enum, Object, Result, SimpleObject};

use super::unauthenticated;
use crate::auth::{self, Principal};

pub struct Query;

/// A role of the portal.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
    Staff,
    Distributor,
    ServicePartner,
    WarrantyAgent,
    Regulator,
    Auditor,
}

impl From<auth::Role> for Role {
    fn from(r: auth::Role) -> Self {
        match r {
            auth::Role::Admin => Role::Admin,
            auth::Role::Staff => Role::Staff,
            auth::Role::Distributor => Role::Distributor,
            auth::Role::ServicePartner => Role::ServicePartner,
            auth::Role::WarrantyAgent => Role::WarrantyAgent,
            auth::Role::Regulator => Role::Regulator,
            auth::Role::Auditor => Role::Auditor,
        }
    }
}

/// The caller, as the token says.
#[derive(SimpleObject)]
pub struct Me {
    /// The token's subject.
    subject: String,
    role: Role,
    /// The slug of the caller's organisation.
    org: String,
}

#[Object]
impl Query {
    /// Who the bearer token says you are.
    async fn me(&self, ctx: &Context<'_>) -> Result<Me> {
        let principal = ctx.data_opt::<Principal>().ok_or_else(unauthenticated)?;
        Ok(Me {
            subject: principal.subject.clone(),
            role: principal.role.into(),
            org: principal.org.clone(),
        })
    }
}
