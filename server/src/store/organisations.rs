//! Organisations.

use chrono::Utc;
use entities::organisation;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use super::{Store, StoreError, StoreResult};
use crate::domain::organisation::{NewOrganisation, Organisation, OrganisationKind, Slug};

fn to_domain(m: organisation::Model) -> StoreResult<Organisation> {
    Ok(Organisation {
        id: m.id,
        slug: Slug::parse(&m.slug).map_err(StoreError::Corrupt)?,
        kind: m.kind.parse().map_err(StoreError::Corrupt)?,
        name: m.name,
        country: m.country,
    })
}

impl Store {
    #[tracing::instrument(skip(self))]
    pub async fn organisation_by_slug(&self, slug: &str) -> StoreResult<Option<Organisation>> {
        organisation::Entity::find()
            .filter(organisation::Column::Slug.eq(slug))
            .one(self.db())
            .await?
            .map(to_domain)
            .transpose()
    }

    #[tracing::instrument(skip(self))]
    pub async fn organisations_of_kind(
        &self,
        kind: OrganisationKind,
    ) -> StoreResult<Vec<Organisation>> {
        organisation::Entity::find()
            .filter(organisation::Column::Kind.eq(kind.as_str()))
            .order_by_asc(organisation::Column::Id)
            .all(self.db())
            .await?
            .into_iter()
            .map(to_domain)
            .collect()
    }

    /// Inserts the organisation unless one with its slug exists; returns the
    /// stored row either way.
    #[tracing::instrument(skip(self, new), fields(slug = %new.slug))]
    pub async fn ensure_organisation(&self, new: &NewOrganisation) -> StoreResult<Organisation> {
        self.ensure_organisation_audited(new, None).await
    }

    /// As `ensure_organisation`; a new row is written with `audit` (an
    /// access-log row) in one transaction.
    pub async fn ensure_organisation_audited(
        &self,
        new: &NewOrganisation,
        audit: Option<&super::access::AccessRow>,
    ) -> StoreResult<Organisation> {
        if let Some(existing) = self.organisation_by_slug(new.slug.as_str()).await? {
            return Ok(existing);
        }
        let tx = sea_orm::TransactionTrait::begin(self.db()).await?;
        let model = organisation::ActiveModel {
            slug: Set(new.slug.as_str().to_owned()),
            name: Set(new.name.clone()),
            kind: Set(new.kind.as_str().to_owned()),
            country: Set(new.country.clone()),
            created_at: Set(Utc::now()),
            epoch: Set(0),
            ..Default::default()
        }
        .insert(&tx)
        .await?;
        if let Some(row) = audit {
            super::access::append_in(&tx, std::slice::from_ref(row)).await?;
        }
        tx.commit().await?;
        to_domain(model)
    }
}
