//! The clone check's scan counts (docs/pages.md, "Clone suspicion"):
//! counted in memory per unit and flushed in batches, never written on the
//! request path. Networks are kept only as `HMAC(day key, prefix)` — /24 of
//! an IPv4 address, /48 of an IPv6 one — under a key made at random for
//! each day and never stored, so a stored count cannot be tied back to an
//! address (nor, the next day, to the same network).

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use hmac::{KeyInit, Mac};
use serde_json::json;

use crate::store::pages::ScanRow;

/// How often counts are written.
pub const FLUSH_EVERY: Duration = Duration::from_secs(5);

/// Distinct (unit, network, day) counts held between flushes; scans beyond
/// are counted as dropped, never as memory.
const MAX_PENDING: usize = 100_000;
/// Units whose recent networks are remembered for the window.
const MAX_UNITS: usize = 100_000;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// The clone check's settings.
#[derive(Clone, Copy, Debug)]
pub struct ScanSettings {
    /// More distinct networks than this within `window` raise an alert.
    pub networks: usize,
    pub window: Duration,
}

/// A unit over the limit, found at a flush.
#[derive(Debug)]
pub struct Alarm {
    pub device_id: i64,
    /// The label whose code was scanned.
    pub label_generation: u32,
    pub evidence: serde_json::Value,
}

/// What a flush takes.
#[derive(Debug, Default)]
pub struct Flushed {
    pub rows: Vec<ScanRow>,
    pub alarms: Vec<Alarm>,
}

struct DayKey {
    day: NaiveDate,
    /// HMAC under the day's key, ready to be cloned for each network.
    mac: HmacSha256,
}

#[derive(Default)]
struct Recent {
    /// Networks (under the process key) and when each was first seen.
    networks: Vec<([u8; 16], DateTime<Utc>)>,
    countries: HashSet<String>,
    /// The label generation counted: a reprint starts afresh.
    generation: u32,
    /// An alert was filed for this crossing of the limit.
    alarmed: bool,
}

/// A unit, a day and a network under that day's key.
type PendingKey = (i64, NaiveDate, [u8; 16]);

struct State {
    day: DayKey,
    /// Keys networks in `recent`: made at start, never stored (HMAC under
    /// it, ready to be cloned).
    process_mac: HmacSha256,
    /// Scans by (unit, day, keyed network), with the first country given
    /// for that network (one row per network and day).
    pending: HashMap<PendingKey, (i64, Option<String>)>,
    recent: HashMap<i64, Recent>,
    dropped: u64,
    /// Random, in memory only: the days' keys are derived from it.
    seed: [u8; 32],
}

pub struct ScanCounter {
    settings: ScanSettings,
    state: Mutex<State>,
}

fn random_key() -> anyhow::Result<[u8; 32]> {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|e| anyhow::anyhow!("no OS randomness: {e}"))?;
    Ok(key)
}

/// The day's key: derived from the process's random seed, so it is never
/// stored and a day's networks cannot be matched with another day's.
fn day_key(seed: &[u8; 32], day: NaiveDate) -> [u8; 32] {
    let mut out = [0u8; 32];
    let Ok(mut mac) = <HmacSha256 as KeyInit>::new_from_slice(seed) else {
        return out;
    };
    mac.update(b"day ");
    mac.update(day.format("%Y-%m-%d").to_string().as_bytes());
    out.copy_from_slice(&mac.finalize().into_bytes());
    out
}

/// The network an address is counted as: its /24 (IPv4) or /48 (IPv6).
pub fn prefix(addr: IpAddr) -> Vec<u8> {
    match addr {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            vec![4, o[0], o[1], o[2]]
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => prefix(IpAddr::V4(v4)),
            None => {
                let mut out = vec![6];
                out.extend_from_slice(&v6.octets()[..6]);
                out
            }
        },
    }
}

/// HMAC under `key`. It takes a key of any length; were one ever refused,
/// the zero key keeps counting (networks stay apart, none is stored).
fn mac_of(key: &[u8; 32]) -> HmacSha256 {
    <HmacSha256 as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| <HmacSha256 as KeyInit>::new(&Default::default()))
}

fn keyed(mac: &HmacSha256, network: &[u8]) -> [u8; 16] {
    let mut out = [0u8; 16];
    let mut mac = mac.clone();
    mac.update(network);
    let full = mac.finalize().into_bytes();
    out.copy_from_slice(&full[..16]);
    out
}

impl ScanCounter {
    pub fn new(settings: ScanSettings) -> anyhow::Result<ScanCounter> {
        let seed = random_key()?;
        let today = Utc::now().date_naive();
        Ok(ScanCounter {
            settings,
            state: Mutex::new(State {
                day: DayKey {
                    day: today,
                    mac: mac_of(&day_key(&seed, today)),
                },
                process_mac: mac_of(&random_key()?),
                seed,
                pending: HashMap::new(),
                recent: HashMap::new(),
                dropped: 0,
            }),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts one scan with the code.
    pub fn record(
        &self,
        device_id: i64,
        label_generation: u32,
        client: IpAddr,
        country: Option<&str>,
        now: DateTime<Utc>,
    ) {
        let network = prefix(client);
        let country = country
            .filter(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()))
            .map(|c| c.to_ascii_uppercase());
        let mut state = self.lock();
        if state.day.day != now.date_naive() {
            // Yesterday's key is forgotten with the day.
            state.day = DayKey {
                day: now.date_naive(),
                mac: mac_of(&day_key(&state.seed, now.date_naive())),
            };
        }
        let day = state.day.day;
        let daily = keyed(&state.day.mac, &network);
        let pending_key = (device_id, day, daily);
        if let Some((n, first)) = state.pending.get_mut(&pending_key) {
            *n += 1;
            if first.is_none() {
                first.clone_from(&country);
            }
        } else if state.pending.len() < MAX_PENDING {
            state.pending.insert(pending_key, (1, country.clone()));
        } else {
            state.dropped += 1;
        }
        let mine = keyed(&state.process_mac, &network);
        let limit = self.settings.networks;
        if !state.recent.contains_key(&device_id) && state.recent.len() >= MAX_UNITS {
            state.dropped += 1;
            return;
        }
        let recent = state.recent.entry(device_id).or_default();
        if recent.generation != label_generation {
            *recent = Recent {
                generation: label_generation,
                ..Recent::default()
            };
        }
        if !recent.networks.iter().any(|(n, _)| *n == mine) && recent.networks.len() <= limit {
            recent.networks.push((mine, now));
        }
        if let Some(c) = country
            && recent.countries.len() < 16
        {
            recent.countries.insert(c);
        }
    }

    /// Takes the counts to write and the units over the limit.
    pub fn take(&self, now: DateTime<Utc>) -> Flushed {
        let window =
            chrono::Duration::from_std(self.settings.window).unwrap_or(chrono::Duration::hours(24));
        let limit = self.settings.networks;
        let mut state = self.lock();
        let rows = state
            .pending
            .drain()
            .map(|((device_id, day, network), (scans, country))| ScanRow {
                device_id,
                day: day.format("%Y-%m-%d").to_string(),
                network: data_encoding::HEXLOWER.encode(&network),
                country,
                scans,
            })
            .collect();
        if state.dropped > 0 {
            tracing::warn!(
                dropped = state.dropped,
                "scan counts dropped between flushes"
            );
            state.dropped = 0;
        }
        let mut alarms = Vec::new();
        state.recent.retain(|device_id, r| {
            r.networks.retain(|(_, seen)| now - *seen < window);
            if r.networks.len() <= limit {
                // Back within the limit: a later crossing alarms again.
                r.alarmed = false;
            }
            if r.networks.len() > limit && !r.alarmed {
                let mut countries: Vec<&String> = r.countries.iter().collect();
                countries.sort();
                alarms.push(Alarm {
                    device_id: *device_id,
                    label_generation: r.generation,
                    evidence: json!({
                        "distinctNetworks": r.networks.len(),
                        "limit": limit,
                        "windowSeconds": window.num_seconds(),
                        "firstSeen": r.networks.iter().map(|(_, t)| *t).min(),
                        "lastSeen": r.networks.iter().map(|(_, t)| *t).max(),
                        "countries": countries,
                    }),
                });
            }
            !r.networks.is_empty()
        });
        Flushed { rows, alarms }
    }

    /// Marks the unit's crossing as alerted, once its alert is stored (an
    /// alarm whose alert could not be stored is raised again next flush).
    pub fn alerted(&self, device_id: i64, label_generation: u32) {
        if let Some(r) = self.lock().recent.get_mut(&device_id)
            && r.generation == label_generation
        {
            r.alarmed = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_a_slash_24_and_a_slash_48() {
        let a = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(prefix(a("192.0.2.1")), prefix(a("192.0.2.254")));
        assert_ne!(prefix(a("192.0.2.1")), prefix(a("192.0.3.1")));
        assert_eq!(
            prefix(a("2001:db8:1:aaaa::1")),
            prefix(a("2001:db8:1:bbbb::2"))
        );
        assert_ne!(prefix(a("2001:db8:1::1")), prefix(a("2001:db8:2::1")));
        assert_eq!(prefix(a("::ffff:192.0.2.9")), prefix(a("192.0.2.1")));
    }

    #[test]
    fn more_networks_than_the_limit_within_the_window_alarm_once() {
        let counter = ScanCounter::new(ScanSettings {
            networks: 2,
            window: Duration::from_secs(3600),
        })
        .unwrap();
        let now = Utc::now();
        for i in 0..3u8 {
            // Two scans from each network; one network is one.
            counter.record(7, 1, IpAddr::from([10, 0, i, 1]), Some("de"), now);
            counter.record(7, 1, IpAddr::from([10, 0, i, 2]), Some("de"), now);
        }
        counter.record(8, 1, IpAddr::from([10, 9, 9, 9]), None, now);
        let first = counter.take(now);
        assert_eq!(first.alarms.len(), 1);
        assert_eq!(first.alarms[0].device_id, 7);
        assert_eq!(first.alarms[0].evidence["distinctNetworks"], 3);
        assert_eq!(first.alarms[0].evidence["countries"], json!(["DE"]));
        let seven: i64 = first
            .rows
            .iter()
            .filter(|r| r.device_id == 7)
            .map(|r| r.scans)
            .sum();
        assert_eq!(seven, 6);
        assert_eq!(first.rows.iter().filter(|r| r.device_id == 7).count(), 3);
        // No address is kept: 32 hex digits of a keyed hash, one per network.
        let networks: HashSet<&str> = first.rows.iter().map(|r| r.network.as_str()).collect();
        assert_eq!(networks.len(), 4);
        assert!(
            first
                .rows
                .iter()
                .all(|r| r.network.len() == 32 && r.network.bytes().all(|b| b.is_ascii_hexdigit()))
        );
        // Until its alert is stored, the alarm is raised again.
        assert_eq!(counter.take(now).alarms.len(), 1);
        counter.alerted(7, 1);
        // Once per crossing.
        counter.record(7, 1, IpAddr::from([10, 0, 3, 1]), None, now);
        assert!(counter.take(now).alarms.is_empty());
        // A reprint's code starts afresh.
        for i in 0..3u8 {
            counter.record(7, 2, IpAddr::from([10, 2, i, 1]), None, now);
        }
        let reprinted = counter.take(now);
        assert_eq!(reprinted.alarms.len(), 1);
        assert_eq!(reprinted.alarms[0].label_generation, 2);
        counter.alerted(7, 1);
        assert_eq!(
            counter.take(now).alarms.len(),
            1,
            "marked for another label"
        );
        counter.alerted(7, 2);
        // Past the window, the networks are forgotten.
        let later = now + chrono::Duration::hours(2);
        assert!(counter.take(later).alarms.is_empty());
        for i in 0..2u8 {
            counter.record(7, 1, IpAddr::from([10, 1, i, 1]), None, later);
        }
        assert!(counter.take(later).alarms.is_empty());
    }
}
