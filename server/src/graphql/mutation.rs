//! Root mutation: capture and reference data.

use async_graphql::{Context, ErrorExtensions, Object, Result, SimpleObject};

use super::{ErrorCode, inputs::EventInput, internal, portal, principal};
use crate::services::capture::CaptureError;
use crate::services::reference::ReferenceError;

pub struct Mutation;

#[derive(SimpleObject)]
pub struct Receipt {
    #[graphql(name = "eventID")]
    event_id: String,
    /// RFC 3339, when the portal recorded the event.
    #[graphql(name = "recordTime")]
    record_time: String,
    /// The event's leaves in the public log, one per device it touches.
    #[graphql(name = "leafIndexes")]
    leaf_indexes: Vec<u64>,
}

#[derive(SimpleObject)]
pub struct CaptureResult {
    /// One receipt per event, in input order.
    receipts: Vec<Receipt>,
}

#[derive(SimpleObject)]
pub struct Organisation {
    slug: String,
    name: String,
    kind: String,
    country: Option<String>,
}

/// A country of a region, with the time zone the region uses there.
#[derive(SimpleObject, async_graphql::InputObject)]
#[graphql(input_name = "RegionCountryInput")]
pub struct RegionCountry {
    /// ISO 3166-1 alpha-2, such as DE.
    pub country: String,
    /// An IANA time zone name, such as Europe/Berlin.
    #[graphql(name = "timeZone")]
    pub time_zone: String,
}

/// A named list of countries: warranty providers are assigned per product
/// and region.
#[derive(SimpleObject)]
pub struct Region {
    pub name: String,
    pub countries: Vec<RegionCountry>,
}

impl From<crate::domain::region::Region> for Region {
    fn from(r: crate::domain::region::Region) -> Self {
        Region {
            name: r.name,
            countries: r
                .countries
                .into_iter()
                .map(|(country, time_zone)| RegionCountry { country, time_zone })
                .collect(),
        }
    }
}

#[derive(SimpleObject)]
pub struct Location {
    organisation: String,
    gln: Option<String>,
    #[graphql(name = "localId")]
    local_id: Option<String>,
    name: String,
    country: Option<String>,
}

fn reference_error(e: ReferenceError) -> async_graphql::Error {
    match e {
        ReferenceError::Forbidden => ErrorCode::Forbidden.error(e.to_string()),
        ReferenceError::NotFound => ErrorCode::NotFound.error("not found"),
        ReferenceError::InvalidInput { field, ref reason } => {
            let reason = reason.clone();
            ErrorCode::InvalidInput
                .error(e.to_string())
                .extend_with(move |_, x| {
                    x.set("field", field);
                    x.set("reason", reason.as_str());
                })
        }
        ReferenceError::Store(s) => internal(s),
    }
}

/// A personal field released by `requestPersonalData`.
#[derive(SimpleObject)]
pub struct PersonalField {
    #[graphql(name = "eventID")]
    event_id: String,
    name: String,
    value: async_graphql::Json<serde_json::Value>,
}

pub(super) fn access_error(e: crate::services::access::AccessLogError) -> async_graphql::Error {
    use crate::services::access::AccessLogError;
    match e {
        AccessLogError::Forbidden(m) => ErrorCode::Forbidden.error(m),
        AccessLogError::Store(s) => internal(s),
    }
}

#[Object]
impl Mutation {
    /// Regulators only: the personal fields of one device, for this request
    /// alone, with the reason stated. The request is written to the access
    /// log (with the reason) before anything is returned.
    #[graphql(name = "requestPersonalData")]
    async fn request_personal_data(
        &self,
        ctx: &Context<'_>,
        gtin: String,
        serial: String,
        reason: String,
    ) -> Result<Vec<PersonalField>> {
        let p = principal(ctx)?;
        let key = super::ids::device_key(&gtin, &serial)?;
        match portal(ctx)
            .request_personal_data(p, super::client(ctx), &key, &reason)
            .await
        {
            Ok(Some(fields)) => Ok(fields
                .into_iter()
                .map(|f| PersonalField {
                    event_id: f.event_id,
                    name: f.name,
                    value: async_graphql::Json(f.value),
                })
                .collect()),
            Ok(None) => Err(ErrorCode::NotFound.error("no such device")),
            Err(e) => Err(access_error(e)),
        }
    }

    /// Captures a batch of up to 10,000 events, all or nothing. Each rejected
    /// event is one error with `extensions { code: "INVALID_INPUT", index,
    /// field, reason }`, and then nothing of the batch is written.
    #[graphql(name = "captureEvents")]
    async fn capture_events(
        &self,
        ctx: &Context<'_>,
        events: Vec<EventInput>,
    ) -> Result<CaptureResult> {
        let p = principal(ctx)?;
        let raw = events.into_iter().map(Into::into).collect();
        match portal(ctx).capture_from(p, super::client(ctx), raw).await {
            Ok(receipts) => Ok(CaptureResult {
                receipts: receipts
                    .into_iter()
                    .map(|r| Receipt {
                        event_id: r.event_id,
                        leaf_indexes: r.leaf_indexes,
                        record_time: r
                            .record_time
                            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                    })
                    .collect(),
            }),
            Err(CaptureError::Rejected(rejections)) => {
                // Errors added to the context come before the resolver's
                // own; return the last so that the answer keeps batch order.
                let mut errors: Vec<_> = rejections
                    .into_iter()
                    .map(|r| {
                        ErrorCode::InvalidInput
                            .error(format!("event {}: {}: {}", r.index, r.field, r.reason))
                            .extend_with(move |_, e| {
                                e.set("index", r.index as u64);
                                e.set("field", r.field.as_str());
                                e.set("reason", r.reason.as_str());
                            })
                    })
                    .collect();
                let last = errors
                    .pop()
                    .unwrap_or_else(|| ErrorCode::InvalidInput.error("rejected"));
                for e in errors {
                    ctx.add_error(e.into_server_error(ctx.item.pos));
                }
                Err(last)
            }
            Err(CaptureError::InvalidBatch(m)) => Err(ErrorCode::InvalidInput.error(m)),
            Err(CaptureError::Forbidden(m)) => Err(ErrorCode::Forbidden.error(m)),
            Err(CaptureError::Store(e)) => Err(internal(e)),
        }
    }

    #[graphql(name = "createOrganisation")]
    async fn create_organisation(
        &self,
        ctx: &Context<'_>,
        slug: String,
        name: String,
        #[graphql(
            desc = "manufacturer, supplier, distributor, service_partner, warranty_provider, regulator"
        )]
        kind: String,
        country: Option<String>,
    ) -> Result<Organisation> {
        let o = portal(ctx)
            .create_organisation(principal(ctx)?, &slug, &name, &kind, country.as_deref())
            .await
            .map_err(reference_error)?;
        Ok(Organisation {
            slug: o.slug.to_string(),
            name: o.name,
            kind: o.kind.to_string(),
            country: o.country,
        })
    }

    #[graphql(name = "createLocation")]
    async fn create_location(
        &self,
        ctx: &Context<'_>,
        organisation: String,
        gln: Option<String>,
        #[graphql(name = "localId")] local_id: Option<String>,
        name: String,
        country: Option<String>,
    ) -> Result<Location> {
        let l = portal(ctx)
            .create_location(
                principal(ctx)?,
                &organisation,
                gln.as_deref(),
                local_id.as_deref(),
                &name,
                country.as_deref(),
            )
            .await
            .map_err(reference_error)?;
        Ok(Location {
            organisation,
            gln: l.gln,
            local_id: l.local_id,
            name: l.name,
            country: l.country,
        })
    }

    #[graphql(name = "createProduct")]
    async fn create_product(
        &self,
        ctx: &Context<'_>,
        gtin: String,
        name: String,
        model: String,
        #[graphql(name = "warrantyMonths")] warranty_months: i32,
        #[graphql(name = "warrantyTerms")] warranty_terms: String,
    ) -> Result<super::device::Product> {
        let p = portal(ctx)
            .create_product(
                principal(ctx)?,
                &gtin,
                &name,
                &model,
                warranty_months,
                &warranty_terms,
            )
            .await
            .map_err(reference_error)?;
        Ok(super::device::Product {
            gtin: p.gtin,
            name: p.name,
            model: p.model,
            warranty_months: p.warranty_months,
            warranty_terms: p.warranty_terms,
        })
    }

    /// Staff: confirms or dismisses an open alert. A confirmed
    /// `copy_suspected` tells the unit's customers that its code may have
    /// been copied.
    #[graphql(name = "decideAlert")]
    async fn decide_alert(
        &self,
        ctx: &Context<'_>,
        id: String,
        decision: super::alerts::AlertDecision,
    ) -> Result<super::alerts::Alert> {
        let id = super::alerts::id(&id)?;
        Ok(portal(ctx)
            .decide_alert(principal(ctx)?, id, decision.into())
            .await
            .map_err(super::alerts::error)?
            .into())
    }

    /// Staff: the unit's label, printed for the first time if it has none
    /// (a printed unit's label as it was). Null when there is no such unit.
    #[graphql(name = "printLabel", complexity = "super::LABEL_COST")]
    async fn print_label(
        &self,
        ctx: &Context<'_>,
        gtin: String,
        serial: String,
    ) -> Result<Option<super::labels::Label>> {
        super::labels::label(
            ctx,
            &gtin,
            &serial,
            crate::services::labels::PrintMode::Print,
        )
        .await
    }

    /// Staff: a new label for the unit; the code of every earlier print
    /// stops working. Null when there is no such unit.
    #[graphql(name = "reprintLabel", complexity = "super::LABEL_COST")]
    async fn reprint_label(
        &self,
        ctx: &Context<'_>,
        gtin: String,
        serial: String,
    ) -> Result<Option<super::labels::Label>> {
        super::labels::label(
            ctx,
            &gtin,
            &serial,
            crate::services::labels::PrintMode::Reprint,
        )
        .await
    }

    /// Assigns the device's service partner (or clears it without `organisation`).
    #[graphql(name = "assignServicePartner")]
    async fn assign_service_partner(
        &self,
        ctx: &Context<'_>,
        gtin: String,
        serial: String,
        organisation: Option<String>,
    ) -> Result<bool> {
        let key = super::ids::device_key(&gtin, &serial)?;
        let organisation = organisation
            .map(|o| super::ids::slug("organisation", &o))
            .transpose()?;
        portal(ctx)
            .assign_service_partner(principal(ctx)?, &key, organisation.as_ref())
            .await
            .map_err(reference_error)?;
        Ok(true)
    }

    /// Staff: defines a region (lower-case name; countries, each in at most
    /// one region, with one IANA time zone each). Regions do not change
    /// once defined.
    #[graphql(name = "defineRegion")]
    async fn define_region(
        &self,
        ctx: &Context<'_>,
        name: String,
        countries: Vec<RegionCountry>,
    ) -> Result<Region> {
        let countries: Vec<(String, String)> = countries
            .into_iter()
            .take(crate::domain::region::MAX_COUNTRIES + 1)
            .map(|c| (c.country, c.time_zone))
            .collect();
        portal(ctx)
            .define_region(principal(ctx)?, &name, &countries)
            .await
            .map(Region::from)
            .map_err(reference_error)
    }

    /// Staff: assigns the warranty provider of a product in a region from
    /// now on (or ends the assignment without `organisation`): every unit
    /// of the product held in the region, now or later, has it.
    #[graphql(name = "assignWarrantyProvider")]
    async fn assign_warranty_provider(
        &self,
        ctx: &Context<'_>,
        gtin: String,
        region: String,
        organisation: Option<String>,
    ) -> Result<bool> {
        let gtin = super::ids::gtin(&gtin)?;
        let organisation = organisation
            .map(|o| super::ids::slug("organisation", &o))
            .transpose()?;
        portal(ctx)
            .assign_warranty_provider(principal(ctx)?, &gtin, &region, organisation.as_ref())
            .await
            .map_err(reference_error)?;
        Ok(true)
    }
}
