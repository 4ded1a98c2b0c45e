use super::*;

const FILE: &str = "\
defaults:
  auth: optional
  rate_limits: [api]

rate_limits:
  auth: { requests: 5, window_secs: 900, per: ip }
  api: { requests: 100, window_secs: 900, per: user_or_ip }

clusters:
  auth:
    endpoints: [\"127.0.0.1:8081\"]
    health_check: /health/live
  orders:
    endpoints: [\"127.0.0.1:8083\"]

routes:
  - path: /api/auth/login
    methods: [POST]
    cluster: auth
    auth: none
    rate_limits: [auth, api]
  - prefix: /api/auth
    cluster: auth
    auth: none
  - path: /api/orders
    methods: [post]
    cluster: orders
    auth: required
    roles: [customer]
  - prefix: /api/orders
    cluster: orders
    auth: required
";

fn parse(text: &str) -> Result<RouteTable, RouteFileError> {
    RouteTable::parse("routes.yaml", text, std::iter::empty())
}

fn error(text: &str) -> String {
    parse(text).unwrap_err().to_string()
}

#[test]
fn the_first_matching_route_wins() {
    let table = parse(FILE).unwrap();
    let login = table.find(&Method::POST, "/api/auth/login").unwrap();
    assert_eq!(login.name, "POST /api/auth/login");
    assert_eq!(login.auth, AuthMode::None);
    assert_eq!(login.rate_limits.len(), 2);
    let refresh = table.find(&Method::POST, "/api/auth/refresh").unwrap();
    assert_eq!(refresh.name, "/api/auth/*");
    assert_eq!(
        table.policies[refresh.rate_limits[0]].name, "api",
        "defaults apply"
    );
    let checkout = table.find(&Method::POST, "/api/orders").unwrap();
    assert_eq!(checkout.roles, [Role::Customer]);
    let list = table.find(&Method::GET, "/api/orders").unwrap();
    assert!(list.roles.is_empty());
    assert!(table.find(&Method::GET, "/api/products").is_none());
    assert!(table.has_path("/api/orders/1"));
}

#[test]
fn defaults_fill_what_a_route_leaves_out() {
    let table = parse(FILE).unwrap();
    let route = table.find(&Method::GET, "/api/orders/1").unwrap();
    assert_eq!(route.timeout, Some(Duration::from_secs(30)));
    assert_eq!(route.retries, 1);
    assert_eq!(route.max_body_bytes, 1024 * 1024);
    assert!(!route.websocket);
}

#[test]
fn an_unknown_cluster_is_reported_with_the_routes_line() {
    let text = FILE.replace(
        "cluster: orders\n    auth: required\n    roles",
        "cluster: ordrs\n    auth: required\n    roles",
    );
    assert_eq!(
        error(&text),
        "routes.yaml:25: route 3: unknown cluster `ordrs`"
    );
}

#[test]
fn a_misspelt_key_is_reported_with_its_line() {
    let text = FILE.replace(
        "    auth: none\n    rate_limits: [auth, api]",
        "    auth: none\n    rate_limit: [auth, api]",
    );
    let message = error(&text);
    assert!(
        message.starts_with("routes.yaml:21: routes[0]: unknown field `rate_limit`"),
        "{message}"
    );
}

#[test]
fn bad_values_are_refused_with_their_line() {
    let cases = [
        (
            "auth: none\n    rate_limits: [auth, api]",
            "auth: nobody\n    rate_limits: [auth, api]",
            "routes.yaml:17: route 1: auth is none, optional or required, not `nobody`",
        ),
        (
            "rate_limits: [auth, api]",
            "rate_limits: [auth, ap]",
            "routes.yaml:17: route 1: unknown rate limit `ap`",
        ),
        (
            "roles: [customer]",
            "roles: [king]",
            "routes.yaml:25: route 3: `king` is not a role",
        ),
        (
            "methods: [post]",
            "methods: [\"PO ST\"]",
            "routes.yaml:25: route 3: `PO ST` is not an HTTP method",
        ),
        (
            "  - prefix: /api/auth\n",
            "  - prefix: api/auth\n",
            "routes.yaml:22: route 2: `api/auth` must start with `/`",
        ),
        (
            "per: ip",
            "per: planet",
            "routes.yaml:6: rate limit `auth`: per is `ip` or `user_or_ip`, not `planet`",
        ),
        (
            "per: user_or_ip }",
            "per: user_or_ip, counting: lazily }",
            "routes.yaml:7: rate limit `api`: counting is `exact` or `batched`, not `lazily`",
        ),
        (
            "per: user_or_ip }",
            "per: user_or_ip, roles: { emperor: 10 } }",
            "routes.yaml:7: rate limit `api`: `emperor` is not a role",
        ),
        (
            "per: ip }",
            "per: ip, roles: { admin: 10 } }",
            "routes.yaml:6: rate limit `auth`: roles need per: user_or_ip (an address has no role)",
        ),
        (
            "per: user_or_ip }",
            "per: user_or_ip, roles: { admin: 0 } }",
            "routes.yaml:7: rate limit `api`: the limit of `admin` must be positive",
        ),
        (
            "[\"127.0.0.1:8083\"]",
            "[\"localhost\"]",
            "routes.yaml:13: cluster `orders`: endpoint `localhost` is not host:port",
        ),
    ];
    for (from, to, expected) in cases {
        assert!(FILE.contains(from), "{from}");
        assert_eq!(error(&FILE.replacen(from, to, 1)), expected);
    }
}

#[test]
fn roles_need_a_required_token() {
    let text = FILE.replace("auth: required\n    roles", "auth: optional\n    roles");
    assert_eq!(
        error(&text),
        "routes.yaml:25: route 3: roles need `auth: required`"
    );
}

#[test]
fn environment_overrides_endpoints_and_limits() {
    let vars = [
        (
            "GATEWAY_CLUSTER_ORDERS".to_owned(),
            "orders-0:8083, orders-1:8083".to_owned(),
        ),
        ("GATEWAY_RATE_LIMIT_AUTH".to_owned(), "50/60".to_owned()),
    ];
    let table = RouteTable::parse("routes.yaml", FILE, vars).unwrap();
    assert_eq!(
        table.clusters[1].endpoints,
        ["orders-0:8083", "orders-1:8083"]
    );
    assert_eq!(table.policies[1].requests, 50);
    assert_eq!(table.policies[1].window, Duration::from_secs(60));
    let bad = [("GATEWAY_RATE_LIMIT_API".to_owned(), "lots".to_owned())];
    let err = RouteTable::parse("routes.yaml", FILE, bad).unwrap_err();
    assert!(
        err.to_string().contains("GATEWAY_RATE_LIMIT_API=`lots`"),
        "{err}"
    );
}

#[test]
fn the_shipped_routes_file_is_valid() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../deploy/gateway/routes.yaml"
    );
    let table = RouteTable::load(path, std::iter::empty()).unwrap();
    // Customers keep the guide's 100 requests per 15 minutes; staff and drivers get more.
    let api = table.policies.iter().find(|p| p.name == "api").unwrap();
    let claims = |role| {
        auth_token::Claims::new(
            domain::UserId::new(),
            role,
            true,
            std::time::Duration::from_secs(60),
            "i",
            "a",
        )
    };
    assert_eq!((api.requests, api.window.as_secs()), (100, 900));
    assert_eq!(api.limit(Some(&claims(Role::Customer))), 100);
    for staff in [Role::Admin, Role::Agent, Role::Driver] {
        assert!(api.limit(Some(&claims(staff))) >= 1000, "{staff}");
    }
    let login = table.find(&Method::POST, "/api/auth/login").unwrap();
    let names: Vec<&str> = login
        .rate_limits
        .iter()
        .map(|i| table.policies[*i].name.as_str())
        .collect();
    assert!(names.contains(&"auth"), "{names:?}");
    let refresh = table.find(&Method::POST, "/api/auth/refresh").unwrap();
    assert!(
        refresh
            .rate_limits
            .iter()
            .all(|i| table.policies[*i].name != "auth")
    );
    let checkout = table.find(&Method::POST, "/api/orders").unwrap();
    assert!(
        checkout
            .rate_limits
            .iter()
            .any(|i| table.policies[*i].name == "orders")
    );
    for service in [
        "auth",
        "catalog",
        "orders",
        "payments",
        "tracking",
        "chat",
        "notification",
        "realtime",
    ] {
        assert!(
            table.clusters.iter().any(|c| c.name == service),
            "{service}"
        );
    }
}

#[test]
fn the_socketio_path_goes_to_realtime_without_a_token_and_only_it_takes_upgrades() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../deploy/gateway/routes.yaml"
    );
    let table = RouteTable::load(path, std::iter::empty()).unwrap();
    // socket.io-client's default path, long polls (GET, POST) and the upgrade alike; the token
    // travels in the CONNECT packet, which realtime checks.
    for method in [Method::GET, Method::POST] {
        let route = table.find(&method, "/socket.io/").unwrap();
        assert_eq!(table.clusters[route.cluster].name, "realtime");
        assert_eq!(route.auth, AuthMode::None);
        assert!(route.websocket);
        // Long enough for a long poll, which realtime answers within its ping interval.
        assert!(route.timeout.is_some_and(|t| t >= Duration::from_secs(30)));
        let policies: Vec<&Policy> = route
            .rate_limits
            .iter()
            .map(|i| &table.policies[*i])
            .collect();
        assert!(
            policies
                .iter()
                .all(|policy| policy.key == PolicyKey::Ip && policy.requests >= 600),
            "a polling client is not held to the API's limit: {policies:?}"
        );
    }
    // The `/ws/*` routes of the first design led nowhere; nothing else tunnels.
    assert!(table.find(&Method::GET, "/ws/tracking").is_none());
    let tunnels: Vec<&str> = table
        .routes
        .iter()
        .filter(|route| route.websocket)
        .map(|route| route.name.as_str())
        .collect();
    assert_eq!(tunnels, ["/socket.io/*"]);
}

#[test]
fn no_route_may_take_a_services_operations_endpoints() {
    for (rule, path) in [
        ("prefix: /", "/metrics"),
        ("path: /metrics", "/metrics"),
        ("prefix: /health", "/health"),
        ("pattern: /health/{what}", "/health/live"),
        ("pattern: /{anything}", "/metrics"),
    ] {
        let text = format!("{FILE}  - {rule}\n    cluster: orders\n");
        let message = error(&text);
        assert!(
            message.ends_with(&format!(
                "route 5: it takes {path}, a service's operations endpoint, which is never proxied"
            )),
            "{rule}: {message}"
        );
    }
}

#[test]
fn both_webhooks_are_limited_per_address() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../deploy/gateway/routes.yaml"
    );
    let table = RouteTable::load(path, std::iter::empty()).unwrap();
    for webhook in ["/webhooks/stripe", "/webhooks/id-verification"] {
        let route = table.find(&Method::POST, webhook).unwrap();
        let policies: Vec<&Policy> = route
            .rate_limits
            .iter()
            .map(|i| &table.policies[*i])
            .collect();
        assert!(
            policies
                .iter()
                .any(|policy| policy.name == "webhooks" && policy.key == PolicyKey::Ip),
            "{webhook}: {policies:?}"
        );
    }
}
