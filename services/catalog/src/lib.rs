//! The catalog service: categories, products and their search, reviews, images, inventory
//! and the stock step of the order saga. See README.md; the layout is the one every service
//! follows (docs/architecture.md, "The rooms of a service").

pub mod cache;
pub mod categories;
pub mod config;
pub mod db;
pub mod events;
pub mod images;
pub mod inventory;
pub mod product_filter;
pub mod product_rules;
pub mod products;
pub mod reservations;
pub mod reviews;
pub mod routes;
pub mod schema;
pub mod seed;
pub mod startup;
pub mod state;
