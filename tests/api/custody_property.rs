//! Property: for random capture sequences (shipments, receipts, installs
//! and removals by whoever may capture them, in batches of one to three
//! events), the relationship of every organisation at every event, looked
//! up in the intervals capture wrote, equals the one a plain reference
//! model of capture's custody rules gives; and the audit's replay agrees
//! with what capture wrote.

use std::collections::HashMap;

use provenance::auth::Role;
use provenance::policy::{Relationship, relationship_at};
use serde_json::{Value, json};

use crate::events::{BMS_GTIN, PACK_GTIN, aggregation, dl, object};
use crate::helpers::{Backend, TestApp, spawn_app};

both_backends!(relationships_from_intervals_match_a_reference_replay);

const ORGS: [(&str, Role); 5] = [
    ("ampera", Role::Staff),
    ("veloparts-eu", Role::Distributor),
    ("nordcycle", Role::Distributor),
    ("wheelworks", Role::ServicePartner),
    ("pedalfix", Role::ServicePartner),
];

const PACKS: usize = 3;
const PARTS: usize = 4;

/// xorshift64*: small, seeded, reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// The reference model: per device its holder when loose, the organisation
/// it is shipped to, the pack it is in. Devices 0..PACKS are packs, the
/// rest parts.
#[derive(Clone, Default)]
struct Model {
    holder: Vec<usize>,
    shipped: Vec<Option<usize>>,
    parent: Vec<Option<usize>>,
}

impl Model {
    fn root(&self, d: usize) -> usize {
        match self.parent[d] {
            Some(p) => self.root(p),
            None => d,
        }
    }

    fn effective(&self, d: usize) -> usize {
        match self.parent[d] {
            Some(p) => self.effective(p),
            None => self.holder[d],
        }
    }
}

fn key(d: usize) -> (&'static str, String) {
    if d < PACKS {
        (PACK_GTIN, format!("PP{d}"))
    } else {
        (BMS_GTIN, format!("PB{}", d - PACKS))
    }
}

fn link(d: usize) -> String {
    let (g, s) = key(d);
    dl(g, &s)
}

/// One operation the model allows: its actor (an index into ORGS), the
/// event, and the devices in the order of the event's leaves.
fn choose(rng: &mut Rng, m: &Model, n: usize) -> Option<(usize, Value, Vec<usize>)> {
    let devices = PACKS + PARTS;
    let id = format!("op-{n}");
    for _ in 0..50 {
        let d = rng.below(devices);
        match rng.below(5) {
            // Ship a loose device that is not on its way.
            0 if m.parent[d].is_none() && m.shipped[d].is_none() => {
                let from = m.holder[d];
                let to = (from + 1 + rng.below(ORGS.len() - 1)) % ORGS.len();
                let mut e = object(&id, "shipping", &[link(d)]);
                e["destinationList"] = json!([{ "type": "owning_party", "id": ORGS[to].0 }]);
                return Some((from, e, vec![d]));
            }
            // Receive what was shipped.
            1 if m.shipped[d].is_some() => {
                let to = m.shipped[d]?;
                return Some((to, object(&id, "receiving", &[link(d)]), vec![d]));
            }
            // Install a loose part in a pack of the same holder.
            2 if d >= PACKS && m.parent[d].is_none() && m.shipped[d].is_none() => {
                let p = rng.below(PACKS);
                if m.effective(p) == m.holder[d] {
                    let e = aggregation(&id, "ADD", "assembling", &link(p), &[link(d)]);
                    return Some((m.holder[d], e, vec![p, d]));
                }
            }
            // Remove an installed part.
            3 if m.parent[d].is_some() => {
                let p = m.parent[d]?;
                let e = aggregation(&id, "DELETE", "removing", &link(p), &[link(d)]);
                return Some((m.effective(p), e, vec![p, d]));
            }
            // Inspect, as its holder.
            4 => {
                return Some((
                    m.effective(d),
                    object(&id, "inspecting", &[link(d)]),
                    vec![d],
                ));
            }
            _ => {}
        }
    }
    None
}

fn apply(m: &mut Model, actor: usize, event: &Value, devices: &[usize]) {
    match (event["bizStep"].as_str(), devices) {
        (Some("shipping"), [d]) => {
            let to = event["destinationList"][0]["id"]
                .as_str()
                .unwrap_or_default();
            m.shipped[*d] = ORGS.iter().position(|(o, _)| *o == to);
        }
        (Some("receiving"), [d]) => {
            m.holder[*d] = actor;
            m.shipped[*d] = None;
        }
        (Some("assembling"), [p, c]) => {
            m.holder[*c] = m.effective(*p);
            m.parent[*c] = Some(*p);
            m.shipped[*c] = None;
        }
        (Some("removing"), [p, c]) => {
            m.holder[*c] = m.effective(*p);
            m.parent[*c] = None;
        }
        _ => {}
    }
}

async fn run(app: &TestApp, seed: u64) {
    let staff = app.with_products().await;
    let mut tokens = Vec::new();
    for (org, role) in ORGS {
        tokens.push(app.token(role, org).await);
    }
    // Warranty cover: both products in DACH (ampera and wheelworks are
    // in DE) from the start, packs in Benelux (veloparts-eu, NL) from
    // midway; nordcycle (SE) and pedalfix (FR) are in no region.
    let define = "mutation($n: String!, $c: String!, $z: String!) { defineRegion(name: $n, countries: [{ country: $c, timeZone: $z }]) { name } }";
    let assign = "mutation($g: String!, $r: String!) { assignWarrantyProvider(gtin: $g, region: $r, organisation: \"securecover\") }";
    for (n, c, z) in [
        ("dach", "DE", "Europe/Berlin"),
        ("benelux", "NL", "Europe/Amsterdam"),
    ] {
        let r = app
            .gql(&staff, define, json!({ "n": n, "c": c, "z": z }))
            .await;
        assert!(r.get("errors").is_none(), "{r}");
    }
    for g in [PACK_GTIN, BMS_GTIN] {
        let r = app
            .gql(&staff, assign, json!({ "g": g, "r": "dach" }))
            .await;
        assert!(r.get("errors").is_none(), "{r}");
    }
    let mut benelux = false;
    let all: Vec<String> = (0..PACKS + PARTS).map(link).collect();
    let r = app
        .capture(&staff, vec![object("op-c", "commissioning", &all)])
        .await;
    assert!(r.get("errors").is_none(), "{r}");
    let mut model = Model {
        holder: vec![0; PACKS + PARTS],
        shipped: vec![None; PACKS + PARTS],
        parent: vec![None; PACKS + PARTS],
    };
    let mut rng = Rng(seed);
    // After each event: (its leaf per device, the model's state after it).
    let mut leaves: Vec<(Vec<(usize, u64)>, Model)> = Vec::new();
    let mut n = 0;
    while n < 24 {
        if n >= 12 && !benelux {
            let r = app
                .gql(&staff, assign, json!({ "g": PACK_GTIN, "r": "benelux" }))
                .await;
            assert!(r.get("errors").is_none(), "{r}");
            benelux = true;
        }
        // A batch of one to three events by one actor, each valid after
        // the ones before it.
        let Some((actor, first, devices)) = choose(&mut rng, &model, n) else {
            break;
        };
        let mut batch = vec![(first, devices)];
        let mut state = model.clone();
        apply(&mut state, actor, &batch[0].0, &batch[0].1);
        let mut after = vec![state.clone()];
        for _ in 0..rng.below(3) {
            match choose(&mut rng, &state, n + batch.len()) {
                Some((a, e, d)) if a == actor => {
                    apply(&mut state, actor, &e, &d);
                    after.push(state.clone());
                    batch.push((e, d));
                }
                _ => break,
            }
        }
        let events: Vec<Value> = batch.iter().map(|(e, _)| e.clone()).collect();
        let r = app.capture(&tokens[actor], events.clone()).await;
        assert!(
            r.get("errors").is_none(),
            "seed {seed}: {} by {}: {r}",
            Value::Array(events),
            ORGS[actor].0
        );
        let receipts = r["data"]["captureEvents"]["receipts"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for (((_, devices), receipt), state) in batch.iter().zip(receipts).zip(after) {
            let indexes: Vec<u64> = receipt["leafIndexes"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_u64).collect())
                .unwrap_or_default();
            assert_eq!(indexes.len(), devices.len(), "{receipt}");
            leaves.push((devices.iter().copied().zip(indexes).collect(), state));
        }
        model = state;
        n += batch.len();
    }
    let store = app.portal.store();
    let mut ids: HashMap<usize, i64> = HashMap::new();
    for d in 0..PACKS + PARTS {
        let (g, s) = key(d);
        let row = store
            .device_by_key(g, &s)
            .await
            .expect("read")
            .expect("device");
        ids.insert(d, row.id);
    }
    let mut org_ids = Vec::new();
    for (org, _) in ORGS {
        let o = store
            .organisation_by_slug(org)
            .await
            .expect("read")
            .expect("org");
        org_ids.push(o.id);
    }
    for d in 0..PACKS + PARTS {
        let custody = store.custody_chain(&[ids[&d]]).await.expect("custody");
        for (k, (touched, _)) in leaves.iter().enumerate() {
            let Some((_, leaf)) = touched.iter().find(|(x, _)| *x == d) else {
                continue;
            };
            for (o, org_id) in org_ids.iter().enumerate() {
                let held_then = leaves[k].1.effective(d) == o;
                let held_since =
                    leaves[k..].iter().all(|(_, s)| s.effective(d) == o) && model.effective(d) == o;
                let expected = match (held_then, held_since) {
                    (true, true) => Relationship::CurrentCustodian,
                    (true, false) => Relationship::PastCustodian,
                    // Not held then: shipped to it now, or nothing.
                    (false, _) if model.shipped[d] == Some(o) => Relationship::ShippedTo,
                    (false, _) => Relationship::None,
                };
                assert_eq!(
                    relationship_at(&custody, ids[&d], *org_id, *leaf),
                    expected,
                    "seed {seed}: device {d} at event {k} (leaf {leaf}), organisation {}",
                    ORGS[o].0
                );
            }
        }
    }
    // The warranty provider sees a device exactly while the top of its
    // tree is held in a region its product is covered in.
    let agent = app.token(Role::WarrantyAgent, "securecover").await;
    for d in 0..PACKS + PARTS {
        let top = model.root(d);
        let holder = model.holder[top];
        let covered = matches!(holder, 0 | 3) || (holder == 1 && benelux && top < PACKS);
        let (g, serial) = key(d);
        let r = app
            .gql(
                &agent,
                "query($g: String!, $s: String!) { device(gtin: $g, serial: $s) { serial } }",
                json!({ "g": g, "s": serial }),
            )
            .await;
        assert_eq!(
            r.get("errors").is_none(),
            covered,
            "seed {seed}: device {d} (top {top}, held by {}): {r}",
            ORGS[holder].0
        );
    }
    app.portal.audit().await.expect("the audit's replay agrees");
}

async fn relationships_from_intervals_match_a_reference_replay(backend: Backend) {
    for seed in [0x9e37_79b9_7f4a_7c15_u64, 42, 7, 1_000_003] {
        let Some(app) = spawn_app(backend).await else {
            return;
        };
        run(&app, seed).await;
    }
}
