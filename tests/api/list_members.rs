//! Issue 13: list members are decided per listed device. A partner that
//! may see one pack of a multi-pack shipment sees, in that pack's history,
//! only that pack in `epcList` — never the packs it was shipped with.

use provenance::auth::Role;

use crate::custody::{assign, raw_history, ship};
use crate::events::{PACK_GTIN, dl, object};
use crate::helpers::{Backend, spawn_app};

both_backends!(a_partner_sees_no_other_pack_of_a_shipment);

async fn a_partner_sees_no_other_pack_of_a_shipment(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let staff = app.with_products().await;
    let packs: Vec<String> = ["M1", "M2", "M3"]
        .iter()
        .map(|s| dl(PACK_GTIN, s))
        .collect();
    let refs: Vec<&str> = packs.iter().map(String::as_str).collect();
    let r = app
        .capture(
            &staff,
            vec![
                object("m-1", "commissioning", &refs),
                ship("m-2", &refs, "veloparts-eu"),
            ],
        )
        .await;
    assert!(r.get("errors").is_none(), "{r}");
    assign(&app, &staff, "M1", Some("pedalfix")).await;

    let partner = app.token(Role::ServicePartner, "pedalfix").await;
    let seen = raw_history(&app, &partner, PACK_GTIN, "M1").await;
    assert!(seen.contains("/21/M1"), "its own pack: {seen}");
    for other in ["/21/M2", "/21/M3"] {
        assert!(
            !seen.contains(other),
            "{other} leaked to the service partner: {seen}"
        );
    }
    // The distributor the shipment went to may see all three; staff too.
    let velo = app.token(Role::Distributor, "veloparts-eu").await;
    let shipped = raw_history(&app, &velo, PACK_GTIN, "M1").await;
    assert!(
        shipped.contains("/21/M2") && shipped.contains("/21/M3"),
        "{shipped}"
    );
    let all = raw_history(&app, &staff, PACK_GTIN, "M1").await;
    assert!(all.contains("/21/M2") && all.contains("/21/M3"), "{all}");
}

both_backends!(a_history_filter_tells_nothing_the_viewer_may_not_see);

/// An auditor sees every step only as its commitment: a `bizStep` filter
/// must not tell it which events are shipments (it matches none), while
/// staff get exactly the shipment.
async fn a_history_filter_tells_nothing_the_viewer_may_not_see(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let staff = app.with_products().await;
    let pack = dl(PACK_GTIN, "F1");
    let r = app
        .capture(
            &staff,
            vec![
                object("f-1", "commissioning", &[&pack]),
                ship("f-2", &[&pack], "veloparts-eu"),
            ],
        )
        .await;
    assert!(r.get("errors").is_none(), "{r}");
    let auditor = app.token(Role::Auditor, "eu-msa").await;
    let selection = r#"history(bizStep: "urn:epcglobal:cbv:bizstep:shipping") { edges { node { leafIndex } } }"#;
    let count = |v: &serde_json::Value| v["history"]["edges"].as_array().map_or(0, Vec::len);
    assert_eq!(
        count(&app.device(&staff, PACK_GTIN, "F1", selection).await),
        1
    );
    assert_eq!(
        count(&app.device(&auditor, PACK_GTIN, "F1", selection).await),
        0
    );
    let from = r#"history(from: "2000-01-01T00:00:00Z") { edges { node { leafIndex } } }"#;
    assert_eq!(count(&app.device(&staff, PACK_GTIN, "F1", from).await), 2);
    assert_eq!(count(&app.device(&auditor, PACK_GTIN, "F1", from).await), 0);
}
