//! Warranty providers per product and region (issue 12): assigned by staff
//! as intervals, following the unit's holder from region to region,
//! inherited by units commissioned later, seen by the covered provider's
//! agents (public fields only), recomputed by the audit.

use provenance::auth::Role;
use provenance::services::audit::AuditError;
use serde_json::{Value, json};

use crate::custody::{ok, ship, sql};
use crate::events::{PACK_GTIN, dl, object};
use crate::helpers::{Backend, TestApp, spawn_app};

both_backends!(
    a_warranty_provider_covers_the_units_held_in_its_region,
    regions_and_assignments_are_checked,
    a_reassignment_and_a_receipt_at_the_same_position_audit_clean,
    ending_the_only_assignment_ends_the_cover,
);

fn refused(r: &Value, code: &str, field: Option<&str>) {
    let e = &r["errors"][0]["extensions"];
    assert_eq!(e["code"], code, "{r}");
    if let Some(f) = field {
        assert_eq!(e["field"], f, "{r}");
    }
}

async fn define(app: &TestApp, token: &str, name: &str, countries: Value) -> Value {
    app.gql(
        token,
        "mutation($n: String!, $c: [RegionCountryInput!]!) { defineRegion(name: $n, countries: $c) { name countries { country timeZone } } }",
        json!({ "n": name, "c": countries }),
    )
    .await
}

async fn assign(app: &TestApp, token: &str, region: &str, org: Option<&str>) -> Value {
    app.gql(
        token,
        "mutation($g: String!, $r: String!, $o: String) { assignWarrantyProvider(gtin: $g, region: $r, organisation: $o) }",
        json!({ "g": PACK_GTIN, "r": region, "o": org }),
    )
    .await
}

/// The serials of the packs the caller may see: by the list, and one by one.
async fn seen(app: &TestApp, token: &str, serials: &[&str]) -> Vec<String> {
    let r = app
        .gql(
            token,
            "{ devices(first: 50) { edges { node { serial } } } }",
            json!({}),
        )
        .await;
    ok(&r);
    let mut listed: Vec<String> = r["data"]["devices"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["serial"].as_str().unwrap_or_default().to_owned())
        .collect();
    listed.sort();
    let mut one_by_one = Vec::new();
    for s in serials {
        let r = app
            .gql(
                token,
                "query($g: String!, $s: String!) { device(gtin: $g, serial: $s) { serial } }",
                json!({ "g": PACK_GTIN, "s": s }),
            )
            .await;
        if r.get("errors").is_none() {
            one_by_one.push((*s).to_owned());
        } else {
            assert_eq!(r["errors"][0]["extensions"]["code"], "NOT_FOUND", "{r}");
        }
    }
    one_by_one.sort();
    assert_eq!(listed, one_by_one, "the list and the lookups agree");
    listed
}

async fn a_warranty_provider_covers_the_units_held_in_its_region(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let staff = app.with_products().await;
    let agent = app.token(Role::WarrantyAgent, "securecover").await;
    let velo = app.token(Role::Distributor, "veloparts-eu").await;
    let nord = app.token(Role::Distributor, "nordcycle").await;
    ok(&define(
        &app,
        &staff,
        "dach",
        json!([{ "country": "DE", "timeZone": "Europe/Berlin" }]),
    )
    .await);
    ok(&define(
        &app,
        &staff,
        "benelux",
        json!([{ "country": "NL", "timeZone": "Europe/Amsterdam" }]),
    )
    .await);
    let (p1, p2, p3) = (
        dl(PACK_GTIN, "W1"),
        dl(PACK_GTIN, "W2"),
        dl(PACK_GTIN, "W3"),
    );
    let serials = ["W1", "W2", "W3"];
    // W1 exists before the assignment; the manufacturer (DE) holds it.
    let mut inspected = object("w-2", "inspecting", &[&p1]);
    inspected["extensions"] =
        json!([{ "name": "note", "value": "PARTNER-ONLY", "visibility": "PARTNER" }]);
    ok(&app
        .capture(
            &staff,
            vec![object("w-1", "commissioning", &[&p1]), inspected],
        )
        .await);
    assert!(
        seen(&app, &agent, &serials).await.is_empty(),
        "no assignment yet"
    );
    ok(&assign(&app, &staff, "dach", Some("securecover")).await);
    assert_eq!(seen(&app, &agent, &serials).await, ["W1"]);
    // Public fields only: the partner note (and the eventID, a partner
    // field) are absent; the event is there.
    let r = app
        .gql(
            &agent,
            "{ device(gtin: \"04012345000016\", serial: \"W1\") { history { edges { node { eventID fields { name value } } } } } }",
            json!({}),
        )
        .await;
    ok(&r);
    assert!(r.to_string().contains("inspecting"), "{r}");
    assert!(!r.to_string().contains("PARTNER-ONLY"), "{r}");
    // Units commissioned later inherit the assignment.
    ok(&app
        .capture(
            &staff,
            vec![
                object("w-3", "commissioning", &[&p2, &p3]),
                ship("w-4", &[&p1], "nordcycle"),
                ship("w-5", &[&p2], "veloparts-eu"),
            ],
        )
        .await);
    assert_eq!(seen(&app, &agent, &serials).await, ["W1", "W2", "W3"]);
    // Received in Sweden (no region) and in the Netherlands (a region
    // nobody covers yet): out of cover.
    ok(&app
        .capture(&nord, vec![object("w-6", "receiving", &[&p1])])
        .await);
    ok(&app
        .capture(&velo, vec![object("w-7", "receiving", &[&p2])])
        .await);
    assert_eq!(seen(&app, &agent, &serials).await, ["W3"]);
    ok(&assign(&app, &staff, "benelux", Some("securecover")).await);
    assert_eq!(seen(&app, &agent, &serials).await, ["W2", "W3"]);
    // Ending the DACH assignment ends the cover of what is held there.
    ok(&assign(&app, &staff, "dach", None).await);
    assert_eq!(seen(&app, &agent, &serials).await, ["W2"]);
    app.portal.audit().await.expect("audit");
    // A tampered warranty interval fails the audit.
    sql(
        &app,
        "DELETE FROM custody_interval WHERE kind = 'warranty_provider' AND to_pos IS NULL",
    )
    .await;
    match app.portal.audit().await {
        Err(AuditError::Mismatch(f)) => assert!(f.what.contains("warranty_provider"), "{f}"),
        other => panic!("expected a mismatch: {other:?}"),
    }
}

async fn regions_and_assignments_are_checked(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let staff = app.with_products().await;
    let agent = app.token(Role::WarrantyAgent, "securecover").await;
    let de = json!([{ "country": "DE", "timeZone": "Europe/Berlin" }]);
    refused(
        &define(&app, &agent, "dach", de.clone()).await,
        "FORBIDDEN",
        None,
    );
    ok(&define(&app, &staff, "dach", de.clone()).await);
    refused(
        &define(
            &app,
            &staff,
            "dach",
            json!([{ "country": "AT", "timeZone": "Europe/Vienna" }]),
        )
        .await,
        "INVALID_INPUT",
        Some("name"),
    );
    refused(
        &define(&app, &staff, "germany", de).await,
        "INVALID_INPUT",
        Some("countries"),
    );
    refused(
        &define(
            &app,
            &staff,
            "mars",
            json!([{ "country": "FR", "timeZone": "Mars/Olympus" }]),
        )
        .await,
        "INVALID_INPUT",
        Some("countries"),
    );
    refused(
        &define(
            &app,
            &staff,
            "Upper",
            json!([{ "country": "FR", "timeZone": "Europe/Paris" }]),
        )
        .await,
        "INVALID_INPUT",
        Some("name"),
    );
    let r = app
        .gql(
            &agent,
            "{ regions { name countries { country timeZone } } }",
            json!({}),
        )
        .await;
    ok(&r);
    assert_eq!(
        r["data"]["regions"],
        json!([{ "name": "dach", "countries": [{ "country": "DE", "timeZone": "Europe/Berlin" }] }])
    );
    refused(
        &assign(&app, &agent, "dach", Some("securecover")).await,
        "FORBIDDEN",
        None,
    );
    refused(
        &assign(&app, &staff, "dach", Some("pedalfix")).await,
        "INVALID_INPUT",
        Some("organisation"),
    );
    refused(
        &assign(&app, &staff, "nowhere", Some("securecover")).await,
        "INVALID_INPUT",
        Some("region"),
    );
    ok(&assign(&app, &staff, "dach", Some("securecover")).await);
    // The same assignment again changes nothing.
    ok(&assign(&app, &staff, "dach", Some("securecover")).await);
    assert_eq!(
        app.portal
            .store()
            .assignments()
            .await
            .expect("assignments")
            .len(),
        1
    );
    app.portal.audit().await.expect("audit");
}

/// The provider of DACH changes at log size S; the next event (position S)
/// moves a unit from DACH to Benelux, whose provider is the one DACH had.
/// Capture leaves two meeting intervals of that provider, the audit's
/// recomputation one: they say the same, and the audit passes.
async fn a_reassignment_and_a_receipt_at_the_same_position_audit_clean(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let staff = app.with_products().await;
    let velo = app.token(Role::Distributor, "veloparts-eu").await;
    let r = app
        .gql(
            &staff,
            "mutation { createOrganisation(slug: \"covertwo\", name: \"Cover Two\", kind: \"warranty_provider\", country: \"DE\") { slug } }",
            json!({}),
        )
        .await;
    ok(&r);
    ok(&define(
        &app,
        &staff,
        "dach",
        json!([{ "country": "DE", "timeZone": "Europe/Berlin" }]),
    )
    .await);
    ok(&define(
        &app,
        &staff,
        "benelux",
        json!([{ "country": "NL", "timeZone": "Europe/Amsterdam" }]),
    )
    .await);
    ok(&assign(&app, &staff, "dach", Some("securecover")).await);
    ok(&assign(&app, &staff, "benelux", Some("securecover")).await);
    let pack = dl(PACK_GTIN, "W9");
    ok(&app
        .capture(
            &staff,
            vec![
                object("s-1", "commissioning", &[&pack]),
                ship("s-2", &[&pack], "veloparts-eu"),
            ],
        )
        .await);
    ok(&assign(&app, &staff, "dach", Some("covertwo")).await);
    ok(&app
        .capture(&velo, vec![object("s-3", "receiving", &[&pack])])
        .await);
    let agent = app.token(Role::WarrantyAgent, "securecover").await;
    assert_eq!(seen(&app, &agent, &["W9"]).await, ["W9"]);
    let other = app.token(Role::WarrantyAgent, "covertwo").await;
    assert!(seen(&app, &other, &["W9"]).await.is_empty());
    app.portal.audit().await.expect("audit");
}

/// With one region and one assignment, ending it ends the cover of every
/// unit (no assignment is left open to find the units by).
async fn ending_the_only_assignment_ends_the_cover(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let staff = app.with_products().await;
    let agent = app.token(Role::WarrantyAgent, "securecover").await;
    let nord = app.token(Role::Distributor, "nordcycle").await;
    ok(&define(
        &app,
        &staff,
        "dach",
        json!([{ "country": "DE", "timeZone": "Europe/Berlin" }]),
    )
    .await);
    ok(&assign(&app, &staff, "dach", Some("securecover")).await);
    let pack = dl(PACK_GTIN, "W8");
    ok(&app
        .capture(&staff, vec![object("e-1", "commissioning", &[&pack])])
        .await);
    assert_eq!(seen(&app, &agent, &["W8"]).await, ["W8"]);
    ok(&assign(&app, &staff, "dach", None).await);
    assert!(seen(&app, &agent, &["W8"]).await.is_empty());
    ok(&app
        .capture(&staff, vec![ship("e-2", &[&pack], "nordcycle")])
        .await);
    ok(&app
        .capture(&nord, vec![object("e-3", "receiving", &[&pack])])
        .await);
    assert!(seen(&app, &agent, &["W8"]).await.is_empty());
    app.portal.audit().await.expect("audit");
}
