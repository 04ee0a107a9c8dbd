//! The demo packs of `serve --demo`: seeded once, with the histories the
//! printed device lines promise.

use provenance::auth::{Principal, Role};

use crate::helpers::{Backend, spawn_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_packs_are_seeded_once_with_the_promised_histories() {
    let app = spawn_app(Backend::Sqlite).await.expect("SQLite app");
    let portal = &app.portal;
    portal.seed_demo().await.unwrap();
    let first = portal.seed_demo_devices().await.unwrap();
    let counts = portal.store().product_and_device_counts().await.unwrap();
    assert_eq!(counts.0, 3, "pack, cell module and BMS board");
    assert!(
        counts.1 > 900,
        "300 packs with two components each: {counts:?}"
    );

    // Again on the same database: nothing new, the same device lines.
    portal.seed_demo().await.unwrap();
    let second = portal.seed_demo_devices().await.unwrap();
    assert_eq!(
        portal.store().product_and_device_counts().await.unwrap(),
        counts
    );
    let lines = |ds: &[provenance::services::demo::DemoDevice]| -> Vec<String> {
        ds.iter()
            .map(|d| format!("{}/{} {} {}", d.gtin, d.serial, d.digital_link, d.note))
            .collect()
    };
    assert_eq!(lines(&first), lines(&second));

    let staff = Principal {
        subject: "test@ampera".into(),
        role: Role::Staff,
        org: "ampera".into(),
    };
    for status in ["installed", "returned", "stolen", "decommissioned"] {
        assert!(
            first.iter().any(|d| d.status == status),
            "no {status} pack in {:?}",
            lines(&first)
        );
    }
    for d in &first {
        let device = portal
            .device((&staff).into(), &key(&d.gtin, &d.serial))
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{} is missing", d.serial));
        assert_eq!(
            device.status.map(|s| s.as_str()),
            Some(d.status),
            "{}: {}",
            d.serial,
            d.note
        );
        assert_eq!(device.digital_link, d.digital_link);
    }

    // The repaired pack: the removed board and its replacement, with dates.
    let swapped = first
        .iter()
        .find(|d| d.note.contains("replaced"))
        .expect("a repaired pack");
    let device = portal
        .device((&staff).into(), &key(&swapped.gtin, &swapped.serial))
        .await
        .unwrap()
        .unwrap();
    let lineage = portal
        .lineage((&staff).into(), &device, None)
        .await
        .unwrap();
    assert_eq!(lineage.len(), 3, "module, old board, new board");
    let removed: Vec<_> = lineage.iter().filter(|n| n.removed_at.is_some()).collect();
    assert_eq!(removed.len(), 1);
    let old = removed[0];
    let new = lineage
        .iter()
        .find(|n| n.device.gtin == old.device.gtin && n.removed_at.is_none())
        .expect("the new board");
    assert!(old.installed_at < old.removed_at);
    assert!(old.removed_at <= new.installed_at);
    assert!(swapped.note.contains(&old.device.serial));
    assert!(swapped.note.contains(&new.device.serial));
    let now = portal
        .lineage((&staff).into(), &device, Some(chrono::Utc::now()))
        .await
        .unwrap();
    assert_eq!(now.len(), 2);
    assert!(now.iter().all(|n| n.device.serial != old.device.serial));

    // The whole demo log re-verifies from its served tiles, and every
    // leaf's tlog-proof verifies against the served checkpoint and key.
    let (size, _) = portal.store().log_head().await.unwrap();
    let note = app.checkpoint_of(size as u64).await;
    let vkey = app.text("/log/vkey").await;
    let cp = crate::log::open_checkpoint(&note, vkey.trim());
    assert_eq!(cp.size, size as u64);
    let entries = app.reverify(&cp).await;
    let verifiers = vec![provenance::ledger::NoteVerifier::parse(vkey.trim()).unwrap()];
    for (i, entry) in entries.iter().enumerate() {
        let text = portal.tlog_proof(i as u64).await.unwrap();
        provenance::ledger::TlogProof::parse(&text)
            .unwrap()
            .verify(
                &provenance::ledger::leaf_hash(entry),
                &portal.log_origin(),
                &verifiers,
            )
            .unwrap_or_else(|e| panic!("leaf {i}: {e}"));
    }
}

/// `provenance audit` on a demo database: passes, and still passes after a
/// demo customer's personal values are erased.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_passes_on_the_demo_database_before_and_after_an_erasure() {
    let app = spawn_app(Backend::Sqlite).await.expect("SQLite app");
    let portal = &app.portal;
    portal.seed_demo().await.unwrap();
    let devices = portal.seed_demo_devices().await.unwrap();
    portal.checkpoint_now().await.unwrap();
    let audit = |app: &crate::helpers::TestApp| {
        let out = crate::cli::provenance(app).arg("audit").output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stdout, stderr) = audit(&app);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stdout.starts_with("audit passed:"), "{stdout}");
    let installed = devices
        .iter()
        .find(|d| d.status == "installed")
        .expect("an installed pack");
    let erased = portal
        .erase(
            &format!("{}/{}", installed.gtin, installed.serial),
            "personal",
            "customer asked (GDPR art. 17)",
            "test",
        )
        .await
        .unwrap();
    assert_eq!(erased.values, 1, "the installation's customerPostcode");
    let (code, stdout, stderr) = audit(&app);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("1 erased with a record"), "{stdout}");
}

/// What each demo persona gets for the same demo pack (the repaired one:
/// shipped, installed with a customer's postcode, serviced, a board
/// swapped), as insta snapshots: a privacy change shows up as a diff.
/// Commitments (salted, different on every seeding) are shown as
/// `[commitment]`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_demo_persona_sees_the_repaired_pack_as_the_policy_says() {
    let app = spawn_app(Backend::Sqlite).await.expect("SQLite app");
    let portal = &app.portal;
    portal.seed_demo().await.unwrap();
    let devices = portal.seed_demo_devices().await.unwrap();
    let pack = devices
        .iter()
        .find(|d| d.note.contains("replaced"))
        .expect("the repaired pack");
    let query = format!(
        "{{ device(gtin: \"{}\", serial: \"{}\") {{ status custodian servicePartner \
         lineage {{ device {{ serial }} installedAt removedAt }} \
         history {{ edges {{ node {{ bizStep eventDate fields {{ name value commitment erased }} }} }} }} }} }}",
        pack.gtin, pack.serial
    );
    for token in portal.demo_tokens().await.unwrap() {
        let body = app.graphql(Some(&token.jwt), &query).await;
        let view = if body["errors"].is_array() {
            serde_json::json!({ "errors": body["errors"] })
        } else {
            let device = &body["data"]["device"];
            let history: Vec<serde_json::Value> = device["history"]["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| {
                    let node = &e["node"];
                    let fields: serde_json::Map<String, serde_json::Value> = node["fields"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|f| {
                            let shown = if f["erased"] == true {
                                "[erased]".into()
                            } else if f["commitment"].is_string() {
                                "[commitment]".into()
                            } else {
                                f["value"].clone()
                            };
                            (f["name"].as_str().unwrap().to_owned(), shown)
                        })
                        .collect();
                    serde_json::json!({ "bizStep": node["bizStep"], "eventDate": node["eventDate"], "fields": fields })
                })
                .collect();
            serde_json::json!({
                "status": device["status"],
                "custodian": device["custodian"],
                "servicePartner": device["servicePartner"],
                "lineage": device["lineage"],
                "history": history,
            })
        };
        insta::assert_json_snapshot!(format!("persona_{}_{}", token.persona, token.org), view);
    }
}

fn key(gtin: &str, serial: &str) -> provenance::domain::DeviceKey {
    provenance::domain::DeviceKey::parse(&format!("{gtin}/{serial}")).unwrap()
}
