//! The appender: given the right-edge tiles of a tree and new leaf hashes,
//! the tiles that change and the new root, so the database can write them in
//! the same transaction as the leaves.
//!
//! Contract for a backend: read [`append_read_tiles`]`(old_size)` (at most
//! one partial tile per level, a few KiB), call [`append`] with a store that
//! serves them, then write every returned tile. Full tiles (`width == 256`)
//! never change again; a partial tile is a new version of `(level, index)`
//! that a checkpoint at the new size needs, so keep it (or keep only the
//! widest and serve `.p/W` by truncation).

use super::hash::{HASH_LEN, Hash};
use super::proof::RootHash;
use super::store::{MemoryTileStore, TileError, TileStore, subtree_hash, tree_hash};
use super::tile::{FULL_TILE_BYTES, MAX_TILE_LEVEL, TILE_WIDTH, Tile, level_len, partial_tiles};

/// One tile's new contents: `tile.width * 32` bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TileData {
    pub tile: Tile,
    pub bytes: Vec<u8>,
}

/// The outcome of one append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// The root over all leaves, old and new.
    pub root: RootHash,
    /// New and grown tiles, lowest level first, left to right.
    pub tiles: Vec<TileData>,
}

/// The tiles [`append`] reads for a tree of `old_size`: its partial tiles.
pub fn append_read_tiles(old_size: u64) -> Vec<Tile> {
    partial_tiles(old_size)
}

/// Appends `leaves` (leaf hashes) to the tree of `old_size` whose tiles
/// `store` serves. Reads only [`append_read_tiles`]`(old_size)`, in one batch.
pub fn append(
    store: &impl TileStore,
    old_size: u64,
    leaves: &[Hash],
) -> Result<Appended, TileError> {
    let added = u64::try_from(leaves.len()).map_err(|_| overflow())?;
    let new_size = old_size.checked_add(added).ok_or_else(overflow)?;
    let edge_tiles = append_read_tiles(old_size);
    let edge_bytes = store.read_tiles(&edge_tiles)?;
    // The old edge plus everything written: enough to compute the new root.
    let mut view = MemoryTileStore::new();
    for (tile, bytes) in edge_tiles.iter().zip(edge_bytes) {
        let len = bytes.len();
        let bytes = bytes
            .get(..tile.byte_len())
            .ok_or(TileError::Short { tile: *tile, len })?
            .to_vec();
        view.put(*tile, bytes);
    }

    let mut out = Vec::new();
    let mut entries: Vec<u8> = leaves.iter().flat_map(|h| h.0).collect();
    for level in 0..=MAX_TILE_LEVEL {
        if entries.is_empty() {
            break;
        }
        let old_len = level_len(old_size, level);
        let first_tile = old_len / u64::from(TILE_WIDTH);
        // Start from the old partial tile at this level, if any.
        let mut row = match edge_tiles.iter().find(|t| t.level == level) {
            Some(tile) => view.read_tile(*tile)?,
            None => Vec::new(),
        };
        row.extend_from_slice(&entries);
        let mut parents = Vec::new();
        for (i, chunk) in row.chunks(FULL_TILE_BYTES).enumerate() {
            let tile = Tile {
                level,
                index: first_tile + i as u64,
                width: (chunk.len() / HASH_LEN) as u16,
            };
            if tile.is_full() {
                parents.extend_from_slice(&subtree_hash(chunk).0);
            }
            view.put(tile, chunk.to_vec());
            out.push(TileData {
                tile,
                bytes: chunk.to_vec(),
            });
        }
        entries = parents;
    }
    let root = tree_hash(&view, new_size)?;
    Ok(Appended { root, tiles: out })
}

fn overflow() -> TileError {
    TileError::Backend("tree size overflows u64".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::hash::leaf_hash;
    use crate::ledger::proof::reference;

    #[test]
    fn appending_in_any_batches_gives_the_same_tiles_and_root() {
        let all: Vec<Hash> = (0..1300u32).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let mut one = MemoryTileStore::new();
        let root = one.append(&all).unwrap();
        assert_eq!(root, RootHash::new(1300, reference::mth(&all)));

        let mut many = MemoryTileStore::new();
        let mut size = 0;
        for chunk in all.chunks(97) {
            let reads = append_read_tiles(size);
            many.reset_reads();
            let out = append(&many, size, chunk).unwrap();
            assert_eq!(many.reads(), reads.len() as u64);
            size += chunk.len() as u64;
            assert_eq!(out.root.hash, reference::mth(&all[..size as usize]));
            for t in &out.tiles {
                assert_eq!(t.bytes.len(), t.tile.byte_len());
            }
            for t in out.tiles {
                many.put(t.tile, t.bytes);
            }
        }
        for tile in crate::ledger::tile::partial_tiles(1300)
            .into_iter()
            .chain([Tile {
                level: 0,
                index: 3,
                width: 256,
            }])
        {
            assert_eq!(one.read_tile(tile).unwrap(), many.read_tile(tile).unwrap());
        }
    }

    #[test]
    fn returned_tiles_are_exactly_the_changed_ones() {
        let leaves: Vec<Hash> = (0..300u32).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let mut store = MemoryTileStore::new();
        store.append(&leaves[..250]).unwrap();
        let out = append(&store, 250, &leaves[250..]).unwrap();
        let tiles: Vec<Tile> = out.tiles.iter().map(|t| t.tile).collect();
        assert_eq!(
            tiles,
            vec![
                Tile {
                    level: 0,
                    index: 0,
                    width: 256
                },
                Tile {
                    level: 0,
                    index: 1,
                    width: 44
                },
                Tile {
                    level: 1,
                    index: 0,
                    width: 1
                },
            ]
        );
        let empty = append(&store, 250, &[]).unwrap();
        assert!(empty.tiles.is_empty());
        assert_eq!(empty.root, tree_hash(&store, 250).unwrap());
    }
}
