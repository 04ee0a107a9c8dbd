//! Issue 16 (start): labels with an unguessable per-unit code. The QR code
//! is decoded by a real decoder (`rqrr`); the code verifies, in any case;
//! a reprint voids the old code; a rotated label secret keeps old labels
//! working; only staff print.

use base64::Engine;
use provenance::auth::Role;
use provenance::domain::DeviceKey;
use serde_json::json;

use crate::events::{PACK_GTIN, dl, object};
use crate::helpers::{Backend, TestApp, spawn_app};

both_backends!(labels_carry_codes_that_verify_and_reprints_void_them);

/// The text of the PNG's one QR code.
fn decode(png: &[u8]) -> String {
    let img = image::load_from_memory(png).expect("a PNG").to_luma8();
    let (w, h) = img.dimensions();
    let mut prepared =
        rqrr::PreparedImage::prepare_from_greyscale(w as usize, h as usize, |x, y| {
            img.get_pixel(x as u32, y as u32).0[0]
        });
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code");
    grids[0].decode().expect("decodes").1
}

fn code_of(url: &str) -> String {
    url.split_once("?c=").expect("a code").1.to_owned()
}

/// `field`: `label` (read), `printLabel` or `reprintLabel`.
async fn label(app: &TestApp, token: &str, serial: &str, field: &str) -> serde_json::Value {
    let kind = if field == "label" {
        "query"
    } else {
        "mutation"
    };
    let document = format!(
        "{kind}($s: String!) {{ label: {field}(gtin: \"04012345000016\", serial: $s) {{ url generation svg pngBase64 }} }}"
    );
    app.gql(token, &document, json!({ "s": serial })).await
}

async fn labels_carry_codes_that_verify_and_reprints_void_them(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let staff = app.with_products().await;
    let units: Vec<String> = ["L1", "L2"].iter().map(|s| dl(PACK_GTIN, s)).collect();
    let r = app
        .capture(&staff, vec![object("l-1", "commissioning", &units)])
        .await;
    assert!(r.get("errors").is_none(), "{r}");
    let key = DeviceKey::parse(&format!("{PACK_GTIN}/L1")).unwrap();
    assert!(
        !app.portal
            .code_matches(&key, "AAAAAAAAAAAAA")
            .await
            .unwrap(),
        "no label printed, no code"
    );

    // Reading a label that was never printed prints nothing.
    let unprinted = label(&app, &staff, "L1", "label").await;
    assert_eq!(
        unprinted["data"]["label"],
        serde_json::Value::Null,
        "{unprinted}"
    );
    let first = label(&app, &staff, "L1", "printLabel").await;
    let first = &first["data"]["label"];
    let url = first["url"].as_str().unwrap().to_owned();
    assert_eq!(first["generation"], 0);
    assert!(url.contains("/01/04012345000016/21/L1?c="), "{url}");
    let png = base64::engine::general_purpose::STANDARD
        .decode(first["pngBase64"].as_str().unwrap())
        .unwrap();
    assert_eq!(decode(&png), url, "the QR code encodes the URL");
    let svg = first["svg"].as_str().unwrap();
    assert!(
        svg.contains("(21) L1") && svg.contains("(01) 04012345000016"),
        "{svg}"
    );
    let code = code_of(&url);
    assert_eq!(code.len(), 13);
    assert!(app.portal.code_matches(&key, &code).await.unwrap());
    assert!(
        app.portal
            .code_matches(&key, &code.to_lowercase())
            .await
            .unwrap()
    );
    let other = DeviceKey::parse(&format!("{PACK_GTIN}/L2")).unwrap();
    assert!(
        !app.portal.code_matches(&other, &code).await.unwrap(),
        "another unit's code"
    );
    // Asked again: the same label.
    let again = label(&app, &staff, "L1", "label").await;
    assert_eq!(again["data"]["label"]["url"], url.as_str());

    // A reprint: a new code, the old one void.
    let reprinted = label(&app, &staff, "L1", "reprintLabel").await;
    let new_url = reprinted["data"]["label"]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(reprinted["data"]["label"]["generation"], 1);
    assert_ne!(new_url, url);
    assert!(
        !app.portal.code_matches(&key, &code).await.unwrap(),
        "voided"
    );
    assert!(
        app.portal
            .code_matches(&key, &code_of(&new_url))
            .await
            .unwrap()
    );

    // Only the manufacturer prints.
    let partner = app.token(Role::Distributor, "veloparts-eu").await;
    let refused = label(&app, &partner, "L1", "reprintLabel").await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{refused}"
    );

    // The command line: PNGs a decoder reads back, an SVG label each and a
    // sheet; printing again without --reprint keeps the codes.
    let out = app.data_dir.join("labels-out");
    let run = crate::cli::provenance(&app)
        .args([
            "labels", "--gtin", PACK_GTIN, "--serial", "L1", "--serial", "L2", "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(stdout.contains("2 label(s)"), "{stdout}");
    assert!(
        !stdout.contains(&code_of(&new_url)),
        "no code on the console"
    );
    let l1 = decode(&std::fs::read(out.join("04012345000016_L1.png")).unwrap());
    assert_eq!(
        code_of(&l1),
        code_of(&new_url),
        "not reprinted: the same code"
    );
    let l2 = decode(&std::fs::read(out.join("04012345000016_L2.png")).unwrap());
    assert!(
        app.portal
            .code_matches(&other, &code_of(&l2))
            .await
            .unwrap()
    );
    assert!(out.join("04012345000016_L2.svg").is_file());
    assert!(
        std::fs::read_to_string(out.join("sheet-1.svg"))
            .unwrap()
            .contains("(21) L2")
    );

    // A rotated label secret: old labels keep working, reprints use it.
    let run = crate::cli::provenance(&app)
        .args(["keys", "rotate-label-secret"])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    app.portal.reload_keys_if_changed().unwrap();
    assert!(
        app.portal
            .code_matches(&other, &code_of(&l2))
            .await
            .unwrap()
    );
    let rotated = label(&app, &staff, "L2", "reprintLabel").await;
    let rotated = rotated["data"]["label"]["url"].as_str().unwrap().to_owned();
    assert!(
        app.portal
            .code_matches(&other, &code_of(&rotated))
            .await
            .unwrap()
    );
    assert!(
        !app.portal
            .code_matches(&other, &code_of(&l2))
            .await
            .unwrap()
    );
}
