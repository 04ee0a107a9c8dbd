//! Identifiers and pure domain rules.

pub mod organisation;
