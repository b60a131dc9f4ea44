//! The path every GraphQL operation takes, over HTTP and WebSocket alike: persisted-query
//! lookup, parsing, shape limits, a tracing span with a request id, metrics, and an
//! `extensions.code` on every error.
//!
//! Errors raised by services already carry a code. What async-graphql raises itself (syntax,
//! validation, depth and complexity limits, input coercion such as a malformed UUID) is the
//! client's doing, so it is labelled BAD_USER_INPUT. Any other error without a code came from a
//! resolver that failed on our side: it is answered INTERNAL, its message logged and not sent.
//! INTERNAL errors get the request id, which is also on the log line that holds the details.
//!
//! None of this is an async-graphql extension, on purpose: with any extension registered,
//! async-graphql resolves every field and list item through the extension chain (a registry
//! lookup, resolve info and a boxed future each); with none it takes its direct path, which
//! matters for answers of thousands of fields (docs/performance.md).

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_graphql::extensions::apollo_persisted_queries::{CacheStorage, LruCacheStorage};
use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationType};
use async_graphql::{Data, Executor, Request, Response, ServerError};
use futures_util::stream::{self, BoxStream, StreamExt};
use serde::Deserialize;
use tracing::Instrument;
use uuid::Uuid;

use crate::graphql::AppSchema;
use crate::graphql::limits::{self, ShapeLimits};
use crate::graphql::persisted::{self, AllowList};
use crate::graphql::wording::Source;

mod finish;
mod reads;

use finish::finish;

/// Automatic persisted queries remembered per process.
const APQ_CACHE: usize = 1024;

/// Parsed documents remembered per process, by their text: clients send the same few
/// operations over and over, and parsing one costs more than running a small mutation (the
/// parser was 14% of the server's CPU time in the send benchmark). Only texts up to
/// [`DOCUMENT_CACHE_MAX_BYTES`] are kept, so the cache stays bounded whatever clients send: at
/// most 512 such texts and their syntax trees.
const DOCUMENT_CACHE: NonZeroUsize = NonZeroUsize::new(512).expect("not zero");
const DOCUMENT_CACHE_MAX_BYTES: usize = 8 * 1024;

/// The schema behind the checks every operation passes first. Cheap to clone.
#[derive(Clone)]
pub struct Pipeline(Arc<Inner>);

struct Inner {
    schema: AppSchema,
    shape: ShapeLimits,
    allow_list: Option<AllowList>,
    /// False with `--introspection=false`: documents asking for the schema are refused.
    introspection: bool,
    apq: LruCacheStorage,
    /// Documents that parsed and passed the shape limits.
    documents: Mutex<lru::LruCache<String, ExecutableDocument>>,
}

/// A request ready to execute: parsed (or taken from the persisted-query cache) and in shape.
struct Prepared {
    request: Request,
    /// The operation's metrics label.
    label: String,
    subscription: bool,
    mutation: bool,
}

impl Pipeline {
    pub fn new(
        schema: AppSchema,
        shape: ShapeLimits,
        allow_list: Option<AllowList>,
        introspection: bool,
    ) -> Self {
        Self(Arc::new(Inner {
            schema,
            shape,
            allow_list,
            introspection,
            apq: LruCacheStorage::new(APQ_CACHE),
            documents: Mutex::new(lru::LruCache::new(DOCUMENT_CACHE)),
        }))
    }

    /// Runs one operation to its one response (HTTP); `request_id` names its span and is
    /// returned with INTERNAL errors.
    pub async fn run(&self, request: Request, request_id: Uuid) -> Response {
        let started = Instant::now();
        async {
            let (label, response, source) = match self.prepare(request).await {
                Ok(prepared) => self.execute_prepared(prepared).await,
                Err(error) => (
                    "unparsed".to_owned(),
                    Response::from_errors(vec![error]),
                    None,
                ),
            };
            finish(response, request_id, Some(&label), started, source.as_ref())
        }
        .instrument(span(request_id))
        .await
    }

    /// Like [`run`](Self::run), for HTTP GET, which must not change anything: `None`, before
    /// anything ran, when the operation is a mutation. (Only here is the type known for a
    /// persisted query sent as its hash alone.)
    pub async fn run_unless_mutation(
        &self,
        request: Request,
        request_id: Uuid,
    ) -> Option<Response> {
        let started = Instant::now();
        async {
            let (label, response, source) = match self.prepare(request).await {
                Ok(prepared) if prepared.mutation => return None,
                Ok(prepared) => self.execute_prepared(prepared).await,
                Err(error) => (
                    "unparsed".to_owned(),
                    Response::from_errors(vec![error]),
                    None,
                ),
            };
            Some(finish(
                response,
                request_id,
                Some(&label),
                started,
                source.as_ref(),
            ))
        }
        .instrument(span(request_id))
        .await
    }

    /// Runs one operation as a stream of responses (WebSocket): one response for a query or
    /// mutation (measured like HTTP ones), any number for a subscription (not measured here:
    /// the live-subscription gauge counts those). Every poll runs in the operation's span.
    fn stream(&self, request: Request, session: Arc<Data>) -> BoxStream<'static, Response> {
        let this = self.clone();
        let request_id = Uuid::now_v7();
        let span = span(request_id);
        let started = Instant::now();
        // Boxed: the preparing future is dropped once the operation runs, instead of sizing
        // the stream a subscription holds for as long as it lives.
        let responses = stream::once(Box::pin(async move {
            match this.prepare(request).await {
                Ok(mut prepared) => {
                    let label = (!prepared.subscription).then_some(prepared.label);
                    let source = keep_source(&mut prepared.request);
                    let writer = prepared
                        .mutation
                        .then(|| reads::writer(&prepared.request, Some(&session)))
                        .flatten();
                    let responses = this
                        .0
                        .schema
                        .execute_stream_with_session_data(prepared.request, session);
                    // Only a mutation waits for its write: a `then` stage on every stream
                    // would keep room for that wait in each live subscription.
                    let responses = match writer {
                        Some(writer) => {
                            let mut writer = Some(writer);
                            responses
                                .then(move |response| {
                                    let writer = writer.take();
                                    async move {
                                        if let Some(writer) = writer {
                                            writer.wrote().await;
                                        }
                                        response
                                    }
                                })
                                .boxed()
                        }
                        None => responses,
                    };
                    responses
                        .map(move |response| {
                            finish(
                                response,
                                request_id,
                                label.as_deref(),
                                started,
                                Some(&source),
                            )
                        })
                        .boxed()
                }
                Err(error) => {
                    let response = Response::from_errors(vec![error]);
                    stream::iter([finish(
                        response,
                        request_id,
                        Some("unparsed"),
                        started,
                        None,
                    )])
                    .boxed()
                }
            }
        }))
        .flatten();
        let mut responses = Box::pin(responses);
        stream::poll_fn(move |cx| {
            let _entered = span.enter();
            responses.poll_next_unpin(cx)
        })
        .boxed()
    }

    /// Executes one prepared operation sent over HTTP: a query on a read replica when one may
    /// serve its caller, a mutation remembered as its caller's write (`reads`).
    async fn execute_prepared(&self, mut prepared: Prepared) -> (String, Response, Option<Source>) {
        let source = keep_source(&mut prepared.request);
        let writer = if prepared.mutation {
            reads::writer(&prepared.request, None)
        } else {
            if !prepared.subscription {
                reads::route(&mut prepared.request).await;
            }
            None
        };
        let response = self.0.schema.execute(prepared.request).await;
        if let Some(writer) = writer {
            writer.wrote().await;
        }
        (prepared.label, response, Some(source))
    }

    async fn prepare(&self, mut request: Request) -> Result<Prepared, ServerError> {
        if let Some(allow_list) = &self.0.allow_list {
            allow_list.admit(&mut request)?;
        }
        // Before anything parses the text or walks the variables recursively.
        limits::check_text(&request.query)?;
        limits::check_variables(&request.variables)?;
        self.persisted(&mut request).await?;
        let given = request.operation_name.clone();
        if let Some(doc) = self.known_document(&request.query) {
            request.set_parsed_query(doc);
        } else {
            self.0.shape.check(request.parsed_query()?)?;
            if !self.0.introspection {
                crate::graphql::introspection::refuse(request.parsed_query()?)?;
            }
            self.remember_document(&mut request)?;
        }
        let doc = request.parsed_query()?;
        let (name, ty) = operation(doc, given.as_deref());
        crate::telemetry::record_operation(&tracing::Span::current(), name.as_deref());
        let label = crate::telemetry::operation_label(name.as_deref());
        Ok(Prepared {
            request,
            label,
            subscription: ty == Some(OperationType::Subscription),
            mutation: ty == Some(OperationType::Mutation),
        })
    }

    /// A copy of the parsed document for this text, if it was parsed (and in shape) before.
    fn known_document(&self, query: &str) -> Option<ExecutableDocument> {
        if query.is_empty() || query.len() > DOCUMENT_CACHE_MAX_BYTES {
            return None;
        }
        let mut documents = self.0.documents.lock().unwrap_or_else(|e| e.into_inner());
        documents.get(query).cloned()
    }

    /// Keeps the request's parsed document (in shape) for the next request with its text.
    fn remember_document(&self, request: &mut Request) -> Result<(), ServerError> {
        if request.query.is_empty() || request.query.len() > DOCUMENT_CACHE_MAX_BYTES {
            return Ok(());
        }
        let doc = request.parsed_query()?.clone();
        let mut documents = self.0.documents.lock().unwrap_or_else(|e| e.into_inner());
        documents.put(request.query.clone(), doc);
        Ok(())
    }

    /// Apollo's automatic persisted queries: a request may carry only the sha256 of a query
    /// this process saw before (with its text), and then skips parsing it again.
    async fn persisted(&self, request: &mut Request) -> Result<(), ServerError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct PersistedQuery {
            version: u32,
            sha256_hash: String,
        }
        let Some(value) = request.extensions.remove("persistedQuery") else {
            return Ok(());
        };
        let persisted: PersistedQuery = async_graphql::from_value(value)
            .map_err(|_| ServerError::new("invalid \"persistedQuery\" extension", None))?;
        if persisted.version != 1 {
            return Err(ServerError::new(
                format!(
                    "only version 1 of the persistedQuery extension is supported, not {}",
                    persisted.version
                ),
                None,
            ));
        }
        if request.query.is_empty() {
            let doc = self
                .0
                .apq
                .get(persisted.sha256_hash)
                .await
                .ok_or_else(|| ServerError::new("PersistedQueryNotFound", None))?;
            request.set_parsed_query(doc);
        } else {
            if persisted::hash(&request.query) != persisted.sha256_hash {
                return Err(ServerError::new("provided sha does not match query", None));
            }
            let doc = request.parsed_query()?.clone();
            self.0.apq.set(persisted.sha256_hash, doc).await;
        }
        Ok(())
    }
}

impl Executor for Pipeline {
    async fn execute(&self, request: Request) -> Response {
        self.run(request, Uuid::now_v7()).await
    }

    fn execute_stream(
        &self,
        request: Request,
        session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        self.stream(request, session_data.unwrap_or_default())
    }
}

fn span(request_id: Uuid) -> tracing::Span {
    crate::telemetry::operation_span(request_id)
}

/// The operation a request selects (by its `operationName`, or the document's only one): its
/// name and type; `None` for a name the document does not define.
fn operation(
    doc: &ExecutableDocument,
    given: Option<&str>,
) -> (Option<String>, Option<OperationType>) {
    match (&doc.operations, given) {
        (DocumentOperations::Single(op), _) => (given.map(str::to_owned), Some(op.node.ty)),
        (DocumentOperations::Multiple(ops), Some(name)) => {
            (Some(name.to_owned()), ops.get(name).map(|op| op.node.ty))
        }
        (DocumentOperations::Multiple(ops), None) => match ops.iter().next() {
            Some((name, op)) if ops.len() == 1 => (Some(name.to_string()), Some(op.node.ty)),
            _ => (None, None),
        },
    }
}

/// The operation's text and variables, for rewording its errors (`wording`). The text is
/// moved out, not copied: the request carries its parsed document, which is all that
/// execution reads.
fn keep_source(request: &mut Request) -> Source {
    Source {
        query: std::mem::take(&mut request.query),
        variables: request.variables.clone(),
    }
}
