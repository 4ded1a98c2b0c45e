//! `fault-service <auth|catalog|orders|payments>` runs that service as its own binary does
//! (`services/<name>/src/main.rs`: settings from the environment, telemetry, the service's
//! `Application::build`, SIGTERM and SIGINT), for the fault test (`tests/it`), which starts the
//! services as processes it can kill. Cargo builds only a test's own package's binaries for
//! it, so this package has one that links the four services; what it runs is theirs.

use platform::{CommonConfig, Shutdown};

type Error = Box<dyn std::error::Error>;

/// The body of `services/<svc>/src/main.rs` after its `migrate`/`help` commands.
macro_rules! serve {
    ($svc:ident, $config:ty) => {{
        let common = CommonConfig::from_env($svc::config::SERVICE, $svc::config::DEFAULT_PORT)?;
        let config: $config = platform::config::load()?;
        let _telemetry = platform::telemetry::init(&common)?;
        let listener = platform::http::bind(&common.host, common.port)?;
        let app =
            $svc::startup::Application::build(common, config, listener, Shutdown::on_signals())
                .await?;
        tracing::info!(port = app.port(), concat!(stringify!($svc), " listening"));
        app.run_until_stopped().await?;
        Ok(())
    }};
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    match std::env::args().nth(1).as_deref() {
        Some("auth") => serve!(auth, auth::config::AuthConfig),
        Some("catalog") => serve!(catalog, catalog::config::CatalogConfig),
        Some("orders") => serve!(orders, orders::config::OrdersConfig),
        Some("payments") => serve!(payments, payments::config::PaymentsConfig),
        _ => Err("usage: fault-service <auth|catalog|orders|payments>".into()),
    }
}
