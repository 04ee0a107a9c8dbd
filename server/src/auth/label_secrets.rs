//! Label secrets: the symmetric keys of verification codes (docs/labels.md).
//! Never published, never logged; `Debug` shows only the key id.
//!
//! Layout in the key directory (0700; every file 0600):
//!
//! ```text
//! labels/{kid}.secret    one secret: 32 random bytes, base64url, one line
//! labels/current         the kid labels are printed with now
//! ```
//!
//! Every secret stays: a label printed with one keeps verifying after a
//! rotation (rotating applies to labels printed afterwards). A rotation
//! writes and syncs the new secret first, then replaces `current` by
//! renaming a synced temporary file over it: a crash leaves either the old
//! or the new secret current, never none.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use super::keys::{create_private_dir, write_private};

/// One label secret.
pub struct LabelSecret {
    kid: String,
    bytes: [u8; 32],
}

impl std::fmt::Debug for LabelSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LabelSecret")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl LabelSecret {
    fn from_bytes(bytes: [u8; 32]) -> Self {
        // The id names the secret without revealing it: a hash of a
        // 256-bit random value, domain-separated.
        let mut h = Sha256::new();
        h.update(b"provenance-portal label secret id\0");
        h.update(bytes);
        let kid = URL_SAFE_NO_PAD.encode(&h.finalize()[..12]);
        Self { kid, bytes }
    }

    fn generate() -> anyhow::Result<Self> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no OS randomness: {e}"))?;
        Ok(Self::from_bytes(bytes))
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn bytes(&self) -> &[u8; 32] {
        &self.bytes
    }
}

/// Every label secret, and which one is current.
#[derive(Debug)]
pub struct LabelSecrets {
    current: String,
    all: HashMap<String, LabelSecret>,
}

fn dir_of(keys_dir: &Path) -> PathBuf {
    keys_dir.join("labels")
}

impl LabelSecrets {
    /// Loads the secrets, creating the first one when there is none.
    pub fn load_or_create(keys_dir: &Path) -> anyhow::Result<Self> {
        let dir = dir_of(keys_dir);
        if !dir.join("current").exists() {
            create_private_dir(&dir)?;
            let secret = LabelSecret::generate()?;
            write_secret(&dir, &secret)?;
            set_current(&dir, secret.kid())?;
            tracing::info!(kid = %secret.kid, "generated a new label secret");
        }
        Self::load(keys_dir)
    }

    /// Loads the secrets; fails when there is none.
    pub fn load(keys_dir: &Path) -> anyhow::Result<Self> {
        let dir = dir_of(keys_dir);
        let current_path = dir.join("current");
        let current = fs::read_to_string(&current_path)
            .with_context(|| format!("reading {}", current_path.display()))?
            .trim()
            .to_owned();
        let mut all = HashMap::new();
        for entry in fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
            let path = entry?.path();
            if path.extension().and_then(|e| e.to_str()) != Some("secret") {
                continue;
            }
            // One bad file (a crash mid-rotation, a wrong mode) must not
            // keep the server from its keys: only the current secret is
            // required.
            match read_secret(&path) {
                Ok(secret) => {
                    all.insert(secret.kid.clone(), secret);
                }
                Err(e) => tracing::error!(error = %e, "a label secret is left out"),
            }
        }
        if !all.contains_key(&current) {
            bail!(
                "the current label secret {current:?} is missing from {}",
                dir.display()
            );
        }
        Ok(Self { current, all })
    }

    /// The secret labels are printed with now.
    pub fn current(&self) -> &LabelSecret {
        &self.all[&self.current]
    }

    /// Every secret's id but the current one's, sorted.
    pub fn earlier(&self) -> Vec<&str> {
        let mut kids: Vec<&str> = self
            .all
            .keys()
            .map(String::as_str)
            .filter(|k| *k != self.current)
            .collect();
        kids.sort_unstable();
        kids
    }

    /// The secret a label was printed with.
    pub fn get(&self, kid: &str) -> Option<&LabelSecret> {
        self.all.get(kid)
    }
}

/// Makes a new label secret current; returns (old kid, new kid). Labels
/// printed before keep verifying with the old one.
pub fn rotate(keys_dir: &Path) -> anyhow::Result<(String, String)> {
    let old = LabelSecrets::load_or_create(keys_dir)?;
    let dir = dir_of(keys_dir);
    let secret = LabelSecret::generate()?;
    write_secret(&dir, &secret)?;
    set_current(&dir, secret.kid())?;
    Ok((old.current, secret.kid.clone()))
}

fn write_new(path: &Path, text: &str) -> anyhow::Result<()> {
    write_private(path, text.as_bytes())
}

/// Written beside its place and renamed into it, so that a crash never
/// leaves a partial secret file.
fn write_secret(dir: &Path, secret: &LabelSecret) -> anyhow::Result<()> {
    let tmp = dir.join(format!("{}.{}.tmp", secret.kid, std::process::id()));
    let _ = fs::remove_file(&tmp);
    write_new(&tmp, &format!("{}\n", URL_SAFE_NO_PAD.encode(secret.bytes)))?;
    fs::rename(&tmp, dir.join(format!("{}.secret", secret.kid)))
        .context("storing the new label secret")?;
    sync_dir(dir);
    Ok(())
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

fn set_current(dir: &Path, kid: &str) -> anyhow::Result<()> {
    let tmp = dir.join(format!("current.{}.tmp", std::process::id()));
    let _ = fs::remove_file(&tmp);
    write_new(&tmp, &format!("{kid}\n"))?;
    fs::rename(&tmp, dir.join("current"))
        .with_context(|| format!("making {kid} the current label secret"))?;
    sync_dir(dir);
    Ok(())
}

fn read_secret(path: &Path) -> anyhow::Result<LabelSecret> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(path)?.permissions().mode();
        if mode & 0o077 != 0 {
            bail!(
                "label secret {} is readable by others (mode {:o}); run chmod 600 on it",
                path.display(),
                mode & 0o777
            );
        }
    }
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    // A decoding error could quote the secret: say only which file failed.
    let bytes: [u8; 32] = URL_SAFE_NO_PAD
        .decode(text.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| anyhow::anyhow!("{} is not a label secret", path.display()))?;
    let secret = LabelSecret::from_bytes(bytes);
    let named = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    if named != secret.kid {
        bail!(
            "{} does not hold the secret it is named after",
            path.display()
        );
    }
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A broken secret file that is not the current one (say, left by a
    /// crash) is left out; the rest load.
    #[test]
    fn a_bad_earlier_file_does_not_stop_loading() {
        let dir = tempfile::tempdir().unwrap();
        let first = LabelSecrets::load_or_create(dir.path()).unwrap();
        let bad = dir.path().join("labels").join("broken.secret");
        write_new(&bad, "not a secret\n").unwrap();
        let loaded = LabelSecrets::load(dir.path()).unwrap();
        assert_eq!(loaded.current().kid(), first.current().kid());
        assert!(loaded.get("broken").is_none());
    }

    #[test]
    fn created_rotated_and_all_kept() {
        let dir = tempfile::tempdir().unwrap();
        let first = LabelSecrets::load_or_create(dir.path()).unwrap();
        let kid = first.current().kid().to_owned();
        assert_eq!(
            LabelSecrets::load_or_create(dir.path())
                .unwrap()
                .current()
                .kid(),
            kid,
            "loading again keeps it"
        );
        let (old, new) = rotate(dir.path()).unwrap();
        assert_eq!(old, kid);
        let after = LabelSecrets::load(dir.path()).unwrap();
        assert_eq!(after.current().kid(), new);
        assert_eq!(
            after.get(&kid).unwrap().bytes(),
            first.current().bytes(),
            "the old secret still verifies"
        );
        // Debug never shows the bytes.
        let shown = format!("{after:?}");
        assert!(!shown.contains(&URL_SAFE_NO_PAD.encode(first.current().bytes())));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let path = dir.path().join("labels").join(format!("{new}.secret"));
            assert_eq!(
                fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
    }
}
