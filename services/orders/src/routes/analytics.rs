//! `POST /api/analytics/events`: page views and app events from the apps, signed in or not.

use crate::analytics::{self, RawEvent, Sent};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{CustomizeResponder, Responder, web};
use auth_token::MaybeUser;
use domain::Problem;
use platform::client::ClientInfo;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One client event, e.g. `{"event": "page_view", "properties": {"page": "/products"}}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EventInput {
    /// snake_case name, 1–64 characters: `page_view`, `add_to_cart`, `search`...
    #[schema(pattern = "^[a-z0-9_.]{1,64}$", example = "page_view")]
    pub event: String,
    /// Up to 4 KB as JSON.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub properties: serde_json::Map<String, serde_json::Value>,
    /// The client's session id (up to 128 characters).
    #[serde(default)]
    #[schema(max_length = 128)]
    pub session_id: Option<String>,
}

/// `POST /api/analytics/events`: one event or `{"events": [...]}` (1 to 50).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum EventsInput {
    Batch {
        #[schema(min_items = 1, max_items = 50)]
        events: Vec<EventInput>,
    },
    One(EventInput),
}

impl From<EventInput> for RawEvent {
    fn from(input: EventInput) -> Self {
        Self {
            event: input.event,
            properties: input.properties,
            session_id: input.session_id,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Accepted {
    /// How many events were stored.
    pub accepted: usize,
}

/// Records one event or a batch of up to 50, signed in (a bearer token) or not.
#[utoipa::path(post, path = "/api/analytics/events", tag = "analytics", request_body = EventsInput,
    responses((status = 202, description = "The events are stored", body = Accepted),
        (status = 401, description = "`INVALID_TOKEN` or `TOKEN_EXPIRED`: a bearer token was sent and it is not valid (the token is optional: send none to stay anonymous)")))]
pub async fn track_events(
    state: web::Data<AppState>,
    caller: MaybeUser,
    client: ClientInfo,
    body: web::Json<EventsInput>,
) -> Result<CustomizeResponder<web::Json<Accepted>>, Problem> {
    let (events, sent) = match body.into_inner() {
        EventsInput::Batch { events } => (events, Sent::Batch),
        EventsInput::One(event) => (vec![event], Sent::One),
    };
    let events = analytics::check(events.into_iter().map(RawEvent::from).collect(), sent)?;
    let user = caller.0.map(|claims| claims.user_id());
    let accepted = analytics::record(&state, user, &client, events).await?;
    Ok(web::Json(Accepted { accepted })
        .customize()
        .with_status(StatusCode::ACCEPTED))
}
