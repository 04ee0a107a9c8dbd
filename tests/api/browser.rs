//! Pages in a real browser (Debian's `chromium`, headless). Skipped loudly
//! when it is missing; in CI (`CI=true`) a missing browser fails.

use std::process::Command;

use crate::helpers::{Backend, spawn_app};

/// The browser, or `None` (skipped loudly) outside CI.
fn chromium() -> Option<&'static str> {
    let found = Command::new("chromium").arg("--version").output().is_ok();
    if found {
        return Some("chromium");
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("chromium is missing; .ci/run installs it (apt-get install chromium)");
    }
    eprintln!("SKIPPED: browser test: chromium is not installed (apt-get install chromium)");
    None
}

/// The DOM of `url` after its scripts ran, with every host but the
/// portal's unresolvable: what loads here loads offline.
fn rendered(browser: &str, url: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--virtual-time-budget=15000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(url)
        .output()
        .expect("chromium runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Issue 15: the GraphQL IDE renders from the portal's own assets, with no
/// network beyond the portal (it showed only "Loading…" offline when its
/// assets came from a CDN).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_graphql_ide_renders_offline_from_the_portals_own_assets() {
    let Some(browser) = chromium() else {
        return;
    };
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let url = format!("{}/graphql", app.address);
    let dom = tokio::task::spawn_blocking(move || rendered(browser, &url))
        .await
        .unwrap();
    assert!(
        dom.contains("graphiql-container"),
        "GraphiQL did not render:\n{dom}"
    );
    // The editor shows the default query (CodeMirror splits it in tokens).
    assert!(
        dom.contains(">devices<"),
        "the default query is shown:\n{dom}"
    );
    assert!(dom.contains("Headers"), "the headers editor is there");
    assert!(!dom.contains("unpkg.com") && !dom.contains("cdn.jsdelivr"));
    let r = app.get("/graphql").await;
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    let r = app.get("/static/graphiql-3.8.3/graphiql.min.js").await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    assert_eq!(
        app.get("/static/graphiql-3.8.3/nope.js").await.status(),
        404
    );
}
