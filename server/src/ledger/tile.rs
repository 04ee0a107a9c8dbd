//! C2SP tlog-tiles arithmetic: tile coordinates and widths for a tree size,
//! the `tile/<L>/<N>[.p/<W>]` and `tile/entries/<N>[.p/<W>]` paths (with
//! `x001/x234/067` index encoding) and entry bundles (entries prefixed by a
//! 2-byte big-endian length). Tile height is 8: a full tile holds 256 hashes.

use std::fmt;

use super::hash::HASH_LEN;
use super::proof::NodeId;

/// Merkle levels per tile.
pub const TILE_HEIGHT: u8 = 8;
/// Hashes in a full tile.
pub const TILE_WIDTH: u16 = 256;
/// Bytes in a full tile.
pub const FULL_TILE_BYTES: usize = TILE_WIDTH as usize * HASH_LEN;
/// The highest tile level a 64-bit tree size can need.
pub const MAX_TILE_LEVEL: u8 = 7;

/// One tile: `width` hashes (1..=256) starting at hash `index * 256` of
/// tile level `level`, where tile level `l` holds Merkle nodes of height
/// `8 * l`. Level-0 tiles hold leaf hashes; the entry bundle with the same
/// index and width holds the leaves themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tile {
    pub level: u8,
    pub index: u64,
    pub width: u16,
}

/// Why a tile path or entry bundle is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TileFormatError {
    #[error("not a tile path")]
    BadPath,
    #[error("entry of {0} bytes does not fit a 2-byte length prefix")]
    EntryTooLong(usize),
    #[error("entry bundle is truncated")]
    TruncatedBundle,
}

impl Tile {
    pub fn is_full(&self) -> bool {
        self.width == TILE_WIDTH
    }

    /// The number of bytes of this tile's hashes.
    pub fn byte_len(&self) -> usize {
        usize::from(self.width) * HASH_LEN
    }

    /// `tile/<L>/<N>[.p/<W>]`, relative to the log prefix.
    pub fn path(&self) -> String {
        format!(
            "tile/{}/{}{}",
            self.level,
            encode_index(self.index),
            self.suffix()
        )
    }

    /// `tile/entries/<N>[.p/<W>]`: the entry bundle of a level-0 tile.
    pub fn entries_path(&self) -> String {
        format!("tile/entries/{}{}", encode_index(self.index), self.suffix())
    }

    fn suffix(&self) -> String {
        if self.is_full() {
            String::new()
        } else {
            format!(".p/{}", self.width)
        }
    }

    /// Whether a log of at most `i64::MAX` leaves (the size the store
    /// keeps) can hold this tile: its first leaf and the leaves after it
    /// fit. Tiles beyond are out of range (an HTTP 400, not a 404), and
    /// their positions would overflow.
    pub fn in_range(&self) -> bool {
        let entry_bits = u32::from(TILE_HEIGHT) * u32::from(self.level);
        if entry_bits > 63 {
            return false;
        }
        // Each entry stands for 2^(8·level) leaves; the tile starts at entry
        // index·256.
        let per_entry = 1u128 << entry_bits;
        u128::from(self.index)
            .checked_mul(u128::from(TILE_WIDTH))
            .and_then(|first| first.checked_add(u128::from(self.width)))
            .and_then(|entries| entries.checked_mul(per_entry))
            .is_some_and(|end| end <= i64::MAX as u128)
    }

    /// The first leaf index this tile's hashes cover.
    pub fn start_leaf(&self) -> u64 {
        shl(
            self.index,
            u32::from(TILE_HEIGHT) * (u32::from(self.level) + 1),
        )
    }
}

impl fmt::Display for Tile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path())
    }
}

/// A parsed tile path: Merkle hashes or an entry bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TilePath {
    Hashes(Tile),
    /// The entry bundle for the level-0 tile given.
    Entries(Tile),
}

impl TilePath {
    /// Parses a path relative to the log prefix, e.g. `tile/0/x001/234.p/7`
    /// or `tile/entries/000`. Leading zeroes in `L` and `W`, `W` outside
    /// 1..=255, and index elements that are not 3 digits are refused.
    pub fn parse(path: &str) -> Result<Self, TileFormatError> {
        let rest = path.strip_prefix("tile/").ok_or(TileFormatError::BadPath)?;
        let (first, rest) = rest.split_once('/').ok_or(TileFormatError::BadPath)?;
        let (index_part, width) = match rest.split_once(".p/") {
            Some((i, w)) => {
                let w = parse_decimal(w).ok_or(TileFormatError::BadPath)?;
                if !(1..u64::from(TILE_WIDTH)).contains(&w) {
                    return Err(TileFormatError::BadPath);
                }
                (i, w as u16)
            }
            None => (rest, TILE_WIDTH),
        };
        let index = decode_index(index_part).ok_or(TileFormatError::BadPath)?;
        if first == "entries" {
            return Ok(Self::Entries(Tile {
                level: 0,
                index,
                width,
            }));
        }
        let level = parse_decimal(first).ok_or(TileFormatError::BadPath)?;
        if level > 63 {
            return Err(TileFormatError::BadPath);
        }
        Ok(Self::Hashes(Tile {
            level: level as u8,
            index,
            width,
        }))
    }
}

fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || (s.len() > 1 && s.starts_with('0')) || !s.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    s.parse().ok()
}

/// `1234067` → `x001/x234/067`; `5` → `005`.
pub fn encode_index(mut n: u64) -> String {
    let mut parts = vec![format!("{:03}", n % 1000)];
    n /= 1000;
    while n > 0 {
        parts.push(format!("x{:03}", n % 1000));
        n /= 1000;
    }
    parts.reverse();
    parts.join("/")
}

/// The inverse of [`encode_index`], refusing every other spelling.
pub fn decode_index(s: &str) -> Option<u64> {
    let elements: Vec<&str> = s.split('/').collect();
    let (last, init) = elements.split_last()?;
    let mut n: u64 = 0;
    for (i, e) in init.iter().enumerate() {
        let digits = e.strip_prefix('x')?;
        if i == 0 && digits == "000" {
            return None; // not the shortest spelling
        }
        n = n.checked_mul(1000)?.checked_add(three_digits(digits)?)?;
    }
    n.checked_mul(1000)?.checked_add(three_digits(last)?)
}

fn three_digits(s: &str) -> Option<u64> {
    (s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

fn shl(x: u64, bits: u32) -> u64 {
    x.checked_shl(bits).unwrap_or(0)
}

fn shr(x: u64, bits: u32) -> u64 {
    x.checked_shr(bits).unwrap_or(0)
}

/// How many hashes tile level `level` holds in a tree of `size` leaves.
pub fn level_len(size: u64, level: u8) -> u64 {
    shr(size, u32::from(TILE_HEIGHT) * u32::from(level))
}

/// The tile at (`level`, `index`) as it is in a tree of `size` leaves, or
/// `None` when that tree has no such tile yet.
pub fn tile_for_size(level: u8, index: u64, size: u64) -> Option<Tile> {
    let len = level_len(size, level);
    let start = index.checked_mul(u64::from(TILE_WIDTH))?;
    if len <= start {
        return None;
    }
    let width = (len - start).min(u64::from(TILE_WIDTH)) as u16;
    Some(Tile {
        level,
        index,
        width,
    })
}

/// The partial tiles on the right edge of a tree of `size` leaves, lowest
/// level first. With full tiles, they are everything a client needs.
pub fn partial_tiles(size: u64) -> Vec<Tile> {
    (0..=MAX_TILE_LEVEL)
        .filter_map(|level| {
            let len = level_len(size, level);
            let width = (len % u64::from(TILE_WIDTH)) as u16;
            (width > 0).then_some(Tile {
                level,
                index: len / u64::from(TILE_WIDTH),
                width,
            })
        })
        .collect()
}

/// Where a complete Merkle node lives: the tile, the offset of its first
/// hash in that tile, and how many tile hashes (a power of two) it covers.
pub fn locate_node(node: NodeId, size: u64) -> Option<(Tile, usize, usize)> {
    let level = node.level / TILE_HEIGHT;
    let height = u32::from(node.level % TILE_HEIGHT);
    let first = node.index.checked_shl(height)?;
    let count = 1usize << height;
    let tile = tile_for_size(level, first / u64::from(TILE_WIDTH), size)?;
    let offset = (first % u64::from(TILE_WIDTH)) as usize;
    if offset + count > usize::from(tile.width) {
        return None; // the node is not complete in this tree
    }
    Some((tile, offset, count))
}

/// An entry bundle: each entry as a big-endian u16 length and its bytes.
pub fn encode_bundle<E: AsRef<[u8]>>(entries: &[E]) -> Result<Vec<u8>, TileFormatError> {
    let mut out = Vec::with_capacity(entries.iter().map(|e| e.as_ref().len() + 2).sum());
    for e in entries {
        let e = e.as_ref();
        let len = u16::try_from(e.len()).map_err(|_| TileFormatError::EntryTooLong(e.len()))?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(e);
    }
    Ok(out)
}

/// Splits an entry bundle into its entries.
pub fn decode_bundle(mut bytes: &[u8]) -> Result<Vec<&[u8]>, TileFormatError> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let (len, rest) = bytes
            .split_first_chunk::<2>()
            .ok_or(TileFormatError::TruncatedBundle)?;
        let len = usize::from(u16::from_be_bytes(*len));
        if rest.len() < len {
            return Err(TileFormatError::TruncatedBundle);
        }
        let (entry, rest) = rest.split_at(len);
        out.push(entry);
        bytes = rest;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(level: u8, index: u64, width: u16) -> Tile {
        Tile {
            level,
            index,
            width,
        }
    }

    #[test]
    fn index_encoding_follows_the_spec_example() {
        assert_eq!(encode_index(1_234_067), "x001/x234/067");
        assert_eq!(encode_index(0), "000");
        assert_eq!(encode_index(999), "999");
        assert_eq!(encode_index(1000), "x001/000");
        assert_eq!(decode_index("x001/x234/067"), Some(1_234_067));
        for bad in [
            "1234067", "x000/067", "01", "x1/000", "001/000", "", "x001/", "/001",
        ] {
            assert_eq!(decode_index(bad), None, "{bad}");
        }
        for n in [0, 1, 999, 1000, 123_456_789, u64::MAX] {
            assert_eq!(decode_index(&encode_index(n)), Some(n));
        }
    }

    #[test]
    fn paths_round_trip() {
        assert_eq!(t(0, 1_234_067, 256).path(), "tile/0/x001/x234/067");
        assert_eq!(t(1, 5, 17).path(), "tile/1/005.p/17");
        assert_eq!(t(0, 5, 17).entries_path(), "tile/entries/005.p/17");
        for tile in [t(0, 0, 1), t(2, 1_234_067, 255), t(63, 7, 256)] {
            assert_eq!(TilePath::parse(&tile.path()), Ok(TilePath::Hashes(tile)));
        }
        assert_eq!(
            TilePath::parse("tile/entries/x001/000.p/3"),
            Ok(TilePath::Entries(t(0, 1000, 3)))
        );
        for bad in [
            "tile/01/000",
            "tile/64/000",
            "tile/0/000.p/0",
            "tile/0/000.p/256",
            "tile/0/000.p/07",
            "tile/0/0",
            "tile/0/000/",
            "tiles/0/000",
            "tile/-1/000",
        ] {
            assert!(TilePath::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tiles_beyond_an_i64_log_are_out_of_range() {
        assert!(t(0, 0, 256).in_range());
        assert!(t(0, (i64::MAX as u64 >> 8) - 1, 256).in_range());
        assert!(!t(0, i64::MAX as u64 >> 8, 256).in_range());
        assert!(!t(0, u64::MAX, 1).in_range());
        assert!(!t(0, 1 << 56, 1).in_range());
        assert!(t(6, 1, 1).in_range());
        assert!(t(7, 0, 1).in_range());
        assert!(t(7, 0, 127).in_range());
        assert!(!t(7, 0, 128).in_range());
        assert!(!t(7, 1, 1).in_range());
        assert!(!t(8, 0, 1).in_range());
        assert!(!t(63, 7, 256).in_range());
    }

    #[test]
    fn tree_of_70000_matches_the_spec_example() {
        // 273 full level-0 tiles, a level-0 tile of width 112, one full
        // level-1 tile, a level-1 tile of width 17, a level-2 tile of width 1.
        assert_eq!(
            partial_tiles(70_000),
            vec![t(0, 273, 112), t(1, 1, 17), t(2, 0, 1)]
        );
        assert_eq!(tile_for_size(0, 272, 70_000), Some(t(0, 272, 256)));
        assert_eq!(tile_for_size(1, 0, 70_000), Some(t(1, 0, 256)));
        assert_eq!(tile_for_size(0, 274, 70_000), None);
        assert_eq!(tile_for_size(3, 0, 70_000), None);
        assert_eq!(partial_tiles(256), vec![t(1, 0, 1)]);
        assert_eq!(partial_tiles(0), vec![]);
        assert_eq!(partial_tiles(u64::MAX).len(), 8);
    }

    #[test]
    fn nodes_map_into_tiles() {
        // Leaf 300 in a tree of 70,000: tile 0/001, offset 44.
        let n = NodeId {
            level: 0,
            index: 300,
        };
        assert_eq!(locate_node(n, 70_000), Some((t(0, 1, 256), 44, 1)));
        // A height-10 node is 4 hashes of tile level 1.
        let n = NodeId {
            level: 10,
            index: 1,
        };
        assert_eq!(locate_node(n, 70_000), Some((t(1, 0, 256), 4, 4)));
        // Not complete in a tree of 300 leaves.
        let n = NodeId {
            level: 2,
            index: 75,
        };
        assert_eq!(locate_node(n, 300), None);
    }

    #[test]
    fn bundles_round_trip_and_refuse_garbage() {
        let entries: Vec<Vec<u8>> = vec![vec![], b"abc".to_vec(), vec![7; 65_535]];
        let bundle = encode_bundle(&entries).unwrap();
        assert_eq!(&bundle[..5], &[0, 0, 0, 3, b'a']);
        let back = decode_bundle(&bundle).unwrap();
        assert_eq!(back, entries.iter().map(Vec::as_slice).collect::<Vec<_>>());
        assert!(encode_bundle(&[vec![0; 65_536]]).is_err());
        assert!(decode_bundle(&[0]).is_err());
        assert!(decode_bundle(&[0, 2, 1]).is_err());
    }
}
