//! Property (issue 14): any JSON value up to the nesting limit that capture
//! accepts reads back identical, and the audit (which recomputes every
//! commitment from the stored values) passes. Values are drawn by proptest
//! from a seeded runner: nulls, booleans, integers over the whole i64 and
//! u64 range, finite floats, strings of any characters (control characters,
//! quotes, backslashes, astral planes), arrays and objects, nested up to
//! 32 levels, half of them forced to the limit.

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use provenance::domain::event::{MAX_VALUE_DEPTH, nesting};
use serde_json::{Value, json};

use crate::events::{PACK_GTIN, dl, object};
use crate::helpers::{Backend, spawn_app};

both_backends!(any_value_up_to_the_limit_reads_back_identical_and_audits_clean);

/// Values per run, captured in batches.
const CASES: usize = 96;
const BATCH: usize = 24;

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("JSON has finite numbers only", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        "(?s).{0,16}".prop_map(Value::String),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(MAX_VALUE_DEPTH as u32, 256, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("(?s).{0,8}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// `v` wrapped in arrays and objects until it nests exactly `depth` deep
/// (unchanged when it already nests deeper).
fn to_depth(mut v: Value, depth: usize, key: &str) -> Value {
    let mut i = 0;
    while nesting(&v) < depth {
        v = if i % 2 == 0 {
            json!([v])
        } else {
            json!({ key: v })
        };
        i += 1;
    }
    v
}

async fn any_value_up_to_the_limit_reads_back_identical_and_audits_clean(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let staff = app.with_products().await;
    let unit = dl(PACK_GTIN, "PROP");
    let r = app
        .capture(&staff, vec![object("prop-0", "commissioning", &[&unit])])
        .await;
    assert!(r.get("errors").is_none(), "{r}");
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[14; 32]),
    );
    let mut sent = Vec::new();
    for i in 0..CASES {
        let mut v = value().new_tree(&mut runner).expect("a value").current();
        if i % 2 == 1 {
            v = to_depth(v, MAX_VALUE_DEPTH, "\u{1F600}\"\\\u{0}");
        }
        if nesting(&v) > MAX_VALUE_DEPTH {
            continue;
        }
        sent.push(v);
    }
    assert!(sent.len() > CASES / 2, "too few values drawn");
    assert!(sent.iter().any(|v| nesting(v) == MAX_VALUE_DEPTH));
    for (b, chunk) in sent.chunks(BATCH).enumerate() {
        let events: Vec<Value> = chunk
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let mut e = object(&format!("prop-{b}-{i}"), "inspecting", &[&unit]);
                e["extensions"] =
                    json!([{ "name": "sample", "value": v, "visibility": "PARTNER" }]);
                e
            })
            .collect();
        let r = app.capture(&staff, events).await;
        assert!(r.get("errors").is_none(), "batch {b}: {r}");
    }
    let device = app
        .device(
            &staff,
            PACK_GTIN,
            "PROP",
            "history { edges { node { eventID fields { name value } } } }",
        )
        .await;
    let mut read = std::collections::HashMap::new();
    for e in device["history"]["edges"].as_array().expect("edges") {
        let node = &e["node"];
        if let Some(f) = node["fields"]
            .as_array()
            .expect("fields")
            .iter()
            .find(|f| f["name"] == "sample")
        {
            read.insert(
                node["eventID"].as_str().unwrap_or_default().to_owned(),
                f["value"].clone(),
            );
        }
    }
    for (b, chunk) in sent.chunks(BATCH).enumerate() {
        for (i, v) in chunk.iter().enumerate() {
            let id = format!("prop-{b}-{i}");
            assert_eq!(read.get(&id), Some(v), "{id} reads back as sent");
        }
    }
    app.portal.audit().await.expect("the audit passes");
}
