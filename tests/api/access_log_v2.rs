//! The access log's second form (docs/access-policy.md, "Access log"):
//! devices filtered exactly through rows of their own, and client
//! addresses chained as salted commitments, so they can be erased after
//! their retention while the chain still verifies.

use provenance::auth::Role;
use provenance::store::access::AccessFilter;
use serde_json::json;

use crate::audit::{audit_finding, connect, exec, one_text};
use crate::events::{PACK_GTIN, object};
use crate::helpers::{Backend, spawn_app};

both_backends!(devices_filter_exactly_and_addresses_erase_under_a_verifying_chain);

fn dl_encoded(serial: &str) -> String {
    format!("https://id.example/01/{PACK_GTIN}/21/{serial}")
}

async fn devices_filter_exactly_and_addresses_erase_under_a_verifying_chain(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let staff = app.with_products().await;
    // Serials with a quote, and two devices captured together: the JSON
    // text of that row holds `"…/X","…/Y"`, which the serial below spells.
    let r = app
        .capture(
            &staff,
            vec![
                object("q-1", "commissioning", &[dl_encoded("Q%221")]),
                object("q-2", "commissioning", &[dl_encoded("X"), dl_encoded("Y")]),
            ],
        )
        .await;
    assert!(r.get("errors").is_none(), "{r}");
    let store = app.portal.store();
    let rows = |device: String| {
        let filter = AccessFilter {
            device: Some(device),
            ..Default::default()
        };
        async move { store.access_rows(&filter, 0, 100).await.unwrap() }
    };
    let quoted = rows(format!("{PACK_GTIN}/Q\"1")).await;
    assert_eq!(quoted.len(), 1, "a serial with a quote is found");
    assert_eq!(quoted[0].1.operation, "captureEvents");
    let crafted = rows(format!("{PACK_GTIN}/X\",\"{PACK_GTIN}/Y")).await;
    assert!(crafted.is_empty(), "a crafted serial matches nothing");
    assert_eq!(rows(format!("{PACK_GTIN}/Y")).await.len(), 1);

    // The address is stored beside its commitment; the chain holds only
    // the commitment.
    let db = connect(&app).await;
    let id = crate::audit::one_i64(&db, "SELECT MAX(id) FROM access_log").await;
    assert_eq!(
        one_text(
            &db,
            &format!("SELECT client FROM access_log WHERE id = {id}")
        )
        .await,
        "127.0.0.1"
    );
    app.portal.audit().await.expect("the chain verifies");

    // An edited address, and a removed device row, fail the audit.
    exec(
        &db,
        &format!("UPDATE access_log SET client = '10.9.9.9' WHERE id = {id}"),
    )
    .await;
    let finding = audit_finding(&app).await;
    assert!(
        finding.contains("client address does not open its commitment"),
        "{finding}"
    );
    exec(
        &db,
        &format!("UPDATE access_log SET client = '127.0.0.1' WHERE id = {id}"),
    )
    .await;
    app.portal.audit().await.expect("restored");
    exec(
        &db,
        &format!("DELETE FROM access_log_device WHERE access_id = {id} AND device LIKE '%/Y'"),
    )
    .await;
    let finding = audit_finding(&app).await;
    assert!(
        finding.contains("device rows are not the devices it names"),
        "{finding}"
    );
    exec(
        &db,
        &format!(
            "INSERT INTO access_log_device (access_id, device) VALUES ({id}, '{PACK_GTIN}/Y')"
        ),
    )
    .await;
    app.portal.audit().await.expect("restored");

    // Erasing addresses: gone from the rows, the chain still verifies.
    let cutoff = chrono::Utc::now() + chrono::Duration::seconds(5);
    let done = store
        .erase_client_addresses(cutoff, |outcome| provenance::store::access::AccessRow {
            at: provenance::store::access::AccessRow::now(),
            subject: "dpo".into(),
            role: "operator".into(),
            organisation: String::new(),
            operation: provenance::store::access::ERASE_CLIENTS.into(),
            devices: Vec::new(),
            classes: vec!["personal".into()],
            client: "cli".into(),
            outcome,
            reason: None,
        })
        .await
        .unwrap();
    assert!(done.erased >= 3, "{done:?}");
    assert_eq!(done.first_form, 0);
    // All but the erasure's own row (written after the cutoff's rows).
    let left = crate::audit::one_i64(
        &db,
        "SELECT COUNT(*) FROM access_log WHERE client <> '' OR client_salt IS NOT NULL",
    )
    .await;
    assert_eq!(left, 1);
    db.close().await.ok();
    let summary = app
        .portal
        .audit()
        .await
        .expect("erased addresses still chain");
    assert!(summary.access_rows >= 3, "{summary}");
    let auditor = app.token(Role::Auditor, "eu-msa").await;
    let r = app
        .gql(
            &auditor,
            "{ accessLog(first: 1) { edges { node { client } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        r["data"]["accessLog"]["edges"][0]["node"]["client"], "",
        "{r}"
    );

    // The command: at least a day is kept; what it does is logged.
    let out = crate::cli::provenance(&app)
        .args(["access-log", "erase-clients", "--older-than-days", "0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least a day"));
    let out = crate::cli::provenance(&app)
        .args(["access-log", "erase-clients", "--older-than-days", "30"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("0 client address(es) erased"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let logged = store
        .access_rows(&AccessFilter::default(), 0, 1000)
        .await
        .unwrap();
    assert_eq!(
        logged.last().map(|(_, r)| r.operation.as_str()),
        Some("eraseClientAddresses")
    );
    app.portal.audit().await.expect("clean");

    // An address blanked behind the portal's back is not an erasure.
    let db = connect(&app).await;
    exec(
        &db,
        "UPDATE access_log SET client = '', client_salt = NULL WHERE id = (SELECT MAX(id) FROM access_log)",
    )
    .await;
    db.close().await.ok();
    let finding = audit_finding(&app).await;
    assert!(finding.contains("no erasure row covers it"), "{finding}");
}
