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

both_backends!(customer_pages_render_in_a_browser_without_an_accessibility_violation);

/// `node` with tests/pages' packages (`npm ci` there), or `None` (skipped
/// loudly) outside CI.
fn axe_runner() -> Option<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/pages");
    let ready = dir.join("node_modules/axe-core").is_dir()
        && dir.join("node_modules/playwright-core").is_dir()
        && Command::new("node").arg("--version").output().is_ok();
    if ready {
        return Some(dir);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("the accessibility runner is missing; .ci/run runs `npm ci` in tests/pages");
    }
    eprintln!("SKIPPED: accessibility test: run `(cd tests/pages && npm ci)` (needs node and npm)");
    None
}

/// Issue 17: a printed label's URL opens the customer's page in a real
/// browser (through the resolver's redirect); every page — customer, no
/// code, wrong code, unknown, malformed, recalled, stolen, decommissioned,
/// German, a product's — passes axe-core's WCAG 2.1 A and AA rules at a
/// phone's size, with a screenshot of each kept in
/// target/test-artefacts/pages-{backend}/.
async fn customer_pages_render_in_a_browser_without_an_accessibility_violation(backend: Backend) {
    let Some(browser) = chromium() else {
        return;
    };
    let Some(runner) = axe_runner() else {
        return;
    };
    let Some(app) = crate::helpers::spawn_self_addressed(backend).await else {
        return;
    };
    let seeded = crate::pages::seed(&app).await;
    let base = app.address.clone();
    // The label's URL as printed, on this server.
    let label = |serial: &str| {
        let printed = &seeded.labels[serial];
        format!("{base}/01/{}", printed.split_once("/01/").unwrap().1)
    };
    let customer = label("P1");
    let anonymous = customer.split('?').next().unwrap().to_owned();

    // The label URL → the resolver → the customer's page, as a browser
    // follows it; its language switch leads to the German page.
    let dom = {
        let url = customer.clone();
        tokio::task::spawn_blocking(move || rendered(browser, &url))
            .await
            .unwrap()
    };
    assert!(dom.contains("Label code verified"), "{dom}");
    assert!(dom.contains("Quality check passed"), "{dom}");
    let switch = dom
        .split("class=\"lang\" href=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a language switch")
        .replace("&amp;", "&");
    let dom = {
        let url = format!("{base}{switch}");
        tokio::task::spawn_blocking(move || rendered(browser, &url))
            .await
            .unwrap()
    };
    assert!(dom.contains("<html lang=\"de\">"), "{dom}");
    assert!(dom.contains("Etikett-Code geprüft"), "{dom}");
    assert!(!dom.contains(crate::pages::MARKER));

    // The report form, submitted by clicking, as a person would: the
    // browser's own headers (Sec-Fetch-Site, Origin under no-referrer).
    for (url, kind) in [(customer.clone(), "stolen"), (label("P2"), "found")] {
        let mut cmd = Command::new("node");
        cmd.arg(runner.join("report.mjs")).arg(&url).arg(kind);
        let run = tokio::task::spawn_blocking(move || cmd.output().expect("node runs"))
            .await
            .unwrap();
        let said = String::from_utf8_lossy(&run.stdout).into_owned();
        assert!(
            run.status.success() && said.starts_with("200 Thank you"),
            "the form of {url}: {said}{}",
            String::from_utf8_lossy(&run.stderr)
        );
    }

    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!(
        "../target/test-artefacts/pages-{}",
        format!("{backend:?}").to_lowercase()
    ));
    let pages = [
        ("customer", customer.clone(), 200),
        ("customer-de", format!("{customer}&lang=de"), 200),
        ("no-code", anonymous.clone(), 200),
        ("wrong-code", format!("{anonymous}?c=AAAAAAAAAAAAA"), 200),
        ("recalled", label("P2"), 200),
        ("stolen", label("P3"), 200),
        ("decommissioned", label("P4"), 200),
        (
            "unknown",
            format!("{base}/pip/01/04012345000016/21/NOPE"),
            404,
        ),
        // A label printed with a serial nobody made, through the resolver.
        (
            "unknown-label",
            format!("{base}/01/04012345000016/21/FAKE?c=AAAAAAAAAAAAA"),
            404,
        ),
        (
            "malformed",
            format!("{base}/pip/01/0401234500001/21/P1"),
            400,
        ),
        ("product", format!("{base}/pip/01/04012345000016"), 200),
    ];
    let mut cmd = Command::new("node");
    cmd.arg(runner.join("axe.mjs")).arg(&out);
    for (name, url, _) in &pages {
        cmd.arg(format!("{name}={url}"));
    }
    let run = tokio::task::spawn_blocking(move || cmd.output().expect("node runs"))
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
    assert!(
        run.status.success(),
        "axe-core found violations:\n{stdout}\n{stderr}"
    );
    for (name, _, status) in &pages {
        let line = format!("{name} {status} violations=0");
        assert!(
            stdout.lines().any(|l| l == line),
            "{line} in:\n{stdout}\n{stderr}"
        );
        assert!(
            out.join(format!("{name}.png")).is_file(),
            "a screenshot of {name}"
        );
        let report = std::fs::read_to_string(out.join(format!("{name}.axe.json"))).unwrap();
        let report: serde_json::Value = serde_json::from_str(&report).unwrap();
        assert!(report["passes"].as_u64().unwrap() > 10, "axe ran on {name}");
        assert_eq!(
            report["blockedRequests"].as_array().map(Vec::len),
            Some(0),
            "{name} loads nothing from elsewhere"
        );
    }
}
