//! Every query of the orders service, one module per table family.

pub mod addresses;
pub mod analytics;
pub mod orders;
pub mod products;
pub mod reports;
pub mod trace;
pub mod users;
