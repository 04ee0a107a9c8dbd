//! The worked example of docs/ledger-format.md, recomputed: a two-event
//! device history with fixed salts and a fixed Ed25519 seed. The test
//! renders the example's Markdown from these inputs and asserts that the
//! document contains it verbatim, so document and code cannot drift.

use std::fmt::Write as _;

use ed25519_dalek::SigningKey;
use serde_json::{Value, json};

use super::checkpoint::{Checkpoint, open_checkpoint};
use super::commit::{Salt, SaltError, commitment_preimage};
use super::hash::{Hash, hex, leaf_hash, parse_hex};
use super::leaf::{CommittedLeaf, LeafInput};
use super::note::NoteSigner;
use super::store::{MemoryTileStore, TileStore as _, inclusion_proof, tree_hash};
use super::tile::{Tile, encode_bundle};
use super::tlog_proof::TlogProof;

const DOC: &str = include_str!("../../../docs/ledger-format.md");

/// RFC 8032 §7.1 TEST 1 secret key, used as the example log key's seed.
const SEED_HEX: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
const ORIGIN: &str = "localhost:8080/log";
const DEVICE: &str = "(01)09506000134352(21)SN-0001";

struct Event {
    id: &'static str,
    fields: Vec<(String, Value)>,
    personal: Vec<String>,
}

fn events() -> Vec<Event> {
    let f = |pairs: Vec<(&str, Value)>| -> Vec<(String, Value)> {
        pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
    };
    vec![
        Event {
            id: "urn:uuid:6b1e0a52-7c0e-4d39-9d7c-2f8a1b3c4d5e",
            fields: f(vec![
                ("eventType", json!("ObjectEvent")),
                ("eventTime", json!("2026-03-02T09:30:00.000+01:00")),
                ("bizStep", json!("commissioning")),
                ("disposition", json!("active")),
                (
                    "readPoint",
                    json!({"id": "https://id.gs1.org/414/4012345000009"}),
                ),
                ("eventDate", json!("2026-03-02")),
                ("country", json!("DE")),
                ("recordTime", json!("2026-03-02T08:31:12.345Z")),
            ]),
            personal: Vec::new(),
        },
        Event {
            id: "urn:uuid:0f3c9a4e-2b7d-4e61-8a95-c1d2e3f4a5b6",
            fields: f(vec![
                ("eventType", json!("ObjectEvent")),
                ("eventTime", json!("2026-03-05T14:00:00.000+01:00")),
                ("bizStep", json!("shipping")),
                ("disposition", json!("in_transit")),
                (
                    "readPoint",
                    json!({"id": "https://id.gs1.org/414/4012345000009"}),
                ),
                ("eventDate", json!("2026-03-05")),
                ("country", json!("DE")),
                ("recordTime", json!("2026-03-05T13:02:40.120Z")),
                ("consignee", json!("Velo Service GmbH, Anna Schmidt")),
            ]),
            personal: vec!["consignee".to_owned()],
        },
    ]
}

/// Salt `j` (0 = device, 1 = eventID, 2 = prev, 3… = fields in order) of
/// event `e`:
/// 16 bytes of value `0x10 * (e + 1) + j`.
fn salts_for(e: u8) -> impl FnMut() -> Result<Salt, SaltError> {
    let mut j = 0u8;
    move || {
        let s = Salt([0x10 * (e + 1) + j; 16]);
        j += 1;
        Ok(s)
    }
}

fn render() -> String {
    let seed: [u8; 32] = parse_hex(SEED_HEX).unwrap().try_into().unwrap();
    let signer = NoteSigner::new(ORIGIN, SigningKey::from_bytes(&seed)).unwrap();
    let mut md = String::new();
    let w = &mut md;
    writeln!(
        w,
        "Log key: Ed25519 seed `{SEED_HEX}` (RFC 8032 §7.1 TEST 1), key name `{ORIGIN}`."
    )
    .unwrap();
    writeln!(
        w,
        "Public key (hex): `{}`.",
        hex(signer.verifier().verifying_key().as_bytes())
    )
    .unwrap();
    writeln!(w, "Verifier key: `{}`.", signer.verifier().to_vkey()).unwrap();
    writeln!(w, "Device: `{DEVICE}`.").unwrap();

    let mut store = MemoryTileStore::new();
    let mut prev: Option<Hash> = None;
    let mut leaf_bytes = Vec::new();
    let mut leaf_hashes = Vec::new();
    let mut chain = Vec::new();
    for (e, event) in events().iter().enumerate() {
        let built = CommittedLeaf::build(
            LeafInput {
                device: DEVICE,
                event_id: event.id,
                seq: e as u64,
                prev,
                fields: &event.fields,
                personal: &event.personal,
            },
            salts_for(e as u8),
        )
        .unwrap();
        writeln!(w, "\n#### Event {e}: seq {e}, eventID `{}`\n", event.id).unwrap();
        writeln!(
            w,
            "| name | JCS([name, value]) | salt (hex) | commitment (base64) |"
        )
        .unwrap();
        writeln!(w, "|---|---|---|---|").unwrap();
        let prev_c = match built.leaf.prev {
            super::leaf::Prev::Committed(c) => c,
            super::leaf::Prev::Plain(_) => unreachable!("capture builds version 2"),
        };
        let rows = [
            (&built.device, &built.leaf.device),
            (&built.event, &built.leaf.event),
            (&built.prev, &prev_c),
        ]
        .into_iter()
        .chain(built.fields.iter().map(|(o, c)| (o, c)));
        for (opening, c) in rows {
            let pre = commitment_preimage(&opening.name, &opening.value).unwrap();
            writeln!(
                w,
                "| {} | `{}` | `{}` | `{}` |",
                opening.name,
                String::from_utf8(pre).unwrap(),
                opening.salt.to_hex(),
                c.to_base64()
            )
            .unwrap();
        }
        let bytes = built.leaf.encode().unwrap();
        let h = leaf_hash(&bytes);
        writeln!(w, "\nLeaf data ({} bytes, shown as text):\n", bytes.len()).unwrap();
        writeln!(
            w,
            "```json\n{}\n```\n",
            String::from_utf8(bytes.clone()).unwrap()
        )
        .unwrap();
        writeln!(
            w,
            "Leaf hash `SHA-256(0x00 || leaf)`: `{}` (hex `{}`).",
            h.to_base64(),
            h.to_hex()
        )
        .unwrap();
        assert_eq!(built.leaf.hash().unwrap(), h);
        assert_eq!((&built.data, built.hash), (&bytes, h));
        store.append(&[h]).unwrap();
        prev = Some(h);
        chain.push((built.leaf.clone(), Some(built.prev.salt)));
        leaf_bytes.push(bytes);
        leaf_hashes.push(h);
    }

    let root = tree_hash(&store, 2).unwrap();
    writeln!(w, "\n#### Tree, tiles and checkpoint\n").unwrap();
    writeln!(
        w,
        "Root of size 2, `SHA-256(0x01 || leaf hash 0 || leaf hash 1)`: `{}` (hex `{}`).",
        root.hash.to_base64(),
        root.hash.to_hex()
    )
    .unwrap();
    let tile = Tile {
        level: 0,
        index: 0,
        width: 2,
    };
    let tile_bytes = store.read_tile(tile).unwrap();
    writeln!(
        w,
        "\n`{}` is the 64 bytes `{}`.",
        tile.path(),
        hex(&tile_bytes)
    )
    .unwrap();
    let bundle = encode_bundle(&leaf_bytes).unwrap();
    writeln!(
        w,
        "`{}` is {} bytes: `{}` + leaf 0 + `{}` + leaf 1.",
        tile.entries_path(),
        bundle.len(),
        hex(&bundle[..2]),
        hex(&u16::try_from(leaf_bytes[1].len()).unwrap().to_be_bytes())
    )
    .unwrap();
    let cp = Checkpoint::new(ORIGIN, root);
    let note = cp.sign(&[&signer]).unwrap();
    writeln!(w, "\nSigned checkpoint:\n\n```\n{note}```").unwrap();
    let proof = inclusion_proof(&store, 1, 2).unwrap();
    let tp = TlogProof::new(1, proof, &note);
    writeln!(
        w,
        "\ntlog-proof of event 1 (leaf index 1):\n\n```\n{}```",
        tp.to_text()
    )
    .unwrap();

    // The example verifies the way an outsider would.
    let (leaves, salts): (Vec<_>, Vec<_>) = chain.into_iter().unzip();
    super::leaf::verify_chain(&leaves, &salts).unwrap();
    let trusted = [signer.verifier().clone()];
    let opened = open_checkpoint(&note, ORIGIN, &trusted).unwrap();
    assert_eq!(opened.checkpoint.root_hash(), root);
    let parsed = TlogProof::parse(&tp.to_text()).unwrap();
    parsed.verify(&leaf_hashes[1], ORIGIN, &trusted).unwrap();
    md
}

#[test]
fn worked_example_in_the_doc_is_what_the_code_computes() {
    let rendered = render();
    let begin = "<!-- worked-example:begin -->\n";
    let end = "<!-- worked-example:end -->";
    let in_doc = DOC
        .split_once(begin)
        .and_then(|(_, rest)| rest.split_once(end))
        .map(|(block, _)| block);
    if std::env::var_os("UPDATE_DOCS").is_some() && in_doc != Some(rendered.as_str()) {
        let (head, rest) = DOC.split_once(begin).expect("begin marker");
        let (_, tail) = rest.split_once(end).expect("end marker");
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/ledger-format.md");
        std::fs::write(path, format!("{head}{begin}{rendered}{end}{tail}")).unwrap();
        return;
    }
    assert_eq!(
        in_doc,
        Some(rendered.as_str()),
        "docs/ledger-format.md's worked example differs (UPDATE_DOCS=1 rewrites it); the code computes:\n{rendered}"
    );
}
