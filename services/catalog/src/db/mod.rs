//! Every query of the catalog service, one module per table family.

pub mod categories;
pub mod images;
pub mod products;
pub mod reviews;
pub mod stock;
