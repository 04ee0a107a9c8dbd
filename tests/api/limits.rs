//! Limits checked before any resolver runs, and the raw body limit of
//! `/graphql`: over a limit is `LIMIT_EXCEEDED` (or 413 for the body);
//! every error carries a code.

use provenance::auth::Role;
use serde_json::{Value, json};

use crate::helpers::{Backend, assert_refused, spawn_app};

both_backends!(limits_refuse_before_resolving);

async fn post(app: &crate::helpers::TestApp, token: &str, body: Value) -> (u16, Value) {
    let r = app
        .client
        .post(format!("{}/graphql", app.address))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn limits_refuse_before_resolving(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let token = app.token(Role::Staff, "ampera").await;

    // Depth: lineage nested 40 deep.
    let mut deep = String::from("serial");
    for _ in 0..40 {
        deep = format!("components {{ device {{ serial }} components {{ {deep} }} }}");
    }
    let q =
        format!("{{ device(gtin: \"04012345000016\", serial: \"X\") {{ lineage {{ {deep} }} }} }}");
    let (_, body) = post(&app, &token, json!({ "query": q })).await;
    assert_refused(&body, "LIMIT_EXCEEDED");

    // Aliases.
    let aliases: Vec<String> = (0..100).map(|i| format!("a{i}: me {{ org }}")).collect();
    let (_, body) = post(
        &app,
        &token,
        json!({ "query": format!("{{ {} }}", aliases.join(" ")) }),
    )
    .await;
    assert_refused(&body, "LIMIT_EXCEEDED");

    // Operations per batch.
    let batch: Vec<Value> = (0..17)
        .map(|_| json!({ "query": "{ me { org } }" }))
        .collect();
    let (_, body) = post(&app, &token, Value::Array(batch)).await;
    assert_refused(&body, "LIMIT_EXCEEDED");
    // A batch within the limit answers each operation.
    let batch: Vec<Value> = (0..3)
        .map(|_| json!({ "query": "{ me { org } }" }))
        .collect();
    let (status, body) = post(&app, &token, Value::Array(batch)).await;
    assert_eq!(status, 200);
    assert_eq!(body.as_array().unwrap().len(), 3, "{body}");

    // Syntax and validation errors carry a code too.
    let (_, body) = post(&app, &token, json!({ "query": "{ me { org " })).await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "INVALID_INPUT",
        "{body}"
    );
    let (_, body) = post(&app, &token, json!({ "query": "{ nothingHere }" })).await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "INVALID_INPUT",
        "{body}"
    );

    // The body: over 32 MiB is 413 before parsing; a malformed one is 400.
    let big = format!(
        "{{\"query\": \"{{ me {{ org }} }}\", \"x\": \"{}\"}}",
        "a".repeat(33 * 1024 * 1024)
    );
    let r = app
        .client
        .post(format!("{}/graphql", app.address))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let r = app
        .client
        .post(format!("{}/graphql", app.address))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{\"query\": 42}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // Other routes take far less.
    let r = app
        .client
        .post(format!("{}/healthz", app.address))
        .body(vec![b'a'; 128 * 1024])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error(), "{}", r.status());
}
