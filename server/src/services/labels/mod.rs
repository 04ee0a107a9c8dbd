//! Printing labels and checking their codes (docs/labels.md). A label
//! encodes the unit's Digital Link on the public base URL with the unit's
//! verification code; printing records which label secret and generation
//! the code is of, so that a reprint voids every earlier print.

mod render;

pub use render::{label_svg, qr_png, sheets};

use super::Portal;
use crate::auth::Principal;
use crate::domain::label_code;
use crate::domain::{DeviceKey, Gtin, Lot, Serial, canonical_uri};
use crate::policy::{self, Operation, Relationship};
use crate::store::StoreError;
use crate::store::labels::LabelSelection;
pub use crate::store::labels::PrintMode;

/// Which units to print.
#[derive(Clone, Debug)]
pub enum Units {
    /// Every unit of the product in the lot.
    Lot(Gtin, Lot),
    /// These units of the product.
    Serials(Gtin, Vec<Serial>),
}

/// The URL a label encodes. It holds the unit's verification code, so it
/// is never logged: `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct LabelUrl(String);

impl LabelUrl {
    /// The URL itself, for the label and for no log.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for LabelUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LabelUrl(…)")
    }
}

/// One printed label.
#[derive(Clone, Debug)]
pub struct Label {
    pub device: DeviceKey,
    pub lot: Option<String>,
    pub product: String,
    pub model: String,
    pub generation: u32,
    pub url: LabelUrl,
}

#[derive(Debug, thiserror::Error)]
pub enum LabelError {
    #[error("only the manufacturer prints labels")]
    Forbidden,
    #[error("{0}")]
    InvalidInput(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// At most this many labels per request.
pub const MAX_LABELS: usize = 10_000;

impl Portal {
    /// Prints labels (`PrintMode`): the selected units that exist, each
    /// with the URL its label encodes. Logged in the access log with the
    /// units named (never a code).
    pub async fn print_labels(
        &self,
        principal: &Principal,
        units: &Units,
        mode: PrintMode,
    ) -> Result<Vec<Label>, LabelError> {
        if !policy::may(principal.into(), Relationship::None, Operation::PrintLabels) {
            return Err(LabelError::Forbidden);
        }
        let (selection, what) = match units {
            Units::Lot(gtin, lot) => (
                LabelSelection::Lot {
                    gtin: gtin.as_str().to_owned(),
                    lot: lot.as_str().to_owned(),
                },
                format!("lot {} of {}", lot.as_str(), gtin.as_str()),
            ),
            Units::Serials(gtin, serials) => {
                if serials.is_empty() || serials.len() > MAX_LABELS {
                    return Err(LabelError::InvalidInput(format!(
                        "name 1 to {MAX_LABELS} serials"
                    )));
                }
                (
                    LabelSelection::Serials {
                        gtin: gtin.as_str().to_owned(),
                        serials: serials.iter().map(|s| s.as_str().to_owned()).collect(),
                    },
                    format!("{} serial(s) of {}", serials.len(), gtin.as_str()),
                )
            }
        };
        let keys = self.keys();
        let kid = keys.labels.current().kid().to_owned();
        // The units named (a lot's are too many to list: the lot is named).
        let named: Vec<String> = match units {
            Units::Serials(gtin, serials) => serials
                .iter()
                .map(|s| format!("{}/{}", gtin.as_str(), s.as_str()))
                .collect(),
            Units::Lot(..) => Vec::new(),
        };
        let operation = match mode {
            PrintMode::Existing => "readLabels",
            PrintMode::Print => "printLabels",
            PrintMode::Reprint => "reprintLabels",
        };
        let audit = crate::services::access::row(
            principal.into(),
            &crate::services::access::current_client(),
            operation,
            named,
            &[],
            &format!("ok: {what}"),
        );
        let Some(rows) = self
            .store
            .print_labels(&selection, &kid, mode, MAX_LABELS, &audit)
            .await?
        else {
            return Err(LabelError::InvalidInput(format!(
                "more than {MAX_LABELS} units; print the lot in parts by serial (nothing was printed)"
            )));
        };
        let mut product_ids: Vec<i64> = rows.iter().map(|r| r.product_id).collect();
        product_ids.sort_unstable();
        product_ids.dedup();
        let products = self.store.products_by_ids(&product_ids).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let device = DeviceKey::parse(&format!("{}/{}", r.gtin, r.serial))
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let printed_with = r.kid.as_deref().unwrap_or(&kid);
            let secret = keys.labels.get(printed_with).ok_or_else(|| {
                StoreError::Corrupt(format!("label secret {printed_with} is missing"))
            })?;
            let code = label_code::code(secret.bytes(), &device, r.generation);
            let product = products.get(&r.product_id);
            out.push(Label {
                url: LabelUrl(format!(
                    "{}?c={code}",
                    canonical_uri(&self.settings.public_base_url, &device)
                )),
                device,
                lot: r.lot,
                product: product.map(|p| p.name.clone()).unwrap_or_default(),
                model: product.map(|p| p.model.clone()).unwrap_or_default(),
                generation: r.generation,
            });
        }
        if mode != PrintMode::Existing {
            // A new label's code works on this process's pages at once.
            self.refresh_pages().await;
        }
        Ok(out)
    }

    /// Whether `code` is the code of the unit's current label. False for a
    /// unit whose label was never printed, and for an unknown unit.
    pub async fn code_matches(&self, device: &DeviceKey, code: &str) -> Result<bool, StoreError> {
        let Some(row) = self
            .store
            .label_of(device.gtin().as_str(), device.serial().as_str())
            .await?
        else {
            return Ok(false);
        };
        let Some(kid) = row.kid else {
            return Ok(false);
        };
        let keys = self.keys();
        let Some(secret) = keys.labels.get(&kid) else {
            // Not a copy: the code cannot be checked at all.
            return Err(StoreError::Corrupt(format!(
                "label secret {kid} is missing from the key directory"
            )));
        };
        let expected = label_code::code(secret.bytes(), device, row.generation);
        Ok(label_code::matches(&expected, code))
    }
}
