//! Identifiers are parsed once, here at the edge: the services take the
//! domain types, never a string to parse again. A refusal is
//! `INVALID_INPUT` with the argument in `extensions.field` and the reason in
//! `extensions.reason`.

use async_graphql::{ErrorExtensions, Result};

use super::ErrorCode;
use crate::domain::{
    DeviceKey, DigitalLink, DlParseOptions, Gtin, Serial, organisation::Slug, parse_digital_link,
};

fn invalid(field: &'static str, message: String, reason: String) -> async_graphql::Error {
    ErrorCode::InvalidInput
        .error(message)
        .extend_with(move |_, x| {
            x.set("field", field);
            x.set("reason", reason.as_str());
        })
}

/// A device key from the `gtin` and `serial` arguments.
pub(super) fn device_key(gtin: &str, serial: &str) -> Result<DeviceKey> {
    let gtin = Gtin::parse(gtin).map_err(|e| invalid("gtin", e.to_string(), e.to_string()))?;
    let serial =
        Serial::parse(serial).map_err(|e| invalid("serial", e.to_string(), e.to_string()))?;
    Ok(DeviceKey::new(gtin, serial))
}

/// A `gtin` argument (8, 12, 13 or 14 digits).
pub(super) fn gtin(value: &str) -> Result<Gtin> {
    Gtin::parse(value).map_err(|e| invalid("gtin", format!("gtin: {e}"), e.to_string()))
}

/// Any Digital Link form the portal resolves.
pub(super) fn digital_link(uri: &str) -> Result<DigitalLink> {
    parse_digital_link(uri, &DlParseOptions::portal()).map_err(|e| {
        invalid(
            "uri",
            format!("not a valid Digital Link URI: {e}"),
            e.to_string(),
        )
    })
}

/// An organisation slug argument named `field`.
pub(super) fn slug(field: &'static str, value: &str) -> Result<Slug> {
    Slug::parse(value).map_err(|e| invalid(field, format!("{field}: {e}"), e))
}
