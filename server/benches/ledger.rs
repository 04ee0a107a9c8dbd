//! Ledger core speed (issue 4, "Speed"): leaf commitment + encoding + hashing
//! per event, and inclusion / consistency proofs at 1,000,000 leaves from an
//! in-memory tile store, with the tiles each proof reads.
//!
//! `cargo bench -p provenance --bench ledger -- --sample-size 10 --measurement-time 2`

use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use provenance::ledger::{
    CommittedLeaf, Hash, LeafInput, MemoryTileStore, Salt, consistency_proof, inclusion_proof,
    leaf_hash, tree_hash,
};
use serde_json::{Value, json};

const SIZE: u64 = 1_000_000;

fn event_fields() -> Vec<(String, Value)> {
    [
        ("eventType", json!("ObjectEvent")),
        ("eventTime", json!("2026-03-02T09:30:00.000+01:00")),
        ("eventTimeZoneOffset", json!("+01:00")),
        ("action", json!("OBSERVE")),
        ("bizStep", json!("repairing")),
        ("disposition", json!("active")),
        (
            "readPoint",
            json!({"id": "https://id.gs1.org/414/4012345000009"}),
        ),
        (
            "bizLocation",
            json!({"id": "https://id.gs1.org/414/4012345000016"}),
        ),
        ("organisation", json!("service-partner-42")),
        ("operator", json!("tech-0017")),
        ("eventDate", json!("2026-03-02")),
        ("country", json!("DE")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

fn leaves(c: &mut Criterion) {
    let fields = event_fields();
    let prev = Some(leaf_hash(b"previous"));
    let input = LeafInput {
        device: "(01)09506000134352(21)SN-0001",
        event_id: "urn:uuid:6b1e0a52-7c0e-4d39-9d7c-2f8a1b3c4d5e",
        seq: 7,
        prev,
        fields: &fields,
        personal: &[],
    };
    c.bench_function(
        "leaf: salts + 15 commitments + JCS + leaf hash, per event",
        |b| {
            b.iter(|| {
                let built = CommittedLeaf::build_random(black_box(input)).expect("leaf");
                black_box(built.hash)
            })
        },
    );
    c.bench_function("leaf: same with fixed salts (no getrandom)", |b| {
        b.iter(|| {
            let built = CommittedLeaf::build(black_box(input), || Ok(Salt([7; 16]))).expect("leaf");
            black_box(built.hash)
        })
    });
}

fn million_leaf_store() -> MemoryTileStore {
    let mut store = MemoryTileStore::new();
    let mut next = 0u64;
    while next < SIZE {
        let batch: Vec<Hash> = (next..(next + 10_000).min(SIZE))
            .map(|i| leaf_hash(&i.to_be_bytes()))
            .collect();
        next += batch.len() as u64;
        store.append(&batch).expect("append");
    }
    store
}

fn proofs(c: &mut Criterion) {
    let store = million_leaf_store();
    let root = tree_hash(&store, SIZE).expect("root");

    // Tiles read per proof, over a spread of indexes and old sizes.
    let (mut incl_max, mut cons_max, mut incl_sum, mut cons_sum) = (0, 0, 0, 0);
    for k in 0..1000u64 {
        let index = k * 7919 % SIZE;
        store.reset_reads();
        let proof = inclusion_proof(&store, index, SIZE).expect("proof");
        let reads = store.reads();
        (incl_max, incl_sum) = (incl_max.max(reads), incl_sum + reads);
        root.verify_inclusion(index, &leaf_hash(&index.to_be_bytes()), &proof)
            .expect("verifies");
        let old = 1 + k * 999_331 % (SIZE - 1);
        store.reset_reads();
        consistency_proof(&store, old, SIZE).expect("proof");
        let reads = store.reads();
        (cons_max, cons_sum) = (cons_max.max(reads), cons_sum + reads);
    }
    eprintln!(
        "tiles read per proof at {SIZE} leaves (1000 samples): inclusion mean {:.2} max {incl_max}; \
         consistency mean {:.2} max {cons_max}; one batch (TileStore::read_tiles) per proof",
        incl_sum as f64 / 1000.0,
        cons_sum as f64 / 1000.0
    );

    let mut k = 0u64;
    c.bench_function("inclusion proof at 1M leaves (memory tiles)", |b| {
        b.iter_batched(
            || {
                k += 1;
                k * 7919 % SIZE
            },
            |index| inclusion_proof(&store, index, SIZE).expect("proof"),
            BatchSize::SmallInput,
        )
    });
    let mut k = 0u64;
    c.bench_function("consistency proof to 1M leaves (memory tiles)", |b| {
        b.iter_batched(
            || {
                k += 1;
                1 + k * 999_331 % (SIZE - 1)
            },
            |old| consistency_proof(&store, old, SIZE).expect("proof"),
            BatchSize::SmallInput,
        )
    });
    let index = 123_456;
    let proof = inclusion_proof(&store, index, SIZE).expect("proof");
    let leaf = leaf_hash(&index.to_be_bytes());
    c.bench_function("inclusion proof verification at 1M leaves", |b| {
        b.iter(|| {
            root.verify_inclusion(black_box(index), &leaf, &proof)
                .expect("ok")
        })
    });
}

criterion_group!(benches, leaves, proofs);
criterion_main!(benches);
