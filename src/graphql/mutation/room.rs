//! Creating, joining and managing rooms and their members; delivered and read markers.

use async_graphql::{Context, InputObject, MaybeUndefined, Object, Result};
use uuid::Uuid;

use crate::auth;
use crate::graphql::types::{MemberRole, Room, RoomMember};
use crate::graphql::{state, viewer};
use crate::service;

/// A new group room.
#[derive(InputObject)]
pub struct CreateRoomInput {
    /// 1-100 characters.
    pub name: String,
    /// What the room is about (at most 1,000 characters).
    pub topic: Option<String>,
    /// Users to add as members besides the caller (who becomes owner).
    #[graphql(default)]
    pub member_ids: Vec<Uuid>,
    /// Cap on active members, 2-10,000; none when omitted.
    pub max_members: Option<i32>,
    /// Issue a 6-character join code others can `joinRoom` with.
    #[graphql(default)]
    pub with_join_code: bool,
}

/// Changes to a room's settings; omitted fields stay as they are. Owners and admins only.
#[derive(InputObject)]
pub struct UpdateRoomInput {
    /// The room to change.
    pub room_id: Uuid,
    /// A new name (group rooms).
    pub name: Option<String>,
    /// A new topic; null clears it.
    pub topic: MaybeUndefined<String>,
    /// A new member cap; null removes it.
    pub max_members: MaybeUndefined<i32>,
    /// Archive (read-only) or unarchive the room.
    pub archived: Option<bool>,
    /// true issues a fresh join code (the old one stops working); false turns joining by code off.
    pub with_join_code: Option<bool>,
}

#[derive(Default)]
pub struct RoomMutation;

#[Object]
impl RoomMutation {
    /// Creates a group room owned by the caller.
    async fn create_room(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: CreateRoomInput,
    ) -> Result<Room> {
        let viewer = auth::require(viewer(ctx))?;
        let input = service::room::CreateRoom {
            name: input.name,
            topic: input.topic,
            member_ids: input.member_ids,
            max_members: input.max_members,
            with_join_code: input.with_join_code,
        };
        Ok(Room(
            service::room::create(state(ctx)?, viewer, input).await?,
        ))
    }

    /// The caller's direct room with `userId`: created the first time, the same room after.
    async fn open_direct_room(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user.")] user_id: Uuid,
    ) -> Result<Room> {
        let viewer = auth::require(viewer(ctx))?;
        Ok(Room(
            service::room::open_direct(state(ctx)?, viewer, user_id).await?,
        ))
    }

    /// Joins a group room by its 6-character code (case-insensitive), within its member cap.
    async fn join_room(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The room's 6-character join code, any case.")] code: String,
    ) -> Result<Room> {
        let viewer = auth::require(viewer(ctx))?;
        Ok(Room(
            service::room::join_by_code(state(ctx)?, viewer, &code).await?,
        ))
    }

    /// Leaves a room; joining again later restores membership. The last owner of a group with
    /// other members must hand ownership over first.
    async fn leave_room(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The room.")] room_id: Uuid,
    ) -> Result<bool> {
        let viewer = auth::require(viewer(ctx))?;
        Ok(service::member::leave(state(ctx)?, viewer, room_id).await?)
    }

    /// Adds a user to a group room (owners and admins), within its member cap, in `role`:
    /// MEMBER when omitted; owners may add ADMINs, admins add MEMBERs only, and nobody adds an
    /// OWNER (FORBIDDEN). Adding someone already in the room returns their membership
    /// unchanged, or CONFLICT when `role` differs from theirs (use `setMemberRole`).
    async fn add_member(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The room.")] room_id: Uuid,
        #[graphql(desc = "The user.")] user_id: Uuid,
        #[graphql(desc = "The role to add them in: MEMBER (default) or ADMIN (owners only).")]
        role: Option<MemberRole>,
    ) -> Result<RoomMember> {
        let viewer = auth::require(viewer(ctx))?;
        let role = role.map(Into::into);
        Ok(RoomMember::new(
            service::member::add(state(ctx)?, viewer, room_id, user_id, role).await?,
        ))
    }

    /// Removes a member (owners remove anyone, admins remove members).
    async fn remove_member(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The room.")] room_id: Uuid,
        #[graphql(desc = "The user.")] user_id: Uuid,
    ) -> Result<bool> {
        let viewer = auth::require(viewer(ctx))?;
        Ok(service::member::remove(state(ctx)?, viewer, room_id, user_id).await?)
    }

    /// Changes a member's role (owners: any role; admins: member/admin of non-owners).
    async fn set_member_role(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The room.")] room_id: Uuid,
        #[graphql(desc = "The user.")] user_id: Uuid,
        #[graphql(desc = "The new role.")] role: MemberRole,
    ) -> Result<RoomMember> {
        let viewer = auth::require(viewer(ctx))?;
        let member =
            service::member::set_role(state(ctx)?, viewer, room_id, user_id, role.into()).await?;
        Ok(RoomMember::new(member))
    }

    /// Changes a room's name, topic, cap, archive state or join code.
    async fn update_room(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: UpdateRoomInput,
    ) -> Result<Room> {
        let viewer = auth::require(viewer(ctx))?;
        let update = service::room::UpdateRoom {
            name: input.name,
            topic: maybe(input.topic),
            max_members: maybe(input.max_members),
            archived: input.archived,
            with_join_code: input.with_join_code,
        };
        Ok(Room(
            service::room::update(state(ctx)?, viewer, input.room_id, update).await?,
        ))
    }

    /// Moves the caller's read marker forward to `messageId` (never back), and the delivered
    /// marker with it: reading implies delivery. Publishes `ReceiptUpdated` (marker READ).
    async fn mark_read(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The room.")] room_id: Uuid,
        #[graphql(desc = "The message.")] message_id: Uuid,
    ) -> Result<RoomMember> {
        let viewer = auth::require(viewer(ctx))?;
        let member = service::receipt::mark_read(state(ctx)?, viewer, room_id, message_id).await?;
        Ok(RoomMember::new(member))
    }

    /// Moves the caller's delivered marker forward to `messageId` (never back): a client calls
    /// it when messages reach the device. A no-op when either marker is already at or past it;
    /// otherwise publishes `ReceiptUpdated` (marker DELIVERED).
    async fn mark_delivered(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The room.")] room_id: Uuid,
        #[graphql(desc = "The newest message that reached the device.")] message_id: Uuid,
    ) -> Result<RoomMember> {
        let viewer = auth::require(viewer(ctx))?;
        let member =
            service::receipt::mark_delivered(state(ctx)?, viewer, room_id, message_id).await?;
        Ok(RoomMember::new(member))
    }
}

/// Undefined: leave as is; null: clear; value: set.
pub fn maybe<T>(value: MaybeUndefined<T>) -> Option<Option<T>> {
    match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(v)),
    }
}
