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
        assert!(!is_full_uri("https://a b.c"));
    }
}
