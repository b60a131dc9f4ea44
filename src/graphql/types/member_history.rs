//! `Room.memberHistory`: a room's membership stints (who was in it, from when to when), newest
//! first, for its owners and admins. A member who left and came back has a stint per time
//! in; the member row itself (`Room.members`) shows only the current one.

use async_graphql::connection::Connection as Relay;
use async_graphql::{Context, Object, Result};
use chrono::{DateTime, Utc};
use entity::room_member_stints;
use uuid::Uuid;

use super::cursor::{self, Cursor};
use super::{User, utc};
use crate::auth;
use crate::error::ApiError;
use crate::graphql::loaders::voice::StintsOf;
use crate::graphql::loaders::{MembersOf, UserId};
use crate::graphql::{load, viewer};
use crate::service::membership::Role;
use crate::store::page::{Key, Slice};

/// `Room.memberHistory`: a page of membership stints.
pub type MemberStintConnection = Relay<Cursor, MemberStint>;

/// One stint of a user in a room: from joining (or rejoining) to leaving.
pub struct MemberStint(pub room_member_stints::Model);

/// One stint of a user in a room: from joining (or rejoining) to leaving.
#[Object]
impl MemberStint {
    /// Whose stint.
    async fn user(&self, ctx: &Context<'_>) -> Result<User> {
        let user = load(ctx, UserId(self.0.user_id)).await?;
        user.map(User::new).ok_or_else(|| {
            ApiError::broken(format_args!("stint {}: user {}", self.0.id, self.0.user_id)).into()
        })
    }

    /// When they joined (or rejoined, or were added).
    async fn joined_at(&self) -> DateTime<Utc> {
        utc(self.0.joined_at)
    }

    /// When they left or were removed; null while they are in the room.
    async fn left_at(&self) -> Option<DateTime<Utc>> {
        self.0.left_at.map(utc)
    }
}

/// `Room.memberHistory`: the room's stints, newest first; for its active owners and admins
/// (FORBIDDEN for anyone else).
pub async fn member_history(
    ctx: &Context<'_>,
    room_id: Uuid,
    first: Option<i32>,
    after: Option<&str>,
) -> Result<MemberStintConnection> {
    let me = auth::require(viewer(ctx))?.id();
    let page = cursor::forward(first, after)?;
    let members = load(ctx, MembersOf(room_id)).await?.unwrap_or_default();
    let role = members
        .iter()
        .find(|(member, _)| member.user_id == me)
        .map(|(member, _)| Role::parse(&member.role));
    if role.is_none_or(|role| role < Role::Admin) {
        return Err(ApiError::Forbidden(
            "only the room's owners and admins read its membership history".to_owned(),
        )
        .into());
    }
    let slice = load(ctx, StintsOf(room_id, page))
        .await?
        .unwrap_or_else(|| Slice {
            items: Vec::new(),
            has_previous: false,
            has_next: false,
        });
    Ok(cursor::connection(
        slice,
        |stint| Key {
            at: stint.joined_at,
            id: stint.id,
        },
        MemberStint,
    ))
}
