//! Capture and reads in proportion to their size: values nest only as
//! deep as documented, lists longer than a chunk or than SQLite binds read
//! whole, assemblies nest only as deep as every walk goes.

use provenance::auth::Role;
use serde_json::{Value, json};

use crate::helpers::{Backend, spawn_app};
use crate::limits::post;

both_backends!(
    values_nest_only_as_deep_as_documented,
    lists_longer_than_a_chunk_read_whole
);

fn nested(depth: usize) -> Value {
    let mut v = json!("leaf");
    for i in 0..depth {
        v = if i % 2 == 0 {
            json!([v])
        } else {
            json!({ "k": v })
        };
    }
    v
}

/// Issue 14: a captured value nests at most 32 levels (INVALID_INPUT
/// beyond, naming the member); a variable at most 64 (LIMIT_EXCEEDED, before
/// anything runs); what is accepted reads back identical and audits clean;
/// query depth is LIMIT_EXCEEDED at every depth over the limit.
async fn values_nest_only_as_deep_as_documented(backend: Backend) {
    use crate::events::{PACK_GTIN, dl, object};
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let staff = app.with_products().await;
    let pack = dl(PACK_GTIN, "N1");
    let mut e = object("n-1", "commissioning", &[&pack]);
    e["ilmd"] = json!({ "deep": nested(31) });
    let r = app.capture(&staff, vec![e]).await;
    assert!(r.get("errors").is_none(), "{r}");
    for (depth, field) in [(32, "ilmd"), (150, "ilmd")] {
        let mut e = object(&format!("n-{depth}"), "inspecting", &[&pack]);
        e["ilmd"] = json!({ "deep": nested(depth) });
        let r = app.capture(&staff, vec![e]).await;
        let error = &r["errors"][0]["extensions"];
        // 150 levels are over the variables' limit: refused before parsing.
        if depth > 64 {
            assert_eq!(error["code"], "LIMIT_EXCEEDED", "{r}");
        } else {
            assert_eq!(error["code"], "INVALID_INPUT", "{r}");
            assert_eq!(error["field"], field, "{r}");
        }
    }
    let mut e = object("n-ext", "inspecting", &[&pack]);
    e["extensions"] = json!([{ "name": "deep", "value": nested(40), "visibility": "PARTNER" }]);
    let r = app.capture(&staff, vec![e]).await;
    assert_eq!(r["errors"][0]["extensions"]["field"], "deep", "{r}");
    // The accepted one reads back as sent.
    let device = app
        .device(
            &staff,
            PACK_GTIN,
            "N1",
            "history { edges { node { eventID fields { name value } } } }",
        )
        .await;
    let edges = device["history"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 1, "{device}");
    let ilmd = edges[0]["node"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "ilmd")
        .expect("ilmd")["value"]
        .clone();
    assert_eq!(ilmd, json!({ "deep": nested(31) }));
    app.portal.audit().await.expect("the audit passes");
    // Query depth: one code for every depth over the limit.
    for levels in 20..=40 {
        let mut deep = String::from("serial");
        for _ in 0..levels {
            deep = format!("components {{ device {{ {deep} }} }}");
        }
        let q = format!("{{ device(gtin: \"{PACK_GTIN}\", serial: \"N1\") {{ {deep} }} }}");
        let (_, body) = post(&app, &staff, json!({ "query": q })).await;
        if let Some(errors) = body["errors"].as_array() {
            assert_eq!(
                errors[0]["extensions"]["code"], "LIMIT_EXCEEDED",
                "{levels} levels: {body}"
            );
        }
    }
}

/// Issue 14: lists of ids go to the database in chunks; with a chunk of 7,
/// pages, histories, lineage, custody and the audit see everything.
async fn lists_longer_than_a_chunk_read_whole(backend: Backend) {
    use crate::events::{BMS_GTIN, PACK_GTIN, aggregation, dl, object};
    let Some(app) = crate::helpers::spawn_app_with(backend, |s| s.list_chunk = 7).await else {
        return;
    };
    let staff = app.with_products().await;
    let packs: Vec<String> = (0..30)
        .map(|i| dl(PACK_GTIN, &format!("K{i:02}")))
        .collect();
    let boards: Vec<String> = (0..30).map(|i| dl(BMS_GTIN, &format!("J{i:02}"))).collect();
    let mut events = vec![
        object("k-packs", "commissioning", &packs),
        object("k-boards", "commissioning", &boards),
    ];
    for (i, (p, b)) in packs.iter().zip(&boards).enumerate() {
        events.push(aggregation(
            &format!("k-a{i}"),
            "ADD",
            "assembling",
            p,
            &[b],
        ));
    }
    let r = app.capture(&staff, events).await;
    assert!(r.get("errors").is_none(), "{r}");
    // Shipped and received after the assembly.
    let later = |mut e: Value| {
        e["eventTime"] = json!("2026-06-03T08:00:00.000+02:00");
        e
    };
    let all: Vec<&str> = packs.iter().map(String::as_str).collect();
    let r = app
        .capture(
            &staff,
            vec![later(crate::custody::ship("k-ship", &all, "veloparts-eu"))],
        )
        .await;
    assert!(r.get("errors").is_none(), "{r}");
    let velo = app.token(Role::Distributor, "veloparts-eu").await;
    let receive = later(object("k-recv", "receiving", &packs));
    let r = app.capture(&velo, vec![receive.clone()]).await;
    assert!(r.get("errors").is_none(), "{r}");
    // The same again is a replay: the stored event is found.
    let r = app.capture(&velo, vec![receive]).await;
    assert!(r.get("errors").is_none(), "{r}");
    let q = format!(
        "{{ devices(gtin: \"{PACK_GTIN}\", first: 30) {{ edges {{ node {{ serial custodian latestEvent {{ bizStep }} components {{ device {{ serial custodian }} }} }} }} }} }}"
    );
    for token in [&staff, &velo] {
        let (status, body) = post(&app, token, json!({ "query": q })).await;
        assert_eq!(status, 200);
        let edges = body["data"]["devices"]["edges"].as_array().expect("edges");
        assert_eq!(edges.len(), 30, "{body}");
        for e in edges {
            let node = &e["node"];
            assert_eq!(node["custodian"], "veloparts-eu", "{node}");
            assert_eq!(node["latestEvent"]["bizStep"], "receiving", "{node}");
            assert_eq!(
                node["components"][0]["device"]["custodian"], "veloparts-eu",
                "{node}"
            );
        }
    }
    let board = app
        .device(
            &staff,
            BMS_GTIN,
            "J07",
            "history { edges { node { eventID } } }",
        )
        .await;
    let ids: Vec<&str> = board["history"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            e["node"]["eventID"]
                .as_str()
                .unwrap_or_else(|| panic!("{board}"))
        })
        .collect();
    assert_eq!(ids, ["k-boards", "k-a7"], "{board}");
    app.portal.audit().await.expect("the audit passes");
}

/// Issue 14: a device with more events than SQLite binds in one statement
/// (32,766) reads its history: 40,000 events captured in four batches of
/// 10,000, paged from either end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_with_forty_thousand_events_reads_its_history() {
    use crate::events::{PACK_GTIN, dl, object};
    const EVENTS: usize = 40_000;
    let app = spawn_app(Backend::Sqlite).await.expect("SQLite app");
    let staff = app.with_products().await;
    let unit = dl(PACK_GTIN, "MANY");
    let r = app
        .capture(&staff, vec![object("many-0", "commissioning", &[&unit])])
        .await;
    assert!(r.get("errors").is_none(), "{r}");
    for batch in 0..EVENTS / 10_000 {
        let events: Vec<Value> = (0..10_000)
            .map(|i| {
                let n = batch * 10_000 + i + 1;
                object(&format!("many-{n}"), "inspecting", &[&unit])
            })
            .collect();
        let r = app.capture(&staff, events).await;
        assert!(r.get("errors").is_none(), "batch {batch}: {r}");
    }
    let page = |args: &str| {
        let args = if args.is_empty() {
            String::new()
        } else {
            format!("({args})")
        };
        format!(
            "history{args} {{ edges {{ node {{ eventID }} }} pageInfo {{ hasNextPage hasPreviousPage }} }}"
        )
    };
    let device = app
        .device(
            &staff,
            PACK_GTIN,
            "MANY",
            &format!(
                "first: {} last: {} newest: {} all: {}",
                page("first: 2"),
                page("last: 2"),
                page("newestFirst: true, first: 1"),
                page("")
            ),
        )
        .await;
    let ids = |name: &str| -> Vec<String> {
        device[name]["edges"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: {device}"))
            .iter()
            .map(|e| e["node"]["eventID"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    assert_eq!(ids("first"), ["many-0", "many-1"]);
    assert_eq!(device["first"]["pageInfo"]["hasNextPage"], true);
    assert_eq!(
        ids("last"),
        [format!("many-{}", EVENTS - 1), format!("many-{EVENTS}")]
    );
    assert_eq!(device["last"]["pageInfo"]["hasPreviousPage"], true);
    assert_eq!(ids("newest"), [format!("many-{EVENTS}")]);
    // Without first or last: the first page of 1000.
    assert_eq!(ids("all").len(), 1000);
    assert_eq!(device["all"]["pageInfo"]["hasNextPage"], true);
}

/// Review of issue 14: every walk up an assembly is bounded; a component
/// is installed only where it has at most 16 devices above it, in one
/// batch or over several, and reads see as far as capture lets it nest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assemblies_nest_at_most_sixteen_deep() {
    use crate::events::{BMS_GTIN, aggregation, dl, object};
    let app = spawn_app(Backend::Sqlite).await.expect("SQLite app");
    let staff = app.with_products().await;
    let units: Vec<String> = (0..=18).map(|i| dl(BMS_GTIN, &format!("D{i}"))).collect();
    let mut events = vec![object("d-all", "commissioning", &units)];
    for i in 0..16 {
        events.push(aggregation(
            &format!("d-{i}"),
            "ADD",
            "assembling",
            &units[i],
            &[&units[i + 1]],
        ));
    }
    let r = app.capture(&staff, events).await;
    assert!(r.get("errors").is_none(), "{r}");
    let deeper = aggregation("d-16", "ADD", "assembling", &units[16], &[&units[17]]);
    let r = app.capture(&staff, vec![deeper]).await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "INVALID_INPUT", "{r}");
    assert_eq!(r["errors"][0]["extensions"]["field"], "parentID", "{r}");
    // Beside the chain, one level up, still fine.
    let r = app
        .capture(
            &staff,
            vec![aggregation(
                "d-side",
                "ADD",
                "assembling",
                &units[15],
                &[&units[18]],
            )],
        )
        .await;
    assert!(r.get("errors").is_none(), "{r}");
    // Shipped and received at the top: the deepest part follows, for the
    // reads as for capture.
    let r = app
        .capture(
            &staff,
            vec![crate::custody::ship("d-ship", &[&units[0]], "veloparts-eu")],
        )
        .await;
    assert!(r.get("errors").is_none(), "{r}");
    let velo = app.token(Role::Distributor, "veloparts-eu").await;
    let r = app
        .capture(&velo, vec![object("d-recv", "receiving", &[&units[0]])])
        .await;
    assert!(r.get("errors").is_none(), "{r}");
    let deepest = app.device(&velo, BMS_GTIN, "D16", "custodian").await;
    assert_eq!(deepest["custodian"], "veloparts-eu", "{deepest}");
    let r = app
        .capture(&velo, vec![object("d-look", "inspecting", &[&units[16]])])
        .await;
    assert!(r.get("errors").is_none(), "{r}");
    app.portal.audit().await.expect("the audit passes");
}
