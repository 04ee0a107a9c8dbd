//! C2SP tlog-proof (`c2sp.org/tlog-proof@v1`): one entry's inclusion proof
//! bundled with the signed checkpoint it is proved against, as text that
//! verifies offline.

use super::checkpoint::{CheckpointError, OpenedCheckpoint, open_checkpoint};
use super::hash::{Hash, decode_base64, encode_base64};
use super::note::NoteVerifier;
use super::proof::VerifyError;

/// The first line of every tlog-proof.
pub const TLOG_PROOF_HEADER: &str = "c2sp.org/tlog-proof@v1";

/// Why a tlog-proof is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlogProofError {
    #[error("malformed tlog-proof: {0}")]
    Malformed(&'static str),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error(transparent)]
    Inclusion(#[from] VerifyError),
}

/// A parsed tlog-proof. `checkpoint` is the signed checkpoint note, verbatim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlogProof {
    /// Opaque, unauthenticated extra data (we write none).
    pub extra: Option<Vec<u8>>,
    pub index: u64,
    pub proof: Vec<Hash>,
    pub checkpoint: String,
}

impl TlogProof {
    pub fn new(index: u64, proof: Vec<Hash>, signed_checkpoint: &str) -> Self {
        Self {
            extra: None,
            index,
            proof,
            checkpoint: signed_checkpoint.to_owned(),
        }
    }

    /// The text form.
    pub fn to_text(&self) -> String {
        let mut s = format!("{TLOG_PROOF_HEADER}\n");
        if let Some(extra) = &self.extra {
            s.push_str("extra ");
            s.push_str(&encode_base64(extra));
            s.push('\n');
        }
        s.push_str(&format!("index {}\n", self.index));
        for h in &self.proof {
            s.push_str(&h.to_base64());
            s.push('\n');
        }
        s.push('\n');
        s.push_str(&self.checkpoint);
        s
    }

    /// Parses the text form (the checkpoint is kept verbatim, unchecked).
    pub fn parse(text: &str) -> Result<Self, TlogProofError> {
        use TlogProofError::Malformed;
        let rest = text
            .strip_prefix(TLOG_PROOF_HEADER)
            .and_then(|r| r.strip_prefix('\n'))
            .ok_or(Malformed("header"))?;
        let (mut line, mut rest) = rest.split_once('\n').ok_or(Malformed("index"))?;
        let mut extra = None;
        if let Some(b64) = line.strip_prefix("extra ") {
            extra = Some(decode_base64(b64).map_err(|_| Malformed("extra"))?);
            (line, rest) = rest.split_once('\n').ok_or(Malformed("index"))?;
        }
        let index = line.strip_prefix("index ").ok_or(Malformed("index"))?;
        let canonical = !index.is_empty()
            && index.bytes().all(|b| b.is_ascii_digit())
            && (index == "0" || !index.starts_with('0'));
        if !canonical {
            return Err(Malformed("index"));
        }
        let index: u64 = index.parse().map_err(|_| Malformed("index"))?;
        let mut proof = Vec::new();
        loop {
            let (line, after) = rest.split_once('\n').ok_or(Malformed("no checkpoint"))?;
            rest = after;
            if line.is_empty() {
                break;
            }
            if proof.len() == 64 {
                return Err(Malformed("proof longer than 64 hashes"));
            }
            proof.push(Hash::from_base64(line).map_err(|_| Malformed("proof hash"))?);
        }
        if rest.is_empty() {
            return Err(Malformed("no checkpoint"));
        }
        Ok(Self {
            extra,
            index,
            proof,
            checkpoint: rest.to_owned(),
        })
    }

    /// Verifies that `leaf` (the leaf hash, computed by the caller from the
    /// leaf data) is at `self.index` in a checkpoint of `origin` signed by
    /// one of `verifiers`. Returns the opened checkpoint.
    pub fn verify(
        &self,
        leaf: &Hash,
        origin: &str,
        verifiers: &[NoteVerifier],
    ) -> Result<OpenedCheckpoint, TlogProofError> {
        let opened = open_checkpoint(&self.checkpoint, origin, verifiers)?;
        opened
            .checkpoint
            .root_hash()
            .verify_inclusion(self.index, leaf, &self.proof)?;
        Ok(opened)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::checkpoint::Checkpoint;
    use crate::ledger::hash::leaf_hash;
    use crate::ledger::note::NoteSigner;
    use crate::ledger::store::{MemoryTileStore, inclusion_proof};
    use ed25519_dalek::SigningKey;

    #[test]
    fn build_parse_verify_and_tamper() {
        let origin = "localhost:8080/log";
        let signer = NoteSigner::new(origin, SigningKey::from_bytes(&[9; 32])).unwrap();
        let trusted = [signer.verifier().clone()];
        let leaves: Vec<Hash> = (0..7u8).map(|i| leaf_hash(&[i])).collect();
        let mut store = MemoryTileStore::new();
        let root = store.append(&leaves).unwrap();
        let note = Checkpoint::new(origin, root).sign(&[&signer]).unwrap();
        for index in 0..7 {
            let proof = inclusion_proof(&store, index, 7).unwrap();
            let mut tp = TlogProof::new(index, proof, &note);
            if index == 3 {
                tp.extra = Some(b"context".to_vec());
            }
            let text = tp.to_text();
            let parsed = TlogProof::parse(&text).unwrap();
            assert_eq!(parsed, tp);
            let opened = parsed
                .verify(&leaves[index as usize], origin, &trusted)
                .unwrap();
            assert_eq!(opened.checkpoint.root_hash(), root);
            let other = leaves[(index as usize + 1) % 7];
            assert!(parsed.verify(&other, origin, &trusted).is_err());
            let moved = TlogProof {
                index: (index + 1) % 7,
                ..parsed.clone()
            };
            assert!(
                moved
                    .verify(&leaves[index as usize], origin, &trusted)
                    .is_err()
            );
        }
        let one = TlogProof::new(0, vec![], &note).to_text();
        assert!(one.contains("\nindex 0\n\nlocalhost:8080/log\n7\n"));
        for bad in [
            String::new(),
            "c2sp.org/tlog-proof@v1\n".to_owned(),
            "c2sp.org/tlog-proof@v1\nindex 01\n\nx".to_owned(),
            "c2sp.org/tlog-proof@v1\nindex 1\nAAAA\n\nx".to_owned(),
            "c2sp.org/tlog-proof@v1\nindex 1\n".to_owned(),
            "c2sp.org/tlog-proof@v2\nindex 1\n\nx".to_owned(),
        ] {
            assert!(TlogProof::parse(&bad).is_err(), "{bad:?}");
        }
    }
}
