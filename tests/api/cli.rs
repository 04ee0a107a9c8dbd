//! The `provenance` binary itself: `token issue`, `migrate`, `serve --demo`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::helpers::{Backend, TestApp, spawn_app};

both_backends!(
    token_issue_prints_a_working_jwt,
    token_issue_refuses_bad_requests
);

pub fn provenance(app: &TestApp) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_provenance"));
    cmd.arg("--data-dir")
        .arg(&app.data_dir)
        .arg("--database-url")
        .arg(&app.database_url)
        .env_remove("PROVENANCE_DATA_DIR")
        .env_remove("PROVENANCE_DATABASE_URL")
        .env_remove("PROVENANCE_PUBLIC_BASE_URL");
    cmd
}

fn claims(jwt: &str) -> serde_json::Value {
    let payload = jwt.split('.').nth(1).expect("payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

async fn token_issue_prints_a_working_jwt(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.portal.seed_demo().await.unwrap();
    let out = provenance(&app)
        .args(["token", "issue", "--role", "staff", "--ttl", "90m"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let jwt = stdout.trim_end_matches('\n');
    assert_eq!(stdout.lines().count(), 1, "only the JWT: {stdout:?}");
    assert_eq!(jwt.split('.').count(), 3);
    let c = claims(jwt);
    assert_eq!(
        c["exp"].as_u64().unwrap() - c["iat"].as_u64().unwrap(),
        90 * 60
    );
    assert_eq!(c["org"], "ampera", "staff default to the manufacturer");
    assert_eq!(c["aud"], "provenance-portal");
    assert_eq!(c["iss"], "http://localhost:8080");
    let body = app.graphql(Some(jwt), "{ me { role org } }").await;
    assert_eq!(body["data"]["me"]["role"], "STAFF", "{body}");
    // The default lifetime is one hour.
    let out = provenance(&app)
        .args([
            "token",
            "issue",
            "--role",
            "distributor",
            "--org",
            "nordcycle",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let c = claims(String::from_utf8(out.stdout).unwrap().trim());
    assert_eq!(
        c["exp"].as_u64().unwrap() - c["iat"].as_u64().unwrap(),
        3600
    );
    assert_eq!(c["role"], "distributor");
}

async fn token_issue_refuses_bad_requests(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.portal.seed_demo().await.unwrap();
    for (args, message) in [
        (vec!["--role", "distributor"], "needs --org"),
        (
            vec!["--role", "distributor", "--org", "nobody"],
            "no organisation",
        ),
        (
            vec!["--role", "distributor", "--org", "ampera"],
            "cannot belong",
        ),
        (vec!["--role", "emperor"], "unknown role"),
        (vec!["--role", "staff", "--ttl", "soon"], "--ttl"),
    ] {
        let out = provenance(&app)
            .args(["token", "issue"])
            .args(&args)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
}

/// A port that was free a moment ago (the child process must bind it
/// itself, so port 0 is not an option).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `serve --demo --bind 127.0.0.1:PORT` with its data in `dir`, stdout
/// piped, under `base` as its public base URL (or the default).
fn spawn_serve_demo(
    port: u16,
    dir: &tempfile::TempDir,
    base: Option<&str>,
) -> crate::helpers::KillOnDrop {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_provenance"));
    cmd.args(["serve", "--demo", "--bind", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .env_remove("PROVENANCE_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    match base {
        Some(b) => cmd.env("PROVENANCE_PUBLIC_BASE_URL", b),
        None => cmd.env_remove("PROVENANCE_PUBLIC_BASE_URL"),
    };
    crate::helpers::KillOnDrop(cmd.spawn().unwrap())
}

/// `serve --demo` as a subprocess on a free port: the process, its base
/// URL, its first ten lines of output (the GraphQL URL and one line per
/// persona token) and the directory it keeps its data in.
pub(crate) async fn serve_demo() -> (
    crate::helpers::KillOnDrop,
    String,
    Vec<String>,
    tempfile::TempDir,
) {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = spawn_serve_demo(port, &dir, Some(&base));
    let stdout = child.0.stdout.take().unwrap();
    // Read stdout on a thread that keeps draining it, so the server never
    // writes into a closed pipe; take the first 10 lines (graphql + tokens).
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let lines: Vec<String> = tokio::task::spawn_blocking(move || {
        (0..10)
            .map(|_| {
                rx.recv_timeout(Duration::from_secs(120))
                    .expect("a start-up line")
            })
            .collect()
    })
    .await
    .unwrap();
    (child, base, lines, dir)
}

/// Issue 15: `serve --bind HOST:PORT` without a public base URL prints
/// (and signs) URLs on that port, and they answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_on_another_port_prints_urls_on_that_port() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = spawn_serve_demo(port, &dir, None);
    let stdout = child.0.stdout.take().unwrap();
    let first = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map(|_| line)
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(
        first.trim(),
        format!("graphql http://localhost:{port}/graphql")
    );
    let r = reqwest::get(format!("http://127.0.0.1:{port}/healthz"))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_demo_prints_urls_and_persona_tokens() {
    let (child, base, lines, dir) = serve_demo().await;
    assert_eq!(lines[0], format!("graphql {base}/graphql"));
    let tokens: Vec<Vec<&str>> = lines[1..].iter().map(|l| l.split(' ').collect()).collect();
    let personas: Vec<(&str, &str)> = tokens.iter().map(|t| (t[1], t[2])).collect();
    assert_eq!(
        personas,
        [
            ("admin", "ampera"),
            ("staff", "ampera"),
            ("distributor", "veloparts-eu"),
            ("distributor", "nordcycle"),
            ("service_partner", "wheelworks"),
            ("service_partner", "pedalfix"),
            ("warranty_agent", "securecover"),
            ("regulator", "eu-msa"),
            ("auditor", "eu-msa"),
        ]
    );
    let client = reqwest::Client::new();
    for t in &tokens {
        assert_eq!(t[0], "token");
        assert_eq!(t.len(), 4);
        let c = claims(t[3]);
        assert_eq!(
            c["exp"].as_u64().unwrap() - c["iat"].as_u64().unwrap(),
            24 * 3600
        );
        assert_eq!(c["role"], t[1]);
        let body: serde_json::Value = client
            .post(format!("{base}/graphql"))
            .bearer_auth(t[3])
            .json(&serde_json::json!({ "query": "{ me { org } }" }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(body["data"]["me"]["org"], t[2], "{body}");
    }
    let ready = client.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    assert!(dir.path().join("data/provenance.db").exists());
    drop(child);
    // Give the OS a moment to release the port before the next test.
    tokio::time::sleep(Duration::from_millis(50)).await;
}
