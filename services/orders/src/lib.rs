//! The orders service: carts, delivery addresses, checkout under the compliance rules, the
//! order's side of the saga, the staff and driver flow, track-and-trace and reports. See
//! README.md; the layout is the one every service follows (docs/architecture.md, "The rooms
//! of a service"):
//! - `routes/` (the route table and OpenAPI document, handlers, request and view types);
//! - use cases: [`cart`], [`addresses`], [`checkout`], [`status_changes`] (every change of an
//!   order after checkout: customer, staff, driver, saga, timeouts), [`order_reads`],
//!   [`analytics`], [`reports`], [`track_and_trace`] (receipts to Metrc);
//! - rules without I/O: [`pricing`], [`products`], [`compliance_problems`];
//! - [`events`] (queues, bindings, publish functions, consumers), [`db`] (every query, and
//!   the carts in Redis), [`timers`] (the background sweep).

pub mod addresses;
pub mod analytics;
pub mod cart;
pub mod checkout;
pub mod compliance_problems;
pub mod config;
pub mod db;
pub mod events;
pub mod order_reads;
pub mod pricing;
pub mod products;
pub mod reports;
pub mod routes;
pub mod schema;
pub mod startup;
pub mod state;
pub mod status_changes;
pub mod timers;
pub mod track_and_trace;
