//! The orders service: carts, delivery addresses, checkout under the compliance rules, the
//! order saga, the staff and driver flow, track-and-trace and reports. See README.md.

pub mod addresses;
pub mod cart;
pub mod checkout;
pub mod compliance_problems;
pub mod config;
pub mod db;
pub mod fulfilment;
pub mod insights;
pub mod lifecycle;
pub mod pricing;
pub mod products;
pub mod read_models;
pub mod routes;
pub mod saga;
pub mod schema;
pub mod shopping;
pub mod startup;
pub mod state;
pub mod timers;
pub mod trace;
pub mod views;
