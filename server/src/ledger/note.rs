//! C2SP signed-note with Ed25519 (signature type 0x01): signing, opening
//! (several signatures; unknown signers ignored; a bad signature by a known
//! key rejects the note), verifier keys `name+hash+base64` and Go's
//! `PRIVATE+KEY+name+hash+base64` signer keys.

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use super::hash::{decode_base64, encode_base64, hex};

/// The signature type byte of Ed25519 in signed notes.
pub const ED25519_TYPE: u8 = 0x01;
/// Signature lines start with an em dash and a space.
const SIG_PREFIX: &str = "\u{2014} ";
/// More signatures than this and the note is refused (the spec asks for 16+).
pub const MAX_SIGNATURES: usize = 100;

/// Why a note or key is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    #[error("malformed note")]
    Malformed,
    #[error("invalid key name")]
    KeyName,
    #[error("malformed key")]
    Key,
    #[error("the key id in the key text does not match the key")]
    KeyIdMismatch,
    #[error("signature by {name} does not verify")]
    BadSignature { name: String },
    #[error("no signature by a trusted key ({unverified} by unknown keys)")]
    NoTrustedSignature { unverified: usize },
}

/// `SHA-256(name || 0x0A || 0x01 || public key)[:4]`, big-endian.
pub fn key_id(name: &str, key: &VerifyingKey) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', ED25519_TYPE]);
    h.update(key.as_bytes());
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

fn check_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty() || name.contains('+') || name.chars().any(char::is_whitespace) {
        return Err(NoteError::KeyName);
    }
    Ok(())
}

/// A key that verifies notes: name, key id and Ed25519 public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    id: u32,
    key: VerifyingKey,
}

impl NoteVerifier {
    pub fn new(name: &str, key: VerifyingKey) -> Result<Self, NoteError> {
        check_name(name)?;
        Ok(Self {
            name: name.to_owned(),
            id: key_id(name, &key),
            key,
        })
    }

    /// Parses `name+hash+base64(0x01 || key)`; the hash must be the key id.
    pub fn parse(vkey: &str) -> Result<Self, NoteError> {
        // The base64 part may itself contain '+'.
        let mut parts = vkey.trim_end_matches('\n').splitn(3, '+');
        let (Some(name), Some(id), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(NoteError::Key);
        };
        let id = parse_key_id(id)?;
        let bytes = decode_base64(b64).map_err(|_| NoteError::Key)?;
        let (&kind, key) = bytes.split_first().ok_or(NoteError::Key)?;
        let key: [u8; 32] = key.try_into().map_err(|_| NoteError::Key)?;
        if kind != ED25519_TYPE {
            return Err(NoteError::Key);
        }
        let key = VerifyingKey::from_bytes(&key).map_err(|_| NoteError::Key)?;
        let v = Self::new(name, key)?;
        if v.id != id {
            return Err(NoteError::KeyIdMismatch);
        }
        Ok(v)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn key_id(&self) -> u32 {
        self.id
    }

    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.key
    }

    /// The verifier key text, `name+hash+base64`.
    pub fn to_vkey(&self) -> String {
        let mut bytes = vec![ED25519_TYPE];
        bytes.extend_from_slice(self.key.as_bytes());
        format!("{}+{:08x}+{}", self.name, self.id, encode_base64(&bytes))
    }

    fn verify(&self, text: &str, sig: &[u8]) -> bool {
        Signature::from_slice(sig)
            .is_ok_and(|s| self.key.verify_strict(text.as_bytes(), &s).is_ok())
    }
}

fn parse_key_id(hex_id: &str) -> Result<u32, NoteError> {
    if hex_id.len() != 8 || !hex_id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(NoteError::Key);
    }
    u32::from_str_radix(hex_id, 16).map_err(|_| NoteError::Key)
}

/// A key that signs notes. `Debug` does not print the secret.
#[derive(Clone)]
pub struct NoteSigner {
    verifier: NoteVerifier,
    key: SigningKey,
}

impl std::fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NoteSigner({})", self.verifier.to_vkey())
    }
}

impl NoteSigner {
    pub fn new(name: &str, key: SigningKey) -> Result<Self, NoteError> {
        Ok(Self {
            verifier: NoteVerifier::new(name, key.verifying_key())?,
            key,
        })
    }

    /// Parses Go's `PRIVATE+KEY+name+hash+base64(0x01 || 32-byte seed)`.
    pub fn parse_go_skey(skey: &str) -> Result<Self, NoteError> {
        let rest = skey
            .trim_end_matches('\n')
            .strip_prefix("PRIVATE+KEY+")
            .ok_or(NoteError::Key)?;
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(id), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(NoteError::Key);
        };
        let id = parse_key_id(id)?;
        let bytes = decode_base64(b64).map_err(|_| NoteError::Key)?;
        let (&kind, seed) = bytes.split_first().ok_or(NoteError::Key)?;
        let seed: [u8; 32] = seed.try_into().map_err(|_| NoteError::Key)?;
        if kind != ED25519_TYPE {
            return Err(NoteError::Key);
        }
        let signer = Self::new(name, SigningKey::from_bytes(&seed))?;
        if signer.verifier.id != id {
            return Err(NoteError::KeyIdMismatch);
        }
        Ok(signer)
    }

    pub fn verifier(&self) -> &NoteVerifier {
        &self.verifier
    }

    pub fn name(&self) -> &str {
        self.verifier.name()
    }

    /// One signature line (with its newline) over `text`.
    fn signature_line(&self, text: &str) -> String {
        let sig = self.key.sign(text.as_bytes());
        let mut bytes = self.verifier.id.to_be_bytes().to_vec();
        bytes.extend_from_slice(&sig.to_bytes());
        format!(
            "{SIG_PREFIX}{} {}\n",
            self.verifier.name,
            encode_base64(&bytes)
        )
    }
}

/// Checks the spec's text rules: valid UTF-8 (given), no ASCII controls
/// other than newline.
fn check_chars(s: &str) -> Result<(), NoteError> {
    if s.chars().any(|c| c < ' ' && c != '\n') {
        return Err(NoteError::Malformed);
    }
    Ok(())
}

/// Signs `text` (non-empty, ending in a newline) with each signer in turn.
pub fn sign_note(text: &str, signers: &[&NoteSigner]) -> Result<String, NoteError> {
    if !text.ends_with('\n') || signers.is_empty() {
        return Err(NoteError::Malformed);
    }
    check_chars(text)?;
    let mut note = String::with_capacity(text.len() + 1 + signers.len() * 110);
    note.push_str(text);
    note.push('\n');
    for s in signers {
        note.push_str(&s.signature_line(text));
    }
    Ok(note)
}

/// One signature line, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    pub name: String,
    pub key_id: u32,
    /// The signature bytes after the key id.
    pub signature: Vec<u8>,
}

/// A parsed note; its text is not to be trusted until [`open_note`] says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedNote {
    /// The signed text, with its final newline.
    pub text: String,
    pub signatures: Vec<NoteSignature>,
}

/// Splits a note into text and signature lines without checking signatures.
pub fn parse_note(msg: &str) -> Result<ParsedNote, NoteError> {
    check_chars(msg)?;
    let split = msg.rfind("\n\n").ok_or(NoteError::Malformed)?;
    let (text, sigs) = (&msg[..split + 1], &msg[split + 2..]);
    if sigs.is_empty() || !sigs.ends_with('\n') {
        return Err(NoteError::Malformed);
    }
    let mut signatures = Vec::new();
    for line in sigs[..sigs.len() - 1].split('\n') {
        if signatures.len() == MAX_SIGNATURES {
            return Err(NoteError::Malformed);
        }
        let rest = line.strip_prefix(SIG_PREFIX).ok_or(NoteError::Malformed)?;
        let (name, b64) = rest.split_once(' ').ok_or(NoteError::Malformed)?;
        check_name(name).map_err(|_| NoteError::Malformed)?;
        let bytes = decode_base64(b64).map_err(|_| NoteError::Malformed)?;
        if bytes.len() < 5 {
            return Err(NoteError::Malformed);
        }
        let (id, sig) = bytes.split_at(4);
        signatures.push(NoteSignature {
            name: name.to_owned(),
            key_id: u32::from_be_bytes([id[0], id[1], id[2], id[3]]),
            signature: sig.to_vec(),
        });
    }
    Ok(ParsedNote {
        text: text.to_owned(),
        signatures,
    })
}

/// A note with at least one verified signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedNote {
    pub text: String,
    /// The known keys whose signatures verified, in note order.
    pub verified_by: Vec<NoteVerifier>,
    /// Signatures by keys not among the verifiers (ignored, as the spec says).
    pub unverified: Vec<NoteSignature>,
}

/// Parses `msg` and checks every signature by a key in `verifiers` (matched
/// on name *and* key id). A failing signature by a known key rejects the
/// note; so does a note no known key signed.
pub fn open_note(msg: &str, verifiers: &[NoteVerifier]) -> Result<OpenedNote, NoteError> {
    let parsed = parse_note(msg)?;
    let mut verified_by: Vec<NoteVerifier> = Vec::new();
    let mut unverified = Vec::new();
    for sig in parsed.signatures {
        let known = verifiers
            .iter()
            .find(|v| v.name == sig.name && v.id == sig.key_id);
        match known {
            None => unverified.push(sig),
            Some(v) if v.verify(&parsed.text, &sig.signature) => {
                if !verified_by.contains(v) {
                    verified_by.push(v.clone());
                }
            }
            Some(_) => return Err(NoteError::BadSignature { name: sig.name }),
        }
    }
    if verified_by.is_empty() {
        return Err(NoteError::NoTrustedSignature {
            unverified: unverified.len(),
        });
    }
    Ok(OpenedNote {
        text: parsed.text,
        verified_by,
        unverified,
    })
}

/// Lowercase hex of a key id, as in verifier keys.
pub fn key_id_hex(id: u32) -> String {
    hex(&id.to_be_bytes())
}
