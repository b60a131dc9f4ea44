//! Prometheus metrics (`GET /metrics`), through the `metrics` facade.
//!
//! The facade's recorder is process-global by design, so it is installed once, on first use.
//! Operation names become label values only when they look like GraphQL names and only for the
//! first [`OPERATION_NAMES_MAX`] seen, so clients cannot grow the label set without bound.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

pub const OPERATION_NAMES_MAX: usize = 500;
const DURATION_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
static NAMES: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();

/// The exporter, installed on first call; None if another recorder was installed first.
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .set_buckets(&DURATION_BUCKETS)
                .ok()?
                .install_recorder()
                .ok()
        })
        .as_ref()
}

/// A bounded label for an operation name.
pub fn operation_label(name: Option<&str>) -> String {
    let Some(name) = name else {
        return "anonymous".to_owned();
    };
    let shaped = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !shaped {
        return "other".to_owned();
    }
    let Ok(mut names) = NAMES.get_or_init(Default::default).lock() else {
        return "other".to_owned();
    };
    if names.contains(name) || (names.len() < OPERATION_NAMES_MAX && names.insert(name.to_owned()))
    {
        name.to_owned()
    } else {
        "other".to_owned()
    }
}

/// Records one GraphQL operation.
pub fn operation(name: String, outcome: &str, took: Duration) {
    metrics::counter!("confab_graphql_requests_total", "operation" => name.clone(), "outcome" => outcome.to_owned())
        .increment(1);
    metrics::histogram!("confab_graphql_request_duration_seconds", "operation" => name)
        .record(took.as_secs_f64());
}

/// A gauge that goes up now and down when dropped (open sockets, live subscriptions).
pub struct Live(&'static str);

impl Live {
    pub fn new(gauge: &'static str) -> Self {
        metrics::gauge!(gauge).increment(1.0);
        Self(gauge)
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        metrics::gauge!(self.0).decrement(1.0);
    }
}
