//! The portal's keys by purpose, current and retired, on disk.
//!
//! Layout in the key directory (0700; every file 0600):
//!
//! ```text
//! {purpose}.pem                                  the current key
//! retired/{purpose}/{unix ms}-{kid}.pem     a retired key, by retirement time
//! ```
//!
//! Rotation never leaves a moment without a current key, and a failed one
//! changes nothing: the new key is written beside the current one and
//! synced first, then the old key is linked into `retired/`, then the new
//! key is renamed over `{purpose}.pem` (a failure of the rename undoes the
//! link). A crash between the link and the rename leaves the current key
//! also in `retired/`; the current key is never counted as retired, so
//! nothing breaks. One rotation per purpose at a time
//! (`{purpose}.rotating`, created exclusively). A running server notices
//! the change by [`fingerprint`] and reloads.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};

use super::keys::{KeyPair, create_private_dir, key_path};

/// What a key signs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// Checkpoints of the public log (C2SP signed notes).
    Log,
    /// Certificates (verifiable credentials).
    Credential,
    /// Bearer JWTs.
    Token,
}

impl Purpose {
    pub const ALL: [Purpose; 3] = [Purpose::Log, Purpose::Credential, Purpose::Token];

    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Log => "log",
            Purpose::Credential => "credential",
            Purpose::Token => "token",
        }
    }
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Purpose {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Purpose::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| format!("unknown key purpose {s:?}: expected log, credential or token"))
    }
}

/// A key that signed in the past and still verifies.
#[derive(Debug)]
pub struct Retired {
    pub key: KeyPair,
    pub retired_at: SystemTime,
}

/// One purpose's keys: the current one and the retired ones, newest first.
#[derive(Debug)]
pub struct Keyring {
    pub purpose: Purpose,
    pub current: KeyPair,
    pub retired: Vec<Retired>,
}

impl Keyring {
    /// Loads the purpose's keys, creating the current key when absent.
    pub fn load_or_create(dir: &Path, purpose: Purpose) -> anyhow::Result<Self> {
        let current = KeyPair::load_or_create(dir, purpose.as_str())?;
        let retired = load_retired(dir, purpose, current.kid())?;
        Ok(Self {
            purpose,
            current,
            retired,
        })
    }

    /// Loads the purpose's keys; fails when there is no current key.
    pub fn load(dir: &Path, purpose: Purpose) -> anyhow::Result<Self> {
        let path = key_path(dir, purpose.as_str());
        if !path.exists() {
            bail!(
                "no {purpose} key in {} (the server creates it on first start)",
                dir.display()
            );
        }
        let current = KeyPair::load(&path)?;
        let retired = load_retired(dir, purpose, current.kid())?;
        Ok(Self {
            purpose,
            current,
            retired,
        })
    }

    /// Every key, current first.
    pub fn all(&self) -> impl Iterator<Item = &KeyPair> {
        std::iter::once(&self.current).chain(self.retired.iter().map(|r| &r.key))
    }

    /// Retired keys retired less than `window` ago, newest first.
    pub fn retired_within(&self, window: Duration) -> impl Iterator<Item = &KeyPair> {
        let now = SystemTime::now();
        self.retired
            .iter()
            .filter(move |r| {
                now.duration_since(r.retired_at)
                    .map_or(true, |age| age < window)
            })
            .map(|r| &r.key)
    }
}

/// Retires the purpose's current key and makes a new one current; returns
/// (old kid, new kid).
pub fn rotate(dir: &Path, purpose: Purpose) -> anyhow::Result<(String, String)> {
    let lock_path = dir.join(format!("{}.rotating", purpose.as_str()));
    let _lock = RotationLock::take(&lock_path, purpose)?;
    // Read under the lock: the key retired is the one current now.
    let old = Keyring::load_or_create(dir, purpose)?.current;
    let retired_dir = retired_dir(dir, purpose);
    create_private_dir(&dir.join("retired"))?;
    create_private_dir(&retired_dir)?;
    // The new key first, written and synced beside the current one: if
    // this fails, nothing has changed.
    let new = KeyPair::generate()?;
    let staging = dir.join(format!("{}.pem.new", purpose.as_str()));
    let _ = fs::remove_file(&staging);
    new.write_new(&staging)
        .with_context(|| format!("writing the new {purpose} key"))?;
    sync_dir(dir);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .context("the clock is before 1970")?
        .as_millis();
    let current = key_path(dir, purpose.as_str());
    let retired = retired_dir.join(format!("{now}-{}.pem", old.kid()));
    if fs::hard_link(&current, &retired).is_err()
        && let Err(e) = fs::copy(&current, &retired)
    {
        let _ = fs::remove_file(&staging);
        return Err(e)
            .with_context(|| format!("retiring the {purpose} key to {}", retired.display()));
    }
    sync_dir(&retired_dir);
    if let Err(e) = fs::rename(&staging, &current) {
        let _ = fs::remove_file(&retired);
        let _ = fs::remove_file(&staging);
        sync_dir(&retired_dir);
        return Err(e).with_context(|| format!("installing the new {purpose} key"));
    }
    sync_dir(dir);
    tracing::info!(%purpose, old = old.kid(), new = new.kid(), "rotated a signing key");
    Ok((old.kid().to_owned(), new.kid().to_owned()))
}

/// Drops a compromised key of `purpose` at once: its files are deleted,
/// so it is neither published nor accepted; a current key is rotated
/// first. Returns the kid that is current afterwards. Log keys are not
/// revoked (every checkpoint they signed would stop verifying): rotate,
/// and publish the incident.
pub fn revoke(dir: &Path, purpose: Purpose, kid: &str) -> anyhow::Result<String> {
    if purpose == Purpose::Log {
        bail!(
            "log keys are not revoked: rotate the log key and publish the incident (docs/ledger-format.md, \"Keys\")"
        );
    }
    let ring = Keyring::load(dir, purpose)?;
    let mut current = ring.current.kid().to_owned();
    if current == kid {
        current = rotate(dir, purpose)?.1;
    } else if !ring.retired.iter().any(|r| r.key.kid() == kid) {
        bail!("no {purpose} key {kid}");
    }
    let retired_dir = retired_dir(dir, purpose);
    for entry in
        fs::read_dir(&retired_dir).with_context(|| format!("reading {}", retired_dir.display()))?
    {
        let path = entry?.path();
        // By the key the file holds, not by its name.
        let holds = path.extension().is_some_and(|e| e == "pem")
            && KeyPair::load(&path).is_ok_and(|k| k.kid() == kid);
        if holds {
            fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
        }
    }
    sync_dir(&retired_dir);
    tracing::warn!(%purpose, kid, "revoked a signing key");
    Ok(current)
}

/// `{purpose}.rotating`, created exclusively for one rotation and removed
/// after it.
struct RotationLock(PathBuf);

impl RotationLock {
    fn take(path: &Path, purpose: Purpose) -> anyhow::Result<Self> {
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .with_context(|| {
                format!(
                    "another {purpose} key rotation is under way (if one crashed, remove {})",
                    path.display()
                )
            })?;
        Ok(Self(path.to_owned()))
    }
}

impl Drop for RotationLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// Names, sizes and modification times of the key files: changes when a
/// key is created or rotated.
pub fn fingerprint(dir: &Path) -> String {
    let mut entries = Vec::new();
    let mut visit = vec![dir.to_path_buf()];
    while let Some(d) = visit.pop() {
        let Ok(read) = fs::read_dir(&d) else { continue };
        for entry in read.flatten() {
            let path = entry.path();
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                visit.push(path);
            } else if path
                .extension()
                .is_some_and(|e| e == "pem" || e == "secret")
                || path.file_name().is_some_and(|n| n == "current")
            {
                let modified = meta
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_nanos());
                entries.push(format!("{}:{}:{modified}", path.display(), meta.len()));
            }
        }
    }
    entries.sort();
    entries.join("\n")
}

fn retired_dir(dir: &Path, purpose: Purpose) -> PathBuf {
    dir.join("retired").join(purpose.as_str())
}

/// The purpose's retired keys, but never `current` (a rotation that
/// crashed after retiring it and before installing its successor leaves it
/// in both places). A file that is misnamed or cannot be read as a key is
/// skipped with an error in the log, not fatal: one bad file must not keep
/// a running server on its old keys (a revoked key among them); what it
/// held is simply not trusted.
fn load_retired(dir: &Path, purpose: Purpose, current: &str) -> anyhow::Result<Vec<Retired>> {
    let retired_dir = retired_dir(dir, purpose);
    let Ok(read) = fs::read_dir(&retired_dir) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for entry in read {
        let path = entry?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some(stem) = name.strip_suffix(".pem") else {
            continue;
        };
        let Some(millis) = stem
            .split_once('-')
            .and_then(|(t, _)| t.parse::<u64>().ok())
        else {
            tracing::error!(file = %path.display(), "retired key file is not named MILLIS-KID.pem; not trusted");
            continue;
        };
        let key = match KeyPair::load(&path) {
            Ok(k) => k,
            Err(e) => {
                tracing::error!(file = %path.display(), error = %format!("{e:#}"), "retired key file not loaded; not trusted");
                continue;
            }
        };
        if key.kid() == current {
            continue;
        }
        out.push(Retired {
            key,
            retired_at: UNIX_EPOCH + Duration::from_millis(millis),
        });
    }
    out.sort_by_key(|r| std::cmp::Reverse(r.retired_at));
    // A key linked twice (an interrupted rotation, then a real one) was
    // current until the later: keep that.
    let mut seen = std::collections::HashSet::new();
    out.retain(|r| seen.insert(r.key.kid().to_owned()));
    Ok(out)
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_keeps_every_old_key_and_replaces_the_current_one() {
        let dir = tempfile::tempdir().unwrap();
        let first = Keyring::load_or_create(dir.path(), Purpose::Log).unwrap();
        let before = fingerprint(dir.path());
        let (old1, new1) = rotate(dir.path(), Purpose::Log).unwrap();
        assert_eq!(old1, first.current.kid());
        assert_ne!(before, fingerprint(dir.path()));
        let (old2, new2) = rotate(dir.path(), Purpose::Log).unwrap();
        assert_eq!(old2, new1);
        let ring = Keyring::load(dir.path(), Purpose::Log).unwrap();
        assert_eq!(ring.current.kid(), new2);
        let kids: Vec<&str> = ring.all().map(KeyPair::kid).collect();
        assert_eq!(kids.len(), 3);
        assert!(kids.contains(&old1.as_str()) && kids.contains(&old2.as_str()));
        assert_eq!(ring.retired_within(Duration::from_secs(3600)).count(), 2);
        assert_eq!(ring.retired_within(Duration::ZERO).count(), 0);
        // Other purposes are untouched.
        assert!(Keyring::load(dir.path(), Purpose::Token).is_err());
    }

    /// Issue 15: a rotation whose new key cannot be written changes
    /// nothing, and a crash after the old key was linked into `retired/`
    /// does not make the current key count as retired.
    #[test]
    fn a_failed_or_interrupted_rotation_leaves_the_current_key_current() {
        let dir = tempfile::tempdir().unwrap();
        let first = Keyring::load_or_create(dir.path(), Purpose::Token).unwrap();
        // The staging file cannot be written: a directory with a file in
        // it stands where it goes.
        let staging = dir.path().join("token.pem.new");
        fs::create_dir(&staging).unwrap();
        fs::write(staging.join("x"), b"x").unwrap();
        assert!(rotate(dir.path(), Purpose::Token).is_err());
        let ring = Keyring::load(dir.path(), Purpose::Token).unwrap();
        assert_eq!(ring.current.kid(), first.current.kid());
        assert!(ring.retired.is_empty(), "the current key was retired");
        assert!(!dir.path().join("token.rotating").exists());
        fs::remove_dir_all(&staging).unwrap();
        // A crash right after the link: the current key is in retired/ too.
        let retired = dir.path().join("retired").join("token");
        fs::hard_link(
            key_path(dir.path(), "token"),
            retired.join(format!("1-{}.pem", first.current.kid())),
        )
        .unwrap();
        let ring = Keyring::load(dir.path(), Purpose::Token).unwrap();
        assert_eq!(ring.current.kid(), first.current.kid());
        assert!(ring.retired.is_empty(), "the current key counts as retired");
        // A rotation under way keeps out a second.
        fs::write(dir.path().join("token.rotating"), b"").unwrap();
        let e = rotate(dir.path(), Purpose::Token).unwrap_err();
        assert!(format!("{e:#}").contains("under way"), "{e:#}");
        fs::remove_file(dir.path().join("token.rotating")).unwrap();
        let (old, new) = rotate(dir.path(), Purpose::Token).unwrap();
        assert_eq!(old, first.current.kid());
        let ring = Keyring::load(dir.path(), Purpose::Token).unwrap();
        assert_eq!(ring.current.kid(), new);
        assert_eq!(ring.retired.len(), 1);
    }

    /// Review of issue 15: a bad file in `retired/` is skipped, not fatal,
    /// so a reload still drops a revoked key.
    #[test]
    fn a_bad_retired_file_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let first = Keyring::load_or_create(dir.path(), Purpose::Token).unwrap();
        rotate(dir.path(), Purpose::Token).unwrap();
        let retired = dir.path().join("retired").join("token");
        fs::write(retired.join("garbage.pem"), b"not a key").unwrap();
        fs::write(retired.join("123-nokey.pem"), b"not a key either").unwrap();
        let ring = Keyring::load(dir.path(), Purpose::Token).unwrap();
        let kids: Vec<&str> = ring.retired.iter().map(|r| r.key.kid()).collect();
        assert_eq!(kids, [first.current.kid()]);
    }

    #[test]
    fn purposes_parse() {
        assert_eq!("credential".parse::<Purpose>(), Ok(Purpose::Credential));
        assert!("signing".parse::<Purpose>().is_err());
    }
}
