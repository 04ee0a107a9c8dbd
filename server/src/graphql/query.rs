//! Root query.

use async_graphql::{Context, Enum, Object, Result, SimpleObject};

use super::device::{Device, parse_time};
use super::{ErrorCode, internal, portal, principal, unauthenticated};
use crate::auth::{self, Principal};
use crate::services::devices::{DeviceHandle, ReadError};

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
    /// Auditors and admins: the access log (every write, and every read
    /// that returned non-public fields), oldest first, as a Relay
    /// connection. Filters: subject, organisation, device (GTIN/SERIAL),
    /// time range (RFC 3339).
    #[graphql(
        name = "accessLog",
        complexity = "super::page_cost(first, None, super::ACCESS_LOG_PAGE, child_complexity)"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn access_log(
        &self,
        ctx: &Context<'_>,
        subject: Option<String>,
        organisation: Option<String>,
        device: Option<String>,
        from: Option<String>,
        to: Option<String>,
        after: Option<String>,
        first: Option<i32>,
    ) -> Result<
        async_graphql::connection::Connection<
            i64,
            AccessEntry,
            async_graphql::connection::EmptyFields,
            async_graphql::connection::EmptyFields,
        >,
    > {
        use async_graphql::connection::{Connection, Edge};
        let filter = crate::services::access::AccessLogFilter {
            subject,
            organisation,
            device,
            from: parse_time("from", from)?,
            to: parse_time("to", to)?,
        };
        let after = access_log_cursor(after)?;
        let first = first.map_or(super::ACCESS_LOG_PAGE.0 as u64, |f| {
            f.clamp(1, super::ACCESS_LOG_PAGE.1 as i32) as u64
        });
        let rows = portal(ctx)
            .access_log(principal(ctx)?, &filter, after, first + 1)
            .await
            .map_err(super::mutation::access_error)?;
        let more = rows.len() as u64 > first;
        let mut c = Connection::new(after > 0, more);
        c.edges
            .extend(rows.into_iter().take(first as usize).map(|(id, r)| {
                Edge::new(
                    id,
                    AccessEntry {
                        at: r.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                        subject: r.subject,
                        role: r.role,
                        organisation: r.organisation,
                        operation: r.operation,
                        devices: r.devices,
                        classes: r.classes,
                        client: r.client,
                        outcome: r.outcome,
                        reason: r.reason,
                    },
                )
            }));
        Ok(c)
    }

    /// The devices the caller may see, ascending, as a Relay connection
    /// (`first` up to 500, default 100; `after` a cursor from `pageInfo`).
    /// Filters: GTIN, lot, status, custodian (organisation slug), creation
    /// time range (RFC 3339).
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "super::page_cost(first, None, super::DEVICES_PAGE, child_complexity)")]
    async fn devices(
        &self,
        ctx: &Context<'_>,
        gtin: Option<String>,
        lot: Option<String>,
        status: Option<String>,
        custodian: Option<String>,
        #[graphql(name = "createdFrom")] created_from: Option<String>,
        #[graphql(name = "createdTo")] created_to: Option<String>,
        after: Option<String>,
        first: Option<i32>,
    ) -> Result<
        async_graphql::connection::Connection<
            DeviceCursor,
            Device,
            async_graphql::connection::EmptyFields,
            async_graphql::connection::EmptyFields,
        >,
    > {
        use async_graphql::connection::{Connection, Edge};
        let filter = crate::services::devices::DeviceListFilter {
            gtin,
            lot,
            status,
            custodian: custodian
                .map(|c| super::ids::slug("custodian", &c))
                .transpose()?,
            created_from: parse_time("createdFrom", created_from)?,
            created_to: parse_time("createdTo", created_to)?,
        };
        let after = after_cursor(after)?;
        let first = first.map_or(super::DEVICES_PAGE.0 as u64, |f| {
            f.clamp(1, super::DEVICES_PAGE.1 as i32) as u64
        });
        let devices = portal(ctx)
            .devices(principal(ctx)?, &filter, after, first + 1)
            .await
            .map_err(read_error)?;
        let more = devices.len() as u64 > first;
        let mut c = Connection::new(after.is_some(), more);
        c.edges.extend(
            devices
                .into_iter()
                .take(first as usize)
                .map(|d| Edge::new(DeviceCursor(d.handle), Device(d))),
        );
        Ok(c)
    }

    /// The regions warranty providers are assigned in, by name.
    async fn regions(&self, ctx: &Context<'_>) -> Result<Vec<super::mutation::Region>> {
        let regions = portal(ctx)
            .regions(principal(ctx)?)
            .await
            .map_err(internal)?;
        Ok(regions.into_iter().map(Into::into).collect())
    }

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
        let key = super::ids::device_key(&gtin, &serial)?;
        match portal(ctx).device(principal(ctx)?.into(), &key).await {
            Ok(Some(d)) => Ok(Some(Device(d))),
            Ok(None) => Err(not_found()),
            Err(e) => Err(read_error(e)),
        }
    }

    /// Staff: alerts, newest first, in a state and of a kind
    /// (`copy_suspected`, `reported_stolen`, `reported_found`; all
    /// without), older than the alert `before` when given (the next page),
    /// at most `first` (500).
    async fn alerts(
        &self,
        ctx: &Context<'_>,
        state: Option<super::alerts::AlertState>,
        kind: Option<String>,
        before: Option<String>,
        #[graphql(default = 100)] first: i32,
    ) -> Result<Vec<super::alerts::Alert>> {
        let first = u64::try_from(first)
            .map_err(|_| ErrorCode::InvalidInput.error("first must not be negative"))?;
        let before = before
            .as_deref()
            .map(|b| {
                b.parse::<i64>()
                    .map_err(|_| ErrorCode::InvalidInput.error("before must be an alert's id"))
            })
            .transpose()?;
        Ok(portal(ctx)
            .alerts(
                principal(ctx)?,
                state.map(|s| s.as_str()),
                kind.as_deref(),
                before,
                first,
            )
            .await
            .map_err(super::alerts::error)?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// Staff: a unit's label as it was printed; null when there is no such
    /// unit or it has no label yet (`printLabel`). Reading it is logged.
    #[graphql(complexity = "super::LABEL_COST")]
    async fn label(
        &self,
        ctx: &Context<'_>,
        gtin: String,
        serial: String,
    ) -> Result<Option<super::labels::Label>> {
        super::labels::label(
            ctx,
            &gtin,
            &serial,
            crate::services::labels::PrintMode::Existing,
        )
        .await
    }

    /// A device by any GS1 Digital Link form that names it (lot in the
    /// path, zero-suppressed GTINs, query parameters).
    #[graphql(name = "deviceByDigitalLink")]
    async fn device_by_digital_link(
        &self,
        ctx: &Context<'_>,
        uri: String,
    ) -> Result<Option<Device>> {
        let link = super::ids::digital_link(&uri)?;
        match portal(ctx)
            .device_by_digital_link(principal(ctx)?.into(), link)
            .await
        {
            Ok(Some(d)) => Ok(Some(Device(d))),
            Ok(None) => Err(not_found()),
            Err(e) => Err(read_error(e)),
        }
    }
}

/// One access-log row.
#[derive(async_graphql::SimpleObject)]
pub struct AccessEntry {
    at: String,
    subject: String,
    role: String,
    organisation: String,
    operation: String,
    devices: Vec<String>,
    classes: Vec<String>,
    client: String,
    outcome: String,
    reason: Option<String>,
}

/// The row id an `after` cursor of an id-ordered list points at (0 for
/// the start).
/// An access-log page cursor: the row's number in the log (rows are
/// numbered in the open: the log is the auditors').
fn access_log_cursor(after: Option<String>) -> Result<i64> {
    use async_graphql::connection::CursorType;
    match after {
        Some(c) => <i64 as CursorType>::decode_cursor(&c)
            .map_err(|_| ErrorCode::InvalidInput.error("after: not a cursor of this list")),
        None => Ok(0),
    }
}

fn after_cursor(after: Option<String>) -> Result<Option<DeviceHandle>> {
    after
        .map(|c| {
            DeviceHandle::from_cursor(&c)
                .ok_or_else(|| ErrorCode::InvalidInput.error("after: not a cursor of this list"))
        })
        .transpose()
}

/// A device list's page cursor, as the services write it.
pub struct DeviceCursor(DeviceHandle);

impl async_graphql::connection::CursorType for DeviceCursor {
    type Error = &'static str;
    fn decode_cursor(s: &str) -> std::result::Result<Self, Self::Error> {
        DeviceHandle::from_cursor(s)
            .map(DeviceCursor)
            .ok_or("not a cursor of this list")
    }
    fn encode_cursor(&self) -> String {
        self.0.cursor()
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
