//! Limits checked before any resolver runs, and the raw body limit of
//! `/graphql`: over a limit is `LIMIT_EXCEEDED` (or 413 for the body);
//! every error carries a code.

use provenance::auth::Role;
use serde_json::{Value, json};

use crate::helpers::{Backend, assert_refused, spawn_app};

both_backends!(limits_refuse_before_resolving);

pub(crate) async fn post(app: &crate::helpers::TestApp, token: &str, body: Value) -> (u16, Value) {
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

    // GraphQL over HTTP: a client that accepts graphql-response+json gets
    // request errors as 400 without data, and that content type.
    let ask = |query: &str| {
        app.client
            .post(format!("{}/graphql", app.address))
            .bearer_auth(&token)
            .header("accept", "application/graphql-response+json")
            .json(&json!({ "query": query }))
            .send()
    };
    let r = ask("{ me { org ").await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/graphql-response+json")
    );
    let body: Value = r.json().await.unwrap();
    assert!(body.get("data").is_none(), "{body}");
    let r = ask("{ me { org } }").await.unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["data"]["me"]["org"], "ampera");

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

both_backends!(a_page_of_devices_costs_a_constant_number_of_queries);

/// A page of devices with their latest event, custodian and components
/// (with theirs) costs the same number of store queries for 5 devices as
/// for 30: loaders batch them.
async fn a_page_of_devices_costs_a_constant_number_of_queries(backend: Backend) {
    use crate::events::{BMS_GTIN, PACK_GTIN, aggregation, dl, object};
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let staff = app.with_products().await;
    let mut events = Vec::new();
    for i in 0..40 {
        let (pack, board) = (
            dl(PACK_GTIN, &format!("Q{i:02}")),
            dl(BMS_GTIN, &format!("B{i:02}")),
        );
        events.push(object(&format!("q-{i}-1"), "commissioning", &[&pack]));
        events.push(object(&format!("q-{i}-2"), "commissioning", &[&board]));
        events.push(aggregation(
            &format!("q-{i}-3"),
            "ADD",
            "assembling",
            &pack,
            &[&board],
        ));
    }
    let r = app.capture(&staff, events).await;
    assert!(r.get("errors").is_none(), "{r}");
    let page = |n: usize| {
        format!(
            "{{ devices(gtin: \"{PACK_GTIN}\", first: {n}) {{ edges {{ node {{ serial custodian latestEvent {{ bizStep eventDate }} components {{ device {{ serial custodian }} installedAt }} }} }} }} }}"
        )
    };
    // The page runs as the web layer runs it, with a count of its own: only
    // this request's queries are counted, not those of the server's
    // background tasks or of other tests. Why it runs on a runtime of one
    // thread, with at most 30 devices: a data loader's batch takes the keys
    // registered before its 1 ms delay ends. On the server's worker threads
    // the loader's task runs beside the pass over the page, and a list of
    // more than 30 items is polled in rounds of 32 (futures' join_all, then
    // FuturesUnordered's yield), so on a loaded machine a batch can close
    // between rounds: [12, 20] and [12, 28] were seen for 40 devices. Each
    // split costs one more batch, never one query per device, but the
    // count then depends on timing. With one thread and one round, the
    // loader's task starts only after every key of the level is in.
    let schema = provenance::graphql::build_schema(app.portal.clone());
    let principal = provenance::auth::Principal {
        subject: "staff".into(),
        role: Role::Staff,
        org: "ampera".into(),
    };
    let portal = app.portal.clone();
    let results = tokio::task::spawn_blocking(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut out = Vec::new();
            for n in [5, 30] {
                let counter = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
                let response = provenance::store::count_device_queries(
                    counter.clone(),
                    provenance::graphql::execute(
                        &schema,
                        portal.clone(),
                        async_graphql::Request::new(page(n)),
                        principal.clone(),
                        "test",
                    ),
                )
                .await;
                out.push((
                    n,
                    serde_json::to_value(&response).unwrap(),
                    response.errors.is_empty(),
                    counter.load(std::sync::atomic::Ordering::Relaxed),
                ));
            }
            out
        })
    })
    .await
    .unwrap();
    let mut costs = Vec::new();
    for (n, body, ok, count) in results {
        assert!(ok, "{body}");
        let edges = body["data"]["devices"]["edges"].as_array().unwrap();
        assert_eq!(edges.len(), n);
        let first = &edges[0]["node"];
        assert_eq!(first["latestEvent"]["bizStep"], "assembling", "{first}");
        assert_eq!(
            first["components"][0]["device"]["custodian"], "ampera",
            "{first}"
        );
        costs.push(count);
    }
    eprintln!("store queries for a page of 5 and of 30 devices: {costs:?}");
    assert!(costs[0] >= 1, "{costs:?}");
    assert_eq!(
        costs[0], costs[1],
        "queries grow with the page size: 5 vs 30 devices cost {costs:?}"
    );
}

/// `first` and `last` multiply what each item of a page costs; lists that
/// are not paged count as an estimate; a proof counts more than a field
/// (README, "What a query costs"). Validation refuses before resolving,
/// with variables counted as given.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_costs_its_page_sizes() {
    let app = spawn_app(Backend::Sqlite).await.expect("SQLite app");
    let token = app.token(Role::Staff, "ampera").await;
    let heavy = "edges { node { serial history { edges { node { eventID tlogProof } } } lineage { device { serial } } } }";
    // 500 devices, each with a page of 1000 events with a proof: refused.
    for query in [
        format!("{{ devices(first: 500) {{ {heavy} }} }}"),
        // Without `first`, a page of devices is 100; still far too much.
        format!("{{ devices {{ {heavy} }} }}"),
        // A history page of 100 events with proofs, for 100 devices.
        "{ devices { edges { node { history(first: 100) { edges { node { tlogProof } } } } } } }"
            .to_owned(),
        // `last` counts as `first` does.
        "{ devices(first: 100) { edges { node { history(last: 100) { edges { node { tlogProof } } } } } } }"
            .to_owned(),
    ] {
        let (status, body) = post(&app, &token, json!({ "query": query })).await;
        assert_eq!(status, 200);
        assert_refused(&body, "LIMIT_EXCEEDED");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap_or_default()
                .contains("complex"),
            "{body}"
        );
    }
    // A variable's value counts as the literal would.
    let (_, body) = post(
        &app,
        &token,
        json!({
            "query": "query($n: Int) { devices(first: $n) { edges { node { history(first: $n) { edges { node { eventID tlogProof } } } } } } }",
            "variables": { "n": 200 },
        }),
    )
    .await;
    assert_refused(&body, "LIMIT_EXCEEDED");
    // Small pages of the same shape are answered (an unknown device after
    // validation passed).
    for (query, variables, code) in [
        (
            "query($n: Int) { devices(first: $n) { edges { node { history(first: $n) { edges { node { eventID tlogProof } } } } } } }",
            json!({ "n": 20 }),
            None,
        ),
        (
            "{ devices(first: 10) { edges { node { serial history(first: 10) { edges { node { eventID tlogProof } } } lineage { device { serial } } } } } }",
            json!({}),
            None,
        ),
        (
            "{ device(gtin: \"04012345000016\", serial: \"X\") { history { edges { node { eventID fields { name value } } } } } }",
            json!({}),
            Some("NOT_FOUND"),
        ),
    ] {
        let (status, body) = post(
            &app,
            &token,
            json!({ "query": query, "variables": variables }),
        )
        .await;
        assert_eq!(status, 200);
        match code {
            None => assert!(body.get("errors").is_none(), "{body}"),
            Some(code) => assert_refused(&body, code),
        }
    }
}

/// Review of issue 14: a document's cost is bounded before it is parsed or
/// validated (fragments spread in doubling chains, literals nested
/// thousands deep), and a GET takes no more than a small body would.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_and_query_strings_are_bounded_before_parsing() {
    let app = spawn_app(Backend::Sqlite).await.expect("SQLite app");
    let token = app.token(Role::Auditor, "eu-msa").await;
    // 2^30 fields in under 2 KB.
    let mut bomb = String::from("query { ...F1 }\n");
    for i in 1..30 {
        bomb.push_str(&format!(
            "fragment F{i} on Query {{ ...F{n} ...F{n} }}\n",
            n = i + 1
        ));
    }
    bomb.push_str("fragment F30 on Query { me { org } }\n");
    let (_, body) = post(&app, &token, json!({ "query": bomb })).await;
    assert_refused(&body, "LIMIT_EXCEEDED");
    // A literal nested 30,000 deep.
    let deep = format!(
        "{{ device(gtin: {}\"x\"{}, serial: \"x\") {{ serial }} }}",
        "[".repeat(30_000),
        "]".repeat(30_000)
    );
    let (_, body) = post(&app, &token, json!({ "query": deep })).await;
    assert_refused(&body, "LIMIT_EXCEEDED");
    // GET: the same limits, and a query string of at most 64 KiB.
    let get = |query: String, variables: Option<String>, token: Option<&str>| {
        let mut params = vec![("query", query)];
        if let Some(v) = variables {
            params.push(("variables", v));
        }
        let mut r = app
            .client
            .get(format!("{}/graphql", app.address))
            .query(&params);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send()
    };
    let r = get("{ me { org } }".into(), None, Some(&token))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["data"]["me"]["org"], "eu-msa", "{body}");
    let r = get(
        "query($v: String) { me { org } }".into(),
        Some(json!({ "v": "x" }).to_string()),
        Some(&token),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let r = get(bomb.clone(), None, Some(&token)).await.unwrap();
    let body: Value = r.json().await.unwrap();
    assert_refused(&body, "LIMIT_EXCEEDED");
    let nested = format!("{}0{}", "[".repeat(100), "]".repeat(100));
    let r = get(
        "query($v: [Int]) { me { org } }".into(),
        Some(format!("{{\"v\": {nested}}}")),
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "LIMIT_EXCEEDED",
        "{body}"
    );
    // Over 64 KiB of query string (longer than an HTTP client library
    // builds a URI), written on the socket: refused unread.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = app.address.trim_start_matches("http://").to_owned();
    let mut socket = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let request = format!(
        "GET /graphql?query=%7Bme%7Borg%7D%7D%23{} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n",
        "x".repeat(70 * 1024)
    );
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    socket.read_to_end(&mut answer).await.unwrap();
    let status = String::from_utf8_lossy(&answer[..answer.len().min(12)]).into_owned();
    // The HTTP layer refuses a URI this long itself (400); the handler
    // would answer 413.
    assert!(
        status == "HTTP/1.1 400" || status == "HTTP/1.1 413",
        "a query string over 64 KiB: {status}"
    );
}
