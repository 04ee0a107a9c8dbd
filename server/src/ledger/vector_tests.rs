//! Tests against vectors we did not write (tests/vectors, see its
//! SOURCES.md): transparency-dev/merkle proof files and the RFC 6962
//! reference tree, C2SP and Go sumdb signed notes and checkpoints.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::checkpoint::Checkpoint;
use super::hash::{Hash, leaf_hash, parse_hex};
use super::note::{NoteError, NoteSigner, NoteVerifier, open_note, parse_note, sign_note};
use super::proof::RootHash;
use super::store::{MemoryTileStore, consistency_proof, inclusion_proof, tree_hash};

fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors")
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            json_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "json") {
            out.push(p);
        }
    }
}

fn b64(v: &Value) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(v.as_str().unwrap())
        .unwrap()
}

/// Hashes as the Go vectors give them: any length. Our API takes only
/// 32-byte hashes, so a shorter value is rejected where it is parsed.
fn strict(bytes: &[u8]) -> Option<Hash> {
    Hash::from_slice(bytes).ok()
}

/// For the one vector that expects success with "don't care" placeholder
/// roots (sizes 1 = 1, empty proof, equal roots), stand in a 32-byte value
/// that keeps equality: SHA-256 of the placeholder.
fn lenient(bytes: &[u8]) -> Hash {
    strict(bytes).unwrap_or_else(|| Hash::sha256(bytes))
}

fn proof_of(v: &Value) -> Vec<Vec<u8>> {
    match v {
        Value::Null => vec![],
        Value::Array(items) => items.iter().map(b64).collect(),
        _ => panic!("proof is neither null nor array"),
    }
}

#[test]
fn transparency_dev_merkle_inclusion_files() {
    let mut files = Vec::new();
    json_files(
        &vectors().join("merkle-rfc6962/transparency-dev-merkle/testdata/inclusion"),
        &mut files,
    );
    assert!(files.len() >= 90, "{} files", files.len());
    let (mut happy, mut rejected) = (0, 0);
    for file in &files {
        let v: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        let want_err = v["wantErr"].as_bool().unwrap();
        let index = v["leafIdx"].as_u64().unwrap();
        let size = v["treeSize"].as_u64().unwrap();
        let (root, leaf, proof) = (b64(&v["root"]), b64(&v["leafHash"]), proof_of(&v["proof"]));
        let parsed = (|| {
            let proof: Option<Vec<Hash>> = proof.iter().map(|p| strict(p)).collect();
            Some((strict(&root)?, strict(&leaf)?, proof?))
        })();
        let result = match parsed {
            Some((root, leaf, proof)) => RootHash::new(size, root)
                .verify_inclusion(index, &leaf, &proof)
                .is_ok(),
            None => false, // refused at the parse boundary
        };
        assert_eq!(result, !want_err, "{}", file.display());
        if want_err {
            rejected += 1;
        } else {
            happy += 1;
        }
    }
    assert!(
        happy >= 6 && rejected >= 80,
        "{happy} happy, {rejected} rejected"
    );
}

#[test]
fn transparency_dev_merkle_consistency_files() {
    let mut files = Vec::new();
    json_files(
        &vectors().join("merkle-rfc6962/transparency-dev-merkle/testdata/consistency"),
        &mut files,
    );
    assert!(files.len() >= 90, "{} files", files.len());
    let mut placeholders = 0;
    for file in &files {
        let v: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        let want_err = v["wantErr"].as_bool().unwrap();
        let size1 = v["size1"].as_u64().unwrap();
        let size2 = v["size2"].as_u64().unwrap();
        let (root1, root2, proof) = (b64(&v["root1"]), b64(&v["root2"]), proof_of(&v["proof"]));
        let parsed = (|| {
            let proof: Option<Vec<Hash>> = proof.iter().map(|p| strict(p)).collect();
            Some((strict(&root1)?, strict(&root2)?, proof?))
        })();
        let result = match parsed {
            Some((r1, r2, proof)) => RootHash::new(size2, r2)
                .verify_consistency(&RootHash::new(size1, r1), &proof)
                .is_ok(),
            None if want_err => false,
            None => {
                placeholders += 1;
                RootHash::new(size2, lenient(&root2))
                    .verify_consistency(&RootHash::new(size1, lenient(&root1)), &[])
                    .is_ok()
                    && proof.is_empty()
            }
        };
        assert_eq!(result, !want_err, "{}", file.display());
    }
    assert_eq!(placeholders, 1);
}

#[test]
fn rfc6962_reference_tree() {
    let text =
        std::fs::read_to_string(vectors().join("merkle-rfc6962/rfc6962-reference-tree.json"))
            .unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    let hex_hash = |v: &Value| Hash::from_slice(&parse_hex(v.as_str().unwrap()).unwrap()).unwrap();
    let leaves: Vec<Hash> = v["leafInputsHex"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| leaf_hash(&parse_hex(x.as_str().unwrap()).unwrap()))
        .collect();
    let level0: Vec<Hash> = v["nodeHashesHexByLevel"][0]
        .as_array()
        .unwrap()
        .iter()
        .map(hex_hash)
        .collect();
    assert_eq!(leaves, level0);
    let mut store = MemoryTileStore::new();
    for (size, want) in v["rootHashesHexByTreeSize"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        if size > 0 {
            store.append(&leaves[size - 1..size]).unwrap();
        }
        assert_eq!(
            tree_hash(&store, size as u64).unwrap().hash,
            hex_hash(want),
            "size {size}"
        );
    }
    for p in v["inclusionProofsHex_leafIndex1Based"].as_array().unwrap() {
        let index = p["leafIndex1Based"].as_u64().unwrap() - 1;
        let size = p["treeSize"].as_u64().unwrap();
        let want: Vec<Hash> = p["proof"]
            .as_array()
            .unwrap()
            .iter()
            .map(hex_hash)
            .collect();
        assert_eq!(inclusion_proof(&store, index, size).unwrap(), want);
        let root = tree_hash(&store, size).unwrap();
        root.verify_inclusion(index, &leaves[index as usize], &want)
            .unwrap();
    }
    for p in v["consistencyProofsHex"].as_array().unwrap() {
        let old = p["size1"].as_u64().unwrap();
        let new = p["size2"].as_u64().unwrap();
        let want: Vec<Hash> = p["proof"]
            .as_array()
            .unwrap()
            .iter()
            .map(hex_hash)
            .collect();
        assert_eq!(consistency_proof(&store, old, new).unwrap(), want);
        let (r1, r2) = (
            tree_hash(&store, old).unwrap(),
            tree_hash(&store, new).unwrap(),
        );
        r2.verify_consistency(&r1, &want).unwrap();
    }
}

fn note_file(name: &str) -> String {
    std::fs::read_to_string(vectors().join("signed-note").join(name)).unwrap()
}

fn vkey(name: &str) -> NoteVerifier {
    let text = note_file(name);
    let v = NoteVerifier::parse(text.trim_end()).unwrap();
    assert_eq!(v.to_vkey(), text.trim_end());
    v
}

#[test]
fn c2sp_signed_note_example_opens() {
    let v = vkey("c2sp-signed-note-example.vkey");
    assert_eq!(v.key_id(), 0x530d903a);
    let opened = open_note(
        &note_file("c2sp-signed-note-example.note"),
        std::slice::from_ref(&v),
    )
    .unwrap();
    assert_eq!(opened.text, "This is an example message.\n");
    assert_eq!(opened.verified_by, vec![v]);
    assert!(opened.unverified.is_empty());
}

#[test]
fn go_sumdb_notes_open_and_sign_byte_for_byte() {
    let peter = vkey("golang-sumdb-note-peterneumann.vkey");
    let enoch = vkey("golang-sumdb-note-enochroot.vkey");
    let signer =
        NoteSigner::parse_go_skey(note_file("golang-sumdb-note-peterneumann.skey").trim_end())
            .unwrap();
    assert_eq!(signer.verifier(), &peter);

    let published = note_file("golang-sumdb-note-peterneumann.note");
    let text = "If you think cryptography is the answer to your problem,\n\
                then you don't know what your problem is.\n";
    assert_eq!(sign_note(text, &[&signer]).unwrap(), published);
    assert_eq!(
        open_note(&published, std::slice::from_ref(&peter))
            .unwrap()
            .text,
        text
    );

    let both = note_file("golang-sumdb-note-peter-and-enoch.note");
    let opened = open_note(&both, &[enoch.clone(), peter.clone()]).unwrap();
    assert_eq!(opened.verified_by, vec![peter.clone(), enoch.clone()]);
    let only_peter = open_note(&both, std::slice::from_ref(&peter)).unwrap();
    assert_eq!(only_peter.verified_by, vec![peter.clone()]);
    assert_eq!(only_peter.unverified.len(), 1);
    assert_eq!(only_peter.unverified[0].name, "EnochRoot");

    // A key that shares only the name is someone else: ignored, not failed.
    let impostor = NoteSigner::new(
        "PeterNeumann",
        ed25519_dalek::SigningKey::from_bytes(&[5; 32]),
    )
    .unwrap();
    assert_eq!(
        open_note(&published, &[impostor.verifier().clone()]),
        Err(NoteError::NoTrustedSignature { unverified: 1 })
    );
    // Changed text under a known key: the whole note is rejected.
    let tampered = published.replacen("answer", "Answer", 1);
    assert!(matches!(
        open_note(&tampered, &[peter.clone(), enoch]),
        Err(NoteError::BadSignature { .. })
    ));
    // Framing errors.
    for bad in [
        published.trim_end().to_owned(),
        published.replace("\n\n", "\n"),
        published.replace('\u{2014}', "-"),
        published.replacen("If", "If\u{7}", 1),
        format!("{published}\n"),
    ] {
        assert!(
            open_note(&bad, std::slice::from_ref(&peter)).is_err(),
            "{bad:?}"
        );
    }
}

#[test]
fn notes_by_unknown_keys_parse_but_are_not_trusted() {
    let all_known = [
        vkey("c2sp-signed-note-example.vkey"),
        vkey("golang-sumdb-note-peterneumann.vkey"),
        vkey("golang-sumdb-note-enochroot.vkey"),
    ];
    let quasimodo = note_file("c2sp-signed-note-quasimodo-unknown-key.note");
    let parsed = parse_note(&quasimodo).unwrap();
    assert!(parsed.text.starts_with("Ognuno sta solo"));
    assert!(parsed.text.ends_with("ed è subito sera.\n"));
    assert_eq!(parsed.signatures.len(), 1);
    assert_eq!(parsed.signatures[0].name, "quasimodo.example/salvatore");
    assert_eq!(
        open_note(&quasimodo, &all_known),
        Err(NoteError::NoTrustedSignature { unverified: 1 })
    );

    let sofa = note_file("c2sp-tlog-checkpoint-example-unknown-key.note");
    let parsed = parse_note(&sofa).unwrap();
    let cp = Checkpoint::parse(&parsed.text).unwrap();
    assert_eq!(cp.origin, "example.com/behind-the-sofa");
    assert_eq!(cp.size, 20_852_163);
    assert_eq!(
        cp.root.to_base64(),
        "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="
    );
    assert!(cp.extensions.is_empty());
    assert_eq!(cp.to_text().unwrap(), parsed.text);
    assert_eq!(
        open_note(&sofa, &all_known),
        Err(NoteError::NoTrustedSignature { unverified: 1 })
    );
}

#[test]
fn go_tree_body_parses_as_a_checkpoint() {
    let body = note_file("golang-sumdb-tree-body.txt");
    let cp = Checkpoint::parse(&body).unwrap();
    assert_eq!(cp.origin, "go.sum database tree");
    assert_eq!(cp.size, 123_456_789_012);
    assert_eq!(cp.root, leaf_hash(b"hello world"));
    assert_eq!(cp.to_text().unwrap(), body);
}
