//! The gateway binary: wiring only (see `startup.rs`).
//!
//! `gateway` (or `gateway serve`) runs it; `gateway check` validates the routes file and
//! exits, for CI and deploy pipelines.

use gateway::config::{DEFAULT_PORT, GatewayConfig, SERVICE};
use gateway::route_table::RouteTable;
use platform::CommonConfig;

// Every proxied request allocates and frees many small buffers across threads; glibc malloc
// spent about a seventh of the gateway's CPU on them under load (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USAGE: &str = "usage: gateway [serve | check | help]
  serve   run the gateway (the default)
  check   validate the routes file (GATEWAY_ROUTES_FILE) and exit";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let command = std::env::args().nth(1).unwrap_or_else(|| "serve".into());
    let common = CommonConfig::from_env(SERVICE, DEFAULT_PORT)?;
    let config: GatewayConfig = platform::config::load()?;
    match command.as_str() {
        "serve" => {}
        "check" => {
            let table = RouteTable::load(&config.gateway_routes_file, std::env::vars())?;
            println!(
                "{}: {} routes, {} clusters, {} rate limits",
                config.gateway_routes_file,
                table.routes.len(),
                table.clusters.len(),
                table.policies.len()
            );
            return Ok(());
        }
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            return Ok(());
        }
        other => return Err(format!("unknown command `{other}`\n{USAGE}").into()),
    }
    let _telemetry = platform::telemetry::init(&common)?;
    let built = gateway::startup::build(&common, &config)?;
    tracing::info!(
        port = common.port,
        ops_port = config.gateway_ops_port,
        routes = %config.gateway_routes_file,
        "gateway listening"
    );
    built.server.run(built.run_args);
    Ok(())
}
