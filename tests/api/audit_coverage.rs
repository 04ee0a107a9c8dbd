//! What the audit recomputes beyond the leaves (docs/ledger-format.md §7c):
//! the device rows, component links, record times and creation times, and
//! which values an erasure may take. Each edit here passed the audit before
//! these checks existed.

use sea_orm::{DatabaseConnection, DbBackend};
use serde_json::Value;

use crate::audit::{Edit, exec, one_i64, one_text, run_edits};
use crate::helpers::Backend;

both_backends!(audit_recomputes_device_rows_links_and_times);

fn now_literal(db: &DatabaseConnection) -> &'static str {
    match db.get_database_backend() {
        DbBackend::Sqlite => "'2026-11-30T00:00:00Z'",
        _ => "now()",
    }
}

/// Deletes the internal `qcResult` of event a-4 (leaves 6 and 7) with its
/// salts, and records the deletion as an erasure of personal values: what
/// someone with database access would do to hide a failed QC result.
async fn forge_erasure(db: &DatabaseConnection) {
    let event = one_i64(db, "SELECT id FROM event WHERE event_id = 'urn:uuid:a-4'").await;
    let device = one_i64(db, "SELECT device_id FROM leaf WHERE leaf_index = 6").await;
    exec(
        db,
        &format!("DELETE FROM event_field WHERE event_id = {event} AND name = 'qcResult'"),
    )
    .await;
    exec(db, &format!(
        "INSERT INTO erasure (device_id, class, reason, actor, created_at) VALUES ({device}, 'personal', 'customer request', 'dpo', {})",
        now_literal(db)
    ))
    .await;
    let erasure = one_i64(db, "SELECT MAX(id) FROM erasure").await;
    for leaf in [6, 7] {
        let data = one_text(
            db,
            &format!("SELECT salts FROM leaf WHERE leaf_index = {leaf}"),
        )
        .await;
        let mut salts: serde_json::Map<String, Value> = serde_json::from_str(&data).unwrap();
        assert!(salts.remove("qcResult").is_some());
        let text = Value::Object(salts).to_string();
        exec(
            db,
            &format!("UPDATE leaf SET salts = '{text}' WHERE leaf_index = {leaf}"),
        )
        .await;
        let bytes = crate::audit::one_bytes(
            db,
            &format!("SELECT data FROM leaf WHERE leaf_index = {leaf}"),
        )
        .await;
        let leaf_json: Value = serde_json::from_slice(&bytes).unwrap();
        let commitment = leaf_json["fields"]["qcResult"].as_str().unwrap().to_owned();
        exec(db, &format!(
            "INSERT INTO erased_commitment (erasure_id, leaf_index, event_id, name, class, commitment) VALUES ({erasure}, {leaf}, {event}, 'qcResult', 'personal', '{commitment}')"
        ))
        .await;
    }
}

async fn audit_recomputes_device_rows_links_and_times(backend: Backend) {
    let edits: Vec<(&str, &str, Edit)> = vec![
        (
            "a non-personal value erased as personal",
            "an erasure record names a value that is not personal; leaf index 6",
            |_, db| Box::pin(forge_erasure(db)),
        ),
        (
            "a value's class changed to personal",
            "disagrees with the leaf's list of personal fields",
            |_, db| {
                Box::pin(async move {
                    exec(
                        db,
                        "UPDATE event_field SET class = 'personal' WHERE name = 'qcResult'",
                    )
                    .await;
                })
            },
        ),
        ("a device's status", "the device row's status", |_, db| {
            Box::pin(async move {
                exec(
                    db,
                    "UPDATE device SET status = 'stolen' WHERE serial = 'A2'",
                )
                .await;
            })
        }),
        (
            "a device's custodian",
            "the device row's custodian is not what its events give it",
            |_, db| {
                Box::pin(async move {
                    exec(db, "UPDATE device SET custodian_id = (SELECT id FROM organisation WHERE slug = 'nordcycle') WHERE serial = 'A3'").await;
                })
            },
        ),
        (
            "a device's shipped-to organisation",
            "the device row's shipped-to organisation",
            |_, db| {
                Box::pin(async move {
                    exec(db, "UPDATE device SET shipped_to_id = (SELECT id FROM organisation WHERE slug = 'nordcycle') WHERE serial = 'A2'").await;
                })
            },
        ),
        (
            "a deleted component link",
            "the events imply it, but no component link says so",
            |_, db| {
                Box::pin(async move {
                    exec(db, "DELETE FROM component_link").await;
                })
            },
        ),
        (
            "a component link's installation time",
            "was installed at another time than its event says",
            |_, db| {
                Box::pin(async move {
                    exec(db, "UPDATE component_link SET installed_at = (SELECT MIN(record_time) FROM event)").await;
                })
            },
        ),
        (
            "an event's record time",
            "the event row's record time is not the committed one; leaf index 6",
            |_, db| {
                Box::pin(async move {
                    exec(db, "UPDATE event SET record_time = (SELECT MIN(e.record_time) FROM event e) WHERE event_id = 'urn:uuid:a-4'").await;
                })
            },
        ),
        (
            "a device's creation time",
            "created_at is not the record time of its first event",
            |_, db| {
                Box::pin(async move {
                    exec(db, "UPDATE device SET created_at = (SELECT MAX(record_time) FROM event) WHERE serial = 'A1'").await;
                })
            },
        ),
        (
            "an event declared in error behind the portal's back",
            "is recorded, but no committed eventID says so",
            |_, db| {
                Box::pin(async move {
                    exec(db, &format!(
                        "INSERT INTO event_declaration (event_id, declaration_id, declared_at) SELECT a.id, b.id, {} FROM event a, event b WHERE a.event_id = 'urn:uuid:a-4' AND b.event_id = 'urn:uuid:a-1'",
                        now_literal(db)
                    ))
                    .await;
                })
            },
        ),
        (
            "a device's role in an event",
            "the committed lists do not give it",
            |_, db| {
                Box::pin(async move {
                    exec(db, "UPDATE event_device SET role = 'child' WHERE event_id = (SELECT id FROM event WHERE event_id = 'urn:uuid:a-4') AND device_id = (SELECT id FROM device WHERE serial = 'A2')").await;
                })
            },
        ),
        (
            "a stored member named recordTime",
            "a stored value has a reserved name",
            |_, db| {
                Box::pin(async move {
                    exec(db, "INSERT INTO event_field (event_id, name, value, class) SELECT id, 'recordTime', '\"2020-01-01T00:00:00.000Z\"', 'public' FROM event WHERE event_id = 'urn:uuid:a-4'").await;
                })
            },
        ),
    ];
    run_edits(backend, edits).await;
}
