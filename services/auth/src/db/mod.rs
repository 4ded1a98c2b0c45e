//! Every query of the auth service, one module per table.

pub mod audit;
pub mod keys;
pub mod resets;
pub mod sessions;
pub mod users;
pub mod verifications;

/// Whether `err` is PostgreSQL's unique-constraint violation.
pub fn is_unique_violation(err: &diesel::result::Error) -> bool {
    matches!(
        err,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}
