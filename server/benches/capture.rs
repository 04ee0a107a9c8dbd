//! Capture throughput (with the public log on) and inclusion-proof latency.
//!
//! Capture: 100,000 generated events (about ten field rows each)
//! captured in batches of 1,000 through the service layer, against the same
//! rows inserted with plain multi-row SQL through the same driver, in the
//! same run, alternating in rounds of ten batches. Prints both rates and
//! their ratio, on SQLite (durable: WAL + synchronous=FULL) and, when
//! `PROVENANCE_TEST_POSTGRES_URL` is set, on PostgreSQL.
//!
//! Assembly: packs of 10 modules × 12 cells commissioned, assembled,
//! shipped to a distributor and received there, in batches of eight packs,
//! on two fresh databases in alternating rounds: the portal as it is
//! (a component's custody through its parent derived from link
//! intervals) against, with `--features bench-variants`, the alternative
//! that stores it per component (server/src/store/through_parent.rs).
//!
//! `cargo bench -p provenance --bench capture` (`CAPTURE_EVENTS=20000` for a
//! shorter run; `CAPTURE_PACKS=40` for fewer packs, `CAPTURE_ASSEMBLY_ONLY=1`
//! for the assembly case alone).

use std::time::{Duration, Instant};

use provenance::auth::{Principal, Role};
use provenance::config::{self, Settings};
use provenance::domain::event::{Action, EventType, Party, RawEvent, RawExtension};
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
    let settings = Settings::with_defaults(dir, url);
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

const CELL_GTIN: &str = "04012345000030";
const MODULE_GTIN: &str = "04012345000047";
const PACKS_PER_BATCH: usize = 8;

fn dl(gtin: &str, serial: &str) -> String {
    format!("https://id.example/01/{gtin}/21/{serial}")
}

fn base(id: String, event_type: EventType, biz_step: &str, epcs: Vec<String>) -> RawEvent {
    let mut e = event(0);
    e.event_id = id;
    e.event_type = event_type;
    e.biz_step = Some(biz_step.into());
    e.disposition = Some("in_progress".into());
    e.epc_list = epcs;
    e.extensions.clear();
    e
}

/// The batches that build, ship and receive packs `packs`, with who captures
/// each.
fn assembly(packs: std::ops::Range<usize>) -> Vec<(Principal, Vec<RawEvent>)> {
    let cell = |p: usize, m: usize, c: usize| dl(CELL_GTIN, &format!("C{p}-{m}-{c}"));
    let module = |p: usize, m: usize| dl(MODULE_GTIN, &format!("M{p}-{m}"));
    let pack = |p: usize| dl(GTIN, &format!("P{p}"));
    let mut commission = Vec::new();
    let mut assemble = Vec::new();
    let mut ship = Vec::new();
    let mut receive = Vec::new();
    for p in packs {
        let cells: Vec<String> = (0..10)
            .flat_map(|m| (0..12).map(move |c| cell(p, m, c)))
            .collect();
        commission.push(base(
            format!("c{p}"),
            EventType::Object,
            "commissioning",
            cells,
        ));
        let modules: Vec<String> = (0..10).map(|m| module(p, m)).collect();
        commission.push(base(
            format!("m{p}"),
            EventType::Object,
            "commissioning",
            modules.clone(),
        ));
        commission.push(base(
            format!("p{p}"),
            EventType::Object,
            "commissioning",
            vec![pack(p)],
        ));
        for (m, id) in modules.iter().enumerate() {
            let mut e = base(
                format!("a{p}-{m}"),
                EventType::Aggregation,
                "assembling",
                vec![],
            );
            e.parent_id = Some(id.clone());
            e.child_epcs = (0..12).map(|c| cell(p, m, c)).collect();
            assemble.push(e);
        }
        let mut e = base(
            format!("a{p}"),
            EventType::Aggregation,
            "assembling",
            vec![],
        );
        e.parent_id = Some(pack(p));
        e.child_epcs = modules;
        assemble.push(e);
        let mut e = base(
            format!("s{p}"),
            EventType::Object,
            "shipping",
            vec![pack(p)],
        );
        e.action = Some(Action::Observe);
        e.disposition = Some("in_transit".into());
        e.destination_list = vec![Party {
            kind: "owning_party".into(),
            id: "veloparts-eu".into(),
        }];
        ship.push(e);
        let mut e = base(
            format!("r{p}"),
            EventType::Object,
            "receiving",
            vec![pack(p)],
        );
        e.action = Some(Action::Observe);
        receive.push(e);
    }
    let distributor = Principal {
        subject: "bench".into(),
        role: Role::Distributor,
        org: "veloparts-eu".into(),
    };
    vec![
        (staff(), commission),
        (staff(), assemble),
        (staff(), ship),
        (distributor, receive),
    ]
}

async fn assembly_portal(url: &str, dir: &std::path::Path) -> Portal {
    let portal = fresh(url, dir).await;
    for (gtin, name) in [(CELL_GTIN, "Cell"), (MODULE_GTIN, "Module")] {
        portal
            .create_product(&staff(), gtin, name, "M1", 24, "2 years")
            .await
            .expect("product");
    }
    portal
}

/// Times each of the four kinds of batch for packs `packs`.
async fn build_packs(portal: &Portal, packs: std::ops::Range<usize>) -> [Duration; 4] {
    let mut out = [Duration::ZERO; 4];
    for group in packs.clone().step_by(PACKS_PER_BATCH) {
        let batches = assembly(group..(group + PACKS_PER_BATCH).min(packs.end));
        for (i, (who, batch)) in batches.into_iter().enumerate() {
            let start = Instant::now();
            portal.capture(&who, batch).await.expect("capture");
            out[i] += start.elapsed();
        }
    }
    out
}

async fn assembly_case(label: &str, derived_url: &str, stored_url: &str, packs: usize) {
    let a = tempfile::tempdir().expect("dir");
    let derived = assembly_portal(derived_url, a.path()).await;
    let b = tempfile::tempdir().expect("dir");
    let stored = assembly_portal(stored_url, b.path()).await;
    #[cfg(feature = "bench-variants")]
    stored
        .store()
        .store_through_parent_per_component()
        .await
        .expect("variant");
    #[cfg(not(feature = "bench-variants"))]
    println!(
        "{label}: assembly: the stored variant needs `--features bench-variants`; both runs below are the portal as it is"
    );
    let mut times = [[Duration::ZERO; 4]; 2];
    let round = 4 * PACKS_PER_BATCH;
    for start in (0..packs).step_by(round) {
        let range = start..(start + round).min(packs);
        for (i, portal) in [&derived, &stored].into_iter().enumerate() {
            let t = build_packs(portal, range.clone()).await;
            for k in 0..4 {
                times[i][k] += t[k];
            }
        }
    }
    let devices = packs * 131;
    let total = |t: &[Duration; 4]| t.iter().sum::<Duration>().as_secs_f64();
    let phases = ["commission", "assemble", "ship", "receive"];
    for (name, t) in [("derived", &times[0]), ("stored", &times[1])] {
        let parts: Vec<String> = phases
            .iter()
            .zip(t)
            .map(|(p, d)| format!("{p} {:.2} s", d.as_secs_f64()))
            .collect();
        println!(
            "{label}: assembly {packs} packs ({devices} devices), {name}: {:.2} s ({})",
            total(t),
            parts.join(", ")
        );
    }
    let moves = |t: &[Duration; 4]| (t[2] + t[3]).as_secs_f64();
    println!(
        "{label}: assembly: stored/derived time, all batches {:.2}, assemble {:.2}, ship and receive {:.2}",
        total(&times[1]) / total(&times[0]),
        times[1][1].as_secs_f64() / times[0][1].as_secs_f64(),
        moves(&times[1]) / moves(&times[0]),
    );
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
    let packs: usize = std::env::var("CAPTURE_PACKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(96);
    let assembly_only = std::env::var_os("CAPTURE_ASSEMBLY_ONLY").is_some();
    rt.block_on(async {
        let a = tempfile::tempdir().expect("dir");
        let b = tempfile::tempdir().expect("dir");
        assembly_case(
            "sqlite",
            &config::default_database_url(a.path()),
            &config::default_database_url(b.path()),
            packs,
        )
        .await;
        if let Ok(admin) = std::env::var("PROVENANCE_TEST_POSTGRES_URL") {
            let (s, s_name) = postgres_database(&admin).await;
            let (p, p_name) = postgres_database(&admin).await;
            assembly_case("postgres", &s, &p, packs).await;
            drop_postgres(&admin, &s_name).await;
            drop_postgres(&admin, &p_name).await;
        }
        if assembly_only {
            return;
        }
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
