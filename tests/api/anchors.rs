//! The access log's head anchored in the public log (docs/ledger-format.md
//! §3a): an anchor leaf reveals nothing, verifies like any entry, and makes
//! a rewritten or truncated access log fail the audit even when its chain
//! was recomputed.

use provenance::ledger::{Entry, decode_entry};
use serde_json::Value;

use crate::audit::{audit_finding, blob, connect, exec, one_text};
use crate::events::{PACK_GTIN, dl, object};
use crate::helpers::{Backend, TestApp, spawn_app};
use crate::log::open_checkpoint;

both_backends!(
    an_anchor_verifies_and_catches_a_recomputed_access_log,
    an_anchor_catches_a_truncated_access_log
);

/// A portal with two captures (two access-log rows) and an anchor after
/// them: leaves 0, 1 for the packs, 2 the anchor.
async fn anchored(backend: Backend) -> Option<TestApp> {
    let app = spawn_app(backend).await?;
    let staff = app.with_products().await;
    let r = app
        .capture(
            &staff,
            vec![object("an-1", "commissioning", &[dl(PACK_GTIN, "N1")])],
        )
        .await;
    assert!(r.get("errors").is_none(), "{r}");
    let r = app
        .capture(
            &staff,
            vec![object("an-2", "commissioning", &[dl(PACK_GTIN, "N2")])],
        )
        .await;
    assert!(r.get("errors").is_none(), "{r}");
    assert_eq!(app.portal.anchor_access_log().await.unwrap(), Some(2));
    assert_eq!(
        app.portal.anchor_access_log().await.unwrap(),
        None,
        "nothing new to anchor"
    );
    Some(app)
}

async fn an_anchor_verifies_and_catches_a_recomputed_access_log(backend: Backend) {
    let Some(app) = anchored(backend).await else {
        return;
    };
    // An outsider reads it from the tiles like any entry.
    let note = app.checkpoint_of(3).await;
    let vkey = app.text("/log/vkey").await;
    let cp = open_checkpoint(&note, vkey.lines().next().unwrap());
    let entries = app.reverify(&cp).await;
    let anchor: Value = serde_json::from_slice(&entries[2]).unwrap();
    let keys: Vec<&String> = anchor.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["anchor", "commitment", "v"]);
    assert_eq!(anchor["anchor"], "access-log");
    assert!(matches!(
        decode_entry(&entries[2]).unwrap(),
        Entry::Anchor(_)
    ));
    let summary = app.portal.audit().await.expect("clean");
    assert_eq!((summary.leaves, summary.anchors), (3, 1), "{summary}");

    // Someone with database access rewrites row 1 and recomputes the whole
    // chain and its head: the chain holds, the anchor does not.
    let db = connect(&app).await;
    let rows = app
        .portal
        .store()
        .access_rows(&Default::default(), 0, 1000)
        .await
        .unwrap();
    let mut prev = vec![0u8; 32];
    for (id, row) in rows {
        let mut row = row;
        if id == 1 {
            row.outcome = "ok: nothing happened".into();
            exec(
                &db,
                "UPDATE access_log SET outcome = 'ok: nothing happened' WHERE id = 1",
            )
            .await;
        }
        let commitment = one_text(
            &db,
            &format!("SELECT client_commitment FROM access_log WHERE id = {id}"),
        )
        .await;
        let hash = provenance::store::access::row_hash(&prev, id, &row, Some(&commitment)).unwrap();
        let b = blob(db.get_database_backend(), &hash);
        exec(
            &db,
            &format!("UPDATE access_log SET hash = {b} WHERE id = {id}"),
        )
        .await;
        prev = hash;
    }
    let b = blob(db.get_database_backend(), &prev);
    exec(&db, &format!("UPDATE access_log_head SET hash = {b}")).await;
    db.close().await.ok();
    let finding = audit_finding(&app).await;
    assert!(
        finding.contains("anchor leaf 2") && finding.contains("rows before it were rewritten"),
        "{finding}"
    );
}

async fn an_anchor_catches_a_truncated_access_log(backend: Backend) {
    let Some(app) = anchored(backend).await else {
        return;
    };
    app.portal.checkpoint_now().await.unwrap();
    // The last row removed and the head set back to the one before: a
    // consistent, shorter chain.
    let db = connect(&app).await;
    let last = crate::audit::one_i64(&db, "SELECT MAX(id) FROM access_log").await;
    let hash = crate::audit::one_bytes(
        &db,
        &format!("SELECT hash FROM access_log WHERE id = {}", last - 1),
    )
    .await;
    exec(&db, &format!("DELETE FROM access_log WHERE id = {last}")).await;
    exec(
        &db,
        &format!("DELETE FROM access_log_device WHERE access_id = {last}"),
    )
    .await;
    let b = blob(db.get_database_backend(), &hash);
    exec(
        &db,
        &format!(
            "UPDATE access_log_head SET last_id = {}, hash = {b}",
            last - 1
        ),
    )
    .await;
    db.close().await.ok();
    let finding = audit_finding(&app).await;
    assert!(
        finding.contains("no longer reaches the row it anchors"),
        "{finding}"
    );
}
