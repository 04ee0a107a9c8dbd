//! A database written before leaf format version 2 (docs/ledger-format.md
//! §3, "Version 1") keeps auditing clean, and its devices' chains continue
//! in version 2.

use std::collections::HashMap;

use provenance::ledger::{self, Hash, Leaf, MemoryTileStore, Prev, leaf_hash};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use serde_json::Value;

use crate::audit::{blob, connect, exec, scenario};
use crate::events::{PACK_GTIN, dl, object};
use crate::helpers::{Backend, spawn_app};

both_backends!(a_version_1_log_audits_clean_and_continues_in_version_2);

/// Rewrites every leaf as the portal wrote it before version 2: `prev` in
/// the clear, no `personal`, no `recordTime`; then the tiles and log head
/// of those leaves, and no checkpoint.
async fn downgrade_to_version_1(db: &DatabaseConnection) {
    let backend = db.get_database_backend();
    let rows = db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT leaf_index, device_id, data, salts FROM leaf ORDER BY leaf_index",
        ))
        .await
        .unwrap();
    let mut heads: HashMap<i64, Hash> = HashMap::new();
    let mut hashes = Vec::new();
    for row in rows {
        let index: i64 = row.try_get_by_index(0).unwrap();
        let device: i64 = row.try_get_by_index(1).unwrap();
        let data: Vec<u8> = row.try_get_by_index(2).unwrap();
        let salts: String = row.try_get_by_index(3).unwrap();
        let v2 = Leaf::decode(&data).unwrap();
        assert_eq!(v2.version(), 2);
        let mut fields = v2.fields.clone();
        fields.remove("recordTime");
        let v1 = Leaf {
            prev: Prev::Plain(heads.get(&device).copied()),
            personal: Vec::new(),
            fields,
            ..v2
        };
        let bytes = v1.encode().unwrap();
        let hash = leaf_hash(&bytes);
        heads.insert(device, hash);
        hashes.push(hash);
        let mut salts: serde_json::Map<String, Value> = serde_json::from_str(&salts).unwrap();
        salts.remove("prev");
        salts.remove("recordTime");
        exec(
            db,
            &format!(
                "UPDATE leaf SET data = {}, hash = {}, salts = '{}' WHERE leaf_index = {index}",
                blob(backend, &bytes),
                blob(backend, &hash.0),
                Value::Object(salts)
            ),
        )
        .await;
    }
    let appended = ledger::append(&MemoryTileStore::new(), 0, &hashes).unwrap();
    exec(db, "DELETE FROM tile").await;
    for t in appended.tiles {
        exec(
            db,
            &format!(
                "INSERT INTO tile (level, idx, data) VALUES ({}, {}, {})",
                t.tile.level,
                t.tile.index,
                blob(backend, &t.bytes)
            ),
        )
        .await;
    }
    exec(
        db,
        &format!(
            "UPDATE log_head SET size = {}, root = {}",
            hashes.len(),
            blob(backend, &appended.root.hash.0)
        ),
    )
    .await;
    exec(db, "DELETE FROM checkpoint").await;
}

/// Rewrites the access log in its first form: the address chained in the
/// clear, no commitment, no device rows (and their data step not run).
async fn downgrade_access_log(app: &crate::helpers::TestApp, db: &DatabaseConnection) {
    let rows = app
        .portal
        .store()
        .access_rows(&Default::default(), 0, 10_000)
        .await
        .unwrap();
    let mut prev = vec![0u8; 32];
    for (id, row) in &rows {
        let hash = provenance::store::access::row_hash(&prev, *id, row, None).unwrap();
        exec(
            db,
            &format!(
                "UPDATE access_log SET hash = {}, client_salt = NULL, client_commitment = NULL WHERE id = {id}",
                blob(db.get_database_backend(), &hash)
            ),
        )
        .await;
        prev = hash;
    }
    exec(
        db,
        &format!(
            "UPDATE access_log_head SET hash = {}",
            blob(db.get_database_backend(), &prev)
        ),
    )
    .await;
    exec(db, "DELETE FROM access_log_device").await;
    exec(
        db,
        &format!(
            "DELETE FROM data_step WHERE name = '{}'",
            provenance::store::access_v2::ACCESS_DEVICES_STEP
        ),
    )
    .await;
}

async fn a_version_1_log_audits_clean_and_continues_in_version_2(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    scenario(&app).await;
    let db = connect(&app).await;
    downgrade_to_version_1(&db).await;
    downgrade_access_log(&app, &db).await;
    app.portal.checkpoint_now().await.unwrap();
    match app.portal.audit().await {
        Err(provenance::services::audit::AuditError::CannotRun(e)) => {
            assert!(e.contains("run provenance migrate"), "{e}")
        }
        other => panic!("the audit ran before the data step: {other:?}"),
    }
    assert!(app.portal.store().run_access_devices_step().await.unwrap());
    let summary = app.portal.audit().await.expect("a version-1 log audits");
    assert_eq!((summary.leaves, summary.v2_leaves), (8, 0), "{summary}");

    // Packs A2's and A3's chains (leaves 1, 6 and 2, 7) go on in version 2
    // (leaves 8 and 9).
    let staff = app.token(provenance::auth::Role::Staff, "ampera").await;
    let r = app
        .capture(
            &staff,
            vec![
                object("urn:uuid:v2-1", "inspecting", &[dl(PACK_GTIN, "A2")]),
                object("urn:uuid:v2-2", "inspecting", &[dl(PACK_GTIN, "A3")]),
            ],
        )
        .await;
    assert!(r.get("errors").is_none(), "{r}");
    assert_eq!(
        r["data"]["captureEvents"]["receipts"][1]["leafIndexes"],
        serde_json::json!([9]),
        "{r}"
    );
    app.portal.checkpoint_now().await.unwrap();
    let summary = app.portal.audit().await.expect("a mixed log audits");
    assert_eq!((summary.leaves, summary.v2_leaves), (10, 2), "{summary}");

    // A version-1 leaf after a version-2 one is not the portal's.
    let data = crate::audit::one_bytes(&db, "SELECT data FROM leaf WHERE leaf_index = 9").await;
    let v2 = Leaf::decode(&data).unwrap();
    let forged = Leaf {
        prev: Prev::Plain(None),
        personal: Vec::new(),
        ..v2
    };
    let bytes = forged.encode().unwrap();
    exec(
        &db,
        &format!(
            "UPDATE leaf SET data = {} WHERE leaf_index = 9",
            blob(db.get_database_backend(), &bytes)
        ),
    )
    .await;
    db.close().await.ok();
    let finding = crate::audit::audit_finding(&app).await;
    assert!(
        finding.contains("a version-1 leaf follows version-2 leaves; leaf index 9"),
        "{finding}"
    );
}
