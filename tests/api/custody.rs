//! Custody as data (issue 12): the leaks of the old read-time replay, the
//! custody grab and the destroy by a service partner, status changed only
//! on purpose, the data step for existing databases and the audit of the
//! intervals.

use provenance::auth::Role;
use provenance::services::audit::AuditError;
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::{Value, json};

use crate::events::{BMS_GTIN, PACK_GTIN, aggregation, dl, object};
use crate::helpers::{Backend, TestApp, spawn_app};

both_backends!(
    a_part_shipped_on_inside_a_pack_leaves_its_first_holder,
    an_observed_receipt_makes_no_service_partner_a_holder,
    a_service_partner_neither_takes_custody_nor_destroys,
    stolen_and_recalled_are_cleared_only_on_purpose,
    existing_databases_get_their_intervals_and_the_audit_checks_them,
    a_past_holder_of_a_pack_does_not_see_parts_installed_after_it_left,
    a_wrong_destroyed_is_undone_by_an_error_declaration,
);

pub(crate) fn ok(r: &Value) {
    assert!(r.get("errors").is_none(), "{r}");
}

fn refused(r: &Value, field: &str) -> String {
    let e = &r["errors"][0]["extensions"];
    assert_eq!(e["code"], "INVALID_INPUT", "{r}");
    assert_eq!(e["field"], field, "{r}");
    e["reason"].as_str().unwrap_or_default().to_owned()
}

pub(crate) fn ship(id: &str, epcs: &[&str], to: &str) -> Value {
    let mut e = object(id, "shipping", epcs);
    e["destinationList"] = json!([{ "type": "owning_party", "id": to }]);
    e
}

fn marked(mut e: Value, marker: &str) -> Value {
    e["extensions"] = json!([{ "name": "note", "value": marker, "visibility": "PARTNER" }]);
    e
}

/// The raw JSON of the caller's view of a device and its history.
pub(crate) async fn raw_history(app: &TestApp, token: &str, gtin: &str, serial: &str) -> String {
    let query = format!(
        "{{ device(gtin: \"{gtin}\", serial: \"{serial}\") {{ serial history {{ edges {{ node {{ eventID fields {{ name value }} }} }} }} }} }}"
    );
    let r = app.gql(token, &query, json!({})).await;
    assert!(r.get("errors").is_none(), "{r}");
    r.to_string()
}

pub(crate) async fn assign(app: &TestApp, staff: &str, serial: &str, org: Option<&str>) {
    let r = app
        .gql(
            staff,
            "mutation($s: String!, $o: String) { assignServicePartner(gtin: \"04012345000016\", serial: $s, organisation: $o) }",
            json!({ "s": serial, "o": org }),
        )
        .await;
    ok(&r);
}

/// A distributor receives a loose part, installs it in a pack it holds and
/// ships the pack on. Once the next holder has received the pack, what
/// happens to the part is none of the first distributor's business.
async fn a_part_shipped_on_inside_a_pack_leaves_its_first_holder(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let staff = app.with_products().await;
    let velo = app.token(Role::Distributor, "veloparts-eu").await;
    let nord = app.token(Role::Distributor, "nordcycle").await;
    let (part, pack) = (dl(BMS_GTIN, "B1"), dl(PACK_GTIN, "P1"));
    ok(&app
        .capture(
            &staff,
            vec![
                object("c-1", "commissioning", &[&part, &pack]),
                ship("c-2", &[&part, &pack], "veloparts-eu"),
            ],
        )
        .await);
    ok(&app
        .capture(
            &velo,
            vec![
                object("c-3", "receiving", &[&part, &pack]),
                marked(
                    aggregation("c-4", "ADD", "assembling", &pack, &[&part]),
                    "MARK-WHILE-VELO",
                ),
                ship("c-5", &[&pack], "nordcycle"),
            ],
        )
        .await);
    ok(&app
        .capture(&nord, vec![object("c-6", "receiving", &[&pack])])
        .await);
    // The new holder holds the part through the pack and records on it.
    ok(&app
        .capture(
            &nord,
            vec![marked(object("c-7", "inspecting", &[&part]), "MARK-AFTER")],
        )
        .await);
    let seen = raw_history(&app, &velo, BMS_GTIN, "B1").await;
    assert!(seen.contains("MARK-WHILE-VELO"), "{seen}");
    assert!(
        seen.contains("inspecting"),
        "the part's event itself is public: {seen}"
    );
    assert!(!seen.contains("MARK-AFTER"), "{seen}");
    let theirs = raw_history(&app, &nord, BMS_GTIN, "B1").await;
    assert!(theirs.contains("MARK-AFTER"), "{theirs}");
    // Custodian of the part is the pack's holder.
    let d = app.device(&staff, BMS_GTIN, "B1", "custodian").await;
    assert_eq!(d["custodian"], "nordcycle");
}

/// A service partner records an AssociationEvent OBSERVE with bizStep
/// receiving on a pack it services. That is no custody: once unassigned,
/// the pack does not exist for it.
async fn an_observed_receipt_makes_no_service_partner_a_holder(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let staff = app.with_products().await;
    let pedal = app.token(Role::ServicePartner, "pedalfix").await;
    let (part, pack) = (dl(BMS_GTIN, "B2"), dl(PACK_GTIN, "P2"));
    ok(&app
        .capture(
            &staff,
            vec![
                object("a-1", "commissioning", &[&part, &pack]),
                aggregation("a-2", "ADD", "assembling", &pack, &[&part]),
            ],
        )
        .await);
    assign(&app, &staff, "P2", Some("pedalfix")).await;
    let mut observe = aggregation("a-3", "OBSERVE", "receiving", &pack, &[&part]);
    observe["type"] = json!("AssociationEvent");
    ok(&app.capture(&pedal, vec![observe]).await);
    let seen = raw_history(&app, &pedal, PACK_GTIN, "P2").await;
    assert!(seen.contains("a-3"), "{seen}");
    assign(&app, &staff, "P2", None).await;
    ok(&app
        .capture(
            &staff,
            vec![marked(object("a-4", "inspecting", &[&pack]), "MARK-LATER")],
        )
        .await);
    let r = app
        .gql(
            &pedal,
            "{ device(gtin: \"04012345000016\", serial: \"P2\") { serial } }",
            json!({}),
        )
        .await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "NOT_FOUND", "{r}");
    assert!(!r.to_string().contains("MARK-LATER"));
    let r = app
        .gql(
            &pedal,
            "{ devices(first: 10) { edges { node { serial } } } }",
            json!({}),
        )
        .await;
    assert!(!r.to_string().contains("P2"), "{r}");
}

/// A service partner holding a part of its own may not make the pack it
/// services a child of that part (taking the pack into its custody), nor
/// destroy or decommission the pack.
async fn a_service_partner_neither_takes_custody_nor_destroys(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let staff = app.with_products().await;
    let pedal = app.token(Role::ServicePartner, "pedalfix").await;
    let nord = app.token(Role::Distributor, "nordcycle").await;
    let (part, pack) = (dl(BMS_GTIN, "B3"), dl(PACK_GTIN, "P3"));
    ok(&app
        .capture(
            &staff,
            vec![
                object("g-1", "commissioning", &[&part, &pack]),
                ship("g-2", &[&part], "pedalfix"),
                ship("g-3", &[&pack], "nordcycle"),
            ],
        )
        .await);
    ok(&app
        .capture(&pedal, vec![object("g-4", "receiving", &[&part])])
        .await);
    ok(&app
        .capture(&nord, vec![object("g-5", "receiving", &[&pack])])
        .await);
    assign(&app, &staff, "P3", Some("pedalfix")).await;
    let reason = refused(
        &app.capture(
            &pedal,
            vec![aggregation("g-6", "ADD", "assembling", &part, &[&pack])],
        )
        .await,
        "childEPCs",
    );
    assert!(reason.contains("only its holder moves it"), "{reason}");
    let mut destroy = object("g-7", "inspecting", &[&pack]);
    destroy["disposition"] = json!("destroyed");
    // No relationship lets a service partner end a unit's life: refused
    // by the member that says so, before any device is looked at.
    refused(&app.capture(&pedal, vec![destroy]).await, "disposition");
    refused(
        &app.capture(&pedal, vec![object("g-8", "decommissioning", &[&pack])])
            .await,
        "bizStep",
    );
    let d = app
        .device(&staff, PACK_GTIN, "P3", "status custodian")
        .await;
    assert_eq!(d, json!({ "status": "in_stock", "custodian": "nordcycle" }));
    // Servicing stays allowed; so does a part swap into the serviced pack
    // with a part it holds: the part goes to the pack's holder.
    ok(&app
        .capture(
            &pedal,
            vec![
                object("g-9", "repairing", &[&pack]),
                aggregation("g-10", "ADD", "replacing", &pack, &[&part]),
            ],
        )
        .await);
    let d = app.device(&staff, BMS_GTIN, "B3", "custodian").await;
    assert_eq!(d["custodian"], "nordcycle");
    let summary = app.portal.audit().await.expect("audit");
    assert!(summary.custody_intervals > 0, "{summary}");
}

/// `stolen` ends only with a recovery by the holder or the manufacturer;
/// `recalled` is not cleared by a later receipt, and only the manufacturer
/// recalls.
async fn stolen_and_recalled_are_cleared_only_on_purpose(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let staff = app.with_products().await;
    let velo = app.token(Role::Distributor, "veloparts-eu").await;
    let pack = dl(PACK_GTIN, "P4");
    ok(&app
        .capture(
            &staff,
            vec![
                object("t-1", "commissioning", &[&pack]),
                ship("t-2", &[&pack], "veloparts-eu"),
            ],
        )
        .await);
    ok(&app
        .capture(&velo, vec![object("t-3", "receiving", &[&pack])])
        .await);
    let mut theft = object("t-4", "inspecting", &[&pack]);
    theft["disposition"] = json!("stolen");
    ok(&app.capture(&velo, vec![theft]).await);
    assert_eq!(status(&app, &staff).await, "stolen");
    // A part installed in a pack is not reported stolen on its own.
    let (part, other) = (dl(BMS_GTIN, "B4"), dl(PACK_GTIN, "P4b"));
    ok(&app
        .capture(
            &staff,
            vec![
                object("t-0a", "commissioning", &[&part, &other]),
                aggregation("t-0b", "ADD", "assembling", &other, &[&part]),
            ],
        )
        .await);
    let mut part_theft = object("t-0c", "inspecting", &[&part]);
    part_theft["disposition"] = json!("stolen");
    let reason = refused(&app.capture(&staff, vec![part_theft]).await, "epcList");
    assert!(reason.contains("installed"), "{reason}");
    // Another step leaves it stolen; receiving or shipping it is refused.
    ok(&app
        .capture(&velo, vec![object("t-5", "inspecting", &[&pack])])
        .await);
    assert_eq!(status(&app, &staff).await, "stolen");
    let reason = refused(
        &app.capture(&velo, vec![object("t-6", "receiving", &[&pack])])
            .await,
        "epcList",
    );
    assert!(reason.contains("stolen"), "{reason}");
    // The recovery step of docs/device-lifecycle.md ends it.
    let mut recovery = object("t-7", "urn:provenance-portal:bizstep:recovering", &[&pack]);
    recovery["extensions"] =
        json!([{ "name": "theftEventID", "value": "t-4", "visibility": "PUBLIC" }]);
    ok(&app.capture(&velo, vec![recovery.clone()]).await);
    assert_eq!(status(&app, &staff).await, "in_stock");
    // A second recovery has nothing to end.
    recovery["eventID"] = json!("t-8");
    refused(&app.capture(&velo, vec![recovery]).await, "epcList");
    // Only the manufacturer recalls; a later receipt does not clear it.
    let mut recall = object("t-9", "inspecting", &[&pack]);
    recall["disposition"] = json!("recalled");
    // Refused by role before any device is looked at: the same answer
    // whether or not the caller may see the device.
    refused(
        &app.capture(&velo, vec![recall.clone()]).await,
        "disposition",
    );
    ok(&app.capture(&staff, vec![recall]).await);
    assert_eq!(status(&app, &staff).await, "recalled");
    ok(&app
        .capture(&velo, vec![object("t-10", "receiving", &[&pack])])
        .await);
    assert_eq!(status(&app, &staff).await, "recalled");
    app.portal.audit().await.expect("audit");
}

async fn status(app: &TestApp, staff: &str) -> Value {
    app.device(staff, PACK_GTIN, "P4", "status").await["status"].clone()
}

async fn status7(app: &TestApp, staff: &str) -> Value {
    app.device(staff, PACK_GTIN, "P7", "status").await["status"].clone()
}

pub(crate) async fn sql(app: &TestApp, text: &str) {
    let db = Database::connect(&app.database_url).await.expect("connect");
    db.execute_raw(Statement::from_string(db.get_database_backend(), text))
        .await
        .expect(text);
    db.close().await.ok();
}

/// A database captured before the intervals existed: the audit refuses to
/// run (exit 2) until the data step has run; the step fills the intervals
/// the events imply, once; a tampered interval fails the audit.
async fn existing_databases_get_their_intervals_and_the_audit_checks_them(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let staff = app.with_products().await;
    let velo = app.token(Role::Distributor, "veloparts-eu").await;
    let (part, pack) = (dl(BMS_GTIN, "B5"), dl(PACK_GTIN, "P5"));
    ok(&app
        .capture(
            &staff,
            vec![
                object("d-1", "commissioning", &[&part, &pack]),
                aggregation("d-2", "ADD", "assembling", &pack, &[&part]),
                ship("d-3", &[&pack], "veloparts-eu"),
            ],
        )
        .await);
    ok(&app
        .capture(&velo, vec![object("d-4", "receiving", &[&pack])])
        .await);
    assign(&app, &staff, "P5", Some("pedalfix")).await;
    let before = app.portal.store().all_intervals().await.expect("intervals");
    assert_eq!(before.len(), 6, "{before:#?}");
    // As a database of the previous release looks after the migration.
    sql(&app, "DELETE FROM custody_interval").await;
    sql(
        &app,
        &format!(
            "DELETE FROM data_step WHERE name = '{}'",
            provenance::store::custody::CUSTODY_STEP
        ),
    )
    .await;
    match app.portal.audit().await {
        Err(AuditError::CannotRun(why)) => assert!(why.contains("data step"), "{why}"),
        other => panic!("expected the audit not to run: {other:?}"),
    }
    let store = app.portal.store();
    let replay = |events: Vec<_>| provenance::domain::custody::replay(&events);
    assert!(store.run_custody_step(replay).await.expect("step"));
    assert!(!store.run_custody_step(replay).await.expect("again"));
    let after = store.all_intervals().await.expect("intervals");
    // The service partner's interval starts at the log's size when the step
    // ran, not at its assignment; everything else is as capture wrote it.
    let strip = |v: &[provenance::domain::custody::Interval]| {
        v.iter()
            .filter(|i| i.kind != provenance::domain::custody::Kind::ServicePartner)
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&before), strip(&after));
    app.portal.audit().await.expect("audit after the step");
    sql(
        &app,
        "UPDATE custody_interval SET to_pos = NULL WHERE kind = 'holder' AND to_pos IS NOT NULL",
    )
    .await;
    match app.portal.audit().await {
        Err(AuditError::Mismatch(f)) => assert!(f.what.contains("custody interval"), "{f}"),
        other => panic!("expected a mismatch: {other:?}"),
    }
}

/// A distributor that held a pack and shipped it on does not learn of a
/// part the next holder installs in it afterwards.
async fn a_past_holder_of_a_pack_does_not_see_parts_installed_after_it_left(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let staff = app.with_products().await;
    let velo = app.token(Role::Distributor, "veloparts-eu").await;
    let nord = app.token(Role::Distributor, "nordcycle").await;
    let (part, pack) = (dl(BMS_GTIN, "B6"), dl(PACK_GTIN, "P6"));
    ok(&app
        .capture(
            &staff,
            vec![
                object("h-1", "commissioning", &[&part, &pack]),
                ship("h-2", &[&pack], "veloparts-eu"),
                ship("h-3", &[&part], "nordcycle"),
            ],
        )
        .await);
    ok(&app
        .capture(
            &velo,
            vec![
                object("h-4", "receiving", &[&pack]),
                ship("h-5", &[&pack], "nordcycle"),
            ],
        )
        .await);
    ok(&app
        .capture(
            &nord,
            vec![
                object("h-6", "receiving", &[&pack, &part]),
                aggregation("h-7", "ADD", "assembling", &pack, &[&part]),
            ],
        )
        .await);
    let r = app
        .gql(
            &velo,
            "{ device(gtin: \"04012345000016\", serial: \"P6\") { serial } }",
            json!({}),
        )
        .await;
    assert_eq!(r["data"]["device"]["serial"], "P6", "{r}");
    let r = app
        .gql(
            &velo,
            "{ device(gtin: \"04012345000023\", serial: \"B6\") { serial } }",
            json!({}),
        )
        .await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "NOT_FOUND", "{r}");
    let r = app
        .gql(
            &nord,
            "{ device(gtin: \"04012345000023\", serial: \"B6\") { serial custodian } }",
            json!({}),
        )
        .await;
    assert_eq!(r["data"]["device"]["custodian"], "nordcycle", "{r}");
}

/// A unit wrongly marked destroyed: the manufacturer re-sends the event with
/// an EPCIS errorDeclaration; both stay in the log and the status is
/// recomputed without the declared event.
async fn a_wrong_destroyed_is_undone_by_an_error_declaration(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let staff = app.with_products().await;
    let velo = app.token(Role::Distributor, "veloparts-eu").await;
    let pack = dl(PACK_GTIN, "P7");
    ok(&app
        .capture(
            &staff,
            vec![
                object("w-1", "commissioning", &[&pack]),
                ship("w-2", &[&pack], "veloparts-eu"),
            ],
        )
        .await);
    ok(&app
        .capture(&velo, vec![object("w-3", "receiving", &[&pack])])
        .await);
    let mut wrong = object("w-4", "inspecting", &[&pack]);
    wrong["disposition"] = json!("destroyed");
    ok(&app.capture(&staff, vec![wrong.clone()]).await);
    assert_eq!(status7(&app, &staff).await, "decommissioned");
    refused(
        &app.capture(&velo, vec![object("w-5", "inspecting", &[&pack])])
            .await,
        "epcList",
    );
    let mut declaration = wrong.clone();
    declaration["errorDeclaration"] = json!({
        "declarationTime": "2026-06-03T09:00:00Z",
        "reason": "incorrect_data",
        "correctiveEventIDs": ["w-6"],
    });
    // Only the manufacturer declares; only the event as it was captured.
    let r = app.capture(&velo, vec![declaration.clone()]).await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "FORBIDDEN", "{r}");
    let mut edited = declaration.clone();
    edited["disposition"] = json!("damaged");
    refused(&app.capture(&staff, vec![edited]).await, "errorDeclaration");
    let mut unknown = declaration.clone();
    unknown["eventID"] = json!("never-captured");
    refused(&app.capture(&staff, vec![unknown]).await, "eventID");
    let r = app.capture(&staff, vec![declaration.clone()]).await;
    ok(&r);
    let receipt = r["data"]["captureEvents"]["receipts"][0].clone();
    assert_eq!(receipt["eventID"], "w-4#errorDeclaration", "{r}");
    assert_eq!(status7(&app, &staff).await, "in_stock");
    // The same declaration again is a replay: the same receipt.
    let again = app.capture(&staff, vec![declaration]).await;
    assert_eq!(
        again["data"]["captureEvents"]["receipts"][0], receipt,
        "{again}"
    );
    // The unit takes events again; both events stay in its history.
    ok(&app
        .capture(&velo, vec![object("w-6", "inspecting", &[&pack])])
        .await);
    // Only a unit's latest event is declared: w-6 came after w-5's refusal.
    ok(&app
        .capture(&velo, vec![object("w-7", "inspecting", &[&pack])])
        .await);
    let mut not_latest = object("w-6", "inspecting", &[&pack]);
    not_latest["errorDeclaration"] = json!({ "declarationTime": "2026-06-03T10:00:00Z" });
    let reason = refused(
        &app.capture(&staff, vec![not_latest]).await,
        "errorDeclaration",
    );
    assert!(reason.contains("latest"), "{reason}");
    let seen = raw_history(&app, &staff, PACK_GTIN, "P7").await;
    assert!(seen.contains("\"w-4\""), "{seen}");
    assert!(seen.contains("w-4#errorDeclaration"), "{seen}");
    assert!(seen.contains("incorrect_data"), "{seen}");
    // Events that moved custody are corrected with new events instead.
    let mut receipt_declared = object("w-3", "receiving", &[&pack]);
    receipt_declared["errorDeclaration"] = json!({ "declarationTime": "2026-06-03T09:00:00Z" });
    let r = app.capture(&staff, vec![receipt_declared]).await;
    refused(&r, "errorDeclaration");
    // Clients cannot take a declaration's eventID.
    refused(
        &app.capture(
            &staff,
            vec![object("w-9#errorDeclaration", "inspecting", &[&pack])],
        )
        .await,
        "eventID",
    );
    app.portal.audit().await.expect("audit");
}
