//! Proofs and roots assembled from tiles. [`TileStore`] is the one thing a
//! storage backend implements; the `*_tiles` planners say up front which
//! tiles a proof needs, so an async backend can fetch them in one round trip
//! and hand them over in a [`MemoryTileStore`]. Also the in-memory store the
//! tests and benchmarks use.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};

use super::hash::{HASH_LEN, Hash, empty_root, node_hash};
use super::proof::{
    NodeId, Range, RootHash, VerifyError, consistency_ranges, fold_range, inclusion_ranges,
};
use super::tile::{Tile, locate_node};

/// Why tiles could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TileError {
    #[error("tile {0} is not stored")]
    Missing(Tile),
    #[error("tile {tile} came back with {len} bytes")]
    Short { tile: Tile, len: usize },
    #[error("node {0:?} is not a complete subtree of this tree")]
    NotInTree(NodeId),
    #[error("tile store failed")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Why a proof or root could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum ProofError {
    #[error(transparent)]
    Range(#[from] VerifyError),
    #[error(transparent)]
    Tile(#[from] TileError),
}

/// Read access to a log's tiles. Tiles only grow, so a store may answer a
/// request for `(level, index, width)` with a wider version of that tile: the
/// caller uses the first `width` hashes. Fewer bytes than `width * 32` is an
/// error.
pub trait TileStore {
    /// The bytes of one tile (at least `tile.width * 32`).
    fn read_tile(&self, tile: Tile) -> Result<Vec<u8>, TileError>;

    /// The bytes of several tiles, in order. Override to batch round trips.
    fn read_tiles(&self, tiles: &[Tile]) -> Result<Vec<Vec<u8>>, TileError> {
        tiles.iter().map(|t| self.read_tile(*t)).collect()
    }
}

impl<S: TileStore + ?Sized> TileStore for &S {
    fn read_tile(&self, tile: Tile) -> Result<Vec<u8>, TileError> {
        (**self).read_tile(tile)
    }
    fn read_tiles(&self, tiles: &[Tile]) -> Result<Vec<Vec<u8>>, TileError> {
        (**self).read_tiles(tiles)
    }
}

/// Tiles keyed by (level, index), each kept at its widest; counts reads.
#[derive(Debug, Default)]
pub struct MemoryTileStore {
    tiles: HashMap<(u8, u64), Vec<u8>>,
    size: u64,
    reads: AtomicU64,
}

impl MemoryTileStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// A store holding exactly the given tiles (e.g. fetched from a database).
    pub fn from_tiles(tiles: impl IntoIterator<Item = (Tile, Vec<u8>)>) -> Self {
        let mut store = Self::new();
        for (tile, bytes) in tiles {
            store.put(tile, bytes);
        }
        store
    }

    /// Stores a tile, keeping the wider of two versions.
    pub fn put(&mut self, tile: Tile, bytes: Vec<u8>) {
        let slot = self.tiles.entry((tile.level, tile.index)).or_default();
        if bytes.len() > slot.len() {
            *slot = bytes;
        }
    }

    /// The tree size appended through [`MemoryTileStore::append`].
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends leaf hashes and stores the changed tiles; returns the new root.
    pub fn append(&mut self, leaves: &[Hash]) -> Result<RootHash, TileError> {
        let out = super::append::append(&*self, self.size, leaves)?;
        for t in out.tiles {
            self.put(t.tile, t.bytes);
        }
        self.size = out.root.size;
        Ok(out.root)
    }

    /// Tiles read so far (each tile of a batch counts once).
    pub fn reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }

    pub fn reset_reads(&self) {
        self.reads.store(0, Ordering::Relaxed);
    }
}

impl TileStore for MemoryTileStore {
    fn read_tile(&self, tile: Tile) -> Result<Vec<u8>, TileError> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        let bytes = self
            .tiles
            .get(&(tile.level, tile.index))
            .ok_or(TileError::Missing(tile))?;
        let want = tile.byte_len();
        bytes
            .get(..want)
            .map(<[u8]>::to_vec)
            .ok_or(TileError::Short {
                tile,
                len: bytes.len(),
            })
    }
}

/// The tiles an inclusion proof for `index` in a tree of `size` reads.
pub fn inclusion_tiles(index: u64, size: u64) -> Result<Vec<Tile>, VerifyError> {
    Ok(tiles_for(&inclusion_ranges(index, size)?, size))
}

/// The tiles a consistency proof from `old` to `new` reads.
pub fn consistency_tiles(old: u64, new: u64) -> Result<Vec<Tile>, VerifyError> {
    Ok(tiles_for(&consistency_ranges(old, new)?, new))
}

/// The tiles the root of a tree of `size` is computed from.
pub fn tree_hash_tiles(size: u64) -> Vec<Tile> {
    tiles_for(
        &[Range {
            start: 0,
            end: size,
        }],
        size,
    )
}

fn tiles_for(ranges: &[Range], size: u64) -> Vec<Tile> {
    let mut tiles: Vec<Tile> = ranges
        .iter()
        .flat_map(Range::nodes)
        .filter_map(|n| locate_node(n, size).map(|(t, _, _)| t))
        .collect();
    tiles.sort_unstable();
    tiles.dedup();
    tiles
}

/// The RFC 9162 inclusion proof for leaf `index` in the tree of `size`.
pub fn inclusion_proof(
    store: &impl TileStore,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, ProofError> {
    let ranges = inclusion_ranges(index, size)?;
    Ok(Reader::load(store, &ranges, size)?.range_hashes(&ranges)?)
}

/// The RFC 9162 consistency proof from the tree of `old` to that of `new`.
pub fn consistency_proof(
    store: &impl TileStore,
    old: u64,
    new: u64,
) -> Result<Vec<Hash>, ProofError> {
    let ranges = consistency_ranges(old, new)?;
    Ok(Reader::load(store, &ranges, new)?.range_hashes(&ranges)?)
}

/// The root of the tree of `size` leaves.
pub fn tree_hash(store: &impl TileStore, size: u64) -> Result<RootHash, TileError> {
    if size == 0 {
        return Ok(RootHash::empty());
    }
    let ranges = [Range {
        start: 0,
        end: size,
    }];
    let hashes = Reader::load(store, &ranges, size)?.range_hashes(&ranges)?;
    let hash = hashes.first().copied().unwrap_or_else(empty_root);
    Ok(RootHash::new(size, hash))
}

/// The tiles one computation needs, fetched in one batch.
struct Reader {
    size: u64,
    tiles: BTreeMap<Tile, Vec<u8>>,
}

impl Reader {
    fn load(store: &impl TileStore, ranges: &[Range], size: u64) -> Result<Self, TileError> {
        let wanted = tiles_for(ranges, size);
        let fetched = store.read_tiles(&wanted)?;
        let mut tiles = BTreeMap::new();
        for (tile, bytes) in wanted.into_iter().zip(fetched) {
            if bytes.len() < tile.byte_len() {
                return Err(TileError::Short {
                    tile,
                    len: bytes.len(),
                });
            }
            tiles.insert(tile, bytes);
        }
        Ok(Self { size, tiles })
    }

    fn node(&self, node: NodeId) -> Result<Hash, TileError> {
        let (tile, offset, count) =
            locate_node(node, self.size).ok_or(TileError::NotInTree(node))?;
        let bytes = self.tiles.get(&tile).ok_or(TileError::Missing(tile))?;
        let slice = bytes
            .get(offset * HASH_LEN..(offset + count) * HASH_LEN)
            .ok_or(TileError::Short {
                tile,
                len: bytes.len(),
            })?;
        Ok(subtree_hash(slice))
    }

    fn range_hashes(&self, ranges: &[Range]) -> Result<Vec<Hash>, TileError> {
        ranges
            .iter()
            .map(|r| {
                let hashes = r
                    .nodes()
                    .into_iter()
                    .map(|n| self.node(n))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(fold_range(&hashes).unwrap_or_else(empty_root))
            })
            .collect()
    }
}

/// The Merkle hash of a complete subtree given its bottom row of hashes
/// (concatenated, a power of two of them).
pub(crate) fn subtree_hash(row: &[u8]) -> Hash {
    let mut level: Vec<Hash> = row
        .chunks_exact(HASH_LEN)
        .filter_map(|c| Hash::from_slice(c).ok())
        .collect();
    while level.len() > 1 {
        level = level
            .chunks_exact(2)
            .map(|pair| node_hash(&pair[0], &pair[1]))
            .collect();
    }
    level.first().copied().unwrap_or_else(empty_root)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::hash::leaf_hash;
    use crate::ledger::proof::reference;
    use proptest::prelude::*;

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_le_bytes())).collect()
    }

    fn store_with(leaves: &[Hash], batches: &[usize]) -> MemoryTileStore {
        let mut store = MemoryTileStore::new();
        let mut rest = leaves;
        let mut i = 0;
        while !rest.is_empty() {
            let n = batches[i % batches.len()].clamp(1, rest.len());
            let (now, later) = rest.split_at(n);
            store.append(now).unwrap();
            rest = later;
            i += 1;
        }
        store
    }

    #[test]
    fn small_trees_agree_with_the_reference() {
        let all = leaves(600);
        let store = store_with(&all, &[1, 3, 255, 2]);
        for size in (1..=600u64).step_by(13).chain([256, 257, 511, 512, 513]) {
            let l = &all[..size as usize];
            let root = tree_hash(&store, size).unwrap();
            assert_eq!(root.hash, reference::mth(l), "size {size}");
            for index in [0, size / 2, size - 1] {
                let proof = inclusion_proof(&store, index, size).unwrap();
                assert_eq!(proof, reference::path(index as usize, l));
            }
            for old in [1, size / 3 + 1, size] {
                let proof = consistency_proof(&store, old, size).unwrap();
                assert_eq!(proof, reference::consistency(old as usize, l));
            }
        }
        assert_eq!(tree_hash(&store, 0).unwrap(), RootHash::empty());
    }

    #[test]
    fn missing_and_short_tiles_are_errors_not_panics() {
        let store = store_with(&leaves(10), &[10]);
        assert!(matches!(
            inclusion_proof(&store, 0, 300),
            Err(ProofError::Tile(TileError::Short { .. }))
        ));
        assert!(matches!(
            inclusion_proof(&store, 69_999, 70_000),
            Err(ProofError::Tile(TileError::Missing(_)))
        ));
        assert!(matches!(
            tree_hash(&store, 11),
            Err(TileError::Short { .. })
        ));
        assert!(matches!(
            inclusion_proof(&store, 10, 10),
            Err(ProofError::Range(_))
        ));
    }

    #[test]
    fn one_batch_per_proof_and_few_tiles() {
        let store = store_with(&leaves(70_000), &[1000]);
        store.reset_reads();
        inclusion_proof(&store, 12_345, 70_000).unwrap();
        assert!(store.reads() <= 4, "{}", store.reads());
        assert_eq!(
            inclusion_tiles(12_345, 70_000).unwrap().len() as u64,
            store.reads()
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(12))]

        #[test]
        fn proofs_from_tiles_verify_and_match_the_reference(
            size in 1u64..=10_000,
            batch in 40usize..700,
            seed in any::<u64>(),
        ) {
            let all = leaves(size);
            let store = store_with(&all, &[batch, batch / 2 + 1]);
            let root = tree_hash(&store, size).unwrap();
            prop_assert_eq!(root.hash, reference::mth(&all));
            let index = seed % size;
            let proof = inclusion_proof(&store, index, size).unwrap();
            prop_assert_eq!(&proof, &reference::path(index as usize, &all));
            prop_assert!(root.verify_inclusion(index, &all[index as usize], &proof).is_ok());

            let old = seed.rotate_left(17) % size + 1;
            let old_root = tree_hash(&store, old).unwrap();
            prop_assert_eq!(old_root.hash, reference::mth(&all[..old as usize]));
            let proof = consistency_proof(&store, old, size).unwrap();
            prop_assert_eq!(&proof, &reference::consistency(old as usize, &all));
            prop_assert!(root.verify_consistency(&old_root, &proof).is_ok());
        }
    }
}
