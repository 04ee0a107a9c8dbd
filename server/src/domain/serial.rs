//! Text identifiers drawn from the GS1 AI encodable character set 82
//! (`Serial`, `Lot`, `RevisionTag`) and the device identity `DeviceKey`
//! (GTIN + serial).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::gtin::{Gtin, GtinError};

/// Whether `c` is in the GS1 AI encodable character set 82 (GS1 General
/// Specifications figure 7.11-1): `!"%&'()*+,-./0-9:;<=>?A-Z_a-z`.
pub fn is_cset82(c: char) -> bool {
    matches!(c,
        '!' | '"' | '%' | '&' | '\'' | '(' | ')' | '*' | '+' | ',' | '-' | '.' | '/'
        | '0'..='9' | ':' | ';' | '<' | '=' | '>' | '?' | 'A'..='Z' | '_' | 'a'..='z')
}

/// Why a string is not a valid set-82 identifier of the named kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextIdError {
    #[error("{kind} is empty")]
    Empty { kind: &'static str },
    #[error("{kind} is longer than {max} characters")]
    TooLong { kind: &'static str, max: usize },
    #[error("{kind} has {found:?} at position {position}, outside the GS1 character set 82")]
    BadCharacter {
        kind: &'static str,
        found: char,
        position: usize,
    },
}

fn parse_cset82(kind: &'static str, max: usize, s: &str) -> Result<String, TextIdError> {
    if s.is_empty() {
        return Err(TextIdError::Empty { kind });
    }
    if let Some((position, found)) = s.chars().enumerate().find(|&(_, c)| !is_cset82(c)) {
        return Err(TextIdError::BadCharacter {
            kind,
            found,
            position,
        });
    }
    // All characters are ASCII now, so bytes == characters.
    if s.len() > max {
        return Err(TextIdError::TooLong { kind, max });
    }
    Ok(s.to_owned())
}

macro_rules! cset82_identifier {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $max:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Longest accepted value, in characters.
            pub const MAX_LEN: usize = $max;

            #[doc = concat!("Parses a ", $kind, ": 1–", stringify!($max), " characters of GS1 set 82.")]
            pub fn parse(s: &str) -> Result<Self, TextIdError> {
                parse_cset82($kind, $max, s).map(Self)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = TextIdError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = TextIdError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(&s)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> Self {
                v.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

cset82_identifier!(
    /// GS1 AI (21) serial number: 1–20 characters of set 82.
    Serial, "serial", 20
);
cset82_identifier!(
    /// GS1 AI (10) batch/lot number: 1–20 characters of set 82.
    Lot, "lot", 20
);
cset82_identifier!(
    /// The portal's own revision tag (not a GS1 AI): 1–32 characters of set
    /// 82, so that it can travel in GS1 data carriers and URIs unchanged.
    RevisionTag, "revision tag", 32
);

/// Why a string is not a `GTIN/SERIAL` device key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceKeyError {
    #[error("a device key is written GTIN/SERIAL")]
    MissingSeparator,
    #[error(transparent)]
    Gtin(#[from] GtinError),
    #[error(transparent)]
    Serial(#[from] TextIdError),
}

/// The identity of one serialized device: GTIN-14 + serial (AI 01 + AI 21).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DeviceKey {
    gtin: Gtin,
    serial: Serial,
}

impl DeviceKey {
    pub fn new(gtin: Gtin, serial: Serial) -> Self {
        Self { gtin, serial }
    }

    /// Parses the `Display` form `GTIN/SERIAL`. The GTIN has no `/`, so the
    /// first one separates; the serial may itself contain `/`.
    pub fn parse(s: &str) -> Result<Self, DeviceKeyError> {
        let (gtin, serial) = s.split_once('/').ok_or(DeviceKeyError::MissingSeparator)?;
        Ok(Self::new(Gtin::parse(gtin)?, Serial::parse(serial)?))
    }

    pub fn gtin(&self) -> &Gtin {
        &self.gtin
    }

    pub fn serial(&self) -> &Serial {
        &self.serial
    }

    /// Bracketed GS1 element string `(01)…(21)…`. A `(` inside the serial is
    /// escaped as `\(`, as the GS1 Syntax Engine's bracketed parser expects.
    pub fn element_string(&self) -> String {
        format!(
            "(01){}(21){}",
            self.gtin,
            self.serial.as_str().replace('(', "\\(")
        )
    }
}

impl fmt::Display for DeviceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.gtin, self.serial)
    }
}

impl FromStr for DeviceKey {
    type Err = DeviceKeyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cset82_has_82_characters() {
        assert_eq!(
            (0u8..=127).filter(|&b| is_cset82(char::from(b))).count(),
            82
        );
        for c in [
            ' ', '#', '$', '@', '[', '\\', ']', '^', '`', '{', '|', '}', '~', 'é', '\0',
        ] {
            assert!(!is_cset82(c), "{c:?}");
        }
    }

    #[test]
    fn serial_bounds() {
        assert!(Serial::parse("A").is_ok());
        assert!(Serial::parse("ABCDEFGHIJ0123456789").is_ok());
        assert_eq!(
            Serial::parse("ABCDEFGHIJ01234567890"),
            Err(TextIdError::TooLong {
                kind: "serial",
                max: 20
            })
        );
        assert_eq!(
            Serial::parse(""),
            Err(TextIdError::Empty { kind: "serial" })
        );
        assert_eq!(
            Serial::parse("AB C"),
            Err(TextIdError::BadCharacter {
                kind: "serial",
                found: ' ',
                position: 2
            })
        );
        assert!(Serial::parse("ÄÄÄ").is_err());
        assert!(Serial::parse("!\"%&'()*+,-./:;<=>?_").is_ok());
    }

    #[test]
    fn lot_and_revision_tag_bounds() {
        assert!(Lot::parse(&"x".repeat(20)).is_ok());
        assert!(Lot::parse(&"x".repeat(21)).is_err());
        assert!(RevisionTag::parse(&"r".repeat(32)).is_ok());
        assert!(RevisionTag::parse(&"r".repeat(33)).is_err());
        assert!(RevisionTag::parse("v1.2#3").is_err());
    }

    #[test]
    fn device_key_forms() {
        let key = DeviceKey::new(
            Gtin::parse("9520123456788").expect("gtin"),
            Serial::parse("A/B(1)").expect("serial"),
        );
        assert_eq!(key.to_string(), "09520123456788/A/B(1)");
        assert_eq!(key.element_string(), "(01)09520123456788(21)A/B\\(1)");
        assert_eq!(DeviceKey::parse(&key.to_string()), Ok(key.clone()));
        assert_eq!(
            DeviceKey::parse("09520123456788"),
            Err(DeviceKeyError::MissingSeparator)
        );
        assert!(matches!(
            DeviceKey::parse("0952012345678/X"),
            Err(DeviceKeyError::Gtin(_))
        ));
        assert!(matches!(
            DeviceKey::parse("09520123456788/"),
            Err(DeviceKeyError::Serial(_))
        ));
        let json = serde_json::to_string(&key).expect("serialise");
        assert_eq!(json, r#"{"gtin":"09520123456788","serial":"A/B(1)"}"#);
        assert_eq!(
            serde_json::from_str::<DeviceKey>(&json).expect("deserialise"),
            key
        );
        assert!(serde_json::from_str::<DeviceKey>(r#"{"gtin":"1","serial":"x"}"#).is_err());
    }
}
