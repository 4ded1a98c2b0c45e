//! The services as separate processes, under the faults on-call meets: a service killed
//! (`kill -9`) and started again, the broker restarted, a fresh broker whose producers start
//! before their consumers, and SIGTERM after it all. They run on a RabbitMQ node of the test's
//! own, so restarting it disturbs no other test; nextest runs this binary in its serial
//! `fault` group (`.config/nextest.toml`), as it starts five servers on a shared machine.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test: broken set-up fails it loudly"
)]

mod broker;
mod scenario;
mod services;
mod shop;
