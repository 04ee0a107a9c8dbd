//! Reference data managed by the manufacturer: organisations, locations,
//! products, and a device's service partner.

use super::Portal;
use crate::auth::Principal;
use crate::domain::organisation::{NewOrganisation, Organisation, OrganisationKind, Slug};
use crate::domain::{DeviceKey, Gtin};
use crate::store::StoreError;
use crate::store::reference::{LocationRow, ProductRow};

#[derive(Debug, thiserror::Error)]
pub enum ReferenceError {
    #[error("only the manufacturer's staff manage reference data")]
    Forbidden,
    #[error("{field}: {reason}")]
    InvalidInput { field: &'static str, reason: String },
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub(super) fn invalid(field: &'static str, reason: impl Into<String>) -> ReferenceError {
    ReferenceError::InvalidInput {
        field,
        reason: reason.into(),
    }
}

pub(super) fn check_staff(p: &Principal) -> Result<(), ReferenceError> {
    if crate::policy::may(
        p.into(),
        crate::policy::Relationship::None,
        crate::policy::Operation::WriteReferenceData,
    ) {
        Ok(())
    } else {
        Err(ReferenceError::Forbidden)
    }
}

fn check_country(country: Option<&str>) -> Result<(), ReferenceError> {
    match country {
        Some(c) if c.len() != 2 || !c.chars().all(|ch| ch.is_ascii_uppercase()) => {
            Err(invalid("country", "an ISO 3166-1 alpha-2 code such as DE"))
        }
        _ => Ok(()),
    }
}

fn check_name(field: &'static str, v: &str) -> Result<(), ReferenceError> {
    if v.trim().is_empty() || v.len() > 200 {
        return Err(invalid(field, "1-200 characters"));
    }
    Ok(())
}

/// The access-log row of a reference-data write by `p`.
pub(super) fn write_row(
    p: &Principal,
    operation: &str,
    devices: Vec<String>,
    target: &str,
) -> crate::store::access::AccessRow {
    super::access::row(
        p.into(),
        &super::access::current_client(),
        operation,
        devices,
        &[],
        &format!("ok: {target}"),
    )
}

impl Portal {
    pub async fn create_organisation(
        &self,
        p: &Principal,
        slug: &str,
        name: &str,
        kind: &str,
        country: Option<&str>,
    ) -> Result<Organisation, ReferenceError> {
        check_staff(p)?;
        let slug = Slug::parse(slug).map_err(|e| invalid("slug", e))?;
        let kind: OrganisationKind = kind.parse().map_err(|e: String| invalid("kind", e))?;
        check_name("name", name)?;
        check_country(country)?;
        if self
            .store
            .organisation_by_slug(slug.as_str())
            .await?
            .is_some()
        {
            return Err(invalid("slug", "already taken"));
        }
        let audit = write_row(p, "createOrganisation", Vec::new(), slug.as_str());
        Ok(self
            .store
            .ensure_organisation_audited(
                &NewOrganisation {
                    slug,
                    name: name.trim().to_owned(),
                    kind,
                    country: country.map(str::to_owned),
                },
                Some(&audit),
            )
            .await?)
    }

    pub async fn create_location(
        &self,
        p: &Principal,
        org: &str,
        gln: Option<&str>,
        local_id: Option<&str>,
        name: &str,
        country: Option<&str>,
    ) -> Result<LocationRow, ReferenceError> {
        check_staff(p)?;
        let org = self
            .store
            .organisation_by_slug(org)
            .await?
            .ok_or_else(|| invalid("organisation", "no such organisation"))?;
        match (gln, local_id) {
            (Some(g), None) => {
                if g.len() != 13 || crate::domain::check_mod10(g).is_err() {
                    return Err(invalid(
                        "gln",
                        "a GLN is 13 digits with a valid check digit",
                    ));
                }
            }
            (None, Some(l)) => check_name("localId", l)?,
            _ => return Err(invalid("gln", "give exactly one of gln and localId")),
        }
        check_name("name", name)?;
        check_country(country)?;
        if self.store.location_exists(org.id, gln, local_id).await? {
            return Err(invalid(
                if gln.is_some() { "gln" } else { "localId" },
                "already registered",
            ));
        }
        let audit = write_row(p, "createLocation", Vec::new(), org.slug.as_str());
        Ok(self
            .store
            .insert_location(org.id, gln, local_id, name.trim(), country, &audit)
            .await?)
    }

    pub async fn create_product(
        &self,
        p: &Principal,
        gtin: &str,
        name: &str,
        model: &str,
        warranty_months: i32,
        warranty_terms: &str,
    ) -> Result<ProductRow, ReferenceError> {
        check_staff(p)?;
        let gtin = Gtin::parse(gtin).map_err(|e| invalid("gtin", e.to_string()))?;
        check_name("name", name)?;
        check_name("model", model)?;
        if !(0..=240).contains(&warranty_months) {
            return Err(invalid("warrantyMonths", "0 to 240"));
        }
        if warranty_terms.len() > 10_000 {
            return Err(invalid("warrantyTerms", "at most 10,000 characters"));
        }
        if self.store.product_by_gtin(gtin.as_str()).await?.is_some() {
            return Err(invalid("gtin", "a product with this GTIN exists"));
        }
        let manufacturer = self
            .store
            .organisation_by_slug(&p.org)
            .await?
            .ok_or(ReferenceError::Forbidden)?;
        Ok(self
            .store
            .insert_product(
                gtin.as_str(),
                manufacturer.id,
                name.trim(),
                model.trim(),
                warranty_months,
                warranty_terms,
                &write_row(p, "createProduct", Vec::new(), gtin.as_str()),
            )
            .await?)
    }

    /// The row id of the organisation `slug` (None for None), which must be
    /// of `kind` (`what` names it in the error).
    pub(super) async fn organisation_of_kind(
        &self,
        slug: Option<&str>,
        kind: OrganisationKind,
        what: &str,
    ) -> Result<Option<i64>, ReferenceError> {
        let Some(slug) = slug else {
            return Ok(None);
        };
        let o = self
            .store
            .organisation_by_slug(slug)
            .await?
            .ok_or_else(|| invalid("organisation", "no such organisation"))?;
        if o.kind != kind {
            return Err(invalid("organisation", format!("is not {what}")));
        }
        Ok(Some(o.id))
    }

    /// Assigns (or with `org = None` clears) the device's service partner.
    pub async fn assign_service_partner(
        &self,
        p: &Principal,
        key: &DeviceKey,
        org: Option<&Slug>,
    ) -> Result<(), ReferenceError> {
        check_staff(p)?;
        let org = org.map(Slug::as_str);
        let device = self
            .store
            .device_by_key(key.gtin().as_str(), key.serial().as_str())
            .await?
            .ok_or(ReferenceError::NotFound)?;
        let org_id = self
            .organisation_of_kind(org, OrganisationKind::ServicePartner, "a service partner")
            .await?;
        let audit = write_row(
            p,
            "assignServicePartner",
            vec![format!("{}/{}", device.gtin, device.serial)],
            org.unwrap_or("(none)"),
        );
        if !self
            .store
            .assign_service_partner(device.id, org_id, &audit)
            .await?
        {
            return Err(ReferenceError::NotFound);
        }
        Ok(())
    }
}
