//! `signing_keys`: every key's public half, and the private half of a locally generated key.

use crate::schema::signing_keys;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = signing_keys)]
pub struct KeyRow {
    pub kid: String,
    pub public_x: String,
    pub private_pem: Option<String>,
    pub created_at: DateTime<Utc>,
    pub retired_at: Option<DateTime<Utc>>,
}

/// Keys that still verify: current ones, and ones retired after `retired_since` (their
/// tokens may not have expired yet).
pub async fn verifying(
    conn: &mut AsyncPgConnection,
    retired_since: DateTime<Utc>,
) -> QueryResult<Vec<KeyRow>> {
    signing_keys::table
        .filter(
            signing_keys::retired_at
                .is_null()
                .or(signing_keys::retired_at.gt(retired_since)),
        )
        .order(signing_keys::created_at.desc())
        .select(KeyRow::as_select())
        .load(conn)
        .await
}

/// The current locally generated key, if there is one.
pub async fn current_local(conn: &mut AsyncPgConnection) -> QueryResult<Option<KeyRow>> {
    signing_keys::table
        .filter(signing_keys::retired_at.is_null())
        .filter(signing_keys::private_pem.is_not_null())
        .order(signing_keys::created_at.desc())
        .select(KeyRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Records `kid` (if new) as the signing key, and retires every other current key.
/// The public key stored under `kid`, if any.
pub async fn public_x(conn: &mut AsyncPgConnection, kid: &str) -> QueryResult<Option<String>> {
    signing_keys::table
        .find(kid)
        .select(signing_keys::public_x)
        .first(conn)
        .await
        .optional()
}

pub async fn make_current(
    conn: &mut AsyncPgConnection,
    kid: &str,
    public_x: &str,
    private_pem: Option<&str>,
) -> QueryResult<()> {
    diesel::insert_into(signing_keys::table)
        .values((
            signing_keys::kid.eq(kid),
            signing_keys::public_x.eq(public_x),
            signing_keys::private_pem.eq(private_pem),
        ))
        .on_conflict(signing_keys::kid)
        .do_update()
        .set(signing_keys::retired_at.eq(None::<DateTime<Utc>>))
        .execute(conn)
        .await?;
    diesel::update(
        signing_keys::table
            .filter(signing_keys::kid.ne(kid))
            .filter(signing_keys::retired_at.is_null()),
    )
    .set(signing_keys::retired_at.eq(diesel::dsl::now))
    .execute(conn)
    .await?;
    Ok(())
}
