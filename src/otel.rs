//! OpenTelemetry trace export, on with `--otel-endpoint`: spans at info level and above (above
//! all the per-operation `graphql` span of [`crate::telemetry::operation_span`]) are batched and
//! POSTed as OTLP protobuf to `<endpoint>/v1/traces`. Without the setting nothing here runs.

use std::time::Duration;

use anyhow::Context as _;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response, hyper::HyperClient};
use opentelemetry_otlp::{WithExportConfig as _, WithHttpConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SdkTracerProvider, Tracer};
use tokio::runtime::Handle;

use crate::config::OtelConfig;

/// How long one export may take (the OTLP default), retries included.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long shutdown waits for the last batch before the process exits without it.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// The running exporter; [`shutdown`](Self::shutdown) sends what is still queued.
pub struct Exporter {
    provider: SdkTracerProvider,
}

/// A tracer exporting to `config.endpoint`, or None when export is off. HTTP requests run on
/// `runtime`, which must outlive [`Exporter::shutdown`].
pub fn tracer(config: &OtelConfig, runtime: Handle) -> anyhow::Result<Option<(Tracer, Exporter)>> {
    let Some(endpoint) = &config.endpoint else {
        return Ok(None);
    };
    let client = OnRuntime {
        client: HyperClient::with_default_connector(EXPORT_TIMEOUT, None),
        runtime,
    };
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(client)
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_endpoint(format!("{endpoint}/v1/traces"))
        .with_timeout(EXPORT_TIMEOUT)
        .build()
        .with_context(|| format!("the OpenTelemetry exporter for {endpoint}"))?;
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            Resource::builder()
                .with_service_name(config.service_name.clone())
                .build(),
        )
        .build();
    let tracer = provider.tracer("confab");
    Ok(Some((tracer, Exporter { provider })))
}

impl Exporter {
    /// Exports the spans still queued and stops, waiting at most [`SHUTDOWN_TIMEOUT`]: a
    /// collector that does not answer costs the last batch, never a hung process.
    pub fn shutdown(self) {
        if let Err(err) = self.provider.shutdown_with_timeout(SHUTDOWN_TIMEOUT) {
            tracing::warn!(error = %err, "OpenTelemetry exporter did not shut down cleanly");
        }
    }
}

/// The SDK's batch processor exports from a plain thread of its own, blocking on the export
/// there; hyper needs a Tokio reactor, so each request runs as a task on the server's runtime.
#[derive(Debug)]
struct OnRuntime {
    client: HyperClient,
    runtime: Handle,
}

#[async_trait::async_trait]
impl HttpClient for OnRuntime {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let client = self.client.clone();
        self.runtime
            .spawn(async move { client.send_bytes(request).await })
            .await?
    }
}
