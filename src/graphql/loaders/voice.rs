//! Loaders for the voice-room reads, kept apart from the others (the parent file is full): a
//! page of a room's membership history, and the context users share with their presence.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use entity::room_member_stints;
use uuid::Uuid;

use super::{LoadError, Loaded, Loaders, by_page, shared};
use crate::store;
use crate::store::page::{Page, Slice};

/// A page of a room's membership stints, newest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StintsOf(pub Uuid, pub Page);

/// The presence context a user shares (while it lives).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PresenceContextOf(pub Uuid);

impl Loader<StintsOf> for Loaders {
    type Value = Arc<Slice<room_member_stints::Model>>;
    type Error = LoadError;

    async fn load(&self, keys: &[StintsOf]) -> Loaded<StintsOf, Slice<room_member_stints::Model>> {
        let mut slices = HashMap::new();
        for (page, rooms) in by_page(keys, |k| (k.0, k.1)) {
            let found = store::stint::of_rooms(&self.state.db, &rooms, page).await?;
            slices.extend(
                found
                    .into_iter()
                    .map(|(room, slice)| (StintsOf(room, page), slice)),
            );
        }
        Ok(shared(slices))
    }
}

impl Loader<PresenceContextOf> for Loaders {
    type Value = Arc<String>;
    type Error = LoadError;

    async fn load(&self, keys: &[PresenceContextOf]) -> Loaded<PresenceContextOf, String> {
        let users: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let found = self.state.presence.contexts(&users).await;
        Ok(shared(
            found
                .into_iter()
                .map(|(user, context)| (PresenceContextOf(user), context)),
        ))
    }
}
