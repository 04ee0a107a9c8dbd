use std::time::Duration;

use provenance::auth::{KeyPair, Role, TokenService};

use crate::helpers::{Backend, assert_refused, spawn_app};

both_backends!(
    strangers_are_refused,
    a_portal_token_gets_me,
    graphql_over_get,
);

async fn strangers_are_refused(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let q = "{ me { role org } }";
    assert_refused(&app.graphql(None, q).await, "UNAUTHENTICATED");
    // Introspection needs a token too.
    assert_refused(
        &app.graphql(None, "{ __schema { queryType { name } } }")
            .await,
        "UNAUTHENTICATED",
    );
    assert_refused(&app.graphql(Some("garbage"), q).await, "UNAUTHENTICATED");
    // Same claims, signed by a key that is not ours.
    let other = TokenService::new("http://localhost:8080", &KeyPair::generate().unwrap()).unwrap();
    let forged = other
        .issue("eve", Role::Admin, "ampera", Duration::from_secs(60))
        .unwrap();
    let body = app.graphql(Some(&forged), q).await;
    assert_refused(&body, "UNAUTHENTICATED");
    let anonymous = app.graphql(None, q).await;
    assert_eq!(
        body, anonymous,
        "a forged token learns nothing more than no token"
    );
    // Right key, wrong issuer (a portal configured for another host).
    let key = KeyPair::load(&app.data_dir.join("keys/token.pem")).unwrap();
    let wrong_iss = TokenService::new("https://elsewhere.example", &key)
        .unwrap()
        .issue("eve", Role::Admin, "ampera", Duration::from_secs(60))
        .unwrap();
    assert_refused(&app.graphql(Some(&wrong_iss), q).await, "UNAUTHENTICATED");
}

async fn a_portal_token_gets_me(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let token = app.token(Role::ServicePartner, "wheelworks").await;
    let body = app
        .graphql(Some(&token), "{ me { role org subject } }")
        .await;
    assert_eq!(body["data"]["me"]["role"], "SERVICE_PARTNER", "{body}");
    assert_eq!(body["data"]["me"]["org"], "wheelworks");
    assert_eq!(body["data"]["me"]["subject"], "service_partner@wheelworks");
    assert!(body.get("errors").is_none());
}

async fn graphql_over_get(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let token = app.token(Role::Staff, "ampera").await;
    let url = format!("{}/graphql", app.address);
    let r = app
        .client
        .get(&url)
        .query(&[("query", "{ me { org } }")])
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["data"]["me"]["org"], "ampera");
    let r = app
        .client
        .get(&url)
        .query(&[("query", "mutation { x }")])
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers()["allow"], "POST");
    let r = app
        .client
        .get(&url)
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("graphiql"));
}
