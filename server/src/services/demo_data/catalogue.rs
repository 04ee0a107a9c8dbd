//! The demo's catalogue: products, locations and their GS1 keys.

/// A GS1 key body with its mod-10 check digit appended.
pub(in crate::services) fn with_check_digit(body: &str) -> String {
    let sum: u32 = (body.bytes().rev().enumerate())
        .map(|(i, b)| u32::from(b.wrapping_sub(b'0')) * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

pub(in crate::services) const PACK: usize = 0;
pub(in crate::services) const MODULE: usize = 1;
pub(in crate::services) const BMS: usize = 2;
pub(in crate::services) const COMPONENT_TERMS: &str =
    "Supplier component; covered by the pack warranty.";

/// (GTIN-14 without check digit, name, model, warranty months, terms):
/// pack, cell module, BMS board; all registered by Ampera's staff.
#[rustfmt::skip]
pub(in crate::services) const PRODUCTS: [(&str, &str, &str, i32, &str); 3] = [
    ("0426012345001", "Ampera PowerPack 540", "AP-540-36V", 24,
     "24 months from installation; capacity at least 70 % of 540 Wh after 500 cycles. \
      Excludes mechanical damage and water ingress beyond IPX5."),
    ("0859400210007", "Cellwerk CM-10S4P cell module", "CM-10S4P-21700", 24, COMPONENT_TERMS),
    ("0471234560020", "BrightLogic BMS-10S board", "BL-BMS10S-R2", 24, COMPONENT_TERMS),
];

pub(in crate::services) fn gtin(product: usize) -> String {
    with_check_digit(PRODUCTS[product].0)
}

pub(in crate::services) const ASSEMBLY: usize = 0;
pub(in crate::services) const GOODS_IN: usize = 1;
pub(in crate::services) const LAB: usize = 2;
pub(in crate::services) const DC: [usize; 2] = [5, 6];
pub(in crate::services) const WORKSHOPS: [[usize; 2]; 2] = [[7, 8], [9, 10]];

/// (organisation, GLN without check digit, name, country)
#[rustfmt::skip]
pub(in crate::services) const LOCATIONS: [(&str, &str, &str, &str); 11] = [
    ("ampera", "426012345900", "Werk Chemnitz, pack assembly", "DE"),
    ("ampera", "426012345910", "Werk Chemnitz, goods-in", "DE"),
    ("ampera", "426012345920", "Werk Chemnitz, returns and failure analysis", "DE"),
    ("cellwerk", "859400210900", "Cellwerk module plant Plzeň", "CZ"),
    ("brightlogic", "471234560900", "BrightLogic SMT line Hsinchu", "TW"),
    ("veloparts-eu", "871234500100", "VeloParts distribution centre Venlo", "NL"),
    ("nordcycle", "735000123400", "NordCycle warehouse Jönköping", "SE"),
    ("wheelworks", "400123400010", "WheelWorks workshop München", "DE"),
    ("wheelworks", "400123400020", "WheelWorks workshop Berlin", "DE"),
    ("pedalfix", "376001230010", "PedalFix atelier Lyon", "FR"),
    ("pedalfix", "376001230020", "PedalFix atelier Paris", "FR"),
];

/// Postcode ranges of the workshops' customers, in `WORKSHOPS` order.
pub(in crate::services) const POSTCODES: [[(u64, u64); 2]; 2] = [
    [(80331, 81929), (10115, 14199)],
    [(69001, 69009), (75001, 75020)],
];

pub(in crate::services) fn place(loc: usize) -> String {
    format!(
        "https://id.gs1.org/414/{}",
        with_check_digit(LOCATIONS[loc].1)
    )
}
