//! The main namespace: authentication at CONNECT, the rooms a socket joins, and every inbound
//! event answered (`crate::inbound`).

use crate::connect::{self, SocketUser};
use crate::inbound::{self, Context};
use crate::limits::{Limits, TokenBucket};
use crate::proxy::Proxy;
use auth_token::Verifier;
use futures_util::future::BoxFuture;
use serde_json::Value;
use socketio::{DisconnectReason, Event, Handler, Refusal, Socket};
use std::sync::Arc;

/// What the namespace's sockets share.
pub struct Realtime {
    pub verifier: Arc<Verifier>,
    pub proxy: Arc<Proxy>,
    pub limits: Limits,
}

impl Handler for Realtime {
    fn connect(
        &self,
        socket: Arc<Socket>,
        auth: Option<Value>,
    ) -> BoxFuture<'static, Result<(), Refusal>> {
        let verifier = Arc::clone(&self.verifier);
        let bucket = TokenBucket::new(self.limits.events_per_second, self.limits.event_burst);
        Box::pin(async move {
            let user = connect::authenticate(&verifier, auth.as_ref(), bucket).await?;
            socket.set_data(user);
            Ok(())
        })
    }

    fn connected(&self, socket: &Arc<Socket>) {
        if let Some(user) = socket.data::<SocketUser>() {
            for room in connect::rooms_for(user) {
                socket.join(room);
            }
            metrics::counter!("realtime_connections_total", "role" => user.claims.role.as_str())
                .increment(1);
        }
    }

    fn event(&self, socket: Arc<Socket>, event: Event) -> BoxFuture<'static, ()> {
        let proxy = Arc::clone(&self.proxy);
        let limits = self.limits;
        Box::pin(async move {
            let ctx = Context {
                proxy: &proxy,
                limits,
            };
            let answer = inbound::handle(ctx, &socket, &event).await;
            if let Some(ack) = event.ack {
                ack.send(&answer);
            }
        })
    }

    fn disconnected(&self, _socket: Arc<Socket>, reason: DisconnectReason) {
        metrics::counter!("realtime_disconnections_total", "reason" => reason.as_str())
            .increment(1);
    }
}
