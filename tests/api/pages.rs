//! Issue 17: the public pages behind the labels. Each viewer sees what the
//! policy gives it and nothing more (a marker in every partner, internal
//! and personal field of every event appears in no page, linkset or JSON
//! summary); unknown is 404 and malformed 400, as HTML; the language
//! follows `Accept-Language` and the switch; pages carry an ETag and answer
//! 304; a capture shows at once. Reports and suspected copies: the
//! `pages_reports` module.

use std::collections::HashMap;

use reqwest::header::HeaderMap;
use serde_json::{Value, json};

use crate::events::{BMS_GTIN, PACK_GTIN, aggregation, at, dl, object};
use crate::helpers::{Backend, TestApp, spawn_app};

both_backends!(unit_pages_show_each_viewer_what_it_may_see);

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

pub async fn fetch(
    app: &TestApp,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, HeaderMap, String) {
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

pub fn header<'a>(h: &'a HeaderMap, name: &str) -> &'a str {
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
