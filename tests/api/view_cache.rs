//! Issue 13: decided histories are served from a cache keyed by the unit,
//! the viewer and three counters read at each request (the unit's leaf
//! count, its status epoch, the viewer organisation's epoch). A change that
//! appends no leaf for the unit must still show at the next read: an
//! assignment that makes a neighbour in a shipment visible (or hidden
//! again), and an erasure made by another process.

use provenance::auth::Role;
use serde_json::{Value, json};

use crate::custody::{assign, raw_history, ship};
use crate::events::{BMS_GTIN, PACK_GTIN, aggregation, dl, object};
use crate::helpers::{Backend, spawn_app};

both_backends!(
    a_part_taken_out_elsewhere_leaves_a_cached_member_list,
    a_part_shows_its_new_holder_when_only_its_pack_moved,
    an_assignment_elsewhere_shows_in_a_cached_history,
    an_erasure_by_another_process_shows_in_a_cached_history,
);

async fn an_assignment_elsewhere_shows_in_a_cached_history(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let staff = app.with_products().await;
    let packs: Vec<String> = ["C1", "C2"].iter().map(|s| dl(PACK_GTIN, s)).collect();
    let refs: Vec<&str> = packs.iter().map(String::as_str).collect();
    let r = app
        .capture(
            &staff,
            vec![
                object("c-1", "commissioning", &refs),
                ship("c-2", &refs, "veloparts-eu"),
            ],
        )
        .await;
    assert!(r.get("errors").is_none(), "{r}");
    assign(&app, &staff, "C1", Some("pedalfix")).await;
    let partner = app.token(Role::ServicePartner, "pedalfix").await;

    let first = raw_history(&app, &partner, PACK_GTIN, "C1").await;
    assert!(!first.contains("/21/C2"), "{first}");
    // The same read again is the cached view, and the same answer.
    let (entries, _) = app.portal.view_cache_usage();
    assert_eq!(raw_history(&app, &partner, PACK_GTIN, "C1").await, first);
    assert_eq!(
        app.portal.view_cache_usage().0,
        entries,
        "a hit adds no entry"
    );

    // Serving C2 too makes it exist for the partner: C1's history (whose
    // own leaves did not move) now names it ...
    assign(&app, &staff, "C2", Some("pedalfix")).await;
    let both = raw_history(&app, &partner, PACK_GTIN, "C1").await;
    assert!(both.contains("/21/C2"), "{both}");
    // ... and no longer once the assignment ends (no leaf either).
    assign(&app, &staff, "C2", None).await;
    let again = raw_history(&app, &partner, PACK_GTIN, "C1").await;
    assert!(!again.contains("/21/C2"), "{again}");
    assert_eq!(again, first);
}

/// A cached device view of a part: the pack it is in ships and is
/// received elsewhere, which appends leaves for the pack only.
async fn a_part_shows_its_new_holder_when_only_its_pack_moved(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let staff = app.with_products().await;
    let (part, pack) = (dl(BMS_GTIN, "CB1"), dl(PACK_GTIN, "CP1"));
    let r = app
        .capture(
            &staff,
            vec![
                object("cp-1", "commissioning", &[&part, &pack]),
                aggregation("cp-2", "ADD", "assembling", &pack, &[&part]),
            ],
        )
        .await;
    assert!(r.get("errors").is_none(), "{r}");
    // A regulator: its organisation takes no part in the moves, so only
    // the part's own epoch can tell its view is behind.
    let regulator = app.token(Role::Regulator, "eu-msa").await;
    let before = app.device(&regulator, BMS_GTIN, "CB1", "custodian").await;
    assert_eq!(before, json!({ "custodian": "ampera" }));
    let (entries, _) = app.portal.view_cache_usage();
    let again = app.device(&regulator, BMS_GTIN, "CB1", "custodian").await;
    assert_eq!(again, before);
    assert_eq!(app.portal.view_cache_usage().0, entries, "the cached view");
    let r = app
        .capture(&staff, vec![ship("cp-3", &[&pack], "veloparts-eu")])
        .await;
    assert!(r.get("errors").is_none(), "{r}");
    let velo = app.token(Role::Distributor, "veloparts-eu").await;
    let r = app
        .capture(&velo, vec![object("cp-4", "receiving", &[&pack])])
        .await;
    assert!(r.get("errors").is_none(), "{r}");
    assert_eq!(
        app.device(&regulator, BMS_GTIN, "CB1", "custodian").await,
        json!({ "custodian": "veloparts-eu" })
    );
}

/// A service partner sees a part in another unit's shipment while the part
/// is installed in a pack it services; once the part is taken out (a change
/// of the part and the pack only), the cached history no longer names it.
async fn a_part_taken_out_elsewhere_leaves_a_cached_member_list(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let staff = app.with_products().await;
    let (unit, pack, part) = (
        dl(PACK_GTIN, "CM1"),
        dl(PACK_GTIN, "CM9"),
        dl(BMS_GTIN, "CMU"),
    );
    let r = app
        .capture(
            &staff,
            vec![
                object("cm-1", "commissioning", &[&unit, &pack, &part]),
                ship("cm-2", &[&unit, &part], "veloparts-eu"),
            ],
        )
        .await;
    assert!(r.get("errors").is_none(), "{r}");
    let velo = app.token(Role::Distributor, "veloparts-eu").await;
    let r = app
        .capture(&velo, vec![object("cm-4", "receiving", &[&unit, &part])])
        .await;
    assert!(r.get("errors").is_none(), "{r}");
    // The part goes into the pack, which the partner services.
    let r = app
        .capture(&staff, vec![ship("cm-6", &[&pack], "veloparts-eu")])
        .await;
    assert!(r.get("errors").is_none(), "{r}");
    let r = app
        .capture(
            &velo,
            vec![
                object("cm-7", "receiving", &[&pack]),
                aggregation("cm-8", "ADD", "assembling", &pack, &[&part]),
            ],
        )
        .await;
    assert!(r.get("errors").is_none(), "{r}");
    assign(&app, &staff, "CM1", Some("pedalfix")).await;
    assign(&app, &staff, "CM9", Some("pedalfix")).await;
    let partner = app.token(Role::ServicePartner, "pedalfix").await;
    let seen = raw_history(&app, &partner, PACK_GTIN, "CM1").await;
    assert!(
        seen.contains("/21/CMU"),
        "installed in a serviced pack: {seen}"
    );
    assert_eq!(raw_history(&app, &partner, PACK_GTIN, "CM1").await, seen);
    let r = app
        .capture(
            &velo,
            vec![aggregation("cm-9", "DELETE", "removing", &pack, &[&part])],
        )
        .await;
    assert!(r.get("errors").is_none(), "{r}");
    let after = raw_history(&app, &partner, PACK_GTIN, "CM1").await;
    assert!(!after.contains("/21/CMU"), "taken out, gone: {after}");
}

const SECRET: &str = "Ada Cached-Lovelace";

async fn an_erasure_by_another_process_shows_in_a_cached_history(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let staff = app.with_products().await;
    let pack = dl(PACK_GTIN, "C9");
    let mut install = object("c-9b", "installing", std::slice::from_ref(&pack));
    install["extensions"] = json!([
        { "name": "customerName", "value": SECRET, "visibility": "PERSONAL" }
    ]);
    let r = app
        .capture(
            &staff,
            vec![
                object("c-9a", "commissioning", std::slice::from_ref(&pack)),
                install,
            ],
        )
        .await;
    assert!(r.get("errors").is_none(), "{r}");
    let fields = "history { edges { node { fields { name value erased } } } }";
    let before = app.device(&staff, PACK_GTIN, "C9", fields).await;
    assert!(before.to_string().contains(SECRET), "{before}");
    // A regulator's view holds the member's commitment, not its value: it
    // is cached, and must show the erasure.
    let regulator = app.token(Role::Regulator, "eu-msa").await;
    let member = |v: &Value| {
        v["history"]["edges"][1]["node"]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == "customerName")
            .cloned()
            .expect("the member is listed")
    };
    let seen = app.device(&regulator, PACK_GTIN, "C9", fields).await;
    assert_eq!(member(&seen)["erased"], false);
    let out = crate::cli::provenance(&app)
        .args([
            "erase",
            "--device",
            &format!("{PACK_GTIN}/C9"),
            "--reason",
            "customer request",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = app.device(&staff, PACK_GTIN, "C9", fields).await;
    assert!(!after.to_string().contains(SECRET), "{after}");
    let seen = app.device(&regulator, PACK_GTIN, "C9", fields).await;
    assert_eq!(member(&seen)["erased"], true, "{seen}");
    let erased: Vec<&Value> = after["history"]["edges"][1]["node"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["name"] == "customerName")
        .collect();
    assert_eq!(erased.len(), 1);
    assert_eq!(erased[0]["erased"], true);
}
