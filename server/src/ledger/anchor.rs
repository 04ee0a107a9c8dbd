//! Anchor leaves: leaves of the public log that belong to no device. An
//! access-log anchor is the JCS bytes of `{"anchor", "commitment", "v"}`,
//! where `commitment` is a salted commitment (§2) to the access log's head
//! `{"hash": base64, "id": n}` under the name `accessLog`: it reveals
//! nothing, and once a checkpoint covers it the access log cannot be
//! rewritten or truncated below `n` without the audit seeing it
//! (docs/ledger-format.md §3a).

use serde_json::{Map, Value, json};

use super::commit::{Commitment, Opening, Salt};
use super::hash::{Hash, leaf_hash};
use super::jcs;
use super::leaf::{Leaf, LeafError, MAX_LEAF_LEN};

/// The value of `anchor` for access-log anchors.
pub const ACCESS_LOG_ANCHOR: &str = "access-log";
/// The commitment name of the access log's head.
pub const ACCESS_LOG_FIELD: &str = "accessLog";

/// A decoded access-log anchor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnchorLeaf {
    pub commitment: Commitment,
}

/// The value an anchor commits to: the id of the access log's last row
/// and that row's chain hash (32 zero bytes for id 0).
pub fn access_head_value(last_id: i64, hash: &Hash) -> Value {
    json!({ "hash": hash.to_base64(), "id": last_id })
}

impl AnchorLeaf {
    /// Commits to the access log's head with `salt`; returns the leaf and
    /// its opening.
    pub fn commit(last_id: i64, hash: &Hash, salt: Salt) -> Result<(Self, Opening), LeafError> {
        let (opening, commitment) =
            Opening::new(ACCESS_LOG_FIELD, access_head_value(last_id, hash), salt)?;
        Ok((Self { commitment }, opening))
    }

    pub fn encode(&self) -> Result<Vec<u8>, LeafError> {
        let mut obj = Map::new();
        obj.insert("anchor".into(), Value::from(ACCESS_LOG_ANCHOR));
        obj.insert(
            "commitment".into(),
            Value::String(self.commitment.to_base64()),
        );
        obj.insert("v".into(), Value::from(2));
        Ok(jcs::canonicalize(&Value::Object(obj))?)
    }

    pub fn hash(&self) -> Result<Hash, LeafError> {
        Ok(leaf_hash(&self.encode()?))
    }

    /// Reads anchor data; only the exact bytes [`AnchorLeaf::encode`]
    /// writes are accepted.
    pub fn decode(bytes: &[u8]) -> Result<Self, LeafError> {
        use LeafError::Malformed;
        if bytes.len() > MAX_LEAF_LEN {
            return Err(LeafError::TooLarge(bytes.len()));
        }
        let value: Value = serde_json::from_slice(bytes).map_err(|_| Malformed("not JSON"))?;
        let commitment = value
            .get("commitment")
            .and_then(Value::as_str)
            .and_then(|s| Commitment::from_base64(s).ok())
            .ok_or(Malformed("commitment"))?;
        let anchor = Self { commitment };
        if anchor.encode()? != bytes {
            return Err(Malformed("not a canonical access-log anchor"));
        }
        Ok(anchor)
    }

    /// Whether `(last_id, hash)` with `salt` opens this anchor.
    pub fn opens(&self, last_id: i64, hash: &Hash, salt: &Salt) -> bool {
        Opening {
            name: ACCESS_LOG_FIELD.to_owned(),
            value: access_head_value(last_id, hash),
            salt: *salt,
        }
        .verifies(&self.commitment)
    }
}

/// Any entry of the public log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Device(Box<Leaf>),
    Anchor(AnchorLeaf),
}

/// Reads any entry: a device leaf (version 1 or 2) or an anchor.
pub fn decode_entry(bytes: &[u8]) -> Result<Entry, LeafError> {
    match AnchorLeaf::decode(bytes) {
        Ok(a) => Ok(Entry::Anchor(a)),
        Err(_) => Leaf::decode(bytes).map(|l| Entry::Device(Box::new(l))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_anchor_commits_to_the_head_and_reveals_nothing() {
        let head = Hash([9; 32]);
        let salt = Salt([4; 16]);
        let (anchor, opening) = AnchorLeaf::commit(41, &head, salt).unwrap();
        let bytes = anchor.encode().unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.starts_with("{\"anchor\":\"access-log\",\"commitment\":\""));
        assert!(text.ends_with("\",\"v\":2}"));
        assert!(!text.contains(&head.to_base64()) && !text.contains("41"));
        assert_eq!(AnchorLeaf::decode(&bytes).unwrap(), anchor);
        assert_eq!(decode_entry(&bytes).unwrap(), Entry::Anchor(anchor));
        assert!(opening.verifies(&anchor.commitment));
        assert!(anchor.opens(41, &head, &salt));
        assert!(!anchor.opens(40, &head, &salt));
        assert!(!anchor.opens(41, &Hash([8; 32]), &salt));
        for bad in [
            text.replace("\"v\":2", "\"v\":1"),
            text.replace("access-log", "other"),
            text.replace("\"v\":2}", "\"v\":2,\"x\":1}"),
            format!(" {text}"),
        ] {
            assert!(AnchorLeaf::decode(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
