//! Leaf data: one leaf per (event, device), the JCS bytes of
//! `{"device", "event", "fields", "personal", "prev", "seq", "v"}` (version
//! 2) where every readable value is a salted commitment and `personal` names
//! the fields an erasure may take. `prev` commits to the previous leaf of the
//! device, so the chain is provable to whoever holds the opening and
//! invisible to everyone else. Version-1 leaves (`prev` in the clear, no
//! `personal`) keep verifying. Which event members become fields, and which
//! are personal, is the capture service's decision; this module only
//! encodes, decodes and commits.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::commit::{Commitment, Opening, SALT_LEN, Salt, SaltError};
use super::hash::{Hash, leaf_hash};
use super::jcs::{self, JcsError};

/// The leaf format version capture writes.
pub const LEAF_VERSION: u64 = 2;
/// tlog-tiles entry bundles prefix each entry with a 2-byte length.
pub const MAX_LEAF_LEN: usize = 65_535;
/// The commitment name of the device identifier.
pub const DEVICE_FIELD: &str = "device";
/// The commitment name of the event identifier.
pub const EVENT_FIELD: &str = "eventID";
/// The commitment name of the previous leaf's hash (version 2).
pub const PREV_FIELD: &str = "prev";

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
    #[error("field {0:?} is named personal but not committed")]
    PersonalNotCommitted(String),
    #[error("a version-1 leaf names no personal fields")]
    PersonalInVersion1,
    #[error("seq {0} is beyond 2^53 and would not survive JCS")]
    SeqTooLarge(u64),
    #[error("leaf data is not canonical JCS of a version-1 or version-2 leaf: {0}")]
    Malformed(&'static str),
    #[error("device chain broken at position {0}")]
    BrokenChain(usize),
}

/// The link to the device's previous leaf.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prev {
    /// Version 1: the previous leaf's hash in the clear, `None` for the
    /// device's first leaf.
    Plain(Option<Hash>),
    /// Version 2: `commit(salt, "prev", base64 hash)`, or of `null` for the
    /// first leaf.
    Committed(Commitment),
}

impl Prev {
    /// The value a version-2 `prev` commits to.
    pub fn committed_value(previous: Option<&Hash>) -> Value {
        previous.map_or(Value::Null, |h| Value::String(h.to_base64()))
    }

    /// Whether this link names `previous` (the device's previous leaf hash,
    /// `None` for its first leaf); a version-2 link needs the opening's salt.
    pub fn links_to(&self, previous: Option<&Hash>, salt: Option<&Salt>) -> bool {
        match self {
            Prev::Plain(h) => h.as_ref() == previous,
            Prev::Committed(c) => salt.is_some_and(|s| {
                Opening {
                    name: PREV_FIELD.to_owned(),
                    value: Self::committed_value(previous),
                    salt: *s,
                }
                .verifies(c)
            }),
        }
    }
}

/// A decoded leaf. `fields` is keyed by field name; encoding sorts the names
/// by UTF-16 code units (JCS), not by this map's order. `personal` is a
/// subset of `fields`' names, empty in version 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leaf {
    pub device: Commitment,
    pub seq: u64,
    pub prev: Prev,
    pub event: Commitment,
    pub fields: BTreeMap<String, Commitment>,
    pub personal: Vec<String>,
}

/// Sorts names as JCS sorts member names: by UTF-16 code units.
pub(crate) fn sort_utf16(names: &mut [String]) {
    names.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
}

impl Leaf {
    /// 1 or 2, from the form of `prev`.
    pub fn version(&self) -> u64 {
        match self.prev {
            Prev::Plain(_) => 1,
            Prev::Committed(_) => 2,
        }
    }

    /// Whether an erasure may take the field `name`: version 2 says so in
    /// `personal`; a version-1 leaf cannot say (docs/ledger-format.md §3).
    pub fn is_personal(&self, name: &str) -> Option<bool> {
        match self.prev {
            Prev::Plain(_) => None,
            Prev::Committed(_) => Some(self.personal.iter().any(|n| n == name)),
        }
    }

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
        obj.insert("v".into(), Value::from(self.version()));
        obj.insert("device".into(), Value::String(self.device.to_base64()));
        obj.insert("seq".into(), Value::from(self.seq));
        let prev = match self.prev {
            Prev::Plain(h) => h.map_or(Value::Null, |h| Value::String(h.to_base64())),
            Prev::Committed(c) => Value::String(c.to_base64()),
        };
        obj.insert("prev".into(), prev);
        obj.insert("event".into(), Value::String(self.event.to_base64()));
        obj.insert("fields".into(), Value::Object(fields));
        match self.prev {
            Prev::Plain(_) if !self.personal.is_empty() => {
                return Err(LeafError::PersonalInVersion1);
            }
            Prev::Plain(_) => {}
            Prev::Committed(_) => {
                let mut names = self.personal.clone();
                sort_utf16(&mut names);
                names.dedup();
                if let Some(n) = names.iter().find(|n| !self.fields.contains_key(*n)) {
                    return Err(LeafError::PersonalNotCommitted(n.clone()));
                }
                obj.insert(
                    "personal".into(),
                    Value::Array(names.into_iter().map(Value::String).collect()),
                );
            }
        }
        let bytes = jcs::canonicalize(&Value::Object(obj))?;
        if bytes.len() > MAX_LEAF_LEN {
            return Err(LeafError::TooLarge(bytes.len()));
        }
        Ok(bytes)
    }

    /// The RFC 9162 leaf hash of the encoded leaf; what the next leaf's
    /// `prev` names.
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
        let version = obj.get("v").and_then(Value::as_u64);
        let members = match version {
            Some(1) => 6,
            Some(2) => 7,
            _ => return Err(Malformed("v is neither 1 nor 2")),
        };
        if obj.len() != members {
            return Err(Malformed(
                "members other than v, device, seq, prev, event, fields (and personal in v2)",
            ));
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
        let (prev, personal) = if version == Some(1) {
            let prev = match obj.get("prev") {
                Some(Value::Null) => None,
                Some(Value::String(s)) => {
                    Some(Hash::from_base64(s).map_err(|_| Malformed("prev"))?)
                }
                _ => return Err(Malformed("prev")),
            };
            (Prev::Plain(prev), Vec::new())
        } else {
            let personal = obj
                .get("personal")
                .and_then(Value::as_array)
                .ok_or(Malformed("personal"))?
                .iter()
                .map(|n| n.as_str().map(str::to_owned).ok_or(Malformed("personal")))
                .collect::<Result<Vec<_>, _>>()?;
            (Prev::Committed(commitment("prev")?), personal)
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
            personal,
        };
        // Also refuses a `personal` out of order, twice or not committed.
        if leaf.encode().map_err(|_| Malformed("personal"))? != bytes {
            return Err(Malformed("not in canonical form"));
        }
        Ok(leaf)
    }
}

/// Checks a device's whole history: the `i`-th leaf has `seq == i` and links
/// to the previous leaf (`None` for the first). `prev_salts[i]` is the
/// opening salt of leaf `i`'s committed `prev` (unused for version 1).
pub fn verify_chain(leaves: &[Leaf], prev_salts: &[Option<Salt>]) -> Result<(), LeafError> {
    let mut prev: Option<Hash> = None;
    for (i, leaf) in leaves.iter().enumerate() {
        let salt = prev_salts.get(i).copied().flatten();
        if leaf.seq != i as u64 || !leaf.prev.links_to(prev.as_ref(), salt.as_ref()) {
            return Err(LeafError::BrokenChain(i));
        }
        prev = Some(leaf.hash()?);
    }
    Ok(())
}

/// 2^53: JCS numbers above it lose precision.
const MAX_SAFE_INTEGER: u64 = 1 << 53;

/// What a leaf commits to, before salting. `device` is the `(01)…(21)…`
/// element string; `fields` are (name, JSON value) pairs; `personal` names
/// those of them an erasure may take.
#[derive(Debug, Clone, Copy)]
pub struct LeafInput<'a> {
    pub device: &'a str,
    pub event_id: &'a str,
    pub seq: u64,
    pub prev: Option<Hash>,
    pub fields: &'a [(String, Value)],
    pub personal: &'a [String],
}

/// A version-2 leaf together with the openings of all its commitments, to
/// be stored (value and salt) beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct CommittedLeaf {
    pub leaf: Leaf,
    pub device: Opening,
    pub event: Opening,
    pub prev: Opening,
    /// In the order of [`LeafInput::fields`].
    pub fields: Vec<(Opening, Commitment)>,
    /// The leaf data, `leaf.encode()`: what the log appends.
    pub data: Vec<u8>,
    /// `leaf_hash(data)`: the tree's leaf and what the next leaf's `prev`
    /// commits to.
    pub hash: Hash,
}

impl CommittedLeaf {
    /// Commits every value with a fresh salt from `salts`, drawn in this
    /// order: device, eventID, prev, then `fields` in the given order.
    pub fn build(
        input: LeafInput<'_>,
        mut salts: impl FnMut() -> Result<Salt, SaltError>,
    ) -> Result<Self, LeafError> {
        let (device, device_c) =
            Opening::new(DEVICE_FIELD, Value::String(input.device.into()), salts()?)?;
        let (event, event_c) =
            Opening::new(EVENT_FIELD, Value::String(input.event_id.into()), salts()?)?;
        let (prev, prev_c) = Opening::new(
            PREV_FIELD,
            Prev::committed_value(input.prev.as_ref()),
            salts()?,
        )?;
        let mut map = BTreeMap::new();
        let mut fields = Vec::with_capacity(input.fields.len());
        for (name, value) in input.fields {
            let (opening, c) = Opening::new(name, value.clone(), salts()?)?;
            if map.insert(name.clone(), c).is_some() {
                return Err(LeafError::DuplicateField(name.clone()));
            }
            fields.push((opening, c));
        }
        let mut personal = input.personal.to_vec();
        sort_utf16(&mut personal);
        personal.dedup();
        let leaf = Leaf {
            device: device_c,
            seq: input.seq,
            prev: Prev::Committed(prev_c),
            event: event_c,
            fields: map,
            personal,
        };
        let data = leaf.encode()?;
        Ok(Self {
            hash: leaf_hash(&data),
            data,
            leaf,
            device,
            event,
            prev,
            fields,
        })
    }

    /// As [`CommittedLeaf::build`] with operating-system salts.
    /// (All salts come from one call to the OS.)
    pub fn build_random(input: LeafInput<'_>) -> Result<Self, LeafError> {
        let mut pool = vec![0u8; SALT_LEN * (input.fields.len() + 3)];
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
#[path = "leaf_tests.rs"]
mod tests;
