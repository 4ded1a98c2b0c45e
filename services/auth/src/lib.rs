//! The auth service: accounts, sessions and tokens, the age gate, ID verification, staff
//! roles, the signing keys and their JWKS, and the compliance audit log. See README.md.
//!
//! Laid out as every service is (docs/architecture.md, "The rooms of a service"): `routes/`
//! parses requests and calls one use case each — [`registration`], [`sessions`] (login,
//! refresh, logout), [`password_reset`], [`profile`], [`id_verification`], [`users`] (what
//! admins do to accounts), [`rewards`] (the FS Coin balance, from payments' ledger); their
//! queries are in [`db`], what they publish and consume in [`events`].

pub mod age_gate;
pub mod audit;
pub mod bootstrap;
pub mod config;
pub mod db;
pub mod documents;
pub mod events;
pub mod id_verification;
pub mod keys;
pub mod limits;
pub mod password_reset;
pub mod passwords;
pub mod profile;
pub mod registration;
pub mod revocation;
pub mod rewards;
pub mod routes;
pub mod schema;
pub mod secrets;
pub mod sessions;
pub mod startup;
pub mod state;
pub mod users;
