//! Capture throughput (with the public log on) and inclusion-proof latency.
//!
//! Capture: 100,000 generated events (about ten field rows each)
//! captured in batches of 1,000 through the service layer, against the same
//! rows inserted with plain multi-row SQL through the same driver, in the
//! same run, alternating in rounds of ten batches. Prints both rates and
//! their ratio, on SQLite (durable: WAL + synchronous=FULL) and, when
//! `PROVENANCE_TEST_POSTGRES_URL` is set, on PostgreSQL.
//!
//! `cargo bench -p provenance --bench capture` (`CAPTURE_EVENTS=20000` for a
//! shorter run).

use std::time::{Duration, Instant};

use provenance::auth::{Principal, Role};
use provenance::config::{self, Settings};
use provenance::domain::event::{Action, EventType, RawEvent, RawExtension};
use provenance::domain::visibility::Visibility;
use provenance::services::Portal;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement, TransactionTrait};
use serde_json::json;

const GTIN: &str = "04012345000016";
const BATCH: usize = 1000;
const ROUND: usize = 10 * BATCH;

fn event(i: usize) -> RawEvent {
    RawEvent {
        event_id: format!("bench-{i}"),
        event_type: EventType::Object,
        action: Some(Action::Add),
        biz_step: Some("commissioning".into()),
        disposition: Some("active".into()),
        event_time: "2026-06-01T08:00:00.000+02:00".into(),
        event_time_zone_offset: "+02:00".into(),
        epc_list: vec![format!("https://id.example/01/{GTIN}/21/S{i}")],
        parent_id: None,
        child_epcs: vec![],
        read_point: None,
        biz_location: None,
        source_list: vec![],
        destination_list: vec![],
        sensor_element_list: None,
        ilmd: None,
        extensions: vec![RawExtension {
            name: "line".into(),
            value: json!(format!("L{}", i % 7)),
            visibility: Some(Visibility::Partner),
        }],
        error_declaration: None,
    }
}

async fn fresh(url: &str, dir: &std::path::Path) -> Portal {
    let settings = Settings {
        public_base_url: config::DEFAULT_BASE_URL.into(),
        bind: "127.0.0.1:0".into(),
        database_url: url.into(),
        data_dir: dir.into(),
        keys_dir: dir.join("keys"),
        log_key_overlap: config::DEFAULT_LOG_KEY_OVERLAP,
        issuers: Vec::new(),
    };
    let portal = Portal::open(settings).await.expect("open");
    portal.seed_demo().await.expect("orgs");
    let staff = staff();
    portal
        .create_product(&staff, GTIN, "Pack", "P1", 24, "2 years")
        .await
        .expect("product");
    portal
}

fn staff() -> Principal {
    Principal {
        subject: "bench".into(),
        role: Role::Staff,
        org: "ampera".into(),
    }
}

async fn through_service(portal: &Portal, events: std::ops::Range<usize>) -> Duration {
    let staff = staff();
    let n = events.end;
    let start = Instant::now();
    for chunk_start in events.step_by(BATCH) {
        let batch = (chunk_start..(chunk_start + BATCH).min(n))
            .map(event)
            .collect();
        portal.capture(&staff, batch).await.expect("capture");
    }
    start.elapsed()
}

fn sql_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The rows capture writes for the same events, as plain multi-row INSERTs
/// in one transaction per batch.
async fn plain_sql(db: &DatabaseConnection, events: std::ops::Range<usize>) -> Duration {
    let now = "2026-11-30T00:00:00Z";
    let n = events.end;
    let start = Instant::now();
    for chunk_start in events.step_by(BATCH) {
        let range = chunk_start..(chunk_start + BATCH).min(n);
        let tx = db.begin().await.expect("begin");
        let devices: Vec<String> = range
            .clone()
            .map(|i| {
                format!(
                    "({i}+1, '{GTIN}', 'S{i}', 1, 'commissioned', 1, {})",
                    sql_quote(now)
                )
            })
            .collect();
        tx.execute_unprepared(&format!(
            "INSERT INTO device (id, gtin, serial, product_id, status, custodian_id, created_at) VALUES {}",
            devices.join(",")
        ))
        .await
        .expect("devices");
        let events: Vec<String> = range
            .clone()
            .map(|i| {
                format!(
                    "({i}+1, 'bench-{i}', 'ObjectEvent', 'ADD', 'commissioning', 'active', '2026-06-01T06:00:00Z', '+02:00', {}, 1, 'bench', '{:064}')",
                    sql_quote(now),
                    i
                )
            })
            .collect();
        tx.execute_unprepared(&format!(
            "INSERT INTO event (id, event_id, event_type, action, biz_step, disposition, event_time, event_time_zone_offset, record_time, organisation_id, operator, canonical_hash) VALUES {}",
            events.join(",")
        ))
        .await
        .expect("events");
        let names = [
            "eventID",
            "type",
            "action",
            "bizStep",
            "disposition",
            "eventTime",
            "eventTimeZoneOffset",
            "epcList",
            "line",
            "organisation",
            "operator",
        ];
        let fields: Vec<String> = range
            .clone()
            .flat_map(|i| {
                names
                    .iter()
                    .map(move |name| format!("({i}+1, '{name}', '\"value-{i}\"', 'partner')"))
            })
            .collect();
        for part in fields.chunks(2000) {
            tx.execute_unprepared(&format!(
                "INSERT INTO event_field (event_id, name, value, class) VALUES {}",
                part.join(",")
            ))
            .await
            .expect("fields");
        }
        let links: Vec<String> = range
            .clone()
            .map(|i| format!("({i}+1, {i}+1, 'epc')"))
            .collect();
        tx.execute_unprepared(&format!(
            "INSERT INTO event_device (event_id, device_id, role) VALUES {}",
            links.join(",")
        ))
        .await
        .expect("event devices");
        tx.commit().await.expect("commit");
    }
    start.elapsed()
}

async fn postgres_database(admin: &str) -> (String, String) {
    let name = format!("pp_bench_{}", uuid::Uuid::new_v4().simple());
    let db = Database::connect(admin).await.expect("admin");
    db.execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create");
    let (base, _) = admin.rsplit_once('/').expect("url");
    (format!("{base}/{name}"), name)
}

async fn drop_postgres(admin: &str, name: &str) {
    if let Ok(db) = Database::connect(admin).await {
        let _ = db
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await;
    }
}

async fn run(label: &str, service_url: &str, baseline_url: &str, n: usize) {
    let dir = tempfile::tempdir().expect("dir");
    let portal = fresh(service_url, dir.path()).await;
    // The baseline gets its own fresh, migrated database with the same
    // reference rows (organisation 1 = the manufacturer, product 1).
    let dir2 = tempfile::tempdir().expect("dir");
    let base_portal = fresh(baseline_url, dir2.path()).await;
    drop(base_portal);
    let db = Database::connect(baseline_url).await.expect("connect");
    if db.get_database_backend() == sea_orm::DbBackend::Sqlite {
        for pragma in ["PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL"] {
            db.execute_raw(Statement::from_string(sea_orm::DbBackend::Sqlite, pragma))
                .await
                .expect("pragma");
        }
    }
    // The two alternate in rounds of ten batches, so that the machine's
    // drift in speed during the run falls on both alike.
    let mut service = Duration::ZERO;
    let mut baseline = Duration::ZERO;
    for round in (0..n).step_by(ROUND) {
        let events = round..(round + ROUND).min(n);
        service += through_service(&portal, events.clone()).await;
        baseline += plain_sql(&db, events).await;
    }
    let rate = |d: Duration| n as f64 / d.as_secs_f64();
    println!(
        "{label}: service {:.0} events/s ({:.2} s), plain SQL {:.0} events/s ({:.2} s), ratio {:.2}",
        rate(service),
        service.as_secs_f64(),
        rate(baseline),
        baseline.as_secs_f64(),
        rate(service) / rate(baseline)
    );
}

/// Inclusion proofs at 1,000,000 leaves through the service call: the tiles
/// of a 1,000,000-leaf tree are loaded into a fresh database, then 1,000
/// proofs for random leaves are timed and their database round trips
/// counted.
async fn proofs(label: &str, url: &str) {
    use provenance::ledger::{Hash, MemoryTileStore, append};
    const SIZE: u64 = 1_000_000;
    let dir = tempfile::tempdir().expect("dir");
    let portal = fresh(url, dir.path()).await;
    let leaves: Vec<Hash> = (0..SIZE).map(|i| Hash::sha256(&i.to_be_bytes())).collect();
    let appended = append(&MemoryTileStore::new(), 0, &leaves).expect("append");
    let db = Database::connect(url).await.expect("connect");
    let backend = db.get_database_backend();
    let blob = |b: &[u8]| {
        let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
        if backend == sea_orm::DbBackend::Sqlite {
            format!("X'{hex}'")
        } else {
            format!("decode('{hex}', 'hex')")
        }
    };
    for chunk in appended.tiles.chunks(200) {
        let values: Vec<String> = chunk
            .iter()
            .map(|t| format!("({}, {}, {})", t.tile.level, t.tile.index, blob(&t.bytes)))
            .collect();
        db.execute_unprepared(&format!(
            "INSERT INTO tile (level, idx, data) VALUES {}",
            values.join(",")
        ))
        .await
        .expect("tiles");
    }
    db.execute_unprepared(&format!(
        "UPDATE log_head SET size = {SIZE}, root = {} WHERE id = 1",
        blob(&appended.root.hash.0)
    ))
    .await
    .expect("head");
    let before = portal.store().log_round_trips();
    let mut times = Vec::with_capacity(1000);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..1000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let index = x % SIZE;
        let start = Instant::now();
        let proof = portal.inclusion(index, SIZE).await.expect("proof");
        times.push(start.elapsed());
        assert!(
            appended
                .root
                .verify_inclusion(index, &leaves[index as usize], &proof)
                .is_ok()
        );
    }
    let trips = portal.store().log_round_trips() - before;
    times.sort();
    println!(
        "{label}: inclusion proof at {SIZE} leaves: p50 {:.3} ms, p99 {:.3} ms, {:.1} database round trips per proof",
        times[500].as_secs_f64() * 1e3,
        times[990].as_secs_f64() * 1e3,
        trips as f64 / 1000.0
    );
}

fn main() {
    // `cargo test --benches` runs bench targets with `--bench`-less args;
    // only measure under `cargo bench`.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let n: usize = std::env::var("CAPTURE_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let a = tempfile::tempdir().expect("dir");
        let b = tempfile::tempdir().expect("dir");
        run(
            "sqlite",
            &config::default_database_url(a.path()),
            &config::default_database_url(b.path()),
            n,
        )
        .await;
        // `CAPTURE_ONLY=1` skips the proof benchmarks (for profiling).
        let with_proofs = std::env::var_os("CAPTURE_ONLY").is_none();
        let c = tempfile::tempdir().expect("dir");
        if with_proofs {
            proofs("sqlite", &config::default_database_url(c.path())).await;
        }
        match std::env::var("PROVENANCE_TEST_POSTGRES_URL") {
            Ok(admin) => {
                let (s, s_name) = postgres_database(&admin).await;
                let (p, p_name) = postgres_database(&admin).await;
                run("postgres", &s, &p, n).await;
                drop_postgres(&admin, &s_name).await;
                drop_postgres(&admin, &p_name).await;
                if with_proofs {
                    let (q, q_name) = postgres_database(&admin).await;
                    proofs("postgres", &q).await;
                    drop_postgres(&admin, &q_name).await;
                }
            }
            Err(_) => println!("postgres: skipped (PROVENANCE_TEST_POSTGRES_URL is unset)"),
        }
    });
}
