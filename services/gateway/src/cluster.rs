//! Upstream clusters: endpoints found by resolving `host:port` (again every few seconds, so a
//! Kubernetes Service or a scaled deployment is followed), round-robin selection over the
//! endpoints the active health check passes, and passive ejection of an endpoint that keeps
//! failing requests (Envoy's outlier detection).

use crate::route_table::{ClusterSpec, Ejection};
use async_trait::async_trait;
use pingora::lb::discovery::ServiceDiscovery;
use pingora::lb::health_check::{HttpHealthCheck, TcpHealthCheck};
use pingora::lb::selection::RoundRobin;
use pingora::lb::{Backend, Backends, LoadBalancer};
use pingora::protocols::l4::socket::SocketAddr as PingoraAddr;
use pingora::services::background::{GenBackgroundService, background_service};
use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often endpoint names are resolved again.
const RESOLVE_EVERY: Duration = Duration::from_secs(10);

pub struct Cluster {
    pub spec: ClusterSpec,
    pub balancer: Arc<LoadBalancer<RoundRobin>>,
    outliers: Outliers,
    /// Where the next round-robin turn starts.
    next: AtomicUsize,
}

impl Cluster {
    /// The cluster and the background service that runs its discovery and health checks;
    /// the server must run that service too.
    pub fn new(spec: ClusterSpec) -> (Self, GenBackgroundService<LoadBalancer<RoundRobin>>) {
        let discovery = DnsDiscovery {
            endpoints: spec.endpoints.clone(),
        };
        let mut balancer =
            LoadBalancer::<RoundRobin>::from_backends(Backends::new(Box::new(discovery)));
        match spec.health_check.as_deref().map(str::parse::<http::Uri>) {
            Some(Ok(path)) => {
                let mut check = HttpHealthCheck::new("gateway-health-check", false);
                check.req.set_uri(path);
                check.consecutive_failure = 2;
                balancer.set_health_check(Box::new(check));
            }
            _ => balancer.set_health_check(TcpHealthCheck::new()),
        }
        balancer.health_check_frequency = Some(spec.health_interval);
        balancer.update_frequency = Some(RESOLVE_EVERY);
        balancer.parallel_health_check = true;
        let service = background_service(&format!("cluster {}", spec.name), balancer);
        let cluster = Self {
            outliers: Outliers::new(spec.ejection),
            balancer: service.task(),
            next: AtomicUsize::new(0),
            spec,
        };
        (cluster, service)
    }

    /// An endpoint to send a request to, in turn: healthy, not ejected and not already tried
    /// for this request. If every healthy endpoint is ejected, ejection is ignored (Envoy's
    /// panic threshold): sending to a flaky endpoint beats refusing everything.
    ///
    /// Chosen here rather than by Pingora's selector, which builds a set of the endpoints it
    /// has seen (an allocation per request) and hashes a key it does not use for round robin.
    pub fn select(&self, tried: &[SocketAddr]) -> Option<SocketAddr> {
        let backends = self.balancer.backends();
        let endpoints = backends.get_backend();
        let count = endpoints.len();
        if count == 0 {
            return None;
        }
        // One endpoint has no turns to take: the counter both workers share is left alone.
        let start = if count == 1 {
            0
        } else {
            self.next.fetch_add(1, Ordering::Relaxed) % count
        };
        let now = Instant::now();
        let pick = |respect_ejection: bool| {
            endpoints
                .iter()
                .cycle()
                .skip(start)
                .take(count)
                .filter_map(|backend| Some((backend, *backend.addr.as_inet()?)))
                .find(|(backend, addr)| {
                    !tried.contains(addr)
                        && backends.ready(backend)
                        && (!respect_ejection || !self.outliers.is_ejected(*addr, now))
                })
                .map(|(_, addr)| addr)
        };
        pick(true).or_else(|| pick(false))
    }

    /// The endpoints discovered, whatever their health.
    pub fn endpoint_count(&self) -> usize {
        self.balancer.backends().get_backend().len()
    }

    pub fn record_success(&self, addr: SocketAddr) {
        self.outliers.success(addr);
    }

    pub fn record_failure(&self, addr: SocketAddr) {
        if self.outliers.failure(addr, Instant::now()) {
            tracing::warn!(cluster = %self.spec.name, endpoint = %addr, "endpoint ejected");
            metrics::counter!(
                "gateway_upstream_ejections_total",
                "cluster" => self.spec.name.clone(),
            )
            .increment(1);
        }
    }

    /// Each endpoint with whether the health check passes and whether it is ejected.
    pub fn endpoints(&self) -> Vec<EndpointState> {
        let now = Instant::now();
        self.balancer
            .backends()
            .get_backend()
            .iter()
            .filter_map(|backend| {
                let addr = *backend.addr.as_inet()?;
                Some(EndpointState {
                    addr,
                    healthy: self.balancer.backends().ready(backend),
                    ejected: self.outliers.is_ejected(addr, now),
                })
            })
            .collect()
    }
}

#[derive(Debug, Clone, Copy)]
pub struct EndpointState {
    pub addr: SocketAddr,
    pub healthy: bool,
    pub ejected: bool,
}

impl EndpointState {
    pub fn serving(&self) -> bool {
        self.healthy && !self.ejected
    }
}

/// Resolves each `host:port` on every discovery round. A name that does not resolve is
/// logged and skipped, so one bad endpoint does not take the others out.
struct DnsDiscovery {
    endpoints: Vec<String>,
}

#[async_trait]
impl ServiceDiscovery for DnsDiscovery {
    async fn discover(&self) -> pingora::Result<(BTreeSet<Backend>, HashMap<u64, bool>)> {
        let mut backends = BTreeSet::new();
        for endpoint in &self.endpoints {
            match tokio::net::lookup_host(endpoint.as_str()).await {
                Ok(addrs) => backends.extend(addrs.map(|addr| Backend {
                    addr: PingoraAddr::Inet(addr),
                    weight: 1,
                    ext: http::Extensions::new(),
                })),
                Err(err) => tracing::warn!(%endpoint, error = %err, "endpoint does not resolve"),
            }
        }
        Ok((backends, HashMap::new()))
    }
}

/// Consecutive failures per endpoint, and when an ejected one may serve again.
struct Outliers {
    rule: Ejection,
    state: Mutex<HashMap<SocketAddr, OutlierState>>,
    /// Whether `state` holds any endpoint (one that has failed since it last served well): while
    /// none has, every request's checks are answered without the lock both workers share.
    marked: AtomicBool,
}

#[derive(Default, PartialEq, Eq)]
struct OutlierState {
    consecutive_failures: u32,
    ejections: u32,
    ejected_until: Option<Instant>,
}

impl Outliers {
    fn new(rule: Ejection) -> Self {
        Self {
            rule,
            state: Mutex::new(HashMap::new()),
            marked: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SocketAddr, OutlierState>> {
        match self.state.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn is_ejected(&self, addr: SocketAddr, now: Instant) -> bool {
        self.marked.load(Ordering::Acquire)
            && self
                .lock()
                .get(&addr)
                .and_then(|state| state.ejected_until)
                .is_some_and(|until| until > now)
    }

    fn success(&self, addr: SocketAddr) {
        if !self.marked.load(Ordering::Acquire) {
            return;
        }
        let mut state = self.lock();
        if let Some(entry) = state.get_mut(&addr) {
            entry.consecutive_failures = 0;
            // Serving again after an ejection: the next ejection starts from the base time.
            if entry
                .ejected_until
                .is_some_and(|until| until <= Instant::now())
            {
                entry.ejected_until = None;
                entry.ejections = 0;
            }
            // Back to a clean slate: as good as no entry.
            if *entry == OutlierState::default() {
                state.remove(&addr);
            }
        }
        if state.is_empty() {
            self.marked.store(false, Ordering::Release);
        }
    }

    /// Counts a failure; true when it ejects the endpoint.
    fn failure(&self, addr: SocketAddr, now: Instant) -> bool {
        let mut state = self.lock();
        self.marked.store(true, Ordering::Release);
        let entry = state.entry(addr).or_default();
        if entry.ejected_until.is_some_and(|until| until > now) {
            return false;
        }
        entry.consecutive_failures += 1;
        if entry.consecutive_failures < self.rule.consecutive_failures {
            return false;
        }
        let factor = 2u32.saturating_pow(entry.ejections.min(16));
        let duration = self.rule.base.saturating_mul(factor).min(self.rule.max);
        entry.ejections += 1;
        entry.consecutive_failures = 0;
        entry.ejected_until = Some(now + duration);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outliers() -> Outliers {
        Outliers::new(Ejection {
            consecutive_failures: 3,
            base: Duration::from_secs(10),
            max: Duration::from_secs(25),
        })
    }

    fn addr() -> SocketAddr {
        "127.0.0.1:9".parse().unwrap()
    }

    #[test]
    fn an_endpoint_is_ejected_after_consecutive_failures_only() {
        let outliers = outliers();
        let now = Instant::now();
        assert!(!outliers.failure(addr(), now));
        assert!(!outliers.failure(addr(), now));
        outliers.success(addr());
        assert!(!outliers.failure(addr(), now));
        assert!(!outliers.failure(addr(), now));
        assert!(outliers.failure(addr(), now));
        assert!(outliers.is_ejected(addr(), now));
        assert!(!outliers.is_ejected(addr(), now + Duration::from_secs(11)));
    }

    #[test]
    fn repeated_ejections_last_longer_up_to_the_maximum() {
        let outliers = outliers();
        let mut now = Instant::now();
        for expected in [10, 20, 25] {
            for _ in 0..3 {
                outliers.failure(addr(), now);
            }
            assert!(outliers.is_ejected(addr(), now + Duration::from_secs(expected - 1)));
            assert!(!outliers.is_ejected(addr(), now + Duration::from_secs(expected)));
            now += Duration::from_secs(expected);
        }
    }

    #[test]
    fn an_endpoint_that_serves_well_again_is_forgotten() {
        let outliers = outliers();
        let now = Instant::now();
        assert!(!outliers.failure(addr(), now));
        assert!(outliers.marked.load(Ordering::Acquire));
        outliers.success(addr());
        assert!(!outliers.marked.load(Ordering::Acquire));
        assert!(outliers.lock().is_empty());
        // Counting starts again from nothing.
        assert!(!outliers.failure(addr(), now));
        assert!(!outliers.failure(addr(), now));
        assert!(outliers.failure(addr(), now));
    }
}
