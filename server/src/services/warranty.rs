//! Regions and warranty providers per product and region, managed by the
//! manufacturer's staff (docs/device-lifecycle.md, "Warranty providers").

use super::Portal;
use super::reference::{ReferenceError, check_staff, invalid, write_row};
use crate::auth::Principal;
use crate::domain::Gtin;
use crate::domain::organisation::{OrganisationKind, Slug};
use crate::domain::region::Region;
use crate::store::warranty::RegionConflict;

impl Portal {
    /// Defines a region: a name and its countries, each with one time zone.
    /// A country is in at most one region; a region, once defined, does not
    /// change.
    pub async fn define_region(
        &self,
        p: &Principal,
        name: &str,
        countries: &[(String, String)],
    ) -> Result<Region, ReferenceError> {
        check_staff(p)?;
        let region = Region::parse(name, countries).map_err(|(f, r)| invalid(f, r))?;
        let audit = write_row(p, "defineRegion", Vec::new(), &region.name);
        match self.store.insert_region(&region, &audit).await? {
            Ok(row) => Ok(row.region),
            Err(RegionConflict::Name) => Err(invalid("name", "already taken")),
            Err(RegionConflict::Country(c, r)) => Err(invalid(
                "countries",
                format!("{c} is in region {r} already"),
            )),
        }
    }

    /// Every region. Readable by every signed-in caller: regions are not
    /// secret.
    pub async fn regions(&self, _p: &Principal) -> Result<Vec<Region>, ReferenceError> {
        Ok(self
            .store
            .regions()
            .await?
            .into_iter()
            .map(|r| r.region)
            .collect())
    }

    /// Assigns (or with `org = None` ends) the warranty provider of the
    /// product `gtin` in `region`, from now on: every unit of the product
    /// held in the region, and every unit that comes to be held there,
    /// has it as its warranty provider.
    pub async fn assign_warranty_provider(
        &self,
        p: &Principal,
        gtin: &Gtin,
        region: &str,
        org: Option<&Slug>,
    ) -> Result<(), ReferenceError> {
        check_staff(p)?;
        let org = org.map(Slug::as_str);
        let product = self
            .store
            .product_by_gtin(gtin.as_str())
            .await?
            .ok_or_else(|| invalid("gtin", "no such product"))?;
        let region_id = self
            .store
            .regions()
            .await?
            .into_iter()
            .find(|r| r.region.name == region)
            .map(|r| r.id)
            .ok_or_else(|| invalid("region", "no such region"))?;
        let org_id = self
            .organisation_of_kind(
                org,
                OrganisationKind::WarrantyProvider,
                "a warranty provider",
            )
            .await?;
        let audit = write_row(
            p,
            "assignWarrantyProvider",
            Vec::new(),
            &format!("{} in {region}: {}", gtin.as_str(), org.unwrap_or("(none)")),
        );
        self.store
            .assign_warranty_provider(product.id, region_id, org_id, &audit)
            .await?;
        Ok(())
    }
}
