//! The route table of the realtime service, which is also its OpenAPI document
//! (`platform::api`): the Engine.IO endpoint that socket.io clients connect to. What travels
//! over it (events in and out, acks) is described in the service README.

pub mod socketio;

use platform::api::{Api, ApiRoutes};
use platform::endpoint;
use utoipa::OpenApi;

/// Every route of the service.
#[must_use]
pub fn api() -> ApiRoutes {
    Api::new(ApiDoc::openapi())
        .endpoint(endpoint!(socketio::poll))
        .endpoint(endpoint!(socketio::send))
        .build()
}

/// The document's frame: title and tags; the paths come from [`api`].
#[derive(OpenApi)]
#[openapi(
    info(title = "Faded Skies realtime", description = "The guide's WebSocket server: one Socket.IO v4 connection per client (Engine.IO v4, long-polling then WebSocket) carrying every live event. Clients authenticate in the Socket.IO CONNECT packet (`auth.token`), not on these requests."),
    tags((name = "realtime", description = "The Engine.IO endpoint of socket.io clients"))
)]
pub struct ApiDoc;
