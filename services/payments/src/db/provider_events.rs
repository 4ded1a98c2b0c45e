//! `provider_events`: every webhook event, once by id.

use crate::schema::provider_events;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;

/// Stores the event once; `false` when its id was seen before (a replay).
pub async fn remember(
    conn: &mut AsyncPgConnection,
    id: &str,
    kind: &str,
    payload: &Value,
) -> QueryResult<bool> {
    let inserted = diesel::insert_into(provider_events::table)
        .values((
            provider_events::id.eq(id),
            provider_events::event_type.eq(kind),
            provider_events::payload.eq(payload),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(inserted == 1)
}
