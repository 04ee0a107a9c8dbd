//! Ed25519 key files in the data directory. A key is generated on first use
//! and written as PKCS#8 PEM with mode 0600; it is never logged, never put in
//! the database, and its `Debug` shows only the key id.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey, spki::der::pem::LineEnding};
use sha2::{Digest, Sha256};

/// A signing key and its public identity.
pub struct KeyPair {
    signing: SigningKey,
    kid: String,
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPair")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl KeyPair {
    pub fn from_signing_key(signing: SigningKey) -> Self {
        let kid = jwk_thumbprint(&signing.verifying_key().to_bytes());
        Self { signing, kid }
    }

    /// A fresh key from the operating system's random source.
    pub fn generate() -> anyhow::Result<Self> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("no OS randomness: {e}"))?;
        Ok(Self::from_signing_key(SigningKey::from_bytes(&seed)))
    }

    /// Loads `dir/{purpose}.pem`, creating it (0600) when absent.
    pub fn load_or_create(dir: &Path, purpose: &str) -> anyhow::Result<Self> {
        let path = key_path(dir, purpose);
        if path.exists() {
            return Self::load(&path);
        }
        create_private_dir(dir)?;
        let key = Self::generate()?;
        key.write_new(&path)?;
        tracing::info!(purpose, kid = %key.kid, "generated a new signing key");
        Ok(key)
    }

    pub fn load(path: &Path) -> anyhow::Result<Self> {
        check_permissions(path)?;
        let pem = fs::read_to_string(path)
            .with_context(|| format!("reading key file {}", path.display()))?;
        // The parse error could quote key bytes; say only which file failed.
        let signing = SigningKey::from_pkcs8_pem(&pem).map_err(|_| {
            anyhow::anyhow!(
                "key file {} is not an Ed25519 PKCS#8 PEM key",
                path.display()
            )
        })?;
        Ok(Self::from_signing_key(signing))
    }

    pub(crate) fn write_new(&self, path: &Path) -> anyhow::Result<()> {
        let pem = self
            .signing
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|_| anyhow::anyhow!("encoding the key failed"))?;
        write_private(path, pem.as_bytes())
    }

    /// RFC 7638 JWK thumbprint of the public key.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn signing_key(&self) -> &SigningKey {
        &self.signing
    }

    pub fn public_key_bytes(&self) -> [u8; 32] {
        self.signing.verifying_key().to_bytes()
    }

    /// PKCS#8 DER of the private key, for `jsonwebtoken::EncodingKey`.
    pub fn pkcs8_der(&self) -> anyhow::Result<Vec<u8>> {
        Ok(self
            .signing
            .to_pkcs8_der()
            .map_err(|_| anyhow::anyhow!("encoding the key failed"))?
            .as_bytes()
            .to_vec())
    }
}

/// Creates `path` (it must not exist) readable by its owner only (0600),
/// writes `bytes` and syncs them.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("creating key file {}", path.display()))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}

pub(crate) fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .with_context(|| format!("creating {}", dir.display()))
}

pub fn key_path(dir: &Path, purpose: &str) -> PathBuf {
    dir.join(format!("{purpose}.pem"))
}

/// RFC 7638 thumbprint of an Ed25519 OKP JWK (RFC 8037): SHA-256 over the
/// required members in lexicographic order, base64url without padding.
pub fn jwk_thumbprint(public_key: &[u8; 32]) -> String {
    let x = URL_SAFE_NO_PAD.encode(public_key);
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

#[cfg(unix)]
fn check_permissions(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = fs::metadata(path)
        .with_context(|| format!("reading key file {}", path.display()))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        bail!(
            "key file {} is readable by others (mode {:o}); run chmod 600 on it",
            path.display(),
            mode & 0o777
        );
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_permissions(_: &Path) -> anyhow::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8037 appendix A.3: the thumbprint of the example Ed25519 key.
    #[test]
    fn thumbprint_matches_rfc8037_example() {
        let vector: serde_json::Value = serde_json::from_str(include_str!(
            "../../../tests/vectors/jose-rfc8037/rfc8037-ed25519-example.json"
        ))
        .unwrap();
        let x = vector["public_jwk"]["x"].as_str().unwrap();
        let bytes: [u8; 32] = URL_SAFE_NO_PAD.decode(x).unwrap().try_into().unwrap();
        assert_eq!(
            jwk_thumbprint(&bytes),
            vector["thumbprint_b64url"].as_str().unwrap()
        );
    }

    #[test]
    fn created_key_is_private_and_reloads() {
        let dir = tempfile::tempdir().unwrap();
        let a = KeyPair::load_or_create(dir.path(), "token").unwrap();
        let b = KeyPair::load_or_create(dir.path(), "token").unwrap();
        assert_eq!(a.kid(), b.kid());
        assert!(!format!("{a:?}").contains("signing"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(key_path(dir.path(), "token"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
            fs::set_permissions(
                key_path(dir.path(), "token"),
                fs::Permissions::from_mode(0o644),
            )
            .unwrap();
            assert!(KeyPair::load_or_create(dir.path(), "token").is_err());
        }
    }
}
