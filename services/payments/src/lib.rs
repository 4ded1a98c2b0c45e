//! The payments service: payment methods at the provider and the FS Coin rewards ledger (the
//! saga's charge step, webhooks and refunds follow). See README.md.

pub mod admin;
pub mod config;
pub mod db;
pub mod intents;
pub mod ledger;
pub mod methods;
pub mod provider;
pub mod rewards;
pub mod routes;
pub mod saga;
pub mod schema;
pub mod startup;
pub mod state;
