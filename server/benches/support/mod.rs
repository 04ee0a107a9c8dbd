//! What the HTTP benchmarks share: a portal on a fresh SQLite file with the
//! demo organisations and a pack product, serving on a free local port.

use std::net::TcpListener;
use std::time::Duration;

use provenance::auth::Role;
use provenance::config::{self, Settings};
use provenance::services::Portal;
use provenance::startup::Application;
use serde_json::{Value, json};

pub const GTIN: &str = "04012345000016";

/// A running portal. Dropping it stops the server and removes the data.
pub struct Server {
    pub base: String,
    /// A manufacturer staff token.
    pub token: String,
    #[allow(
        dead_code,
        reason = "each bench binary compiles this module; big_batch reads no portal"
    )]
    pub portal: std::sync::Arc<Portal>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.server.abort();
    }
}

pub async fn start() -> Server {
    let dir = tempfile::tempdir().expect("temp dir");
    let settings = Settings::with_defaults(dir.path(), &config::default_database_url(dir.path()));
    let portal = Portal::open(settings).await.expect("open");
    portal.seed_demo().await.expect("orgs");
    let token = portal
        .issue_token(Role::Staff, Some("ampera"), None, Duration::from_secs(3600))
        .await
        .expect("token");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let app = Application::with_listener(portal, listener).expect("app");
    let base = format!("http://127.0.0.1:{}", app.port());
    let portal = app.portal();
    let server = tokio::spawn(app.run_until_stopped());
    let created: Value = reqwest::Client::new()
        .post(format!("{base}/graphql"))
        .bearer_auth(&token)
        .json(&json!({ "query": format!("mutation {{ createProduct(gtin: \"{GTIN}\", name: \"Pack\", model: \"P1\", warrantyMonths: 24, warrantyTerms: \"2 years\") {{ gtin }} }}") }))
        .send()
        .await
        .expect("product")
        .json()
        .await
        .expect("JSON");
    assert!(created.get("errors").is_none(), "{created}");
    Server {
        base,
        token,
        portal,
        server,
        _dir: dir,
    }
}
