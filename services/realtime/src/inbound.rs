//! Events from clients: the table of what each becomes (DESIGN §4b), and handling one.
//!
//! Most are proxied to the service that owns them, as the user: its answer is the ack, and on
//! success the socket may join a room (tracking an order joins `order:{orderId}`). `typing` is
//! relayed by realtime itself, and only into a chat room the socket has joined. Every event
//! sent with an ack id gets an ack, an error-shaped one (`{error: {code, message}}`) when it
//! is refused, unknown or its service is not there.

use crate::connect::SocketUser;
use crate::limits::{Limits, Refused};
use crate::proxy::{AckError, Caller, Proxy, Upstream, Verb};
use domain::Code;
use serde_json::{Map, Value, json};
use socketio::{Event, Socket};
use std::sync::Arc;

/// What an inbound event becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `verb path` on `upstream` as the user; `path` and `join` take `{field}`s of the event's
    /// payload, each a UUID. `body`: the payload goes as the request's JSON.
    Proxy {
        upstream: Upstream,
        verb: Verb,
        path: &'static str,
        body: bool,
        join: Option<&'static str>,
    },
    /// Emitted as `event` to `room` (a `{field}` template), which the socket must have joined,
    /// the sender left out.
    Relay {
        room: &'static str,
        event: &'static str,
    },
}

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub event: &'static str,
    pub action: Action,
}

/// The guide's client events. Tracking and chat add or change theirs in their own issues; until
/// they are deployed (`REALTIME_UPSTREAM_*` unset) their events get an error ack.
pub const ROUTES: &[Route] = &[
    Route {
        event: "track-order",
        action: Action::Proxy {
            upstream: Upstream::Tracking,
            verb: Verb::Get,
            path: "/api/orders/{orderId}/tracking",
            body: false,
            join: Some("order:{orderId}"),
        },
    },
    Route {
        event: "driver-location-update",
        action: Action::Proxy {
            upstream: Upstream::Tracking,
            verb: Verb::Post,
            path: "/api/driver/location",
            body: true,
            join: None,
        },
    },
    Route {
        event: "join-chat",
        action: Action::Proxy {
            upstream: Upstream::Chat,
            verb: Verb::Get,
            path: "/api/support/tickets/{ticketId}",
            body: false,
            join: Some("chat:{ticketId}"),
        },
    },
    Route {
        event: "send-message",
        action: Action::Proxy {
            upstream: Upstream::Chat,
            verb: Verb::Post,
            path: "/api/support/tickets/{ticketId}/messages",
            body: true,
            join: None,
        },
    },
    Route {
        event: "typing",
        action: Action::Relay {
            room: "chat:{ticketId}",
            event: "user-typing",
        },
    },
];

/// The row for `event`.
pub fn route(event: &str) -> Option<&'static Route> {
    ROUTES.iter().find(|route| route.event == event)
}

/// `event` as a metric label: the table's names, `other` for the rest (a client chooses them).
pub fn label(event: &str) -> &'static str {
    route(event).map_or("other", |route| route.event)
}

/// `template` with each `{field}` replaced by that field of `data`, which must be a UUID (so a
/// client cannot reach another path: `../admin`).
pub fn fill(template: &str, data: &Map<String, Value>) -> Result<String, AckError> {
    let mut out = String::with_capacity(template.len() + 36);
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('}') else {
            break;
        };
        let field = &rest[start + 1..start + end];
        let value = data
            .get(field)
            .and_then(Value::as_str)
            .and_then(|value| uuid::Uuid::parse_str(value).ok())
            .ok_or_else(|| {
                AckError::new(Code::ValidationFailed, format!("`{field}` must be a UUID."))
            })?;
        out.push_str(&value.hyphenated().to_string());
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// What the handler needs.
pub struct Context<'a> {
    pub proxy: &'a Proxy,
    pub limits: Limits,
}

/// Handles `event` from `socket`; answers the ack's arguments.
pub async fn handle(ctx: Context<'_>, socket: &Arc<Socket>, event: &Event) -> Vec<Value> {
    let name = label(&event.name);
    let (outcome, answer) = match answer(&ctx, socket, event).await {
        Ok(answer) => ("ok", answer),
        Err(error) => ("error", error.to_value()),
    };
    metrics::counter!("realtime_events_in_total", "event" => name, "outcome" => outcome)
        .increment(1);
    vec![answer]
}

async fn answer(ctx: &Context<'_>, socket: &Arc<Socket>, event: &Event) -> Result<Value, AckError> {
    let Some(user) = socket.data::<SocketUser>() else {
        return Err(AckError::new(Code::Unauthenticated, "Sign in first."));
    };
    let allowed = user
        .bucket
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take();
    if !allowed {
        Refused::Rate.count();
        return Err(AckError::new(
            Code::RateLimited,
            format!(
                "At most {} events a second; slow down.",
                ctx.limits.events_per_second
            ),
        ));
    }
    let size = event
        .args
        .iter()
        .map(|arg| arg.to_string().len())
        .sum::<usize>()
        + event
            .attachments
            .iter()
            .map(bytes::Bytes::len)
            .sum::<usize>();
    if size > ctx.limits.max_event_bytes {
        Refused::PayloadSize.count();
        return Err(AckError::new(
            Code::PayloadTooLarge,
            format!(
                "An event may carry at most {} bytes.",
                ctx.limits.max_event_bytes
            ),
        ));
    }
    let Some(route) = route(&event.name) else {
        return Err(AckError::new(
            Code::RouteNotFound,
            format!("No event `{}` is handled here.", event.name),
        ));
    };
    let empty = Map::new();
    let data = match event.args.first() {
        Some(Value::Object(data)) => data,
        None => &empty,
        Some(_) => {
            return Err(AckError::new(
                Code::ValidationFailed,
                "The event's payload must be an object.",
            ));
        }
    };
    match route.action {
        Action::Proxy {
            upstream,
            verb,
            path,
            body,
            join,
        } => {
            let path = fill(path, data)?;
            let room = join.map(|room| fill(room, data)).transpose()?;
            if let Some(room) = &room
                && !socket.in_room(room)
                && socket.rooms().len() >= ctx.limits.max_rooms
            {
                Refused::Rooms.count();
                return Err(AckError::new(
                    Code::BusinessRule,
                    format!(
                        "A connection may follow at most {} rooms.",
                        ctx.limits.max_rooms
                    ),
                ));
            }
            let request_id = uuid::Uuid::now_v7().to_string();
            let body = body.then(|| Value::Object(data.clone()));
            let answer = ctx
                .proxy
                .call(
                    upstream,
                    verb,
                    &path,
                    body.as_ref(),
                    &user.token,
                    &Caller {
                        request_id: &request_id,
                        ip: socket.handshake().ip,
                    },
                )
                .await?;
            if let Some(room) = room {
                socket.join(room);
            }
            Ok(answer)
        }
        Action::Relay {
            room,
            event: relayed,
        } => {
            let room = fill(room, data)?;
            if !socket.in_room(&room) {
                return Err(AckError::new(
                    Code::Forbidden,
                    "Join the conversation before typing in it.",
                ));
            }
            let payload = json!({
                "userId": user.claims.sub,
                "ticketId": data.get("ticketId"),
            });
            let sent = socket.to(room).emit(relayed, &[payload]);
            metrics::counter!("realtime_events_out_total", "event" => relayed).increment(1);
            Ok(json!({ "delivered": sent }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_take_uuid_fields_only() {
        let id = "6f1c5b6e-6c4b-4d43-9a49-6a1f0c2e7d10";
        let data: Map<String, Value> = serde_json::from_value(json!({ "orderId": id })).unwrap();
        assert_eq!(
            fill("/api/orders/{orderId}/tracking", &data).unwrap(),
            format!("/api/orders/{id}/tracking")
        );
        assert_eq!(
            fill("order:{orderId}", &data).unwrap(),
            format!("order:{id}")
        );
        for bad in [
            json!({}),
            json!({"orderId": "../admin"}),
            json!({"orderId": 7}),
        ] {
            let data: Map<String, Value> = serde_json::from_value(bad).unwrap();
            let err = fill("/api/orders/{orderId}/tracking", &data).unwrap_err();
            assert_eq!(err.code, "VALIDATION_FAILED");
        }
    }

    #[test]
    fn every_event_of_the_guide_has_a_row_and_labels_are_bounded() {
        for event in [
            "join-chat",
            "send-message",
            "typing",
            "track-order",
            "driver-location-update",
        ] {
            assert!(route(event).is_some(), "{event}");
            assert_eq!(label(event), event);
        }
        assert_eq!(label("made-up-by-a-client"), "other");
    }
}
