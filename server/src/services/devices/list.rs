//! Lists of devices: the `devices` page and what its data loaders batch
//! (components installed now, latest events).

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::{ComponentView, DeviceHandle, DeviceView, ReadError};
use crate::auth::Principal;
use crate::policy;
use crate::services::Portal;
use crate::store::StoreError;

/// Filters of [`Portal::devices`], as the API takes them.
#[derive(Clone, Debug, Default)]
pub struct DeviceListFilter {
    pub gtin: Option<String>,
    pub lot: Option<String>,
    pub status: Option<String>,
    pub custodian: Option<crate::domain::organisation::Slug>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
}

impl Portal {
    /// A page of the devices the caller may see, in the order they were
    /// created, after the device `after` (none: from the first).
    pub async fn devices(
        &self,
        principal: &Principal,
        filter: &DeviceListFilter,
        after: Option<DeviceHandle>,
        limit: u64,
    ) -> Result<Vec<DeviceView>, ReadError> {
        let gtin = match &filter.gtin {
            Some(g) => Some(
                crate::domain::Gtin::parse(g)
                    .map_err(|e| ReadError::InvalidInput(format!("gtin: {e}")))?
                    .as_str()
                    .to_owned(),
            ),
            None => None,
        };
        // A partner may ask only for what it holds itself: whom another
        // device is with is partner data it does not get.
        if !policy::sees_every_device(principal.role)
            && filter
                .custodian
                .as_ref()
                .is_some_and(|c| c.as_str() != principal.org)
        {
            return Ok(Vec::new());
        }
        let custodian_id = match &filter.custodian {
            Some(slug) => match self.store.organisation_by_slug(slug.as_str()).await? {
                Some(o) => Some(o.id),
                None => return Ok(Vec::new()),
            },
            None => None,
        };
        let scope = if policy::sees_every_device(principal.role) {
            None
        } else {
            match self.store.organisation_by_slug(&principal.org).await? {
                Some(o) => Some(o.id),
                None => return Ok(Vec::new()),
            }
        };
        let rows = self
            .store
            .devices_page(
                &crate::store::devices::DeviceFilter {
                    gtin,
                    lot: filter.lot.clone(),
                    status: filter.status.clone(),
                    custodian_id,
                    created_from: filter.created_from,
                    created_to: filter.created_to,
                },
                scope,
                after.map_or(0, DeviceHandle::id),
                limit,
            )
            .await?;
        Ok(self.views(principal.into(), rows).await?)
    }
}

impl Portal {
    /// The components installed now in each of `parents`, with a constant
    /// number of queries (for the API's data loader): those that exist for
    /// the caller (a part installed after the caller's organisation let the
    /// device go does not).
    pub async fn current_components(
        &self,
        principal: &Principal,
        parents: &[DeviceHandle],
    ) -> Result<HashMap<DeviceHandle, Vec<ComponentView>>, StoreError> {
        let parents: Vec<i64> = parents.iter().map(|h| h.id()).collect();
        let mut links = self.store.open_links(&parents, true).await?;
        if !policy::sees_every_device(principal.role) {
            let org = self.store.organisation_by_slug(&principal.org).await?;
            let ids: Vec<i64> = links.iter().map(|l| l.child_id).collect();
            let custody = self.store.custody_chain(&ids).await?;
            links.retain(|l| {
                org.as_ref()
                    .is_some_and(|o| policy::may_see_device(&custody, l.child_id, o.id))
            });
        }
        let child_ids: Vec<i64> = links.iter().map(|l| l.child_id).collect();
        let children = self.store.devices_by_ids(&child_ids).await?;
        let views: HashMap<i64, DeviceView> = self
            .views(principal.into(), children)
            .await?
            .into_iter()
            .map(|v| (v.id(), v))
            .collect();
        let mut out: HashMap<DeviceHandle, Vec<ComponentView>> = HashMap::new();
        for l in links {
            if let Some(v) = views.get(&l.child_id) {
                out.entry(DeviceHandle(l.parent_id))
                    .or_default()
                    .push(ComponentView {
                        device: v.clone(),
                        installed_at: l.installed_at,
                        removed_at: None,
                    });
            }
        }
        Ok(out)
    }

    /// The latest event of each device (for the API's data loader): its
    /// step and its day in the event's own offset.
    pub async fn latest_events(
        &self,
        devices: &[DeviceHandle],
    ) -> Result<HashMap<DeviceHandle, super::LatestEventView>, StoreError> {
        let ids: Vec<i64> = devices.iter().map(|h| h.id()).collect();
        Ok(self
            .store
            .latest_events(&ids)
            .await?
            .into_iter()
            .map(|(id, e)| {
                let offset = e
                    .event_time_zone_offset
                    .parse::<chrono::FixedOffset>()
                    .unwrap_or_else(|_| chrono::Offset::fix(&chrono::Utc));
                let day = e.event_time.with_timezone(&offset).format("%Y-%m-%d");
                (
                    DeviceHandle(id),
                    super::LatestEventView {
                        biz_step: e.biz_step,
                        event_date: day.to_string(),
                    },
                )
            })
            .collect())
    }
}
