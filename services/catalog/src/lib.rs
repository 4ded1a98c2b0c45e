//! The catalog service: categories, products and their search, reviews, images, inventory
//! and the stock step of the order saga. See README.md.

pub mod cache;
pub mod changes;
pub mod config;
pub mod db;
pub mod events;
pub mod images;
pub mod listing;
pub mod products;
pub mod routes;
pub mod schema;
pub mod seed;
pub mod startup;
pub mod state;
pub mod stock;
pub mod views;
