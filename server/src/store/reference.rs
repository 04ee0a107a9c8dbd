//! Reference data: locations, products, service partner assignment.

use chrono::Utc;
use entities::{location, product};
use sea_orm::TransactionTrait;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

use super::access::{AccessRow, append_in};
use super::{Store, StoreResult};

#[derive(Clone, Debug)]
pub struct ProductRow {
    pub id: i64,
    pub gtin: String,
    pub manufacturer_id: i64,
    pub name: String,
    pub model: String,
    pub warranty_months: i32,
    pub warranty_terms: String,
}

impl From<product::Model> for ProductRow {
    fn from(m: product::Model) -> Self {
        Self {
            id: m.id,
            gtin: m.gtin,
            manufacturer_id: m.manufacturer_id,
            name: m.name,
            model: m.model,
            warranty_months: m.warranty_months,
            warranty_terms: m.warranty_terms,
        }
    }
}

#[derive(Clone, Debug)]
pub struct LocationRow {
    pub id: i64,
    pub organisation_id: i64,
    pub gln: Option<String>,
    pub local_id: Option<String>,
    pub name: String,
    pub country: Option<String>,
}

impl Store {
    pub async fn product_by_gtin(&self, gtin: &str) -> StoreResult<Option<ProductRow>> {
        Ok(product::Entity::find()
            .filter(product::Column::Gtin.eq(gtin))
            .one(self.db())
            .await?
            .map(ProductRow::from))
    }

    pub async fn product_by_id(&self, id: i64) -> StoreResult<Option<ProductRow>> {
        self.count_device_query();
        Ok(product::Entity::find_by_id(id)
            .one(self.db())
            .await?
            .map(ProductRow::from))
    }

    /// Products by id: one query per list chunk.
    pub async fn products_by_ids(
        &self,
        ids: &[i64],
    ) -> StoreResult<std::collections::HashMap<i64, ProductRow>> {
        if ids.is_empty() {
            return Ok(Default::default());
        }
        let mut out = std::collections::HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(self.chunk()) {
            self.count_device_query();
            out.extend(
                product::Entity::find()
                    .filter(product::Column::Id.is_in(chunk.iter().copied()))
                    .all(self.db())
                    .await?
                    .into_iter()
                    .map(|m| (m.id, ProductRow::from(m))),
            );
        }
        Ok(out)
    }

    #[tracing::instrument(skip(self, audit))]
    #[allow(clippy::too_many_arguments)]
    pub async fn insert_product(
        &self,
        gtin: &str,
        manufacturer_id: i64,
        name: &str,
        model: &str,
        warranty_months: i32,
        warranty_terms: &str,
        audit: &AccessRow,
    ) -> StoreResult<ProductRow> {
        let tx = self.db().begin().await?;
        let m = product::ActiveModel {
            gtin: Set(gtin.to_owned()),
            manufacturer_id: Set(manufacturer_id),
            name: Set(name.to_owned()),
            model: Set(model.to_owned()),
            warranty_months: Set(warranty_months),
            warranty_terms: Set(warranty_terms.to_owned()),
            created_at: Set(Utc::now()),
            ..Default::default()
        }
        .insert(&tx)
        .await?;
        append_in(&tx, std::slice::from_ref(audit)).await?;
        tx.commit().await?;
        Ok(m.into())
    }

    #[tracing::instrument(skip(self, audit))]
    pub async fn insert_location(
        &self,
        organisation_id: i64,
        gln: Option<&str>,
        local_id: Option<&str>,
        name: &str,
        country: Option<&str>,
        audit: &AccessRow,
    ) -> StoreResult<LocationRow> {
        let tx = self.db().begin().await?;
        let m = location::ActiveModel {
            organisation_id: Set(organisation_id),
            gln: Set(gln.map(str::to_owned)),
            local_id: Set(local_id.map(str::to_owned)),
            name: Set(name.to_owned()),
            country: Set(country.map(str::to_owned)),
            ..Default::default()
        }
        .insert(&tx)
        .await?;
        append_in(&tx, std::slice::from_ref(audit)).await?;
        tx.commit().await?;
        Ok(LocationRow {
            id: m.id,
            organisation_id: m.organisation_id,
            gln: m.gln,
            local_id: m.local_id,
            name: m.name,
            country: m.country,
        })
    }

    pub async fn location_exists(
        &self,
        organisation_id: i64,
        gln: Option<&str>,
        local_id: Option<&str>,
    ) -> StoreResult<bool> {
        let mut q = location::Entity::find();
        if let Some(g) = gln {
            q = q.filter(location::Column::Gln.eq(g));
        } else {
            q = q
                .filter(location::Column::OrganisationId.eq(organisation_id))
                .filter(location::Column::LocalId.eq(local_id));
        }
        Ok(q.one(self.db()).await?.is_some())
    }
}
