//! The auth service: accounts, sessions and tokens, the age gate, ID verification, staff
//! roles, the signing keys and their JWKS, and the compliance audit log. See README.md.

pub mod accounts;
pub mod audit;
pub mod bootstrap;
pub mod config;
pub mod db;
pub mod documents;
pub mod events;
pub mod keys;
pub mod passwords;
pub mod reset_limit;
pub mod routes;
pub mod schema;
pub mod secrets;
pub mod sessions;
pub mod startup;
pub mod state;
pub mod verification;
