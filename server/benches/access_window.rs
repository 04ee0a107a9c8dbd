//! The access log's loss window: how long a logged read waits before its
//! row is durable (a crash loses at most the rows still waiting; README,
//! "Access log", promises about a second while the writer keeps up).
//!
//! A portal on SQLite with its buffered writer records a read row every
//! 5 ms for `ACCESS_WINDOW_SECS` (default 10) seconds, first idle (the
//! baseline), then while captures of 50 events each run back to back over
//! HTTP; a poller reads the committed rows every 5 ms. It prints the
//! median, 99th percentile and largest wait of each run and the ratio of
//! the largest to the 1 s flush interval, and of the loaded run's largest
//! to the idle run's.
//!
//! `cargo bench -p provenance --bench access_window`

use std::collections::HashMap;
use std::time::{Duration, Instant};

use provenance::store::access::{AccessFilter, AccessRow};
use serde_json::{Value, json};

mod support;
use support::GTIN;
const CAPTURE: &str =
    "mutation($e: [EventInput!]!) { captureEvents(events: $e) { receipts { eventID } } }";

fn read_row(i: usize) -> AccessRow {
    AccessRow {
        at: AccessRow::now(),
        subject: format!("bench-{i}"),
        role: "service_partner".into(),
        organisation: "pedalfix".into(),
        operation: "device.history".into(),
        devices: vec![format!("{GTIN}/W{i}")],
        classes: vec!["partner".into()],
        client: "127.0.0.1".into(),
        outcome: "ok".into(),
        reason: None,
    }
}

/// Waits of every row, in order of sending.
async fn run(secs: u64, load: bool) -> Vec<Duration> {
    let srv = support::start().await;
    let (base, token, portal) = (&srv.base, &srv.token, srv.portal.clone());
    let client = reqwest::Client::new();
    let post = |body: Value| {
        client
            .post(format!("{base}/graphql"))
            .bearer_auth(token)
            .json(&body)
            .send()
    };
    let deadline = Instant::now() + Duration::from_secs(secs);
    let loader =
        load.then_some(async move {
            let mut b = 0;
            while Instant::now() < deadline {
                let events: Vec<Value> = (0..50)
                    .map(|e| json!({
                        "eventID": format!("w-{b}-{e}"), "type": "ObjectEvent", "action": "ADD",
                        "bizStep": "commissioning", "eventTime": "2026-06-01T08:00:00.000+02:00",
                        "eventTimeZoneOffset": "+02:00",
                        "epcList": [format!("https://id.example/01/{GTIN}/21/L{b}x{e}")],
                    }))
                    .collect();
                let r: Value = post(json!({ "query": CAPTURE, "variables": { "e": events } }))
                    .await
                    .expect("capture")
                    .json()
                    .await
                    .expect("JSON");
                assert!(r.get("errors").is_none(), "{r}");
                b += 1;
            }
        });
    let sender = {
        let portal = portal.clone();
        async move {
            let mut sent: Vec<Instant> = Vec::new();
            let mut tick = tokio::time::interval(Duration::from_millis(5));
            while Instant::now() < deadline {
                tick.tick().await;
                sent.push(Instant::now());
                portal.record_read(read_row(sent.len() - 1)).await;
            }
            sent
        }
    };
    let poller = {
        let portal = portal.clone();
        async move {
            let mut seen: HashMap<usize, Instant> = HashMap::new();
            let mut after = 0;
            let filter = AccessFilter::default();
            let until = deadline + Duration::from_secs(30);
            while Instant::now() < until {
                let rows = portal
                    .store()
                    .access_rows(&filter, after, 10_000)
                    .await
                    .expect("rows");
                let now = Instant::now();
                for (id, row) in rows {
                    after = id;
                    if let Some(i) = row.subject.strip_prefix("bench-") {
                        seen.insert(i.parse().expect("index"), now);
                    }
                }
                if Instant::now() > deadline + Duration::from_secs(3) && !seen.is_empty() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            seen
        }
    };
    let (sent, seen) = match loader {
        Some(l) => {
            let (_, sent, seen) = tokio::join!(l, sender, poller);
            (sent, seen)
        }
        None => tokio::join!(sender, poller),
    };
    sent.iter()
        .enumerate()
        .map(|(i, t)| {
            seen.get(&i)
                .map(|s| s.duration_since(*t))
                .expect("every read row is written")
        })
        .collect()
}

fn summary(name: &str, mut waits: Vec<Duration>) -> Duration {
    waits.sort();
    let pick = |q: f64| waits[((waits.len() - 1) as f64 * q) as usize];
    let max = *waits.last().expect("rows");
    println!(
        "{name}: {} rows; wait median {:.0} ms, p99 {:.0} ms, max {:.0} ms; max / 1 s flush interval = {:.2}",
        waits.len(),
        pick(0.5).as_secs_f64() * 1e3,
        pick(0.99).as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3,
        max.as_secs_f64()
    );
    max
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let secs: u64 = std::env::var("ACCESS_WINDOW_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let idle = summary("idle", rt.block_on(run(secs, false)));
    let loaded = summary(
        "with captures of 50 events back to back",
        rt.block_on(run(secs, true)),
    );
    println!(
        "largest wait, loaded / idle = {:.2}",
        loaded.as_secs_f64() / idle.as_secs_f64()
    );
}
