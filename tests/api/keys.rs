//! Key rotation while the server runs: `provenance keys rotate` for every
//! purpose, twice; the server picks the new keys up within seconds; every
//! old signature (checkpoints, tokens) still verifies; the keys are
//! published in `/log/vkey`, `/.well-known/jwks.json` and
//! `/.well-known/did.json`.

use std::time::Duration;

use provenance::ledger::{NoteVerifier, open_note, parse_note};
use serde_json::{Value, json};

use crate::cli::provenance;
use crate::events::{PACK_GTIN, dl, object};
use crate::helpers::{Backend, TestApp, spawn_app};

both_backends!(rotation_keeps_every_old_signature_valid);

/// Issue 15: a retired token key is published and accepted for one
/// maximum token lifetime (24 h by default) after its retirement, then
/// neither; no token is issued for longer than that.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retired_token_key_is_dropped_after_one_token_lifetime() {
    let app = spawn_app(Backend::Sqlite).await.expect("SQLite app");
    app.portal.seed_demo().await.unwrap();
    let issue = |ttl: &str| {
        provenance(&app)
            .args(["token", "issue", "--role", "staff", "--ttl", ttl])
            .output()
            .unwrap()
    };
    let out = issue("48h");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("at most 1day"), "{stderr}");
    let out = issue("24h");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let old = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    rotate(&app, "token");
    app.portal.reload_keys_if_changed().unwrap();
    let jwks = json_at(&app, "/.well-known/jwks.json").await;
    assert_eq!(token_kids(&jwks).len(), 2, "{jwks}");
    assert_eq!(me(&app, &old).await["data"]["me"]["role"], "STAFF");
    // The same key, retired 25 hours ago.
    let dir = app.data_dir.join("keys").join("retired").join("token");
    let file = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains(&kid_of(&old)))
        .expect("the retired key's file");
    let long_ago = std::time::SystemTime::now() - Duration::from_secs(25 * 3600);
    let millis = long_ago
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    std::fs::rename(&file, dir.join(format!("{millis}-{}.pem", kid_of(&old)))).unwrap();
    assert!(app.portal.reload_keys_if_changed().unwrap());
    let jwks = json_at(&app, "/.well-known/jwks.json").await;
    assert_eq!(token_kids(&jwks).len(), 1, "{jwks}");
    assert!(!token_kids(&jwks).contains(&kid_of(&old)));
    let r = me(&app, &old).await;
    assert_eq!(
        r["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{r}"
    );
    let out = issue("1h");
    let fresh = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_eq!(me(&app, &fresh).await["data"]["me"]["role"], "STAFF");
}

fn rotate(app: &TestApp, purpose: &str) {
    let out = provenance(app)
        .args(["keys", "rotate", "--purpose", purpose])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Issue 15: `keys revoke` drops a compromised token key at once, current
/// or retired: it leaves the JWKS and its tokens are refused; log keys are
/// rotated instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_key_is_dropped_at_once() {
    let app = spawn_app(Backend::Sqlite).await.expect("SQLite app");
    app.portal.seed_demo().await.unwrap();
    let issue = || {
        let out = provenance(&app)
            .args(["token", "issue", "--role", "staff"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let revoke = |purpose: &str, kid: &str| {
        provenance(&app)
            .args(["keys", "revoke", "--purpose", purpose, "--kid", kid])
            .output()
            .unwrap()
    };
    // A retired key: rotated away, then revoked.
    let first = issue();
    rotate(&app, "token");
    let second = issue();
    app.portal.reload_keys_if_changed().unwrap();
    assert_eq!(me(&app, &first).await["data"]["me"]["role"], "STAFF");
    let out = revoke("token", &kid_of(&first));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(app.portal.reload_keys_if_changed().unwrap());
    let r = me(&app, &first).await;
    assert_eq!(
        r["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{r}"
    );
    assert_eq!(me(&app, &second).await["data"]["me"]["role"], "STAFF");
    let kids = token_kids(&json_at(&app, "/.well-known/jwks.json").await);
    assert_eq!(kids, [kid_of(&second)]);
    // The current key: a new one takes over, the old one is gone.
    let out = revoke("token", &kid_of(&second));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(app.portal.reload_keys_if_changed().unwrap());
    let r = me(&app, &second).await;
    assert_eq!(
        r["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{r}"
    );
    let third = issue();
    assert_ne!(kid_of(&third), kid_of(&second));
    assert_eq!(me(&app, &third).await["data"]["me"]["role"], "STAFF");
    let kids = token_kids(&json_at(&app, "/.well-known/jwks.json").await);
    assert_eq!(kids, [kid_of(&third)]);
    // Unknown kids and log keys are refused, and change nothing.
    for (purpose, kid, message) in [
        ("token", "no-such-kid", "no token key"),
        ("log", "whatever", "publish the incident"),
    ] {
        let out = revoke(purpose, kid);
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(message), "{stderr}");
    }
    assert!(!app.portal.reload_keys_if_changed().unwrap());
}

/// The token keys' ids a JWKS document publishes, current first.
fn token_kids(jwks: &Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["purpose"] == "token")
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

async fn vkeys(app: &TestApp) -> Vec<NoteVerifier> {
    let text = app.get("/log/vkey").await.text().await.unwrap();
    text.lines()
        .map(|l| NoteVerifier::parse(l).unwrap())
        .collect()
}

/// Waits (up to 10 s) until the server publishes `n` log keys.
async fn wait_for_log_keys(app: &TestApp, n: usize) -> Vec<NoteVerifier> {
    for _ in 0..50 {
        let keys = vkeys(app).await;
        if keys.len() == n {
            return keys;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("the server did not pick up the rotated log key within 10 s");
}

async fn json_at(app: &TestApp, path: &str) -> Value {
    let resp = app.get(path).await;
    assert_eq!(resp.status(), 200, "{path}");
    resp.json().await.unwrap()
}

/// Captures one commissioning event and signs a checkpoint; returns the
/// checkpoint note.
async fn capture_and_checkpoint(app: &TestApp, staff: &str, serial: &str) -> String {
    let r = app
        .capture(
            staff,
            vec![object(
                &format!("urn:uuid:rot-{serial}"),
                "commissioning",
                &[dl(PACK_GTIN, serial)],
            )],
        )
        .await;
    assert!(r.get("errors").is_none(), "{r}");
    app.portal.checkpoint_now().await.unwrap();
    app.portal.checkpoint_note().await.unwrap().unwrap()
}

fn kid_of(jwt: &str) -> String {
    use base64::Engine;
    let header = jwt.split('.').next().unwrap();
    let header: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header)
            .unwrap(),
    )
    .unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

async fn me(app: &TestApp, token: &str) -> Value {
    app.gql(token, "{ me { role org } }", json!({})).await
}

async fn rotation_keeps_every_old_signature_valid(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let staff = app.with_products().await;
    let first_note = capture_and_checkpoint(&app, &staff, "R1").await;
    assert_eq!(parse_note(&first_note).unwrap().signatures.len(), 1);
    let first_vkeys = wait_for_log_keys(&app, 1).await;
    let first_did = json_at(&app, "/.well-known/did.json").await;
    assert_eq!(first_did["id"], "did:web:localhost%3A8080");

    let mut notes = vec![first_note];
    let mut tokens = vec![staff.clone()];
    for round in 1..=2 {
        for purpose in ["log", "token", "credential"] {
            rotate(&app, purpose);
        }
        let log_keys = wait_for_log_keys(&app, round + 1).await;
        assert_eq!(
            log_keys[round].to_vkey(),
            first_vkeys[0].to_vkey(),
            "the first key stays published, last"
        );
        // The CLI signs new tokens with the new key; the server accepts them
        // (it picked the key up) and still accepts every older token.
        let out = provenance(&app)
            .args(["token", "issue", "--role", "staff"])
            .output()
            .unwrap();
        assert!(out.status.success());
        let jwt = String::from_utf8(out.stdout).unwrap().trim().to_owned();
        assert!(tokens.iter().all(|t| kid_of(t) != kid_of(&jwt)));
        tokens.push(jwt);
        for t in &tokens {
            let r = me(&app, t).await;
            assert_eq!(r["data"]["me"]["role"], "STAFF", "{r}");
        }
        // Within the overlap, every retired log key co-signs.
        let note = capture_and_checkpoint(&app, &tokens[round], &format!("R{}", round + 1)).await;
        let signed = parse_note(&note).unwrap().signatures.len();
        assert_eq!(signed, round + 1, "{note}");
        let opened = open_note(&note, &log_keys).unwrap();
        assert_eq!(opened.verified_by.len(), round + 1);
        assert_eq!(opened.verified_by[0].to_vkey(), log_keys[0].to_vkey());
        notes.push(note);
    }

    // Every checkpoint ever signed still verifies with what /log/vkey
    // publishes now, and every stored checkpoint opens.
    let published = vkeys(&app).await;
    assert_eq!(published.len(), 3);
    for note in &notes {
        open_note(note, &published).unwrap();
    }
    // JWKS: three token and three credential keys, current first, with kid
    // and use; DID: three Multikey methods, all under assertionMethod.
    let jwks = json_at(&app, "/.well-known/jwks.json").await;
    let keys = jwks["keys"].as_array().unwrap();
    for purpose in ["token", "credential"] {
        let mine: Vec<&Value> = keys.iter().filter(|k| k["purpose"] == purpose).collect();
        assert_eq!(mine.len(), 3, "{jwks}");
        assert_eq!(mine[0]["status"], "current");
        for k in &mine {
            assert_eq!(k["kty"], "OKP");
            assert_eq!(k["crv"], "Ed25519");
            assert_eq!(k["use"], "sig");
            assert_eq!(k["kid"].as_str().unwrap().len(), 43);
        }
    }
    let token_kids: Vec<&str> = keys
        .iter()
        .filter(|k| k["purpose"] == "token")
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    for t in &tokens {
        assert!(token_kids.contains(&kid_of(t).as_str()));
    }
    let did = json_at(&app, "/.well-known/did.json").await;
    let methods = did["verificationMethod"].as_array().unwrap();
    assert_eq!(methods.len(), 3, "{did}");
    assert_eq!(did["assertionMethod"].as_array().unwrap().len(), 3);
    assert!(
        methods
            .iter()
            .any(|m| m["id"] == first_did["verificationMethod"][0]["id"]),
        "the first credential key stays published"
    );
    for m in methods {
        assert_eq!(m["type"], "Multikey");
        assert_eq!(m["controller"], "did:web:localhost%3A8080");
        assert!(
            m["publicKeyMultibase"]
                .as_str()
                .unwrap()
                .starts_with("z6Mk")
        );
    }

    // The CLI lists what it rotated.
    let out = provenance(&app).args(["keys", "list"]).output().unwrap();
    let listing = String::from_utf8(out.stdout).unwrap();
    for purpose in ["log", "token", "credential"] {
        assert_eq!(
            listing
                .lines()
                .filter(|l| l.starts_with(&format!("{purpose}\tretired")))
                .count(),
            2,
            "{listing}"
        );
    }
    // No key material in the listing: kids only.
    assert!(!listing.contains("PRIVATE"));
}
