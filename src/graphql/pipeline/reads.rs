//! Which database an operation reads (`db::replica`): a query over HTTP moves to a read
//! replica when one may serve its caller; a mutation marks its caller as having just written.

use std::any::{Any, TypeId};
use std::sync::Arc;

use async_graphql::{Data, Request};
use uuid::Uuid;

use crate::auth::Viewer;
use crate::db::replica::ReadReplicas;
use crate::graphql::loaders::{self, ChatLoader};

/// Moves a query's loaders, and with them the state every resolver reads
/// (`graphql::context::state`), to a replica when one may serve this caller.
pub(super) async fn route(request: &mut Request) {
    let Some(loader) = get::<ChatLoader>(&request.data) else {
        return;
    };
    let state = loader.loader().state();
    let Some(replicas) = &state.replicas else {
        return;
    };
    let viewer = get::<Viewer>(&request.data).map(Viewer::id);
    if let Some(db) = replicas.pick(viewer).await {
        let on_replica = state.reading_from(db);
        request
            .data
            .insert(loaders::for_request(on_replica, viewer));
    }
}

/// For a mutation: the replicas to tell and the caller who is writing, if both exist. The
/// viewer is the request's (HTTP) or the connection's (WebSocket).
pub(super) fn writer(request: &Request, session: Option<&Data>) -> Option<Writer> {
    let viewer = get::<Viewer>(&request.data).or_else(|| session.and_then(get::<Viewer>))?;
    let loader =
        get::<ChatLoader>(&request.data).or_else(|| session.and_then(get::<ChatLoader>))?;
    let replicas = loader.loader().state().replicas.clone()?;
    Some(Writer {
        replicas,
        user: viewer.id(),
    })
}

/// A caller whose mutation ran: their queries read the primary for a while.
pub(super) struct Writer {
    replicas: Arc<ReadReplicas>,
    user: Uuid,
}

impl Writer {
    /// Called once the mutation's answer is ready, before it is sent: the caller's next
    /// request cannot start before the mark is set.
    pub(super) async fn wrote(self) {
        self.replicas.wrote(self.user).await;
    }
}

fn get<T: Any + Send + Sync>(data: &Data) -> Option<&T> {
    data.get(&TypeId::of::<T>())
        .and_then(|value| value.downcast_ref::<T>())
}
