//! Tokens of external issuers (a company's identity provider): keys from a
//! JWKS file or URL, refetched when a token names a new `kid`; claims
//! mapped to the portal's role and organisation; every refusal the same
//! `UNAUTHENTICATED`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use provenance::auth::KeyPair;
use provenance::auth::issuers::IssuerConfig;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{Backend, assert_refused, spawn_app_with};

both_backends!(external_issuer_tokens_map_to_roles_and_follow_key_rotation);

fn jwk(key: &KeyPair, kid: &str) -> Value {
    json!({ "kty": "OKP", "crv": "Ed25519", "kid": kid, "use": "sig",
            "x": URL_SAFE_NO_PAD.encode(key.public_key_bytes()) })
}

/// A JWKS endpoint: serves whatever `body` holds; counts its requests.
async fn jwks_server(body: Arc<Mutex<String>>, hits: Arc<AtomicUsize>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let mut buf = [0u8; 4096];
            let _ = socket.read(&mut buf).await;
            hits.fetch_add(1, Ordering::SeqCst);
            let text = body.lock().unwrap().clone();
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
                text.len()
            );
            let _ = socket.write_all(response.as_bytes()).await;
        }
    });
    address
}

fn token(key: &KeyPair, kid: &str, claims: Value) -> String {
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.to_owned());
    let enc = EncodingKey::from_ed_der(&key.pkcs8_der().unwrap());
    jsonwebtoken::encode(&header, &claims, &enc).unwrap()
}

fn claims(iss: &str, role: &str, tenant: &str) -> Value {
    let now = jsonwebtoken::get_current_timestamp();
    json!({ "iss": iss, "aud": "portal", "sub": "u-17", "app_role": role,
            "tenant": tenant, "iat": now, "exp": now + 600 })
}

async fn external_issuer_tokens_map_to_roles_and_follow_key_rotation(backend: Backend) {
    let url_key = KeyPair::generate().unwrap();
    let file_key = KeyPair::generate().unwrap();
    let body = Arc::new(Mutex::new(
        json!({ "keys": [jwk(&url_key, "u1")] }).to_string(),
    ));
    let hits = Arc::new(AtomicUsize::new(0));
    let url = jwks_server(body.clone(), hits.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("idp-jwks.json");
    std::fs::write(&file, json!({ "keys": [jwk(&file_key, "f1")] }).to_string()).unwrap();
    let roles = [("warranty-desk".to_owned(), "warranty_agent".to_owned())]
        .into_iter()
        .collect();
    let Some(app) = spawn_app_with(backend, |s| {
        s.issuers = vec![
            IssuerConfig {
                issuer: "https://idp.example".into(),
                audience: "portal".into(),
                jwks_file: None,
                jwks_url: Some(url.clone()),
                role_claim: "app_role".into(),
                org_claim: "tenant".into(),
                roles,
                organisations: vec!["securecover".into(), "nordcycle".into()],
                refetch_after: Some("1s".into()),
            },
            IssuerConfig {
                issuer: "https://login.partner.example".into(),
                audience: "portal".into(),
                jwks_file: Some(file.clone()),
                jwks_url: None,
                role_claim: "app_role".into(),
                org_claim: "tenant".into(),
                roles: Default::default(),
                organisations: vec!["nordcycle".into()],
                refetch_after: None,
            },
        ];
    })
    .await
    else {
        return;
    };
    app.portal.seed_demo().await.unwrap();
    let me = "{ me { role org } }";
    let idp = "https://idp.example";
    let ok = app
        .graphql(
            Some(&token(
                &url_key,
                "u1",
                claims(idp, "warranty-desk", "securecover"),
            )),
            me,
        )
        .await;
    assert_eq!(
        ok["data"]["me"],
        json!({ "role": "WARRANTY_AGENT", "org": "securecover" }),
        "{ok}"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 1, "fetched once, on first use");
    let partner = app
        .graphql(
            Some(&token(
                &file_key,
                "f1",
                claims("https://login.partner.example", "distributor", "nordcycle"),
            )),
            me,
        )
        .await;
    assert_eq!(
        partner["data"]["me"],
        json!({ "role": "DISTRIBUTOR", "org": "nordcycle" }),
        "{partner}"
    );

    // Refusals: a role it may not map, an organisation of the wrong kind,
    // another audience, another issuer's key, an unknown issuer.
    let mut wrong_aud = claims(idp, "warranty-desk", "securecover");
    wrong_aud["aud"] = "someone-else".into();
    // Longer-lived than the portal's maximum (24 h): valid for a year from
    // now (with or without iat), or issued a year ago.
    let now = jsonwebtoken::get_current_timestamp();
    let mut a_year = claims(idp, "warranty-desk", "securecover");
    a_year["exp"] = (now + 365 * 24 * 3600).into();
    let mut no_iat_a_year = a_year.clone();
    no_iat_a_year.as_object_mut().unwrap().remove("iat");
    let mut long_ago = claims(idp, "warranty-desk", "securecover");
    long_ago["iat"] = (now - 365 * 24 * 3600).into();
    let refused = [
        token(&url_key, "u1", claims(idp, "superuser", "securecover")),
        // An unmapped value, though a portal role name.
        token(&url_key, "u1", claims(idp, "warranty_agent", "securecover")),
        // An organisation this issuer may not speak for.
        token(&url_key, "u1", claims(idp, "warranty-desk", "ampera")),
        token(&url_key, "u1", claims(idp, "warranty-desk", "nordcycle")),
        token(&url_key, "u1", wrong_aud),
        token(&url_key, "u1", a_year),
        token(&url_key, "u1", no_iat_a_year),
        token(&url_key, "u1", long_ago),
        token(&file_key, "u1", claims(idp, "warranty-desk", "securecover")),
        token(
            &url_key,
            "u1",
            claims("https://unknown.example", "warranty-desk", "securecover"),
        ),
    ];
    for t in refused {
        assert_refused(&app.graphql(Some(&t), me).await, "UNAUTHENTICATED");
    }

    // The identity provider rotates: once refetch_after (1 s) has passed, a
    // token with the new kid makes the portal fetch the JWKS again (once),
    // and it is accepted.
    let new_key = KeyPair::generate().unwrap();
    *body.lock().unwrap() =
        json!({ "keys": [jwk(&new_key, "u2"), jwk(&url_key, "u1")] }).to_string();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let before = hits.load(Ordering::SeqCst);
    let rotated = app
        .graphql(
            Some(&token(
                &new_key,
                "u2",
                claims(idp, "warranty-desk", "securecover"),
            )),
            me,
        )
        .await;
    assert_eq!(rotated["data"]["me"]["role"], "WARRANTY_AGENT", "{rotated}");
    assert_eq!(hits.load(Ordering::SeqCst), before + 1);
    // A kid nobody published is refused (without another fetch within
    // refetch_after).
    assert_refused(
        &app.graphql(
            Some(&token(
                &new_key,
                "nope",
                claims(idp, "warranty-desk", "securecover"),
            )),
            me,
        )
        .await,
        "UNAUTHENTICATED",
    );
    // The issuer drops the old key: within refetch_after it is refused,
    // though the portal had it cached and the token names a known kid.
    *body.lock().unwrap() = json!({ "keys": [jwk(&new_key, "u2")] }).to_string();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let old = token(&url_key, "u1", claims(idp, "warranty-desk", "securecover"));
    let before = hits.load(Ordering::SeqCst);
    assert_refused(&app.graphql(Some(&old), me).await, "UNAUTHENTICATED");
    assert_eq!(
        hits.load(Ordering::SeqCst),
        before + 1,
        "one scheduled fetch"
    );
    let current = token(&new_key, "u2", claims(idp, "warranty-desk", "securecover"));
    assert_eq!(
        app.graphql(Some(&current), me).await["data"]["me"]["role"],
        "WARRANTY_AGENT"
    );
}
