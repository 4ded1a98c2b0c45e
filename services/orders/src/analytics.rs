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

/// Whether a key or string anywhere in `properties` holds NUL, which PostgreSQL's text and
/// jsonb cannot store (the insert would fail as a server error).
fn has_nul(properties: &serde_json::Map<String, serde_json::Value>) -> bool {
    fn value_has_nul(value: &serde_json::Value) -> bool {
        match value {
            serde_json::Value::String(s) => s.contains('\0'),
            serde_json::Value::Array(items) => items.iter().any(value_has_nul),
            serde_json::Value::Object(map) => has_nul(map),
            _ => false,
        }
    }
    properties
        .iter()
        .any(|(key, value)| key.contains('\0') || value_has_nul(value))
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
        if has_nul(&event.properties) {
            errors.push(FieldError::new(
                field("properties"),
                "must not contain the NUL character (\\u0000)",
            ));
        }
        if let Some(session) = &event.session_id {
            if session.chars().count() > MAX_SESSION_ID {
                errors.push(FieldError::new(
                    field("sessionId"),
                    "at most 128 characters",
                ));
            } else if session.contains('\0') {
                errors.push(FieldError::new(
                    field("sessionId"),
                    "must not contain the NUL character (\\u0000)",
                ));
            }
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

    #[test]
    fn nul_anywhere_in_an_event_is_refused_before_postgres_sees_it() {
        let event = |properties: serde_json::Value, session: Option<&str>| RawEvent {
            event: "page_view".into(),
            properties: properties.as_object().cloned().unwrap_or_default(),
            session_id: session.map(str::to_owned),
        };
        let refused = |e: RawEvent| check(vec![e], Sent::One).is_err();
        assert!(refused(event(serde_json::json!({"a": ["x\u{0}"]}), None)));
        assert!(refused(event(serde_json::json!({"k\u{0}": 1}), None)));
        assert!(refused(event(serde_json::json!({}), Some("s\u{0}"))));
        assert!(!refused(event(
            serde_json::json!({"page": "/products"}),
            Some("é".repeat(128).as_str())
        )));
        assert!(refused(event(
            serde_json::json!({}),
            Some("é".repeat(129).as_str())
        )));
    }
}
