//! Role-scoped reads: what each persona gets of one device's history
//! (docs/access-policy.md's table), asserted on the raw JSON of the
//! response: a value the table withholds must not occur anywhere in it.

use std::collections::HashMap;

use provenance::auth::Role;
use provenance::domain::visibility::Visibility;
use provenance::policy::{Disclosure, Relationship};
use serde_json::{Value, json};

use crate::events::{BMS_GTIN, PACK_GTIN, aggregation, dl, object};
use crate::helpers::{Backend, TestApp, spawn_app};

/// The policy's decision for a member of `role` (its organisation is not
/// part of the decision).
fn decide(role: Role, relationship: Relationship, class: Visibility) -> Disclosure {
    let member = provenance::auth::Principal {
        subject: "test".into(),
        role,
        org: "test".into(),
    };
    provenance::policy::decide((&member).into(), relationship, class)
}

both_backends!(
    each_persona_sees_what_the_policy_table_allows,
    devices_out_of_scope_are_not_found_whichever_way_they_are_asked
);

const CLASSES: [(&str, Visibility); 4] = [
    ("PUBLIC", Visibility::Public),
    ("PARTNER", Visibility::Partner),
    ("INTERNAL", Visibility::Internal),
    ("PERSONAL", Visibility::Personal),
];

/// A marker that cannot occur by chance: event, class and a random part.
fn marker(event: &str, class: Visibility, salt: u64) -> String {
    format!("MK{salt:016x}-{event}-{}", class.as_str())
}

/// One extension field per class, each holding its marker.
fn with_markers(mut event: Value, id: &str, salt: u64) -> Value {
    event["extensions"] = Value::Array(
        CLASSES
            .iter()
            .map(|(gql, class)| {
                json!({
                    "name": format!("mark{}", class.as_str()),
                    "value": marker(id, *class, salt),
                    "visibility": gql,
                })
            })
            .collect(),
    );
    event
}

fn capture_ok(r: &Value) {
    assert!(r.get("errors").is_none(), "{r}");
}

/// P1: commissioned by the manufacturer (e1), shipped to veloparts-eu
/// (e2), received there (e3), shipped to wheelworks (e4), received (e5)
/// and installed (e6) there; pedalfix is its assigned service partner.
/// Returns the events in order and the relationship each organisation has
/// at each.
async fn history(app: &TestApp, salt: u64) -> Vec<&'static str> {
    let staff = app.with_products().await;
    let velo = app.token(Role::Distributor, "veloparts-eu").await;
    let wheel = app.token(Role::ServicePartner, "wheelworks").await;
    let p1 = dl(PACK_GTIN, "P1");
    let ship = |id: &str, to: &str| {
        let mut e = object(id, "shipping", &[&p1]);
        e["destinationList"] = json!([{ "type": "owning_party", "id": to }]);
        with_markers(e, id, salt)
    };
    let plain = |id: &str, step: &str| with_markers(object(id, step, &[&p1]), id, salt);
    capture_ok(
        &app.capture(
            &staff,
            vec![plain("e1", "commissioning"), ship("e2", "veloparts-eu")],
        )
        .await,
    );
    capture_ok(
        &app.capture(
            &velo,
            vec![plain("e3", "receiving"), ship("e4", "wheelworks")],
        )
        .await,
    );
    capture_ok(
        &app.capture(
            &wheel,
            vec![plain("e5", "receiving"), plain("e6", "installing")],
        )
        .await,
    );
    let r = app
        .gql(&staff, "mutation { assignServicePartner(gtin: \"04012345000016\", serial: \"P1\", organisation: \"pedalfix\") }", json!({}))
        .await;
    capture_ok(&r);
    // Another pack that never leaves the manufacturer.
    capture_ok(
        &app.capture(
            &staff,
            vec![object("e7", "commissioning", &[dl(PACK_GTIN, "P2")])],
        )
        .await,
    );
    vec!["e1", "e2", "e3", "e4", "e5", "e6"]
}

/// Who each persona is, and its relationship to P1 at each of e1..e6.
fn personas() -> Vec<(Role, &'static str, [Relationship; 6])> {
    use Relationship::{
        CurrentCustodian as Cur, None as No, PastCustodian as Past, ServicePartner as Sp,
    };
    vec![
        (Role::Staff, "ampera", [No; 6]),
        (Role::Admin, "ampera", [No; 6]),
        (Role::Regulator, "eu-msa", [No; 6]),
        (Role::Auditor, "eu-msa", [No; 6]),
        // Held it from receiving (e3) to the next receiving (e5).
        (
            Role::Distributor,
            "veloparts-eu",
            [No, No, Past, Past, No, No],
        ),
        (
            Role::ServicePartner,
            "wheelworks",
            [No, No, No, No, Cur, Cur],
        ),
        (Role::ServicePartner, "pedalfix", [Sp; 6]),
    ]
}

const QUERY: &str = "{ device(gtin: \"04012345000016\", serial: \"P1\") { serial history { edges { node { eventID bizStep leafIndex fields { name value visibility commitment erased } } } } } }";

async fn raw(app: &TestApp, token: &str, query: &str) -> String {
    app.client
        .post(format!("{}/graphql", app.address))
        .bearer_auth(token)
        .json(&json!({ "query": query }))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn each_persona_sees_what_the_policy_table_allows(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let salt: u64 = rand_salt();
    let events = history(&app, salt).await;
    for (role, org, rels) in personas() {
        let token = app.token(role, org).await;
        let body = raw(&app, &token, QUERY).await;
        let parsed: Value = serde_json::from_str(&body).unwrap();
        assert!(parsed.get("errors").is_none(), "{role} {org}: {body}");
        let nodes = parsed["data"]["device"]["history"]["edges"]
            .as_array()
            .unwrap();
        assert_eq!(nodes.len(), 6, "{role} {org}: every event is listed");
        for (i, event) in events.iter().enumerate() {
            let node = &nodes[i]["node"];
            let fields: HashMap<&str, &Value> = node["fields"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| (f["name"].as_str().unwrap(), f))
                .collect();
            for (_, class) in CLASSES {
                let m = marker(event, class, salt);
                let name = format!("mark{}", class.as_str());
                let what = format!("{role} {org} {event} {}", class.as_str());
                match decide(role, rels[i], class) {
                    Disclosure::Disclose => {
                        assert!(body.contains(&m), "{what}: value withheld");
                        assert_eq!(fields[name.as_str()]["value"], m.as_str(), "{what}");
                    }
                    Disclosure::Commitment => {
                        assert!(!body.contains(&m), "{what}: value leaked");
                        let c = fields[name.as_str()]["commitment"].as_str().expect(&what);
                        assert_eq!(c.len(), 44, "{what}: a base64 SHA-256 commitment");
                    }
                    Disclosure::Absent => {
                        assert!(!body.contains(&m), "{what}: value leaked");
                        assert!(!fields.contains_key(name.as_str()), "{what}: name leaked");
                    }
                }
            }
            // The typed members follow the table too.
            let biz_step = decide(role, rels[i], Visibility::Public) == Disclosure::Disclose;
            assert_eq!(
                node["bizStep"].is_string(),
                biz_step,
                "{role} {org} {event}"
            );
            let event_id = decide(role, rels[i], Visibility::Partner) == Disclosure::Disclose;
            assert_eq!(
                node["eventID"].is_string(),
                event_id,
                "{role} {org} {event}"
            );
        }
    }
}

fn rand_salt() -> u64 {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).unwrap();
    u64::from_le_bytes(b)
}

async fn devices_out_of_scope_are_not_found_whichever_way_they_are_asked(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    history(&app, rand_salt()).await;
    let by_key = |serial: &str| {
        format!("{{ device(gtin: \"{PACK_GTIN}\", serial: \"{serial}\") {{ serial }} }}")
    };
    let by_link = |serial: &str| {
        format!(
            "{{ deviceByDigitalLink(uri: \"{}\") {{ serial }} }}",
            dl(PACK_GTIN, serial)
        )
    };
    // P1 is out of scope for these; P2 for every partner; P9 does not exist.
    let outsiders = [
        (Role::Distributor, "nordcycle", vec!["P1", "P2"]),
        (Role::WarrantyAgent, "securecover", vec!["P1", "P2"]),
        (Role::ServicePartner, "wheelworks", vec!["P2"]),
        (Role::Distributor, "veloparts-eu", vec!["P2"]),
    ];
    for (role, org, hidden) in outsiders {
        let token = app.token(role, org).await;
        for q in [by_key, by_link] {
            let unknown = raw(&app, &token, &q("P9")).await;
            assert!(unknown.contains("NOT_FOUND"), "{unknown}");
            for serial in &hidden {
                let answer = raw(&app, &token, &q(serial)).await;
                assert_eq!(
                    answer.replace(serial, "P9"),
                    unknown,
                    "{role} {org} {serial}: not found, like an unknown serial"
                );
            }
        }
    }
}

both_backends!(
    hidden_and_unknown_devices_take_the_same_time,
    components_follow_the_device_they_are_in
);

/// A board assembled into a pack is visible to the pack's custodian — by
/// itself, as a component, through the lineage, with the pack as its
/// parent — and to nobody else among the partners.
async fn components_follow_the_device_they_are_in(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let staff = app.with_products().await;
    let nord = app.token(Role::Distributor, "nordcycle").await;
    let velo = app.token(Role::Distributor, "veloparts-eu").await;
    let (pack, board) = (dl(PACK_GTIN, "C1"), dl(BMS_GTIN, "B1"));
    let mut ship = object("c-4", "shipping", &[&pack]);
    ship["destinationList"] = json!([{ "type": "owning_party", "id": "nordcycle" }]);
    capture_ok(
        &app.capture(
            &staff,
            vec![
                object("c-1", "commissioning", &[&pack]),
                object("c-2", "commissioning", &[&board]),
                aggregation("c-3", "ADD", "assembling", &pack, &[&board]),
                ship,
            ],
        )
        .await,
    );
    capture_ok(
        &app.capture(&nord, vec![object("c-5", "receiving", &[&pack])])
            .await,
    );
    let board_q = format!(
        "{{ device(gtin: \"{BMS_GTIN}\", serial: \"B1\") {{ serial parent {{ serial }} }} }}"
    );
    let pack_q = format!(
        "{{ device(gtin: \"{PACK_GTIN}\", serial: \"C1\") {{ components {{ device {{ serial }} }} lineage {{ device {{ serial }} }} }} }}"
    );
    let r: Value = serde_json::from_str(&raw(&app, &nord, &board_q).await).unwrap();
    assert_eq!(
        r["data"]["device"],
        json!({ "serial": "B1", "parent": { "serial": "C1" } }),
        "{r}"
    );
    let r: Value = serde_json::from_str(&raw(&app, &nord, &pack_q).await).unwrap();
    assert_eq!(
        r["data"]["device"]["components"][0]["device"]["serial"], "B1",
        "{r}"
    );
    assert_eq!(
        r["data"]["device"]["lineage"][0]["device"]["serial"], "B1",
        "{r}"
    );
    for q in [&board_q, &pack_q] {
        let r: Value = serde_json::from_str(&raw(&app, &velo, q).await).unwrap();
        assert_eq!(r["errors"][0]["extensions"]["code"], "NOT_FOUND", "{r}");
        assert!(
            !r.to_string().contains("B1") && !r.to_string().contains("C1"),
            "{r}"
        );
    }
}

/// The median response time for a device out of scope is within 20% of an
/// unknown serial's, over 200 requests each (interleaved, so that the
/// machine's drift falls on both).
async fn hidden_and_unknown_devices_take_the_same_time(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    history(&app, rand_salt()).await;
    let token = app.token(Role::Distributor, "nordcycle").await;
    let query = |serial: &str| {
        format!("{{ device(gtin: \"{PACK_GTIN}\", serial: \"{serial}\") {{ serial }} }}")
    };
    let (hidden_q, unknown_q) = (query("P1"), query("P9"));
    // Warm up connections and caches.
    for _ in 0..20 {
        raw(&app, &token, &hidden_q).await;
        raw(&app, &token, &unknown_q).await;
    }
    let mut hidden = Vec::with_capacity(200);
    let mut unknown = Vec::with_capacity(200);
    for _ in 0..200 {
        let t = std::time::Instant::now();
        raw(&app, &token, &hidden_q).await;
        hidden.push(t.elapsed());
        let t = std::time::Instant::now();
        raw(&app, &token, &unknown_q).await;
        unknown.push(t.elapsed());
    }
    hidden.sort();
    unknown.sort();
    let (h, u) = (hidden[100].as_secs_f64(), unknown[100].as_secs_f64());
    eprintln!(
        "{backend:?}: median {:.3} ms hidden, {:.3} ms unknown (ratio {:.2})",
        h * 1e3,
        u * 1e3,
        h / u
    );
    assert!(
        (h - u).abs() <= 0.2 * u,
        "median {:.3} ms for a hidden device vs {:.3} ms for an unknown one",
        h * 1e3,
        u * 1e3
    );
}

both_backends!(no_response_contains_a_value_the_table_withholds);

/// Property: for random events (any mix of field classes, each holding a
/// random marker that cannot occur by chance) and random personas, the raw
/// JSON of the persona's history contains exactly the markers the policy
/// table discloses for its relationship at that event.
async fn no_response_contains_a_value_the_table_withholds(backend: Backend) {
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, TestRunner};

    let Some(app) = spawn_app(backend).await else {
        return;
    };
    history(&app, rand_salt()).await;
    let staff = app.token(Role::Staff, "ampera").await;
    // Relationship of each persona to an event the manufacturer captures
    // now, while wheelworks holds P1 and pedalfix services it.
    let now = personas()
        .into_iter()
        .map(|(role, org, rels)| {
            (
                role,
                org,
                if org == "veloparts-eu" {
                    Relationship::None
                } else {
                    rels[5]
                },
            )
        })
        .collect::<Vec<_>>();
    let mut tokens = Vec::new();
    for (role, org, _) in &now {
        tokens.push(app.token(*role, org).await);
    }
    let class = prop_oneof![
        Just(("PUBLIC", Visibility::Public)),
        Just(("PARTNER", Visibility::Partner)),
        Just(("INTERNAL", Visibility::Internal)),
        Just(("PERSONAL", Visibility::Personal)),
    ];
    let strategy = (
        proptest::collection::vec((class, "[A-Z]{6}[0-9]{10}"), 1..6),
        0..now.len(),
    );
    let mut runner = TestRunner::new(Config::with_cases(24));
    for case in 0..24 {
        let (fields, who) = strategy.new_tree(&mut runner).unwrap().current();
        let markers: Vec<(String, Visibility)> = fields
            .iter()
            .map(|((_, class), random)| (format!("ZQX{random}"), *class))
            .collect();
        let mut event = object(
            &format!("prop-{case}"),
            "inspecting",
            &[dl(PACK_GTIN, "P1")],
        );
        event["extensions"] = Value::Array(
            fields
                .iter()
                .zip(&markers)
                .enumerate()
                .map(|(i, (((gql, _), _), (m, _)))| json!({ "name": format!("prop{i}"), "value": m, "visibility": gql }))
                .collect(),
        );
        capture_ok(&app.capture(&staff, vec![event]).await);
        let (role, org, rel) = now[who];
        let body = raw(&app, &tokens[who], QUERY).await;
        for (m, class) in &markers {
            let shown = body.contains(m.as_str());
            let allowed = decide(role, rel, *class) == Disclosure::Disclose;
            assert_eq!(shown, allowed, "case {case}: {role} {org} {class:?} {m}");
        }
    }
}

both_backends!(partners_page_through_only_their_devices);

const PAGE: &str = "query($after: String, $status: String) { devices(first: 1, after: $after, status: $status) { edges { cursor node { serial status } } pageInfo { hasNextPage endCursor } } }";

/// Pages through `devices` one at a time; returns the serials.
async fn all_pages(app: &TestApp, token: &str, status: Option<&str>) -> Vec<String> {
    let mut serials = Vec::new();
    let mut after = Value::Null;
    loop {
        let r = app
            .gql(token, PAGE, json!({ "after": after, "status": status }))
            .await;
        assert!(r.get("errors").is_none(), "{r}");
        let page = &r["data"]["devices"];
        for e in page["edges"].as_array().unwrap() {
            serials.push(e["node"]["serial"].as_str().unwrap().to_owned());
        }
        if page["pageInfo"]["hasNextPage"] != true {
            return serials;
        }
        after = page["pageInfo"]["endCursor"].clone();
        assert!(serials.len() < 50, "paging does not end");
    }
}

async fn partners_page_through_only_their_devices(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    history(&app, rand_salt()).await;
    let staff = app.token(Role::Staff, "ampera").await;
    assert_eq!(all_pages(&app, &staff, None).await, ["P1", "P2"]);
    assert_eq!(all_pages(&app, &staff, Some("commissioned")).await, ["P2"]);
    for org in ["veloparts-eu", "wheelworks"] {
        let role = if org == "wheelworks" {
            Role::ServicePartner
        } else {
            Role::Distributor
        };
        let token = app.token(role, org).await;
        assert_eq!(all_pages(&app, &token, None).await, ["P1"], "{org}");
    }
    let outsider = app.token(Role::Distributor, "nordcycle").await;
    assert!(all_pages(&app, &outsider, None).await.is_empty());
    let bad = app
        .gql(
            &staff,
            "{ devices(after: \"nonsense\") { edges { cursor } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        bad["errors"][0]["extensions"]["code"], "INVALID_INPUT",
        "{bad}"
    );
}

both_backends!(a_backdated_receiving_opens_nothing_that_came_before);

/// Custody is replayed in capture order: a receiving whose eventTime is
/// set before the device's commissioning does not make the receiver the
/// holder of what happened before it, and device attributes of class
/// partner follow the policy too.
async fn a_backdated_receiving_opens_nothing_that_came_before(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let staff = app.with_products().await;
    let nord = app.token(Role::Distributor, "nordcycle").await;
    let salt = rand_salt();
    let pack = dl(PACK_GTIN, "T1");
    let mut ship = object("t-2", "shipping", &[&pack]);
    ship["destinationList"] = json!([{ "type": "owning_party", "id": "nordcycle" }]);
    capture_ok(
        &app.capture(
            &staff,
            vec![
                with_markers(object("t-1", "commissioning", &[&pack]), "t-1", salt),
                ship,
            ],
        )
        .await,
    );
    let mut receive = object("t-3", "receiving", &[&pack]);
    receive["eventTime"] = json!("2000-01-01T00:00:00.000+00:00");
    receive["eventTimeZoneOffset"] = json!("+00:00");
    capture_ok(&app.capture(&nord, vec![receive]).await);
    let q = format!(
        "{{ device(gtin: \"{PACK_GTIN}\", serial: \"T1\") {{ custodian history {{ edges {{ node {{ bizStep fields {{ name value }} }} }} }} }} }}"
    );
    let body = raw(&app, &nord, &q).await;
    assert!(
        body.contains(&marker("t-1", Visibility::Public, salt)),
        "{body}"
    );
    assert!(
        !body.contains(&marker("t-1", Visibility::Partner, salt)),
        "the manufacturer's commissioning is not nordcycle's: {body}"
    );
    // It holds the pack now: it sees that it is the custodian.
    let parsed: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(parsed["data"]["device"]["custodian"], "nordcycle", "{body}");
    // Another partner with a relationship but not holding it does not learn
    // who holds it: veloparts captured nothing here, so it is not found;
    // the auditor gets no device attribute in the clear.
    let auditor = app.token(Role::Auditor, "eu-msa").await;
    let a: Value = serde_json::from_str(
        &raw(
            &app,
            &auditor,
            &format!(
                "{{ device(gtin: \"{PACK_GTIN}\", serial: \"T1\") {{ serial status custodian }} }}"
            ),
        )
        .await,
    )
    .unwrap();
    assert_eq!(a["data"]["device"]["status"], Value::Null, "{a}");
    assert_eq!(a["data"]["device"]["custodian"], Value::Null, "{a}");
}
