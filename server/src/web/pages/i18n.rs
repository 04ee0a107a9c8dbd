//! The public pages' words, in English and German, and the choice between
//! them: `?lang=` when given (the page's switch), else `Accept-Language`
//! (RFC 9110 §12.5.4: the highest `q` among the languages we have; a
//! language range matches by prefix, `*` matches any), else English.

use crate::services::pages::{Banner, Happening};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Lang {
    En,
    De,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::De];

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::De => "de",
        }
    }

    pub fn parse(code: &str) -> Option<Lang> {
        Lang::ALL
            .into_iter()
            .find(|l| l.code().eq_ignore_ascii_case(code))
    }

    pub fn words(self) -> &'static Words {
        match self {
            Lang::En => &EN,
            Lang::De => &DE,
        }
    }

    /// The language an `Accept-Language` header prefers, if it names one
    /// we have.
    pub fn negotiate(header: &str) -> Option<Lang> {
        let mut best: Option<(u16, usize, Lang)> = None;
        for (position, item) in header.split(',').take(32).enumerate() {
            let mut parts = item.split(';');
            let range = parts.next().unwrap_or("").trim();
            let mut q = 1000u16;
            for p in parts {
                if let Some(v) = p.trim().strip_prefix("q=") {
                    q = parse_q(v.trim()).unwrap_or(0);
                }
            }
            if q == 0 || range.is_empty() {
                continue;
            }
            let primary = range.split('-').next().unwrap_or("");
            let lang = if primary == "*" {
                Some(Lang::En)
            } else {
                Lang::parse(primary)
            };
            if let Some(lang) = lang {
                let better = best.is_none_or(|(bq, bp, _)| q > bq || (q == bq && position < bp));
                if better {
                    best = Some((q, position, lang));
                }
            }
        }
        best.map(|(_, _, l)| l)
    }
}

/// `q` as thousandths (`0.8` → 800); None when malformed.
pub(super) fn parse_q(v: &str) -> Option<u16> {
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole = match int {
        "0" => 0,
        "1" => 1000,
        _ => return None,
    };
    let mut f = 0u16;
    for (i, b) in frac.bytes().enumerate() {
        f += u16::from(b - b'0') * [100, 10, 1][i];
    }
    let q = whole + f;
    (q <= 1000).then_some(q)
}

/// Every word a public page shows.
pub struct Words {
    pub switch_label: &'static str,
    pub brand: &'static str,
    pub footer: &'static str,
    pub banner_genuine: &'static str,
    pub banner_genuine_detail: &'static str,
    pub banner_recalled: &'static str,
    pub banner_recalled_detail: &'static str,
    pub banner_stolen: &'static str,
    pub banner_stolen_detail: &'static str,
    pub banner_decommissioned: &'static str,
    pub banner_decommissioned_detail: &'static str,
    pub copy_warning: &'static str,
    pub wrong_code: &'static str,
    pub no_code: &'static str,
    pub verified: &'static str,
    pub model: &'static str,
    pub serial: &'static str,
    pub lot: &'static str,
    pub built: &'static str,
    pub warranty: &'static str,
    pub warranty_none: &'static str,
    pub warranty_not_started: &'static str,
    pub warranty_months: &'static str,
    pub warranty_active: &'static str,
    pub warranty_expired: &'static str,
    pub history: &'static str,
    pub history_intro: &'static str,
    pub history_empty: &'static str,
    pub proof_link: &'static str,
    pub declared_in_error: &'static str,
    pub components: &'static str,
    pub components_none: &'static str,
    pub report_heading: &'static str,
    pub report_intro: &'static str,
    pub report_stolen: &'static str,
    pub report_found: &'static str,
    pub report_done: &'static str,
    pub report_done_detail: &'static str,
    pub report_limited: &'static str,
    pub back: &'static str,
    pub unknown_title: &'static str,
    pub unknown_detail: &'static str,
    pub unknown_report: &'static str,
    pub invalid_title: &'static str,
    pub invalid_detail: &'static str,
    pub unavailable_title: &'static str,
    pub unavailable_detail: &'static str,
    pub product_title: &'static str,
    pub product_intro: &'static str,
    pub product_terms: &'static str,
}

impl Words {
    pub fn banner(&self, b: Banner) -> (&'static str, &'static str) {
        match b {
            Banner::Genuine => (self.banner_genuine, self.banner_genuine_detail),
            Banner::Recalled => (self.banner_recalled, self.banner_recalled_detail),
            Banner::Stolen => (self.banner_stolen, self.banner_stolen_detail),
            Banner::Decommissioned => (
                self.banner_decommissioned,
                self.banner_decommissioned_detail,
            ),
        }
    }

    /// The short status of a component.
    pub fn status_word(&self, b: Banner) -> &'static str {
        self.banner(b).0
    }

    pub fn happening(&self, h: Happening) -> &'static str {
        let en = std::ptr::eq(self, &EN);
        let (e, d) = match h {
            Happening::Made => ("Made and registered", "Hergestellt und registriert"),
            Happening::Assembled => ("Assembled", "Montiert"),
            Happening::Packed => ("Packed", "Verpackt"),
            Happening::QcPassed => ("Quality check passed", "Qualitätsprüfung bestanden"),
            Happening::QcFailed => ("Quality check failed", "Qualitätsprüfung nicht bestanden"),
            Happening::FoundDamaged => ("Inspected: found damaged", "Geprüft: beschädigt"),
            Happening::Inspected => ("Inspected", "Geprüft"),
            Happening::Shipped => ("Shipped to a distributor", "An einen Händler versandt"),
            Happening::Received => ("Received", "Angenommen"),
            Happening::Stocked => ("In stock", "Eingelagert"),
            Happening::Sold => ("Sold", "Verkauft"),
            Happening::Installed => ("Installed", "Eingebaut"),
            Happening::Removed => ("Removed", "Ausgebaut"),
            Happening::Repaired => ("Repaired", "Repariert"),
            Happening::PartReplaced => ("Repaired: part replaced", "Repariert: Teil ersetzt"),
            Happening::Returned => ("Returned", "Zurückgegeben"),
            Happening::Recalled => ("Recalled", "Zurückgerufen"),
            Happening::ReportedStolen => ("Reported stolen", "Als gestohlen gemeldet"),
            Happening::Recovered => ("Recovered after a theft", "Nach Diebstahl wiedergefunden"),
            Happening::Decommissioned => ("Taken out of service", "Außer Betrieb genommen"),
            Happening::Other => ("Recorded", "Erfasst"),
        };
        if en { e } else { d }
    }
}

pub static EN: Words = Words {
    switch_label: "Deutsch",
    brand: "Provenance Portal",
    footer: "Every event shown here is signed and recorded in a public, tamper-evident log that anyone can check.",
    banner_genuine: "Genuine",
    banner_genuine_detail: "This unit was made and registered by its manufacturer.",
    banner_recalled: "Recalled",
    banner_recalled_detail: "This unit is recalled. Stop using it and contact the manufacturer or your dealer.",
    banner_stolen: "Reported stolen",
    banner_stolen_detail: "This unit has been reported stolen. If you were offered it, please report it below.",
    banner_decommissioned: "Taken out of service",
    banner_decommissioned_detail: "This unit was taken out of service and must not be used or sold.",
    copy_warning: "This code may have been copied — check the seal, and buy only from an authorised dealer.",
    wrong_code: "The code in this link does not match this unit's label. The label may be a copy. What is shown is what anyone sees without a code.",
    no_code: "Scan the QR code on the unit's label to see its history and warranty.",
    verified: "Label code verified",
    model: "Model",
    serial: "Serial number",
    lot: "Lot",
    built: "Built",
    warranty: "Warranty",
    warranty_none: "This product has no warranty.",
    warranty_not_started: "Not started yet: it starts at the first sale or installation and lasts",
    warranty_months: "months",
    warranty_active: "Active until",
    warranty_expired: "Ended on",
    history: "History",
    history_intro: "Dates are days; each event is recorded in the public log.",
    history_empty: "No public events yet.",
    proof_link: "proof",
    declared_in_error: "(corrected: declared in error)",
    components: "Installed components",
    components_none: "No components are registered for this unit.",
    report_heading: "Report this unit",
    report_intro: "No account needed. Staff review every report.",
    report_stolen: "Report it stolen",
    report_found: "Report it found",
    report_done: "Thank you — your report was recorded",
    report_done_detail: "The manufacturer's staff will review it.",
    report_limited: "Too many reports from your network. Please try again later.",
    back: "Back to the unit",
    unknown_title: "This unit is not known",
    unknown_detail: "No unit with this serial number is registered by its manufacturer. It may be counterfeit.",
    unknown_report: "If you bought it as genuine, keep the receipt and contact the manufacturer.",
    invalid_title: "This link is not valid",
    invalid_detail: "The address is not a valid GS1 Digital Link. Scan the QR code again.",
    unavailable_title: "This page cannot be shown right now",
    unavailable_detail: "Please try again in a minute.",
    product_title: "Product information",
    product_intro: "Scan the QR code on a unit to see whether it is genuine.",
    product_terms: "Warranty terms",
};

pub static DE: Words = Words {
    switch_label: "English",
    brand: "Provenance Portal",
    footer: "Jedes hier gezeigte Ereignis ist signiert und in einem öffentlichen, fälschungssicheren Protokoll verzeichnet, das jeder prüfen kann.",
    banner_genuine: "Echt",
    banner_genuine_detail: "Dieses Gerät wurde von seinem Hersteller hergestellt und registriert.",
    banner_recalled: "Zurückgerufen",
    banner_recalled_detail: "Dieses Gerät wird zurückgerufen. Verwenden Sie es nicht mehr und wenden Sie sich an den Hersteller oder Ihren Händler.",
    banner_stolen: "Als gestohlen gemeldet",
    banner_stolen_detail: "Dieses Gerät wurde als gestohlen gemeldet. Wenn es Ihnen angeboten wurde, melden Sie es bitte unten.",
    banner_decommissioned: "Außer Betrieb",
    banner_decommissioned_detail: "Dieses Gerät wurde außer Betrieb genommen und darf weder verwendet noch verkauft werden.",
    copy_warning: "Dieser Code wurde möglicherweise kopiert – prüfen Sie das Siegel und kaufen Sie nur bei autorisierten Händlern.",
    wrong_code: "Der Code in diesem Link passt nicht zum Etikett dieses Geräts. Das Etikett könnte eine Kopie sein. Gezeigt wird, was jeder ohne Code sieht.",
    no_code: "Scannen Sie den QR-Code auf dem Etikett des Geräts, um Verlauf und Garantie zu sehen.",
    verified: "Etikett-Code geprüft",
    model: "Modell",
    serial: "Seriennummer",
    lot: "Charge",
    built: "Hergestellt",
    warranty: "Garantie",
    warranty_none: "Für dieses Produkt gibt es keine Garantie.",
    warranty_not_started: "Noch nicht begonnen: Sie beginnt mit dem ersten Verkauf oder Einbau und dauert",
    warranty_months: "Monate",
    warranty_active: "Gültig bis",
    warranty_expired: "Abgelaufen am",
    history: "Verlauf",
    history_intro: "Datumsangaben sind Tage; jedes Ereignis ist im öffentlichen Protokoll verzeichnet.",
    history_empty: "Noch keine öffentlichen Ereignisse.",
    proof_link: "Nachweis",
    declared_in_error: "(berichtigt: als Fehler erklärt)",
    components: "Eingebaute Komponenten",
    components_none: "Für dieses Gerät sind keine Komponenten registriert.",
    report_heading: "Dieses Gerät melden",
    report_intro: "Kein Konto nötig. Jede Meldung wird geprüft.",
    report_stolen: "Als gestohlen melden",
    report_found: "Als gefunden melden",
    report_done: "Danke – Ihre Meldung wurde erfasst",
    report_done_detail: "Die Mitarbeiter des Herstellers prüfen sie.",
    report_limited: "Zu viele Meldungen aus Ihrem Netz. Bitte versuchen Sie es später erneut.",
    back: "Zurück zum Gerät",
    unknown_title: "Dieses Gerät ist nicht bekannt",
    unknown_detail: "Kein Gerät mit dieser Seriennummer ist vom Hersteller registriert. Es könnte eine Fälschung sein.",
    unknown_report: "Wenn Sie es als echt gekauft haben, bewahren Sie den Beleg auf und wenden Sie sich an den Hersteller.",
    invalid_title: "Dieser Link ist ungültig",
    invalid_detail: "Die Adresse ist kein gültiger GS1 Digital Link. Scannen Sie den QR-Code erneut.",
    unavailable_title: "Diese Seite kann gerade nicht angezeigt werden",
    unavailable_detail: "Bitte versuchen Sie es in einer Minute noch einmal.",
    product_title: "Produktinformationen",
    product_intro: "Scannen Sie den QR-Code eines Geräts, um zu sehen, ob es echt ist.",
    product_terms: "Garantiebedingungen",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_best_language_we_have() {
        assert_eq!(Lang::negotiate("de-DE,de;q=0.9,en;q=0.8"), Some(Lang::De));
        assert_eq!(Lang::negotiate("fr-FR, en;q=0.5, de;q=0.4"), Some(Lang::En));
        assert_eq!(Lang::negotiate("fr, de;q=0"), None);
        assert_eq!(Lang::negotiate("en;q=0.2, DE;q=0.7"), Some(Lang::De));
        assert_eq!(Lang::negotiate("*"), Some(Lang::En));
        assert_eq!(Lang::negotiate("de;q=1.5"), None);
        assert_eq!(Lang::negotiate(""), None);
    }
}
