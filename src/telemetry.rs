//! Prometheus metrics (`GET /metrics`), through the `metrics` facade, and the tracing span of
//! one GraphQL operation (exported to OpenTelemetry by [`crate::otel`] when that is on).
//!
//! The facade's recorder is process-global by design, so it is installed once, on first use.
//! Operation names become label values only when they look like GraphQL names and only for the
//! first [`OPERATION_NAMES_MAX`] seen, so clients cannot grow the label set without bound.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing::Span;
use uuid::Uuid;

pub const OPERATION_NAMES_MAX: usize = 500;
const DURATION_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

const BATCH_BUCKETS: [f64; 9] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
static NAMES: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();

/// The exporter, installed on first call; None if another recorder was installed first.
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .set_buckets(&DURATION_BUCKETS)
                .ok()?
                .set_buckets_for_metric(
                    Matcher::Full("confab_message_batch_size".to_owned()),
                    &BATCH_BUCKETS,
                )
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

/// The longest operation name put on a span.
pub const SPAN_NAME_MAX: usize = 128;

/// The span one GraphQL operation runs in: `graphql` with its `request_id` in the logs, a
/// server span for OpenTelemetry. Its name and `graphql.operation.name` are filled in by
/// [`record_operation`] once the operation is known; until then (and for anonymous
/// operations) OpenTelemetry shows it as `graphql`. Its target stays `confab::graphql`
/// wherever it is created, so `RUST_LOG` directives keep matching it. It is an ERROR-level
/// span so that it is on whenever an error can be logged inside it: an INTERNAL error's log
/// line carries the `request_id` the client was given, even with `RUST_LOG=warn`.
pub fn operation_span(request_id: Uuid) -> Span {
    tracing::error_span!(
        target: "confab::graphql",
        "graphql",
        request_id = %request_id,
        graphql.operation.name = tracing::field::Empty,
        otel.name = tracing::field::Empty,
        otel.kind = "server",
    )
}

/// Names `span` (one made by [`operation_span`]; any other is left as it is) after the
/// operation. GraphQL names are identifiers; one longer than [`SPAN_NAME_MAX`] bytes is left
/// out. Call it before the span has children: OpenTelemetry fixes a span's name then.
pub fn record_operation(span: &Span, operation_name: Option<&str>) {
    if let Some(name) = operation_name.filter(|n| !n.is_empty() && n.len() <= SPAN_NAME_MAX) {
        span.record("graphql.operation.name", name);
        span.record("otel.name", name);
    }
}
