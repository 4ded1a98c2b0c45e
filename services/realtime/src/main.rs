//! The realtime service binary: wiring only (see `startup.rs`).

use platform::cli::Command;
use platform::{CommonConfig, Shutdown};
use realtime::config::{DEFAULT_PORT, RealtimeConfig, SERVICE};
use realtime::startup::Application;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let command = Command::parse(std::env::args())?;
    if command == Command::Help {
        println!("{}", Command::usage(SERVICE));
        return Ok(());
    }
    let common = CommonConfig::from_env(SERVICE, DEFAULT_PORT)?;
    let config: RealtimeConfig = platform::config::load()?;
    let _telemetry = platform::telemetry::init(&common)?;
    if command == Command::Migrate {
        tracing::info!("realtime has no database: nothing to migrate");
        return Ok(());
    }
    let listener = realtime::startup::bind(&common.host, common.port)?;
    let app = Application::build(common, config, listener, Shutdown::on_signals()).await?;
    tracing::info!(port = app.port(), "realtime listening");
    app.run_until_stopped().await?;
    Ok(())
}
