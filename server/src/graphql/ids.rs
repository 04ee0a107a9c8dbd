//! Identifiers are parsed once, here at the edge: the services take the
//! domain types, never a string to parse again.

use async_graphql::Result;

use super::ErrorCode;
use crate::domain::{
    DeviceKey, DigitalLink, DlParseOptions, Gtin, Serial, organisation::Slug, parse_digital_link,
};

/// A device key from the `gtin` and `serial` arguments.
pub(super) fn device_key(gtin: &str, serial: &str) -> Result<DeviceKey> {
    let gtin = Gtin::parse(gtin).map_err(|e| ErrorCode::InvalidInput.error(e.to_string()))?;
    let serial = Serial::parse(serial).map_err(|e| ErrorCode::InvalidInput.error(e.to_string()))?;
    Ok(DeviceKey::new(gtin, serial))
}

/// Any Digital Link form the portal resolves.
pub(super) fn digital_link(uri: &str) -> Result<DigitalLink> {
    parse_digital_link(uri, &DlParseOptions::portal())
        .map_err(|e| ErrorCode::InvalidInput.error(format!("not a valid Digital Link URI: {e}")))
}

/// An organisation slug argument named `field`.
pub(super) fn slug(field: &str, value: &str) -> Result<Slug> {
    Slug::parse(value).map_err(|e| ErrorCode::InvalidInput.error(format!("{field}: {e}")))
}
