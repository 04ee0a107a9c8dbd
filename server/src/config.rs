//! Settings, layered: built-in defaults, then a TOML file (`--config`, else
//! `provenance.toml` in the data directory when present), then `PROVENANCE_…`
//! environment variables, then command-line flags.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Deserialize;

use crate::auth::issuers::IssuerConfig;

pub const DEFAULT_BASE_URL: &str = "http://localhost:8080";
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
pub const DEFAULT_DATA_DIR: &str = "./data";
pub const CONFIG_FILE_NAME: &str = "provenance.toml";

/// A setting that may hold a secret (a database URL with its password):
/// `Debug` does not show it; [`Secret::expose`] hands it to the one place
/// that needs it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Self(s)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Self)
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

/// The settings every command runs with.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Public base URL, without a trailing slash: the JWT issuer, the host of
    /// Digital Link URIs and of the log origin.
    pub public_base_url: String,
    /// Address the HTTP server binds to.
    pub bind: String,
    /// `sqlite://…` or `postgres://…`, which may hold a password.
    pub database_url: Secret,
    /// Keys, the embedded database and `provenance.toml` live here.
    pub data_dir: PathBuf,
    /// The signing keys (default: `DATA_DIR/keys`).
    pub keys_dir: PathBuf,
    /// How long after a log-key rotation checkpoints carry the retired
    /// key's signature beside the new one.
    pub log_key_overlap: Duration,
    /// The longest a token of the portal's own may live: refused at issue
    /// and at validation; a retired token key's tokens are accepted only
    /// while they could have been issued before it retired.
    pub max_token_lifetime: Duration,
    /// External token issuers (`[[issuers]]` in the settings file).
    pub issuers: Vec<IssuerConfig>,
    /// Ids per `IN (…)` list sent to the database
    /// ([`crate::store::DEFAULT_LIST_CHUNK`]; tests make it small to
    /// exercise the chunking).
    pub list_chunk: usize,
    /// The most the caches of decided views (device histories) hold, in
    /// bytes of their values' estimated size; 0 turns them off.
    pub view_cache_bytes: usize,
    /// The most the cache of rendered public pages holds, in bytes; 0 turns
    /// it off.
    pub page_cache_bytes: usize,
    /// The clone check: a unit scanned with its code from more distinct
    /// networks than this within `clone_window` raises an alert.
    pub clone_networks: usize,
    pub clone_window: Duration,
    /// Proxies whose `X-Forwarded-For` (and `X-Client-Country`) are
    /// believed; every other peer is the client itself.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Serves `/_bench/baseline` (bench/pages.sh's same-size body from
    /// memory). Off unless set.
    pub bench_endpoints: bool,
    /// How often counted scans are written (not a file or environment
    /// setting: tests that count on their own turn it down).
    pub scan_flush_every: Duration,
}

/// Default of [`Settings::page_cache_bytes`]: 64 MiB.
pub const DEFAULT_PAGE_CACHE_BYTES: usize = 64 << 20;
/// The most [`Settings::clone_networks`] may be (the networks kept per
/// unit in memory).
pub const MAX_CLONE_NETWORKS: usize = 64;

/// Default of [`Settings::clone_networks`].
pub const DEFAULT_CLONE_NETWORKS: usize = 5;
/// Default of [`Settings::clone_window`].
pub const DEFAULT_CLONE_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// Default of [`Settings::view_cache_bytes`]: 64 MiB.
pub const DEFAULT_VIEW_CACHE_BYTES: usize = 64 << 20;

/// Default of [`Settings::log_key_overlap`].
pub const DEFAULT_LOG_KEY_OVERLAP: Duration = Duration::from_secs(24 * 3600);
/// Default of [`Settings::max_token_lifetime`].
pub const DEFAULT_MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// One layer of settings; unset fields leave the layer below in force.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Overrides {
    pub public_base_url: Option<String>,
    pub bind: Option<String>,
    pub database_url: Option<Secret>,
    pub data_dir: Option<PathBuf>,
    pub keys_dir: Option<PathBuf>,
    /// e.g. `24h`
    pub log_key_overlap: Option<String>,
    /// e.g. `8h`
    pub max_token_lifetime: Option<String>,
    /// Only from the settings file.
    pub issuers: Option<Vec<IssuerConfig>>,
    /// e.g. `64MiB`, `512KiB`, `0` (off)
    pub view_cache_size: Option<String>,
    /// e.g. `64MiB`, `0` (off)
    pub page_cache_size: Option<String>,
    pub clone_networks: Option<usize>,
    /// e.g. `24h`
    pub clone_window: Option<String>,
    /// Addresses or networks, e.g. `["10.0.0.0/8", "192.0.2.7"]`; in the
    /// environment, separated by commas.
    pub trusted_proxies: Option<Vec<String>>,
    pub bench_endpoints: Option<bool>,
}

impl Overrides {
    fn over(self, below: Overrides) -> Overrides {
        Overrides {
            public_base_url: self.public_base_url.or(below.public_base_url),
            bind: self.bind.or(below.bind),
            database_url: self.database_url.or(below.database_url),
            data_dir: self.data_dir.or(below.data_dir),
            keys_dir: self.keys_dir.or(below.keys_dir),
            log_key_overlap: self.log_key_overlap.or(below.log_key_overlap),
            max_token_lifetime: self.max_token_lifetime.or(below.max_token_lifetime),
            issuers: self.issuers.or(below.issuers),
            view_cache_size: self.view_cache_size.or(below.view_cache_size),
            page_cache_size: self.page_cache_size.or(below.page_cache_size),
            clone_networks: self.clone_networks.or(below.clone_networks),
            clone_window: self.clone_window.or(below.clone_window),
            trusted_proxies: self.trusted_proxies.or(below.trusted_proxies),
            bench_endpoints: self.bench_endpoints.or(below.bench_endpoints),
        }
    }

    /// The `PROVENANCE_…` variables of the given environment.
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Overrides {
        let non_empty = |k: &str| get(k).filter(|v| !v.is_empty());
        Overrides {
            public_base_url: non_empty("PROVENANCE_PUBLIC_BASE_URL"),
            bind: non_empty("PROVENANCE_BIND"),
            database_url: non_empty("PROVENANCE_DATABASE_URL").map(Secret::from),
            data_dir: non_empty("PROVENANCE_DATA_DIR").map(PathBuf::from),
            keys_dir: non_empty("PROVENANCE_KEYS_DIR").map(PathBuf::from),
            log_key_overlap: non_empty("PROVENANCE_LOG_KEY_OVERLAP"),
            max_token_lifetime: non_empty("PROVENANCE_MAX_TOKEN_LIFETIME"),
            issuers: None,
            view_cache_size: non_empty("PROVENANCE_VIEW_CACHE_SIZE"),
            page_cache_size: non_empty("PROVENANCE_PAGE_CACHE_SIZE"),
            clone_networks: non_empty("PROVENANCE_CLONE_NETWORKS").and_then(|v| v.parse().ok()),
            clone_window: non_empty("PROVENANCE_CLONE_WINDOW"),
            trusted_proxies: non_empty("PROVENANCE_TRUSTED_PROXIES").map(|v| {
                v.split(',')
                    .map(|p| p.trim().to_owned())
                    .filter(|p| !p.is_empty())
                    .collect()
            }),
            bench_endpoints: non_empty("PROVENANCE_BENCH_ENDPOINTS")
                .map(|v| v == "1" || v == "true"),
        }
    }
}

/// Resolves the layers. `flags` are the command line's; `config_file` is
/// `--config` (or `PROVENANCE_CONFIG`).
pub fn load(
    flags: Overrides,
    config_file: Option<&Path>,
    env: impl Fn(&str) -> Option<String>,
) -> anyhow::Result<Settings> {
    let env = Overrides::from_env(env);
    // The data directory decides where the default config file is, so it
    // cannot itself come from that file.
    let data_dir = flags
        .data_dir
        .clone()
        .or(env.data_dir.clone())
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
    let file = match config_file {
        Some(path) => read_file(path)?,
        None => {
            let path = data_dir.join(CONFIG_FILE_NAME);
            if path.is_file() {
                read_file(&path)?
            } else {
                Overrides::default()
            }
        }
    };
    let merged = flags.over(env.over(file));
    let data_dir = merged.data_dir.unwrap_or(data_dir);
    // Without a public base URL, the portal is where it listens: the
    // default's port follows `bind` (so `serve --bind 127.0.0.1:9000`
    // prints, signs and links URLs on port 9000).
    let default_base = merged
        .bind
        .as_deref()
        .and_then(|b| b.rsplit_once(':'))
        .and_then(|(host, port)| Some((host, port.parse::<u16>().ok()?)))
        .filter(|(_, port)| *port != 0)
        .map_or_else(
            || DEFAULT_BASE_URL.to_owned(),
            |(host, port)| {
                let host = match host {
                    "" | "0.0.0.0" | "127.0.0.1" | "[::]" | "[::1]" | "localhost" => "localhost",
                    other => other,
                };
                format!("http://{host}:{port}")
            },
        );
    let public_base_url =
        normalise_base_url(merged.public_base_url.as_deref().unwrap_or(&default_base))?;
    let database_url = merged
        .database_url
        .unwrap_or_else(|| default_database_url(&data_dir).into());
    let url = database_url.expose();
    if !(url.starts_with("sqlite:")
        || url.starts_with("postgres://")
        || url.starts_with("postgresql://"))
    {
        bail!("database URL must start with sqlite:// or postgres://");
    }
    let log_key_overlap = match merged.log_key_overlap.as_deref() {
        Some(text) => humantime::parse_duration(text)
            .with_context(|| format!("log_key_overlap {text:?} is not a duration like 24h"))?,
        None => DEFAULT_LOG_KEY_OVERLAP,
    };
    let max_token_lifetime = match merged.max_token_lifetime.as_deref() {
        Some(text) => humantime::parse_duration(text)
            .with_context(|| format!("max_token_lifetime {text:?} is not a duration like 24h"))?,
        None => DEFAULT_MAX_TOKEN_LIFETIME,
    };
    if max_token_lifetime < Duration::from_secs(60)
        || max_token_lifetime > Duration::from_secs(30 * 24 * 3600)
    {
        bail!("max_token_lifetime must be between a minute and 30 days");
    }
    Ok(Settings {
        public_base_url,
        bind: merged.bind.unwrap_or_else(|| DEFAULT_BIND.to_owned()),
        database_url,
        keys_dir: merged.keys_dir.unwrap_or_else(|| data_dir.join("keys")),
        data_dir,
        log_key_overlap,
        max_token_lifetime,
        issuers: merged.issuers.unwrap_or_default(),
        list_chunk: crate::store::DEFAULT_LIST_CHUNK,
        view_cache_bytes: match merged.view_cache_size.as_deref() {
            Some(text) => parse_size(text).with_context(|| {
                format!("view_cache_size {text:?} is not a size like 64MiB, 512KiB or 0")
            })?,
            None => DEFAULT_VIEW_CACHE_BYTES,
        },
        page_cache_bytes: match merged.page_cache_size.as_deref() {
            Some(text) => parse_size(text).with_context(|| {
                format!("page_cache_size {text:?} is not a size like 64MiB, 512KiB or 0")
            })?,
            None => DEFAULT_PAGE_CACHE_BYTES,
        },
        clone_networks: match merged.clone_networks.unwrap_or(DEFAULT_CLONE_NETWORKS) {
            n @ 1..=MAX_CLONE_NETWORKS => n,
            n => bail!("clone_networks must be between 1 and {MAX_CLONE_NETWORKS}, got {n}"),
        },
        clone_window: match merged.clone_window.as_deref() {
            Some(text) => humantime::parse_duration(text)
                .with_context(|| format!("clone_window {text:?} is not a duration like 24h"))?,
            None => DEFAULT_CLONE_WINDOW,
        },
        trusted_proxies: merged
            .trusted_proxies
            .unwrap_or_default()
            .iter()
            .map(|p| {
                p.parse::<ipnet::IpNet>()
                    .or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .with_context(|| {
                        format!(
                            "trusted_proxies: {p:?} is not an address or a network like 10.0.0.0/8"
                        )
                    })
            })
            .collect::<anyhow::Result<Vec<_>>>()?,
        bench_endpoints: merged.bench_endpoints.unwrap_or(false),
        scan_flush_every: crate::services::pages::scans::FLUSH_EVERY,
    })
}

/// `N`, `NKiB`, `NMiB` or `NGiB` as bytes (at most 64 GiB).
fn parse_size(text: &str) -> anyhow::Result<usize> {
    let text = text.trim();
    let (digits, shift) = [("GiB", 30), ("MiB", 20), ("KiB", 10)]
        .iter()
        .find_map(|(unit, shift)| text.strip_suffix(unit).map(|d| (d.trim(), *shift)))
        .unwrap_or((text, 0));
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        bail!("not a number of bytes");
    }
    let n: u64 = digits.parse()?;
    let bytes = n
        .checked_shl(shift)
        .filter(|b| *b >> shift == n && *b <= 64 << 30)
        .ok_or_else(|| anyhow::anyhow!("more than 64GiB"))?;
    Ok(usize::try_from(bytes)?)
}

fn read_file(path: &Path) -> anyhow::Result<Overrides> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading config file {}", path.display()))?;
    // The parser's own message quotes the offending line, which may hold
    // the database URL: say where, not what.
    toml::from_str(&text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].lines().count().max(1));
        anyhow::anyhow!(
            "parsing config file {}: {}{}",
            path.display(),
            e.message(),
            line.map(|l| format!(" (line {l})")).unwrap_or_default()
        )
    })
}

/// The embedded database: a SQLite file in the data directory, created on
/// first use.
pub fn default_database_url(data_dir: &Path) -> String {
    format!(
        "sqlite://{}?mode=rwc",
        data_dir.join("provenance.db").display()
    )
}

fn normalise_base_url(url: &str) -> anyhow::Result<String> {
    let trimmed = url.trim_end_matches('/');
    let rest = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !host.contains(['?', '#', ' ']) => Ok(trimmed.to_owned()),
        _ => bail!("public base URL must be http(s)://host[:port][/path], got {url:?}"),
    }
}

impl Settings {
    /// Every default, over this database with files under `dir`, bound to
    /// any free port of 127.0.0.1 (tests and benchmarks).
    pub fn with_defaults(dir: &Path, database_url: &str) -> Settings {
        Settings {
            public_base_url: DEFAULT_BASE_URL.to_owned(),
            bind: "127.0.0.1:0".to_owned(),
            database_url: database_url.into(),
            data_dir: dir.to_owned(),
            keys_dir: dir.join("keys"),
            log_key_overlap: DEFAULT_LOG_KEY_OVERLAP,
            max_token_lifetime: DEFAULT_MAX_TOKEN_LIFETIME,
            issuers: Vec::new(),
            list_chunk: crate::store::DEFAULT_LIST_CHUNK,
            view_cache_bytes: DEFAULT_VIEW_CACHE_BYTES,
            page_cache_bytes: DEFAULT_PAGE_CACHE_BYTES,
            clone_networks: DEFAULT_CLONE_NETWORKS,
            clone_window: DEFAULT_CLONE_WINDOW,
            trusted_proxies: Vec::new(),
            bench_endpoints: false,
            scan_flush_every: crate::services::pages::scans::FLUSH_EVERY,
        }
    }

    /// `host[:port][/path]`: the base URL without its scheme.
    pub fn public_host(&self) -> &str {
        self.public_base_url
            .split_once("://")
            .map_or(self.public_base_url.as_str(), |(_, rest)| rest)
    }

    pub fn is_sqlite(&self) -> bool {
        self.database_url.expose().starts_with("sqlite:")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_or_are_refused() {
        assert_eq!(parse_size("0").unwrap(), 0);
        assert_eq!(parse_size("64MiB").unwrap(), 64 << 20);
        assert_eq!(parse_size("512 KiB").unwrap(), 512 << 10);
        assert_eq!(parse_size("1GiB").unwrap(), 1 << 30);
        assert_eq!(parse_size("4096").unwrap(), 4096);
        for bad in [
            "",
            "MiB",
            "-1",
            "1.5MiB",
            "64MB",
            "65GiB",
            "99999999999999999999",
        ] {
            assert!(parse_size(bad).is_err(), "{bad:?}");
        }
    }

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn the_default_base_url_follows_the_bind_port() {
        let dir = tempfile::tempdir().unwrap();
        let with_bind = |bind: &str, base: Option<&str>| {
            let flags = Overrides {
                data_dir: Some(dir.path().to_owned()),
                bind: Some(bind.into()),
                public_base_url: base.map(str::to_owned),
                ..Default::default()
            };
            load(flags, None, env_of(&[])).unwrap().public_base_url
        };
        assert_eq!(with_bind("127.0.0.1:9000", None), "http://localhost:9000");
        assert_eq!(with_bind("0.0.0.0:9001", None), "http://localhost:9001");
        assert_eq!(with_bind("10.1.2.3:9002", None), "http://10.1.2.3:9002");
        assert_eq!(with_bind("127.0.0.1:0", None), DEFAULT_BASE_URL);
        assert_eq!(
            with_bind("127.0.0.1:9000", Some("https://p.example")),
            "https://p.example"
        );
    }

    #[test]
    fn defaults_apply_without_any_layer() {
        let dir = tempfile::tempdir().unwrap();
        let flags = Overrides {
            data_dir: Some(dir.path().to_owned()),
            ..Default::default()
        };
        let s = load(flags, None, env_of(&[])).unwrap();
        assert_eq!(s.public_base_url, DEFAULT_BASE_URL);
        assert_eq!(s.bind, DEFAULT_BIND);
        assert!(s.database_url.expose().starts_with("sqlite://"));
        assert!(s.database_url.expose().ends_with("provenance.db?mode=rwc"));
        assert_eq!(s.public_host(), "localhost:8080");
    }

    #[test]
    fn file_then_env_then_flags() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(CONFIG_FILE_NAME),
            "public_base_url = \"https://file.example/\"\nbind = \"0.0.0.0:1\"\ndatabase_url = \"sqlite://file.db\"\n",
        )
        .unwrap();
        let flags = Overrides {
            data_dir: Some(dir.path().to_owned()),
            bind: Some("127.0.0.1:3".into()),
            ..Default::default()
        };
        let s = load(
            flags,
            None,
            env_of(&[
                ("PROVENANCE_BIND", "127.0.0.1:2"),
                ("PROVENANCE_DATABASE_URL", "sqlite://env.db"),
            ]),
        )
        .unwrap();
        assert_eq!(s.public_base_url, "https://file.example");
        assert_eq!(s.database_url.expose(), "sqlite://env.db");
        assert_eq!(s.bind, "127.0.0.1:3");
    }

    #[test]
    fn explicit_config_file_and_bad_values_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("other.toml");
        std::fs::write(&file, "unknown_key = 1\n").unwrap();
        let err = load(Overrides::default(), Some(&file), env_of(&[])).unwrap_err();
        assert!(format!("{err:#}").contains("unknown field"), "{err:#}");
        let err = load(
            Overrides {
                data_dir: Some(dir.path().to_owned()),
                public_base_url: Some("ftp://x".into()),
                ..Default::default()
            },
            None,
            env_of(&[]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("public base URL"));
        let err = load(
            Overrides {
                data_dir: Some(dir.path().to_owned()),
                database_url: Some("mysql://x".into()),
                ..Default::default()
            },
            None,
            env_of(&[]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("database URL"));
    }

    #[test]
    fn the_database_url_stays_out_of_debug_output() {
        let dir = tempfile::tempdir().unwrap();
        let url = "postgres://portal:hunter2@db.example/portal";
        let flags = Overrides {
            data_dir: Some(dir.path().to_owned()),
            database_url: Some(url.into()),
            ..Default::default()
        };
        assert!(!format!("{flags:?}").contains("hunter2"));
        let s = load(flags, None, env_of(&[])).unwrap();
        assert_eq!(s.database_url.expose(), url);
        let shown = format!("{s:?} {s:#?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("[redacted]"));
        // A config file that does not parse is reported by line, without
        // quoting it.
        let file = dir.path().join("portal.toml");
        std::fs::write(
            &file,
            "bind = \"127.0.0.1:0\"\ndatabase_url = \"postgres://portal:hunter2@db\" x\n",
        )
        .unwrap();
        let e = format!("{:#}", read_file(&file).unwrap_err());
        assert!(!e.contains("hunter2"), "{e}");
        assert!(e.contains("line 2"), "{e}");
    }
}
