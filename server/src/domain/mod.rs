//! Identifiers and pure domain rules.
//!
//! Device identity: GTIN, serial, lot, revision tag, the device key
//! (GTIN + serial) and GS1 Digital Link URIs. Pure: no I/O. The server calls
//! [`parse_digital_link`] with [`DlParseOptions::portal`] on incoming URIs,
//! maps [`DlError`] to 400 and [`DigitalLink::NotOurs`] to 404, and prints
//! [`canonical_uri`] on labels.

mod ai_dictionary;
mod ai_value;
pub mod cbv;
pub mod custody;
pub mod digital_link;
mod error_declaration;
pub mod event;
mod event_kind;
pub mod gtin;
mod json_depth;
pub mod label_code;
pub mod organisation;
mod percent;
pub mod principal;
pub mod region;
pub mod serial;
pub mod status;
pub mod visibility;

pub use ai_dictionary::DictionaryError;
pub use ai_value::AiValueError;
pub use digital_link::{
    AiElement, DigitalLink, DigitalLinkUri, DlError, DlParseOptions, QueryParam,
    SerializedGtinLink, canonical_uri, canonical_uri_with_lot, parse_digital_link,
};
pub use gtin::{CheckDigitError, Gtin, GtinError, check_mod10};
pub use serial::{DeviceKey, DeviceKeyError, Lot, RevisionTag, Serial, TextIdError, is_cset82};

/// A value percent-encoded as a Digital Link path segment.
pub fn percent_encoded(value: &str) -> String {
    percent::PercentEncoded(value).to_string()
}

/// A percent-encoded text decoded (an invalid escape is kept as it is).
pub fn percent_decoded(value: &str) -> String {
    percent::decode_lossy(value)
}
