//! The declarative route table (`deploy/gateway/routes.yaml`): clusters of upstream endpoints,
//! rate-limit policies and routes, validated once at start. Routes are tried in file order and
//! the first that matches wins, as in Envoy.

mod file;
mod matcher;

use crate::rate_limit::{Counting, Policy, PolicyKey};
use domain::Role;
use file::{RouteFile, RoutesFile};
use http::Method;
pub use matcher::Matcher;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// A refused route file: what is wrong and, where it can be told, on which line.
#[derive(Debug, thiserror::Error)]
pub struct RouteFileError {
    pub file: String,
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for RouteFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// Whether a route needs a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// The token is not looked at (login, registration, webhooks).
    None,
    /// A token is verified if present; a bad one is refused.
    Optional,
    /// A valid token is needed.
    Required,
}

/// One upstream service as the routes file describes it (after environment overrides).
#[derive(Debug, Clone)]
pub struct ClusterSpec {
    pub name: String,
    pub endpoints: Vec<String>,
    pub health_check: Option<String>,
    pub health_interval: Duration,
    pub openapi: Option<String>,
    pub connect_timeout: Duration,
    pub ejection: Ejection,
}

#[derive(Debug, Clone, Copy)]
pub struct Ejection {
    pub consecutive_failures: u32,
    pub base: Duration,
    pub max: Duration,
}

/// A route, resolved: its cluster and policies are indices into the table's lists.
#[derive(Debug)]
pub struct Route {
    /// Metric and log label.
    pub name: String,
    pub matcher: Matcher,
    pub methods: Option<Vec<Method>>,
    pub cluster: usize,
    pub auth: AuthMode,
    /// Empty: any role.
    pub roles: Vec<Role>,
    pub rate_limits: Vec<usize>,
    pub timeout: Option<Duration>,
    pub retries: u8,
    pub max_body_bytes: u64,
    pub websocket: bool,
}

impl Route {
    fn accepts(&self, method: &Method, path: &str) -> bool {
        self.matcher.matches(path)
            && self
                .methods
                .as_ref()
                .is_none_or(|methods| methods.contains(method))
    }
}

/// Everything the routes file says, ready to serve.
#[derive(Debug)]
pub struct RouteTable {
    pub routes: Vec<Arc<Route>>,
    pub clusters: Vec<ClusterSpec>,
    pub policies: Vec<Policy>,
}

impl RouteTable {
    /// Reads and validates `path`; `vars` supply the overrides (`GATEWAY_CLUSTER_<NAME>`,
    /// `GATEWAY_RATE_LIMIT_<NAME>`).
    pub fn load(
        path: &str,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, RouteFileError> {
        let text = std::fs::read_to_string(path).map_err(|err| RouteFileError {
            file: path.to_owned(),
            line: None,
            message: format!("cannot read the routes file: {err}"),
        })?;
        Self::parse(path, &text, vars)
    }

    /// Like [`RouteTable::load`], from the file's text.
    pub fn parse(
        file_name: &str,
        text: &str,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, RouteFileError> {
        let error = |line: Option<usize>, message: String| RouteFileError {
            file: file_name.to_owned(),
            line,
            message,
        };
        let raw: RoutesFile = serde_yaml::from_str(text).map_err(|err| {
            let line = err.location().map(|location| location.line());
            error(line, err.to_string())
        })?;
        let lines = Lines(text);
        let overrides = Overrides::from_vars(vars);

        let mut policies = Vec::new();
        let mut policy_index = BTreeMap::new();
        for (name, policy) in &raw.rate_limits {
            let line = lines.key_under("rate_limits", name);
            let (requests, window_secs) = match overrides.rate_limit(name) {
                Some(Ok(value)) => value,
                Some(Err(message)) => return Err(error(None, message)),
                None => (policy.requests, policy.window_secs),
            };
            if requests == 0 || window_secs == 0 {
                return Err(error(
                    line,
                    format!("rate limit `{name}`: requests and window_secs must be positive"),
                ));
            }
            let key = match policy.per.as_str() {
                "ip" => PolicyKey::Ip,
                "user_or_ip" => PolicyKey::UserOrIp,
                other => {
                    return Err(error(
                        line,
                        format!("rate limit `{name}`: per is `ip` or `user_or_ip`, not `{other}`"),
                    ));
                }
            };
            let counting = match policy.counting.as_str() {
                "exact" => Counting::Exact,
                "batched" => Counting::Batched,
                other => {
                    return Err(error(
                        line,
                        format!(
                            "rate limit `{name}`: counting is `exact` or `batched`, not `{other}`"
                        ),
                    ));
                }
            };
            if !policy.roles.is_empty() && key != PolicyKey::UserOrIp {
                return Err(error(
                    line,
                    format!(
                        "rate limit `{name}`: roles need per: user_or_ip (an address has no role)"
                    ),
                ));
            }
            let mut by_role = Vec::new();
            for (role, limit) in &policy.roles {
                let Ok(parsed) = role.parse::<Role>() else {
                    return Err(error(
                        line,
                        format!("rate limit `{name}`: `{role}` is not a role"),
                    ));
                };
                if *limit == 0 {
                    return Err(error(
                        line,
                        format!("rate limit `{name}`: the limit of `{role}` must be positive"),
                    ));
                }
                by_role.push((parsed, *limit));
            }
            policy_index.insert(name.clone(), policies.len());
            policies.push(Policy {
                name: name.clone(),
                requests,
                window: Duration::from_secs(window_secs),
                key,
                counting,
                by_role,
            });
        }

        let mut clusters = Vec::new();
        let mut cluster_index = BTreeMap::new();
        for (name, cluster) in &raw.clusters {
            let line = lines.key_under("clusters", name);
            let endpoints = overrides
                .cluster(name)
                .unwrap_or_else(|| cluster.endpoints.clone());
            if endpoints.is_empty() {
                return Err(error(line, format!("cluster `{name}` has no endpoints")));
            }
            for endpoint in &endpoints {
                if !is_host_port(endpoint) {
                    return Err(error(
                        line,
                        format!("cluster `{name}`: endpoint `{endpoint}` is not host:port"),
                    ));
                }
            }
            for path in [&cluster.health_check, &cluster.openapi]
                .into_iter()
                .flatten()
            {
                if !path.starts_with('/') {
                    return Err(error(
                        line,
                        format!("cluster `{name}`: `{path}` must start with `/`"),
                    ));
                }
            }
            let ejection = &cluster.ejection;
            if ejection.consecutive_failures == 0
                || !positive(ejection.base_secs)
                || !positive(ejection.max_secs)
            {
                return Err(error(
                    line,
                    format!("cluster `{name}`: ejection settings must be positive"),
                ));
            }
            cluster_index.insert(name.clone(), clusters.len());
            clusters.push(ClusterSpec {
                name: name.clone(),
                endpoints,
                health_check: cluster.health_check.clone(),
                health_interval: Duration::from_secs(cluster.health_interval_secs.max(1)),
                openapi: cluster.openapi.clone(),
                connect_timeout: Duration::from_millis(cluster.connect_timeout_ms.max(1)),
                ejection: Ejection {
                    consecutive_failures: ejection.consecutive_failures,
                    base: Duration::from_secs_f64(ejection.base_secs),
                    max: Duration::from_secs_f64(ejection.max_secs.max(ejection.base_secs)),
                },
            });
        }

        let mut routes = Vec::new();
        for (index, route) in raw.routes.iter().enumerate() {
            let line = lines.list_item_under("routes", index);
            let resolved = resolve_route(route, &raw.defaults, &cluster_index, &policy_index)
                .map_err(|message| error(line, format!("route {}: {message}", index + 1)))?;
            routes.push(Arc::new(resolved));
        }
        if routes.is_empty() {
            return Err(error(None, "the file declares no routes".into()));
        }
        Ok(Self {
            routes,
            clusters,
            policies,
        })
    }

    /// The first route that takes `method` on `path`.
    pub fn find(&self, method: &Method, path: &str) -> Option<&Arc<Route>> {
        self.routes.iter().find(|route| route.accepts(method, path))
    }

    /// Whether some route has `path` but not for `method` (405 rather than 404).
    pub fn has_path(&self, path: &str) -> bool {
        self.routes.iter().any(|route| route.matcher.matches(path))
    }
}

/// Every service's operations endpoints (platform's `/health`, `/health/live` and `/metrics`):
/// no route may send a client there. They name internal addresses and dependencies; Prometheus
/// and the probes reach them inside the cluster.
const OPERATIONS_PATHS: [&str; 3] = ["/metrics", "/health", "/health/live"];

fn resolve_route(
    route: &RouteFile,
    defaults: &file::RouteDefaults,
    clusters: &BTreeMap<String, usize>,
    policies: &BTreeMap<String, usize>,
) -> Result<Route, String> {
    let matcher = match (&route.path, &route.prefix, &route.pattern) {
        (Some(path), None, None) => Matcher::exact(path)?,
        (None, Some(prefix), None) => Matcher::prefix(prefix)?,
        (None, None, Some(pattern)) => Matcher::pattern(pattern)?,
        _ => return Err("give exactly one of `path`, `prefix` or `pattern`".into()),
    };
    if let Some(path) = OPERATIONS_PATHS.iter().find(|path| matcher.matches(path)) {
        return Err(format!(
            "it takes {path}, a service's operations endpoint, which is never proxied"
        ));
    }
    let cluster = *clusters
        .get(&route.cluster)
        .ok_or_else(|| format!("unknown cluster `{}`", route.cluster))?;
    let methods = route
        .methods
        .as_ref()
        .map(|methods| {
            methods
                .iter()
                .map(|method| {
                    Method::from_bytes(method.to_ascii_uppercase().as_bytes())
                        .map_err(|_| format!("`{method}` is not an HTTP method"))
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    let auth = match route.auth.as_deref().unwrap_or(&defaults.auth) {
        "none" => AuthMode::None,
        "optional" => AuthMode::Optional,
        "required" => AuthMode::Required,
        other => return Err(format!("auth is none, optional or required, not `{other}`")),
    };
    let roles = route
        .roles
        .iter()
        .flatten()
        .map(|role| {
            role.parse::<Role>()
                .map_err(|_| format!("`{role}` is not a role"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if !roles.is_empty() && auth != AuthMode::Required {
        return Err("roles need `auth: required`".into());
    }
    let rate_limits = route
        .rate_limits
        .as_ref()
        .unwrap_or(&defaults.rate_limits)
        .iter()
        .map(|name| {
            policies
                .get(name)
                .copied()
                .ok_or_else(|| format!("unknown rate limit `{name}`"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let timeout_secs = route.timeout_secs.unwrap_or(defaults.timeout_secs);
    if !timeout_secs.is_finite() || timeout_secs < 0.0 {
        return Err(format!("timeout_secs `{timeout_secs}` is not a duration"));
    }
    let timeout = (timeout_secs > 0.0).then(|| Duration::from_secs_f64(timeout_secs));
    let name = route.name.clone().unwrap_or_else(|| {
        let methods = route
            .methods
            .as_ref()
            .map(|methods| format!("{} ", methods.join(",").to_ascii_uppercase()))
            .unwrap_or_default();
        format!("{methods}{}", matcher.as_written())
    });
    Ok(Route {
        name,
        matcher,
        methods,
        cluster,
        auth,
        roles,
        rate_limits,
        timeout,
        retries: route.retries.unwrap_or(defaults.retries),
        max_body_bytes: route.max_body_bytes.unwrap_or(defaults.max_body_bytes),
        websocket: route.websocket,
    })
}

fn positive(value: f64) -> bool {
    value.is_finite() && value > 0.0
}

fn is_host_port(endpoint: &str) -> bool {
    match endpoint.rsplit_once(':') {
        Some((host, port)) => !host.is_empty() && port.parse::<u16>().is_ok_and(|port| port > 0),
        None => false,
    }
}

/// Environment overrides of the file's local defaults.
struct Overrides(BTreeMap<String, String>);

impl Overrides {
    fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Self {
        Self(
            vars.into_iter()
                .filter(|(key, _)| key.starts_with("GATEWAY_"))
                .collect(),
        )
    }

    fn var(&self, prefix: &str, name: &str) -> Option<&String> {
        let key = format!("{prefix}{}", name.to_ascii_uppercase().replace('-', "_"));
        self.0.get(&key).filter(|value| !value.trim().is_empty())
    }

    /// `GATEWAY_CLUSTER_AUTH=auth-0:8081,auth-1:8081`.
    fn cluster(&self, name: &str) -> Option<Vec<String>> {
        self.var("GATEWAY_CLUSTER_", name).map(|value| {
            value
                .split(',')
                .map(str::trim)
                .filter(|endpoint| !endpoint.is_empty())
                .map(str::to_owned)
                .collect()
        })
    }

    /// `GATEWAY_RATE_LIMIT_API=100/900`: requests per window seconds.
    fn rate_limit(&self, name: &str) -> Option<Result<(u64, u64), String>> {
        let key = "GATEWAY_RATE_LIMIT_";
        self.var(key, name).map(|value| {
            value
                .split_once('/')
                .and_then(|(requests, window)| {
                    Some((requests.trim().parse().ok()?, window.trim().parse().ok()?))
                })
                .ok_or_else(|| {
                    format!(
                        "{key}{}=`{value}`: expected <requests>/<window seconds>",
                        name.to_ascii_uppercase()
                    )
                })
        })
    }
}

/// Finds lines in the file's text for semantic errors, which serde cannot place. The routes
/// file is block-style YAML, which is what these look for.
struct Lines<'a>(&'a str);

impl Lines<'_> {
    /// The line of the top-level `section:` key.
    fn section(&self, section: &str) -> Option<usize> {
        let header = format!("{section}:");
        self.0
            .lines()
            .position(|line| line.trim_end() == header || line.starts_with(&format!("{header} ")))
    }

    /// 1-based line of `name:` directly under the top-level `section:`.
    fn key_under(&self, section: &str, name: &str) -> Option<usize> {
        let start = self.section(section)?;
        self.0
            .lines()
            .enumerate()
            .skip(start + 1)
            .take_while(|(_, line)| line.is_empty() || line.starts_with([' ', '#']))
            .find(|(_, line)| {
                let trimmed = line.trim_start();
                trimmed
                    .strip_prefix(name)
                    .is_some_and(|rest| rest.starts_with(':'))
                    && line.len() - trimmed.len() > 0
            })
            .map(|(index, _)| index + 1)
    }

    /// 1-based line where the `index`-th item of the top-level `section:` list starts.
    fn list_item_under(&self, section: &str, index: usize) -> Option<usize> {
        let start = self.section(section)?;
        let items = self
            .0
            .lines()
            .enumerate()
            .skip(start + 1)
            .take_while(|(_, line)| line.is_empty() || line.starts_with([' ', '#', '-']))
            .filter(|(_, line)| !line.trim_start().starts_with('#'));
        let indent = |line: &str| line.len() - line.trim_start().len();
        let first = items
            .clone()
            .find(|(_, line)| line.trim_start().starts_with("- "))?;
        let item_indent = indent(first.1);
        items
            .filter(|(_, line)| indent(line) == item_indent && line.trim_start().starts_with("- "))
            .nth(index)
            .map(|(line, _)| line + 1)
    }
}

#[cfg(test)]
mod tests;
