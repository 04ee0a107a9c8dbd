//! Issue 17: the public pages behind the labels. Each viewer sees what the
//! policy gives it and nothing more (a marker in every partner, internal
//! and personal field of every event appears in no page, linkset or JSON
//! summary); unknown is 404 and malformed 400, as HTML; the language
//! follows `Accept-Language` and the switch; pages carry an ETag and answer
//! 304; a capture shows at once; reports and suspected copies reach staff,
//! and the copy warning shows only after staff confirm.

use std::collections::HashMap;

use reqwest::header::HeaderMap;
use serde_json::{Value, json};

use crate::events::{BMS_GTIN, PACK_GTIN, aggregation, at, dl, object};
use crate::helpers::{Backend, TestApp, spawn_app, spawn_app_with};

both_backends!(unit_pages_show_each_viewer_what_it_may_see);
both_backends!(reports_and_suspected_copies_reach_staff);

/// In every partner, internal and personal field of every event of P1.
pub const MARKER: &str = "QZXMARKER7PAGESX0017";

/// The units the page tests use, with their labels' URLs.
pub struct Seeded {
    pub staff: String,
    /// P1's sale, 60 days ago: its warranty runs 24 months from it.
    pub sold: chrono::NaiveDate,
    /// Serial → the label's URL (`{base}/01/…/21/{serial}?c={code}`).
    pub labels: HashMap<&'static str, String>,
}

fn with_secrets(mut e: Value, id: &str) -> Value {
    e["eventID"] = json!(format!("{id}-{MARKER}"));
    e["readPoint"] = json!(format!("urn:example:rp:{MARKER}"));
    e["bizLocation"] = json!(format!("urn:example:loc:{MARKER}"));
    e["extensions"] = json!([
        { "name": "line", "value": format!("partner {MARKER}"), "visibility": "PARTNER" },
        { "name": "note", "value": format!("internal {MARKER}"), "visibility": "INTERNAL" },
        { "name": "ownerEmail", "value": format!("{MARKER}@example.org"), "visibility": "PERSONAL" },
    ]);
    e
}

/// P1: made, sold and installed, with a BMS board B1 in it, every event
/// full of the marker; P2
/// recalled, P3 reported stolen, P4 decommissioned; each with a label.
pub async fn seed(app: &TestApp) -> Seeded {
    let staff = app.with_products().await;
    let units: Vec<String> = ["P1", "P2", "P3", "P4"]
        .iter()
        .map(|s| dl(PACK_GTIN, s))
        .collect();
    let p1 = [units[0].clone()];
    let board = dl(BMS_GTIN, "B1");
    let sold = (chrono::Utc::now() - chrono::Duration::days(60)).date_naive();
    let events = vec![
        with_secrets(
            at(
                object("pg-board", "commissioning", std::slice::from_ref(&board)),
                "2026-02-20T08:00:00.000+01:00",
            ),
            "pg-board",
        ),
        with_secrets(
            at(
                object("pg-made", "commissioning", &units),
                "2026-03-01T08:00:00.000+01:00",
            ),
            "pg-made",
        ),
        with_secrets(
            at(
                aggregation(
                    "pg-asm",
                    "ADD",
                    "assembling",
                    &units[0],
                    std::slice::from_ref(&board),
                ),
                "2026-03-01T09:00:00.000+01:00",
            ),
            "pg-asm",
        ),
        with_secrets(
            at(
                object("pg-qc", "inspecting", &p1),
                "2026-03-02T08:00:00.000+01:00",
            ),
            "pg-qc",
        ),
        with_secrets(
            at(
                object("pg-sold", "retail_selling", &p1),
                &format!("{sold}T08:00:00.000+02:00"),
            ),
            "pg-sold",
        ),
        {
            let mut e = at(
                object("pg-recall", "holding", &[units[1].clone()]),
                "2026-05-01T08:00:00.000+02:00",
            );
            e["disposition"] = json!("recalled");
            e
        },
        {
            let mut e = at(
                object("pg-stolen", "holding", &[units[2].clone()]),
                "2026-05-01T08:00:00.000+02:00",
            );
            e["disposition"] = json!("stolen");
            e
        },
        at(
            object("pg-end", "decommissioning", &[units[3].clone()]),
            "2026-05-01T08:00:00.000+02:00",
        ),
    ];
    let r = app.capture(&staff, events).await;
    assert!(r.get("errors").is_none(), "{r}");
    let mut labels = HashMap::new();
    for serial in ["P1", "P2", "P3", "P4"] {
        let r = app
            .gql(
                &staff,
                "mutation($s: String!) { l: printLabel(gtin: \"04012345000016\", serial: $s) { url } }",
                json!({ "s": serial }),
            )
            .await;
        let url = r["data"]["l"]["url"].as_str().expect("a label").to_owned();
        labels.insert(serial, url);
    }
    Seeded {
        staff,
        sold,
        labels,
    }
}

/// The page path of a label URL (`/pip/01/…?c=…`).
pub fn page_of(label: &str) -> String {
    let path = label.split_once("/01/").expect("a Digital Link").1;
    format!("/pip/01/{path}")
}

async fn fetch(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> (u16, HeaderMap, String) {
    let mut req = app.client.get(format!("{}{path}", app.address));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.send().await.expect("request");
    let status = r.status().as_u16();
    let h = r.headers().clone();
    (status, h, r.text().await.expect("body"))
}

async fn body_of(app: &TestApp, path: &str) -> String {
    fetch(app, path, &[]).await.2
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> &'a str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

async fn unit_pages_show_each_viewer_what_it_may_see(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let seeded = seed(&app).await;
    let customer = page_of(&seeded.labels["P1"]);
    let anonymous = customer.split('?').next().unwrap().to_owned();
    let mut seen = Vec::new();

    // The customer: verified, the history in plain words with proofs, the
    // warranty from the sale.
    let (status, h, body) = fetch(&app, &customer, &[]).await;
    assert_eq!(status, 200, "{body}");
    assert!(header(&h, "content-type").starts_with("text/html"));
    assert_eq!(header(&h, "vary"), "Accept, Accept-Language");
    assert!(header(&h, "cache-control").contains("no-store"));
    assert_eq!(header(&h, "referrer-policy"), "no-referrer");
    assert!(body.contains("<html lang=\"en\">"));
    assert!(body.contains("Label code verified"), "{body}");
    let until = seeded
        .sold
        .checked_add_months(chrono::Months::new(24))
        .unwrap();
    for words in [
        "Made and registered".to_owned(),
        "Quality check passed".to_owned(),
        "Sold".to_owned(),
        format!("Active until {until}"),
        "2026-03-01".to_owned(),
    ] {
        assert!(body.contains(&words), "{words} in {body}");
    }
    assert!(body.contains("href=\"/log/proof/leaf/"), "{body}");
    assert!(!body.contains("<script"), "no JavaScript");
    let etag = header(&h, "etag").to_owned();
    assert!(etag.starts_with('"') && etag.len() == 26, "{etag}");
    seen.push(body.clone());

    // Its proof, by leaf index, once a checkpoint covers it.
    let leaf = body
        .split("href=\"/log/proof/leaf/")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_owned();
    let mut proof = String::new();
    for _ in 0..300 {
        let (status, _, text) = fetch(&app, &format!("/log/proof/leaf/{leaf}"), &[]).await;
        if status == 200 {
            proof = text;
            break;
        }
        assert_eq!(status, 409, "{text}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(proof.starts_with("c2sp.org/tlog-proof@v1\n"), "{proof}");
    assert_eq!(fetch(&app, "/log/proof/leaf/x", &[]).await.0, 400);
    assert_eq!(
        fetch(&app, "/log/proof/leaf/18446744073709551615", &[])
            .await
            .0,
        404,
        "past the log's end"
    );

    // 304 for the same page, with the same headers of privacy.
    let (status, h, body) = fetch(&app, &customer, &[("If-None-Match", &etag)]).await;
    assert_eq!(status, 304);
    assert!(body.is_empty());
    assert_eq!(header(&h, "etag"), etag);
    assert!(header(&h, "cache-control").contains("no-store"));

    // German by Accept-Language; the switch goes back to English with the
    // code kept.
    let (_, _, de) = fetch(
        &app,
        &customer,
        &[("Accept-Language", "de-DE,de;q=0.9,en;q=0.5")],
    )
    .await;
    assert!(de.contains("<html lang=\"de\">"), "{de}");
    assert!(de.contains("Etikett-Code geprüft"));
    assert!(de.contains("Verkauft"));
    let code = seeded.labels["P1"].split("c=").nth(1).unwrap().to_owned();
    assert!(
        de.contains(&format!("?c={code}&#38;lang=en\" hreflang=\"en\"")),
        "{de}"
    );
    let (_, _, en) = fetch(
        &app,
        &format!("{customer}&lang=en"),
        &[("Accept-Language", "de")],
    )
    .await;
    assert!(en.contains("<html lang=\"en\">"));
    seen.push(de);

    // Without a code: product, model and status, nothing of the history.
    let (status, h, body) = fetch(&app, &anonymous, &[]).await;
    assert_eq!(status, 200);
    assert_eq!(header(&h, "cache-control"), "public, max-age=60");
    assert!(body.contains("Genuine") && body.contains("Pack") && body.contains("M1"));
    for absent in [
        "History",
        "Sold",
        "Warranty",
        "/log/proof/",
        "2026-03-01",
        "verified",
    ] {
        assert!(!body.contains(absent), "{absent} in {body}");
    }
    seen.push(body.clone());

    // A wrong code: the same view and a notice, never another status.
    let wrong = format!("{anonymous}?c=AAAAAAAAAAAAA");
    let (status, h, guessed) = fetch(&app, &wrong, &[]).await;
    assert_eq!(status, 200);
    assert!(header(&h, "cache-control").contains("no-store"));
    assert!(guessed.contains("does not match this unit"), "{guessed}");
    assert!(
        !guessed.contains("AAAAAAAAAAAAA"),
        "the guess is not carried on"
    );
    let lines = |page: &str| -> Vec<String> {
        page.lines()
            .filter(|l| !l.trim().is_empty() && !l.contains("does not match"))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(
        lines(&guessed),
        lines(&body),
        "the wrong code's page is the anonymous one plus the notice"
    );
    seen.push(guessed);

    // The other statuses, in words.
    for (serial, words) in [
        ("P2", "Recalled"),
        ("P3", "Reported stolen"),
        ("P4", "Taken out of service"),
    ] {
        let (status, _, body) = fetch(&app, &page_of(&seeded.labels[serial]), &[]).await;
        assert_eq!(status, 200);
        assert!(
            body.contains(&format!("<h1 id=\"status-heading\">{words}</h1>")),
            "{body}"
        );
    }

    // Unknown: 404 as a page, and no cache entry; malformed: 400.
    let (entries, _) = app.portal.page_cache_usage();
    let (status, h, body) = fetch(&app, &format!("/pip/01/{PACK_GTIN}/21/NOPE"), &[]).await;
    assert_eq!(status, 404);
    assert!(header(&h, "content-type").starts_with("text/html"));
    assert!(body.contains("This unit is not known") && body.contains("counterfeit"));
    // A counterfeit label's URL, scanned: the resolver answers a browser
    // with the same page, anything else with the problem.
    let browser_accept = [(
        "Accept",
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    )];
    let fake = format!("/01/{PACK_GTIN}/21/FAKE?c=AAAAAAAAAAAAA");
    let (status, h, body) = fetch(&app, &fake, &browser_accept).await;
    assert_eq!(status, 404);
    assert!(
        header(&h, "content-type").starts_with("text/html"),
        "{body}"
    );
    assert!(header(&h, "cache-control").contains("no-store"));
    assert!(body.contains("This unit is not known"), "{body}");
    let (status, h, _) = fetch(&app, &fake, &[]).await;
    assert_eq!(status, 404);
    assert!(header(&h, "content-type").starts_with("application/problem+json"));
    assert_eq!(
        app.portal.page_cache_usage().0,
        entries,
        "no entry for an unknown serial"
    );
    let (status, _, body) = fetch(&app, "/pip/01/0401234500001/21/P1", &[]).await;
    assert_eq!(status, 400);
    assert!(body.contains("not a valid GS1 Digital Link"), "{body}");
    assert_eq!(
        fetch(&app, &format!("/pip/01/{PACK_GTIN}/10/OTHER/21/P1"), &[])
            .await
            .0,
        404,
        "another lot is another unit"
    );

    // The product page and a lot's: never a serial.
    let (status, _, product) = fetch(&app, &format!("/pip/01/{PACK_GTIN}/10/KL8G"), &[]).await;
    assert_eq!(status, 200);
    assert!(product.contains("Pack") && product.contains("KL8G"));
    assert!(!product.contains("P1"), "{product}");

    // The JSON summary and the linkset, with and without the code.
    let json_accept = [("Accept", "application/json")];
    let (_, h, summary) = fetch(&app, &customer, &json_accept).await;
    assert!(header(&h, "content-type").starts_with("application/json"));
    let parsed: Value = serde_json::from_str(&summary).unwrap();
    assert_eq!(parsed["verified"], true);
    assert!(parsed["status"].is_string(), "{parsed}");
    assert_eq!(parsed["banner"], "genuine");
    seen.push(summary);
    let (_, _, guessed) = fetch(&app, &wrong, &json_accept).await;
    let parsed: Value = serde_json::from_str(&guessed).unwrap();
    assert_eq!(parsed["verified"], false);
    assert_eq!(parsed["banner"], "genuine");
    assert!(
        parsed["status"].is_null(),
        "the lifecycle status is history: {parsed}"
    );
    seen.push(guessed);
    let resolver = anonymous.trim_start_matches("/pip");
    for q in [
        "?linkType=linkset".to_owned(),
        format!("?c={code}&linkType=linkset"),
    ] {
        let (status, _, linkset) = fetch(&app, &format!("{resolver}{q}"), &[]).await;
        assert_eq!(status, 200, "{linkset}");
        seen.push(linkset);
    }
    for text in &seen {
        assert!(!text.contains(MARKER), "the marker leaked:\n{text}");
    }

    // The installed board, with its own status; its recall shows on the
    // pack's cached page at once (it moves the board, not the pack).
    assert!(body_of(&app, &customer).await.contains("tag-genuine"));
    let mut recall = at(
        object("pg-board-recall", "holding", &[dl(BMS_GTIN, "B1")]),
        "2026-05-20T08:00:00.000+02:00",
    );
    recall["disposition"] = json!("recalled");
    let r = app.capture(&seeded.staff, vec![recall]).await;
    assert!(r.get("errors").is_none(), "{r}");
    let page = body_of(&app, &customer).await;
    assert!(
        page.contains("<span class=\"tag tag-recalled\">Recalled</span>"),
        "{page}"
    );

    // Served from memory, and a capture shows at once.
    assert!(app.portal.page_cache_usage().0 >= 4);
    let r = app
        .capture(
            &seeded.staff,
            vec![at(
                object("pg-install", "installing", &[dl(PACK_GTIN, "P1")]),
                &format!(
                    "{}T08:00:00.000+02:00",
                    seeded.sold + chrono::Duration::days(1)
                ),
            )],
        )
        .await;
    assert!(r.get("errors").is_none(), "{r}");
    let (_, h, body) = fetch(&app, &customer, &[]).await;
    assert!(body.contains("Installed"), "{body}");
    assert_ne!(header(&h, "etag"), etag);
}

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
    // Not for another unit (with its own code).
    let (_, _, other) = fetch(&app, &page_of(&seeded.labels["P2"]), &[]).await;
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
