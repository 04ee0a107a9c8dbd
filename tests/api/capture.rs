//! Capture over GraphQL: all-or-nothing batches, idempotency, the rules,
//! custody, status and lineage across a part swap.

use provenance::auth::Role;
use serde_json::{Value, json};

use crate::events::{BMS_GTIN, PACK_GTIN, aggregation, at, dl, object};
use crate::helpers::{Backend, spawn_app};

both_backends!(
    a_bad_event_rejects_the_whole_batch,
    replays_return_the_original_receipts,
    commissioning_rules,
    custody_and_status_follow_the_events,
    partners_capture_only_for_their_devices,
    part_swap_keeps_history,
    concurrent_captures_both_succeed,
);

fn errors(body: &Value) -> Vec<(u64, String, String)> {
    body["errors"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|e| {
            let x = &e["extensions"];
            assert_eq!(x["code"], "INVALID_INPUT", "{e}");
            (
                x["index"].as_u64().expect("index"),
                x["field"].as_str().expect("field").to_owned(),
                x["reason"].as_str().expect("reason").to_owned(),
            )
        })
        .collect()
}

async fn a_bad_event_rejects_the_whole_batch(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let staff = app.with_products().await;
    let mut batch: Vec<Value> = (0..1000)
        .map(|i| {
            object(
                &format!("c-{i}"),
                "commissioning",
                &[dl(PACK_GTIN, &format!("P{i}"))],
            )
        })
        .collect();
    batch[637]["bizStep"] = json!("burn_in");
    batch[912]["epcList"] = json!(["https://id.example/01/04012345000017/21/X"]);
    let body = app.capture(&staff, batch.clone()).await;
    assert_eq!(body["data"], Value::Null, "{body}");
    let errs = errors(&body);
    assert_eq!(errs.len(), 2, "{body}");
    assert_eq!((errs[0].0, errs[0].1.as_str()), (637, "bizStep"));
    assert_eq!((errs[1].0, errs[1].1.as_str()), (912, "epcList"));
    assert!(errs[1].2.contains("Digital Link"), "{}", errs[1].2);
    for table in ["event", "event_field", "device", "event_device"] {
        assert_eq!(app.count(table).await, 0, "{table} must be empty");
    }
    // A rule that needs the database (an unknown device) also rejects all.
    batch[637]["bizStep"] = json!("commissioning");
    batch[912] = object("c-912", "inspecting", &[dl(PACK_GTIN, "NOPE")]);
    let body = app.capture(&staff, batch.clone()).await;
    let errs = errors(&body);
    assert_eq!(errs.len(), 1, "{body}");
    assert_eq!(errs[0].0, 912);
    assert_eq!(app.count("event").await, 0);
    // Fixed, the batch is accepted whole and answers one receipt per event.
    batch[912] = object("c-912", "commissioning", &[dl(PACK_GTIN, "P912")]);
    let body = app.capture(&staff, batch).await;
    let receipts = body["data"]["captureEvents"]["receipts"]
        .as_array()
        .expect("receipts");
    assert_eq!(receipts.len(), 1000);
    assert_eq!(receipts[5]["eventID"], "c-5");
    assert_eq!(app.count("event").await, 1000);
    assert_eq!(app.count("device").await, 1000);
    // Too large a batch is refused before anything else.
    let big: Vec<Value> = (0..10_001)
        .map(|i| object(&format!("b{i}"), "inspecting", &[dl(PACK_GTIN, "P1")]))
        .collect();
    let body = app.capture(&staff, big).await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "INVALID_INPUT",
        "{body}"
    );
}

async fn replays_return_the_original_receipts(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let staff = app.with_products().await;
    let batch = vec![
        object("r-1", "commissioning", &[dl(PACK_GTIN, "R1")]),
        object("r-2", "inspecting", &[dl(PACK_GTIN, "R1")]),
    ];
    let first = app.capture(&staff, batch.clone()).await;
    let receipts = first["data"]["captureEvents"]["receipts"].clone();
    assert_eq!(receipts.as_array().map(Vec::len), Some(2), "{first}");
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    // The same events again, even spelled differently (CBV URI, another
    // Digital Link host, the same instant in another offset notation).
    let mut again = batch.clone();
    again[1]["bizStep"] = json!("https://ref.gs1.org/cbv/BizStep-inspecting");
    again[1]["epcList"] = json!(["https://other.example/01/04012345000016/21/R1"]);
    again[1]["eventTime"] = json!("2026-06-01T06:00:00Z");
    let second = app.capture(&staff, again).await;
    assert_eq!(
        second["data"]["captureEvents"]["receipts"], receipts,
        "{second}"
    );
    assert_eq!(app.count("event").await, 2);
    // A replay mixed with a new event: old receipts kept, the new one added.
    let mut mixed = batch.clone();
    mixed.push(object("r-3", "packing", &[dl(PACK_GTIN, "R1")]));
    let third = app.capture(&staff, mixed).await;
    let r3 = &third["data"]["captureEvents"]["receipts"];
    assert_eq!(r3[0], receipts[0]);
    assert_eq!(r3[2]["eventID"], "r-3");
    // The same event twice in one batch is one event, with one receipt.
    let twice = vec![
        object("r-4", "packing", &[dl(PACK_GTIN, "R1")]),
        object("r-4", "packing", &[dl(PACK_GTIN, "R1")]),
    ];
    let body = app.capture(&staff, twice).await;
    let r4 = &body["data"]["captureEvents"]["receipts"];
    assert_eq!(r4[0], r4[1], "{body}");
    assert_eq!(app.count("event").await, 4);
    // A different event under a known eventID is rejected.
    let mut changed = batch[1].clone();
    changed["bizStep"] = json!("packing");
    let body = app.capture(&staff, vec![changed]).await;
    let errs = errors(&body);
    assert_eq!((errs[0].0, errs[0].1.as_str()), (0, "eventID"), "{body}");
    assert_eq!(app.count("event").await, 4);
}

async fn commissioning_rules(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let staff = app.with_products().await;
    // Unknown product.
    let body = app
        .capture(
            &staff,
            vec![object("k-1", "commissioning", &[dl("04012345000030", "A")])],
        )
        .await;
    assert!(errors(&body)[0].2.contains("no product"), "{body}");
    // A serial commissioned twice, in one batch or across batches.
    let body = app
        .capture(
            &staff,
            vec![
                object("k-2", "commissioning", &[dl(PACK_GTIN, "A")]),
                object("k-3", "commissioning", &[dl(PACK_GTIN, "A")]),
            ],
        )
        .await;
    assert_eq!(errors(&body)[0].0, 1, "{body}");
    let ok = app
        .capture(
            &staff,
            vec![object("k-2", "commissioning", &[dl(PACK_GTIN, "A")])],
        )
        .await;
    assert!(ok.get("errors").is_none(), "{ok}");
    let body = app
        .capture(
            &staff,
            vec![object("k-4", "commissioning", &[dl(PACK_GTIN, "A")])],
        )
        .await;
    assert!(
        errors(&body)[0].2.contains("already commissioned"),
        "{body}"
    );
    // eventTime in the future.
    let body = app
        .capture(
            &staff,
            vec![at(
                object("k-5", "inspecting", &[dl(PACK_GTIN, "A")]),
                "2099-01-01T00:00:00Z",
            )],
        )
        .await;
    assert_eq!(errors(&body)[0].1, "eventTime");
    // Extension names and classes.
    let mut e = object("k-6", "inspecting", &[dl(PACK_GTIN, "A")]);
    e["extensions"] = json!([{ "name": "Bad Name", "value": 1 }]);
    assert_eq!(
        errors(&app.capture(&staff, vec![e.clone()]).await)[0].1,
        "Bad Name"
    );
    e["extensions"] = json!([
        { "name": "qcResult", "value": "pass", "visibility": "PARTNER" },
        { "name": "rawTrace", "value": [1, 2, 3] }
    ]);
    assert!(app.capture(&staff, vec![e]).await.get("errors").is_none());
    // Decommissioned devices take no more events.
    let ok = app
        .capture(
            &staff,
            vec![object("k-7", "decommissioning", &[dl(PACK_GTIN, "A")])],
        )
        .await;
    assert!(ok.get("errors").is_none(), "{ok}");
    let d = app.device(&staff, PACK_GTIN, "A", "status").await;
    assert_eq!(d["status"], "decommissioned");
    let body = app
        .capture(
            &staff,
            vec![object("k-8", "inspecting", &[dl(PACK_GTIN, "A")])],
        )
        .await;
    assert!(errors(&body)[0].2.contains("decommissioned"), "{body}");
    // Regulators do not capture.
    let regulator = app.token(Role::Regulator, "eu-msa").await;
    let body = app
        .capture(
            &regulator,
            vec![object("k-9", "inspecting", &[dl(PACK_GTIN, "A")])],
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{body}"
    );
}

async fn custody_and_status_follow_the_events(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let staff = app.with_products().await;
    let dist = app.token(Role::Distributor, "veloparts-eu").await;
    let pack = dl(PACK_GTIN, "S1");
    let mut ship = object("s-2", "shipping", &[&pack]);
    ship["destinationList"] = json!([{ "type": "owning_party", "id": "veloparts-eu" }]);
    let r = app
        .capture(&staff, vec![object("s-1", "commissioning", &[&pack]), ship])
        .await;
    assert!(r.get("errors").is_none(), "{r}");
    let d = app
        .device(&staff, PACK_GTIN, "S1", "status custodian")
        .await;
    assert_eq!(d, json!({ "status": "in_transit", "custodian": "ampera" }));
    // The distributor sees the device shipped to it, and receives it.
    let r = app
        .capture(&dist, vec![object("s-3", "receiving", &[&pack])])
        .await;
    assert!(r.get("errors").is_none(), "{r}");
    let d = app.device(&dist, PACK_GTIN, "S1", "status custodian").await;
    assert_eq!(
        d,
        json!({ "status": "in_stock", "custodian": "veloparts-eu" })
    );
    // Shipping without a known destination is refused.
    let mut bad = object("s-4", "shipping", &[&pack]);
    bad["destinationList"] = json!([{ "type": "owning_party", "id": "nobody-here" }]);
    assert_eq!(
        errors(&app.capture(&dist, vec![bad]).await)[0].1,
        "destinationList"
    );
    for (i, (step, disposition, status)) in [
        ("installing", None, "installed"),
        ("repairing", None, "in_repair"),
        ("inspecting", Some("returned"), "returned"),
        ("inspecting", Some("stolen"), "stolen"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut e = object(&format!("st-{i}"), step, &[&pack]);
        if let Some(d) = disposition {
            e["disposition"] = json!(d);
        }
        let r = app.capture(&dist, vec![e]).await;
        assert!(r.get("errors").is_none(), "{r}");
        assert_eq!(
            app.device(&staff, PACK_GTIN, "S1", "status").await["status"],
            status
        );
    }
}

async fn partners_capture_only_for_their_devices(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let staff = app.with_products().await;
    let other = app.token(Role::Distributor, "nordcycle").await;
    let r = app
        .capture(
            &staff,
            vec![object("p-1", "commissioning", &[dl(PACK_GTIN, "Q1")])],
        )
        .await;
    assert!(r.get("errors").is_none(), "{r}");
    // A partner cannot commission, and a device it has no tie to is reported
    // exactly like one that does not exist.
    let body = app
        .capture(
            &other,
            vec![object("p-2", "commissioning", &[dl(PACK_GTIN, "Q2")])],
        )
        .await;
    assert!(
        errors(&body)[0].2.contains("only the manufacturer"),
        "{body}"
    );
    let forbidden = app
        .capture(
            &other,
            vec![object("p-3", "inspecting", &[dl(PACK_GTIN, "Q1")])],
        )
        .await;
    let unknown = app
        .capture(
            &other,
            vec![object("p-3", "inspecting", &[dl(PACK_GTIN, "ZZ")])],
        )
        .await;
    assert_eq!(
        errors(&forbidden)[0].2.replace("Q1", "?"),
        errors(&unknown)[0].2.replace("ZZ", "?")
    );
    // Reads: the same NOT_FOUND as an unknown serial.
    let read = |serial: &'static str| {
        app.gql(
            &other,
            "query($s: String!) { device(gtin: \"04012345000016\", serial: $s) { status } }",
            json!({ "s": serial }),
        )
    };
    let (forbidden, unknown) = (read("Q1").await, read("ZZ").await);
    assert_eq!(
        forbidden["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{forbidden}"
    );
    assert_eq!(forbidden, unknown);
    // Assigned as service partner, the organisation may capture for it.
    let service = app.token(Role::ServicePartner, "wheelworks").await;
    let r = app
        .gql(&staff, "mutation { assignServicePartner(gtin: \"04012345000016\", serial: \"Q1\", organisation: \"wheelworks\") }", json!({}))
        .await;
    assert_eq!(r["data"]["assignServicePartner"], true, "{r}");
    let r = app
        .capture(
            &service,
            vec![object("p-4", "repairing", &[dl(PACK_GTIN, "Q1")])],
        )
        .await;
    assert!(r.get("errors").is_none(), "{r}");
    // The service partner may swap a part of the pack it services.
    let r = app
        .capture(
            &staff,
            vec![
                object("p-5", "commissioning", &[dl(BMS_GTIN, "QB")]),
                aggregation(
                    "p-6",
                    "ADD",
                    "assembling",
                    &dl(PACK_GTIN, "Q1"),
                    &[dl(BMS_GTIN, "QB")],
                ),
            ],
        )
        .await;
    assert!(r.get("errors").is_none(), "{r}");
    let r = app
        .capture(
            &service,
            vec![aggregation(
                "p-7",
                "DELETE",
                "removing",
                &dl(PACK_GTIN, "Q1"),
                &[dl(BMS_GTIN, "QB")],
            )],
        )
        .await;
    assert!(r.get("errors").is_none(), "{r}");
    // A device shipped to a partner: it may record the receipt, nothing else.
    let mut ship = object("p-8", "shipping", &[dl(PACK_GTIN, "Q1")]);
    ship["destinationList"] = json!([{ "type": "owning_party", "id": "nordcycle" }]);
    let r = app.capture(&staff, vec![ship]).await;
    assert!(r.get("errors").is_none(), "{r}");
    let body = app
        .capture(
            &other,
            vec![object("p-9", "inspecting", &[dl(PACK_GTIN, "Q1")])],
        )
        .await;
    assert!(errors(&body)[0].2.contains("unknown device"), "{body}");
    let r = app
        .capture(
            &other,
            vec![object("p-9", "receiving", &[dl(PACK_GTIN, "Q1")])],
        )
        .await;
    assert!(r.get("errors").is_none(), "{r}");
    let d = app
        .device(&service, PACK_GTIN, "Q1", "servicePartner status")
        .await;
    assert_eq!(
        d,
        json!({ "servicePartner": "wheelworks", "status": "in_stock" })
    );
}

async fn part_swap_keeps_history(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let staff = app.with_products().await;
    let (pack, old, new) = (
        dl(PACK_GTIN, "W1"),
        dl(BMS_GTIN, "B-OLD"),
        dl(BMS_GTIN, "B-NEW"),
    );
    let r = app
        .capture(
            &staff,
            vec![
                object("w-1", "commissioning", &[&pack]),
                object("w-2", "commissioning", &[&old]),
                object("w-3", "commissioning", &[&new]),
                at(
                    aggregation("w-4", "ADD", "assembling", &pack, &[&old]),
                    "2026-06-02T08:00:00Z",
                ),
            ],
        )
        .await;
    assert!(r.get("errors").is_none(), "{r}");
    // A part is in at most one device at a time.
    let body = app
        .capture(
            &staff,
            vec![aggregation(
                "w-5",
                "ADD",
                "assembling",
                &dl(PACK_GTIN, "W1"),
                &[&old],
            )],
        )
        .await;
    assert!(errors(&body)[0].2.contains("is installed in"), "{body}");
    // Removing a board that is not in the pack is refused.
    let body = app
        .capture(
            &staff,
            vec![aggregation("w-6", "DELETE", "removing", &pack, &[&new])],
        )
        .await;
    assert!(errors(&body)[0].2.contains("is not installed in"), "{body}");
    // The swap: remove the old board, install the new one.
    let r = app
        .capture(
            &staff,
            vec![
                at(
                    aggregation("w-7", "DELETE", "replacing", &pack, &[&old]),
                    "2026-09-10T10:00:00Z",
                ),
                at(
                    aggregation("w-8", "ADD", "installing", &pack, &[&new]),
                    "2026-09-10T10:05:00Z",
                ),
            ],
        )
        .await;
    assert!(r.get("errors").is_none(), "{r}");
    let d = app
        .device(
            &staff,
            PACK_GTIN,
            "W1",
            "components { device { serial } } lineage { device { serial } installedAt removedAt } \
             before: components(at: \"2026-07-01T00:00:00Z\") { device { serial } }",
        )
        .await;
    assert_eq!(
        d["components"],
        json!([{ "device": { "serial": "B-NEW" } }])
    );
    assert_eq!(d["before"], json!([{ "device": { "serial": "B-OLD" } }]));
    assert_eq!(
        d["lineage"],
        json!([
            { "device": { "serial": "B-OLD" }, "installedAt": "2026-06-02T08:00:00.000Z", "removedAt": "2026-09-10T10:00:00.000Z" },
            { "device": { "serial": "B-NEW" }, "installedAt": "2026-09-10T10:05:00.000Z", "removedAt": null },
        ])
    );
    let parent = app
        .device(&staff, BMS_GTIN, "B-NEW", "parent { serial }")
        .await;
    assert_eq!(parent["parent"]["serial"], "W1");
    assert_eq!(
        app.device(&staff, BMS_GTIN, "B-OLD", "parent { serial }")
            .await["parent"],
        Value::Null
    );
    // The old board can go into another pack now.
    let r = app
        .capture(
            &staff,
            vec![
                object("w-9", "commissioning", &[dl(PACK_GTIN, "W2")]),
                aggregation("w-10", "ADD", "assembling", &dl(PACK_GTIN, "W2"), &[&old]),
            ],
        )
        .await;
    assert!(r.get("errors").is_none(), "{r}");
    // History of the pack: every event, oldest first, filterable.
    let h = app
        .device(
            &staff,
            PACK_GTIN,
            "W1",
            "history(first: 10) { edges { node { eventID bizStep } } pageInfo { hasNextPage } }",
        )
        .await;
    let ids: Vec<&str> = h["history"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["eventID"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, ["w-1", "w-4", "w-7", "w-8"]);
    let h = app
        .device(
            &staff,
            PACK_GTIN,
            "W1",
            "history(bizStep: \"replacing\", newestFirst: true) { edges { node { eventID } } }",
        )
        .await;
    assert_eq!(
        h["history"]["edges"],
        json!([{ "node": { "eventID": "w-7" } }])
    );
}

async fn concurrent_captures_both_succeed(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let staff = app.with_products().await;
    let batch = |prefix: &str| -> Vec<Value> {
        (0..200)
            .map(|i| {
                object(
                    &format!("{prefix}-{i}"),
                    "commissioning",
                    &[dl(PACK_GTIN, &format!("{prefix}{i}"))],
                )
            })
            .collect()
    };
    let (a, b) = tokio::join!(
        app.capture(&staff, batch("A")),
        app.capture(&staff, batch("B"))
    );
    assert!(a.get("errors").is_none(), "{a}");
    assert!(b.get("errors").is_none(), "{b}");
    assert_eq!(app.count("device").await, 400);
}
