//! What realtime consumes from the event bus: one queue, its bindings, and the handler that
//! emits each event to its rooms ([`crate::outbound`]). Realtime publishes no events.
//!
//! Every replica consumes the one queue (each event is handled once) and emits through the
//! Redis adapter, which reaches the sockets on every replica. There is no inbox: a
//! redelivered event is emitted again, which a client sees as the same status twice.

use crate::outbound;
use ::events::{HandlerError, IncomingEvent, LiveHandler};
use futures_util::future::BoxFuture;
use socketio::SocketIo;

/// The queue of the events pushed to clients.
pub const EVENTS_QUEUE: &str = "realtime.events";

/// Its bindings: every event of [`outbound::ROUTES`].
pub const EVENTS_BINDINGS: &[&str] = &["order.status_changed"];

/// Emits each consumed event to its rooms.
pub struct BusEvents {
    pub io: SocketIo,
}

impl LiveHandler for BusEvents {
    fn handle<'a>(&'a self, event: &'a IncomingEvent) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            let Some(route) = outbound::route(&event.name) else {
                return Err(HandlerError::Permanent(format!(
                    "realtime does not emit {}",
                    event.name
                )));
            };
            let emissions = (route.emit)(event)?;
            outbound::emit(&self.io, &emissions);
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bindings_are_the_outbound_table() {
        let mut bound = EVENTS_BINDINGS.to_vec();
        bound.sort_unstable();
        let mut routed: Vec<&str> = outbound::ROUTES.iter().map(|route| route.event).collect();
        routed.sort_unstable();
        assert_eq!(bound, routed);
    }
}
