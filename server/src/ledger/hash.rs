//! SHA-256 hashes and the RFC 9162 (RFC 6962) Merkle hashing rules: leaf
//! `SHA-256(0x00 || data)`, interior node `SHA-256(0x01 || left || right)`,
//! empty tree `SHA-256("")`. Hashes travel as standard base64.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

use super::LedgerParseError;

/// Domain-separation prefix of a leaf hash (RFC 9162 §2.1.1).
pub const LEAF_PREFIX: u8 = 0x00;
/// Domain-separation prefix of an interior node hash (RFC 9162 §2.1.1).
pub const NODE_PREFIX: u8 = 0x01;
/// Length of every hash in the ledger.
pub const HASH_LEN: usize = 32;

/// A SHA-256 digest: a leaf hash, a node hash, a root or a commitment.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Hash(pub [u8; HASH_LEN]);

impl Hash {
    /// SHA-256 of `data`, with no prefix.
    pub fn sha256(data: &[u8]) -> Self {
        Self(Sha256::digest(data).into())
    }

    /// Parses exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, LedgerParseError> {
        <[u8; HASH_LEN]>::try_from(bytes)
            .map(Self)
            .map_err(|_| LedgerParseError::HashLength(bytes.len()))
    }

    /// Parses standard base64 (with padding) of exactly 32 bytes; rejects
    /// non-canonical encodings so that each hash has one spelling.
    pub fn from_base64(text: &str) -> Result<Self, LedgerParseError> {
        let bytes = decode_base64(text)?;
        Self::from_slice(&bytes)
    }

    /// Standard base64 with padding (44 characters).
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    /// Lowercase hex (64 characters).
    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }

    pub fn as_bytes(&self) -> &[u8; HASH_LEN] {
        &self.0
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_base64())
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_base64())
    }
}

/// The RFC 9162 hash of a leaf: `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([LEAF_PREFIX]);
    h.update(data);
    Hash(h.finalize().into())
}

/// The RFC 9162 hash of an interior node: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([NODE_PREFIX]);
    h.update(left.0);
    h.update(right.0);
    Hash(h.finalize().into())
}

/// The root of the empty tree: `SHA-256("")`.
pub fn empty_root() -> Hash {
    Hash::sha256(b"")
}

/// Decodes standard base64 and rejects any text that does not re-encode to
/// itself (stray bits in the last character, missing padding).
pub(crate) fn decode_base64(text: &str) -> Result<Vec<u8>, LedgerParseError> {
    let bytes = STANDARD
        .decode(text)
        .map_err(|_| LedgerParseError::Base64)?;
    if STANDARD.encode(&bytes) != text {
        return Err(LedgerParseError::Base64);
    }
    Ok(bytes)
}

pub(crate) fn encode_base64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

/// Parses lowercase or uppercase hex of any even length.
pub fn parse_hex(text: &str) -> Result<Vec<u8>, LedgerParseError> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return Err(LedgerParseError::Hex);
    }
    bytes
        .chunks_exact(2)
        .map(|pair| match (nibble(pair[0]), nibble(pair[1])) {
            (Some(hi), Some(lo)) => Ok(hi << 4 | lo),
            _ => Err(LedgerParseError::Hex),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        assert_eq!(
            empty_root().to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn base64_must_be_canonical_and_32_bytes() {
        let h = leaf_hash(b"");
        assert_eq!(Hash::from_base64(&h.to_base64()), Ok(h));
        assert!(Hash::from_base64("").is_err());
        assert!(Hash::from_base64("ZG9uJ3QgY2FyZSAy").is_err());
        // Same bytes, but the last character carries stray low bits.
        let mut s = h.to_base64();
        s.replace_range(42..43, "1");
        assert!(Hash::from_base64(&s).is_err() || Hash::from_base64(&s) != Ok(h));
        assert!(Hash::from_base64(&h.to_base64()[..43]).is_err());
    }

    #[test]
    fn hex_round_trip() {
        let bytes = [0u8, 1, 0xab, 0xff];
        assert_eq!(parse_hex(&hex(&bytes)), Ok(bytes.to_vec()));
        assert!(parse_hex("abc").is_err());
        assert!(parse_hex("zz").is_err());
    }
}
