//! The ledger core: pure, vector-tested.
