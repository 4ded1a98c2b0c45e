//! `analytics_events`: page views and app events sent by clients.

use crate::schema::analytics_events;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use domain::UserId;
use uuid::Uuid;

#[derive(Debug, Insertable)]
#[diesel(table_name = analytics_events)]
pub struct NewEvent<'a> {
    pub id: Uuid,
    pub user_id: Option<UserId>,
    pub event: &'a str,
    pub properties: serde_json::Value,
    pub session_id: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

pub async fn insert(conn: &mut AsyncPgConnection, events: &[NewEvent<'_>]) -> QueryResult<()> {
    diesel::insert_into(analytics_events::table)
        .values(events)
        .execute(conn)
        .await?;
    Ok(())
}
