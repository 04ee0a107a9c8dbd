//! `spawn_app()`: the real server on port 0 over a fresh database built by
//! the migrations, and typed helpers to talk to it.

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;

use provenance::config::{self, Settings};
use provenance::services::Portal;
use provenance::startup::Application;
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use tempfile::TempDir;

pub const POSTGRES_ENV: &str = "PROVENANCE_TEST_POSTGRES_URL";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Generates one test per backend from an `async fn(Backend)`.
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::helpers::Backend::Sqlite).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name($crate::helpers::Backend::Postgres).await
                }
            }
        )*
    };
}

/// A database for one test: a SQLite file in the test's directory, or a
/// PostgreSQL database created for it and dropped afterwards.
pub struct TestDatabase {
    pub url: String,
    postgres: Option<(String, String)>,
}

impl TestDatabase {
    /// `None` (after a loud message) when PostgreSQL is asked for but not
    /// configured; in CI that is a failure instead.
    pub async fn create(backend: Backend, dir: &std::path::Path) -> Option<Self> {
        match backend {
            Backend::Sqlite => Some(Self {
                url: config::default_database_url(dir),
                postgres: None,
            }),
            Backend::Postgres => {
                let Ok(admin_url) = std::env::var(POSTGRES_ENV) else {
                    if std::env::var("CI").is_ok_and(|v| v == "true") {
                        panic!(
                            "{POSTGRES_ENV} is not set, and CI=true: PostgreSQL tests must run in CI"
                        );
                    }
                    eprintln!(
                        "\n*** SKIPPED: PostgreSQL test — set {POSTGRES_ENV}=postgres://postgres@127.0.0.1:5432/test to run it ***\n"
                    );
                    return None;
                };
                let name = format!("pp_test_{}", uuid::Uuid::new_v4().simple());
                let admin = Database::connect(&admin_url)
                    .await
                    .expect("connect to the PostgreSQL admin database");
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("create the test database");
                admin.close().await.ok();
                let (base, _) = admin_url
                    .rsplit_once('/')
                    .expect("PostgreSQL URL ends with /database");
                Some(Self {
                    url: format!("{base}/{name}"),
                    postgres: Some((admin_url, name)),
                })
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.postgres.take() else {
            return;
        };
        // Drop runs outside async; a short-lived runtime on its own thread
        // drops the database even when the test panicked.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                if let Ok(admin) = Database::connect(&admin_url).await {
                    let _ = admin
                        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                    admin.close().await.ok();
                }
            });
        })
        .join();
    }
}

pub struct TestApp {
    pub address: String,
    pub portal: Arc<Portal>,
    pub client: reqwest::Client,
    pub data_dir: PathBuf,
    pub database_url: String,
    // Dropped last: the database, then the directory.
    _db: TestDatabase,
    _dir: TempDir,
}

pub fn test_settings(dir: &std::path::Path, database_url: &str) -> Settings {
    Settings::with_defaults(dir, database_url)
}

/// Starts the real server on port 0 over a fresh, migrated database.
pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |_| {}).await
}

/// As `spawn_app`, with settings adjusted by `adjust`.
pub async fn spawn_app_with(
    backend: Backend,
    adjust: impl FnOnce(&mut Settings),
) -> Option<TestApp> {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    spawn_on(backend, listener, adjust).await
}

/// As `spawn_app`, with the public base URL its own address: what its
/// links and redirects name, a browser can follow.
pub async fn spawn_self_addressed(backend: Backend) -> Option<TestApp> {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("an address").port();
    spawn_on(backend, listener, |s| {
        s.public_base_url = format!("http://127.0.0.1:{port}");
    })
    .await
}

async fn spawn_on(
    backend: Backend,
    listener: TcpListener,
    adjust: impl FnOnce(&mut Settings),
) -> Option<TestApp> {
    if std::env::var_os("TEST_LOG").is_some() {
        provenance::telemetry::init();
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let db = TestDatabase::create(backend, dir.path()).await?;
    let mut settings = test_settings(dir.path(), &db.url);
    adjust(&mut settings);
    let portal = Portal::open(settings).await.expect("open the portal");
    let app = Application::with_listener(portal, listener).expect("build the app");
    let port = app.port();
    let portal = app.portal();
    tokio::spawn(app.run_until_stopped());
    Some(TestApp {
        address: format!("http://127.0.0.1:{port}"),
        portal,
        client: reqwest::Client::new(),
        data_dir: dir.path().to_owned(),
        database_url: db.url.clone(),
        _db: db,
        _dir: dir,
    })
}

impl TestApp {
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("request")
    }

    /// POSTs a GraphQL query with an optional bearer token; returns the JSON.
    pub async fn graphql(&self, token: Option<&str>, query: &str) -> Value {
        let mut req = self
            .client
            .post(format!("{}/graphql", self.address))
            .json(&json!({ "query": query }));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.expect("request");
        assert!(resp.status().is_success(), "status {}", resp.status());
        resp.json().await.expect("JSON body")
    }

    /// A token of the portal's own key, after seeding the demo organisations.
    pub async fn token(&self, role: provenance::auth::Role, org: &str) -> String {
        self.portal.seed_demo().await.expect("seed");
        self.portal
            .issue_token(role, Some(org), None, std::time::Duration::from_secs(300))
            .await
            .expect("issue")
    }
}

/// Asserts a GraphQL answer is exactly one error with this code and no data.
pub fn assert_refused(body: &Value, code: &str) {
    assert_eq!(body["data"], Value::Null, "{body}");
    let errors = body["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1, "{body}");
    assert_eq!(errors[0]["extensions"]["code"], code, "{body}");
    let keys: Vec<_> = body.as_object().expect("object").keys().cloned().collect();
    assert_eq!(
        keys,
        ["data", "errors"],
        "nothing else in the answer: {body}"
    );
}

/// A child process that is killed when the test ends, even by a panic.
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
