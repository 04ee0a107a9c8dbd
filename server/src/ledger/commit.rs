//! Salted commitments: `commit(name, value) = SHA-256(salt || JCS([name, value]))`
//! with a fresh 16-byte salt per (event, device, field). Disclosing a value
//! means handing out `(name, value, salt)`; the public log holds only the
//! commitment.

use std::fmt;

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::LedgerParseError;
use super::hash::{Hash, decode_base64, encode_base64, hex};
use super::jcs::{self, JcsError};

/// Length of a commitment salt.
pub const SALT_LEN: usize = 16;

/// A 16-byte random salt. Its `Debug` does not print the bytes: a salt
/// together with a commitment discloses the value, so it stays out of logs.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Salt(pub [u8; SALT_LEN]);

/// The operating system's random source failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no randomness for a salt: {0}")]
pub struct SaltError(pub String);

impl Salt {
    /// A fresh salt from the operating system.
    pub fn random() -> Result<Self, SaltError> {
        let mut bytes = [0u8; SALT_LEN];
        getrandom::fill(&mut bytes).map_err(|e| SaltError(e.to_string()))?;
        Ok(Self(bytes))
    }

    pub fn from_slice(bytes: &[u8]) -> Result<Self, LedgerParseError> {
        <[u8; SALT_LEN]>::try_from(bytes)
            .map(Self)
            .map_err(|_| LedgerParseError::SaltLength(bytes.len()))
    }

    /// Standard base64 (24 characters), the form disclosures use.
    pub fn to_base64(&self) -> String {
        encode_base64(&self.0)
    }

    pub fn from_base64(text: &str) -> Result<Self, LedgerParseError> {
        Self::from_slice(&decode_base64(text)?)
    }

    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }
}

impl fmt::Debug for Salt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Salt(..)")
    }
}

/// A commitment to one named value; written as standard base64 in leaves.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Commitment(pub Hash);

impl Commitment {
    pub fn to_base64(&self) -> String {
        self.0.to_base64()
    }

    pub fn from_base64(text: &str) -> Result<Self, LedgerParseError> {
        Hash::from_base64(text).map(Self)
    }
}

impl fmt::Debug for Commitment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Commitment({})", self.0.to_base64())
    }
}

impl fmt::Display for Commitment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_base64())
    }
}

/// The bytes a commitment hashes after the salt: `JCS([name, value])`.
pub fn commitment_preimage(name: &str, value: &Value) -> Result<Vec<u8>, JcsError> {
    jcs::canonicalize_pair(name, value)
}

/// `SHA-256(salt || JCS([name, value]))`.
pub fn commit(salt: &Salt, name: &str, value: &Value) -> Result<Commitment, JcsError> {
    let preimage = commitment_preimage(name, value)?;
    let mut h = Sha256::new();
    h.update(salt.0);
    h.update(&preimage);
    Ok(Commitment(Hash(h.finalize().into())))
}

/// A disclosed value: what a verifier needs to check one commitment.
#[derive(Debug, Clone, PartialEq)]
pub struct Opening {
    pub name: String,
    pub value: Value,
    pub salt: Salt,
}

impl Opening {
    /// Salts `value` under `name` and returns the opening with its commitment.
    pub fn new(name: &str, value: Value, salt: Salt) -> Result<(Self, Commitment), JcsError> {
        let commitment = commit(&salt, name, &value)?;
        let opening = Self {
            name: name.to_owned(),
            value,
            salt,
        };
        Ok((opening, commitment))
    }

    /// The commitment this opening produces.
    pub fn commitment(&self) -> Result<Commitment, JcsError> {
        commit(&self.salt, &self.name, &self.value)
    }

    /// Whether this opening is the one committed to.
    pub fn verifies(&self, commitment: &Commitment) -> bool {
        self.commitment().is_ok_and(|c| &c == commitment)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn commitment_is_sha256_of_salt_and_jcs_pair() {
        let salt = Salt([7; SALT_LEN]);
        let value = json!({"b": 1.50, "a": "x"});
        let pre = commitment_preimage("readPoint", &value).unwrap();
        assert_eq!(pre, br#"["readPoint",{"a":"x","b":1.5}]"#);
        let array = serde_json::json!(["readPoint", value]);
        assert_eq!(pre, jcs::canonicalize(&array).unwrap());
        let mut bytes = salt.0.to_vec();
        bytes.extend_from_slice(&pre);
        assert_eq!(
            commit(&salt, "readPoint", &value).unwrap().0,
            Hash::sha256(&bytes)
        );
    }

    #[test]
    fn openings_verify_only_their_own_commitment() {
        let (opening, c) = Opening::new("bizStep", json!("shipping"), Salt([1; 16])).unwrap();
        assert!(opening.verifies(&c));
        let mut other = opening.clone();
        other.value = json!("receiving");
        assert!(!other.verifies(&c));
        let mut other = opening.clone();
        other.salt = Salt([2; 16]);
        assert!(!other.verifies(&c));
        let mut other = opening;
        other.name = "disposition".to_owned();
        assert!(!other.verifies(&c));
    }

    #[test]
    fn random_salts_differ_and_salts_parse() {
        let a = Salt::random().unwrap();
        let b = Salt::random().unwrap();
        assert_ne!(a, b);
        assert_eq!(Salt::from_base64(&a.to_base64()), Ok(a));
        assert!(Salt::from_slice(&[0; 15]).is_err());
        assert_eq!(format!("{a:?}"), "Salt(..)");
    }
}
