//! Root query.

use async_graphql::{Context, Enum, Object, Result, SimpleObject};

use super::device::Device;
use super::{ErrorCode, internal, portal, principal, unauthenticated};
use crate::auth::{self, Principal};
use crate::services::devices::ReadError;

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

    /// A device by GTIN (8, 12, 13 or 14 digits) and serial. Null when there
    /// is no such device or you may not see it.
    async fn device(
        &self,
        ctx: &Context<'_>,
        gtin: String,
        serial: String,
    ) -> Result<Option<Device>> {
        match portal(ctx).device(principal(ctx)?, &gtin, &serial).await {
            Ok(Some(d)) => Ok(Some(Device(d))),
            Ok(None) => Err(not_found()),
            Err(e) => Err(read_error(e)),
        }
    }

    /// A device by any GS1 Digital Link form that names it (lot in the
    /// path, zero-suppressed GTINs, query parameters).
    #[graphql(name = "deviceByDigitalLink")]
    async fn device_by_digital_link(
        &self,
        ctx: &Context<'_>,
        uri: String,
    ) -> Result<Option<Device>> {
        match portal(ctx)
            .device_by_digital_link(principal(ctx)?, &uri)
            .await
        {
            Ok(Some(d)) => Ok(Some(Device(d))),
            Ok(None) => Err(not_found()),
            Err(e) => Err(read_error(e)),
        }
    }
}

/// Unknown, and not visible to the caller, are the same answer.
fn not_found() -> async_graphql::Error {
    ErrorCode::NotFound.error("no such device")
}

fn read_error(e: ReadError) -> async_graphql::Error {
    match e {
        ReadError::InvalidInput(m) => ErrorCode::InvalidInput.error(m),
        ReadError::Store(s) => internal(s),
    }
}
