//! Provenance Portal: signed, append-only device histories.
//!
//! Layering (see ARCHITECTURE.md): `domain`, `ledger`, `policy` and `certs`
//! are pure; `store` is the only code that touches the database; `services`
//! holds the use cases; `graphql` and `web` call `services`.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub mod auth;
pub mod cli;
pub mod config;
pub mod domain;
pub mod graphql;
pub mod ledger;
pub mod policy;
pub mod services;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod web;
