//! A unit's page as one viewer may see it, every member decided by the
//! policy for that viewer (`Viewer::Anonymous` or `Viewer::Customer`): the
//! services read the device, its history and its components for the viewer
//! and hand out only what they were given. The page's words are the web
//! layer's (`web::pages::i18n`); what happened is named here, in kinds.

use chrono::{DateTime, Months, NaiveDate, NaiveTime, Utc};
use serde_json::Value;

use super::{PageUnit, PageViewer};
use crate::domain::DeviceKey;
use crate::domain::cbv::{BizStep, Disposition};
use crate::domain::principal::Viewer;
use crate::domain::status::DeviceStatus;
use crate::policy::{self, Operation, Relationship};
use crate::services::Portal;
use crate::services::devices::{EventView, HistoryFilter, ProductView, ReadError};

/// What the banner at the top says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Banner {
    Genuine,
    Recalled,
    Stolen,
    Decommissioned,
}

impl Banner {
    pub fn as_str(self) -> &'static str {
        match self {
            Banner::Genuine => "genuine",
            Banner::Recalled => "recalled",
            Banner::Stolen => "stolen",
            Banner::Decommissioned => "decommissioned",
        }
    }

    pub fn of(status: Option<DeviceStatus>) -> Banner {
        match status {
            Some(DeviceStatus::Recalled) => Banner::Recalled,
            Some(DeviceStatus::Stolen) => Banner::Stolen,
            Some(DeviceStatus::Decommissioned) => Banner::Decommissioned,
            _ => Banner::Genuine,
        }
    }
}

/// What an event of the public history was, in kinds the page has words
/// for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Happening {
    Made,
    Assembled,
    Packed,
    QcPassed,
    QcFailed,
    FoundDamaged,
    Inspected,
    Shipped,
    Received,
    Stocked,
    Sold,
    Installed,
    Removed,
    Repaired,
    PartReplaced,
    Returned,
    Recalled,
    ReportedStolen,
    Recovered,
    Decommissioned,
    Other,
}

impl Happening {
    pub fn of(step: Option<&BizStep>, disposition: Option<&Disposition>) -> Happening {
        match disposition {
            Some(Disposition::Stolen) => return Happening::ReportedStolen,
            Some(Disposition::Recalled) => return Happening::Recalled,
            _ => {}
        }
        match step {
            Some(s) if s.is_recovering() => Happening::Recovered,
            Some(BizStep::Commissioning) => Happening::Made,
            Some(BizStep::Assembling) => Happening::Assembled,
            Some(BizStep::Packing) => Happening::Packed,
            Some(BizStep::Inspecting) => match disposition {
                Some(Disposition::NonConformant) => Happening::QcFailed,
                Some(Disposition::Damaged) => Happening::FoundDamaged,
                Some(Disposition::Conformant) | None => Happening::QcPassed,
                _ => Happening::Inspected,
            },
            Some(BizStep::Shipping | BizStep::Departing) => Happening::Shipped,
            Some(BizStep::Receiving | BizStep::Arriving | BizStep::Accepting) => {
                Happening::Received
            }
            Some(BizStep::StockTaking | BizStep::Stocking | BizStep::Storing) => Happening::Stocked,
            Some(BizStep::RetailSelling) => Happening::Sold,
            Some(BizStep::Installing) => Happening::Installed,
            Some(BizStep::Removing) => Happening::Removed,
            Some(BizStep::Repairing) => Happening::Repaired,
            Some(BizStep::Replacing) => Happening::PartReplaced,
            Some(BizStep::Decommissioning | BizStep::Destroying) => Happening::Decommissioned,
            _ if disposition == Some(&Disposition::Returned) => Happening::Returned,
            _ => Happening::Other,
        }
    }
}

/// One event of the public history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicEvent {
    /// `YYYY-MM-DD` (day precision, the event's own offset).
    pub day: String,
    pub happening: Happening,
    /// ISO 3166-1 alpha-2, when the log knows it.
    pub country: Option<String>,
    /// Its leaf for the unit in the public log: the proof's address.
    pub leaf_index: Option<u64>,
    /// Declared in error by a later correction.
    pub declared_in_error: bool,
}

/// The warranty as the page tells it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WarrantyState {
    /// Not started: it starts at the first sale or installation.
    NotStarted {
        months: i32,
    },
    Active {
        until: NaiveDate,
    },
    Expired {
        on: NaiveDate,
    },
    /// The product has no warranty.
    None,
}

/// A component installed in the unit now, as the viewer may see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ComponentLine {
    /// Which unit it is: a cached page is current while every part's card
    /// is too.
    pub key: Option<DeviceKey>,
    pub product: Option<String>,
    pub serial: String,
    pub banner: Banner,
}

/// A unit's page, decided for its viewer.
#[derive(Clone, Debug)]
pub struct UnitPage {
    pub viewer: PageViewer,
    pub wrong_code: bool,
    pub gtin: String,
    pub serial: String,
    pub digital_link: String,
    pub product: Option<ProductView>,
    pub status: Option<DeviceStatus>,
    pub banner: Banner,
    /// Staff confirmed that the unit's code was copied.
    pub copy_confirmed: bool,
    /// The customer's view only, below.
    pub lot: Option<String>,
    pub built: Option<String>,
    pub warranty: Option<WarrantyState>,
    pub history: Vec<PublicEvent>,
    pub components: Vec<ComponentLine>,
    /// The next warranty boundary, after which the page reads differently.
    pub valid_until: Option<DateTime<Utc>>,
}

/// The policy's word on whether the viewer reads the unit's history.
fn sees_history(viewer: Viewer<'_>) -> bool {
    policy::may(viewer, Relationship::None, Operation::ReadHistory)
}

impl PageViewer {
    /// The policy's viewer for the page's.
    pub fn policy_viewer(self) -> Viewer<'static> {
        match self {
            PageViewer::Anonymous => Viewer::Anonymous,
            PageViewer::Customer => Viewer::Customer,
        }
    }
}

fn part_key(gtin: &str, serial: &str) -> Option<DeviceKey> {
    DeviceKey::parse(&format!("{gtin}/{serial}")).ok()
}

fn text(e: &EventView, name: &str) -> Option<String> {
    match e.field(name) {
        Some(Value::String(s)) => Some(s.clone()),
        _ => None,
    }
}

impl Portal {
    /// The unit's page with the stamps of the parts it shows, taken from
    /// the database *before* the page was read: a part that changes after
    /// them fails the page's next check. No stamps (do not keep the page)
    /// when the parts changed while it was read.
    pub async fn stamped_unit_page(
        &self,
        unit: &PageUnit,
    ) -> Result<Option<(UnitPage, Option<Vec<super::PartStamp>>)>, ReadError> {
        let before = self.part_keys(unit).await?;
        let mut stamps = Vec::with_capacity(before.len());
        for key in &before {
            if let Some(card) = self
                .store
                .unit_card(key.gtin().as_str(), key.serial().as_str())
                .await?
            {
                stamps.push(super::PartStamp {
                    key: key.clone(),
                    epoch: card.epoch,
                    leaves: card.leaves,
                });
            }
        }
        let Some(page) = self.unit_page(unit).await? else {
            return Ok(None);
        };
        let shown: Vec<DeviceKey> = page
            .components
            .iter()
            .filter_map(|c| c.key.clone())
            .collect();
        let keep = (shown == before).then_some(stamps);
        Ok(Some((page, keep)))
    }

    /// The parts the unit's page shows its viewer (none without the code).
    async fn part_keys(&self, unit: &PageUnit) -> Result<Vec<DeviceKey>, ReadError> {
        let viewer = unit.viewer.policy_viewer();
        if !sees_history(viewer) {
            return Ok(Vec::new());
        }
        let Some(device) = self.device(viewer, &unit.key).await? else {
            return Ok(Vec::new());
        };
        Ok(self
            .components(viewer, &device, None, false)
            .await?
            .iter()
            .filter_map(|c| part_key(&c.device.gtin, &c.device.serial))
            .collect())
    }

    /// The unit's page for the viewer its code made; None if it vanished.
    pub async fn unit_page(&self, unit: &PageUnit) -> Result<Option<UnitPage>, ReadError> {
        let viewer = unit.viewer.policy_viewer();
        let Some(device) = self.device(viewer, &unit.key).await? else {
            return Ok(None);
        };
        // What the policy lets the viewer read of the unit's history: its
        // events, lot, build date, warranty and parts, where it is in its
        // lifecycle, and a confirmed copy of its label's code (a reprint's
        // code starts clean). Without the code: none of it.
        let history_seen = sees_history(viewer);
        let copy_confirmed = history_seen
            && self
                .store
                .copy_confirmed(unit.card.device_id, unit.card.label_generation)
                .await?;
        let mut page = UnitPage {
            viewer: unit.viewer,
            wrong_code: unit.wrong_code,
            gtin: device.gtin.clone(),
            serial: device.serial.clone(),
            digital_link: device.digital_link.clone(),
            product: device.product.clone(),
            // Where it is in its lifecycle (in transit, in stock,
            // installed…) is history: otherwise only the banner's words.
            status: device.status.filter(|_| history_seen),
            banner: Banner::of(device.status),
            copy_confirmed,
            lot: None,
            built: None,
            warranty: None,
            history: Vec::new(),
            components: Vec::new(),
            valid_until: None,
        };
        if !history_seen {
            return Ok(Some(page));
        }
        page.lot = device.lot.clone();
        let events = self
            .history(viewer, "page", &device, &HistoryFilter::default())
            .await?;
        for e in &events {
            let disposition = text(e, "disposition").map(|d| Disposition::from_stored(&d));
            let happening = Happening::of(e.biz_step.as_ref(), disposition.as_ref());
            let Some(day) = text(e, "eventDate") else {
                continue;
            };
            if page.built.is_none() && happening == Happening::Made {
                page.built = Some(day.clone());
            }
            page.history.push(PublicEvent {
                day,
                happening,
                country: text(e, "country"),
                leaf_index: e.leaf_index,
                declared_in_error: e.field("errorDeclaration").is_some(),
            });
        }
        let (warranty, boundary) = warranty(device.product.as_ref(), &page.history, Utc::now());
        page.warranty = Some(warranty);
        page.valid_until = boundary;
        for c in self.components(viewer, &device, None, false).await? {
            page.components.push(ComponentLine {
                key: part_key(&c.device.gtin, &c.device.serial),
                product: c.device.product.as_ref().map(|p| p.name.clone()),
                serial: c.device.serial.clone(),
                banner: Banner::of(c.device.status),
            });
        }
        Ok(Some(page))
    }
}

/// The warranty from the product's terms and the first sale or
/// installation in the history, and when that reading next changes.
pub fn warranty(
    product: Option<&ProductView>,
    history: &[PublicEvent],
    now: DateTime<Utc>,
) -> (WarrantyState, Option<DateTime<Utc>>) {
    let months = product.map_or(0, |p| p.warranty_months);
    if months <= 0 {
        return (WarrantyState::None, None);
    }
    let start = history
        .iter()
        .filter(|e| !e.declared_in_error)
        .find(|e| matches!(e.happening, Happening::Sold | Happening::Installed))
        .and_then(|e| NaiveDate::parse_from_str(&e.day, "%Y-%m-%d").ok());
    let Some(start) = start else {
        return (WarrantyState::NotStarted { months }, None);
    };
    let Some(until) = start.checked_add_months(Months::new(months.unsigned_abs())) else {
        return (WarrantyState::NotStarted { months }, None);
    };
    // It covers the whole last day (UTC).
    let end = until
        .succ_opt()
        .unwrap_or(until)
        .and_time(NaiveTime::MIN)
        .and_utc();
    if now < end {
        (WarrantyState::Active { until }, Some(end))
    } else {
        (WarrantyState::Expired { on: until }, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product(months: i32) -> ProductView {
        ProductView {
            gtin: "04012345000016".into(),
            name: "Pack".into(),
            model: "P1".into(),
            warranty_months: months,
            warranty_terms: String::new(),
        }
    }

    fn event(day: &str, happening: Happening) -> PublicEvent {
        PublicEvent {
            day: day.into(),
            happening,
            country: None,
            leaf_index: None,
            declared_in_error: false,
        }
    }

    #[test]
    fn the_warranty_starts_at_the_first_sale_or_installation_and_ends_after_its_months() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let made = event("2026-01-05", Happening::Made);
        let sold = event("2026-02-28", Happening::Sold);
        let p = product(24);
        assert_eq!(
            warranty(
                Some(&p),
                std::slice::from_ref(&made),
                at("2026-03-01T00:00:00Z")
            ),
            (WarrantyState::NotStarted { months: 24 }, None)
        );
        let history = [made.clone(), sold.clone()];
        let until = NaiveDate::from_ymd_opt(2028, 2, 28).unwrap();
        assert_eq!(
            warranty(Some(&p), &history, at("2028-02-28T23:59:59Z")),
            (
                WarrantyState::Active { until },
                Some(at("2028-02-29T00:00:00Z"))
            )
        );
        assert_eq!(
            warranty(Some(&p), &history, at("2028-02-29T00:00:00Z")),
            (WarrantyState::Expired { on: until }, None)
        );
        // A sale declared in error does not start it.
        let mut wrong = sold;
        wrong.declared_in_error = true;
        assert_eq!(
            warranty(Some(&p), &[made, wrong], at("2026-03-01T00:00:00Z")).0,
            WarrantyState::NotStarted { months: 24 }
        );
        assert_eq!(
            warranty(Some(&product(0)), &[], at("2026-03-01T00:00:00Z")).0,
            WarrantyState::None
        );
    }

    #[test]
    fn happenings_are_named_from_the_step_and_the_disposition() {
        let d = |s: &str| Disposition::from_stored(s);
        assert_eq!(
            Happening::of(Some(&BizStep::Inspecting), Some(&d("conformant"))),
            Happening::QcPassed
        );
        assert_eq!(
            Happening::of(Some(&BizStep::Inspecting), Some(&d("non_conformant"))),
            Happening::QcFailed
        );
        assert_eq!(
            Happening::of(Some(&BizStep::Shipping), Some(&d("in_transit"))),
            Happening::Shipped
        );
        assert_eq!(
            Happening::of(None, Some(&d("stolen"))),
            Happening::ReportedStolen
        );
        assert_eq!(
            Happening::of(Some(&BizStep::Replacing), None),
            Happening::PartReplaced
        );
    }
}
