//! End-to-end tests against the real server: one binary, a module per area.
//! Each test runs on SQLite and, when `PROVENANCE_TEST_POSTGRES_URL` is set,
//! on PostgreSQL (see `helpers::spawn_app`).

#[macro_use]
mod helpers;

mod access;
mod access_log;
mod access_log_v2;
mod anchors;
mod audit;
mod audit_coverage;
mod audit_v1;
mod auth;
mod browser;
mod capture;
mod capture_limits;
mod cli;
mod custody;
mod custody_property;
mod demo;
mod events;
mod health;
mod issuers;
mod keys;
mod labels;
mod limits;
mod limits_memory;
mod list_members;
mod log;
mod pages;
mod pages_reports;
mod resolver;
mod storage;
mod values_property;
mod view_cache;
mod warranty_providers;
