//! Prometheus metrics, served as text on the admin listener's `/metrics`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub api: String,
    pub route: String,
    pub status_class: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub api: String,
    pub route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RejectionLabels {
    pub stage: &'static str,
    pub reason: &'static str,
}

/// A usage-plan decision: the plan and `allowed`, `throttled`, `quota_exceeded`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PlanLabels {
    pub plan: String,
    pub result: &'static str,
}

/// A WAF rule's match: the web ACL, the rule (`Rule/GroupRule` in groups) and the action.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WafRuleLabels {
    pub acl: String,
    pub rule: String,
    pub action: String,
}

/// `rampart_waf_rule_matches_total`.
pub type WafMatches = Family<WafRuleLabels, Counter>;

/// A failure of the usage store: the backend and what was done (`rejected`, `local`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StoreFailureLabels {
    pub backend: &'static str,
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ListenerLabels {
    pub listener: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RefusedLabels {
    pub listener: String,
    pub reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    pub result: &'static str,
}

fn latency_histogram() -> Histogram {
    Histogram::new([
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    ])
}

type HistogramFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub latency: HistogramFamily,
    pub upstream_latency: HistogramFamily,
    pub rejections: Family<RejectionLabels, Counter>,
    pub open_connections: Family<ListenerLabels, Gauge>,
    pub refused_connections: Family<RefusedLabels, Counter>,
    pub reloads: Family<ResultLabels, Counter>,
    pub plan_decisions: Family<PlanLabels, Counter>,
    pub usage_store_failures: Family<StoreFailureLabels, Counter>,
    pub waf_rule_matches: WafMatches,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("rampart");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "requests",
            "Requests answered, by API, route and status class",
            requests.clone(),
        );
        let latency: HistogramFamily = Family::new_with_constructor(latency_histogram);
        registry.register(
            "request_duration_seconds",
            "Time from request head to the end of the response",
            latency.clone(),
        );
        let upstream_latency: HistogramFamily = Family::new_with_constructor(latency_histogram);
        registry.register(
            "upstream_duration_seconds",
            "Time from sending upstream to the upstream response head",
            upstream_latency.clone(),
        );
        let rejections = Family::<RejectionLabels, Counter>::default();
        registry.register(
            "rejections",
            "Requests stopped by a pipeline stage, by stage and reason",
            rejections.clone(),
        );
        let open_connections = Family::<ListenerLabels, Gauge>::default();
        registry.register(
            "open_connections",
            "Client connections open now",
            open_connections.clone(),
        );
        let refused_connections = Family::<RefusedLabels, Counter>::default();
        registry.register(
            "refused_connections",
            "Client connections closed before a request, by reason",
            refused_connections.clone(),
        );
        let reloads = Family::<ResultLabels, Counter>::default();
        registry.register(
            "config_reloads",
            "Configuration reloads, by result",
            reloads.clone(),
        );
        let plan_decisions = Family::<PlanLabels, Counter>::default();
        registry.register(
            "usage_plan_decisions",
            "Requests with an API key, by usage plan and result (allowed, throttled, quota_exceeded)",
            plan_decisions.clone(),
        );
        let usage_store_failures = Family::<StoreFailureLabels, Counter>::default();
        registry.register(
            "usage_store_failures",
            "Usage-plan decisions the store could not make, by backend and outcome (rejected, local)",
            usage_store_failures.clone(),
        );
        let waf_rule_matches = WafMatches::default();
        registry.register(
            "waf_rule_matches",
            "WAF rule matches, by web ACL, rule and action (BLOCK, ALLOW, COUNT)",
            waf_rule_matches.clone(),
        );
        Self {
            waf_rule_matches,
            plan_decisions,
            usage_store_failures,
            registry,
            requests,
            latency,
            upstream_latency,
            rejections,
            open_connections,
            refused_connections,
            reloads,
        }
    }

    pub fn encode(&self) -> String {
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// A route's metric handles, looked up once (per status class on first use) and kept
/// with the route, so the request path does no label hashing or allocation for them.
#[derive(Default)]
pub struct RouteMetrics {
    requests: [std::sync::OnceLock<Counter>; 5],
    latency: std::sync::OnceLock<Histogram>,
    upstream_latency: std::sync::OnceLock<Histogram>,
}

impl std::fmt::Debug for RouteMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouteMetrics").finish_non_exhaustive()
    }
}

impl RouteMetrics {
    /// Count a request and observe its latencies.
    pub fn record(
        &self,
        m: &Metrics,
        api: &str,
        route: &str,
        status: u16,
        total: f64,
        upstream: Option<f64>,
    ) {
        let class = status_class(status);
        let i = match class {
            "1xx" => 0,
            "2xx" => 1,
            "3xx" => 2,
            "4xx" => 3,
            _ => 4,
        };
        self.requests[i]
            .get_or_init(|| {
                m.requests
                    .get_or_create(&RequestLabels {
                        api: api.to_string(),
                        route: route.to_string(),
                        status_class: class,
                    })
                    .clone()
            })
            .inc();
        let labels = || RouteLabels {
            api: api.to_string(),
            route: route.to_string(),
        };
        self.latency
            .get_or_init(|| m.latency.get_or_create(&labels()).clone())
            .observe(total);
        if let Some(u) = upstream {
            self.upstream_latency
                .get_or_init(|| m.upstream_latency.get_or_create(&labels()).clone())
                .observe(u);
        }
    }
}

pub fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}
