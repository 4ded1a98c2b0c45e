//! Configuration from environment variables, with defaults that work on a developer machine.
//!
//! Every service reads the same [`CommonConfig`]; its own settings go in a struct of its own,
//! loaded with [`load`] so both follow the same rules (`FOO_BAR` → field `foo_bar`).
//!
//! `APP_ENV` defaults to `production`: a binary started with nothing set refuses the built-in
//! secrets and stand-ins that are only safe locally. `make run`, compose and the tests set
//! `development` or `test` ([`is_local`]). A service refuses such a default in its own
//! config check with [`require_set`]:
//!
//! ```
//! # fn check(app_env: &str, secret: &str) -> Result<(), String> {
//! platform::config::require_set(app_env, "DOCUMENT_LINK_SECRET", secret, "local-default")?;
//! # Ok(())
//! # }
//! # assert!(check("production", "local-default").is_err());
//! # assert!(check("development", "local-default").is_ok());
//! ```

use serde::Deserialize;
use serde::de::DeserializeOwned;

/// Why configuration could not be read.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(#[from] ::config::ConfigError);

/// Deserialises `T` from the process environment. Field names are the lower-case variable
/// names; fields missing from the environment take their serde defaults.
pub fn load<T: DeserializeOwned>() -> Result<T, ConfigError> {
    load_from(std::env::vars())
}

/// Like [`load`], from an explicit set of variables (tests and tools).
pub fn load_from<T, I>(vars: I) -> Result<T, ConfigError>
where
    T: DeserializeOwned,
    I: IntoIterator<Item = (String, String)>,
{
    let source = ::config::Environment::default()
        .try_parsing(true)
        .source(Some(vars.into_iter().collect()));
    Ok(::config::Config::builder()
        .add_source(source)
        .build()?
        .try_deserialize()?)
}

/// Whether `app_env` names a developer machine or a test run (`development`, `test`): the
/// only places where built-in secrets, generated keys and embedded stand-ins for real
/// providers are accepted. Any other value (`staging`, `production`, a typo) is not.
#[must_use]
pub fn is_local(app_env: &str) -> bool {
    matches!(app_env, "development" | "test")
}

/// Refuses `value` of the variable `variable` outside development and tests when it is still
/// the built-in `default` (published in this repository) or empty.
///
/// # Errors
/// A message naming the variable to set.
pub fn require_set(
    app_env: &str,
    variable: &str,
    value: &str,
    default: &str,
) -> Result<(), String> {
    if !is_local(app_env) && (value == default || value.trim().is_empty()) {
        return Err(format!(
            "{variable} must be set outside development (APP_ENV={app_env})"
        ));
    }
    Ok(())
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line, for log shippers (the default).
    #[default]
    Json,
    /// Human-readable lines for a terminal.
    Pretty,
}

/// Settings every service shares. The service name and default port are not configuration:
/// they are given by the binary.
#[derive(Debug, Clone, Deserialize)]
pub struct CommonConfig {
    /// The service's name; also its PostgreSQL schema and its metric label.
    #[serde(skip)]
    pub service: &'static str,
    /// `production` unless set: see the module documentation.
    #[serde(default = "defaults::app_env")]
    pub app_env: String,
    #[serde(default = "defaults::app_version")]
    pub app_version: String,
    #[serde(default = "defaults::host")]
    pub host: String,
    /// The HTTP port; `0` when absent, meaning "the service's default port".
    #[serde(default)]
    pub port: u16,
    #[serde(default = "defaults::database_url")]
    pub database_url: String,
    #[serde(default = "defaults::database_pool_size")]
    pub database_pool_size: usize,
    #[serde(default = "defaults::redis_url")]
    pub redis_url: String,
    #[serde(default = "defaults::amqp_url")]
    pub amqp_url: String,
    #[serde(default = "defaults::events_exchange")]
    pub events_exchange: String,
    #[serde(default)]
    pub log_format: LogFormat,
    /// OTLP/HTTP endpoint; traces are exported only when it is set.
    #[serde(default)]
    pub otel_exporter_otlp_endpoint: Option<String>,
    /// How long in-flight requests and consumers get to finish after SIGTERM.
    #[serde(default = "defaults::shutdown_timeout_secs")]
    pub shutdown_timeout_secs: u64,
}

impl CommonConfig {
    /// Reads the shared settings for `service` from the environment.
    pub fn from_env(service: &'static str, default_port: u16) -> Result<Self, ConfigError> {
        Self::from_vars(service, default_port, std::env::vars())
    }

    /// Like [`CommonConfig::from_env`], from an explicit set of variables.
    pub fn from_vars<I>(
        service: &'static str,
        default_port: u16,
        vars: I,
    ) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = (String, String)>,
    {
        let mut config: Self = load_from(vars)?;
        config.service = service;
        if config.port == 0 {
            config.port = default_port;
        }
        if config
            .otel_exporter_otlp_endpoint
            .as_deref()
            .is_some_and(|endpoint| endpoint.trim().is_empty())
        {
            config.otel_exporter_otlp_endpoint = None;
        }
        Ok(config)
    }

    /// Whether this is a developer machine or a test run ([`is_local`]).
    #[must_use]
    pub fn is_local(&self) -> bool {
        is_local(&self.app_env)
    }

    /// The PostgreSQL schema the service owns: its own name, with `-` made SQL-friendly.
    pub fn schema(&self) -> String {
        self.service.replace('-', "_")
    }
}

mod defaults {
    /// Unsafe settings must be asked for, not forgotten: see the module documentation.
    pub fn app_env() -> String {
        "production".into()
    }
    pub fn app_version() -> String {
        env!("CARGO_PKG_VERSION").into()
    }
    pub fn host() -> String {
        "127.0.0.1".into()
    }
    pub fn database_url() -> String {
        "postgres://postgres@127.0.0.1:5432/faded_skies".into()
    }
    pub fn database_pool_size() -> usize {
        10
    }
    pub fn redis_url() -> String {
        "redis://127.0.0.1:6379".into()
    }
    pub fn amqp_url() -> String {
        "amqp://guest:guest@127.0.0.1:5672/%2f".into()
    }
    pub fn events_exchange() -> String {
        "faded_skies.events".into()
    }
    pub fn shutdown_timeout_secs() -> u64 {
        30
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_work_locally() {
        let config = CommonConfig::from_vars("auth", 8081, vars(&[])).unwrap();
        assert_eq!(config.port, 8081);
        assert_eq!(config.schema(), "auth");
        assert_eq!(config.events_exchange, "faded_skies.events");
        assert_eq!(config.log_format, LogFormat::Json);
        assert!(config.otel_exporter_otlp_endpoint.is_none());
    }

    #[test]
    fn without_app_env_a_binary_is_in_production() {
        let config = CommonConfig::from_vars("payments", 8084, vars(&[])).unwrap();
        assert_eq!(config.app_env, "production");
        assert!(!config.is_local());
        for local in ["development", "test"] {
            let config =
                CommonConfig::from_vars("payments", 8084, vars(&[("APP_ENV", local)])).unwrap();
            assert!(config.is_local(), "{local}");
        }
        let staging =
            CommonConfig::from_vars("payments", 8084, vars(&[("APP_ENV", "staging")])).unwrap();
        assert!(!staging.is_local());
    }

    #[test]
    fn built_in_secrets_are_refused_outside_development() {
        let check = |env: &str, value: &str| require_set(env, "SOME_SECRET", value, "built-in");
        let refused = check("production", "built-in").unwrap_err();
        assert!(refused.contains("SOME_SECRET"), "{refused}");
        assert!(check("staging", "built-in").is_err());
        assert!(check("production", " ").is_err());
        assert!(check("production", "a-real-one").is_ok());
        assert!(check("development", "built-in").is_ok());
        assert!(check("test", "built-in").is_ok());
    }

    #[test]
    fn environment_overrides_defaults() {
        let config = CommonConfig::from_vars(
            "orders",
            8083,
            vars(&[
                ("PORT", "9000"),
                ("DATABASE_URL", "postgres://x@db/orders"),
                ("LOG_FORMAT", "pretty"),
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
            ]),
        )
        .unwrap();
        assert_eq!(config.port, 9000);
        assert_eq!(config.database_url, "postgres://x@db/orders");
        assert_eq!(config.log_format, LogFormat::Pretty);
        assert_eq!(
            config.otel_exporter_otlp_endpoint.as_deref(),
            Some("http://collector:4318")
        );
    }

    #[test]
    fn empty_otlp_endpoint_means_off() {
        let config =
            CommonConfig::from_vars("auth", 8081, vars(&[("OTEL_EXPORTER_OTLP_ENDPOINT", " ")]))
                .unwrap();
        assert!(config.otel_exporter_otlp_endpoint.is_none());
    }

    #[test]
    fn a_bad_value_is_a_clear_error() {
        let err = CommonConfig::from_vars("auth", 8081, vars(&[("PORT", "eighty")])).unwrap_err();
        assert!(err.to_string().contains("port"), "{err}");
    }
}
