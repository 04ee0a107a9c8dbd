//! The portal's signing keys as the running server holds them, reloaded
//! when `provenance keys rotate` changes the key directory, and published:
//! `/log/vkey`, `/.well-known/jwks.json`, `/.well-known/did.json`.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::Portal;
use crate::auth::keyring::{self, Keyring, Purpose};
use crate::auth::{KeyPair, TokenService};
use crate::config::Settings;
use crate::ledger::{NoteSigner, NoteVerifier};

/// Multicodec prefix of an Ed25519 public key (varint of 0xed).
const ED25519_PUB: [u8; 2] = [0xed, 0x01];

/// The log's signing identity: the current key, and the keys retired less
/// than the overlap ago, which co-sign every checkpoint.
pub struct LogSigner {
    pub origin: String,
    /// Current first.
    pub signers: Vec<NoteSigner>,
    /// Every log key, current first: what `/log/vkey` publishes.
    pub verifiers: Vec<NoteVerifier>,
}

impl std::fmt::Debug for LogSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogSigner")
            .field("origin", &self.origin)
            .field("signers", &self.signers.len())
            .finish_non_exhaustive()
    }
}

/// Every key the server uses, loaded together.
#[derive(Debug)]
pub struct Keys {
    pub tokens: TokenService,
    pub log: LogSigner,
    pub token: Keyring,
    pub credential: Keyring,
    pub log_ring: Keyring,
    /// The label secrets of verification codes.
    pub labels: crate::auth::label_secrets::LabelSecrets,
    /// Of the key directory when loaded.
    fingerprint: String,
    /// When the overlap of the newest retired log key ends: the signer set
    /// changes then even if no file does.
    overlap_ends: Option<SystemTime>,
}

impl Keys {
    /// Loads every purpose's keys, creating missing current keys.
    pub fn load(settings: &Settings) -> anyhow::Result<Self> {
        let dir = &settings.keys_dir;
        let fingerprint = keyring::fingerprint(dir);
        let token = Keyring::load_or_create(dir, Purpose::Token)?;
        let credential = Keyring::load_or_create(dir, Purpose::Credential)?;
        let log_ring = Keyring::load_or_create(dir, Purpose::Log)?;
        let labels = crate::auth::label_secrets::LabelSecrets::load_or_create(dir)?;
        // Fingerprint again if a key was just created.
        let fingerprint = if fingerprint == keyring::fingerprint(dir) {
            fingerprint
        } else {
            keyring::fingerprint(dir)
        };
        // A retired token key is of use for one maximum lifetime after
        // its retirement: no token it could have signed before lives longer.
        let tokens = TokenService::with_keys(
            &settings.public_base_url,
            &token.current,
            token
                .retired
                .iter()
                .filter(|r| {
                    r.retired_at
                        .checked_add(settings.max_token_lifetime)
                        .is_none_or(|end| end > SystemTime::now())
                })
                .map(|r| (&r.key, r.retired_at)),
            settings.max_token_lifetime,
        )?;
        let origin = crate::ledger::log_origin(&settings.public_base_url);
        let note_signer = |k: &KeyPair| {
            NoteSigner::new(&origin, k.signing_key().clone())
                .map_err(|e| anyhow::anyhow!("log key {}: {e}", k.kid()))
        };
        let signers = std::iter::once(&log_ring.current)
            .chain(log_ring.retired_within(settings.log_key_overlap))
            .map(note_signer)
            .collect::<anyhow::Result<Vec<_>>>()?;
        let verifiers = log_ring
            .all()
            .map(|k| note_signer(k).map(|s| s.verifier().clone()))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let overlap_ends = log_ring
            .retired
            .first()
            .map(|r| r.retired_at + settings.log_key_overlap)
            .filter(|end| *end > SystemTime::now());
        Ok(Self {
            tokens,
            log: LogSigner {
                origin,
                signers,
                verifiers,
            },
            token,
            credential,
            log_ring,
            labels,
            fingerprint,
            overlap_ends,
        })
    }

    pub fn ring(&self, purpose: Purpose) -> &Keyring {
        match purpose {
            Purpose::Log => &self.log_ring,
            Purpose::Credential => &self.credential,
            Purpose::Token => &self.token,
        }
    }
}

/// `did:web` of a public base URL: the host with a port's colon
/// percent-encoded, and a path's slashes as colons.
pub fn did_web(public_host: &str) -> String {
    let (host, path) = match public_host.split_once('/') {
        Some((h, p)) => (h, Some(p)),
        None => (public_host, None),
    };
    let mut did = format!("did:web:{}", host.replace(':', "%3A"));
    if let Some(path) = path {
        for segment in path.split('/').filter(|s| !s.is_empty()) {
            did.push(':');
            did.push_str(segment);
        }
    }
    did
}

/// `z` + base58btc(0xed01 ‖ public key): a Multikey's `publicKeyMultibase`.
pub fn multikey(public_key: &[u8; 32]) -> String {
    let mut bytes = ED25519_PUB.to_vec();
    bytes.extend_from_slice(public_key);
    format!("z{}", bs58::encode(bytes).into_string())
}

fn okp_jwk(key: &KeyPair, purpose: Purpose, current: bool) -> Value {
    json!({
        "kty": "OKP",
        "crv": "Ed25519",
        "x": URL_SAFE_NO_PAD.encode(key.public_key_bytes()),
        "kid": key.kid(),
        "use": "sig",
        "alg": "EdDSA",
        "key_ops": ["verify"],
        "purpose": purpose.as_str(),
        "status": if current { "current" } else { "retired" },
    })
}

impl Portal {
    pub(crate) fn keys(&self) -> Arc<Keys> {
        // A poisoned lock only means a reload panicked; the keys it holds
        // are still whole.
        match self.keys.read() {
            Ok(k) => Arc::clone(&k),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Reloads the keys when the key directory changed (a rotation by the
    /// CLI) or a log key's overlap ended; returns whether it did. On a
    /// failure the keys in use stay.
    pub fn reload_keys_if_changed(&self) -> anyhow::Result<bool> {
        let keys = self.keys();
        let overlap_over = keys
            .overlap_ends
            .is_some_and(|end| SystemTime::now() >= end);
        if !overlap_over && keyring::fingerprint(&self.settings.keys_dir) == keys.fingerprint {
            return Ok(false);
        }
        let fresh = Keys::load(&self.settings)?;
        tracing::info!(
            token = fresh.token.current.kid(),
            credential = fresh.credential.current.kid(),
            log = fresh.log_ring.current.kid(),
            log_signers = fresh.log.signers.len(),
            "signing keys reloaded"
        );
        match self.keys.write() {
            Ok(mut k) => *k = Arc::new(fresh),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(fresh),
        }
        Ok(true)
    }

    /// `/.well-known/jwks.json`: token and credential keys, current and
    /// retired, as RFC 8037 OKP JWKs.
    pub fn jwks(&self) -> Value {
        let keys = self.keys();
        let mut out = Vec::new();
        for purpose in [Purpose::Token, Purpose::Credential] {
            let ring = keys.ring(purpose);
            // Token keys as long as tokens they signed may be valid;
            // credential keys for ever (certificates outlive them).
            let published: Vec<&KeyPair> = match purpose {
                Purpose::Token => std::iter::once(&ring.current)
                    .chain(ring.retired_within(self.settings.max_token_lifetime))
                    .collect(),
                _ => ring.all().collect(),
            };
            for (i, k) in published.into_iter().enumerate() {
                out.push(okp_jwk(k, purpose, i == 0));
            }
        }
        json!({ "keys": out })
    }

    /// The portal's `did:web`.
    pub fn did(&self) -> String {
        did_web(self.settings.public_host())
    }

    /// `/.well-known/did.json`: every credential key as a Multikey
    /// verification method, all under `assertionMethod` (current first).
    pub fn did_document(&self) -> Value {
        let keys = self.keys();
        let did = self.did();
        let methods: Vec<Value> = keys
            .credential
            .all()
            .map(|k| {
                json!({
                    "id": format!("{did}#{}", k.kid()),
                    "type": "Multikey",
                    "controller": did,
                    "publicKeyMultibase": multikey(&k.public_key_bytes()),
                })
            })
            .collect();
        let ids: Vec<Value> = methods.iter().map(|m| m["id"].clone()).collect();
        json!({
            "@context": [
                "https://www.w3.org/ns/did/v1",
                "https://w3id.org/security/multikey/v1"
            ],
            "id": did,
            "verificationMethod": methods,
            "assertionMethod": ids,
        })
    }
}

/// One line per key for `provenance keys list`: purpose, state, kid,
/// retirement time.
pub fn list(settings: &Settings) -> anyhow::Result<Vec<String>> {
    let mut lines = Vec::new();
    for purpose in Purpose::ALL {
        let ring = match Keyring::load(&settings.keys_dir, purpose) {
            Ok(r) => r,
            Err(_) => {
                lines.push(format!("{purpose}\tnone\t-\t(created on first start)"));
                continue;
            }
        };
        lines.push(format!("{purpose}\tcurrent\t{}\t-", ring.current.kid()));
        for r in &ring.retired {
            let at = chrono::DateTime::<chrono::Utc>::from(r.retired_at)
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            let overlap = purpose == Purpose::Log
                && SystemTime::now()
                    .duration_since(r.retired_at)
                    .map_or(true, |age| age < settings.log_key_overlap);
            lines.push(format!(
                "{purpose}\tretired\t{}\t{at}{}",
                r.key.kid(),
                if overlap { " (still co-signing)" } else { "" }
            ));
        }
    }
    match crate::auth::label_secrets::LabelSecrets::load(&settings.keys_dir) {
        Ok(labels) => {
            lines.push(format!("label	current	{}	-", labels.current().kid()));
            for kid in labels.earlier() {
                lines.push(format!("label	earlier	{kid}	- (its labels keep working)"));
            }
        }
        Err(_) => lines.push("label	none	-	(created on first start)".into()),
    }
    Ok(lines)
}

/// How often a running server looks for rotated keys.
pub const RELOAD_EVERY: Duration = Duration::from_secs(2);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn did_web_encodes_the_port_and_path() {
        assert_eq!(did_web("localhost:8080"), "did:web:localhost%3A8080");
        assert_eq!(did_web("example.com"), "did:web:example.com");
        assert_eq!(
            did_web("example.com/portal/eu"),
            "did:web:example.com:portal:eu"
        );
    }

    /// The W3C vc-di-eddsa test key pair: its secret seed gives its public
    /// Multikey.
    #[test]
    fn multikey_matches_the_w3c_test_key() {
        let text = include_str!("../../../tests/vectors/w3c-vc-di-eddsa/keyPair.json");
        let v: Value = serde_json::from_str(text).unwrap();
        let secret = v["privateKeyMultibase"].as_str().unwrap();
        let bytes = bs58::decode(&secret[1..]).into_vec().unwrap();
        assert_eq!(&bytes[..2], &[0x80, 0x26]);
        let seed: [u8; 32] = bytes[2..].try_into().unwrap();
        let key = ed25519_dalek::SigningKey::from_bytes(&seed);
        assert_eq!(
            multikey(&key.verifying_key().to_bytes()),
            v["publicKeyMultibase"].as_str().unwrap()
        );
    }
}

#[cfg(test)]
mod overlap_tests {
    use super::*;

    fn settings(dir: &std::path::Path, overlap: Duration) -> Settings {
        Settings {
            log_key_overlap: overlap,
            ..Settings::with_defaults(dir, "sqlite::memory:")
        }
    }

    #[test]
    fn retired_log_keys_co_sign_only_within_the_overlap() {
        let dir = tempfile::tempdir().unwrap();
        let day = settings(dir.path(), Duration::from_secs(86_400));
        let keys = Keys::load(&day).unwrap();
        assert_eq!(keys.log.signers.len(), 1);
        keyring::rotate(&day.keys_dir, Purpose::Log).unwrap();
        let keys = Keys::load(&day).unwrap();
        assert_eq!(keys.log.signers.len(), 2);
        assert_eq!(keys.log.verifiers.len(), 2);
        assert_eq!(
            keys.log.signers[0].verifier(),
            &keys.log.verifiers[0],
            "the current key signs first"
        );
        let none = settings(dir.path(), Duration::ZERO);
        let keys = Keys::load(&none).unwrap();
        assert_eq!(keys.log.signers.len(), 1);
        assert_eq!(keys.log.verifiers.len(), 2, "retired keys stay published");
    }
}
