//! Caches of views already decided for a viewer, bounded by bytes.
//!
//! The key is defined once, here, for every cache of a unit's view: the
//! unit, the viewer as the policy tells viewers apart (role and
//! organisation, not the subject), and the unit's state as three counters
//! read from the database at each request (`store::epochs`):
//!
//! - the unit's **log size**: its own leaf count, which every event of the
//!   unit (and every declaration of one in error) moves;
//! - the unit's **status epoch**, which moves in the transaction of any
//!   change that shows without a leaf of the unit: a custody or assignment
//!   interval of the unit opening or closing (an assignment ending appends
//!   no leaf), one of a component installed in it or of the device it is
//!   installed in (the `installed_in` party), an erasure of a field of an
//!   event of the unit;
//! - the viewer's **organisation epoch**, which moves with any interval whose
//!   party the organisation is: what exists for it (the members of a list,
//!   the parts of an assembly) and its relationship to every device.
//!
//! An entry whose counters are behind is never hit again and ages out. As
//! the counters live in the database, a change made by another process
//! (`provenance erase`) or another instance is seen at the next read.

use std::hash::Hash;
use std::sync::{Arc, Mutex};

use lru::LruCache;

use crate::domain::principal::{Audience, Role, Viewer};
use crate::store::epochs::ViewEpochs;

/// The viewer as far as decisions go.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum ViewerKey {
    Anonymous,
    Customer,
    Member { role: Role, org: String },
    Certificate(Audience),
}

impl ViewerKey {
    pub(crate) fn of(viewer: Viewer<'_>) -> ViewerKey {
        match viewer {
            Viewer::Anonymous => ViewerKey::Anonymous,
            Viewer::Customer => ViewerKey::Customer,
            Viewer::Member(p) => ViewerKey::Member {
                role: p.role,
                org: p.org.clone(),
            },
            Viewer::Certificate(a) => ViewerKey::Certificate(a),
        }
    }
}

/// A unit's view for one viewer at one state.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct ViewKey {
    pub unit: i64,
    pub viewer: ViewerKey,
    pub epochs: ViewEpochs,
}

/// An LRU of shared values whose estimated sizes add up to at most
/// `budget` bytes; a value of more than a sixteenth of it is not kept.
pub(crate) struct ViewCache<V, K = ViewKey> {
    budget: usize,
    state: Mutex<State<V, K>>,
}

struct State<V, K> {
    entries: LruCache<K, (Arc<V>, usize)>,
    bytes: usize,
}

/// What an entry costs besides its value's own estimate: the key, the
/// map's bookkeeping.
const ENTRY_OVERHEAD: usize = 128;

/// An entry takes at most `1 / MAX_SHARE` of the budget.
const MAX_SHARE: usize = 16;

impl<V, K: Hash + Eq> ViewCache<V, K> {
    pub(crate) fn new(budget: usize) -> Self {
        ViewCache {
            budget,
            state: Mutex::new(State {
                entries: LruCache::unbounded(),
                bytes: 0,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State<V, K>> {
        // A panic while holding the lock leaves only counters behind.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn get(&self, key: &K) -> Option<Arc<V>> {
        self.lock().entries.get(key).map(|(v, _)| Arc::clone(v))
    }

    /// Keeps `value` (of about `bytes` bytes) under `key`, evicting the
    /// least recently used entries to stay within the budget.
    pub(crate) fn put(&self, key: K, value: Arc<V>, bytes: usize) {
        let cost = bytes.saturating_add(ENTRY_OVERHEAD);
        // No one entry may take more than a sixteenth of the budget (and
        // with it everyone else's entries).
        if cost > self.budget / MAX_SHARE {
            return;
        }
        let mut state = self.lock();
        if let Some((_, old)) = state.entries.put(key, (value, cost)) {
            state.bytes -= old;
        }
        state.bytes += cost;
        while state.bytes > self.budget {
            match state.entries.pop_lru() {
                Some((_, (_, c))) => state.bytes -= c,
                None => break,
            }
        }
    }

    /// Entries and their estimated bytes, for tests and diagnostics.
    pub(crate) fn usage(&self) -> (usize, usize) {
        let state = self.lock();
        (state.entries.len(), state.bytes)
    }
}

impl<V, K: Hash + Eq> std::fmt::Debug for ViewCache<V, K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (entries, bytes) = self.usage();
        f.debug_struct("ViewCache")
            .field("budget", &self.budget)
            .field("entries", &entries)
            .field("bytes", &bytes)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(unit: i64, leaves: u64) -> ViewKey {
        ViewKey {
            unit,
            viewer: ViewerKey::Customer,
            epochs: ViewEpochs {
                leaves,
                device: 0,
                organisation: 0,
            },
        }
    }

    #[test]
    fn stays_within_its_budget_and_evicts_the_least_recently_used() {
        let entry = 100 + ENTRY_OVERHEAD;
        let n = MAX_SHARE as i64;
        let cache: ViewCache<String> = ViewCache::new(MAX_SHARE * entry);
        for unit in 0..n {
            cache.put(key(unit, 1), Arc::new(format!("v{unit}")), 100);
        }
        assert_eq!(cache.usage(), (MAX_SHARE, MAX_SHARE * entry));
        // Unit 0 is used; unit 1 is then the least recently used.
        assert!(cache.get(&key(0, 1)).is_some());
        cache.put(key(n, 1), Arc::new("next".into()), 100);
        assert!(cache.get(&key(1, 1)).is_none());
        assert!(cache.get(&key(0, 1)).is_some());
        assert_eq!(cache.usage(), (MAX_SHARE, MAX_SHARE * entry));
        // Another state of the unit is another key.
        assert!(cache.get(&key(0, 2)).is_none());
        // More than its share of the budget: not kept at all.
        cache.put(key(99, 1), Arc::new("big".into()), 2 * entry);
        assert!(cache.get(&key(99, 1)).is_none());
        // A replaced entry's bytes are given back.
        cache.put(key(0, 1), Arc::new("again".into()), 100);
        assert_eq!(cache.usage(), (MAX_SHARE, MAX_SHARE * entry));
    }

    #[test]
    fn a_zero_budget_keeps_nothing() {
        let cache: ViewCache<String> = ViewCache::new(0);
        cache.put(key(1, 1), Arc::new("v".into()), 1);
        assert!(cache.get(&key(1, 1)).is_none());
    }
}
