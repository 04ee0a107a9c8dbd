//! RFC 9162 Merkle proofs: which subtrees a proof consists of (pure index
//! math, so any store can serve them) and their verification as methods on
//! [`RootHash`], a root bound to its tree size.

use super::hash::{Hash, empty_root, node_hash};

/// A tree head: the root hash of the first `size` leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RootHash {
    pub size: u64,
    pub hash: Hash,
}

/// Why a proof does not verify. Callers need only "no"; the variant says why
/// for logs and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("leaf index {index} is not below tree size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("old size {old} is larger than new size {new}")]
    SizeOrder { old: u64, new: u64 },
    #[error("a consistency proof from the empty tree proves nothing")]
    EmptyOldTree,
    #[error("proof has the wrong number of hashes")]
    ProofLength,
    #[error("recomputed root does not match")]
    RootMismatch,
}

impl RootHash {
    pub fn new(size: u64, hash: Hash) -> Self {
        Self { size, hash }
    }

    /// The empty tree.
    pub fn empty() -> Self {
        Self::new(0, empty_root())
    }

    /// RFC 9162 §2.1.3.2: checks that `leaf` is the leaf hash at `index`.
    pub fn verify_inclusion(
        &self,
        index: u64,
        leaf: &Hash,
        proof: &[Hash],
    ) -> Result<(), VerifyError> {
        if index >= self.size {
            return Err(VerifyError::IndexOutOfRange {
                index,
                size: self.size,
            });
        }
        let (mut f_n, mut s_n) = (index, self.size - 1);
        let mut r = *leaf;
        for p in proof {
            if s_n == 0 {
                return Err(VerifyError::ProofLength);
            }
            if f_n & 1 == 1 || f_n == s_n {
                r = node_hash(p, &r);
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            } else {
                r = node_hash(&r, p);
            }
            f_n >>= 1;
            s_n >>= 1;
        }
        if s_n != 0 {
            return Err(VerifyError::ProofLength);
        }
        if r != self.hash {
            return Err(VerifyError::RootMismatch);
        }
        Ok(())
    }

    /// RFC 9162 §2.1.4.2: checks that `self` (the newer tree) extends `old`.
    pub fn verify_consistency(&self, old: &RootHash, proof: &[Hash]) -> Result<(), VerifyError> {
        let (first, second) = (old.size, self.size);
        if first > second {
            return Err(VerifyError::SizeOrder {
                old: first,
                new: second,
            });
        }
        if first == 0 {
            return Err(VerifyError::EmptyOldTree);
        }
        if first == second {
            if !proof.is_empty() {
                return Err(VerifyError::ProofLength);
            }
            return if old.hash == self.hash {
                Ok(())
            } else {
                Err(VerifyError::RootMismatch)
            };
        }
        let (seed, rest) = if first.is_power_of_two() {
            (&old.hash, proof)
        } else {
            match proof.split_first() {
                Some((seed, rest)) => (seed, rest),
                None => return Err(VerifyError::ProofLength),
            }
        };
        let (mut f_n, mut s_n) = (first - 1, second - 1);
        while f_n & 1 == 1 {
            f_n >>= 1;
            s_n >>= 1;
        }
        let (mut fr, mut sr) = (*seed, *seed);
        for c in rest {
            if s_n == 0 {
                return Err(VerifyError::ProofLength);
            }
            if f_n & 1 == 1 || f_n == s_n {
                fr = node_hash(c, &fr);
                sr = node_hash(c, &sr);
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            } else {
                sr = node_hash(&sr, c);
            }
            f_n >>= 1;
            s_n >>= 1;
        }
        if s_n != 0 {
            return Err(VerifyError::ProofLength);
        }
        if fr != old.hash || sr != self.hash {
            return Err(VerifyError::RootMismatch);
        }
        Ok(())
    }
}

/// A complete, aligned subtree: the `index`-th node at height `level`,
/// covering leaves `[index << level, (index + 1) << level)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    pub level: u8,
    pub index: u64,
}

/// The leaf range `[start, end)` whose Merkle Tree Hash is one proof element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub start: u64,
    pub end: u64,
}

impl Range {
    /// The complete subtrees that make up this range, left to right. Its
    /// hash folds them from the right: `node(n0, node(n1, … n_k))`. Valid
    /// for the ranges RFC 9162 proofs use (and `[0, size)`), whose start is
    /// aligned to the smallest power of two not below their length.
    pub fn nodes(&self) -> Vec<NodeId> {
        let mut out = Vec::new();
        let mut lo = self.start;
        while lo < self.end {
            let remaining = self.end - lo;
            // Largest level such that lo is aligned to it and it fits.
            let mut level = remaining.ilog2();
            if lo != 0 {
                level = level.min(lo.trailing_zeros());
            }
            out.push(NodeId {
                level: level as u8,
                index: lo >> level,
            });
            lo += 1 << level;
        }
        out
    }
}

/// Folds the hashes of [`Range::nodes`] (left to right) into the range hash.
pub fn fold_range(node_hashes: &[Hash]) -> Option<Hash> {
    let (last, rest) = node_hashes.split_last()?;
    Some(rest.iter().rev().fold(*last, |acc, h| node_hash(h, &acc)))
}

fn split_point(n: u64) -> u64 {
    // Largest power of two strictly below n (n >= 2).
    1 << (n - 1).ilog2()
}

/// The ranges of an inclusion proof for `index` in a tree of `size`, in
/// proof order (the leaf's sibling first). RFC 9162 §2.1.3.1.
pub fn inclusion_ranges(index: u64, size: u64) -> Result<Vec<Range>, VerifyError> {
    if index >= size {
        return Err(VerifyError::IndexOutOfRange { index, size });
    }
    let mut out = Vec::new();
    let (mut lo, mut hi) = (0, size);
    // Walk down from the root, then reverse: proofs list the deepest first.
    while hi - lo > 1 {
        let k = split_point(hi - lo);
        if index < lo + k {
            out.push(Range {
                start: lo + k,
                end: hi,
            });
            hi = lo + k;
        } else {
            out.push(Range {
                start: lo,
                end: lo + k,
            });
            lo += k;
        }
    }
    out.reverse();
    Ok(out)
}

/// The ranges of a consistency proof from `old` to `new` leaves, in proof
/// order. RFC 9162 §2.1.4.1. Empty when `old == new`.
pub fn consistency_ranges(old: u64, new: u64) -> Result<Vec<Range>, VerifyError> {
    if old > new {
        return Err(VerifyError::SizeOrder { old, new });
    }
    if old == 0 {
        return Err(VerifyError::EmptyOldTree);
    }
    let mut out = Vec::new();
    let (mut lo, mut hi, mut m, mut whole) = (0, new, old, true);
    loop {
        let n = hi - lo;
        if m == n {
            if !whole {
                out.push(Range { start: lo, end: hi });
            }
            break;
        }
        let k = split_point(n);
        if m <= k {
            out.push(Range {
                start: lo + k,
                end: hi,
            });
            hi = lo + k;
        } else {
            out.push(Range {
                start: lo,
                end: lo + k,
            });
            lo += k;
            m -= k;
            whole = false;
        }
    }
    out.reverse();
    Ok(out)
}

#[cfg(test)]
pub(crate) mod reference {
    //! Naive recursive RFC 9162 definitions, straight from the text, to
    //! check the fast code against.
    use crate::ledger::hash::{Hash, empty_root, node_hash};

    fn k(n: usize) -> usize {
        let mut k = 1;
        while k * 2 < n {
            k *= 2;
        }
        k
    }

    pub fn mth(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = k(n);
                node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    pub fn path(m: usize, leaves: &[Hash]) -> Vec<Hash> {
        let n = leaves.len();
        if n <= 1 {
            return vec![];
        }
        let k = k(n);
        if m < k {
            let mut p = path(m, &leaves[..k]);
            p.push(mth(&leaves[k..]));
            p
        } else {
            let mut p = path(m - k, &leaves[k..]);
            p.push(mth(&leaves[..k]));
            p
        }
    }

    pub fn consistency(m: usize, leaves: &[Hash]) -> Vec<Hash> {
        fn sub(m: usize, leaves: &[Hash], b: bool) -> Vec<Hash> {
            let n = leaves.len();
            if m == n {
                return if b { vec![] } else { vec![mth(leaves)] };
            }
            let k = k(n);
            if m <= k {
                let mut p = sub(m, &leaves[..k], b);
                p.push(mth(&leaves[k..]));
                p
            } else {
                let mut p = sub(m - k, &leaves[k..], false);
                p.push(mth(&leaves[..k]));
                p
            }
        }
        sub(m, leaves, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::hash::leaf_hash;

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    fn range_hash(leaves: &[Hash], r: Range) -> Hash {
        let hashes: Vec<Hash> = r
            .nodes()
            .iter()
            .map(|n| {
                let lo = (n.index << n.level) as usize;
                reference::mth(&leaves[lo..lo + (1usize << n.level)])
            })
            .collect();
        fold_range(&hashes).unwrap()
    }

    #[test]
    fn ranges_match_the_recursive_definitions() {
        let all = leaves(40);
        for size in 1..=40u64 {
            let l = &all[..size as usize];
            let root = RootHash::new(size, reference::mth(l));
            assert_eq!(
                range_hash(
                    l,
                    Range {
                        start: 0,
                        end: size
                    }
                ),
                root.hash
            );
            for index in 0..size {
                let proof: Vec<Hash> = inclusion_ranges(index, size)
                    .unwrap()
                    .into_iter()
                    .map(|r| range_hash(l, r))
                    .collect();
                assert_eq!(proof, reference::path(index as usize, l));
                root.verify_inclusion(index, &l[index as usize], &proof)
                    .unwrap();
            }
            for old in 1..=size {
                let proof: Vec<Hash> = consistency_ranges(old, size)
                    .unwrap()
                    .into_iter()
                    .map(|r| range_hash(l, r))
                    .collect();
                assert_eq!(proof, reference::consistency(old as usize, l));
                let old_root = RootHash::new(old, reference::mth(&l[..old as usize]));
                root.verify_consistency(&old_root, &proof).unwrap();
            }
        }
    }

    #[test]
    fn edge_cases_fail_cleanly() {
        let h = leaf_hash(b"x");
        let one = RootHash::new(1, h);
        assert!(one.verify_inclusion(0, &h, &[]).is_ok());
        assert!(one.verify_inclusion(1, &h, &[]).is_err());
        assert!(one.verify_inclusion(0, &h, &[h]).is_err());
        assert!(RootHash::empty().verify_inclusion(0, &h, &[]).is_err());
        assert_eq!(
            one.verify_consistency(&RootHash::empty(), &[]),
            Err(VerifyError::EmptyOldTree)
        );
        assert!(
            RootHash::empty()
                .verify_consistency(&RootHash::empty(), &[])
                .is_err()
        );
        assert!(one.verify_consistency(&RootHash::new(2, h), &[]).is_err());
        assert!(inclusion_ranges(3, 3).is_err());
        assert!(consistency_ranges(4, 3).is_err());
        assert!(consistency_ranges(0, 3).is_err());
        assert_eq!(consistency_ranges(3, 3).unwrap(), vec![]);
        let big = RootHash::new(u64::MAX, h);
        assert!(big.verify_inclusion(u64::MAX - 1, &h, &[h; 70]).is_err());
    }

    fn flip(h: &Hash, bit: usize) -> Hash {
        let mut b = h.0;
        b[bit / 8 % 32] ^= 1 << (bit % 8);
        Hash(b)
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(32))]

        /// Any one-bit change to a proof element, a root or the leaf fails.
        #[test]
        fn one_bit_flips_fail(size in 2u64..2000, seed in 0u64..u64::MAX, bit in 0usize..256) {
            let all = leaves(size);
            let index = seed % size;
            let root = RootHash::new(size, reference::mth(&all));
            let leaf = all[index as usize];
            let proof = reference::path(index as usize, &all);
            proptest::prop_assert!(root.verify_inclusion(index, &leaf, &proof).is_ok());
            let which = (seed as usize >> 8) % proof.len();
            let mut bad = proof.clone();
            bad[which] = flip(&bad[which], bit);
            proptest::prop_assert!(root.verify_inclusion(index, &leaf, &bad).is_err());
            proptest::prop_assert!(root.verify_inclusion(index, &flip(&leaf, bit), &proof).is_err());
            let bad_root = RootHash::new(size, flip(&root.hash, bit));
            proptest::prop_assert!(bad_root.verify_inclusion(index, &leaf, &proof).is_err());

            let old = seed.rotate_left(29) % (size - 1) + 1;
            let old_root = RootHash::new(old, reference::mth(&all[..old as usize]));
            let proof = reference::consistency(old as usize, &all);
            proptest::prop_assert!(root.verify_consistency(&old_root, &proof).is_ok());
            let which = (seed as usize >> 16) % proof.len();
            let mut bad = proof.clone();
            bad[which] = flip(&bad[which], bit);
            proptest::prop_assert!(root.verify_consistency(&old_root, &bad).is_err());
            let bad_old = RootHash::new(old, flip(&old_root.hash, bit));
            proptest::prop_assert!(root.verify_consistency(&bad_old, &proof).is_err());
            proptest::prop_assert!(bad_root.verify_consistency(&old_root, &proof).is_err());
        }
    }
}
