//! Issue 17: reports and suspected copies reach staff. Scans with the code
//! are counted in memory and flushed in batches, a unit scanned from too
//! many networks raises one alert, and the copy warning shows only after
//! staff confirm it; the report form is limited and taken only from this
//! site.

use serde_json::{Value, json};

use crate::events::PACK_GTIN;
use crate::helpers::{Backend, TestApp, spawn_app_with};
use crate::pages::{fetch, page_of, seed};

both_backends!(reports_and_suspected_copies_reach_staff);

async fn staff_alerts(app: &TestApp, token: &str, state: &str) -> Value {
    app.gql(
        token,
        &format!(
            "{{ alerts(state: {state}) {{ id kind gtin serial evidence state acknowledgedBy }} }}"
        ),
        json!({}),
    )
    .await
}

async fn reports_and_suspected_copies_reach_staff(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| {
        s.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap(), "::1/128".parse().unwrap()];
        s.clone_networks = 2;
        // Flushed by the test only.
        s.scan_flush_every = std::time::Duration::from_secs(24 * 3600);
    })
    .await
    else {
        return;
    };
    let seeded = seed(&app).await;
    let customer = page_of(&seeded.labels["P1"]);

    let first_day = chrono::Utc::now().date_naive();
    // Scans with the code from three networks (two are allowed): counted
    // in memory, flushed in a batch, an alert for staff — and nothing on
    // the page until staff confirm.
    for (i, addr) in [
        "198.51.100.7",
        "198.51.100.8",
        "203.0.113.9",
        "2001:db8:5::1",
    ]
    .iter()
    .enumerate()
    {
        let forwarded = format!("{addr}, 127.0.0.1");
        let country = if i % 2 == 0 { "de" } else { "AT" };
        let (status, _, _) = fetch(
            &app,
            &customer,
            &[
                ("X-Forwarded-For", &forwarded),
                ("X-Client-Country", country),
            ],
        )
        .await;
        assert_eq!(status, 200);
    }
    // Anonymous scans and a wrong code count for nothing.
    fetch(
        &app,
        customer.split('?').next().unwrap(),
        &[("X-Forwarded-For", "192.0.2.1")],
    )
    .await;
    assert_eq!(
        app.count("scan_count").await,
        0,
        "nothing written on the request path"
    );
    assert_eq!(app.portal.flush_scans().await.unwrap(), 1);
    // One row per network and day (four if the scans straddled midnight).
    let rows = app.count("scan_count").await;
    if first_day == chrono::Utc::now().date_naive() {
        assert_eq!(rows, 3, "one row per network");
    } else {
        assert!((3..=4).contains(&rows), "{rows} rows");
    }
    assert_eq!(app.portal.flush_scans().await.unwrap(), 0, "one alert");
    let open = staff_alerts(&app, &seeded.staff, "OPEN").await;
    let alerts = open["data"]["alerts"].as_array().expect("alerts").clone();
    assert_eq!(alerts.len(), 1, "{open}");
    assert_eq!(alerts[0]["kind"], "copy_suspected");
    assert_eq!(alerts[0]["serial"], "P1");
    assert_eq!(alerts[0]["evidence"]["distinctNetworks"], 3);
    assert!(!open.to_string().contains("198.51"), "no address is kept");
    let (_, _, page) = fetch(&app, &customer, &[]).await;
    assert!(!page.contains("may have been copied"));

    // Only staff review alerts.
    let distributor = app
        .token(provenance::auth::Role::Distributor, "veloparts-eu")
        .await;
    crate::helpers::assert_refused(&staff_alerts(&app, &distributor, "OPEN").await, "FORBIDDEN");
    let id = alerts[0]["id"].as_str().unwrap().to_owned();
    let decide = "mutation($id: String!) { decideAlert(id: $id, decision: CONFIRM) { state acknowledgedBy } }";
    crate::helpers::assert_refused(
        &app.gql(&distributor, decide, json!({ "id": id })).await,
        "FORBIDDEN",
    );
    let r = app.gql(&seeded.staff, decide, json!({ "id": id })).await;
    assert_eq!(r["data"]["decideAlert"]["state"], "confirmed", "{r}");
    crate::helpers::assert_refused(
        &app.gql(&seeded.staff, decide, json!({ "id": id })).await,
        "NOT_FOUND",
    );
    let (_, _, page) = fetch(&app, &customer, &[]).await;
    assert!(page.contains("may have been copied"), "{page}");
    let (_, _, summary) = fetch(&app, &customer, &[("Accept", "application/json")]).await;
    assert_eq!(
        serde_json::from_str::<Value>(&summary).unwrap()["copyConfirmed"],
        true
    );
    // Not with a wrong code for the same unit.
    let wrong = format!("{}?c=AAAAAAAAAAAAA", customer.split('?').next().unwrap());
    let (_, _, other) = fetch(&app, &wrong, &[]).await;
    assert!(other.contains("does not match this unit"), "{other}");
    assert!(!other.contains("may have been copied"));
    let (_, _, bare) = fetch(&app, customer.split('?').next().unwrap(), &[]).await;
    assert!(
        !bare.contains("may have been copied"),
        "not without the code"
    );

    // The report form: recorded for staff, limited per network.
    let post = |kind: &'static str, from: &str, path: String| {
        app.client
            .post(format!("{}{path}", app.address))
            .header("X-Forwarded-For", from)
            .form(&[("kind", kind)])
            .send()
    };
    // Only from this site's own form.
    for (name, value) in [
        ("Origin", "https://evil.example"),
        ("Origin", "null"),
        ("Sec-Fetch-Site", "cross-site"),
        ("Sec-Fetch-Site", "same-site"),
    ] {
        let r = app
            .client
            .post(format!("{}{customer}", app.address))
            .header(name, value)
            .form(&[("kind", "stolen")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{name}: {value}");
        assert!(
            r.headers()["cache-control"]
                .to_str()
                .unwrap()
                .contains("no-store")
        );
    }
    // What a browser sends with the page's own form: the page's
    // no-referrer policy makes its Origin `null`.
    let r = app
        .client
        .post(format!("{}{customer}", app.address))
        .header("Origin", "null")
        .header("Sec-Fetch-Site", "same-origin")
        .header("X-Forwarded-For", "192.0.2.10")
        .form(&[("kind", "stolen")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("your report was recorded"));
    let r = post("bogus", "192.0.2.10", customer.clone()).await.unwrap();
    assert_eq!(r.status(), 400);
    let r = post(
        "found",
        "192.0.2.10",
        format!("/pip/01/{PACK_GTIN}/21/NOPE"),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 404);
    let anonymous = page_of(&seeded.labels["P2"])
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    for _ in 0..5 {
        let r = post("found", "192.0.2.11", anonymous.clone())
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let r = post("found", "192.0.2.12", anonymous.clone())
        .await
        .unwrap();
    assert_eq!(r.status(), 429, "five per hour from one /24");
    assert!(r.headers().get("retry-after").is_some());
    let r = post("found", "198.18.0.1", anonymous.clone())
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "another network is not limited");
    // Reports without the code do not use up the owner's: ten a day for
    // each, per unit.
    let owner = page_of(&seeded.labels["P2"]);
    for i in 0..4u8 {
        let r = post("found", &format!("198.19.{i}.1"), anonymous.clone())
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let r = post("found", "198.19.9.1", anonymous.clone())
        .await
        .unwrap();
    assert_eq!(r.status(), 429, "ten a day for the unit without the code");
    let r = post("stolen", "198.19.10.1", owner).await.unwrap();
    assert_eq!(r.status(), 200, "the owner, with the code, still reports");
    let all = staff_alerts(&app, &seeded.staff, "OPEN").await;
    let kinds: Vec<&str> = all["data"]["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"reported_stolen"), "{all}");
    assert!(kinds.contains(&"reported_found"), "{all}");

    // Reports at once file one alert, and every one is answered.
    let p3 = page_of(&seeded.labels["P3"]);
    let mut at_once = tokio::task::JoinSet::new();
    for _ in 0..6 {
        at_once.spawn(
            app.client
                .post(format!("{}{p3}", app.address))
                .form(&[("kind", "found")])
                .send(),
        );
    }
    while let Some(r) = at_once.join_next().await {
        assert_eq!(r.unwrap().unwrap().status(), 200);
    }
    let found = app
        .gql(
            &seeded.staff,
            "{ alerts(kind: \"reported_found\") { serial scope } }",
            json!({}),
        )
        .await;
    let p3_alerts = found["data"]["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["serial"] == "P3")
        .count();
    assert_eq!(p3_alerts, 1, "{found}");
}
