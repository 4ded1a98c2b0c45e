//! Every query of the payments service, one module per table family.

pub mod customers;
pub mod methods;
pub mod orders;
pub mod payments;
pub mod provider_events;
pub mod rewards;
