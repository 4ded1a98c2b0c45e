//! Every query of the catalog service, one module per table family. Rows carry typed ids and
//! status enums; decisions are made by the use-case modules that call these.

pub mod categories;
pub mod images;
pub mod inventory;
pub mod products;
pub mod reservations;
pub mod reviews;
