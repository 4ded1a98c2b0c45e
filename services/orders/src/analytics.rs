//! The guide's AnalyticsService, write side: page views and app events the apps send (one
//! or a batch, bounded in number and size), stored for the admin report's active users.

use crate::db;
use crate::state::AppState;
use domain::{FieldError, Problem, UserId};
use platform::client::ClientInfo;
use uuid::Uuid;

/// Most events in one request.
pub const MAX_EVENTS: usize = 50;
/// Most bytes of one event's properties (as JSON).
pub const MAX_PROPERTIES_BYTES: usize = 4096;
/// Most characters of a session id.
pub const MAX_SESSION_ID: usize = 128;

/// One client event as sent, before it is checked.
#[derive(Debug, Clone)]
pub struct RawEvent {
    pub event: String,
    pub properties: serde_json::Map<String, serde_json::Value>,
    pub session_id: Option<String>,
}

/// How the events arrived: the errors of a batch name `events[i].field`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    One,
    Batch,
}

/// A checked event (see [`check`]).
#[derive(Debug, Clone)]
pub struct ClientEvent(RawEvent);

fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.')
}

/// Checks every event: 1 to [`MAX_EVENTS`], snake_case names, bounded properties and
/// session ids.
///
/// # Errors
/// `400 VALIDATION_FAILED` naming each bad field.
pub fn check(events: Vec<RawEvent>, sent: Sent) -> Result<Vec<ClientEvent>, Problem> {
    if events.is_empty() || events.len() > MAX_EVENTS {
        return Err(Problem::validation(vec![FieldError::new(
            "events",
            format!("send 1 to {MAX_EVENTS} events"),
        )]));
    }
    let mut errors = Vec::new();
    for (i, event) in events.iter().enumerate() {
        let field = |name: &str| match sent {
            Sent::Batch => format!("events[{i}].{name}"),
            Sent::One => name.to_owned(),
        };
        if !valid_name(&event.event) {
            errors.push(FieldError::new(
                field("event"),
                "must be 1–64 characters of a-z, 0-9, _ and .",
            ));
        }
        let size = serde_json::to_vec(&event.properties).map_or(usize::MAX, |b| b.len());
        if size > MAX_PROPERTIES_BYTES {
            errors.push(FieldError::new(
                field("properties"),
                format!("at most {MAX_PROPERTIES_BYTES} bytes"),
            ));
        }
        if event
            .session_id
            .as_ref()
            .is_some_and(|s| s.len() > MAX_SESSION_ID)
        {
            errors.push(FieldError::new(
                field("sessionId"),
                "at most 128 characters",
            ));
        }
    }
    if errors.is_empty() {
        Ok(events.into_iter().map(ClientEvent).collect())
    } else {
        Err(Problem::validation(errors))
    }
}

/// Stores the events of `user` (or of no one signed in) from `client`; answers how many.
pub async fn record(
    state: &AppState,
    user: Option<UserId>,
    client: &ClientInfo,
    events: Vec<ClientEvent>,
) -> Result<usize, Problem> {
    let rows: Vec<db::analytics::NewEvent<'_>> = events
        .iter()
        .map(|ClientEvent(e)| db::analytics::NewEvent {
            id: Uuid::now_v7(),
            user_id: user,
            event: &e.event,
            properties: serde_json::Value::Object(e.properties.clone()),
            session_id: e.session_id.as_deref(),
            ip: client.ip.as_deref(),
            user_agent: client.user_agent.as_deref(),
        })
        .collect();
    let mut conn = state.db().await?;
    db::analytics::insert(&mut conn, &rows).await?;
    metrics::counter!("orders_analytics_events_total").increment(rows.len() as u64);
    Ok(rows.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_names_are_bounded_snake_case() {
        assert!(valid_name("page_view"));
        assert!(valid_name("checkout.started"));
        assert!(!valid_name(""));
        assert!(!valid_name("Page View"));
        assert!(!valid_name(&"a".repeat(65)));
    }
}
