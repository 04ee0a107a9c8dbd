//! GS1 Core Business Vocabulary 2.0: business steps and dispositions.
//! Standard values are stored in their bare form (`shipping`); the CBV URI
//! forms (`https://ref.gs1.org/cbv/BizStep-shipping`,
//! `urn:epcglobal:cbv:bizstep:shipping`) are accepted and normalised. A
//! value outside the CBV must be a full URI of its owner's namespace.

pub const BIZ_STEPS: &[&str] = &[
    "accepting",
    "arriving",
    "assembling",
    "collecting",
    "commissioning",
    "consigning",
    "creating_class_instance",
    "cycle_counting",
    "decommissioning",
    "departing",
    "destroying",
    "disassembling",
    "dispensing",
    "encoding",
    "entering_exiting",
    "holding",
    "inspecting",
    "installing",
    "killing",
    "loading",
    "other",
    "packing",
    "picking",
    "receiving",
    "removing",
    "repackaging",
    "repairing",
    "replacing",
    "reserving",
    "retail_selling",
    "sampling",
    "sensor_reporting",
    "shipping",
    "staging_outbound",
    "stock_taking",
    "stocking",
    "storing",
    "transporting",
    "unloading",
    "unpacking",
    "void_shipping",
];

/// The portal's own business step that ends a theft (CBV 2.0 has none);
/// the event names the theft it ends in its `theftEventID` extension
/// (docs/device-lifecycle.md, "Recovery").
pub const RECOVERING_STEP: &str = "urn:provenance-portal:bizstep:recovering";

pub const DISPOSITIONS: &[&str] = &[
    "active",
    "available",
    "completeness_inferred",
    "completeness_verified",
    "conformant",
    "container_closed",
    "container_open",
    "damaged",
    "destroyed",
    "dispensed",
    "disposed",
    "encoded",
    "expired",
    "in_progress",
    "in_transit",
    "inactive",
    "mismatch_instance",
    "mismatch_class",
    "mismatch_quantity",
    "needs_replacement",
    "no_pedigree_match",
    "non_conformant",
    "non_sellable_other",
    "partially_dispensed",
    "recalled",
    "reserved",
    "retail_sold",
    "returned",
    "sellable_accessible",
    "sellable_not_accessible",
    "stolen",
    "unavailable",
    "unknown",
];

/// Which vocabulary a value belongs to.
#[derive(Clone, Copy, Debug)]
pub struct Vocabulary {
    pub terms: &'static [&'static str],
    pub web_prefix: &'static str,
    pub urn_prefix: &'static str,
}

pub const BIZ_STEP: Vocabulary = Vocabulary {
    terms: BIZ_STEPS,
    web_prefix: "https://ref.gs1.org/cbv/BizStep-",
    urn_prefix: "urn:epcglobal:cbv:bizstep:",
};

pub const DISPOSITION: Vocabulary = Vocabulary {
    terms: DISPOSITIONS,
    web_prefix: "https://ref.gs1.org/cbv/Disp-",
    urn_prefix: "urn:epcglobal:cbv:disp:",
};

impl Vocabulary {
    /// The stored form of `value`: the bare CBV term, or a custom full URI.
    pub fn normalise(&self, value: &str) -> Result<String, String> {
        let term = value
            .strip_prefix(self.web_prefix)
            .or_else(|| value.strip_prefix(self.urn_prefix));
        if let Some(term) = term {
            return if self.terms.contains(&term) {
                Ok(term.to_owned())
            } else {
                Err(format!("{term:?} is not a CBV 2.0 term"))
            };
        }
        if self.terms.contains(&value) {
            return Ok(value.to_owned());
        }
        if is_full_uri(value) {
            if value.starts_with("https://ref.gs1.org/cbv/")
                || value.starts_with("urn:epcglobal:cbv:")
            {
                return Err(format!("{value:?} is not a CBV 2.0 term of this field"));
            }
            return Ok(value.to_owned());
        }
        Err(format!(
            "{value:?} is not a CBV 2.0 term; values of your own must be full URIs (https://… or urn:…)"
        ))
    }
}

/// A CBV 2.0 business step, or a custom one.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum BizStep {
    Accepting,
    Arriving,
    Assembling,
    Collecting,
    Commissioning,
    Consigning,
    CreatingClassInstance,
    CycleCounting,
    Decommissioning,
    Departing,
    Destroying,
    Disassembling,
    Dispensing,
    Encoding,
    EnteringExiting,
    Holding,
    Inspecting,
    Installing,
    Killing,
    Loading,
    Other,
    Packing,
    Picking,
    Receiving,
    Removing,
    Repackaging,
    Repairing,
    Replacing,
    Reserving,
    RetailSelling,
    Sampling,
    SensorReporting,
    Shipping,
    StagingOutbound,
    StockTaking,
    Stocking,
    Storing,
    Transporting,
    Unloading,
    Unpacking,
    VoidShipping,
    /// A value of its owner's namespace: a full URI (https://… or urn:…).
    Custom(String),
}

impl BizStep {
    /// Parses any accepted spelling (bare term, CBV web URI, CBV URN, a
    /// custom full URI).
    pub fn parse(value: &str) -> Result<Self, String> {
        BIZ_STEP.normalise(value).map(|v| Self::from_stored(&v))
    }

    /// A value in its stored (normalised) form.
    pub fn from_stored(value: &str) -> Self {
        match value {
            "accepting" => Self::Accepting,
            "arriving" => Self::Arriving,
            "assembling" => Self::Assembling,
            "collecting" => Self::Collecting,
            "commissioning" => Self::Commissioning,
            "consigning" => Self::Consigning,
            "creating_class_instance" => Self::CreatingClassInstance,
            "cycle_counting" => Self::CycleCounting,
            "decommissioning" => Self::Decommissioning,
            "departing" => Self::Departing,
            "destroying" => Self::Destroying,
            "disassembling" => Self::Disassembling,
            "dispensing" => Self::Dispensing,
            "encoding" => Self::Encoding,
            "entering_exiting" => Self::EnteringExiting,
            "holding" => Self::Holding,
            "inspecting" => Self::Inspecting,
            "installing" => Self::Installing,
            "killing" => Self::Killing,
            "loading" => Self::Loading,
            "other" => Self::Other,
            "packing" => Self::Packing,
            "picking" => Self::Picking,
            "receiving" => Self::Receiving,
            "removing" => Self::Removing,
            "repackaging" => Self::Repackaging,
            "repairing" => Self::Repairing,
            "replacing" => Self::Replacing,
            "reserving" => Self::Reserving,
            "retail_selling" => Self::RetailSelling,
            "sampling" => Self::Sampling,
            "sensor_reporting" => Self::SensorReporting,
            "shipping" => Self::Shipping,
            "staging_outbound" => Self::StagingOutbound,
            "stock_taking" => Self::StockTaking,
            "stocking" => Self::Stocking,
            "storing" => Self::Storing,
            "transporting" => Self::Transporting,
            "unloading" => Self::Unloading,
            "unpacking" => Self::Unpacking,
            "void_shipping" => Self::VoidShipping,
            other => Self::Custom(other.to_owned()),
        }
    }

    /// The stored form: the bare CBV term, or the custom URI.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Accepting => "accepting",
            Self::Arriving => "arriving",
            Self::Assembling => "assembling",
            Self::Collecting => "collecting",
            Self::Commissioning => "commissioning",
            Self::Consigning => "consigning",
            Self::CreatingClassInstance => "creating_class_instance",
            Self::CycleCounting => "cycle_counting",
            Self::Decommissioning => "decommissioning",
            Self::Departing => "departing",
            Self::Destroying => "destroying",
            Self::Disassembling => "disassembling",
            Self::Dispensing => "dispensing",
            Self::Encoding => "encoding",
            Self::EnteringExiting => "entering_exiting",
            Self::Holding => "holding",
            Self::Inspecting => "inspecting",
            Self::Installing => "installing",
            Self::Killing => "killing",
            Self::Loading => "loading",
            Self::Other => "other",
            Self::Packing => "packing",
            Self::Picking => "picking",
            Self::Receiving => "receiving",
            Self::Removing => "removing",
            Self::Repackaging => "repackaging",
            Self::Repairing => "repairing",
            Self::Replacing => "replacing",
            Self::Reserving => "reserving",
            Self::RetailSelling => "retail_selling",
            Self::Sampling => "sampling",
            Self::SensorReporting => "sensor_reporting",
            Self::Shipping => "shipping",
            Self::StagingOutbound => "staging_outbound",
            Self::StockTaking => "stock_taking",
            Self::Stocking => "stocking",
            Self::Storing => "storing",
            Self::Transporting => "transporting",
            Self::Unloading => "unloading",
            Self::Unpacking => "unpacking",
            Self::VoidShipping => "void_shipping",
            Self::Custom(uri) => uri,
        }
    }
}

impl std::fmt::Display for BizStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A CBV 2.0 disposition, or a custom one.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Disposition {
    Active,
    Available,
    CompletenessInferred,
    CompletenessVerified,
    Conformant,
    ContainerClosed,
    ContainerOpen,
    Damaged,
    Destroyed,
    Dispensed,
    Disposed,
    Encoded,
    Expired,
    InProgress,
    InTransit,
    Inactive,
    MismatchInstance,
    MismatchClass,
    MismatchQuantity,
    NeedsReplacement,
    NoPedigreeMatch,
    NonConformant,
    NonSellableOther,
    PartiallyDispensed,
    Recalled,
    Reserved,
    RetailSold,
    Returned,
    SellableAccessible,
    SellableNotAccessible,
    Stolen,
    Unavailable,
    Unknown,
    /// A value of its owner's namespace: a full URI (https://… or urn:…).
    Custom(String),
}

impl Disposition {
    /// Parses any accepted spelling (bare term, CBV web URI, CBV URN, a
    /// custom full URI).
    pub fn parse(value: &str) -> Result<Self, String> {
        DISPOSITION.normalise(value).map(|v| Self::from_stored(&v))
    }

    /// A value in its stored (normalised) form.
    pub fn from_stored(value: &str) -> Self {
        match value {
            "active" => Self::Active,
            "available" => Self::Available,
            "completeness_inferred" => Self::CompletenessInferred,
            "completeness_verified" => Self::CompletenessVerified,
            "conformant" => Self::Conformant,
            "container_closed" => Self::ContainerClosed,
            "container_open" => Self::ContainerOpen,
            "damaged" => Self::Damaged,
            "destroyed" => Self::Destroyed,
            "dispensed" => Self::Dispensed,
            "disposed" => Self::Disposed,
            "encoded" => Self::Encoded,
            "expired" => Self::Expired,
            "in_progress" => Self::InProgress,
            "in_transit" => Self::InTransit,
            "inactive" => Self::Inactive,
            "mismatch_instance" => Self::MismatchInstance,
            "mismatch_class" => Self::MismatchClass,
            "mismatch_quantity" => Self::MismatchQuantity,
            "needs_replacement" => Self::NeedsReplacement,
            "no_pedigree_match" => Self::NoPedigreeMatch,
            "non_conformant" => Self::NonConformant,
            "non_sellable_other" => Self::NonSellableOther,
            "partially_dispensed" => Self::PartiallyDispensed,
            "recalled" => Self::Recalled,
            "reserved" => Self::Reserved,
            "retail_sold" => Self::RetailSold,
            "returned" => Self::Returned,
            "sellable_accessible" => Self::SellableAccessible,
            "sellable_not_accessible" => Self::SellableNotAccessible,
            "stolen" => Self::Stolen,
            "unavailable" => Self::Unavailable,
            "unknown" => Self::Unknown,
            other => Self::Custom(other.to_owned()),
        }
    }

    /// The stored form: the bare CBV term, or the custom URI.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Active => "active",
            Self::Available => "available",
            Self::CompletenessInferred => "completeness_inferred",
            Self::CompletenessVerified => "completeness_verified",
            Self::Conformant => "conformant",
            Self::ContainerClosed => "container_closed",
            Self::ContainerOpen => "container_open",
            Self::Damaged => "damaged",
            Self::Destroyed => "destroyed",
            Self::Dispensed => "dispensed",
            Self::Disposed => "disposed",
            Self::Encoded => "encoded",
            Self::Expired => "expired",
            Self::InProgress => "in_progress",
            Self::InTransit => "in_transit",
            Self::Inactive => "inactive",
            Self::MismatchInstance => "mismatch_instance",
            Self::MismatchClass => "mismatch_class",
            Self::MismatchQuantity => "mismatch_quantity",
            Self::NeedsReplacement => "needs_replacement",
            Self::NoPedigreeMatch => "no_pedigree_match",
            Self::NonConformant => "non_conformant",
            Self::NonSellableOther => "non_sellable_other",
            Self::PartiallyDispensed => "partially_dispensed",
            Self::Recalled => "recalled",
            Self::Reserved => "reserved",
            Self::RetailSold => "retail_sold",
            Self::Returned => "returned",
            Self::SellableAccessible => "sellable_accessible",
            Self::SellableNotAccessible => "sellable_not_accessible",
            Self::Stolen => "stolen",
            Self::Unavailable => "unavailable",
            Self::Unknown => "unknown",
            Self::Custom(uri) => uri,
        }
    }
}

impl std::fmt::Display for Disposition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl BizStep {
    /// The portal's own step that ends a theft ([`RECOVERING_STEP`]).
    pub fn is_recovering(&self) -> bool {
        matches!(self, BizStep::Custom(uri) if uri == RECOVERING_STEP)
    }
}

/// `scheme:rest` with an http(s) authority or a `urn:` namespace.
pub fn is_full_uri(value: &str) -> bool {
    let ok_chars =
        !value.is_empty() && value.len() <= 512 && value.chars().all(|c| c.is_ascii_graphic());
    let http = ["https://", "http://"].iter().any(|p| {
        value
            .strip_prefix(p)
            .is_some_and(|r| r.len() > 2 && r.contains('.'))
    });
    let urn = value.strip_prefix("urn:").is_some_and(|r| {
        r.split_once(':')
            .is_some_and(|(ns, rest)| !ns.is_empty() && !rest.is_empty())
    });
    ok_chars && (http || urn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_the_three_spellings() {
        for v in [
            "shipping",
            "https://ref.gs1.org/cbv/BizStep-shipping",
            "urn:epcglobal:cbv:bizstep:shipping",
        ] {
            assert_eq!(BIZ_STEP.normalise(v).unwrap(), "shipping");
        }
        assert_eq!(
            DISPOSITION
                .normalise("urn:epcglobal:cbv:disp:stolen")
                .unwrap(),
            "stolen"
        );
        assert_eq!(
            BIZ_STEP
                .normalise("https://ampera.example/steps/burn-in")
                .unwrap(),
            "https://ampera.example/steps/burn-in"
        );
        assert!(
            BIZ_STEP.normalise("burn_in").is_err(),
            "custom values must be URIs"
        );
        assert!(
            BIZ_STEP.normalise("stolen").is_err(),
            "a disposition is no bizStep"
        );
        assert!(
            BIZ_STEP
                .normalise("https://ref.gs1.org/cbv/BizStep-flying")
                .is_err()
        );
        assert!(
            DISPOSITION
                .normalise("https://ref.gs1.org/cbv/BizStep-shipping")
                .is_err()
        );
        assert!(!is_full_uri("urn:x"));
        // The enums: every term round-trips, custom URIs are kept.
        for t in BIZ_STEPS {
            assert_eq!(BizStep::parse(t).unwrap().as_str(), *t);
            assert!(
                !matches!(BizStep::from_stored(t), BizStep::Custom(_)),
                "{t}"
            );
        }
        for t in DISPOSITIONS {
            assert_eq!(Disposition::parse(t).unwrap().as_str(), *t);
            assert!(
                !matches!(Disposition::from_stored(t), Disposition::Custom(_)),
                "{t}"
            );
        }
        assert_eq!(
            BizStep::parse("urn:epcglobal:cbv:bizstep:receiving").unwrap(),
            BizStep::Receiving
        );
        assert!(BizStep::parse(RECOVERING_STEP).unwrap().is_recovering());
        assert!(Disposition::parse("stolen_goods").is_err());
        assert!(!is_full_uri("https://a b.c"));
    }
}
