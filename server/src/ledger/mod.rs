//! The ledger core: everything a verifier of the public log relies on, pure
//! and checked against published vectors. No I/O, no web, no database.
//!
//! - [`jcs`]: RFC 8785 canonical JSON.
//! - [`commit`]: salted commitments `SHA-256(salt || JCS([name, value]))`.
//! - [`leaf`]: the leaf encoding, one leaf per (event, device).
//! - [`hash`], [`proof`]: RFC 9162 hashing, proof index math, and proof
//!   verification on [`RootHash`].
//! - [`tile`], [`store`], [`append`]: C2SP tlog-tiles coordinates, paths and
//!   entry bundles; proofs and roots from any [`TileStore`]; the appender
//!   that yields the tiles to persist.
//! - [`note`], [`checkpoint`], [`tlog_proof`]: C2SP signed-note,
//!   tlog-checkpoint and tlog-proof.
//!
//! The byte formats are specified in docs/ledger-format.md.

pub mod anchor;
pub mod append;
pub mod checkpoint;
pub mod commit;
pub mod hash;
pub mod jcs;
pub mod leaf;
pub mod note;
pub mod proof;
pub mod store;
pub mod tile;
pub mod tlog_proof;

#[cfg(test)]
mod example;
#[cfg(test)]
mod vector_tests;

pub use anchor::{AnchorLeaf, Entry, decode_entry};
pub use append::{Appended, TileData, append, append_read_tiles};
pub use checkpoint::{Checkpoint, CheckpointError, OpenedCheckpoint, log_origin, open_checkpoint};
pub use commit::{Commitment, Opening, SALT_LEN, Salt, SaltError, commit};
pub use hash::{Hash, empty_root, leaf_hash, node_hash};
pub use jcs::{JcsError, canonicalize};
pub use leaf::{CommittedLeaf, Leaf, LeafError, LeafInput, Prev, verify_chain};
pub use note::{NoteError, NoteSigner, NoteVerifier, OpenedNote, open_note, parse_note, sign_note};
pub use proof::{RootHash, VerifyError};
pub use store::{
    MemoryTileStore, ProofError, TileError, TileStore, consistency_proof, consistency_tiles,
    inclusion_proof, inclusion_tiles, tree_hash, tree_hash_tiles,
};
pub use tile::{Tile, TilePath};
pub use tlog_proof::{TlogProof, TlogProofError};

/// Why bytes or text could not be read as a ledger value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LedgerParseError {
    #[error("expected a 32-byte hash, got {0} bytes")]
    HashLength(usize),
    #[error("expected a 16-byte salt, got {0} bytes")]
    SaltLength(usize),
    #[error("not canonical standard base64")]
    Base64,
    #[error("not hex")]
    Hex,
}
