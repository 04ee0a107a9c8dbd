//! The resolver behind the labels (docs/resolver.md): for a Digital Link of
//! one of our units, products or lots, the links it has, level by level up
//! to the primary key. Only link types whose target exists are listed: so
//! far the product information page (`gs1:pip`), which is the default link.

use super::Portal;
use crate::domain::principal::Viewer;
use crate::domain::{DeviceKey, DigitalLinkUri, Gtin, Lot, Serial};
use crate::store::StoreError;

/// The GS1 web vocabulary, in which link types are named.
pub const GS1_VOC: &str = "https://gs1.org/voc/";

/// One link of a level.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    /// The link type's name in the GS1 vocabulary (`pip`).
    pub link_type: &'static str,
    pub href: String,
    pub title: String,
    pub media_type: &'static str,
}

/// The links of one level (the unit, its lot, its product), anchored at
/// that level's Digital Link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Level {
    pub anchor: String,
    pub item_description: String,
    pub links: Vec<Link>,
    /// Which of `links` is the level's default.
    pub default: usize,
}

/// What a Digital Link resolves to: its levels, the one asked for first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolution {
    pub levels: Vec<Level>,
}

impl Resolution {
    /// The default link of the level asked for.
    pub fn default_link(&self) -> Option<&Link> {
        self.levels.first().and_then(|l| l.links.get(l.default))
    }

    /// The most specific link of this type.
    pub fn link(&self, link_type: &str) -> Option<&Link> {
        self.levels
            .iter()
            .find_map(|l| l.links.iter().find(|k| k.link_type == link_type))
    }
}

/// Why a Digital Link does not resolve.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// Not one of ours: another primary key or qualifier, or no such
    /// product or unit.
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Portal {
    /// Resolves a Digital Link on our base URL. A lot has its own page
    /// whether or not we know it (a guesser learns no lot numbers; the page
    /// shows the product); a serial we do not know is not found.
    pub async fn resolve(&self, uri: &DigitalLinkUri) -> Result<Resolution, ResolveError> {
        if uri.primary_key().ai() != "01" {
            return Err(ResolveError::NotFound);
        }
        let gtin = Gtin::parse(uri.primary_key().value())
            .map_err(|e| ResolveError::Invalid(e.to_string()))?;
        let mut lot = None;
        let mut serial = None;
        for q in uri.qualifiers() {
            match q.ai() {
                "10" => {
                    lot = Some(
                        Lot::parse(q.value()).map_err(|e| ResolveError::Invalid(e.to_string()))?,
                    )
                }
                "21" => {
                    serial = Some(
                        Serial::parse(q.value())
                            .map_err(|e| ResolveError::Invalid(e.to_string()))?,
                    )
                }
                // A packaging or variant qualifier we do not use.
                _ => return Err(ResolveError::NotFound),
            }
        }
        let product = self
            .store
            .product_by_gtin(gtin.as_str())
            .await?
            .ok_or(ResolveError::NotFound)?;
        let base = self.settings.public_base_url.trim_end_matches('/');
        // Anchors in the request's own form, one level less each time
        // (the lot before the serial when both are in the path).
        let mut anchor = format!("{base}/01/{gtin}");
        let mut levels = vec![Level {
            anchor: anchor.clone(),
            item_description: format!("{} ({})", product.name, product.model),
            links: vec![Link {
                link_type: "pip",
                href: format!("{base}/pip/01/{gtin}"),
                title: format!("{}: product information", product.name),
                media_type: "text/html",
            }],
            default: 0,
        }];
        if let Some(lot) = &lot {
            anchor = format!(
                "{anchor}/10/{}",
                crate::domain::percent_encoded(lot.as_str())
            );
            levels.push(Level {
                anchor: anchor.clone(),
                item_description: format!("{}, lot {}", product.name, lot.as_str()),
                links: vec![Link {
                    link_type: "pip",
                    href: format!(
                        "{base}/pip/01/{gtin}/10/{}",
                        crate::domain::percent_encoded(lot.as_str())
                    ),
                    title: format!(
                        "{}, lot {}: product information",
                        product.name,
                        lot.as_str()
                    ),
                    media_type: "text/html",
                }],
                default: 0,
            });
        }
        if let Some(serial) = &serial {
            let key = DeviceKey::new(gtin.clone(), serial.clone());
            let Some(device) = self
                .device(Viewer::Anonymous, &key)
                .await
                .map_err(|e| match e {
                    super::devices::ReadError::Store(s) => ResolveError::Store(s),
                    super::devices::ReadError::InvalidInput(m) => ResolveError::Invalid(m),
                })?
            else {
                return Err(ResolveError::NotFound);
            };
            if let (Some(asked), Some(stored)) = (&lot, &device.lot)
                && asked.as_str() != stored
            {
                return Err(ResolveError::NotFound);
            }
            let path = format!(
                "01/{gtin}/21/{}",
                crate::domain::percent_encoded(serial.as_str())
            );
            anchor = format!(
                "{anchor}/21/{}",
                crate::domain::percent_encoded(serial.as_str())
            );
            levels.push(Level {
                anchor,
                item_description: format!(
                    "{} ({}), serial {}",
                    product.name,
                    product.model,
                    serial.as_str()
                ),
                links: vec![Link {
                    link_type: "pip",
                    href: format!("{base}/pip/{path}"),
                    title: format!(
                        "{} {}: genuine or not, status, history",
                        product.model,
                        serial.as_str()
                    ),
                    media_type: "text/html",
                }],
                default: 0,
            });
        }
        levels.reverse();
        Ok(Resolution { levels })
    }
}
