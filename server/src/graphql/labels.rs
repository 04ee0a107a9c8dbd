//! A unit's label over GraphQL (staff only): the URL it encodes, with the
//! verification code, and its artwork.

use async_graphql::{Context, Result, SimpleObject};
use base64::Engine;

use super::{ErrorCode, internal, portal, principal};
use crate::services::labels::{LabelError, PrintMode, Units, label_svg, qr_png};

/// A unit's label.
#[derive(SimpleObject)]
pub struct Label {
    /// What the QR code encodes: the unit's Digital Link with its
    /// verification code (`?c=`). Keep it as safe as the printed label.
    url: String,
    /// The label's generation: a reprint moves it on and voids the code of
    /// every earlier print.
    generation: u32,
    /// The label: QR code, model, GTIN, serial and lot (SVG, 70 × 37 mm).
    svg: String,
    /// The QR code alone (PNG, base64; error correction M, 4-module quiet
    /// zone).
    #[graphql(name = "pngBase64")]
    png_base64: String,
}

pub(super) async fn label(
    ctx: &Context<'_>,
    gtin: &str,
    serial: &str,
    mode: PrintMode,
) -> Result<Option<Label>> {
    let key = super::ids::device_key(gtin, serial)?;
    let units = Units::Serials(key.gtin().clone(), vec![key.serial().clone()]);
    let printed = portal(ctx)
        .print_labels(principal(ctx)?, &units, mode)
        .await
        .map_err(|e| match e {
            LabelError::Forbidden => ErrorCode::Forbidden.error(e.to_string()),
            LabelError::InvalidInput(m) => ErrorCode::InvalidInput.error(m),
            LabelError::Store(s) => internal(s),
        })?;
    let Some(label) = printed.into_iter().next() else {
        return Ok(None);
    };
    Ok(Some(Label {
        svg: label_svg(&label).map_err(internal)?,
        png_base64: base64::engine::general_purpose::STANDARD
            .encode(qr_png(&label).map_err(internal)?),
        generation: label.generation,
        url: label.url.expose().to_owned(),
    }))
}
