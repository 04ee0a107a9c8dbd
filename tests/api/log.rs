//! The public log: leaves appended with their batch, tiles and entries
//! served per C2SP tlog-tiles, signed checkpoints, proofs; checked by a
//! client written here from the C2SP texts alone (it shares no code with the
//! server's ledger module), and under concurrent writers.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use provenance::auth::{Principal, Role};
use provenance::ledger::{NoteVerifier, TlogProof, leaf_hash};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::events::{BMS_GTIN, PACK_GTIN, aggregation, dl, object};
use crate::helpers::{Backend, TestApp, spawn_app};

both_backends!(
    the_served_log_reverifies_from_its_tiles,
    a_rejected_batch_appends_no_leaf,
    concurrent_writers_never_fork_the_log,
);

// ---- an independent C2SP client -------------------------------------------

fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// RFC 9162 MTH over leaf hashes, recursively.
fn mth(leaves: &[[u8; 32]]) -> [u8; 32] {
    match leaves.len() {
        0 => sha256(&[]),
        1 => leaves[0],
        n => {
            let k = 1usize << (usize::BITS - (n - 1).leading_zeros() - 1);
            sha256(&[&[1], &mth(&leaves[..k]), &mth(&leaves[k..])])
        }
    }
}

/// C2SP tlog-tiles index encoding: groups of three digits, `x` before all
/// but the last.
pub(crate) fn tile_index(n: u64) -> String {
    let mut groups = vec![format!("{:03}", n % 1000)];
    let mut n = n / 1000;
    while n > 0 {
        groups.push(format!("x{:03}", n % 1000));
        n /= 1000;
    }
    groups.reverse();
    groups.join("/")
}

pub struct OpenedCheckpoint {
    pub origin: String,
    pub size: u64,
    pub root: [u8; 32],
}

/// Opens a signed note with the one verifier key, C2SP signed-note.
pub fn open_checkpoint(note: &str, vkey: &str) -> OpenedCheckpoint {
    let (name, rest) = vkey.split_once('+').expect("vkey name");
    let (key_id_hex, key_b64) = rest.split_once('+').expect("vkey id");
    let key = STANDARD.decode(key_b64).expect("vkey base64");
    assert_eq!(key[0], 1, "Ed25519 algorithm byte");
    let key = VerifyingKey::from_bytes(&key[1..33].try_into().unwrap()).expect("key");
    let key_id = u32::from_str_radix(key_id_hex, 16).unwrap();
    let split = note.find("\n\n").expect("signature block");
    let body = &note[..split + 1];
    let mut verified = false;
    for line in note[split + 2..].lines() {
        let sig_line = line.strip_prefix("\u{2014} ").expect("signature line");
        let (signer, sig_b64) = sig_line.split_once(' ').unwrap();
        let sig = STANDARD.decode(sig_b64).unwrap();
        if signer == name && u32::from_be_bytes(sig[..4].try_into().unwrap()) == key_id {
            let sig = Signature::from_slice(&sig[4..]).unwrap();
            key.verify(body.as_bytes(), &sig)
                .expect("checkpoint signature");
            verified = true;
        }
    }
    assert!(verified, "no signature by the log key");
    let mut lines = body.lines();
    let origin = lines.next().unwrap().to_owned();
    assert_eq!(origin, name, "the key name is the origin");
    let size = lines.next().unwrap().parse().unwrap();
    let root = STANDARD
        .decode(lines.next().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    OpenedCheckpoint { origin, size, root }
}

impl TestApp {
    async fn bytes(&self, path: &str) -> (u16, Vec<u8>) {
        let r = self.get(path).await;
        let status = r.status().as_u16();
        (status, r.bytes().await.unwrap().to_vec())
    }

    pub async fn text(&self, path: &str) -> String {
        let (status, body) = self.bytes(path).await;
        assert_eq!(status, 200, "{path}");
        String::from_utf8(body).unwrap()
    }

    /// Waits (up to 10 s) for a checkpoint of at least `size`.
    pub async fn checkpoint_of(&self, size: u64) -> String {
        for _ in 0..100 {
            let (status, body) = self.bytes("/log/checkpoint").await;
            if status == 200 {
                let note = String::from_utf8(body).unwrap();
                let n: u64 = note.lines().nth(1).unwrap().parse().unwrap();
                if n >= size {
                    return note;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no checkpoint of size {size} within 10 s");
    }

    /// Re-derives the checkpoint's root from the served entry bundles and
    /// checks the served level-0 tiles against them.
    pub async fn reverify(&self, cp: &OpenedCheckpoint) -> Vec<Vec<u8>> {
        let mut leaves = Vec::new();
        let mut entries = Vec::new();
        let full = cp.size / 256;
        for n in 0..=full {
            let width = if n < full { 256 } else { cp.size % 256 };
            if width == 0 {
                break;
            }
            let suffix = if width == 256 {
                String::new()
            } else {
                format!(".p/{width}")
            };
            let (status, bundle) = self
                .bytes(&format!("/log/tile/entries/{}{suffix}", tile_index(n)))
                .await;
            assert_eq!(status, 200);
            let mut rest = &bundle[..];
            while !rest.is_empty() {
                let len = u16::from_be_bytes([rest[0], rest[1]]) as usize;
                let entry = &rest[2..2 + len];
                leaves.push(sha256(&[&[0], entry]));
                entries.push(entry.to_vec());
                rest = &rest[2 + len..];
            }
            let (status, tile) = self
                .bytes(&format!("/log/tile/0/{}{suffix}", tile_index(n)))
                .await;
            assert_eq!(status, 200);
            let start = (n * 256) as usize;
            assert_eq!(
                tile,
                leaves[start..].concat(),
                "level-0 tile {n} = hashes of its entries"
            );
        }
        assert_eq!(leaves.len() as u64, cp.size);
        assert_eq!(mth(&leaves), cp.root, "root recomputed from the entries");
        if cp.size >= 256 {
            // A level-1 tile's first hash is the root of the first 256 leaves.
            let width = cp.size / 256;
            let suffix = if width == 256 {
                String::new()
            } else {
                format!(".p/{width}")
            };
            let (status, t1) = self.bytes(&format!("/log/tile/1/000{suffix}")).await;
            assert_eq!(status, 200);
            assert_eq!(&t1[..32], &mth(&leaves[..256]));
        }
        entries
    }
}

async fn the_served_log_reverifies_from_its_tiles(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let staff = app.with_products().await;
    // 300 commissioned packs: more than one full tile.
    let batch: Vec<Value> = (0..300)
        .map(|i| {
            object(
                &format!("l-{i}"),
                "commissioning",
                &[dl(PACK_GTIN, &format!("L{i}"))],
            )
        })
        .collect();
    let r = app.capture(&staff, batch).await;
    assert_eq!(
        r["data"]["captureEvents"]["receipts"][299]["leafIndexes"],
        json!([299]),
        "{}",
        r["errors"]
    );
    // An assembly touches two devices: two leaves.
    let r = app
        .capture(
            &staff,
            vec![
                object("l-b", "commissioning", &[dl(BMS_GTIN, "B1")]),
                aggregation(
                    "l-a",
                    "ADD",
                    "assembling",
                    &dl(PACK_GTIN, "L0"),
                    &[dl(BMS_GTIN, "B1")],
                ),
            ],
        )
        .await;
    assert_eq!(
        r["data"]["captureEvents"]["receipts"][1]["leafIndexes"],
        json!([301, 302]),
        "{}",
        r["errors"]
    );

    let note = app.checkpoint_of(303).await;
    let vkey = app.text("/log/vkey").await;
    let vkey = vkey.lines().next().unwrap();
    let cp = open_checkpoint(&note, vkey);
    assert_eq!(cp.origin, "localhost:8080/log");
    assert_eq!(cp.size, 303);
    let entries = app.reverify(&cp).await;
    // Entries reveal no data: every value in a leaf is a 32-byte
    // commitment (or the chain's `seq`/`prev`/`v`), never a value in clear.
    for entry in &entries {
        let leaf: Value = serde_json::from_slice(entry).expect("a leaf is JSON");
        let keys: Vec<&str> = leaf
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            ["device", "event", "fields", "personal", "prev", "seq", "v"]
        );
        assert_eq!(leaf["v"], 2);
        assert!(leaf["personal"].is_array());
        // `prev` is a commitment too: no leaf names another leaf's hash.
        let commitments = leaf["fields"].as_object().unwrap().values().chain([
            &leaf["device"],
            &leaf["event"],
            &leaf["prev"],
        ]);
        for c in commitments {
            let bytes = STANDARD
                .decode(c.as_str().expect("a base64 string"))
                .unwrap();
            assert_eq!(bytes.len(), 32, "{c}");
        }
        let text = String::from_utf8_lossy(entry);
        for other in &entries {
            let hash = STANDARD.encode(sha256(&[&[0], other]));
            assert!(!text.contains(&hash), "a leaf names another leaf's hash");
        }
        for secret in [PACK_GTIN, "\"l-17\"", "\"commissioning\"", "\"ampera\""] {
            assert!(
                !text.contains(secret),
                "{secret} leaked into the public log"
            );
        }
    }
    // Full tiles are cacheable forever; the checkpoint is not cached.
    let r = app.get("/log/tile/0/000").await;
    assert!(
        r.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    let r = app.get("/log/checkpoint").await;
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(
        app.get("/log/tile/0/002").await.status(),
        404,
        "beyond the log"
    );
    assert_eq!(app.get("/log/tile/0/x1").await.status(), 400);
    // Beyond any log of i64::MAX leaves: out of range, and no overflow.
    for path in [
        "tile/0/x018/x446/x744/x073/x709/x551/615",
        "tile/entries/x018/x446/x744/x073/x709/x551/615",
        "tile/entries/x036/x028/x797/x018/x963/x968.p/1",
        "tile/7/001",
        "tile/63/000",
    ] {
        assert_eq!(
            app.get(&format!("/log/{path}")).await.status(),
            400,
            "{path}"
        );
    }

    // Every event's tlog-proof verifies against the checkpoint and key.
    let verifiers = vec![NoteVerifier::parse(vkey).unwrap()];
    for (event, device, index) in [
        ("l-0", format!("{PACK_GTIN}/L0"), 0),
        ("l-a", format!("{BMS_GTIN}/B1"), 302),
    ] {
        let text = app
            .text(&format!("/log/proof/event?eventID={event}&device={device}"))
            .await;
        let proof = TlogProof::parse(&text).unwrap();
        assert_eq!(proof.index, index);
        let leaf = leaf_hash(&entries[index as usize]);
        proof
            .verify(&leaf, "localhost:8080/log", &verifiers)
            .expect("tlog-proof verifies");
    }
    assert_eq!(
        app.get(&format!(
            "/log/proof/event?eventID=nope&device={PACK_GTIN}/L0"
        ))
        .await
        .status(),
        404
    );
    // Inclusion and consistency proofs as JSON.
    let r: Value = app
        .get("/log/proof/inclusion?index=5&size=303")
        .await
        .json()
        .await
        .unwrap();
    assert!(!r["proof"].as_array().unwrap().is_empty());
    let r: Value = app
        .get("/log/proof/consistency?old=100&new=303")
        .await
        .json()
        .await
        .unwrap();
    assert!(!r["proof"].as_array().unwrap().is_empty());
    assert_eq!(
        app.get("/log/proof/inclusion?index=5&size=9999")
            .await
            .status(),
        400
    );
    // GraphQL: each history event has its leaf and, on request, its proof.
    let d = app
        .device(
            &staff,
            PACK_GTIN,
            "L0",
            "history { edges { node { eventID leafIndex tlogProof } } }",
        )
        .await;
    let edges = d["history"]["edges"].as_array().unwrap();
    assert_eq!(edges[0]["node"]["leafIndex"], 0);
    assert_eq!(edges[1]["node"]["leafIndex"], 301);
    let text = edges[1]["node"]["tlogProof"].as_str().unwrap();
    TlogProof::parse(text)
        .unwrap()
        .verify(&leaf_hash(&entries[301]), "localhost:8080/log", &verifiers)
        .unwrap();
    // A leaf past the log's end: not found (one within it that no
    // checkpoint covers yet is 409 with Retry-After).
    let past = app.portal.tlog_proof(10_000).await;
    assert!(matches!(
        past,
        Err(provenance::services::log::LogError::NotFound)
    ));
}

async fn a_rejected_batch_appends_no_leaf(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let staff = app.with_products().await;
    let mut batch: Vec<Value> = (0..50)
        .map(|i| {
            object(
                &format!("n-{i}"),
                "commissioning",
                &[dl(PACK_GTIN, &format!("N{i}"))],
            )
        })
        .collect();
    batch[49] = object("n-49", "inspecting", &[dl(PACK_GTIN, "UNKNOWN")]);
    let r = app.capture(&staff, batch).await;
    assert!(r["errors"].is_array(), "{r}");
    let (size, _) = app.portal.store().log_head().await.unwrap();
    assert_eq!(size, 0);
    assert!(
        app.portal
            .store()
            .leaf_data(0, 100)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn concurrent_writers_never_fork_the_log(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.with_products().await;
    let staff = Principal {
        subject: "load".into(),
        role: Role::Staff,
        org: "ampera".into(),
    };
    // Four clients, each 500 batches of 10 events, at once; checkpoints
    // are signed meanwhile by the server's own signer.
    let mut clients = Vec::new();
    for c in 0..4 {
        let portal = app.portal.clone();
        let staff = staff.clone();
        clients.push(tokio::spawn(async move {
            let mut indexes = Vec::new();
            for b in 0..500 {
                let batch = (0..10)
                    .map(|i| {
                        let id = format!("{c}-{b}-{i}");
                        let v = object(
                            &id,
                            "commissioning",
                            &[dl(PACK_GTIN, &format!("C{c}B{b}I{i}"))],
                        );
                        crate::events::raw_event(&v)
                    })
                    .collect();
                let receipts = portal.capture(&staff, batch).await.expect("capture");
                indexes.extend(receipts.into_iter().flat_map(|r| r.leaf_indexes));
            }
            indexes
        }));
    }
    let mut all = Vec::new();
    for c in clients {
        all.extend(c.await.unwrap());
    }
    all.sort_unstable();
    assert_eq!(
        all,
        (0..20_000).collect::<Vec<u64>>(),
        "no gap, no duplicate"
    );
    let (size, _) = app.portal.store().log_head().await.unwrap();
    assert_eq!(size, 20_000);
    let last = app.checkpoint_of(20_000).await;
    let vkey = app.text("/log/vkey").await;
    let last = open_checkpoint(&last, vkey.trim());
    app.reverify(&last).await;
    // Every stored checkpoint is consistent with the last.
    let verifiers = vec![NoteVerifier::parse(vkey.trim()).unwrap()];
    let last_root =
        provenance::ledger::RootHash::new(last.size, provenance::ledger::Hash(last.root));
    let stored = app.portal.store().checkpoints().await.unwrap();
    assert!(stored.len() >= 2, "checkpoints were signed while capturing");
    for c in stored {
        let opened =
            provenance::ledger::open_checkpoint(&c.note, "localhost:8080/log", &verifiers).unwrap();
        let old = opened.checkpoint.root_hash();
        if old.size == 0 || old.size == last.size {
            continue;
        }
        let proof = app.portal.consistency(old.size, last.size).await.unwrap();
        last_root
            .verify_consistency(&old, &proof)
            .expect("consistent with the last checkpoint");
    }
}

/// Two server processes on one PostgreSQL database, capturing at once:
/// appends serialize in the database, one process at a time signs, and the
/// log stays one consistent tree.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_one_postgres_log() {
    let Some(app) = spawn_app(Backend::Postgres).await else {
        return;
    };
    let staff = app.with_products().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _other = crate::helpers::KillOnDrop(
        std::process::Command::new(env!("CARGO_BIN_EXE_provenance"))
            .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(&app.data_dir)
            .arg("--database-url")
            .arg(&app.database_url)
            // One portal behind one public URL: both processes name it
            // (without it, the second would take its own port's).
            .env(
                "PROVENANCE_PUBLIC_BASE_URL",
                &app.portal.settings().public_base_url,
            )
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let second = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    for _ in 0..100 {
        if client
            .get(format!("{second}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut tasks = Vec::new();
    for (p, base) in [(0, app.address.clone()), (1, second.clone())] {
        let client = client.clone();
        let staff = staff.clone();
        tasks.push(tokio::spawn(async move {
            for b in 0..50 {
                let batch: Vec<Value> = (0..10)
                    .map(|i| object(&format!("tp{p}-{b}-{i}"), "commissioning", &[dl(PACK_GTIN, &format!("T{p}B{b}I{i}"))]))
                    .collect();
                let r: Value = client
                    .post(format!("{base}/graphql"))
                    .bearer_auth(&staff)
                    .json(&json!({ "query": "mutation($e: [EventInput!]!) { captureEvents(events: $e) { receipts { leafIndexes } } }", "variables": { "e": batch } }))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                assert!(r.get("errors").is_none(), "{}", r["errors"]);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let note = app.checkpoint_of(1000).await;
    let vkey = app.text("/log/vkey").await;
    let cp = open_checkpoint(&note, vkey.trim());
    assert_eq!(cp.size, 1000);
    app.reverify(&cp).await;
    let verifiers = vec![NoteVerifier::parse(vkey.trim()).unwrap()];
    let last = provenance::ledger::RootHash::new(cp.size, provenance::ledger::Hash(cp.root));
    for c in app.portal.store().checkpoints().await.unwrap() {
        let old = provenance::ledger::open_checkpoint(&c.note, "localhost:8080/log", &verifiers)
            .unwrap()
            .checkpoint
            .root_hash();
        if old.size > 0 && old.size < last.size {
            let proof = app.portal.consistency(old.size, last.size).await.unwrap();
            last.verify_consistency(&old, &proof).expect("consistent");
        }
    }
}
