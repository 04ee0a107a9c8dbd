//! GS1 Digital Link URIs: the strict parser (after the GS1 Syntax Engine's
//! `gs1_parseDLuri`, uncompressed URIs only), the split into "a serialized
//! GTIN" / "valid but not ours" / malformed, and the canonical form the
//! portal prints: `{base}/01/{gtin14}/21/{serial}`.
//!
//! Parsing steps: URI characters; `http(s)://` or `HTTP(S)://`; a domain
//! without `_~?#@!$&'()*+,;=%`; the fragment is dropped; the path is walked
//! from its end in `/AI/value` pairs back to the right-most primary key (what
//! precedes it is the stem); values are percent-decoded (`+` means space in
//! the query only); the path AIs must form a `dlpkey` key-qualifier sequence;
//! numeric query keys must be known AIs that are permitted data attributes,
//! not duplicated and not key qualifiers that belong in the path; other query
//! parameters are kept (decoded) for the caller; every AI value is checked
//! against the GS1 Barcode Syntax Dictionary.

use super::ai_dictionary::{AiDictionary, AiInfo, DataAttr, DictionaryError, dictionary};
use super::ai_value::AiValueError;
use super::gtin::{Gtin, GtinError};
use super::percent::{PercentEncoded, decode_lossy, percent_decode};
use super::serial::{DeviceKey, Lot, Serial, TextIdError};

/// Parser options, named after the GS1 Syntax Engine's settings. `Default`
/// is the engine's default; the portal uses [`DlParseOptions::portal`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DlParseOptions {
    /// `/gtin/`, `/ser/`, `/lot/`… instead of numeric AIs (deprecated in DL).
    pub permit_convenience_alphas: bool,
    /// GTIN-8/12/13 for AI (01), zero-padded to GTIN-14.
    pub permit_zero_suppressed_gtin: bool,
    /// AIs missing from the dictionary, with their prefix's length rules.
    pub permit_unknown_ais: bool,
    /// Engine validation `UNKNOWN_AI_NOT_DL_ATTR`: reject unknown AIs as
    /// query data attributes.
    pub unknown_ai_not_dl_attr: bool,
}

impl Default for DlParseOptions {
    fn default() -> Self {
        Self {
            permit_convenience_alphas: false,
            permit_zero_suppressed_gtin: false,
            permit_unknown_ais: false,
            unknown_ai_not_dl_attr: true,
        }
    }
}

impl DlParseOptions {
    /// What the portal accepts for its own URIs: the defaults plus
    /// zero-suppressed GTINs.
    pub fn portal() -> Self {
        Self {
            permit_zero_suppressed_gtin: true,
            ..Self::default()
        }
    }
}

/// Why a string is not a valid GS1 Digital Link URI.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DlError {
    #[error("character {found:?} at position {position} is not allowed in a URI")]
    IllegalCharacter { found: char, position: usize },
    #[error("scheme must be http:// or https://")]
    Scheme,
    #[error("missing domain or path")]
    MissingDomainOrPath,
    #[error("domain contains {0:?}")]
    BadDomainCharacter(char),
    #[error("no GS1 Digital Link primary key in the path")]
    NoPrimaryKey,
    #[error("path ends in '/'")]
    TrailingSlash,
    #[error("AI ({ai}) has an empty value")]
    EmptyValue { ai: String },
    #[error("AI ({ai}) value decodes to a NUL character")]
    NulCharacter { ai: String },
    #[error("unknown AI ({ai}) in the query string")]
    UnknownAi { ai: String },
    #[error("AI ({ai}): {reason}")]
    InvalidValue { ai: String, reason: AiValueError },
    #[error("path AIs ({sequence}) are not a valid key-qualifier sequence")]
    KeyQualifierSequence { sequence: String },
    #[error("AI ({ai}) appears more than once")]
    DuplicateAi { ai: String },
    #[error("AI ({ai}) is not a valid Digital Link data attribute")]
    NotDataAttribute { ai: String },
    #[error("AI ({ai}) is a key qualifier and belongs in the path")]
    QualifierInQuery { ai: String },
    #[error("more than {MAX_ELEMENTS} path elements and query parameters")]
    TooManyElements,
    #[error("GTIN: {0}")]
    Gtin(#[from] GtinError),
    #[error(transparent)]
    Text(#[from] TextIdError),
    #[error(transparent)]
    Dictionary(#[from] DictionaryError),
}

/// Like the engine's `MAX_AIS`: bounds work on hostile input.
const MAX_ELEMENTS: usize = 64;

const URI_CHARACTERS: &str =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/?#[]@!$&'()*+,;=%";
const BAD_DOMAIN_CHARACTERS: &str = "_~?#@!$&'()*+,;=%";

/// Deprecated DL convenience alphas (only with `permit_convenience_alphas`).
const CONVENIENCE_ALPHAS: &[(&str, &str)] = &[
    ("cpid", "8010"),
    ("cpsn", "8011"),
    ("cpv", "22"),
    ("gcn", "255"),
    ("gdti", "253"),
    ("giai", "8004"),
    ("ginc", "401"),
    ("gln", "414"),
    ("glnx", "254"),
    ("gmn", "8013"),
    ("grai", "8003"),
    ("gsin", "402"),
    ("gsrn", "8018"),
    ("gsrnp", "8017"),
    ("gtin", "01"),
    ("itip", "8006"),
    ("lot", "10"),
    ("party", "417"),
    ("refno", "8020"),
    ("ser", "21"),
    ("srin", "8019"),
    ("sscc", "00"),
];

/// One AI and its decoded value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AiElement {
    ai: String,
    value: String,
    fnc1: bool,
}

impl AiElement {
    /// The numeric AI (a convenience alpha is resolved to its AI).
    pub fn ai(&self) -> &str {
        &self.ai
    }

    pub fn value(&self) -> &str {
        &self.value
    }
}

/// A non-AI query parameter, percent-decoded (`+` as space); a parameter
/// without `=` has an empty value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryParam {
    name: String,
    value: String,
}

impl QueryParam {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn value(&self) -> &str {
        &self.value
    }
}

/// Any syntactically valid GS1 Digital Link URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigitalLinkUri {
    stem: String,
    primary_key: AiElement,
    /// Key qualifiers, in path order.
    qualifiers: Vec<AiElement>,
    attributes: Vec<AiElement>,
    params: Vec<QueryParam>,
}

impl DigitalLinkUri {
    /// Parses any GS1 Digital Link URI (every primary key).
    pub fn parse(uri: &str, options: &DlParseOptions) -> Result<Self, DlError> {
        parse_uri(uri, options)
    }

    /// `scheme://domain[/stem…]`, everything before the primary key.
    pub fn stem(&self) -> &str {
        &self.stem
    }

    /// The primary key element (e.g. AI 01, 00, 414).
    pub fn primary_key(&self) -> &AiElement {
        &self.primary_key
    }

    /// Key qualifiers from the path, in order.
    pub fn qualifiers(&self) -> &[AiElement] {
        &self.qualifiers
    }

    /// AI data attributes from the query string, in order.
    pub fn attributes(&self) -> &[AiElement] {
        &self.attributes
    }

    /// Non-AI query parameters (`linkType`, `c`, …), in order.
    pub fn params(&self) -> &[QueryParam] {
        &self.params
    }

    /// The GS1 element string with `^` for FNC1 (leading `^` = FNC1 in
    /// first), AIs in URI order: path, then query attributes.
    pub fn element_string(&self) -> String {
        let mut out = String::from("^");
        let mut elements = std::iter::once(&self.primary_key)
            .chain(&self.qualifiers)
            .chain(&self.attributes)
            .peekable();
        while let Some(e) = elements.next() {
            out.push_str(&e.ai);
            out.push_str(&e.value);
            if e.fnc1 && elements.peek().is_some() {
                out.push('^');
            }
        }
        out
    }

    /// Splits into "a serialized GTIN" (01 with 21 in the path) and the rest.
    pub fn classify(self) -> Result<DigitalLink, DlError> {
        let find = |ai: &str| {
            self.qualifiers
                .iter()
                .find(|e| e.ai == ai)
                .map(|e| e.value.clone())
        };
        let serial = find("21").filter(|_| self.primary_key.ai == "01");
        let Some(serial) = serial else {
            return Ok(DigitalLink::NotOurs(self));
        };
        let key = DeviceKey::new(
            Gtin::parse(&self.primary_key.value)?,
            Serial::parse(&serial)?,
        );
        let lot = find("10").map(|l| Lot::parse(&l)).transpose()?;
        let cpv = find("22");
        Ok(DigitalLink::Serialized(SerializedGtinLink {
            key,
            lot,
            cpv,
            uri: self,
        }))
    }
}

/// The three outcomes, minus the error: ours to resolve, or valid but not
/// a serialized GTIN (another primary key, or AI 01 without AI 21).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DigitalLink {
    Serialized(SerializedGtinLink),
    NotOurs(DigitalLinkUri),
}

/// A Digital Link naming one serialized trade item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerializedGtinLink {
    key: DeviceKey,
    lot: Option<Lot>,
    cpv: Option<String>,
    uri: DigitalLinkUri,
}

impl SerializedGtinLink {
    pub fn device_key(&self) -> &DeviceKey {
        &self.key
    }

    pub fn gtin(&self) -> &Gtin {
        self.key.gtin()
    }

    pub fn serial(&self) -> &Serial {
        self.key.serial()
    }

    /// AI (10), when the path carries it.
    pub fn lot(&self) -> Option<&Lot> {
        self.lot.as_ref()
    }

    /// AI (22) consumer product variant, when the path carries it.
    pub fn cpv(&self) -> Option<&str> {
        self.cpv.as_deref()
    }

    /// Non-AI query parameters, in order.
    pub fn params(&self) -> &[QueryParam] {
        self.uri.params()
    }

    /// The first non-AI query parameter called `name` (e.g. `linkType`, `c`).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.uri
            .params()
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.value.as_str())
    }

    /// AI data attributes from the query string (e.g. AI 17), in order.
    pub fn attributes(&self) -> &[AiElement] {
        self.uri.attributes()
    }

    pub fn uri(&self) -> &DigitalLinkUri {
        &self.uri
    }
}

/// Parses a Digital Link and says whether it names a serialized GTIN.
pub fn parse_digital_link(uri: &str, options: &DlParseOptions) -> Result<DigitalLink, DlError> {
    DigitalLinkUri::parse(uri, options)?.classify()
}

/// The portal's canonical URI, `{base}/01/{gtin14}/21/{serial}`, the serial
/// percent-encoded (everything but `A-Za-z0-9-._~`). A trailing `/` on
/// `base` is dropped.
pub fn canonical_uri(base: &str, key: &DeviceKey) -> String {
    format!(
        "{}/01/{}/21/{}",
        base.trim_end_matches('/'),
        key.gtin(),
        PercentEncoded(key.serial().as_str())
    )
}

/// Like [`canonical_uri`], with the lot as key qualifier 10 when given:
/// `{base}/01/{gtin14}/10/{lot}/21/{serial}`.
pub fn canonical_uri_with_lot(base: &str, key: &DeviceKey, lot: Option<&Lot>) -> String {
    match lot {
        None => canonical_uri(base, key),
        Some(lot) => format!(
            "{}/01/{}/10/{}/21/{}",
            base.trim_end_matches('/'),
            key.gtin(),
            PercentEncoded(lot.as_str()),
            PercentEncoded(key.serial().as_str())
        ),
    }
}

/// Zero-pads a GTIN-8/12/13 to 14 characters.
fn expand_gtin(value: Vec<u8>) -> Vec<u8> {
    if matches!(value.len(), 8 | 12 | 13) {
        let mut padded = vec![b'0'; 14 - value.len()];
        padded.extend(value);
        padded
    } else {
        value
    }
}

struct Pending<'d> {
    ai: String,
    info: AiInfo<'d>,
    value: Vec<u8>,
}

fn parse_uri(uri: &str, options: &DlParseOptions) -> Result<DigitalLinkUri, DlError> {
    let dict = dictionary()?;
    if let Some((position, found)) = uri
        .chars()
        .enumerate()
        .find(|&(_, c)| !URI_CHARACTERS.contains(c))
    {
        return Err(DlError::IllegalCharacter { found, position });
    }
    let rest = ["https://", "HTTPS://", "http://", "HTTP://"]
        .iter()
        .find_map(|scheme| uri.strip_prefix(scheme))
        .ok_or(DlError::Scheme)?;
    let slash = rest
        .find('/')
        .filter(|&i| i > 0)
        .ok_or(DlError::MissingDomainOrPath)?;
    let (domain, path_and_more) = rest.split_at(slash);
    if let Some(bad) = domain.chars().find(|&c| BAD_DOMAIN_CHARACTERS.contains(c)) {
        return Err(DlError::BadDomainCharacter(bad));
    }
    let before_fragment = path_and_more.split('#').next().unwrap_or_default();
    let (path, query) = before_fragment
        .split_once('?')
        .unwrap_or((before_fragment, ""));

    if path.len() > 1 && path.ends_with('/') {
        return Err(DlError::TrailingSlash);
    }
    // Path: "/seg/seg/…"; walk `/AI/value` pairs back from the end to the
    // right-most primary key.
    let segments: Vec<&str> = path.get(1..).unwrap_or_default().split('/').collect();
    let lookup_path_ai = |seg: &str| {
        let alpha = (options.permit_convenience_alphas
            && (3..=5).contains(&seg.len())
            && !seg.starts_with(|c: char| c.is_ascii_digit()))
        .then(|| CONVENIENCE_ALPHAS.iter().find(|(a, _)| *a == seg))
        .flatten()
        .and_then(|(_, ai)| dict.lookup(ai, false));
        alpha.or_else(|| dict.lookup(seg, options.permit_unknown_ais))
    };
    let mut end = segments.len();
    let mut key_start = None;
    while end >= 2 {
        let Some(info) = lookup_path_ai(segments[end - 2]) else {
            break;
        };
        if info.known_ai().is_some_and(|ai| dict.is_primary_key(ai)) {
            key_start = Some(end - 2);
            break;
        }
        end -= 2;
    }
    let key_start = key_start.ok_or(DlError::NoPrimaryKey)?;
    let stem_len = uri.len() - rest.len()
        + slash
        + segments[..key_start]
            .iter()
            .map(|s| s.len() + 1)
            .sum::<usize>();
    let stem = uri.get(..stem_len).unwrap_or_default().to_owned();

    let mut path_elements = Vec::new();
    for pair in segments[key_start..].chunks(2) {
        let [ai_seg, raw] = pair else {
            return Err(DlError::NoPrimaryKey);
        };
        let info = lookup_path_ai(ai_seg).ok_or(DlError::NoPrimaryKey)?;
        let ai = info.known_ai().unwrap_or(ai_seg).to_owned();
        if raw.is_empty() {
            return Err(DlError::EmptyValue { ai });
        }
        let mut value =
            percent_decode(raw, false).ok_or_else(|| DlError::NulCharacter { ai: ai.clone() })?;
        if options.permit_zero_suppressed_gtin && ai == "01" {
            value = expand_gtin(value);
        }
        if path_elements.len() >= MAX_ELEMENTS {
            return Err(DlError::TooManyElements);
        }
        path_elements.push(Pending { ai, info, value });
    }

    let mut attributes = Vec::new();
    let mut params = Vec::new();
    for piece in query.split('&').filter(|p| !p.is_empty()) {
        if path_elements.len() + attributes.len() + params.len() >= MAX_ELEMENTS {
            return Err(DlError::TooManyElements);
        }
        let (key, raw) = match piece.split_once('=') {
            Some((k, v)) if !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()) => (k, v),
            Some((k, v)) => {
                params.push(QueryParam {
                    name: decode_lossy(k),
                    value: decode_lossy(v),
                });
                continue;
            }
            None => {
                params.push(QueryParam {
                    name: decode_lossy(piece),
                    value: String::new(),
                });
                continue;
            }
        };
        let info = dict
            .lookup(key, options.permit_unknown_ais)
            .ok_or_else(|| DlError::UnknownAi { ai: key.to_owned() })?;
        let ai = key.to_owned();
        if raw.is_empty() {
            return Err(DlError::EmptyValue { ai });
        }
        let mut value =
            percent_decode(raw, true).ok_or_else(|| DlError::NulCharacter { ai: ai.clone() })?;
        if options.permit_zero_suppressed_gtin && ai == "01" {
            value = expand_gtin(value);
        }
        attributes.push(Pending { ai, info, value });
    }

    let sequence: Vec<&str> = path_elements.iter().map(|e| e.ai.as_str()).collect();
    if !dict.is_key_sequence(&sequence) {
        return Err(DlError::KeyQualifierSequence {
            sequence: sequence.join(" "),
        });
    }
    check_attributes(dict, options, &path_elements, &attributes)?;

    let finish = |pending: Vec<Pending<'_>>| -> Result<Vec<AiElement>, DlError> {
        pending
            .into_iter()
            .map(|Pending { ai, info, value }| {
                let invalid = |reason| DlError::InvalidValue {
                    ai: ai.clone(),
                    reason,
                };
                info.check_value(&value).map_err(invalid)?;
                // Every dictionary character set is ASCII.
                let value = String::from_utf8(value).map_err(|e| {
                    invalid(AiValueError::BadCharacter {
                        position: e.utf8_error().valid_up_to(),
                    })
                })?;
                Ok(AiElement {
                    fnc1: info.fnc1(),
                    ai,
                    value,
                })
            })
            .collect()
    };
    let mut path = finish(path_elements)?.into_iter();
    Ok(DigitalLinkUri {
        stem,
        primary_key: path.next().ok_or(DlError::NoPrimaryKey)?,
        qualifiers: path.collect(),
        attributes: finish(attributes)?,
        params,
    })
}

/// Query AIs must be new, permitted data attributes, and not key qualifiers
/// that belong in the path (`/01/…?10=…` is wrong; `/01/…/235/…?10=…` is fine).
fn check_attributes(
    dict: &AiDictionary,
    options: &DlParseOptions,
    path: &[Pending<'_>],
    attributes: &[Pending<'_>],
) -> Result<(), DlError> {
    let sequence: Vec<&str> = path.iter().map(|e| e.ai.as_str()).collect();
    for (i, attr) in attributes.iter().enumerate() {
        let ai = &attr.ai;
        if path.iter().chain(&attributes[..i]).any(|e| e.ai == *ai) {
            return Err(DlError::DuplicateAi { ai: ai.clone() });
        }
        let permitted = match attr.info.data_attr() {
            DataAttr::Permitted => true,
            DataAttr::NotPermitted => false,
            DataAttr::Unknown => !options.unknown_ai_not_dl_attr,
        };
        if !permitted {
            return Err(DlError::NotDataAttribute { ai: ai.clone() });
        }
        for j in 1..=sequence.len() {
            let mut trial = sequence.clone();
            trial.insert(j, ai);
            if dict.is_key_sequence(&trial) {
                return Err(DlError::QualifierInQuery { ai: ai.clone() });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "digital_link_tests.rs"]
mod tests;
