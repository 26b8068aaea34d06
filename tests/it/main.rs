//! The integration tests, in one binary (the layout rust-analyzer and cargo
//! use): one link instead of twenty-five, and one process whose modules
//! share the support code. Each module is what was once its own
//! `tests/NAME.rs`; run one with `cargo test --test it NAME::`.
//!
//! Every test here talks to 127.0.0.1 only: the simulator, the fixture
//! servers written from GitHub's docs (`docs_fixtures`), and the real
//! `seatkeeper` binary as a child process.

mod action;
mod adds_only;
mod audit;
mod bad_inputs;
mod budget_faults;
mod budgets;
mod cli;
mod cli_saved;
mod cli_suspend;
mod cli_ux;
mod conditional;
mod cost;
mod daemon;
mod demo;
mod docs;
mod docs_fixtures;
mod edges;
mod enterprise;
mod fault_coverage;
mod faults;
mod fuzz_stable;
mod github_client;
mod github_observed;
mod helm;
mod http_server;
mod identity;
mod kill;
mod leader;
mod lease_server;
mod one_login;
mod plan_laws;
mod portal;
mod portal_browser;
mod portal_chart;
mod rate_budget;
mod reclaim;
mod reconcile;
mod redirects;
mod remove_ineligible;
mod repo_api;
mod request;
mod schema;
mod secrets;
mod self_serve;
mod simulator;
mod support;
mod when_full;
mod workflow_bounds;
