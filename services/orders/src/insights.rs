//! The guide's AnalyticsService: clients send page views and app events (bounded in number
//! and size), and admins read a report over a period.

use crate::db;
use crate::state::AppState;
use crate::views::money;
use chrono::{DateTime, Utc};
use domain::{FieldError, Money, Problem};
use platform::client::ClientInfo;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// Most events in one request.
pub const MAX_EVENTS: usize = 50;
/// Most bytes of one event's properties (as JSON).
pub const MAX_PROPERTIES_BYTES: usize = 4096;

/// One client event, e.g. `{"event": "page_view", "properties": {"page": "/products"}}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EventInput {
    /// snake_case name, 1–64 characters: `page_view`, `add_to_cart`, `search`...
    pub event: String,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub properties: serde_json::Map<String, serde_json::Value>,
    /// The client's session id (up to 128 characters).
    #[serde(default)]
    pub session_id: Option<String>,
}

/// `POST /api/analytics/events`: one event or `{"events": [...]}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum EventsInput {
    Batch { events: Vec<EventInput> },
    One(EventInput),
}

fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.')
}

/// Checks every event; the errors name `events[i].field`.
pub fn parse(input: EventsInput) -> Result<Vec<EventInput>, Problem> {
    let (events, prefix) = match input {
        EventsInput::Batch { events } => (events, true),
        EventsInput::One(event) => (vec![event], false),
    };
    if events.is_empty() || events.len() > MAX_EVENTS {
        return Err(Problem::validation(vec![FieldError::new(
            "events",
            format!("send 1 to {MAX_EVENTS} events"),
        )]));
    }
    let mut errors = Vec::new();
    for (i, event) in events.iter().enumerate() {
        let field = |name: &str| {
            if prefix {
                format!("events[{i}].{name}")
            } else {
                name.to_owned()
            }
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
        if event.session_id.as_ref().is_some_and(|s| s.len() > 128) {
            errors.push(FieldError::new(
                field("sessionId"),
                "at most 128 characters",
            ));
        }
    }
    if errors.is_empty() {
        Ok(events)
    } else {
        Err(Problem::validation(errors))
    }
}

pub async fn record(
    state: &AppState,
    user: Option<Uuid>,
    client: &ClientInfo,
    events: Vec<EventInput>,
) -> Result<usize, Problem> {
    let rows: Vec<db::analytics::NewEvent<'_>> = events
        .iter()
        .map(|e| db::analytics::NewEvent {
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

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Period {
    pub start_date: DateTime<Utc>,
    pub end_date: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UsersReport {
    /// Customers registered before the end of the period.
    pub total: i64,
    /// Customers registered within the period.
    pub new_users: i64,
    /// Users who used the app (events) or ordered within the period.
    pub active_users: i64,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrdersReport {
    /// Orders placed within the period.
    pub placed: i64,
    /// Orders delivered within the period.
    pub delivered: i64,
    /// What delivered orders came to (goods, tax and fees).
    #[schema(value_type = String)]
    pub revenue: Money,
    #[schema(value_type = String)]
    pub average_order_value: Money,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TopProduct {
    pub product_id: Uuid,
    pub name: String,
    pub quantity: i64,
    #[schema(value_type = String)]
    pub revenue: Money,
    pub orders: i64,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LowStockProduct {
    pub product_id: Uuid,
    pub name: String,
    pub available_quantity: i64,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub period: Period,
    pub users: UsersReport,
    pub orders: OrdersReport,
    pub top_products: Vec<TopProduct>,
    pub low_stock: Vec<LowStockProduct>,
}

pub async fn report(
    state: &AppState,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Report, Problem> {
    if from >= to {
        return Err(Problem::validation(vec![FieldError::new(
            "from",
            "must be before `to`",
        )]));
    }
    let period = (from, to);
    let mut conn = state.db().await?;
    let (total, new_users) = db::reports::users(&mut conn, period).await?;
    let active_users = db::reports::active_users(&mut conn, period).await?;
    let (placed, delivered, revenue) = db::reports::orders(&mut conn, period).await?;
    let top = db::reports::top_products(&mut conn, period, 10).await?;
    let low =
        db::products::low_stock(&mut conn, state.config.orders_low_stock_threshold, 50).await?;
    Ok(Report {
        period: Period {
            start_date: from,
            end_date: to,
        },
        users: UsersReport {
            total,
            new_users,
            active_users,
        },
        orders: OrdersReport {
            placed,
            delivered,
            revenue: money(revenue),
            average_order_value: money(if delivered > 0 {
                revenue / delivered
            } else {
                0
            }),
        },
        top_products: top
            .into_iter()
            .map(|p| TopProduct {
                product_id: p.product_id,
                name: p.name,
                quantity: p.quantity.unwrap_or(0),
                revenue: money(p.revenue_cents.unwrap_or(0)),
                orders: p.orders,
            })
            .collect(),
        low_stock: low
            .into_iter()
            .map(|p| LowStockProduct {
                product_id: p.id,
                name: p.name,
                available_quantity: p.available_quantity,
            })
            .collect(),
    })
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
