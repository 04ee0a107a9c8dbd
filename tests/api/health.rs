use crate::helpers::{Backend, spawn_app};

both_backends!(healthz_and_readyz_answer);

async fn healthz_and_readyz_answer(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let r = app.get("/healthz").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "ok\n");
    let r = app.get("/readyz").await;
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["database"], true);
    assert_eq!(body["pending_migrations"], 0);
    let r = app.get("/").await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("Provenance Portal"));
}
