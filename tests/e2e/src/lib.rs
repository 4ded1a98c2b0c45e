//! The order saga end to end. [`System`] starts catalog, payments and orders inside this
//! process, each on port 0 with its own database, all on ONE RabbitMQ exchange and trusting
//! ONE token key, so every saga event is published and consumed by the real services (nothing
//! plays catalog or payments). Auth is not started: users are announced with
//! `user.registered` as auth would, and their tokens are minted with the same key.
//!
//! `system` holds the start-up and raw requests; `fixtures` the typed steps a test or the
//! bench takes (users, products, shoppers, checkout) and the reads of each service's state.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test harness: broken set-up fails the test loudly"
)]

mod fixtures;
mod system;

pub use fixtures::{DEADLINE, Shopper, Stock, User, cents, id_of, registered};
pub use system::{Service, System};

/// Downtown Austin: inside the Austin service area (TX), under 10 miles from its centre.
pub const AUSTIN_ZIP: &str = "78701";

/// Every customer's birth date (30 years old in 2026), as auth would announce it.
pub const CUSTOMER_DOB: &str = "1996-03-14";

/// The product every scenario sells: flower, 3.5 g, $40.00 a package.
pub const PRODUCT_NAME: &str = "Blue Dream 3.5g";
