//! Every query of the orders service, one module per table family (and the carts, which live
//! in Redis).

pub mod addresses;
pub mod analytics;
pub mod carts;
pub mod orders;
pub mod products;
pub mod reports;
pub mod track_and_trace;
pub mod users;
