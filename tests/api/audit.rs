//! `provenance audit` catches every edit made behind the portal's back, and
//! erasure deletes personal values (from the database files too) while the
//! log still verifies.

use provenance::ledger::{Checkpoint, Hash, NoteSigner, RootHash};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement,
};
use serde_json::{Value, json};

use crate::events::{BMS_GTIN, PACK_GTIN, aggregation, dl, object};
use crate::helpers::{Backend, TestApp, spawn_app};

both_backends!(
    audit_catches_every_tampering,
    erasure_deletes_personal_values_and_the_log_still_verifies
);

/// One connection, so that session settings (foreign keys off) hold.
pub(crate) async fn connect(app: &TestApp) -> DatabaseConnection {
    let mut options = ConnectOptions::new(app.database_url.clone());
    options
        .max_connections(1)
        .min_connections(1)
        .sqlx_logging(false);
    let db = Database::connect(options).await.unwrap();
    let off = match db.get_database_backend() {
        DbBackend::Sqlite => "PRAGMA foreign_keys = OFF",
        _ => "SET session_replication_role = replica",
    };
    db.execute_unprepared(off).await.unwrap();
    db
}

pub(crate) async fn exec(db: &DatabaseConnection, sql: &str) {
    db.execute_unprepared(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

pub(crate) async fn one_i64(db: &DatabaseConnection, sql: &str) -> i64 {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

pub(crate) async fn one_text(db: &DatabaseConnection, sql: &str) -> String {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<String>(0).unwrap()
}

pub(crate) async fn one_bytes(db: &DatabaseConnection, sql: &str) -> Vec<u8> {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<Vec<u8>>(0).unwrap()
}

pub(crate) fn blob(backend: DbBackend, bytes: &[u8]) -> String {
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    match backend {
        DbBackend::Sqlite => format!("X'{hex}'"),
        _ => format!("decode('{hex}', 'hex')"),
    }
}

/// Three packs and a board commissioned (leaves 0–3), the board assembled
/// into pack A1 (4, 5), A2 and A3 packed (6, 7); a checkpoint after each
/// batch.
pub(crate) async fn scenario(app: &TestApp) {
    let staff = app.with_products().await;
    let packs: Vec<String> = (1..=3).map(|i| dl(PACK_GTIN, &format!("A{i}"))).collect();
    let r = app
        .capture(
            &staff,
            vec![
                object("urn:uuid:a-1", "commissioning", &packs),
                object("urn:uuid:a-2", "commissioning", &[dl(BMS_GTIN, "B1")]),
            ],
        )
        .await;
    assert!(r.get("errors").is_none(), "{r}");
    app.portal.checkpoint_now().await.unwrap();
    // The two batches' record times differ (they have millisecond
    // precision).
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let r = app
        .capture(
            &staff,
            vec![
                aggregation(
                    "urn:uuid:a-3",
                    "ADD",
                    "assembling",
                    &packs[0],
                    &[dl(BMS_GTIN, "B1")],
                ),
                {
                    // An internal QC result, which no erasure may take.
                    let mut packing = object("urn:uuid:a-4", "packing", &packs[1..]);
                    packing["extensions"] = json!([
                        { "name": "qcResult", "value": "failed", "visibility": "INTERNAL" }
                    ]);
                    packing
                },
            ],
        )
        .await;
    assert!(r.get("errors").is_none(), "{r}");
    app.portal.checkpoint_now().await.unwrap();
}

pub(crate) async fn audit_finding(app: &TestApp) -> String {
    match app.portal.audit().await {
        Ok(summary) => panic!("the audit passed: {summary}"),
        Err(provenance::services::audit::AuditError::Mismatch(f)) => f.to_string(),
        Err(e) => panic!("the audit could not run: {e}"),
    }
}

pub(crate) type Edit = for<'a> fn(
    &'a TestApp,
    &'a DatabaseConnection,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + 'a>>;

async fn audit_catches_every_tampering(backend: Backend) {
    let edits: Vec<(&str, &str, Edit)> = vec![
        (
            "a field value",
            "do not open the leaf's commitment; leaf index 0",
            |_, db| {
                Box::pin(async move {
                    let id = one_i64(db, "SELECT MIN(event_id) FROM event_field").await;
                    exec(db, &format!("UPDATE event_field SET value = '\"shipping\"' WHERE event_id = {id} AND name = 'bizStep'")).await;
                })
            },
        ),
        (
            "a salt",
            "do not open the leaf's commitment; leaf index 2",
            |_, db| {
                Box::pin(async move {
                    let salts = one_text(db, "SELECT salts FROM leaf WHERE leaf_index = 2").await;
                    let mut salts: serde_json::Map<String, Value> =
                        serde_json::from_str(&salts).unwrap();
                    // bizStep's salt replaced by another member's: well
                    // formed, but not the one committed.
                    let other = salts["device"].clone();
                    salts.insert("bizStep".into(), other);
                    let text = Value::Object(salts).to_string().replace('\'', "''");
                    exec(
                        db,
                        &format!("UPDATE leaf SET salts = '{text}' WHERE leaf_index = 2"),
                    )
                    .await;
                })
            },
        ),
        (
            "two events' order",
            "differs from the tile recomputed",
            |_, db| {
                Box::pin(async move {
                    // Leaves 2 (pack A3) and 3 (board B1) trade places.
                    exec(db, "UPDATE leaf SET leaf_index = -1 WHERE leaf_index = 2").await;
                    exec(db, "UPDATE leaf SET leaf_index = 2 WHERE leaf_index = 3").await;
                    exec(db, "UPDATE leaf SET leaf_index = 3 WHERE leaf_index = -1").await;
                })
            },
        ),
        (
            "a deleted event",
            "does not exist; leaf index 6",
            |_, db| {
                Box::pin(async move {
                    let id = one_i64(db, "SELECT event_id FROM leaf WHERE leaf_index = 6").await;
                    for t in ["event_field", "event_device"] {
                        exec(db, &format!("DELETE FROM {t} WHERE event_id = {id}")).await;
                    }
                    exec(db, &format!("DELETE FROM event WHERE id = {id}")).await;
                })
            },
        ),
        ("a deleted leaf", "leaf index 1 is missing", |_, db| {
            Box::pin(async move {
                exec(db, "DELETE FROM leaf WHERE leaf_index = 1").await;
            })
        }),
        ("a truncated log", "tile level 0 index 0", |_, db| {
            Box::pin(async move {
                let n = one_i64(db, "SELECT size FROM log_head").await;
                let rows: Vec<(i64, i64)> = {
                    let backend = db.get_database_backend();
                    db.query_all_raw(Statement::from_string(
                        backend,
                        format!(
                            "SELECT event_id, device_id FROM leaf WHERE leaf_index >= {}",
                            n - 2
                        ),
                    ))
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|r| {
                        (
                            r.try_get_by_index(0).unwrap(),
                            r.try_get_by_index(1).unwrap(),
                        )
                    })
                    .collect()
                };
                for (e, d) in rows {
                    exec(
                        db,
                        &format!(
                            "DELETE FROM event_device WHERE event_id = {e} AND device_id = {d}"
                        ),
                    )
                    .await;
                }
                exec(
                    db,
                    &format!("DELETE FROM leaf WHERE leaf_index >= {}", n - 2),
                )
                .await;
                exec(db, &format!("UPDATE log_head SET size = {}", n - 2)).await;
            })
        }),
        ("an edited tile", "tile level 0 index 0 differs", |_, db| {
            Box::pin(async move {
                let mut data =
                    one_bytes(db, "SELECT data FROM tile WHERE level = 0 AND idx = 0").await;
                data[0] ^= 1;
                let b = blob(db.get_database_backend(), &data);
                exec(
                    db,
                    &format!("UPDATE tile SET data = {b} WHERE level = 0 AND idx = 0"),
                )
                .await;
            })
        }),
        (
            "a replaced checkpoint",
            "size or root differs from its signed note",
            |_, db| {
                Box::pin(async move {
                    let last = one_i64(db, "SELECT MAX(id) FROM checkpoint").await;
                    let first = one_i64(db, "SELECT MIN(id) FROM checkpoint").await;
                    assert_ne!(first, last);
                    let note = one_text(
                        db,
                        &format!("SELECT note FROM checkpoint WHERE id = {last}"),
                    )
                    .await;
                    exec(
                        db,
                        &format!("UPDATE checkpoint SET note = '{note}' WHERE id = {first}"),
                    )
                    .await;
                })
            },
        ),
        (
            "a checkpoint signed by an unknown key",
            "does not verify with the log's keys",
            |app, db| {
                Box::pin(async move {
                    let size = one_i64(db, "SELECT size FROM log_head").await;
                    let root = one_bytes(db, "SELECT root FROM log_head").await;
                    let key = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
                    let origin = app.portal.log_origin();
                    let signer = NoteSigner::new(&origin, key).unwrap();
                    let note = Checkpoint::new(
                        &origin,
                        RootHash::new(size as u64, Hash::from_slice(&root).unwrap()),
                    )
                    .sign(&[&signer])
                    .unwrap();
                    let backend = db.get_database_backend();
                    let now = match backend {
                        DbBackend::Sqlite => "'2026-11-30T00:00:00Z'",
                        _ => "now()",
                    };
                    exec(db, &format!(
                    "INSERT INTO checkpoint (size, root, note, created_at) VALUES ({size}, {}, '{note}', {now})",
                    blob(backend, &root)
                )).await;
                })
            },
        ),
    ];
    let mut edits = edits;
    let more: Vec<(&str, &str, Edit)> = vec![
        (
            "a member's class",
            "the stored class is not the member's class",
            |_, db| {
                Box::pin(async move {
                    exec(
                        db,
                        "UPDATE event_field SET class = 'public' WHERE name = 'operator'",
                    )
                    .await;
                })
            },
        ),
        (
            "an event's organisation",
            "organisation is not the committed one",
            |_, db| {
                Box::pin(async move {
                    exec(db, "UPDATE event SET organisation_id = (SELECT id FROM organisation WHERE slug = 'nordcycle') WHERE event_id = 'urn:uuid:a-4'").await;
                })
            },
        ),
        (
            "an event pointed at another device",
            "no leaf commits that pair",
            |_, db| {
                Box::pin(async move {
                    exec(db, "UPDATE event_device SET device_id = (SELECT id FROM device WHERE serial = 'A1') WHERE event_id = (SELECT id FROM event WHERE event_id = 'urn:uuid:a-2')").await;
                })
            },
        ),
    ];
    edits.extend(more);
    run_edits(backend, edits).await;
}

/// For each edit: a fresh portal with the scenario, audited clean, then
/// edited behind the portal's back; the audit must name the edit.
pub(crate) async fn run_edits(backend: Backend, edits: Vec<(&str, &str, Edit)>) {
    for (what, expected, edit) in edits {
        let Some(app) = spawn_app(backend).await else {
            return;
        };
        scenario(&app).await;
        let summary = app
            .portal
            .audit()
            .await
            .unwrap_or_else(|e| panic!("before {what}: {e}"));
        assert_eq!(summary.leaves, 8, "{summary}");
        assert!(summary.checkpoints >= 2, "{summary}");
        let db = connect(&app).await;
        edit(&app, &db).await;
        db.close().await.ok();
        let finding = audit_finding(&app).await;
        assert!(
            finding.contains(expected),
            "{what}: expected {expected:?} in {finding:?}"
        );
    }
}

const SECRET: &str = "Zyxwvut Qwertyson-4711";

/// The database files (main, WAL, shared memory) that contain `needle`.
/// Read by `grep` in another process: closing a descriptor of the database
/// file in this process would drop the locks SQLite holds on it here.
fn files_contain(dir: &std::path::Path, needle: &str) -> Vec<String> {
    let files: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("provenance.db"))
        })
        .collect();
    assert!(!files.is_empty(), "no database files in {}", dir.display());
    let out = std::process::Command::new("grep")
        .args(["-l", "-a", "-F", "--", needle])
        .args(&files)
        .output()
        .expect("grep");
    assert!(out.status.code().is_some_and(|c| c <= 1), "grep failed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

async fn erasure_deletes_personal_values_and_the_log_still_verifies(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let staff = app.with_products().await;
    let pack = dl(PACK_GTIN, "E1");
    let mut install = object("urn:uuid:e-2", "installing", std::slice::from_ref(&pack));
    install["extensions"] = json!([
        { "name": "customerName", "value": SECRET, "visibility": "PERSONAL" },
        { "name": "workOrder", "value": "WW-1", "visibility": "PARTNER" }
    ]);
    let r = app
        .capture(
            &staff,
            vec![
                object("urn:uuid:e-1", "commissioning", std::slice::from_ref(&pack)),
                install,
            ],
        )
        .await;
    assert!(r.get("errors").is_none(), "{r}");
    app.portal.checkpoint_now().await.unwrap();
    if backend == Backend::Sqlite {
        assert!(
            !files_contain(&app.data_dir, SECRET).is_empty(),
            "the value is in the database files before the erasure"
        );
    }

    // Only personal values, with a reason.
    let device = format!("{PACK_GTIN}/E1");
    let refused = crate::cli::provenance(&app)
        .args([
            "erase", "--device", &device, "--class", "partner", "--reason", "x",
        ])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("only personal values"));

    let out = crate::cli::provenance(&app)
        .args([
            "erase",
            "--device",
            &device,
            "--reason",
            "customer request 2026-11-30",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("1 personal value(s)"), "{stdout}");

    // The view shows the member as erased; the partner member stays.
    let history = app
        .device(
            &staff,
            PACK_GTIN,
            "E1",
            "history { edges { node { bizStep fields { name value erased visibility } } } }",
        )
        .await;
    let node = &history["history"]["edges"][1]["node"];
    assert_eq!(node["bizStep"], "installing");
    let fields = node["fields"].as_array().unwrap().clone();
    let member = |name: &str| fields.iter().find(|f| f["name"] == name).cloned();
    let erased = member("customerName").expect("the erased member is listed");
    assert_eq!(erased["erased"], true);
    assert_eq!(erased["value"], Value::Null);
    assert_eq!(member("workOrder").unwrap()["value"], "WW-1");

    // The log is whole and the audit passes, naming the erasure.
    let summary = app.portal.audit().await.unwrap();
    assert_eq!(summary.erased, 1, "{summary}");
    let served = crate::cli::provenance(&app).arg("audit").output().unwrap();
    assert_eq!(served.status.code(), Some(0));

    // The bytes are gone from the database files (SQLite: main file, WAL).
    let db = connect(&app).await;
    assert_eq!(
        one_i64(
            &db,
            &format!("SELECT COUNT(*) FROM event_field WHERE value LIKE '%{SECRET}%'")
        )
        .await,
        0
    );
    if backend == Backend::Sqlite {
        let hits = files_contain(&app.data_dir, SECRET);
        assert!(hits.is_empty(), "the erased value survives in {hits:?}");
    }

    // Without its erasure record, the missing value is a finding; so is a
    // record that names a value that is not personal.
    exec(&db, "DELETE FROM erased_commitment").await;
    let finding = audit_finding(&app).await;
    assert!(
        finding.contains("no erasure record names it; leaf index 1"),
        "{finding}"
    );
    assert!(finding.contains("field customerName"), "{finding}");
    let cli = crate::cli::provenance(&app).arg("audit").output().unwrap();
    assert_eq!(cli.status.code(), Some(1), "a mismatch exits 1");
    let stderr = String::from_utf8_lossy(&cli.stderr);
    assert!(
        stderr.starts_with("audit failed: ") && stderr.contains("customerName"),
        "{stderr}"
    );
    // A forged record for a public member (bizStep) is refused too.
    let erasure = one_i64(&db, "SELECT MIN(id) FROM erasure").await;
    let event = one_i64(&db, "SELECT event_id FROM leaf WHERE leaf_index = 1").await;
    exec(
        &db,
        &format!(
            "INSERT INTO erased_commitment (erasure_id, leaf_index, event_id, name, class, commitment) \
             VALUES ({erasure}, 1, {event}, 'customerName', 'personal', 'x'), \
             ({erasure}, 1, {event}, 'bizStep', 'personal', 'x')"
        ),
    )
    .await;
    exec(
        &db,
        &format!("DELETE FROM event_field WHERE event_id = {event} AND name = 'bizStep'"),
    )
    .await;
    let finding = audit_finding(&app).await;
    assert!(
        finding.contains("not personal") && finding.contains("field bizStep"),
        "{finding}"
    );
    db.close().await.ok();
}

#[test]
fn audit_that_cannot_run_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_provenance"))
        .arg("--data-dir")
        .arg(dir.path())
        .args([
            "--database-url",
            "postgres://nobody@127.0.0.1:1/none",
            "audit",
        ])
        .env_remove("PROVENANCE_DATABASE_URL")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("audit could not run"), "{stderr}");
}
