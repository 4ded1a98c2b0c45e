//! `POST /api/analytics/events`: page views and app events from the apps.

use crate::insights::{self, EventsInput};
use crate::state::AppState;
use actix_web::{HttpResponse, web};
use auth_token::MaybeUser;
use domain::Problem;
use platform::client::ClientInfo;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct Accepted {
    pub accepted: usize,
}

/// Records one event or a batch of up to 50 (signed in or not).
#[utoipa::path(post, path = "/api/analytics/events", tag = "analytics", request_body = EventsInput,
    responses((status = 202, body = Accepted), (status = 400, body = domain::ProblemBody), (status = 413, body = domain::ProblemBody)))]
pub async fn track_events(
    state: web::Data<AppState>,
    caller: MaybeUser,
    client: ClientInfo,
    body: web::Json<EventsInput>,
) -> Result<HttpResponse, Problem> {
    let events = insights::parse(body.into_inner())?;
    let user = caller.0.map(|c| c.user_id().into_inner());
    let accepted = insights::record(&state, user, &client, events).await?;
    Ok(HttpResponse::Accepted().json(Accepted { accepted }))
}
