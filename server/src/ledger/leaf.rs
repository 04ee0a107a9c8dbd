//! Leaf data: one leaf per (event, device), the JCS bytes of
//! `{"device", "event", "fields", "prev", "seq", "v"}` where every readable
//! value is a salted commitment. The `prev` chain links a device's leaves.
//! Which event members become fields is the capture service's decision; this
//! module only encodes, decodes and commits.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::commit::{Commitment, Opening, SALT_LEN, Salt, SaltError};
use super::hash::{Hash, leaf_hash};
use super::jcs::{self, JcsError};

/// The leaf format version written in `"v"`.
pub const LEAF_VERSION: u64 = 1;
/// tlog-tiles entry bundles prefix each entry with a 2-byte length.
pub const MAX_LEAF_LEN: usize = 65_535;
/// The commitment name of the device identifier.
pub const DEVICE_FIELD: &str = "device";
/// The commitment name of the event identifier.
pub const EVENT_FIELD: &str = "eventID";

/// Why a leaf cannot be built or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeafError {
    #[error(transparent)]
    Jcs(#[from] JcsError),
    #[error(transparent)]
    Salt(#[from] SaltError),
    #[error("leaf is {0} bytes; at most 65,535 fit a tlog-tiles entry")]
    TooLarge(usize),
    #[error("field {0:?} is committed twice")]
    DuplicateField(String),
    #[error("seq {0} is beyond 2^53 and would not survive JCS")]
    SeqTooLarge(u64),
    #[error("leaf data is not canonical JCS of a version-1 leaf: {0}")]
    Malformed(&'static str),
    #[error("device chain broken at position {0}")]
    BrokenChain(usize),
}

/// A decoded leaf. `fields` is keyed by field name; encoding sorts the names
/// by UTF-16 code units (JCS), not by this map's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leaf {
    pub device: Commitment,
    pub seq: u64,
    pub prev: Option<Hash>,
    pub event: Commitment,
    pub fields: BTreeMap<String, Commitment>,
}

impl Leaf {
    /// The leaf data: JCS bytes, at most [`MAX_LEAF_LEN`].
    pub fn encode(&self) -> Result<Vec<u8>, LeafError> {
        if self.seq > MAX_SAFE_INTEGER {
            return Err(LeafError::SeqTooLarge(self.seq));
        }
        let fields: Map<String, Value> = self
            .fields
            .iter()
            .map(|(k, c)| (k.clone(), Value::String(c.to_base64())))
            .collect();
        let mut obj = Map::new();
        obj.insert("v".into(), Value::from(LEAF_VERSION));
        obj.insert("device".into(), Value::String(self.device.to_base64()));
        obj.insert("seq".into(), Value::from(self.seq));
        obj.insert(
            "prev".into(),
            self.prev
                .map_or(Value::Null, |h| Value::String(h.to_base64())),
        );
        obj.insert("event".into(), Value::String(self.event.to_base64()));
        obj.insert("fields".into(), Value::Object(fields));
        let bytes = jcs::canonicalize(&Value::Object(obj))?;
        if bytes.len() > MAX_LEAF_LEN {
            return Err(LeafError::TooLarge(bytes.len()));
        }
        Ok(bytes)
    }

    /// The RFC 9162 leaf hash of the encoded leaf; the next leaf's `prev`.
    pub fn hash(&self) -> Result<Hash, LeafError> {
        Ok(leaf_hash(&self.encode()?))
    }

    /// Reads leaf data and insists it is exactly what [`Leaf::encode`] writes,
    /// so one leaf has one byte form.
    pub fn decode(bytes: &[u8]) -> Result<Self, LeafError> {
        use LeafError::Malformed;
        if bytes.len() > MAX_LEAF_LEN {
            return Err(LeafError::TooLarge(bytes.len()));
        }
        let value: Value = serde_json::from_slice(bytes).map_err(|_| Malformed("not JSON"))?;
        let obj = value.as_object().ok_or(Malformed("not an object"))?;
        if obj.len() != 6 {
            return Err(Malformed(
                "members other than v, device, seq, prev, event, fields",
            ));
        }
        if obj.get("v").and_then(Value::as_u64) != Some(LEAF_VERSION) {
            return Err(Malformed("v is not 1"));
        }
        let commitment = |key: &'static str| -> Result<Commitment, LeafError> {
            let s = obj.get(key).and_then(Value::as_str).ok_or(Malformed(key))?;
            Commitment::from_base64(s).map_err(|_| Malformed(key))
        };
        let device = commitment("device")?;
        let event = commitment("event")?;
        let seq = obj
            .get("seq")
            .and_then(Value::as_u64)
            .ok_or(Malformed("seq"))?;
        let prev = match obj.get("prev") {
            Some(Value::Null) => None,
            Some(Value::String(s)) => Some(Hash::from_base64(s).map_err(|_| Malformed("prev"))?),
            _ => return Err(Malformed("prev")),
        };
        let fields = obj
            .get("fields")
            .and_then(Value::as_object)
            .ok_or(Malformed("fields"))?
            .iter()
            .map(|(k, v)| {
                let c = v
                    .as_str()
                    .and_then(|s| Commitment::from_base64(s).ok())
                    .ok_or(Malformed("fields"))?;
                Ok((k.clone(), c))
            })
            .collect::<Result<BTreeMap<_, _>, LeafError>>()?;
        let leaf = Self {
            device,
            seq,
            prev,
            event,
            fields,
        };
        if leaf.encode()? != bytes {
            return Err(Malformed("not in canonical form"));
        }
        Ok(leaf)
    }
}

/// Checks a device's whole history: the `i`-th leaf has `seq == i`, the first
/// has no `prev`, and every other names the previous leaf's hash.
pub fn verify_chain(leaves: &[Leaf]) -> Result<(), LeafError> {
    let mut prev = None;
    for (i, leaf) in leaves.iter().enumerate() {
        if leaf.seq != i as u64 || leaf.prev != prev {
            return Err(LeafError::BrokenChain(i));
        }
        prev = Some(leaf.hash()?);
    }
    Ok(())
}

/// 2^53: JCS numbers above it lose precision.
const MAX_SAFE_INTEGER: u64 = 1 << 53;

/// What a leaf commits to, before salting. `device` is the `(01)…(21)…`
/// element string; `fields` are (name, JSON value) pairs.
#[derive(Debug, Clone, Copy)]
pub struct LeafInput<'a> {
    pub device: &'a str,
    pub event_id: &'a str,
    pub seq: u64,
    pub prev: Option<Hash>,
    pub fields: &'a [(String, Value)],
}

/// A leaf together with the openings of all its commitments, to be stored
/// (value and salt) beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct CommittedLeaf {
    pub leaf: Leaf,
    pub device: Opening,
    pub event: Opening,
    /// In the order of [`LeafInput::fields`].
    pub fields: Vec<(Opening, Commitment)>,
    /// The leaf data, `leaf.encode()`: what the log appends.
    pub data: Vec<u8>,
    /// `leaf_hash(data)`: the tree's leaf and the next leaf's `prev`.
    pub hash: Hash,
}

impl CommittedLeaf {
    /// Commits every value with a fresh salt from `salts`, drawn in this
    /// order: device, eventID, then `fields` in the given order.
    pub fn build(
        input: LeafInput<'_>,
        mut salts: impl FnMut() -> Result<Salt, SaltError>,
    ) -> Result<Self, LeafError> {
        let (device, device_c) =
            Opening::new(DEVICE_FIELD, Value::String(input.device.into()), salts()?)?;
        let (event, event_c) =
            Opening::new(EVENT_FIELD, Value::String(input.event_id.into()), salts()?)?;
        let mut map = BTreeMap::new();
        let mut fields = Vec::with_capacity(input.fields.len());
        for (name, value) in input.fields {
            let (opening, c) = Opening::new(name, value.clone(), salts()?)?;
            if map.insert(name.clone(), c).is_some() {
                return Err(LeafError::DuplicateField(name.clone()));
            }
            fields.push((opening, c));
        }
        let leaf = Leaf {
            device: device_c,
            seq: input.seq,
            prev: input.prev,
            event: event_c,
            fields: map,
        };
        let data = leaf.encode()?;
        Ok(Self {
            hash: leaf_hash(&data),
            data,
            leaf,
            device,
            event,
            fields,
        })
    }

    /// As [`CommittedLeaf::build`] with operating-system salts.
    /// (All salts come from one call to the OS.)
    pub fn build_random(input: LeafInput<'_>) -> Result<Self, LeafError> {
        let mut pool = vec![0u8; SALT_LEN * (input.fields.len() + 2)];
        getrandom::fill(&mut pool).map_err(|e| SaltError(e.to_string()))?;
        let mut chunks = pool.chunks_exact(SALT_LEN);
        Self::build(input, move || {
            chunks
                .next()
                .and_then(|c| Salt::from_slice(c).ok())
                .ok_or_else(|| SaltError("salt pool exhausted".into()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn counter_salts() -> impl FnMut() -> Result<Salt, SaltError> {
        let mut n = 0u8;
        move || {
            n = n.wrapping_add(1);
            Ok(Salt([n; 16]))
        }
    }

    fn sample(prev: Option<Hash>, seq: u64) -> CommittedLeaf {
        let fields = vec![
            ("eventType".to_owned(), json!("ObjectEvent")),
            ("bizStep".to_owned(), json!("commissioning")),
            ("readPoint".to_owned(), json!({"id": "urn:x"})),
        ];
        CommittedLeaf::build(
            LeafInput {
                device: "(01)09506000134352(21)A1",
                event_id: "urn:uuid:1",
                seq,
                prev,
                fields: &fields,
            },
            counter_salts(),
        )
        .unwrap()
    }

    #[test]
    fn encodes_in_jcs_member_order_and_decodes_back() {
        let first = sample(None, 0);
        let bytes = first.leaf.encode().unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.starts_with("{\"device\":\""));
        assert!(text.contains("\"fields\":{\"bizStep\":\""));
        assert!(text.ends_with(",\"prev\":null,\"seq\":0,\"v\":1}"));
        assert_eq!(Leaf::decode(&bytes).unwrap(), first.leaf);
        assert_eq!(first.data, bytes);
        assert_eq!(first.hash, leaf_hash(&bytes));
        let random = CommittedLeaf::build_random(LeafInput {
            device: "d",
            event_id: "e",
            seq: 0,
            prev: None,
            fields: &[("a".to_owned(), json!(1))],
        })
        .unwrap();
        assert_ne!(random.device.salt, random.event.salt);
        assert_ne!(random.event.salt, random.fields[0].0.salt);
        assert!(first.device.verifies(&first.leaf.device));
        assert!(first.event.verifies(&first.leaf.event));
        for (o, c) in &first.fields {
            assert!(o.verifies(c));
            assert_eq!(first.leaf.fields.get(&o.name), Some(c));
        }

        let second = sample(Some(first.leaf.hash().unwrap()), 1);
        let bytes = second.leaf.encode().unwrap();
        assert_eq!(Leaf::decode(&bytes).unwrap(), second.leaf);

        let chain = [first.leaf.clone(), second.leaf.clone()];
        assert_eq!(verify_chain(&chain), Ok(()));
        let swapped = [second.leaf.clone(), first.leaf.clone()];
        assert_eq!(verify_chain(&swapped), Err(LeafError::BrokenChain(0)));
        let mut forged = second.leaf;
        forged.prev = Some(Hash([0; 32]));
        assert_eq!(
            verify_chain(&[first.leaf, forged]),
            Err(LeafError::BrokenChain(1))
        );
    }

    #[test]
    fn decode_rejects_anything_not_canonical() {
        let bytes = sample(None, 0).leaf.encode().unwrap();
        let text = String::from_utf8(bytes).unwrap();
        for bad in [
            text.replace("\"v\":1", "\"v\":2"),
            text.replace("\"seq\":0", "\"seq\":0.5"),
            text.replace("\"prev\":null", "\"prev\":1"),
            text.replacen('{', "{ ", 1),
            text.replace("\"v\":1}", "\"v\":1,\"x\":1}"),
            text.replace("\"v\":1}", "\"v\":1.0}"),
            format!("{text}\n"),
            "[]".to_owned(),
            String::new(),
        ] {
            assert!(Leaf::decode(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn duplicate_fields_and_oversized_leaves_are_refused() {
        let fields = vec![("a".to_owned(), json!(1)), ("a".to_owned(), json!(2))];
        let input = LeafInput {
            device: "d",
            event_id: "e",
            seq: 0,
            prev: None,
            fields: &fields,
        };
        assert_eq!(
            CommittedLeaf::build(input, counter_salts()),
            Err(LeafError::DuplicateField("a".into()))
        );
        let fields: Vec<(String, Value)> = (0..2000)
            .map(|i| (format!("field-{i:05}"), json!(i)))
            .collect();
        let input = LeafInput {
            fields: &fields,
            ..input
        };
        assert!(matches!(
            CommittedLeaf::build(input, counter_salts()),
            Err(LeafError::TooLarge(_))
        ));
    }
}
