//! Data loaders: a page of devices asks for its components and latest
//! events in one batch each, not one query per device.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;

use crate::services::Portal;
use crate::services::devices::{ComponentView, DeviceHandle, LatestEventView};

/// Key: the components installed now in this device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ComponentsOf(pub DeviceHandle);

/// Key: this device's latest event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LatestOf(pub DeviceHandle);

/// The portal and the caller: what a loader returns is decided for it.
pub struct DeviceLoader(pub Arc<Portal>, pub crate::auth::Principal);

impl Loader<ComponentsOf> for DeviceLoader {
    type Value = Vec<ComponentView>;
    type Error = Arc<String>;

    async fn load(
        &self,
        keys: &[ComponentsOf],
    ) -> Result<HashMap<ComponentsOf, Self::Value>, Self::Error> {
        let ids: Vec<DeviceHandle> = keys.iter().map(|k| k.0).collect();
        let mut found = self
            .0
            .current_components(&self.1, &ids)
            .await
            .map_err(|e| Arc::new(e.to_string()))?;
        Ok(keys
            .iter()
            .map(|k| (*k, found.remove(&k.0).unwrap_or_default()))
            .collect())
    }
}

impl Loader<LatestOf> for DeviceLoader {
    type Value = LatestEventView;
    type Error = Arc<String>;

    async fn load(&self, keys: &[LatestOf]) -> Result<HashMap<LatestOf, Self::Value>, Self::Error> {
        let ids: Vec<DeviceHandle> = keys.iter().map(|k| k.0).collect();
        let found = self
            .0
            .latest_events(&ids)
            .await
            .map_err(|e| Arc::new(e.to_string()))?;
        Ok(found.into_iter().map(|(id, e)| (LatestOf(id), e)).collect())
    }
}
