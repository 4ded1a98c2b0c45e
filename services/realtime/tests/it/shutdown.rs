//! Graceful shutdown: connected clients are told to go (their transports close, and they
//! reconnect by themselves, to another replica) and new connections are not taken.

use crate::helpers::TestApp;
use domain::Role;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_the_connections_so_their_clients_reconnect_elsewhere() {
    let app = TestApp::spawn().await;
    let (_, token) = app.token(Role::Customer);
    let mut first = app.connect(&token).await;
    let mut second = app.connect(&token).await;
    app.shutdown.trigger();
    // Spread over REALTIME_DRAIN_SECS (1 s here).
    assert!(first.closed_within(Duration::from_secs(3)).await);
    assert!(second.closed_within(Duration::from_secs(3)).await);
    let refused = reqwest::get(format!("{}/socket.io/?EIO=4&transport=polling", app.base)).await;
    assert!(
        refused.is_err() || refused.is_ok_and(|answer| answer.status() == 503),
        "a new session is not opened"
    );
}
