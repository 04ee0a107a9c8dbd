//! Device, event and lineage types. Hidden fields are absent: a resolver
//! only ever sees the `EventView` the service filtered for the caller.

use async_graphql::connection::{Connection, Edge, EmptyFields, query};

use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, Json, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use super::inputs::Visibility;
use super::loaders::{ComponentsOf, DeviceLoader, LatestOf};
use super::{ErrorCode, internal, portal, principal};
use crate::services::devices::{
    ComponentView, DeviceView, EventRef, HistoryFilter, LineageNode as LineageView, ReadError,
};

fn read_error(e: ReadError) -> async_graphql::Error {
    match e {
        ReadError::InvalidInput(m) => ErrorCode::InvalidInput.error(m),
        ReadError::Store(s) => internal(s),
    }
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

pub(super) fn parse_time(field: &str, v: Option<String>) -> Result<Option<DateTime<Utc>>> {
    v.map(|s| {
        DateTime::parse_from_rfc3339(&s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| {
                ErrorCode::InvalidInput.error(format!("{field}: not an RFC 3339 timestamp"))
            })
    })
    .transpose()
}

#[derive(SimpleObject, Clone)]
pub struct Product {
    pub gtin: String,
    pub name: String,
    pub model: String,
    #[graphql(name = "warrantyMonths")]
    pub warranty_months: i32,
    #[graphql(name = "warrantyTerms")]
    pub warranty_terms: String,
}

pub struct Device(pub DeviceView);

impl Device {
    /// A partner-class attribute the service disclosed; one that is
    /// returned is noted for the request's access-log row.
    fn partner<'a>(&'a self, ctx: &Context<'_>, value: Option<&'a str>) -> Option<&'a str> {
        if value.is_some()
            && let Some(reads) = ctx.data_opt::<std::sync::Arc<super::AttributeReads>>()
        {
            reads.note(&self.0.gtin, &self.0.serial);
        }
        value
    }
}

// Every attribute comes decided by the policy (services::devices): null
// when the caller may not see it.
#[Object]
impl Device {
    async fn gtin(&self) -> &str {
        &self.0.gtin
    }
    async fn serial(&self) -> &str {
        &self.0.serial
    }
    /// The canonical GS1 Digital Link URI.
    #[graphql(name = "digitalLink")]
    async fn digital_link(&self) -> &str {
        &self.0.digital_link
    }
    /// Public (the lot is in the label's Digital Link).
    async fn lot(&self) -> Option<&str> {
        self.0.lot.as_deref()
    }
    /// Partner class (instance master data).
    async fn revision(&self, ctx: &Context<'_>) -> Option<&str> {
        self.partner(ctx, self.0.revision.as_deref())
    }
    /// Set by events only: commissioned, in_transit, in_stock, installed,
    /// in_repair, returned, recalled, stolen, decommissioned. Public.
    async fn status(&self) -> Option<&str> {
        self.0.status.map(|s| s.as_str())
    }
    /// The slug of the organisation holding the device (a component follows
    /// its parent). Partner class: shown to the holder, the service partner,
    /// and the roles that see every device's partner fields.
    async fn custodian(&self, ctx: &Context<'_>) -> Option<&str> {
        self.partner(ctx, self.0.custodian.as_deref())
    }
    /// Partner class, like `custodian`.
    #[graphql(name = "servicePartner")]
    async fn service_partner(&self, ctx: &Context<'_>) -> Option<&str> {
        self.partner(ctx, self.0.service_partner.as_deref())
    }
    /// Public.
    async fn product(&self) -> Option<Product> {
        self.0.product.as_ref().map(|p| Product {
            gtin: p.gtin.clone(),
            name: p.name.clone(),
            model: p.model.clone(),
            warranty_months: p.warranty_months,
            warranty_terms: p.warranty_terms.clone(),
        })
    }

    /// The device's events (oldest first unless `newestFirst`), as a Relay
    /// connection: pages of at most 1000 events, the first 1000 without
    /// `first` or `last`.
    #[allow(clippy::too_many_arguments)]
    #[graphql(
        complexity = "super::HISTORY_READ + super::page_cost(first, last, super::HISTORY_PAGE, child_complexity)"
    )]
    async fn history(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
        #[graphql(name = "bizStep")] biz_step: Option<String>,
        from: Option<String>,
        to: Option<String>,
        #[graphql(name = "newestFirst", default)] newest_first: bool,
    ) -> Result<Connection<usize, Event, EmptyFields, EmptyFields>> {
        let filter = HistoryFilter {
            biz_step: biz_step
                .map(|s| {
                    crate::domain::cbv::BizStep::parse(&s)
                        .map_err(|e| ErrorCode::InvalidInput.error(format!("bizStep: {e}")))
                })
                .transpose()?,
            from: parse_time("from", from)?,
            to: parse_time("to", to)?,
            newest_first,
        };
        let events = portal(ctx)
            .history(principal(ctx)?.into(), super::client(ctx), &self.0, &filter)
            .await
            .map_err(read_error)?;
        // A page is at most HISTORY_PAGE.1 events; without `first` or
        // `last`, the first HISTORY_PAGE.0.
        let max = super::HISTORY_PAGE.1 as i32;
        let (first, last) = match (first, last) {
            (None, None) => (Some(super::HISTORY_PAGE.0 as i32), None),
            (f, l) => (f.map(|f| f.min(max)), l.map(|l| l.min(max))),
        };
        query(
            after,
            before,
            first,
            last,
            |after, before, first, last| async move {
                let len = events.len();
                let mut start = after.map_or(0, |a: usize| a.saturating_add(1)).min(len);
                let mut end = before.unwrap_or(len).min(len).max(start);
                if let Some(f) = first {
                    end = end.min(start + f);
                }
                if let Some(l) = last {
                    start = start.max(end.saturating_sub(l));
                }
                let mut c = Connection::new(start > 0, end < len);
                c.edges.extend(
                    events[start..end]
                        .iter()
                        .enumerate()
                        .map(|(i, e)| Edge::new(start + i, Event(e.clone()))),
                );
                Ok::<_, async_graphql::Error>(c)
            },
        )
        .await
    }

    /// Components installed now, or at `at` (RFC 3339); with
    /// `includeRemoved`, every component ever installed.
    #[graphql(complexity = "super::TREE_ESTIMATE * child_complexity + 1")]
    async fn components(
        &self,
        ctx: &Context<'_>,
        at: Option<String>,
        #[graphql(name = "includeRemoved", default)] include_removed: bool,
    ) -> Result<Vec<Component>> {
        let at = parse_time("at", at)?;
        // Installed now: batched across the devices of the response.
        if at.is_none()
            && !include_removed
            && let Some(loader) = ctx.data_opt::<DataLoader<DeviceLoader>>()
        {
            return Ok(loader
                .load_one(ComponentsOf(self.0.handle))
                .await
                .map_err(internal)?
                .unwrap_or_default()
                .into_iter()
                .map(Component)
                .collect());
        }
        Ok(portal(ctx)
            .components(principal(ctx)?.into(), &self.0, at, include_removed)
            .await
            .map_err(read_error)?
            .into_iter()
            .map(Component)
            .collect())
    }

    /// The device's latest event (by event time): its business step and
    /// day, which every role but the auditor may see.
    #[graphql(name = "latestEvent")]
    async fn latest_event(&self, ctx: &Context<'_>) -> Result<Option<LatestEvent>> {
        // Public, like the status it explains.
        if self.0.status.is_none() {
            return Ok(None);
        }
        let Some(loader) = ctx.data_opt::<DataLoader<DeviceLoader>>() else {
            return Ok(None);
        };
        Ok(loader
            .load_one(LatestOf(self.0.handle))
            .await
            .map_err(internal)?
            .map(|e| LatestEvent {
                biz_step: e.biz_step,
                event_date: e.event_date,
            }))
    }

    /// The device this one is installed in now.
    async fn parent(&self, ctx: &Context<'_>) -> Result<Option<Device>> {
        Ok(portal(ctx)
            .parent(principal(ctx)?.into(), &self.0)
            .await
            .map_err(read_error)?
            .map(Device))
    }

    /// The assembly tree: as installed at `at`, or — without `at` — every
    /// component ever installed, with install and removal dates.
    #[graphql(complexity = "super::TREE_ESTIMATE * child_complexity + 1")]
    async fn lineage(&self, ctx: &Context<'_>, at: Option<String>) -> Result<Vec<LineageNode>> {
        let at = parse_time("at", at)?;
        Ok(portal(ctx)
            .lineage(principal(ctx)?.into(), &self.0, at)
            .await
            .map_err(read_error)?
            .into_iter()
            .map(LineageNode)
            .collect())
    }
}

pub struct Component(ComponentView);

#[Object]
impl Component {
    async fn device(&self) -> Device {
        Device(self.0.device.clone())
    }
    #[graphql(name = "installedAt")]
    async fn installed_at(&self) -> String {
        time(self.0.installed_at)
    }
    #[graphql(name = "removedAt")]
    async fn removed_at(&self) -> Option<String> {
        self.0.removed_at.map(time)
    }
}

pub struct LineageNode(LineageView);

#[Object]
impl LineageNode {
    async fn device(&self) -> Device {
        Device(self.0.device.clone())
    }
    #[graphql(name = "installedAt")]
    async fn installed_at(&self) -> Option<String> {
        self.0.installed_at.map(time)
    }
    #[graphql(name = "removedAt")]
    async fn removed_at(&self) -> Option<String> {
        self.0.removed_at.map(time)
    }
    #[graphql(complexity = "super::TREE_ESTIMATE * child_complexity + 1")]
    async fn components(&self) -> Vec<LineageNode> {
        self.0.components.iter().cloned().map(LineageNode).collect()
    }
}

/// One event of a device's history, with only the fields the caller may
/// see; members the caller may not see are null and absent from `fields`.
pub struct Event(EventRef);

/// A device's latest event, as far as every role may see it.
#[derive(SimpleObject)]
pub struct LatestEvent {
    #[graphql(name = "bizStep")]
    biz_step: Option<String>,
    #[graphql(name = "eventDate")]
    event_date: String,
}

#[derive(SimpleObject)]
pub struct EventField {
    name: String,
    /// Null when erased.
    value: Json<serde_json::Value>,
    visibility: Visibility,
    /// The value was erased under an erasure record; its commitment stays
    /// in the public log.
    erased: bool,
    /// When the caller may see only that the field exists: its commitment
    /// in the public log (base64), and a null value.
    commitment: Option<String>,
}

impl Event {
    fn text(&self, name: &str) -> Option<String> {
        self.0
            .field(name)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    }
}

#[Object]
impl Event {
    #[graphql(name = "eventID")]
    async fn event_id(&self) -> Option<String> {
        self.text("eventID")
    }
    // Typed members are read from the fields the policy disclosed, like
    // every other field: null when the caller may not see them.
    #[graphql(name = "type")]
    async fn event_type(&self) -> Option<String> {
        self.text("type")
    }
    async fn action(&self) -> Option<String> {
        self.text("action")
    }
    #[graphql(name = "bizStep")]
    async fn biz_step(&self) -> Option<String> {
        self.text("bizStep")
    }
    async fn disposition(&self) -> Option<String> {
        self.text("disposition")
    }
    /// The day in the event's own offset (public); the full instant is
    /// `eventTime`.
    #[graphql(name = "eventDate")]
    async fn event_date(&self) -> Option<String> {
        self.text("eventDate")
    }
    #[graphql(name = "eventTime")]
    async fn event_time(&self) -> Option<String> {
        self.text("eventTime")
    }
    #[graphql(name = "eventTimeZoneOffset")]
    async fn event_time_zone_offset(&self) -> Option<String> {
        self.text("eventTimeZoneOffset")
    }
    /// When the portal recorded the event; shown with `eventTime` only
    /// (it would give the event's time away).
    #[graphql(name = "recordTime")]
    async fn record_time(&self) -> Option<String> {
        self.0.record_time.map(time)
    }
    /// The acting organisation's slug.
    async fn organisation(&self) -> Option<String> {
        self.text("organisation")
    }
    /// This event's leaf (for this device) in the public log.
    #[graphql(name = "leafIndex")]
    async fn leaf_index(&self) -> Option<u64> {
        self.0.leaf_index
    }
    /// The C2SP tlog-proof of this leaf against the latest checkpoint; null
    /// until a checkpoint covers it (within about a second of capture).
    #[graphql(name = "tlogProof", complexity = "super::PROOF_COST")]
    async fn tlog_proof(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        let Some(index) = self.0.leaf_index else {
            return Ok(None);
        };
        match portal(ctx).tlog_proof(index).await {
            Ok(text) => Ok(Some(text)),
            Err(crate::services::log::LogError::NotYetCovered) => Ok(None),
            Err(e) => Err(internal(e)),
        }
    }
    /// Every field the caller may see, standard members and extensions.
    async fn fields(&self) -> Vec<EventField> {
        self.0
            .fields
            .iter()
            .map(|f| EventField {
                name: f.name.clone(),
                value: Json(f.value.clone()),
                visibility: f.class.into(),
                erased: f.erased,
                commitment: f.commitment.clone(),
            })
            .collect()
    }
}
