//! The orders service binary: wiring only (see `startup.rs`).

use orders::config::{DEFAULT_PORT, OrdersConfig, SERVICE};
use orders::startup::{Application, migrate};
use platform::cli::Command;
use platform::{CommonConfig, Shutdown};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let command = Command::parse(std::env::args())?;
    if command == Command::Help {
        println!("{}", Command::usage(SERVICE));
        return Ok(());
    }
    let common = CommonConfig::from_env(SERVICE, DEFAULT_PORT)?;
    let config: OrdersConfig = platform::config::load()?;
    let _telemetry = platform::telemetry::init(&common)?;
    if command == Command::Migrate {
        migrate(&common).await?;
        tracing::info!("migrations applied");
        return Ok(());
    }
    let listener = platform::http::bind(&common.host, common.port)?;
    let app = Application::build(common, config, listener, Shutdown::on_signals()).await?;
    tracing::info!(port = app.port(), "orders listening");
    app.run_until_stopped().await?;
    Ok(())
}
