//! C2SP tlog-checkpoint: the note text `origin\nsize\nbase64(root)\n` plus
//! optional extension lines, signed as a signed note whose key name is the
//! origin.

use super::hash::Hash;
use super::note::{NoteError, NoteSigner, NoteVerifier, OpenedNote, open_note, sign_note};
use super::proof::RootHash;

/// Why a checkpoint is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error("malformed checkpoint: {0}")]
    Malformed(&'static str),
    #[error("checkpoint origin {found:?} is not {expected:?}")]
    WrongOrigin { expected: String, found: String },
    #[error(transparent)]
    Note(#[from] NoteError),
}

/// The log's origin (and key name) for a public base URL: the URL without
/// its scheme or trailing slashes, plus `/log`.
/// `http://localhost:8080` → `localhost:8080/log`.
pub fn log_origin(public_base_url: &str) -> String {
    let rest = public_base_url
        .split_once("://")
        .map_or(public_base_url, |(_, rest)| rest);
    format!("{}/log", rest.trim_end_matches('/'))
}

/// A checkpoint body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    /// Opaque, non-empty lines after the root (we write none).
    pub extensions: Vec<String>,
}

impl Checkpoint {
    pub fn new(origin: &str, root: RootHash) -> Self {
        Self {
            origin: origin.to_owned(),
            size: root.size,
            root: root.hash,
            extensions: Vec::new(),
        }
    }

    /// The tree head this checkpoint states.
    pub fn root_hash(&self) -> RootHash {
        RootHash::new(self.size, self.root)
    }

    /// The note text: each line ends in a newline.
    pub fn to_text(&self) -> Result<String, CheckpointError> {
        let bad_line = |s: &str| s.is_empty() || s.contains('\n');
        if bad_line(&self.origin) {
            return Err(CheckpointError::Malformed("origin"));
        }
        if self.extensions.iter().any(|e| bad_line(e)) {
            return Err(CheckpointError::Malformed("extension line"));
        }
        let mut text = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            self.root.to_base64()
        );
        for e in &self.extensions {
            text.push_str(e);
            text.push('\n');
        }
        Ok(text)
    }

    /// Parses note text (as returned by [`open_note`]).
    pub fn parse(text: &str) -> Result<Self, CheckpointError> {
        use CheckpointError::Malformed;
        let body = text
            .strip_suffix('\n')
            .ok_or(Malformed("no final newline"))?;
        let mut lines = body.split('\n');
        let origin = lines
            .next()
            .filter(|s| !s.is_empty())
            .ok_or(Malformed("origin"))?;
        let size = lines.next().ok_or(Malformed("size"))?;
        let canonical = !size.is_empty()
            && size.bytes().all(|b| b.is_ascii_digit())
            && (size == "0" || !size.starts_with('0'));
        if !canonical {
            return Err(Malformed("size"));
        }
        let size: u64 = size.parse().map_err(|_| Malformed("size"))?;
        let root = lines.next().ok_or(Malformed("root hash"))?;
        let root = Hash::from_base64(root).map_err(|_| Malformed("root hash"))?;
        let extensions: Vec<String> = lines.map(str::to_owned).collect();
        if extensions.iter().any(String::is_empty) {
            return Err(Malformed("empty extension line"));
        }
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }

    /// The signed checkpoint note.
    pub fn sign(&self, signers: &[&NoteSigner]) -> Result<String, CheckpointError> {
        Ok(sign_note(&self.to_text()?, signers)?)
    }
}

/// A checkpoint whose note verified against a trusted key and whose origin
/// is the one expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedCheckpoint {
    pub checkpoint: Checkpoint,
    pub note: OpenedNote,
}

/// Opens a signed checkpoint: signature by one of `verifiers`, origin equal
/// to `origin`, body well formed.
pub fn open_checkpoint(
    note: &str,
    origin: &str,
    verifiers: &[NoteVerifier],
) -> Result<OpenedCheckpoint, CheckpointError> {
    let note = open_note(note, verifiers)?;
    let checkpoint = Checkpoint::parse(&note.text)?;
    if checkpoint.origin != origin {
        return Err(CheckpointError::WrongOrigin {
            expected: origin.to_owned(),
            found: checkpoint.origin,
        });
    }
    Ok(OpenedCheckpoint { checkpoint, note })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::hash::leaf_hash;
    use ed25519_dalek::SigningKey;

    #[test]
    fn origin_is_the_base_url_without_scheme_plus_log() {
        assert_eq!(log_origin("http://localhost:8080"), "localhost:8080/log");
        assert_eq!(
            log_origin("https://portal.example.com/pp/"),
            "portal.example.com/pp/log"
        );
    }

    #[test]
    fn text_round_trips_and_rejects_bad_bodies() {
        let cp = Checkpoint::new("localhost:8080/log", RootHash::new(2, leaf_hash(b"x")));
        let text = cp.to_text().unwrap();
        assert_eq!(text.lines().count(), 3);
        assert_eq!(Checkpoint::parse(&text).unwrap(), cp);
        let mut ext = cp.clone();
        ext.extensions = vec!["a b".into()];
        assert_eq!(Checkpoint::parse(&ext.to_text().unwrap()).unwrap(), ext);
        for bad in [
            "",
            "o\n1\n",
            "o\n01\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
            "o\n-1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
            "o\n1\nAAAA\n",
            "\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
            "o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            "o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n",
            "o\n18446744073709551616\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
        ] {
            assert!(Checkpoint::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Checkpoint::parse("o\n0\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n").is_ok());
    }

    #[test]
    fn sign_and_open_with_rotation() {
        let origin = "localhost:8080/log";
        let old = NoteSigner::new(origin, SigningKey::from_bytes(&[1; 32])).unwrap();
        let new = NoteSigner::new(origin, SigningKey::from_bytes(&[2; 32])).unwrap();
        let cp = Checkpoint::new(origin, RootHash::new(5, leaf_hash(b"y")));
        let note = cp.sign(&[&new, &old]).unwrap();
        for trusted in [vec![old.verifier().clone()], vec![new.verifier().clone()]] {
            let opened = open_checkpoint(&note, origin, &trusted).unwrap();
            assert_eq!(opened.checkpoint, cp);
            assert_eq!(opened.note.unverified.len(), 1);
        }
        assert!(matches!(
            open_checkpoint(&note, "other/log", &[old.verifier().clone()]),
            Err(CheckpointError::WrongOrigin { .. })
        ));
        let stranger = NoteSigner::new(origin, SigningKey::from_bytes(&[3; 32])).unwrap();
        assert!(matches!(
            open_checkpoint(&note, origin, &[stranger.verifier().clone()]),
            Err(CheckpointError::Note(NoteError::NoTrustedSignature {
                unverified: 2
            }))
        ));
        let tampered = note.replacen("\n5\n", "\n6\n", 1);
        assert!(matches!(
            open_checkpoint(&tampered, origin, &[old.verifier().clone()]),
            Err(CheckpointError::Note(NoteError::BadSignature { .. }))
        ));
    }
}
