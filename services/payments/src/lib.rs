//! The payments service: payment methods at the provider, the saga's charge step, provider
//! webhooks, refunds and the FS Coin rewards ledger. See README.md; the layout is the one
//! every service follows (docs/architecture.md, "The rooms of a service").

pub mod charge;
pub mod config;
pub mod db;
pub mod events;
pub mod intents;
pub mod ledger;
pub mod methods;
pub mod provider;
pub mod refunds;
pub mod rewards;
pub mod routes;
pub mod schema;
pub mod startup;
pub mod state;
pub mod webhooks;
